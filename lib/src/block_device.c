/*
 * Block devices from sysfs: /sys/dev/block/MAJOR:MINOR links to the
 * device's directory under /sys/devices, whose path says where it hangs
 * (a bus, or devices/virtual/), whose "partition" file marks a partition
 * (its disk is the parent directory) and whose slaves/ lists the devices
 * a device-mapper or md device is stacked on.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "block_device.h"

/* Bounds on a stack: depth (dm on md on partitions is 3) and devices
 * visited (a RAID of many disks). Past them the stack is unknown. */
#define STACK_DEPTH_MAX 8u
#define STACK_DEVICES_MAX 64u

/* sysfs paths here are short: the root, a fixed part and a name. */
#define SYSFS_PATH_SIZE 512

/* A device-mapper name (dm/name) is at most 128 bytes. */
#define MOUNT_NAME_READ_SIZE 160

const char *
block_device_kind_to_str(enum block_device_kind kind)
{
	switch (kind) {
	case BLOCK_DEVICE_DISK:
		return "a local disk";
	case BLOCK_DEVICE_MEMORY:
		return "a RAM disk";
	case BLOCK_DEVICE_LOOP:
		return "a loop device";
	case BLOCK_DEVICE_NBD:
		return "a network block device (nbd)";
	case BLOCK_DEVICE_UBLK:
		return "a ublk device";
	case BLOCK_DEVICE_SCSI_TARGET:
		return "a SCSI target (tcm_loop or iSCSI)";
	case BLOCK_DEVICE_VIRTUAL:
		return "a virtual block device";
	case BLOCK_DEVICE_UNKNOWN:
		return "a block device not found in sysfs";
	}
	return "unknown block device kind";
}

bool
block_device_kind_is_local(enum block_device_kind kind)
{
	return kind == BLOCK_DEVICE_DISK || kind == BLOCK_DEVICE_MEMORY;
}

/* Copy @p value into @p name, cut to @p size. */
static void
set_name(char *name, size_t size, const char *value)
{
	if (size == 0) {
		return;
	}
	size_t len = strnlen(value, size - 1);
	memcpy(name, value, len);
	name[len] = '\0';
}

/* Format a sysfs path into @p path (SYSFS_PATH_SIZE bytes). Returns false
 * if it did not fit: the caller treats the device as unknown. */
__attribute__((format(printf, 2, 3))) static bool
sysfs_path(char *path, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	int len = vsnprintf(path, SYSFS_PATH_SIZE, format, args);
	va_end(args);
	return len >= 0 && len < SYSFS_PATH_SIZE;
}

/* Read a short sysfs attribute, without its trailing newline. */
static int
read_attribute(const char *path, char *value, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	ssize_t n = read(fd, value, size - 1);
	int err = n < 0 ? -errno : 0;
	close(fd);
	if (err != 0) {
		return err;
	}
	value[n] = '\0';
	value[strcspn(value, "\n")] = '\0';
	return 0;
}

static int
read_device_number(const char *path, unsigned *major, unsigned *minor)
{
	char value[32];
	int ret = read_attribute(path, value, sizeof(value));
	if (ret != 0) {
		return ret;
	}
	char tail;
	return sscanf(value, "%u:%u%c", major, minor, &tail) == 2 ? 0 : -EINVAL;
}

static bool
has_prefix(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Whether a component of @p path starts with @p prefix, followed by a
 * digit if @p then_digit. */
static bool
has_component(const char *path, const char *prefix, bool then_digit)
{
	size_t len = strlen(prefix);
	for (const char *p = path; (p = strstr(p, prefix)) != NULL; p += len) {
		bool at_start = p == path || p[-1] == '/';
		bool followed = !then_digit || (p[len] >= '0' && p[len] <= '9');
		if (at_start && followed) {
			return true;
		}
	}
	return false;
}

/* What a device name alone says, for devices with nothing under them. */
static enum block_device_kind
kind_of_name(const char *name)
{
	if (has_prefix(name, "loop")) {
		return BLOCK_DEVICE_LOOP;
	}
	if (has_prefix(name, "nbd")) {
		return BLOCK_DEVICE_NBD;
	}
	if (has_prefix(name, "ublkb")) {
		return BLOCK_DEVICE_UBLK;
	}
	if (has_prefix(name, "zram") || has_prefix(name, "ram")) {
		return BLOCK_DEVICE_MEMORY;
	}
	return BLOCK_DEVICE_VIRTUAL;
}

struct walk {
	const char *sysfs;
	unsigned visited;
	char *name;
	size_t size;
};

static enum block_device_kind
classify(struct walk *walk, unsigned major, unsigned minor, unsigned depth);

/* A device-mapper or md device: local if everything under it is. */
static enum block_device_kind
classify_slaves(struct walk *walk, const char *dir, unsigned depth, bool *any)
{
	char path[SYSFS_PATH_SIZE];
	*any = false;
	DIR *slaves = sysfs_path(path, "%s/slaves", dir) ? opendir(path) : NULL;
	if (slaves == NULL) {
		return BLOCK_DEVICE_DISK;
	}
	enum block_device_kind result = BLOCK_DEVICE_MEMORY;
	struct dirent *slave;
	while ((slave = readdir(slaves)) != NULL) {
		if (slave->d_name[0] == '.') {
			continue;
		}
		*any = true;
		unsigned major;
		unsigned minor;
		if (!sysfs_path(path, "%s/slaves/%s/dev", dir, slave->d_name) ||
			read_device_number(path, &major, &minor) != 0) {
			set_name(walk->name, walk->size, slave->d_name);
			result = BLOCK_DEVICE_UNKNOWN;
			break;
		}
		enum block_device_kind kind = classify(walk, major, minor, depth + 1);
		if (!block_device_kind_is_local(kind)) {
			result = kind;
			break;
		}
		if (kind == BLOCK_DEVICE_DISK) {
			result = BLOCK_DEVICE_DISK;
		}
	}
	closedir(slaves);
	return result;
}

static enum block_device_kind
unknown_number(struct walk *walk, unsigned major, unsigned minor)
{
	char number[BLOCK_DEVICE_NAME_SIZE];
	snprintf(number, sizeof(number), "%u:%u", major, minor);
	set_name(walk->name, walk->size, number);
	return BLOCK_DEVICE_UNKNOWN;
}

static enum block_device_kind
classify(struct walk *walk, unsigned major, unsigned minor, unsigned depth)
{
	if (depth > STACK_DEPTH_MAX || ++walk->visited > STACK_DEVICES_MAX) {
		set_name(walk->name, walk->size, "(stack too deep)");
		return BLOCK_DEVICE_UNKNOWN;
	}
	char dir[SYSFS_PATH_SIZE];
	char target[SYSFS_PATH_SIZE];
	char path[SYSFS_PATH_SIZE];
	if (!sysfs_path(dir, "%s/dev/block/%u:%u", walk->sysfs, major, minor)) {
		return unknown_number(walk, major, minor);
	}
	ssize_t len = readlink(dir, target, sizeof(target) - 1);
	if (len <= 0) {
		return unknown_number(walk, major, minor);
	}
	target[len] = '\0';
	const char *slash = strrchr(target, '/');
	const char *name = slash != NULL ? slash + 1 : target;

	if (sysfs_path(path, "%s/partition", dir) && access(path, F_OK) == 0) {
		/* A partition: its disk (the parent directory) decides. */
		unsigned disk_major;
		unsigned disk_minor;
		if (!sysfs_path(path, "%s/../dev", dir) ||
			read_device_number(path, &disk_major, &disk_minor) != 0) {
			set_name(walk->name, walk->size, name);
			return BLOCK_DEVICE_UNKNOWN;
		}
		enum block_device_kind kind = classify(walk, disk_major, disk_minor, depth + 1);
		if (block_device_kind_is_local(kind) && depth == 0) {
			set_name(walk->name, walk->size, name);
		}
		return kind;
	}

	enum block_device_kind kind = BLOCK_DEVICE_DISK;
	if (has_component(target, "tcm_loop", false) || has_component(target, "session", true)) {
		kind = BLOCK_DEVICE_SCSI_TARGET;
	} else if (strstr(target, "/devices/virtual/") != NULL) {
		bool any;
		kind = classify_slaves(walk, dir, depth, &any);
		if (!any) {
			kind = kind_of_name(name);
		} else if (!block_device_kind_is_local(kind)) {
			/* A device under this one decided, and named itself. */
			return kind;
		}
	}
	if (!block_device_kind_is_local(kind) || depth == 0) {
		set_name(walk->name, walk->size, name);
	}
	return kind;
}

enum block_device_kind
block_device_classify(const char *sysfs, unsigned major, unsigned minor, char *name, size_t size)
{
	set_name(name, size, "");
	struct walk walk = {.sysfs = sysfs, .name = name, .size = size};
	return classify(&walk, major, minor, 0);
}

/* The device-mapper device whose dm/name is @p dm_name. */
static int
dm_device_number(const char *sysfs, const char *dm_name, unsigned *major, unsigned *minor)
{
	char path[SYSFS_PATH_SIZE];
	DIR *devices = sysfs_path(path, "%s/class/block", sysfs) ? opendir(path) : NULL;
	if (devices == NULL) {
		return -ENOENT;
	}
	int ret = -ENOENT;
	struct dirent *device;
	while ((device = readdir(devices)) != NULL) {
		char value[MOUNT_NAME_READ_SIZE];
		if (!has_prefix(device->d_name, "dm-") ||
			!sysfs_path(path, "%s/class/block/%s/dm/name", sysfs, device->d_name) ||
			read_attribute(path, value, sizeof(value)) != 0 ||
			strcmp(value, dm_name) != 0) {
			continue;
		}
		if (sysfs_path(path, "%s/class/block/%s/dev", sysfs, device->d_name)) {
			ret = read_device_number(path, major, minor);
		}
		break;
	}
	closedir(devices);
	return ret;
}

/* The device number of the device node path @p source names, from sysfs
 * (never a lookup of @p source itself: it is the mounter's string). */
static int
source_device_number(const char *sysfs, const char *source, unsigned *major, unsigned *minor)
{
	char path[SYSFS_PATH_SIZE];
	if (!has_prefix(source, "/dev/")) {
		return -ENOENT;
	}
	const char *node = source + strlen("/dev/");
	if (has_prefix(node, "mapper/")) {
		return dm_device_number(sysfs, node + strlen("mapper/"), major, minor);
	}
	if (*node == '\0' || strchr(node, '/') != NULL || node[0] == '.' ||
		!sysfs_path(path, "%s/class/block/%s/dev", sysfs, node)) {
		return -ENOENT;
	}
	return read_device_number(path, major, minor);
}

/* The kernel name of device @p major:@p minor. */
static int
device_kernel_name(const char *sysfs, unsigned major, unsigned minor, char *name, size_t size)
{
	char path[SYSFS_PATH_SIZE];
	char target[SYSFS_PATH_SIZE];
	if (!sysfs_path(path, "%s/dev/block/%u:%u", sysfs, major, minor)) {
		return -ENOENT;
	}
	ssize_t len = readlink(path, target, sizeof(target) - 1);
	if (len <= 0) {
		return -ENOENT;
	}
	target[len] = '\0';
	const char *slash = strrchr(target, '/');
	set_name(name, size, slash != NULL ? slash + 1 : target);
	return 0;
}

/* Classify the members of the btrfs file system in @p fs_dir (a
 * directory under /sys/fs/btrfs) other than @p member. */
static enum block_device_kind
classify_btrfs_members(
	const char *sysfs, const char *fs_dir, const char *member, char *name, size_t size)
{
	char path[SYSFS_PATH_SIZE];
	DIR *members =
		sysfs_path(path, "%s/fs/btrfs/%s/devices", sysfs, fs_dir) ? opendir(path) : NULL;
	if (members == NULL) {
		set_name(name, size, fs_dir);
		return BLOCK_DEVICE_UNKNOWN;
	}
	enum block_device_kind result = BLOCK_DEVICE_DISK;
	struct dirent *other;
	while ((other = readdir(members)) != NULL) {
		if (other->d_name[0] == '.' || strcmp(other->d_name, member) == 0) {
			continue;
		}
		enum block_device_kind kind = BLOCK_DEVICE_UNKNOWN;
		char other_name[BLOCK_DEVICE_NAME_SIZE];
		unsigned major;
		unsigned minor;
		set_name(other_name, sizeof(other_name), other->d_name);
		if (sysfs_path(
			    path, "%s/fs/btrfs/%s/devices/%s/dev", sysfs, fs_dir, other->d_name) &&
			read_device_number(path, &major, &minor) == 0) {
			kind = block_device_classify(
				sysfs, major, minor, other_name, sizeof(other_name));
		}
		if (!block_device_kind_is_local(kind)) {
			set_name(name, size, other_name);
			result = kind;
			break;
		}
	}
	closedir(members);
	return result;
}

enum block_device_kind
block_device_classify_btrfs(const char *sysfs, const char *source, char *name, size_t size)
{
	unsigned major;
	unsigned minor;
	char member[BLOCK_DEVICE_NAME_SIZE];
	set_name(name, size, "");
	if (source_device_number(sysfs, source, &major, &minor) != 0 ||
		device_kernel_name(sysfs, major, minor, member, sizeof(member)) != 0) {
		set_name(name, size, source);
		return BLOCK_DEVICE_UNKNOWN;
	}
	enum block_device_kind first = block_device_classify(sysfs, major, minor, name, size);
	if (!block_device_kind_is_local(first)) {
		return first;
	}
	/* The other members: the file system's directory under fs/btrfs is
	 * the one whose devices/ lists this member. */
	char path[SYSFS_PATH_SIZE];
	DIR *filesystems = sysfs_path(path, "%s/fs/btrfs", sysfs) ? opendir(path) : NULL;
	if (filesystems == NULL) {
		return first;
	}
	enum block_device_kind result = first;
	struct dirent *filesystem;
	while ((filesystem = readdir(filesystems)) != NULL) {
		if (filesystem->d_name[0] == '.' ||
			!sysfs_path(path, "%s/fs/btrfs/%s/devices/%s", sysfs, filesystem->d_name,
				member) ||
			access(path, F_OK) != 0) {
			continue;
		}
		char other[BLOCK_DEVICE_NAME_SIZE];
		enum block_device_kind kind = classify_btrfs_members(
			sysfs, filesystem->d_name, member, other, sizeof(other));
		if (!block_device_kind_is_local(kind)) {
			set_name(name, size, other);
			result = kind;
		}
		break;
	}
	closedir(filesystems);
	return result;
}

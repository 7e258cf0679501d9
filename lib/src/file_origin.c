/*
 * Vetting a client's file by what backs it (see file_origin.h for what
 * was measured, and shmguard.h for why each kind is refused).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "file_facts.h"
#include "file_origin.h"
#include "file_policy.h"
#include "linux_abi.h"

/* The calling thread's own view: /proc/self is the thread-group leader's,
 * which is gone (ENOENT) once the leader thread has exited. */
#define PROC_MOUNTINFO "/proc/thread-self/mountinfo"
#define SYSFS "/sys"

/* /proc/self/fdinfo/N of a file starts with pos, flags, mnt_id and ino;
 * more lines follow for some objects, but mnt_id is always in the first
 * hundred bytes. */
#define FDINFO_READ_SIZE 256

static void
origin_reset(struct file_origin *origin)
{
	*origin = (struct file_origin){.mount_id = -1, .device_kind = BLOCK_DEVICE_UNKNOWN};
}

int
file_origin_parse_fdinfo(const char *text, int *mount_id)
{
	static const char key[] = "mnt_id:";
	for (const char *line = text; line != NULL && *line != '\0';) {
		if (strncmp(line, key, sizeof(key) - 1) == 0) {
			const char *p = line + sizeof(key) - 1;
			while (*p == ' ' || *p == '\t') {
				p++;
			}
			long value = 0;
			const char *digits = p;
			while (*p >= '0' && *p <= '9' && value <= INT32_MAX) {
				value = value * 10 + (*p - '0');
				p++;
			}
			if (p == digits || value > INT32_MAX || (*p != '\n' && *p != '\0')) {
				return -ENOENT;
			}
			*mount_id = (int)value;
			return 0;
		}
		line = strchr(line, '\n');
		if (line != NULL) {
			line++;
		}
	}
	return -ENOENT;
}

static int
fdinfo_mount_id(int fd, int *mount_id)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/thread-self/fdinfo/%d", fd);
	int info = open(path, O_RDONLY | O_CLOEXEC);
	if (info < 0) {
		return -errno;
	}
	char text[FDINFO_READ_SIZE];
	ssize_t len;
	do {
		len = read(info, text, sizeof(text) - 1);
	} while (len < 0 && errno == EINTR);
	int err = len < 0 ? -errno : 0;
	close(info);
	if (err != 0) {
		return err;
	}
	text[len] = '\0';
	return file_origin_parse_fdinfo(text, mount_id);
}

/* @p fd's mount is not in our mountinfo. A pipe, socket or anonymous
 * inode lives on a kernel-internal mount that no namespace shows, and its
 * /proc/self/fd link is a name like "pipe:[123]" (a file on any mount
 * links to a path, starting with '/'): fstat() on those is the kernel's
 * own answer, and tells which type to refuse. */
static enum shmguard_pool_error
judge_invisible_mount(int fd, struct file_origin *origin)
{
	char path[64];
	char link[64];
	snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", fd);
	ssize_t len = readlink(path, link, sizeof(link) - 1);
	struct stat st;
	if (len > 0 && link[0] != '/' && fstat(fd, &st) == 0) {
		origin->backing = FILE_BACKING_KERNEL_OBJECT;
		enum shmguard_pool_error error = file_facts_type_error(st.st_mode);
		/* A regular file that is on no mount: unheard of, so not
		 * known to be safe. */
		return error != SHMGUARD_POOL_OK ? error : SHMGUARD_POOL_ERROR_FS_UNKNOWN;
	}
	origin->backing = FILE_BACKING_UNIDENTIFIED;
	origin->unidentified = FILE_UNIDENTIFIED_MOUNT_NOT_VISIBLE;
	return SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED;
}

static enum shmguard_pool_error
judge_block_file_system(const struct mount_entry *mount, const struct shmguard_file_policy *policy,
	const char *sysfs, struct file_origin *origin)
{
	if (policy != NULL && policy->accept == SHMGUARD_FILE_ACCEPT_MEMORY) {
		origin->backing = FILE_BACKING_LOCAL_DISK;
		return SHMGUARD_POOL_ERROR_FS_NOT_MEMORY;
	}
	enum block_device_kind kind;
	if (strcmp(mount->fs_type, "btrfs") == 0) {
		kind = block_device_classify_btrfs(
			sysfs, mount->source, origin->device, sizeof(origin->device));
	} else if (mount->major == 0) {
		/* An anonymous device number: no block device at all (a file
		 * system mounted from a file, as erofs can be). */
		kind = BLOCK_DEVICE_UNKNOWN;
		snprintf(origin->device, sizeof(origin->device), "%u:%u", mount->major,
			mount->minor);
	} else {
		kind = block_device_classify(
			sysfs, mount->major, mount->minor, origin->device, sizeof(origin->device));
	}
	origin->device_kind = kind;
	if (block_device_kind_is_local(kind)) {
		origin->backing = FILE_BACKING_LOCAL_DISK;
		return SHMGUARD_POOL_OK;
	}
	if (kind == BLOCK_DEVICE_UNKNOWN) {
		origin->backing = FILE_BACKING_UNIDENTIFIED;
		origin->unidentified = FILE_UNIDENTIFIED_DEVICE;
		return SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED;
	}
	origin->backing = FILE_BACKING_DEVICE;
	return SHMGUARD_POOL_ERROR_FS_DEVICE;
}

enum shmguard_pool_error
file_origin_judge_mount(const struct mount_entry *mount, const struct shmguard_file_policy *policy,
	const char *sysfs, struct file_origin *origin)
{
	origin->mount_id = mount->id;
	snprintf(origin->fs_type, sizeof(origin->fs_type), "%s", mount->fs_type);
	enum fs_class class = fs_class_of(mount->fs_type);
	if (!mount->fs_type_cut && file_policy_names_type(policy, mount->fs_type)) {
		origin->named_by_policy = true;
		origin->backing =
			class == FS_CLASS_MEMORY ? FILE_BACKING_MEMORY : FILE_BACKING_UNKNOWN;
		return SHMGUARD_POOL_OK;
	}
	switch (class) {
	case FS_CLASS_MEMORY:
		origin->backing = FILE_BACKING_MEMORY;
		return SHMGUARD_POOL_OK;
	case FS_CLASS_BLOCK:
		return judge_block_file_system(mount, policy, sysfs, origin);
	case FS_CLASS_USER_SPACE:
		origin->backing = FILE_BACKING_USER_SPACE;
		return SHMGUARD_POOL_ERROR_FS_USER_SPACE;
	case FS_CLASS_STACKED:
		origin->backing = FILE_BACKING_STACKED;
		return SHMGUARD_POOL_ERROR_FS_STACKED;
	case FS_CLASS_NETWORK:
		origin->backing = FILE_BACKING_NETWORK;
		return SHMGUARD_POOL_ERROR_FS_NETWORK;
	case FS_CLASS_UNKNOWN:
		break;
	}
	origin->backing = FILE_BACKING_UNKNOWN;
	return SHMGUARD_POOL_ERROR_FS_UNKNOWN;
}

enum shmguard_pool_error
file_origin_vet(int fd, const struct shmguard_file_policy *policy, struct file_origin *origin)
{
	origin_reset(origin);
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0) {
		return SHMGUARD_POOL_ERROR_BAD_FD;
	}
	if (flags & O_PATH) {
		return SHMGUARD_POOL_ERROR_O_PATH;
	}
	if ((flags & O_TMPFILE) == O_DIRECTORY) {
		/* Opened as a directory (O_TMPFILE, an unnamed regular file,
		 * carries O_DIRECTORY too): say so, whatever it is mounted on. */
		return SHMGUARD_POOL_ERROR_DIRECTORY;
	}
	/* Only shmem and hugetlbfs files have seals: every memfd and tmpfs
	 * file is memory, and this is as far as they go. */
	if (fcntl(fd, F_GET_SEALS) >= 0) {
		origin->backing = FILE_BACKING_MEMORY;
		origin->sealable = true;
		/* A shmem file is a regular file: its access mode is the one
		 * thing left to refuse it for, before any budget is charged. */
		return (flags & O_ACCMODE) == O_WRONLY ? SHMGUARD_POOL_ERROR_NOT_READABLE
						       : SHMGUARD_POOL_OK;
	}
	int mount_id;
	if (fdinfo_mount_id(fd, &mount_id) != 0) {
		origin->backing = FILE_BACKING_UNIDENTIFIED;
		origin->unidentified = FILE_UNIDENTIFIED_NO_FDINFO;
		return SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED;
	}
	origin->mount_id = mount_id;
	struct mount_entry mount;
	int ret = mountinfo_find(PROC_MOUNTINFO, mount_id, &mount);
	if (ret == -ENOENT) {
		return judge_invisible_mount(fd, origin);
	}
	if (ret != 0) {
		origin->backing = FILE_BACKING_UNIDENTIFIED;
		origin->unidentified = FILE_UNIDENTIFIED_NO_MOUNTINFO;
		return SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED;
	}
	return file_origin_judge_mount(&mount, policy, SYSFS, origin);
}

bool
pool_error_is_file_system(enum shmguard_pool_error error)
{
	switch (error) {
	case SHMGUARD_POOL_ERROR_FS_USER_SPACE:
	case SHMGUARD_POOL_ERROR_FS_STACKED:
	case SHMGUARD_POOL_ERROR_FS_NETWORK:
	case SHMGUARD_POOL_ERROR_FS_DEVICE:
	case SHMGUARD_POOL_ERROR_FS_UNKNOWN:
	case SHMGUARD_POOL_ERROR_FS_NOT_MEMORY:
	case SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED:
		return true;
	default:
		return false;
	}
}

/* "a" or "an" before @p word, by its first letter ("an ext4", "an
 * overlay", "an xfs"). */
static const char *
article(const char *word)
{
	return word[0] != '\0' && strchr("aeiouxAEIOUX", word[0]) != NULL ? "an" : "a";
}

static void
describe_unidentified(const struct file_origin *origin, char *text, size_t size)
{
	switch (origin->unidentified) {
	case FILE_UNIDENTIFIED_NO_FDINFO:
		snprintf(text, size,
			"what backs the file cannot be told: /proc/self/fdinfo is not readable");
		return;
	case FILE_UNIDENTIFIED_NO_MOUNTINFO:
		snprintf(text, size,
			"what backs the file cannot be told: /proc/self/mountinfo is not readable");
		return;
	case FILE_UNIDENTIFIED_MOUNT_NOT_VISIBLE:
		snprintf(text, size,
			"file on mount %d, which is not in the compositor's mount namespace: what backs it cannot be told",
			origin->mount_id);
		return;
	case FILE_UNIDENTIFIED_DEVICE:
		snprintf(text, size,
			"file on %s %s file system on device %s, not found in /sys: what backs it cannot be told",
			article(origin->fs_type), origin->fs_type, origin->device);
		return;
	case FILE_UNIDENTIFIED_NONE:
		break;
	}
	snprintf(text, size, "what backs the file cannot be told");
}

void
file_origin_describe(
	const struct file_origin *origin, enum shmguard_pool_error verdict, char *text, size_t size)
{
	if (size == 0) {
		return;
	}
	const char *type = origin->fs_type;
	const char *a = article(type);
	switch (origin->backing) {
	case FILE_BACKING_NONE:
		snprintf(text, size, "%s", shmguard_pool_error_to_str(verdict));
		return;
	case FILE_BACKING_MEMORY:
		if (origin->sealable) {
			snprintf(text, size,
				"memory-backed file (memfd, tmpfs or hugetlbfs: it can be sealed)");
		} else {
			snprintf(text, size, "file on %s %s file system: memory-backed", a, type);
		}
		return;
	case FILE_BACKING_LOCAL_DISK:
		if (verdict == SHMGUARD_POOL_ERROR_FS_NOT_MEMORY) {
			snprintf(text, size,
				"file on %s %s file system: the compositor accepts memory-backed files only (memfd, tmpfs)",
				a, type);
		} else {
			snprintf(text, size, "file on %s %s file system on %s, %s", a, type,
				origin->device, block_device_kind_to_str(origin->device_kind));
		}
		return;
	case FILE_BACKING_KERNEL_OBJECT:
		snprintf(text, size, "%s", shmguard_pool_error_to_str(verdict));
		return;
	case FILE_BACKING_USER_SPACE:
		snprintf(text, size,
			"file on %s %s file system: page reads can wait on a user-space process", a,
			type);
		return;
	case FILE_BACKING_STACKED:
		snprintf(text, size,
			"file on %s %s file system: page reads go to another file system, which can wait on a user-space process",
			a, type);
		return;
	case FILE_BACKING_NETWORK:
		snprintf(text, size, "file on %s %s file system: page reads can wait on a server",
			a, type);
		return;
	case FILE_BACKING_DEVICE:
		snprintf(text, size,
			"file on %s %s file system on %s, %s: page reads can wait on the file or process behind it",
			a, type, origin->device, block_device_kind_to_str(origin->device_kind));
		return;
	case FILE_BACKING_UNKNOWN:
		if (origin->named_by_policy) {
			snprintf(text, size,
				"file on %s %s file system, accepted by the compositor's policy", a,
				type);
		} else {
			snprintf(text, size,
				"file on %s %s file system, not known to be memory or a local disk",
				a, *type != '\0' ? type : "(nameless)");
		}
		return;
	case FILE_BACKING_UNIDENTIFIED:
		describe_unidentified(origin, text, size);
		return;
	}
	snprintf(text, size, "%s", shmguard_pool_error_to_str(verdict));
}

SHMGUARD_EXPORT enum shmguard_pool_error
shmguard_file_vet(
	int fd, const struct shmguard_file_policy *policy, char *reason, size_t reason_size)
{
	struct file_origin origin;
	enum shmguard_pool_error verdict = file_origin_vet(fd, policy, &origin);
	if (reason != NULL) {
		file_origin_describe(&origin, verdict, reason, reason_size);
	}
	return verdict;
}

/*
 * What backs a client's file, without the kernel: the mountinfo parser on
 * fixture text, the fdinfo parser, the verdict for every kind of file
 * system and block device stack (on a fake sysfs tree built in a temporary
 * directory), the sentences clients are told, and the policy setting's
 * syntax. test-file-origin-live does the same on real mounts.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "src/block_device.h"
#include "src/file_origin.h"
#include "src/file_policy.h"
#include "src/mountinfo.h"

#include "leak-check.h"

/* ------------------------------------------------------------------ */
/* mountinfo                                                           */
/* ------------------------------------------------------------------ */

/* Lines as the kernel writes them: optional fields (none, one, several),
 * \ooo escapes in paths and sources, an empty source, a FUSE subtype, a
 * line of another mount that is malformed, and a last line without its
 * newline. */
static const char fixture[] =
	"21 26 0:20 / /proc rw,relatime - proc proc rw\n"
	"26 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard\n"
	"30 26 0:27 / /mnt/with\\040space\\011tab rw master:4 propagate_from:2 shared:7 - "
	"tmpfs my\\040source rw,size=4k\n"
	"31 26 0:28 / /srv/empty rw - tmpfs  rw\n"
	"garbage line that is not a mount\n"
	"32 26 0:29 /sub /home/u/mnt rw,nosuid,nodev - fuse.sshfs u@host:/dir\\134x "
	"rw,user_id=1000\n"
	"33 26 8:3 / /data rw unbindable - btrfs /dev/mapper/luks-1 rw,subvol=/\n"
	"34 26 7:0 / /media/img ro - ext4 /dev/loop0 ro\n"
	"35 26 0:30 / /nosep rw shared:9 ext4 /dev/sda1 rw\n"
	"36 26 x:1 / /baddev rw - ext4 /dev/sda1 rw\n"
	"37 26 0:31 / /last rw - overlay overlay rw,lowerdir=/a:/b";

static bool
find_in_pieces(const char *text, size_t piece, int id, struct mount_entry *entry)
{
	struct mountinfo_search search;
	mountinfo_search_init(&search, id);
	size_t len = strlen(text);
	for (size_t at = 0; at < len; at += piece) {
		size_t n = len - at < piece ? len - at : piece;
		if (mountinfo_search_feed(&search, text + at, n)) {
			break;
		}
	}
	bool found = mountinfo_search_finish(&search);
	if (found) {
		*entry = search.entry;
	}
	return found;
}

/* Every piece size finds the same thing. */
static bool
find(int id, struct mount_entry *entry)
{
	static const size_t pieces[] = {1, 2, 3, 7, 64, 4096};
	struct mount_entry first;
	bool found = find_in_pieces(fixture, pieces[0], id, &first);
	for (size_t i = 1; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		struct mount_entry other;
		assert_int_equal(find_in_pieces(fixture, pieces[i], id, &other), found);
		if (found) {
			assert_int_equal(other.id, first.id);
			assert_int_equal(other.major, first.major);
			assert_int_equal(other.minor, first.minor);
			assert_string_equal(other.fs_type, first.fs_type);
			assert_string_equal(other.source, first.source);
		}
	}
	if (found) {
		*entry = first;
	}
	return found;
}

static void
mountinfo_fields(void **state)
{
	struct mount_entry entry;
	assert_true(find(21, &entry));
	assert_int_equal(entry.id, 21);
	assert_int_equal(entry.major, 0);
	assert_int_equal(entry.minor, 20);
	assert_string_equal(entry.fs_type, "proc");
	assert_string_equal(entry.source, "proc");

	assert_true(find(26, &entry));
	assert_int_equal(entry.major, 254);
	assert_int_equal(entry.minor, 0);
	assert_string_equal(entry.fs_type, "ext4");
	assert_string_equal(entry.source, "/dev/vda");
	assert_false(entry.fs_type_cut);
	assert_false(entry.source_cut);
}

static void
mountinfo_optional_fields_and_escapes(void **state)
{
	struct mount_entry entry;
	/* Three optional fields, escapes in the mount point and source. */
	assert_true(find(30, &entry));
	assert_string_equal(entry.fs_type, "tmpfs");
	assert_string_equal(entry.source, "my source");
	/* An empty source: two spaces in a row. */
	assert_true(find(31, &entry));
	assert_string_equal(entry.fs_type, "tmpfs");
	assert_string_equal(entry.source, "");
	/* A FUSE subtype and an escaped backslash. */
	assert_true(find(32, &entry));
	assert_string_equal(entry.fs_type, "fuse.sshfs");
	assert_string_equal(entry.source, "u@host:/dir\\x");
	assert_true(find(33, &entry));
	assert_string_equal(entry.fs_type, "btrfs");
	assert_string_equal(entry.source, "/dev/mapper/luks-1");
	assert_int_equal(entry.major, 8);
	assert_int_equal(entry.minor, 3);
	/* The last line has no newline. */
	assert_true(find(37, &entry));
	assert_string_equal(entry.fs_type, "overlay");
}

static void
mountinfo_malformed_and_missing(void **state)
{
	struct mount_entry entry;
	/* No "-" separator, a device that is not a number. */
	assert_false(find(35, &entry));
	assert_false(find(36, &entry));
	/* No such mount; a prefix of an id is not the id. */
	assert_false(find(99, &entry));
	assert_false(find(2, &entry));
	assert_false(find(3, &entry));
	/* A line cut before its source is not found. */
	assert_false(find_in_pieces("40 1 0:1 / / rw - tmpfs", 5, 40, &entry));
	assert_true(find_in_pieces("40 1 0:1 / / rw - tmpfs x", 5, 40, &entry));
	/* An id that overflows. */
	assert_false(
		find_in_pieces("99999999999999999999 1 0:1 / / rw - tmpfs x\n", 3, -1, &entry));
}

/* Fields longer than the parser keeps: a mount point far past the raw
 * buffer before the wanted fields, and a type that has to be cut. */
static void
mountinfo_long_fields(void **state)
{
	size_t point_len = 3 * MOUNTINFO_RAW_SIZE;
	size_t type_len = 2 * MOUNT_FS_TYPE_SIZE;
	char *text = malloc(point_len + type_len + 256);
	assert_non_null(text);
	char *p = text;
	p += sprintf(p, "50 1 0:40 / /");
	memset(p, 'm', point_len);
	p += point_len;
	p += sprintf(p, " rw - tmpfs src rw\n51 1 0:41 / /x rw - fuse.");
	memset(p, 't', type_len);
	p += type_len;
	sprintf(p, " src rw\n");

	struct mount_entry entry;
	assert_true(find_in_pieces(text, 100, 50, &entry));
	assert_string_equal(entry.fs_type, "tmpfs");
	assert_string_equal(entry.source, "src");
	assert_true(find_in_pieces(text, 100, 51, &entry));
	assert_true(entry.fs_type_cut);
	assert_int_equal(strlen(entry.fs_type), MOUNT_FS_TYPE_SIZE - 1);
	assert_memory_equal(entry.fs_type, "fuse.ttt", 8);
	free(text);
}

static void
mountinfo_unescape_cases(void **state)
{
	char out[16];
	assert_true(mountinfo_unescape("a\\040b\\011c\\012d\\134e", out, sizeof(out)));
	assert_string_equal(out, "a b\tc\nd\\e");
	/* Not an escape: kept as it is. */
	assert_true(mountinfo_unescape("a\\9b\\04", out, sizeof(out)));
	assert_string_equal(out, "a\\9b\\04");
	assert_false(mountinfo_unescape("0123456789abcdefgh", out, sizeof(out)));
	assert_string_equal(out, "0123456789abcde");
}

static void
mountinfo_from_file(void **state)
{
	char path[] = "/tmp/shmguard-mountinfo-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, fixture, strlen(fixture)), (ssize_t)strlen(fixture));
	close(fd);
	struct mount_entry entry;
	assert_int_equal(mountinfo_find(path, 34, &entry), 0);
	assert_string_equal(entry.source, "/dev/loop0");
	assert_int_equal(mountinfo_find(path, 37, &entry), 0);
	assert_int_equal(mountinfo_find(path, 1234, &entry), -ENOENT);
	unlink(path);
	assert_int_equal(mountinfo_find(path, 34, &entry), -ENOENT);
}

static void
fdinfo_parse(void **state)
{
	int id = -1;
	assert_int_equal(
		file_origin_parse_fdinfo("pos:\t0\nflags:\t0100002\nmnt_id:\t86\nino:\t2\n", &id),
		0);
	assert_int_equal(id, 86);
	assert_int_equal(file_origin_parse_fdinfo("mnt_id: 7", &id), 0);
	assert_int_equal(id, 7);
	assert_int_equal(file_origin_parse_fdinfo("pos:\t0\nflags:\t02\n", &id), -ENOENT);
	assert_int_equal(file_origin_parse_fdinfo("mnt_id:\tx\n", &id), -ENOENT);
	assert_int_equal(file_origin_parse_fdinfo("mnt_id:\t\n", &id), -ENOENT);
	assert_int_equal(file_origin_parse_fdinfo("mnt_id:\t99999999999\n", &id), -ENOENT);
	assert_int_equal(file_origin_parse_fdinfo("xmnt_id:\t5\n", &id), -ENOENT);
}

/* ------------------------------------------------------------------ */
/* A fake sysfs                                                        */
/* ------------------------------------------------------------------ */

static char sysfs[64];

/* @p relative under the fake sysfs (free() it). */
static char *
under_sysfs(const char *relative)
{
	char *path;
	assert_true(asprintf(&path, "%s/%s", sysfs, relative) > 0);
	return path;
}

static void
make_dirs(const char *relative)
{
	char *path = under_sysfs(relative);
	for (char *p = path + strlen(sysfs) + 1; *p != '\0'; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
	free(path);
}

static void
write_attribute(const char *relative, const char *value)
{
	char *path = under_sysfs(relative);
	FILE *file = fopen(path, "we");
	assert_non_null(file);
	fprintf(file, "%s\n", value);
	fclose(file);
	free(path);
}

static void
link_to(const char *relative, const char *target)
{
	char *path = under_sysfs(relative);
	assert_int_equal(symlink(target, path), 0);
	free(path);
}

/* A block device at devices/@p dir (ending in its name) numbered
 * @p number, with /dev/block and /class/block links to it. */
static void
add_device(const char *dir, const char *number)
{
	char path[512];
	char target[512];
	make_dirs(dir);
	snprintf(path, sizeof(path), "%s/dev", dir);
	write_attribute(path, number);
	snprintf(path, sizeof(path), "dev/block/%s", number);
	snprintf(target, sizeof(target), "../../%s", dir);
	link_to(path, target);
	const char *name = strrchr(dir, '/') + 1;
	snprintf(path, sizeof(path), "class/block/%s", name);
	link_to(path, target);
}

static void
add_partition(const char *dir, const char *number)
{
	char path[512];
	add_device(dir, number);
	snprintf(path, sizeof(path), "%s/partition", dir);
	write_attribute(path, "1");
}

/* @p upper (a devices/ dir) is stacked on @p lower (another). */
static void
add_slave(const char *upper, const char *lower)
{
	char path[512];
	char target[512];
	snprintf(path, sizeof(path), "%s/slaves", upper);
	make_dirs(path);
	/* slaves/NAME -> ../../../NAME's dir, relative from upper/slaves. */
	const char *name = strrchr(lower, '/') + 1;
	snprintf(path, sizeof(path), "%s/slaves/%s", upper, name);
	snprintf(target, sizeof(target), "%s/%s", sysfs, lower);
	link_to(path, target);
}

#define PCI "devices/pci0000:00/0000:00:02.0/virtio1/block"
#define VIRTUAL "devices/virtual/block"

static int
sysfs_create(void **state)
{
	snprintf(sysfs, sizeof(sysfs), "/tmp/shmguard-sysfs-XXXXXX");
	assert_non_null(mkdtemp(sysfs));
	make_dirs("dev/block");
	make_dirs("class/block");
	/* A disk and its partitions. */
	add_device(PCI "/vda", "254:0");
	add_partition(PCI "/vda/vda1", "254:1");
	add_partition(PCI "/vda/vda2", "254:2");
	/* A loop device and a partition of it. */
	add_device(VIRTUAL "/loop0", "7:0");
	add_partition(VIRTUAL "/loop0/loop0p1", "259:0");
	add_device(VIRTUAL "/nbd0", "43:0");
	add_device(VIRTUAL "/ublkb0", "259:5");
	add_device(VIRTUAL "/zram0", "252:0");
	add_device(VIRTUAL "/nullb0", "251:0");
	/* LUKS on the disk; dm on the loop device; dm on that dm. */
	add_device(VIRTUAL "/dm-0", "253:0");
	add_slave(VIRTUAL "/dm-0", PCI "/vda/vda2");
	make_dirs(VIRTUAL "/dm-0/dm");
	write_attribute(VIRTUAL "/dm-0/dm/name", "luks-1");
	add_device(VIRTUAL "/dm-1", "253:1");
	add_slave(VIRTUAL "/dm-1", VIRTUAL "/loop0/loop0p1");
	add_device(VIRTUAL "/dm-2", "253:2");
	add_slave(VIRTUAL "/dm-2", VIRTUAL "/dm-1");
	/* RAID of the disk and nbd; RAID of two disks' partitions. */
	add_device(VIRTUAL "/md0", "9:0");
	add_slave(VIRTUAL "/md0", PCI "/vda/vda1");
	add_slave(VIRTUAL "/md0", VIRTUAL "/nbd0");
	add_device(VIRTUAL "/md1", "9:1");
	add_slave(VIRTUAL "/md1", PCI "/vda/vda1");
	add_slave(VIRTUAL "/md1", PCI "/vda/vda2");
	/* dm on zram only: memory. */
	add_device(VIRTUAL "/dm-4", "253:4");
	add_slave(VIRTUAL "/dm-4", VIRTUAL "/zram0");
	/* A device stacked on itself: must end, not recurse forever. */
	add_device(VIRTUAL "/dm-3", "253:3");
	add_slave(VIRTUAL "/dm-3", VIRTUAL "/dm-3");
	/* SCSI disks served over iSCSI and by tcm_loop. */
	add_device("devices/platform/host3/session1/target3:0:0/3:0:0:0/block/sdb", "8:16");
	add_device("devices/tcm_loop_0/tcm_loop_adapter_0/host4/target4:0:1/4:0:1:0/block/sdc",
		"8:32");
	/* btrfs: one file system on the disk and the loop device, one on
	 * LUKS alone. */
	make_dirs("fs/btrfs/1111/devices");
	link_to("fs/btrfs/1111/devices/vda1", "../../../../" PCI "/vda/vda1");
	link_to("fs/btrfs/1111/devices/loop0", "../../../../" VIRTUAL "/loop0");
	make_dirs("fs/btrfs/2222/devices");
	link_to("fs/btrfs/2222/devices/dm-0", "../../../../" VIRTUAL "/dm-0");
	*state = NULL;
	return 0;
}

static int
sysfs_remove(void **state)
{
	char command[128];
	snprintf(command, sizeof(command), "rm -rf '%s'", sysfs);
	return system(command) == 0 ? 0 : -1;
}

static void
block_devices(void **state)
{
	static const struct {
		const char *number;
		enum block_device_kind kind;
		const char *name;
	} cases[] = {
		{"254:0", BLOCK_DEVICE_DISK, "vda"},
		{"254:1", BLOCK_DEVICE_DISK, "vda1"},
		{"7:0", BLOCK_DEVICE_LOOP, "loop0"},
		{"259:0", BLOCK_DEVICE_LOOP, "loop0"},
		{"43:0", BLOCK_DEVICE_NBD, "nbd0"},
		{"259:5", BLOCK_DEVICE_UBLK, "ublkb0"},
		{"252:0", BLOCK_DEVICE_MEMORY, "zram0"},
		{"251:0", BLOCK_DEVICE_VIRTUAL, "nullb0"},
		{"253:0", BLOCK_DEVICE_DISK, "dm-0"},
		{"253:1", BLOCK_DEVICE_LOOP, "loop0"},
		{"253:2", BLOCK_DEVICE_LOOP, "loop0"},
		{"253:3", BLOCK_DEVICE_UNKNOWN, "(stack too deep)"},
		{"253:4", BLOCK_DEVICE_MEMORY, "dm-4"},
		{"9:0", BLOCK_DEVICE_NBD, "nbd0"},
		{"9:1", BLOCK_DEVICE_DISK, "md1"},
		{"8:16", BLOCK_DEVICE_SCSI_TARGET, "sdb"},
		{"8:32", BLOCK_DEVICE_SCSI_TARGET, "sdc"},
		{"8:99", BLOCK_DEVICE_UNKNOWN, "8:99"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned major;
		unsigned minor;
		assert_int_equal(sscanf(cases[i].number, "%u:%u", &major, &minor), 2);
		char name[BLOCK_DEVICE_NAME_SIZE];
		enum block_device_kind kind =
			block_device_classify(sysfs, major, minor, name, sizeof(name));
		if (kind != cases[i].kind || strcmp(name, cases[i].name) != 0) {
			fail_msg("%s: %s (%s), expected %s (%s)", cases[i].number,
				block_device_kind_to_str(kind), name,
				block_device_kind_to_str(cases[i].kind), cases[i].name);
		}
	}
	/* No sysfs at all. */
	char name[BLOCK_DEVICE_NAME_SIZE];
	assert_int_equal(block_device_classify("/nonexistent", 254, 0, name, sizeof(name)),
		BLOCK_DEVICE_UNKNOWN);
}

static void
btrfs_devices(void **state)
{
	char name[BLOCK_DEVICE_NAME_SIZE];
	/* A member on the loop device refuses the whole file system. */
	assert_int_equal(block_device_classify_btrfs(sysfs, "/dev/vda1", name, sizeof(name)),
		BLOCK_DEVICE_LOOP);
	assert_string_equal(name, "loop0");
	assert_int_equal(block_device_classify_btrfs(sysfs, "/dev/loop0", name, sizeof(name)),
		BLOCK_DEVICE_LOOP);
	/* LUKS on the disk, by its device-mapper name. */
	assert_int_equal(
		block_device_classify_btrfs(sysfs, "/dev/mapper/luks-1", name, sizeof(name)),
		BLOCK_DEVICE_DISK);
	assert_string_equal(name, "dm-0");
	/* Sources that do not name a device in sysfs. */
	static const char *const unknown[] = {"/dev/mapper/nope", "/dev/disk/by-uuid/x",
		"/dev/../sys", "nodev", "/dev/", "/dev/sdz"};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		assert_int_equal(block_device_classify_btrfs(sysfs, unknown[i], name, sizeof(name)),
			BLOCK_DEVICE_UNKNOWN);
	}
}

/* ------------------------------------------------------------------ */
/* The policy table                                                    */
/* ------------------------------------------------------------------ */

static enum shmguard_pool_error
judge(const char *type, const char *source, const char *number,
	const struct shmguard_file_policy *policy, char *reason, size_t size)
{
	struct mount_entry mount = {.id = 42};
	snprintf(mount.fs_type, sizeof(mount.fs_type), "%s", type);
	snprintf(mount.source, sizeof(mount.source), "%s", source);
	assert_int_equal(sscanf(number, "%u:%u", &mount.major, &mount.minor), 2);
	struct file_origin origin = {.mount_id = -1};
	enum shmguard_pool_error verdict = file_origin_judge_mount(&mount, policy, sysfs, &origin);
	file_origin_describe(&origin, verdict, reason, size);
	return verdict;
}

struct table_case {
	const char *type;
	const char *source;
	const char *number;
	enum shmguard_pool_error verdict;
	/* The whole sentence, or NULL. */
	const char *reason;
};

static void
run_table(const struct table_case *cases, size_t count, const struct shmguard_file_policy *policy)
{
	for (size_t i = 0; i < count; i++) {
		char reason[256];
		enum shmguard_pool_error verdict = judge(cases[i].type, cases[i].source,
			cases[i].number, policy, reason, sizeof(reason));
		if (verdict != cases[i].verdict) {
			fail_msg("%s on %s (%s): \"%s\", expected \"%s\"", cases[i].type,
				cases[i].source, cases[i].number,
				shmguard_pool_error_to_str(verdict),
				shmguard_pool_error_to_str(cases[i].verdict));
		}
		if (cases[i].reason != NULL && strcmp(reason, cases[i].reason) != 0) {
			fail_msg("%s: \"%s\", expected \"%s\"", cases[i].type, reason,
				cases[i].reason);
		}
		/* A refusal names the file system type it is about. */
		if (verdict != SHMGUARD_POOL_OK && *cases[i].type != '\0' &&
			verdict != SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED) {
			assert_non_null(strstr(reason, cases[i].type));
		}
	}
}

static void
default_policy(void **state)
{
	static const struct table_case cases[] = {
		{"tmpfs", "tmpfs", "0:22", SHMGUARD_POOL_OK,
			"file on a tmpfs file system: memory-backed"},
		{"ramfs", "none", "0:23", SHMGUARD_POOL_OK, NULL},
		{"hugetlbfs", "none", "0:24", SHMGUARD_POOL_OK, NULL},
		{"devtmpfs", "devtmpfs", "0:6", SHMGUARD_POOL_OK, NULL},
		{"ext4", "/dev/vda1", "254:1", SHMGUARD_POOL_OK,
			"file on an ext4 file system on vda1, a local disk"},
		{"xfs", "/dev/mapper/luks-1", "253:0", SHMGUARD_POOL_OK,
			"file on an xfs file system on dm-0, a local disk"},
		{"ext4", "/dev/md1", "9:1", SHMGUARD_POOL_OK, NULL},
		{"ext4", "/dev/zram0", "252:0", SHMGUARD_POOL_OK,
			"file on an ext4 file system on zram0, a RAM disk"},
		{"btrfs", "/dev/mapper/luks-1", "0:35", SHMGUARD_POOL_OK,
			"file on a btrfs file system on dm-0, a local disk"},
		{"fuse", "fuse", "0:40", SHMGUARD_POOL_ERROR_FS_USER_SPACE,
			"file on a fuse file system: page reads can wait on a user-space process"},
		{"fuse.sshfs", "u@h:/", "0:41", SHMGUARD_POOL_ERROR_FS_USER_SPACE,
			"file on a fuse.sshfs file system: page reads can wait on a user-space "
			"process"},
		/* fuseblk has a real disk's device number: refused for its type. */
		{"fuseblk", "/dev/vda2", "254:2", SHMGUARD_POOL_ERROR_FS_USER_SPACE, NULL},
		{"coda", "coda", "0:42", SHMGUARD_POOL_ERROR_FS_USER_SPACE, NULL},
		{"overlay", "overlay", "0:43", SHMGUARD_POOL_ERROR_FS_STACKED,
			"file on an overlay file system: page reads go to another file system, "
			"which can wait on a user-space process"},
		{"ecryptfs", "/home/.x", "0:44", SHMGUARD_POOL_ERROR_FS_STACKED, NULL},
		{"nfs4", "srv:/", "0:45", SHMGUARD_POOL_ERROR_FS_NETWORK,
			"file on a nfs4 file system: page reads can wait on a server"},
		{"nfs", "srv:/", "0:45", SHMGUARD_POOL_ERROR_FS_NETWORK, NULL},
		{"cifs", "//srv/x", "0:46", SHMGUARD_POOL_ERROR_FS_NETWORK, NULL},
		{"smb3", "//srv/x", "0:46", SHMGUARD_POOL_ERROR_FS_NETWORK, NULL},
		{"9p", "host", "0:47", SHMGUARD_POOL_ERROR_FS_NETWORK, NULL},
		{"ceph", "mon:/", "0:48", SHMGUARD_POOL_ERROR_FS_NETWORK, NULL},
		{"afs", "%cell", "0:49", SHMGUARD_POOL_ERROR_FS_NETWORK, NULL},
		{"virtiofs", "tag", "0:50", SHMGUARD_POOL_ERROR_FS_NETWORK, NULL},
		{"ext4", "/dev/loop0", "7:0", SHMGUARD_POOL_ERROR_FS_DEVICE,
			"file on an ext4 file system on loop0, a loop device: page reads can wait "
			"on the file or process behind it"},
		{"ext4", "/dev/loop0p1", "259:0", SHMGUARD_POOL_ERROR_FS_DEVICE, NULL},
		{"ext4", "/dev/mapper/x", "253:1", SHMGUARD_POOL_ERROR_FS_DEVICE,
			"file on an ext4 file system on loop0, a loop device: page reads can wait "
			"on the file or process behind it"},
		{"ext4", "/dev/mapper/y", "253:2", SHMGUARD_POOL_ERROR_FS_DEVICE, NULL},
		{"xfs", "/dev/nbd0", "43:0", SHMGUARD_POOL_ERROR_FS_DEVICE, NULL},
		{"ext4", "/dev/md0", "9:0", SHMGUARD_POOL_ERROR_FS_DEVICE,
			"file on an ext4 file system on nbd0, a network block device (nbd): page "
			"reads can wait on the file or process behind it"},
		{"ext4", "/dev/ublkb0", "259:5", SHMGUARD_POOL_ERROR_FS_DEVICE, NULL},
		{"ext4", "/dev/nullb0", "251:0", SHMGUARD_POOL_ERROR_FS_DEVICE, NULL},
		{"ext4", "/dev/sdb", "8:16", SHMGUARD_POOL_ERROR_FS_DEVICE, NULL},
		{"ext4", "/dev/sdc", "8:32", SHMGUARD_POOL_ERROR_FS_DEVICE, NULL},
		{"btrfs", "/dev/vda1", "0:36", SHMGUARD_POOL_ERROR_FS_DEVICE,
			"file on a btrfs file system on loop0, a loop device: page reads can wait "
			"on the file or process behind it"},
		/* What backs it cannot be found out. */
		{"ext4", "/dev/sdz", "8:99", SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED,
			"file on an ext4 file system on device 8:99, not found in /sys: what backs "
			"it cannot be told"},
		{"ext4", "/dev/x", "253:3", SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED, NULL},
		{"ext4", "/tmp/image", "0:51", SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED, NULL},
		{"btrfs", "/dev/disk/by-uuid/1", "0:37", SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED, NULL},
		/* Anything else. */
		{"proc", "proc", "0:20", SHMGUARD_POOL_ERROR_FS_UNKNOWN,
			"file on a proc file system, not known to be memory or a local disk"},
		{"sysfs", "sysfs", "0:21", SHMGUARD_POOL_ERROR_FS_UNKNOWN, NULL},
		{"erofs", "/dev/vda1", "254:1", SHMGUARD_POOL_ERROR_FS_UNKNOWN, NULL},
		{"ext4x", "/dev/vda1", "254:1", SHMGUARD_POOL_ERROR_FS_UNKNOWN, NULL},
		{"fuse2", "x", "0:52", SHMGUARD_POOL_ERROR_FS_UNKNOWN, NULL},
		{"", "x", "0:53", SHMGUARD_POOL_ERROR_FS_UNKNOWN,
			"file on a (nameless) file system, not known to be memory or a local disk"},
	};
	run_table(cases, sizeof(cases) / sizeof(cases[0]), NULL);
	/* A zeroed policy is the default. */
	struct shmguard_file_policy zero = {0};
	run_table(cases, sizeof(cases) / sizeof(cases[0]), &zero);
}

static void
memory_policy(void **state)
{
	static const struct table_case cases[] = {
		{"tmpfs", "tmpfs", "0:22", SHMGUARD_POOL_OK, NULL},
		{"hugetlbfs", "none", "0:24", SHMGUARD_POOL_OK, NULL},
		{"ext4", "/dev/vda1", "254:1", SHMGUARD_POOL_ERROR_FS_NOT_MEMORY,
			"file on an ext4 file system: the compositor accepts memory-backed files "
			"only (memfd, tmpfs)"},
		{"btrfs", "/dev/mapper/luks-1", "0:35", SHMGUARD_POOL_ERROR_FS_NOT_MEMORY, NULL},
		{"fuse.sshfs", "x", "0:41", SHMGUARD_POOL_ERROR_FS_USER_SPACE, NULL},
		{"overlay", "overlay", "0:43", SHMGUARD_POOL_ERROR_FS_STACKED, NULL},
	};
	struct shmguard_file_policy policy = {.accept = SHMGUARD_FILE_ACCEPT_MEMORY};
	run_table(cases, sizeof(cases) / sizeof(cases[0]), &policy);
}

static void
extra_types(void **state)
{
	const char *const types[] = {"overlay", NULL, "", "fuse.sshfs", "ext4"};
	static const struct table_case cases[] = {
		{"overlay", "overlay", "0:43", SHMGUARD_POOL_OK,
			"file on an overlay file system, accepted by the compositor's policy"},
		{"fuse.sshfs", "x", "0:41", SHMGUARD_POOL_OK, NULL},
		/* Named types are accepted whatever their device. */
		{"ext4", "/dev/loop0", "7:0", SHMGUARD_POOL_OK, NULL},
		/* Only the names given. */
		{"fuse.other", "x", "0:41", SHMGUARD_POOL_ERROR_FS_USER_SPACE, NULL},
		{"fuse", "x", "0:41", SHMGUARD_POOL_ERROR_FS_USER_SPACE, NULL},
		{"xfs", "/dev/loop0", "7:0", SHMGUARD_POOL_ERROR_FS_DEVICE, NULL},
		{"nfs4", "srv:/", "0:45", SHMGUARD_POOL_ERROR_FS_NETWORK, NULL},
		/* An empty name in the list names nothing. */
		{"", "x", "0:53", SHMGUARD_POOL_ERROR_FS_UNKNOWN, NULL},
		{"tmpfs", "tmpfs", "0:22", SHMGUARD_POOL_OK, NULL},
	};
	struct shmguard_file_policy policy = {
		.extra_fs_types = types, .extra_fs_types_len = sizeof(types) / sizeof(types[0])};
	run_table(cases, sizeof(cases) / sizeof(cases[0]), &policy);
	/* Memory only, plus ext4. */
	policy.accept = SHMGUARD_FILE_ACCEPT_MEMORY;
	static const struct table_case memory_cases[] = {
		{"ext4", "/dev/vda1", "254:1", SHMGUARD_POOL_OK, NULL},
		{"xfs", "/dev/vda1", "254:1", SHMGUARD_POOL_ERROR_FS_NOT_MEMORY, NULL},
	};
	run_table(memory_cases, sizeof(memory_cases) / sizeof(memory_cases[0]), &policy);
}

/* A type cut short is never matched by name, but a cut FUSE type is
 * still FUSE. */
static void
cut_type(void **state)
{
	char type[MOUNT_FS_TYPE_SIZE];
	memset(type, 'x', sizeof(type) - 1);
	type[sizeof(type) - 1] = '\0';
	memcpy(type, "fuse.", 5);
	const char *const types[] = {type};
	struct shmguard_file_policy policy = {.extra_fs_types = types, .extra_fs_types_len = 1};
	struct mount_entry mount = {.id = 1, .fs_type_cut = true};
	memcpy(mount.fs_type, type, sizeof(type));
	struct file_origin origin;
	assert_int_equal(file_origin_judge_mount(&mount, &policy, sysfs, &origin),
		SHMGUARD_POOL_ERROR_FS_USER_SPACE);
	mount.fs_type_cut = false;
	assert_int_equal(
		file_origin_judge_mount(&mount, &policy, sysfs, &origin), SHMGUARD_POOL_OK);
}

/* Every new error has its own sentence. */
static void
error_names(void **state)
{
	for (int e = SHMGUARD_POOL_ERROR_FS_USER_SPACE; e <= SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED;
		e++) {
		const char *text = shmguard_pool_error_to_str((enum shmguard_pool_error)e);
		assert_null(strstr(text, "unknown pool error"));
		assert_true(pool_error_is_file_system((enum shmguard_pool_error)e));
		for (int other = SHMGUARD_POOL_OK; other < e; other++) {
			assert_string_not_equal(
				text, shmguard_pool_error_to_str((enum shmguard_pool_error)other));
		}
	}
	assert_false(pool_error_is_file_system(SHMGUARD_POOL_ERROR_PIPE));
	assert_string_equal(shmguard_file_accept_to_str(SHMGUARD_FILE_ACCEPT_LOCAL), "local");
	assert_string_equal(shmguard_file_accept_to_str(SHMGUARD_FILE_ACCEPT_MEMORY), "memory");
	assert_string_equal(shmguard_file_accept_to_str((enum shmguard_file_accept)7),
		"unknown file acceptance");
}

/* ------------------------------------------------------------------ */
/* The policy setting                                                  */
/* ------------------------------------------------------------------ */

static void
assert_parsed(
	const char *text, enum shmguard_file_accept accept, const char *const *types, size_t count)
{
	struct file_policy_copy copy;
	if (file_policy_copy_parse(&copy, text) != 0) {
		fail_msg("\"%s\" refused", text);
	}
	assert_int_equal(copy.policy.accept, accept);
	assert_int_equal(copy.policy.extra_fs_types_len, count);
	for (size_t i = 0; i < count; i++) {
		assert_string_equal(copy.policy.extra_fs_types[i], types[i]);
	}
	file_policy_copy_finish(&copy);
}

static void
policy_setting(void **state)
{
	assert_parsed("", SHMGUARD_FILE_ACCEPT_LOCAL, NULL, 0);
	assert_parsed("default", SHMGUARD_FILE_ACCEPT_LOCAL, NULL, 0);
	assert_parsed("memory", SHMGUARD_FILE_ACCEPT_MEMORY, NULL, 0);
	const char *const two[] = {"overlay", "fuse.sshfs"};
	assert_parsed("default+overlay,fuse.sshfs", SHMGUARD_FILE_ACCEPT_LOCAL, two, 2);
	const char *const one[] = {"ext4"};
	assert_parsed("memory+ext4", SHMGUARD_FILE_ACCEPT_MEMORY, one, 1);
	assert_parsed("memory+,ext4,", SHMGUARD_FILE_ACCEPT_MEMORY, one, 1);

	static const char *const bad[] = {"Default", "memory ", "mem", "default+", "default+a b",
		"memory+a+b", "local", "default,ext4", "+", "+ext4"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct file_policy_copy copy;
		if (file_policy_copy_parse(&copy, bad[i]) != -EINVAL) {
			fail_msg("\"%s\" accepted", bad[i]);
		}
		/* Refused: the default, nothing to free. */
		assert_int_equal(copy.policy.accept, SHMGUARD_FILE_ACCEPT_LOCAL);
		assert_null(copy.types);
	}
}

static void
policy_copy(void **state)
{
	char first[] = "overlay";
	const char *const types[] = {first, NULL, "nfs4"};
	struct shmguard_file_policy source = {.accept = SHMGUARD_FILE_ACCEPT_MEMORY,
		.extra_fs_types = types,
		.extra_fs_types_len = 3};
	struct file_policy_copy copy;
	assert_int_equal(file_policy_copy_init(&copy, &source), 0);
	/* The copy owns its names. */
	first[0] = 'X';
	assert_int_equal(copy.policy.accept, SHMGUARD_FILE_ACCEPT_MEMORY);
	assert_int_equal(copy.policy.extra_fs_types_len, 2);
	assert_true(file_policy_names_type(&copy.policy, "overlay"));
	assert_true(file_policy_names_type(&copy.policy, "nfs4"));
	assert_false(file_policy_names_type(&copy.policy, "Xverlay"));
	assert_false(file_policy_names_type(&copy.policy, ""));
	file_policy_copy_finish(&copy);
	assert_int_equal(file_policy_copy_init(&copy, NULL), 0);
	assert_int_equal(copy.policy.accept, SHMGUARD_FILE_ACCEPT_LOCAL);
	assert_int_equal(copy.policy.extra_fs_types_len, 0);
	file_policy_copy_finish(&copy);
	assert_false(file_policy_names_type(NULL, "ext4"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(mountinfo_fields),
		LEAK_CHECKED(mountinfo_optional_fields_and_escapes),
		LEAK_CHECKED(mountinfo_malformed_and_missing),
		LEAK_CHECKED(mountinfo_long_fields),
		LEAK_CHECKED(mountinfo_unescape_cases),
		LEAK_CHECKED(mountinfo_from_file),
		LEAK_CHECKED(fdinfo_parse),
		LEAK_CHECKED(block_devices),
		LEAK_CHECKED(btrfs_devices),
		LEAK_CHECKED(default_policy),
		LEAK_CHECKED(memory_policy),
		LEAK_CHECKED(extra_types),
		LEAK_CHECKED(cut_type),
		LEAK_CHECKED(error_names),
		LEAK_CHECKED(policy_setting),
		LEAK_CHECKED(policy_copy),
	};
	return cmocka_run_group_tests(tests, sysfs_create, sysfs_remove);
}

/*
 * What backs a client's file, found out before anything reads it, and
 * whether a policy accepts it (shmguard_file_vet()).
 *
 * Measured on Linux 6.18 against a FUSE daemon that never answers getattr,
 * statfs or read once the file is open (attr_timeout 0), each call in a
 * child given 3 s, with the caller the mounter (root) and another user
 * (uid 65534, the mount without allow_other):
 * - answered without the daemon: fcntl(F_GETFL), fcntl(F_GET_SEALS)
 *   (EINVAL), reading /proc/self/fdinfo/N (mnt_id) and
 *   /proc/self/mountinfo, readlink(/proc/self/fd/N);
 * - statx(AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID) answered from
 *   the cache for the mounter (also after the daemon invalidated the
 *   file's attributes with notify_inval_inode), but failed with EACCES
 *   for the other user (FUSE refuses every getattr to users it does not
 *   allow): it cannot give the mount id of a hostile client's file, so
 *   fdinfo does. (By their source, not measured: 9p and orangefs ask
 *   their server on getattr whatever AT_STATX_DONT_SYNC says.)
 * - blocked: fstat(), and a read through a mapping; fstatfs() blocked for
 *   the mounter (the other user got a made-up answer).
 */
#ifndef SHMGUARD_FILE_ORIGIN_H
#define SHMGUARD_FILE_ORIGIN_H

#include <stdbool.h>
#include <stddef.h>

#include "shmguard/shmguard.h"

#include "block_device.h"
#include "mountinfo.h"

enum file_backing {
	FILE_BACKING_NONE = 0,
	/* shmem or hugetlbfs (F_GET_SEALS works), or a memory file system. */
	FILE_BACKING_MEMORY,
	/* A block file system whose devices are all disks or RAM disks. */
	FILE_BACKING_LOCAL_DISK,
	/* Not a file on a mount: a pipe, socket or anonymous inode. */
	FILE_BACKING_KERNEL_OBJECT,
	/* The rest as enum fs_class and enum block_device_kind say. */
	FILE_BACKING_USER_SPACE,
	FILE_BACKING_STACKED,
	FILE_BACKING_NETWORK,
	FILE_BACKING_DEVICE,
	FILE_BACKING_UNKNOWN,
	/* What backs it could not be found out. */
	FILE_BACKING_UNIDENTIFIED,
};

/* Why a file could not be identified. */
enum file_unidentified {
	FILE_UNIDENTIFIED_NONE = 0,
	/* /proc/self/fdinfo/N could not be read. */
	FILE_UNIDENTIFIED_NO_FDINFO,
	/* /proc/self/mountinfo could not be read. */
	FILE_UNIDENTIFIED_NO_MOUNTINFO,
	/* The mount is not in this process's mount namespace. */
	FILE_UNIDENTIFIED_MOUNT_NOT_VISIBLE,
	/* The file system's block device was not found in sysfs. */
	FILE_UNIDENTIFIED_DEVICE,
};

struct file_origin {
	enum file_backing backing;
	enum file_unidentified unidentified;
	/* F_GET_SEALS succeeded: shmem or hugetlbfs. */
	bool sealable;
	/* Accepted because the policy names the type. */
	bool named_by_policy;
	/* -1 until found in fdinfo. */
	int mount_id;
	/* "" if not known; cut as mountinfo.h says. */
	char fs_type[MOUNT_FS_TYPE_SIZE];
	/* For block file systems: the device that decided. */
	enum block_device_kind device_kind;
	char device[BLOCK_DEVICE_NAME_SIZE];
};

/* Vet @p fd (borrowed) against @p policy (NULL: the default): fcntl
 * F_GETFL, then F_GET_SEALS (a memfd or tmpfs file stops here), then
 * its mount in /proc/self/fdinfo and /proc/self/mountinfo, and its block
 * devices in /sys. fstat() only on objects that are not files on a mount
 * (pipes, sockets), whose file systems are the kernel's own. Fills
 * @p origin; returns SHMGUARD_POOL_OK or why the file is refused. */
enum shmguard_pool_error
file_origin_vet(int fd, const struct shmguard_file_policy *policy, struct file_origin *origin);

/* The verdict on a file on @p mount, with block devices looked up under
 * @p sysfs ("/sys"): the part of file_origin_vet() after the mount was
 * found. */
enum shmguard_pool_error
file_origin_judge_mount(const struct mount_entry *mount, const struct shmguard_file_policy *policy,
	const char *sysfs, struct file_origin *origin);

/* The mount id in /proc/self/fdinfo-style text @p text ("mnt_id:\t86"):
 * 0 with @p mount_id set, or -ENOENT. */
int
file_origin_parse_fdinfo(const char *text, int *mount_id);

/* One sentence for @p origin and @p verdict (what file_origin_vet()
 * returned) into @p text (@p size bytes, always terminated): "file on a
 * fuse.sshfs file system: page reads can wait on a user-space process". */
void
file_origin_describe(const struct file_origin *origin, enum shmguard_pool_error verdict, char *text,
	size_t size);

/* Whether @p error is a refusal for what backs the file (_FS_*). */
bool
pool_error_is_file_system(enum shmguard_pool_error error);

#endif

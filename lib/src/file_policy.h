/*
 * Which file systems a pool's file may be on: file system types by what
 * backs their files, and struct shmguard_file_policy's extra types.
 */
#ifndef SHMGUARD_FILE_POLICY_H
#define SHMGUARD_FILE_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "shmguard/shmguard.h"

/* What backs the files of a file system type. */
enum fs_class {
	/* Memory: tmpfs, ramfs, hugetlbfs, devtmpfs. */
	FS_CLASS_MEMORY = 0,
	/* A block-device file system: as safe as its devices. */
	FS_CLASS_BLOCK,
	/* A user-space process answers: fuse, fuseblk, fuse.*, coda, pvfs2. */
	FS_CLASS_USER_SPACE,
	/* Reads another file system: overlay, ecryptfs. */
	FS_CLASS_STACKED,
	/* A server answers: nfs, cifs, 9p, ceph, virtiofs, ... */
	FS_CLASS_NETWORK,
	/* Anything else (proc, sysfs, ...). */
	FS_CLASS_UNKNOWN,
};

/* The class of @p fs_type, a mountinfo type name. */
enum fs_class
fs_class_of(const char *fs_type);

/* Whether @p policy (NULL: the default) names @p fs_type among its extra
 * types. */
bool
file_policy_names_type(const struct shmguard_file_policy *policy, const char *fs_type);

/* A policy that owns its strings, for what outlives the caller's
 * struct: a wl_shm global's options, the preload's setting. */
struct file_policy_copy {
	struct shmguard_file_policy policy;
	char **types;
};

/* Copy @p source (NULL: the default) into @p copy. Returns 0 or -ENOMEM
 * (then @p copy holds the default and needs no finish). */
int
file_policy_copy_init(struct file_policy_copy *copy, const struct shmguard_file_policy *source);

/* Parse a policy setting: "default" or "memory", optionally followed by
 * "+TYPE,TYPE,..." (extra types); "" is the default. Returns 0, -EINVAL
 * (then @p copy holds the default) or -ENOMEM. */
int
file_policy_copy_parse(struct file_policy_copy *copy, const char *text);

/* Free what @p copy owns; it holds the default afterwards. */
void
file_policy_copy_finish(struct file_policy_copy *copy);

#endif

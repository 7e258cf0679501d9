/*
 * File system types by what backs them, and policies: which classes a
 * compositor accepts, plus the types it names. The reasoning for each
 * class is in shmguard.h, above enum shmguard_file_accept.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file_policy.h"

struct fs_type_class {
	const char *name;
	enum fs_class class;
};

/* Types not listed are FS_CLASS_UNKNOWN, and refused. Block file systems
 * listed here are writable local ones a pool file could live on; each is
 * accepted only when every device under it is a disk or a RAM disk. */
static const struct fs_type_class fs_types[] = {
	/* Memory. devtmpfs is a tmpfs (or ramfs) instance. */
	{"tmpfs", FS_CLASS_MEMORY},
	{"ramfs", FS_CLASS_MEMORY},
	{"hugetlbfs", FS_CLASS_MEMORY},
	{"devtmpfs", FS_CLASS_MEMORY},
	/* Local block devices. */
	{"ext2", FS_CLASS_BLOCK},
	{"ext3", FS_CLASS_BLOCK},
	{"ext4", FS_CLASS_BLOCK},
	{"xfs", FS_CLASS_BLOCK},
	{"btrfs", FS_CLASS_BLOCK},
	{"f2fs", FS_CLASS_BLOCK},
	{"jfs", FS_CLASS_BLOCK},
	{"reiserfs", FS_CLASS_BLOCK},
	{"nilfs2", FS_CLASS_BLOCK},
	{"vfat", FS_CLASS_BLOCK},
	{"msdos", FS_CLASS_BLOCK},
	{"exfat", FS_CLASS_BLOCK},
	{"ntfs3", FS_CLASS_BLOCK},
	{"hfsplus", FS_CLASS_BLOCK},
	/* A user-space process answers page reads (fuse.* below). */
	{"fuse", FS_CLASS_USER_SPACE},
	{"fuseblk", FS_CLASS_USER_SPACE},
	{"coda", FS_CLASS_USER_SPACE},
	{"pvfs2", FS_CLASS_USER_SPACE},
	/* Reads go to another file system. */
	{"overlay", FS_CLASS_STACKED},
	{"ecryptfs", FS_CLASS_STACKED},
	{"aufs", FS_CLASS_STACKED},
	{"shiftfs", FS_CLASS_STACKED},
	/* Reads go to a server. */
	{"nfs", FS_CLASS_NETWORK},
	{"nfs4", FS_CLASS_NETWORK},
	{"cifs", FS_CLASS_NETWORK},
	{"smb3", FS_CLASS_NETWORK},
	{"smbfs", FS_CLASS_NETWORK},
	{"9p", FS_CLASS_NETWORK},
	{"ceph", FS_CLASS_NETWORK},
	{"afs", FS_CLASS_NETWORK},
	{"virtiofs", FS_CLASS_NETWORK},
	{"gfs2", FS_CLASS_NETWORK},
	{"ocfs2", FS_CLASS_NETWORK},
	{"lustre", FS_CLASS_NETWORK},
	{"ncpfs", FS_CLASS_NETWORK},
};

enum fs_class
fs_class_of(const char *fs_type)
{
	if (strncmp(fs_type, "fuse.", strlen("fuse.")) == 0) {
		return FS_CLASS_USER_SPACE;
	}
	for (size_t i = 0; i < sizeof(fs_types) / sizeof(fs_types[0]); i++) {
		if (strcmp(fs_types[i].name, fs_type) == 0) {
			return fs_types[i].class;
		}
	}
	return FS_CLASS_UNKNOWN;
}

bool
file_policy_names_type(const struct shmguard_file_policy *policy, const char *fs_type)
{
	if (policy == NULL || policy->extra_fs_types == NULL || *fs_type == '\0') {
		return false;
	}
	for (size_t i = 0; i < policy->extra_fs_types_len; i++) {
		const char *name = policy->extra_fs_types[i];
		if (name != NULL && strcmp(name, fs_type) == 0) {
			return true;
		}
	}
	return false;
}

static void
copy_reset(struct file_policy_copy *copy)
{
	*copy = (struct file_policy_copy){0};
}

void
file_policy_copy_finish(struct file_policy_copy *copy)
{
	for (size_t i = 0; copy->types != NULL && i < copy->policy.extra_fs_types_len; i++) {
		free(copy->types[i]);
	}
	free(copy->types);
	copy_reset(copy);
}

/* Append a copy of the @p len bytes at @p name (skipping empty names). */
static int
copy_add_type(struct file_policy_copy *copy, const char *name, size_t len)
{
	if (len == 0) {
		return 0;
	}
	size_t count = copy->policy.extra_fs_types_len;
	char **types = realloc(copy->types, (count + 1) * sizeof(*types));
	if (types == NULL) {
		return -ENOMEM;
	}
	copy->types = types;
	types[count] = strndup(name, len);
	if (types[count] == NULL) {
		return -ENOMEM;
	}
	copy->policy.extra_fs_types = (const char *const *)types;
	copy->policy.extra_fs_types_len = count + 1;
	return 0;
}

int
file_policy_copy_init(struct file_policy_copy *copy, const struct shmguard_file_policy *source)
{
	copy_reset(copy);
	if (source == NULL) {
		return 0;
	}
	copy->policy.accept = source->accept;
	for (size_t i = 0; source->extra_fs_types != NULL && i < source->extra_fs_types_len; i++) {
		const char *name = source->extra_fs_types[i];
		if (name != NULL && copy_add_type(copy, name, strlen(name)) != 0) {
			file_policy_copy_finish(copy);
			return -ENOMEM;
		}
	}
	return 0;
}

int
file_policy_copy_parse(struct file_policy_copy *copy, const char *text)
{
	copy_reset(copy);
	const char *plus = strchr(text, '+');
	size_t base_len = plus != NULL ? (size_t)(plus - text) : strlen(text);
	if (base_len == strlen("memory") && strncmp(text, "memory", base_len) == 0) {
		copy->policy.accept = SHMGUARD_FILE_ACCEPT_MEMORY;
	} else if (!(base_len == 0 && plus == NULL) &&
		!(base_len == strlen("default") && strncmp(text, "default", base_len) == 0)) {
		return -EINVAL;
	}
	if (plus == NULL) {
		return 0;
	}
	const char *name = plus + 1;
	for (;;) {
		size_t len = strcspn(name, ",");
		for (size_t i = 0; i < len; i++) {
			if (name[i] == ' ' || name[i] == '\t' || name[i] == '+') {
				file_policy_copy_finish(copy);
				return -EINVAL;
			}
		}
		int ret = copy_add_type(copy, name, len);
		if (ret != 0) {
			file_policy_copy_finish(copy);
			return ret;
		}
		if (name[len] == '\0') {
			break;
		}
		name += len + 1;
	}
	if (copy->policy.extra_fs_types_len == 0) {
		/* "default+" names nothing: a typo rather than a policy. */
		file_policy_copy_finish(copy);
		return -EINVAL;
	}
	return 0;
}

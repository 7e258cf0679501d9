/*
 * One line of /proc/self/mountinfo, found by mount id: the file system
 * type, the source and the device number of the mount a file is on.
 * Reading mountinfo never calls into the mounted file systems' I/O paths
 * (see file_origin.h for what was measured), so it is safe to use on a
 * file whose file system may stall.
 */
#ifndef SHMGUARD_MOUNTINFO_H
#define SHMGUARD_MOUNTINFO_H

#include <stdbool.h>
#include <stddef.h>

/* Longer types and sources are cut and flagged: a cut type never matches
 * a name in a policy. Kernel types are short; FUSE subtypes are the
 * mounter's choice. */
#define MOUNT_FS_TYPE_SIZE 64
#define MOUNT_SOURCE_SIZE 256

struct mount_entry {
	int id;
	/* st_dev of the mount's super block ("major:minor" field). */
	unsigned major;
	unsigned minor;
	/* Unescaped (mountinfo writes space, tab, newline and backslash
	 * as \ooo octal escapes); "" when the field is empty. */
	char fs_type[MOUNT_FS_TYPE_SIZE];
	char source[MOUNT_SOURCE_SIZE];
	bool fs_type_cut;
	bool source_cut;
};

/* Fields are read as far as the source; longer raw fields only need to be
 * recognised (the "-" separator), so they are cut here. Raw fields may be
 * up to four times longer than their unescaped text. */
#define MOUNTINFO_RAW_SIZE (4 * MOUNT_SOURCE_SIZE)

/* A search for one mount id in mountinfo text fed in pieces of any size
 * (a line may span pieces). Lines of other mounts are skipped without
 * being parsed past their id. */
struct mountinfo_search {
	int wanted;
	bool found;
	struct mount_entry entry;
	/* The line being read. */
	unsigned field;
	unsigned separator_field; /* index of the "-" field, 0 before it */
	bool skip_line;
	bool line_bad;
	char raw[MOUNTINFO_RAW_SIZE];
	size_t raw_len;
	bool raw_cut;
};

void
mountinfo_search_init(struct mountinfo_search *search, int mount_id);

/* Feed @p len bytes. Returns true once the wanted line was read whole
 * (then search->entry is filled, and further bytes are ignored). */
bool
mountinfo_search_feed(struct mountinfo_search *search, const char *text, size_t len);

/* End of input: a last line without a newline counts. Returns found. */
bool
mountinfo_search_finish(struct mountinfo_search *search);

/* Read the mountinfo file at @p path (/proc/self/mountinfo) and fill
 * @p entry for @p mount_id. Returns 0, -ENOENT if no line has that id
 * (or its line is malformed), or -errno from open/read. */
int
mountinfo_find(const char *path, int mount_id, struct mount_entry *entry);

/* Unescape mountinfo's \ooo escapes of @p raw into @p out (@p size bytes,
 * always terminated). Returns false if @p out had to be cut. */
bool
mountinfo_unescape(const char *raw, char *out, size_t size);

#endif

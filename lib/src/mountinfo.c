/*
 * /proc/self/mountinfo, read in pieces: the lines of proc(5),
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw
 *   id parent major:minor root mount-point options [optional...] - type source super-options
 *
 * with any number of optional fields before the "-", and space, tab,
 * newline and backslash in paths, types and sources written as \ooo.
 * Fields are separated by exactly one space and may be empty.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mountinfo.h"

/* Field indices before the separator. */
enum {
	FIELD_ID = 0,
	FIELD_PARENT,
	FIELD_DEVICE,
	FIELD_ROOT,
	FIELD_MOUNT_POINT,
	FIELD_OPTIONS,
	/* Optional fields, then "-", from here on. */
	FIELD_FIRST_OPTIONAL,
};

/* Fields after the separator, counted from it. */
enum {
	AFTER_TYPE = 1,
	AFTER_SOURCE,
};

static void
line_reset(struct mountinfo_search *search)
{
	search->field = 0;
	search->separator_field = 0;
	search->skip_line = false;
	search->line_bad = false;
	search->raw_len = 0;
	search->raw_cut = false;
	memset(&search->entry, 0, sizeof(search->entry));
}

void
mountinfo_search_init(struct mountinfo_search *search, int mount_id)
{
	search->wanted = mount_id;
	search->found = false;
	line_reset(search);
}

bool
mountinfo_unescape(const char *raw, char *out, size_t size)
{
	size_t len = 0;
	bool cut = false;
	for (const char *p = raw; *p != '\0'; p++) {
		char c = *p;
		if (c == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' &&
			p[3] >= '0' && p[3] <= '7') {
			c = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
			p += 3;
		}
		if (len + 1 >= size) {
			cut = true;
			break;
		}
		out[len++] = c;
	}
	if (size > 0) {
		out[len] = '\0';
	}
	return !cut;
}

/* A decimal number that fits @p max, the whole of @p text. */
static bool
parse_decimal(const char *text, unsigned long max, unsigned long *value)
{
	if (*text == '\0') {
		return false;
	}
	unsigned long number = 0;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9') {
			return false;
		}
		unsigned digit = (unsigned)(*p - '0');
		if (number > (max - digit) / 10) {
			return false;
		}
		number = number * 10 + digit;
	}
	*value = number;
	return true;
}

static bool
parse_device(char *text, unsigned *major, unsigned *minor)
{
	char *colon = strchr(text, ':');
	if (colon == NULL) {
		return false;
	}
	*colon = '\0';
	unsigned long high = 0;
	unsigned long low = 0;
	bool ok = parse_decimal(text, UINT32_MAX, &high) &&
		parse_decimal(colon + 1, UINT32_MAX, &low);
	*colon = ':';
	*major = (unsigned)high;
	*minor = (unsigned)low;
	return ok;
}

/* The field in search->raw is complete. */
static void
field_end(struct mountinfo_search *search)
{
	struct mount_entry *entry = &search->entry;
	search->raw[search->raw_len] = '\0';
	unsigned field = search->field;
	search->field++;
	search->raw_len = 0;
	bool cut = search->raw_cut;
	search->raw_cut = false;

	if (search->separator_field != 0) {
		switch (field - search->separator_field) {
		case AFTER_TYPE:
			entry->fs_type_cut = !mountinfo_unescape(search->raw, entry->fs_type,
						     sizeof(entry->fs_type)) ||
				cut;
			return;
		case AFTER_SOURCE:
			entry->source_cut = !mountinfo_unescape(search->raw, entry->source,
						    sizeof(entry->source)) ||
				cut;
			return;
		default:
			return;
		}
	}
	unsigned long id = 0;
	switch (field) {
	case FIELD_ID:
		if (cut || !parse_decimal(search->raw, INT32_MAX, &id)) {
			search->line_bad = true;
			search->skip_line = true;
		} else if ((int)id != search->wanted) {
			search->skip_line = true;
		}
		entry->id = (int)id;
		return;
	case FIELD_DEVICE:
		if (cut || !parse_device(search->raw, &entry->major, &entry->minor)) {
			search->line_bad = true;
			search->skip_line = true;
		}
		return;
	default:
		if (field >= FIELD_FIRST_OPTIONAL && !cut && strcmp(search->raw, "-") == 0) {
			search->separator_field = field;
		}
		return;
	}
}

/* The line is complete. */
static void
line_end(struct mountinfo_search *search)
{
	if (!search->skip_line) {
		field_end(search);
		/* The source must have been read: a line cut short before it
		 * is malformed. */
		if (!search->line_bad && search->separator_field != 0 &&
			search->field > search->separator_field + AFTER_SOURCE) {
			search->found = true;
			return;
		}
	}
	line_reset(search);
}

bool
mountinfo_search_feed(struct mountinfo_search *search, const char *text, size_t len)
{
	const char *p = text;
	const char *end = text + len;
	while (p < end && !search->found) {
		if (search->skip_line) {
			const char *newline = memchr(p, '\n', (size_t)(end - p));
			if (newline == NULL) {
				return false;
			}
			p = newline + 1;
			line_reset(search);
			continue;
		}
		char c = *p++;
		if (c == '\n') {
			line_end(search);
		} else if (c == ' ') {
			field_end(search);
		} else if (search->raw_len + 1 < sizeof(search->raw)) {
			search->raw[search->raw_len++] = c;
		} else {
			search->raw_cut = true;
		}
	}
	return search->found;
}

bool
mountinfo_search_finish(struct mountinfo_search *search)
{
	if (!search->found && (search->field != 0 || search->raw_len != 0)) {
		line_end(search);
	}
	return search->found;
}

int
mountinfo_find(const char *path, int mount_id, struct mount_entry *entry)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	struct mountinfo_search search;
	mountinfo_search_init(&search, mount_id);
	char buffer[4096];
	int ret = -ENOENT;
	for (;;) {
		ssize_t n = read(fd, buffer, sizeof(buffer));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			ret = -errno;
			break;
		}
		if (n == 0) {
			if (mountinfo_search_finish(&search)) {
				ret = 0;
			}
			break;
		}
		if (mountinfo_search_feed(&search, buffer, (size_t)n)) {
			ret = 0;
			break;
		}
	}
	close(fd);
	if (ret == 0) {
		*entry = search.entry;
	}
	return ret;
}

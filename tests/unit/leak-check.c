/*
 * Leak check: fds from /proc/self/fd, mappings from /proc/self/maps.
 * Everything here works on static buffers and raw system calls, so taking
 * a snapshot neither allocates nor maps anything that would show up in
 * the next one.
 */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/valgrind.h>
#endif

#include "leak-check.h"

static struct leak_snapshot test_start;
static struct leak_snapshot now;

bool
leak_check_under_valgrind(void)
{
#ifdef HAVE_VALGRIND_VALGRIND_H
	return RUNNING_ON_VALGRIND != 0;
#else
	/* Without its header: valgrind preloads its vgpreload_*.so. */
	const char *preload = getenv("LD_PRELOAD");
	return preload != NULL && strstr(preload, "/vgpreload_") != NULL;
#endif
}

/*
 * Descriptors at or above the soft RLIMIT_NOFILE cannot be the test's:
 * open() never returns one. Valgrind keeps its own there (it lowers the
 * soft limit the program sees below them), so they are left out; in any
 * other run there is none to leave out. The limit is read once, at the
 * first snapshot, so that a test lowering it changes nothing here.
 */
static long
fd_limit(void)
{
	static long limit;
	if (limit == 0) {
		struct rlimit rl;
		limit = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
				rl.rlim_cur < (rlim_t)LONG_MAX
			? (long)rl.rlim_cur
			: LONG_MAX;
	}
	return limit;
}

static bool
fd_is_set(const uint64_t *fds, int fd)
{
	return (fds[fd / 64] >> (fd % 64)) & 1u;
}

static void
read_fds(struct leak_snapshot *snapshot)
{
	static char buffer[16384];
	memset(snapshot->fds, 0, sizeof(snapshot->fds));
	snapshot->fd_count = 0;

	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dir >= 0);
	for (;;) {
		long n = syscall(SYS_getdents64, dir, buffer, sizeof(buffer));
		assert_true(n >= 0);
		if (n == 0) {
			break;
		}
		for (long at = 0; at < n;) {
			/* struct linux_dirent64: ino, off, reclen, type, name */
			unsigned short reclen;
			memcpy(&reclen, buffer + at + 16, sizeof(reclen));
			const char *name = buffer + at + 19;
			at += reclen;
			if (name[0] == '.') {
				continue;
			}
			int fd = atoi(name);
			if (fd == dir || fd >= fd_limit()) {
				continue;
			}
			assert_true(fd >= 0 && fd < LEAK_CHECK_MAX_FD);
			snapshot->fds[fd / 64] |= UINT64_C(1) << (fd % 64);
			snapshot->fd_count++;
		}
	}
	close(dir);
}

static void
read_maps(struct leak_snapshot *snapshot)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	size_t length = 0;
	for (;;) {
		assert_true(length < sizeof(snapshot->maps) - 1);
		ssize_t n = read(fd, snapshot->maps + length, sizeof(snapshot->maps) - 1 - length);
		assert_true(n >= 0);
		if (n == 0) {
			break;
		}
		length += (size_t)n;
	}
	close(fd);
	snapshot->maps[length] = '\0';
	snapshot->maps_length = length;
	snapshot->map_count = 0;
	for (size_t i = 0; i < length; i++) {
		if (snapshot->maps[i] == '\n') {
			snapshot->map_count++;
		}
	}
}

void
leak_snapshot_take(struct leak_snapshot *snapshot)
{
	read_fds(snapshot);
	read_maps(snapshot);
}

/* One line of /proc/self/maps. */
struct maps_line {
	const char *text;
	size_t length;
	uintptr_t start, end;
	/* Anonymous memory: no file, no name (or an [anon:...] name). */
	bool anonymous;
	/* A memfd or a deleted file: what tests and the library map of a
	 * client's file (memfds and O_TMPFILE files both read "(deleted)"). */
	bool client_file;
};

/* Parse the line at *@p cursor of @p in into @p line; false at the end. */
static bool
next_line(const struct leak_snapshot *in, const char **cursor, struct maps_line *line)
{
	const char *end = in->maps + in->maps_length;
	const char *text = *cursor;
	if (text >= end) {
		return false;
	}
	const char *eol = memchr(text, '\n', (size_t)(end - text));
	size_t n = eol != NULL ? (size_t)(eol - text) : (size_t)(end - text);
	*cursor = text + n + 1;

	line->text = text;
	line->length = n;
	char *rest;
	line->start = (uintptr_t)strtoull(text, &rest, 16);
	line->end = (uintptr_t)strtoull(rest + 1, &rest, 16);
	/* Fields: range perms offset dev inode [path]; find the path. */
	const char *field = rest;
	const char *stop = text + n;
	for (int i = 0; i < 4 && field < stop; i++) {
		while (field < stop && *field == ' ') {
			field++;
		}
		while (field < stop && *field != ' ') {
			field++;
		}
	}
	while (field < stop && *field == ' ') {
		field++;
	}
	line->anonymous = field == stop || strncmp(field, "[anon:", 6) == 0;
	static const char deleted[] = " (deleted)";
	size_t path_length = (size_t)(stop - field);
	line->client_file = strncmp(field, "/memfd:", 7) == 0 ||
		(path_length >= sizeof(deleted) - 1 &&
			memcmp(stop - (sizeof(deleted) - 1), deleted, sizeof(deleted) - 1) == 0);
	return true;
}

/* Whether the line [text, text + length) occurs as a whole line in @p in. */
static bool
has_line(const struct leak_snapshot *in, const char *text, size_t length)
{
	const char *cursor = in->maps;
	struct maps_line line;
	while (next_line(in, &cursor, &line)) {
		if (line.length == length && memcmp(line.text, text, length) == 0) {
			return true;
		}
	}
	return false;
}

/* Whether [start, end) lies in one run of adjacent anonymous mappings of
 * @p in (the lines are sorted by address). */
static bool
inside_anonymous(const struct leak_snapshot *in, uintptr_t start, uintptr_t end)
{
	const char *cursor = in->maps;
	struct maps_line line;
	uintptr_t run_start = 0, run_end = 0;
	while (next_line(in, &cursor, &line)) {
		if (!line.anonymous) {
			run_start = run_end = 0;
			continue;
		}
		if (line.start != run_end || run_end == 0) {
			run_start = line.start;
		}
		run_end = line.end;
		if (start >= run_start && end <= run_end) {
			return true;
		}
	}
	return false;
}

/*
 * Count (and print, with @p sign) the lines of @p a that @p b lacks. A
 * change inside memory that was anonymous at both moments is an
 * allocator carving up its own reservation (glibc's arenas, the
 * sanitizers' allocator regions), not a mapping anyone made or leaked:
 * such lines are not counted.
 *
 * Under valgrind, only mappings of client files count: valgrind maps and
 * unmaps memory of its own (anonymous and not) as the program runs, in
 * the same /proc/self/maps, so any other line may come and go. The fds
 * are compared in full there too.
 */
static unsigned
count_missing_lines(
	const struct leak_snapshot *a, const struct leak_snapshot *b, char sign, bool print)
{
	const char *cursor = a->maps;
	struct maps_line line;
	unsigned count = 0;
	bool only_client_files = leak_check_under_valgrind();
	while (next_line(a, &cursor, &line)) {
		if (only_client_files && !line.client_file) {
			continue;
		}
		if (has_line(b, line.text, line.length)) {
			continue;
		}
		if (line.anonymous && inside_anonymous(b, line.start, line.end)) {
			continue;
		}
		count++;
		if (print) {
			print_message("leak check: %c %.*s\n", sign, (int)line.length, line.text);
		}
	}
	return count;
}

static void
print_fd(int fd, const char *what)
{
	char path[64];
	char target[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0) {
		n = 0;
	}
	target[n] = '\0';
	print_message("leak check: fd %d %s (%s)\n", fd, what, n > 0 ? target : "gone");
}

/* Compare @p before with the snapshot in `now`; print details if asked. */
static bool
compare_with_now(const struct leak_snapshot *before, struct leak_report *report, bool print)
{
	memset(report, 0, sizeof(*report));
	for (int fd = 0; fd < LEAK_CHECK_MAX_FD; fd++) {
		bool was = fd_is_set(before->fds, fd);
		bool is = fd_is_set(now.fds, fd);
		if (is && !was) {
			report->fds_opened++;
			if (print) {
				print_fd(fd, "is open now and was not before");
			}
		} else if (was && !is) {
			report->fds_closed++;
			if (print) {
				print_fd(fd, "was open before and is closed now");
			}
		}
	}
	unsigned added = count_missing_lines(&now, before, '+', false);
	unsigned removed = count_missing_lines(before, &now, '-', false);
	report->maps_added = (int)added - (int)removed;
	if (print && report->maps_added != 0) {
		print_message("leak check: %u mappings before, %u after\n", before->map_count,
			now.map_count);
		count_missing_lines(&now, before, '+', true);
		count_missing_lines(before, &now, '-', true);
	}
	return report->fds_opened != 0 || report->fds_closed != 0 || report->maps_added != 0;
}

bool
leak_check_compare(const struct leak_snapshot *before, struct leak_report *report)
{
	leak_snapshot_take(&now);
	return compare_with_now(before, report, false);
}

bool
leak_check_compare_verbose(const struct leak_snapshot *before, struct leak_report *report)
{
	leak_snapshot_take(&now);
	return compare_with_now(before, report, true);
}

int
leak_check_setup(void **state)
{
	static bool noted;
	if (!noted) {
		/* glibc 2.41 and later (Debian 13) keep getrandom()'s vDSO
		 * state in pages mapped at the first call and never unmapped;
		 * mkdtemp() and others call it. Map them before any snapshot. */
		unsigned char byte;
		(void)getrandom(&byte, 1, GRND_NONBLOCK);
	}
	if (!noted && leak_check_under_valgrind()) {
		print_message("leak check: under valgrind, only mappings of memfds and "
			      "deleted files are compared\n");
	}
	noted = true;
	leak_snapshot_take(&test_start);
	return 0;
}

int
leak_check_teardown(void **state)
{
	struct leak_report report;
	if (leak_check_compare_verbose(&test_start, &report)) {
		fail_msg("leak check: %u fds opened, %u fds closed, %+d mappings",
			report.fds_opened, report.fds_closed, report.maps_added);
	}
	return 0;
}

bool
leak_check_address_mapped(const void *address, char *line, size_t line_size)
{
	read_maps(&now);
	uintptr_t target = (uintptr_t)address;
	const char *text = now.maps;
	const char *end = text + now.maps_length;
	while (text < end) {
		const char *eol = memchr(text, '\n', (size_t)(end - text));
		size_t n = eol != NULL ? (size_t)(eol - text) : (size_t)(end - text);
		char *rest;
		uintptr_t start = (uintptr_t)strtoull(text, &rest, 16);
		uintptr_t stop = (uintptr_t)strtoull(rest + 1, NULL, 16);
		if (target >= start && target < stop) {
			if (line != NULL && line_size > 0) {
				size_t copy = n < line_size - 1 ? n : line_size - 1;
				memcpy(line, text, copy);
				line[copy] = '\0';
			}
			return true;
		}
		text += n + 1;
	}
	return false;
}

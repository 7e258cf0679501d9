/*
 * Leak check for the unit tests: the file descriptors in /proc/self/fd and
 * the lines of /proc/self/maps, counted before and after each test.
 *
 * Use leak_check_setup/leak_check_teardown as a test's cmocka setup and
 * teardown (LEAK_CHECKED()): the teardown fails the test and names every
 * fd and mapping that appeared or vanished.
 *
 * One refinement of "count the lines": a line that appeared or vanished
 * inside memory that was anonymous both before and after (glibc's arenas
 * growing, the sanitizers' allocator carving its reserved regions) is an
 * allocator using memory it already had, and is not counted. A mapping
 * made at a new address, anonymous or not, always is. Threads are started
 * once per binary (shmguard-setup.h), not per test, for the same reason:
 * glibc caches thread stacks and ASan maps a context for every thread.
 *
 * Under valgrind (meson test --setup=valgrind), which maps memory of its
 * own as the program runs, only mappings of memfds and deleted files (the
 * client files tests and the library map) are compared; fds in full.
 */
#ifndef SHMGUARD_TEST_LEAK_CHECK_H
#define SHMGUARD_TEST_LEAK_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEAK_CHECK_MAX_FD 4096
#define LEAK_CHECK_MAPS_BYTES (1u << 20)

/* What the process held at one moment. Large: keep instances static. */
struct leak_snapshot {
	unsigned fd_count;
	uint64_t fds[LEAK_CHECK_MAX_FD / 64];
	unsigned map_count;
	size_t maps_length;
	char maps[LEAK_CHECK_MAPS_BYTES];
};

/* The difference between a snapshot and now. */
struct leak_report {
	/* Descriptors open now that were not then, and the reverse. */
	unsigned fds_opened;
	unsigned fds_closed;
	/*
	 * Lines of /proc/self/maps now minus lines then, where lines that
	 * merely split or merge memory that was anonymous both then and now
	 * (an allocator using its own reservation) do not count.
	 */
	int maps_added;
};

/* Whether the test runs under valgrind. */
bool
leak_check_under_valgrind(void);

/* Record the open fds and the mappings of the process (no allocation). */
void
leak_snapshot_take(struct leak_snapshot *snapshot);

/* Compare @p before with now; fill @p report. True if anything differs. */
bool
leak_check_compare(const struct leak_snapshot *before, struct leak_report *report);

/* The same, and print each fd that appeared or vanished (with its target)
 * and each mapping line that did. */
bool
leak_check_compare_verbose(const struct leak_snapshot *before, struct leak_report *report);

/* cmocka per-test fixtures: snapshot before, compare after. */
#define LEAK_CHECKED(test)                                                                         \
	cmocka_unit_test_setup_teardown(test, leak_check_setup, leak_check_teardown)

int
leak_check_setup(void **state);

int
leak_check_teardown(void **state);

/* Whether @p address lies in a mapping now; the maps line goes to @p line
 * (if not NULL, up to @p line_size bytes). */
bool
leak_check_address_mapped(const void *address, char *line, size_t line_size);

#endif

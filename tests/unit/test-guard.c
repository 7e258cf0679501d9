/*
 * The SIGBUS guard: access windows (a fault reads zeros and is reported at
 * the end) and guarded copies (a fault returns -EFAULT at once), nested
 * over any pools, with the signal mask intact after every recovery.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/guard.h"

#include "client-file.h"
#include "leak-check.h"
#include "shmguard-setup.h"

#define PAGES(n) (client_page() * (uint64_t)(n))

static void
assert_truncated(const struct shmguard_fault_report *report, uint64_t offset, uint64_t file_size)
{
	assert_int_equal(report->kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(report->offset, offset);
	assert_int_equal(report->file_size, file_size);
}

/* The library's handler is the one the kernel calls during a test, as
 * installed (the harness keeps cmocka's SIGBUS trap out of the way). */
static void
handler_is_installed_as_specified(void **state)
{
	struct sigaction action;
	assert_int_equal(sigaction(SIGBUS, NULL, &action), 0);
	assert_true(action.sa_flags & SA_SIGINFO);
	assert_true(action.sa_flags & SA_ONSTACK);
	assert_true(action.sa_sigaction != NULL);
}

/* ------------------------------------------------------------------ */
/* Access windows                                                      */
/* ------------------------------------------------------------------ */

static void
window_without_fault_reports_nothing(void **state)
{
	int fd = client_memfd_create("healthy", PAGES(4), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(4));
	struct shmguard_access *access;
	uint64_t entries = guard_handler_entries();

	const uint8_t *data = setup_window_begin(pool, 0, PAGES(4), SHMGUARD_ACCESS_READ, &access);
	assert_int_equal(client_pattern_mismatch(data, 0, PAGES(4)), PAGES(4));
	struct shmguard_fault_report report = {.kind = SHMGUARD_FAULT_IO_ERROR, .offset = 7};
	assert_false(shmguard_access_end(access, &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_NONE);
	assert_int_equal(guard_handler_entries(), entries);
	assert_false(shmguard_pool_get_fault(pool, NULL));

	shmguard_pool_unref(pool);
	close(fd);
}

/* A read at a known offset past the new end: zeros, reported exactly. */
static void
window_truncation_reads_zeros(void **state)
{
	int fd = client_memfd_create("truncated-in-window", PAGES(4), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(4));
	struct shmguard_access *access;
	const volatile uint8_t *data =
		setup_window_begin(pool, 0, PAGES(4), SHMGUARD_ACCESS_READ, &access);
	assert_int_equal(client_pattern_mismatch(data, 0, PAGES(4)), PAGES(4));

	uint64_t entries = guard_handler_entries();
	client_file_resize(fd, PAGES(2));
	uint64_t first = PAGES(3) + 17;
	assert_int_equal(data[first], 0);
	assert_true(guard_handler_entries() > entries);
	/* Everything past the new end reads as zeros (another fault, at
	 * PAGES(2)); everything before it is still the client's. */
	assert_int_equal(client_nonzero_at(data + PAGES(2), PAGES(2)), PAGES(2));
	assert_int_equal(client_pattern_mismatch(data, 0, PAGES(2)), PAGES(2));

	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(access, &report));
	/* The first fault of the window, not the last. */
	assert_truncated(&report, first, PAGES(2));

	memset(&report, 0, sizeof(report));
	assert_true(shmguard_pool_get_fault(pool, &report));
	assert_truncated(&report, first, PAGES(2));

	shmguard_pool_unref(pool);
	close(fd);
}

/* A scan in increasing order faults first at the new end of the file. */
static void
window_truncation_scan_reports_end_of_file(void **state)
{
	int fd = client_memfd_create("truncated-scan", PAGES(5), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(5));
	struct shmguard_access *access;
	const volatile uint8_t *data =
		setup_window_begin(pool, 0, PAGES(5), SHMGUARD_ACCESS_READ, &access);

	client_file_resize(fd, PAGES(3));
	assert_int_equal(client_pattern_mismatch(data, 0, PAGES(5)), PAGES(3));
	assert_int_equal(client_nonzero_at(data + PAGES(3), PAGES(2)), PAGES(2));

	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(access, &report));
	assert_truncated(&report, PAGES(3), PAGES(3));

	shmguard_pool_unref(pool);
	close(fd);
}

/* The reported offset is the pool's, not the window's. */
static void
window_fault_offset_is_pool_offset(void **state)
{
	int fd = client_memfd_create("window-offset", PAGES(4), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(4));
	struct shmguard_access *access;
	const volatile uint8_t *data =
		setup_window_begin(pool, PAGES(1), PAGES(3), SHMGUARD_ACCESS_READ, &access);
	assert_int_equal(client_pattern_mismatch(data, PAGES(1), PAGES(3)), PAGES(3));

	client_file_resize(fd, PAGES(2));
	assert_int_equal(data[PAGES(1) + 5], 0);

	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(access, &report));
	assert_truncated(&report, PAGES(2) + 5, PAGES(2));

	shmguard_pool_unref(pool);
	close(fd);
}

/* A faulted generation is poisoned: the next window reports at once. */
static void
window_fault_poisons_generation(void **state)
{
	int fd = client_memfd_create("poisoned", PAGES(2), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	struct shmguard_access *access;
	const volatile uint8_t *data =
		setup_window_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &access);
	client_file_resize(fd, PAGES(1));
	assert_int_equal(data[PAGES(1)], 0);
	assert_true(shmguard_access_end(access, NULL));

	/* A window that touches only healthy bytes still reports it. */
	uint64_t entries = guard_handler_entries();
	data = setup_window_begin(pool, 0, PAGES(1), SHMGUARD_ACCESS_READ, &access);
	assert_int_equal(client_pattern_mismatch(data, 0, PAGES(1)), PAGES(1));
	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(access, &report));
	assert_truncated(&report, PAGES(1), PAGES(1));
	assert_int_equal(guard_handler_entries(), entries);

	shmguard_pool_unref(pool);
	close(fd);
}

/* A fault in the pool's writable mapping is handled like a read fault. */
static void
write_window_truncation(void **state)
{
	int fd = client_memfd_create("write-window", PAGES(4), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(4));
	struct shmguard_access *access;
	volatile uint8_t *data =
		setup_window_begin(pool, 0, PAGES(4), SHMGUARD_ACCESS_WRITE, &access);
	data[0] = 0xee;

	client_file_resize(fd, PAGES(2));
	data[PAGES(3) + 1] = 0x5a;
	assert_int_equal(data[PAGES(3) + 1], 0x5a);
	assert_int_equal(data[PAGES(3)], 0);
	assert_int_equal(data[0], 0xee);
	assert_int_equal(client_pattern_mismatch(data + 1, 1, PAGES(2) - 1), PAGES(2) - 1);

	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(access, &report));
	assert_truncated(&report, PAGES(3) + 1, PAGES(2));

	/* The write before the truncation reached the file. */
	uint8_t byte = 0;
	assert_int_equal(pread(fd, &byte, 1, 0), 1);
	assert_int_equal(byte, 0xee);

	shmguard_pool_unref(pool);
	close(fd);
}

/*
 * SIGBUS on a file that is long enough: an I/O error, not a truncation.
 * A sparse file on a full tmpfs does it (writing a hole needs a page the
 * file system cannot give: ENOSPC, delivered as SIGBUS). The tmpfs is
 * mounted in a private mount namespace of a forked child, which reports
 * by exit status (no cmocka in the child).
 */
#define IO_ERROR_SKIP 77

static int
io_error_child(const char *dir)
{
	size_t page = client_page();
	/* The type of a propagation change is ignored; "none" rather than
	 * NULL, which valgrind takes for an unaddressable string. */
	if (unshare(CLONE_NEWNS) != 0 ||
		mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
		mount("tmpfs", dir, "tmpfs", 0, "size=4k") != 0) {
		fprintf(stderr, "io-error child: no private tmpfs: %s\n", strerror(errno));
		return IO_ERROR_SKIP;
	}
	char path[4200];
	snprintf(path, sizeof(path), "%s/pool", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)(4 * page)) != 0) {
		return 2;
	}
	struct shmguard_pool *pool = shmguard_pool_create(fd, 4 * page, NULL, NULL);
	struct shmguard_access *access;
	void *data;
	uint64_t size = 4 * page;
	if (pool == NULL ||
		shmguard_access_begin(pool, 0, size, SHMGUARD_ACCESS_WRITE, &access, &data) != 0) {
		return 3;
	}
	volatile uint8_t *bytes = data;
	bytes[0] = 1; /* the one page the file system has */
	bytes[2 * page + 9] = 2; /* none left: SIGBUS, file long enough */
	struct shmguard_fault_report report;
	if (!shmguard_access_end(access, &report) || report.kind != SHMGUARD_FAULT_IO_ERROR ||
		report.offset != 2 * page + 9 || report.file_size != 4 * page) {
		fprintf(stderr, "io-error child: window reported %s at %llu, size %llu\n",
			shmguard_fault_kind_to_str(report.kind), (unsigned long long)report.offset,
			(unsigned long long)report.file_size);
		return 4;
	}
	/* A guarded write into another hole: the same kind, at once. */
	struct shmguard_pool *second = shmguard_pool_create(fd, 4 * page, NULL, NULL);
	uint8_t byte = 3;
	if (second == NULL || shmguard_pool_write(second, 3 * page, &byte, 1, &report) != -EFAULT ||
		report.kind != SHMGUARD_FAULT_IO_ERROR || report.offset != 3 * page) {
		fprintf(stderr, "io-error child: guarded write reported %s\n",
			shmguard_fault_kind_to_str(report.kind));
		return 5;
	}
	/* Released, so that a leak check at exit (valgrind's) has nothing
	 * to say about this child. */
	shmguard_pool_unref(second);
	shmguard_pool_unref(pool);
	close(fd);
	return 0;
}

static void
io_error_is_not_truncation(void **state)
{
	char dir[] = "/tmp/shmguard-test-tmpfs-XXXXXX";
	assert_non_null(mkdtemp(dir));
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		_exit(io_error_child(dir));
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	rmdir(dir);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == IO_ERROR_SKIP) {
		print_message("skipped: cannot mount a private tmpfs (needs CAP_SYS_ADMIN)\n");
		skip();
	}
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* ------------------------------------------------------------------ */
/* Nested windows                                                      */
/* ------------------------------------------------------------------ */

struct two_pools {
	int fd[2];
	struct shmguard_pool *pool[2];
	struct shmguard_access *access[2];
	const volatile uint8_t *data[2];
};

static void
two_pools_open(struct two_pools *two)
{
	two->fd[0] = client_memfd_create("nested-a", PAGES(2), false);
	two->fd[1] = client_memfd_create("nested-b", PAGES(2), false);
	for (int i = 0; i < 2; i++) {
		two->pool[i] = setup_pool_create(two->fd[i], PAGES(2));
		two->data[i] = setup_window_begin(
			two->pool[i], 0, PAGES(2), SHMGUARD_ACCESS_READ, &two->access[i]);
	}
}

static void
two_pools_close(struct two_pools *two)
{
	for (int i = 0; i < 2; i++) {
		shmguard_pool_unref(two->pool[i]);
		close(two->fd[i]);
	}
}

/* The outer window's pool faults while the inner window is open. */
static void
nested_windows_fault_in_outer(void **state)
{
	struct two_pools two;
	two_pools_open(&two);

	client_file_resize(two.fd[0], PAGES(1));
	assert_int_equal(two.data[0][PAGES(1) + 3], 0);
	assert_int_equal(client_pattern_mismatch(two.data[1], 0, PAGES(2)), PAGES(2));
	assert_int_equal(client_pattern_mismatch(two.data[0], 0, PAGES(1)), PAGES(1));

	struct shmguard_fault_report report;
	assert_false(shmguard_access_end(two.access[1], &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_NONE);
	assert_true(shmguard_access_end(two.access[0], &report));
	assert_truncated(&report, PAGES(1) + 3, PAGES(1));
	assert_false(shmguard_pool_get_fault(two.pool[1], NULL));

	two_pools_close(&two);
}

/* The inner window's pool faults; the outer one is not disturbed. */
static void
nested_windows_fault_in_inner(void **state)
{
	struct two_pools two;
	two_pools_open(&two);

	client_file_resize(two.fd[1], PAGES(1));
	assert_int_equal(two.data[1][PAGES(1) + 9], 0);
	assert_int_equal(client_pattern_mismatch(two.data[0], 0, PAGES(2)), PAGES(2));

	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(two.access[1], &report));
	assert_truncated(&report, PAGES(1) + 9, PAGES(1));
	assert_false(shmguard_access_end(two.access[0], &report));
	assert_false(shmguard_pool_get_fault(two.pool[0], NULL));

	two_pools_close(&two);
}

/* Windows closed out of order: the one still open stays guarded. */
static void
nested_windows_closed_out_of_order(void **state)
{
	struct two_pools two;
	two_pools_open(&two);

	assert_false(shmguard_access_end(two.access[0], NULL));
	client_file_resize(two.fd[1], PAGES(1));
	assert_int_equal(two.data[1][PAGES(1)], 0);
	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(two.access[1], &report));
	assert_truncated(&report, PAGES(1), PAGES(1));

	/* Both slots are free again: a full stack of windows still opens. */
	struct shmguard_access *accesses[GUARD_MAX_WINDOWS];
	for (int i = 0; i < GUARD_MAX_WINDOWS; i++) {
		setup_window_begin(two.pool[0], 0, PAGES(1), SHMGUARD_ACCESS_READ, &accesses[i]);
	}
	for (int i = GUARD_MAX_WINDOWS; i-- > 0;) {
		assert_false(shmguard_access_end(accesses[i], NULL));
	}

	two_pools_close(&two);
}

/* Two windows on the same pool: both report the fault. */
static void
nested_windows_same_pool(void **state)
{
	int fd = client_memfd_create("nested-same", PAGES(3), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(3));
	struct shmguard_access *outer, *inner;
	const volatile uint8_t *outer_data =
		setup_window_begin(pool, 0, PAGES(3), SHMGUARD_ACCESS_READ, &outer);
	const volatile uint8_t *inner_data =
		setup_window_begin(pool, PAGES(2), PAGES(1), SHMGUARD_ACCESS_READ, &inner);

	client_file_resize(fd, PAGES(2));
	assert_int_equal(inner_data[11], 0);
	assert_int_equal(outer_data[PAGES(2) + 11], 0);

	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(inner, &report));
	assert_truncated(&report, PAGES(2) + 11, PAGES(2));
	assert_true(shmguard_access_end(outer, &report));
	assert_truncated(&report, PAGES(2) + 11, PAGES(2));

	shmguard_pool_unref(pool);
	close(fd);
}

/* A full stack of windows over as many pools; the bottom one faults. */
static void
window_stack_full_fault_at_bottom(void **state)
{
	int fds[GUARD_MAX_WINDOWS];
	struct shmguard_pool *pools[GUARD_MAX_WINDOWS];
	struct shmguard_access *accesses[GUARD_MAX_WINDOWS];
	const volatile uint8_t *data[GUARD_MAX_WINDOWS];
	for (int i = 0; i < GUARD_MAX_WINDOWS; i++) {
		fds[i] = client_memfd_create("stack", PAGES(2), false);
		pools[i] = setup_pool_create(fds[i], PAGES(2));
		data[i] = setup_window_begin(
			pools[i], 0, PAGES(2), SHMGUARD_ACCESS_READ, &accesses[i]);
	}

	/* One more is refused, and refusing it changes nothing. */
	struct shmguard_access *extra = NULL;
	void *extra_data = NULL;
	assert_int_equal(
		shmguard_access_begin(pools[0], 0, 1, SHMGUARD_ACCESS_READ, &extra, &extra_data),
		-EMFILE);

	client_file_resize(fds[0], PAGES(1));
	assert_int_equal(data[0][PAGES(1) + 1], 0);
	for (int i = 1; i < GUARD_MAX_WINDOWS; i++) {
		assert_int_equal(data[i][PAGES(1) + 1], client_pattern(PAGES(1) + 1));
	}

	for (int i = GUARD_MAX_WINDOWS; i-- > 1;) {
		assert_false(shmguard_access_end(accesses[i], NULL));
	}
	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(accesses[0], &report));
	assert_truncated(&report, PAGES(1) + 1, PAGES(1));

	for (int i = 0; i < GUARD_MAX_WINDOWS; i++) {
		shmguard_pool_unref(pools[i]);
		close(fds[i]);
	}
}

static void
window_out_of_range(void **state)
{
	int fd = client_memfd_create("range", PAGES(2), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	struct shmguard_access *access = NULL;
	void *data = NULL;
	uint8_t byte;
	/* More refusals than there are slots: none may keep a slot. */
	for (int i = 0; i < 2 * GUARD_MAX_WINDOWS; i++) {
		assert_int_equal(shmguard_access_begin(pool, PAGES(2) + 1, 0, SHMGUARD_ACCESS_READ,
					 &access, &data),
			-ERANGE);
		assert_int_equal(shmguard_access_begin(pool, PAGES(1), PAGES(1) + 1,
					 SHMGUARD_ACCESS_READ, &access, &data),
			-ERANGE);
		assert_int_equal(shmguard_access_begin(pool, 1, UINT64_MAX, SHMGUARD_ACCESS_WRITE,
					 &access, &data),
			-ERANGE);
		assert_int_equal(shmguard_pool_read(pool, PAGES(2), &byte, 1, NULL), -ERANGE);
		assert_int_equal(shmguard_pool_write(pool, PAGES(2), &byte, 1, NULL), -ERANGE);
	}
	/* The whole pool and an empty window at its end are in range. */
	setup_window_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &access);
	assert_false(shmguard_access_end(access, NULL));
	assert_int_equal(
		shmguard_access_begin(pool, PAGES(2), 0, SHMGUARD_ACCESS_READ, &access, &data), 0);
	assert_false(shmguard_access_end(access, NULL));

	shmguard_pool_unref(pool);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Guarded copies                                                      */
/* ------------------------------------------------------------------ */

/* SIGBUS must be unblocked after a recovery, and the rest of the mask as
 * it was (SIGUSR1 is blocked around the copies for that). */
static void
assert_mask_intact(void)
{
	sigset_t mask;
	assert_int_equal(pthread_sigmask(SIG_BLOCK, NULL, &mask), 0);
	assert_false(sigismember(&mask, SIGBUS));
	assert_true(sigismember(&mask, SIGUSR1));
}

static void
block_sigusr1(sigset_t *old)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &set, old), 0);
}

static void
guarded_copies_without_fault(void **state)
{
	int fd = client_memfd_create("copies", PAGES(3), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(3));
	uint8_t *buffer = malloc(PAGES(3));
	assert_non_null(buffer);
	uint64_t entries = guard_handler_entries();

	struct shmguard_fault_report report = {.kind = SHMGUARD_FAULT_IO_ERROR};
	assert_int_equal(shmguard_pool_read(pool, 0, buffer, PAGES(3), &report), 0);
	assert_int_equal(report.kind, SHMGUARD_FAULT_NONE);
	assert_int_equal(client_pattern_mismatch(buffer, 0, PAGES(3)), PAGES(3));
	assert_int_equal(shmguard_pool_read(pool, PAGES(1) + 3, buffer, 100, NULL), 0);
	assert_int_equal(client_pattern_mismatch(buffer, PAGES(1) + 3, 100), 100);

	memset(buffer, 0x77, PAGES(1));
	assert_int_equal(shmguard_pool_write(pool, PAGES(1), buffer, PAGES(1), &report), 0);
	assert_int_equal(report.kind, SHMGUARD_FAULT_NONE);
	uint8_t check[8];
	assert_int_equal(pread(fd, check, sizeof(check), (off_t)PAGES(2) - sizeof(check)),
		(ssize_t)sizeof(check));
	for (size_t i = 0; i < sizeof(check); i++) {
		assert_int_equal(check[i], 0x77);
	}
	/* The read mapping sees the write-back. */
	assert_int_equal(shmguard_pool_read(pool, PAGES(1), buffer, PAGES(1), NULL), 0);
	assert_int_equal(buffer[0], 0x77);
	assert_int_equal(buffer[PAGES(1) - 1], 0x77);
	assert_int_equal(guard_handler_entries(), entries);

	free(buffer);
	shmguard_pool_unref(pool);
	close(fd);
}

static void
guarded_read_truncated(void **state)
{
	sigset_t old_mask;
	block_sigusr1(&old_mask);
	int fd = client_memfd_create("guarded-read", PAGES(4), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(4));
	uint8_t *buffer = malloc(PAGES(4));
	assert_non_null(buffer);

	client_file_resize(fd, PAGES(2));
	uint64_t entries = guard_handler_entries();
	struct shmguard_fault_report report;
	assert_int_equal(shmguard_pool_read(pool, 0, buffer, PAGES(4), &report), -EFAULT);
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	/* memcpy may touch the range in any order: somewhere past the end. */
	assert_true(report.offset >= PAGES(2) && report.offset < PAGES(4));
	assert_int_equal(report.file_size, PAGES(2));
	assert_true(guard_handler_entries() > entries);
	assert_mask_intact();

	/* A second fault on the same thread, same mapping: caught again. */
	entries = guard_handler_entries();
	assert_int_equal(shmguard_pool_read(pool, PAGES(3), buffer, 64, &report), -EFAULT);
	assert_true(guard_handler_entries() > entries);
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_mask_intact();

	/* And on a fresh pool. */
	int fd2 = client_memfd_create("guarded-read-2", PAGES(2), false);
	struct shmguard_pool *pool2 = setup_pool_create(fd2, PAGES(2));
	client_file_resize(fd2, PAGES(1));
	entries = guard_handler_entries();
	assert_int_equal(shmguard_pool_read(pool2, PAGES(1), buffer, 1, &report), -EFAULT);
	assert_true(guard_handler_entries() > entries);
	assert_truncated(&report, PAGES(1), PAGES(1));
	assert_mask_intact();

	/* The generation is poisoned: even healthy bytes report the fault. */
	assert_int_equal(shmguard_pool_read(pool, 0, buffer, 16, &report), -EFAULT);
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);

	free(buffer);
	shmguard_pool_unref(pool2);
	close(fd2);
	shmguard_pool_unref(pool);
	close(fd);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old_mask, NULL), 0);
}

static void
guarded_write_truncated(void **state)
{
	sigset_t old_mask;
	block_sigusr1(&old_mask);
	int fd = client_memfd_create("guarded-write", PAGES(4), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(4));
	uint8_t *buffer = malloc(PAGES(4));
	assert_non_null(buffer);
	memset(buffer, 0x33, PAGES(4));

	client_file_resize(fd, PAGES(2));
	uint64_t entries = guard_handler_entries();
	struct shmguard_fault_report report;
	assert_int_equal(shmguard_pool_write(pool, 0, buffer, PAGES(4), &report), -EFAULT);
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_true(report.offset >= PAGES(2) && report.offset < PAGES(4));
	assert_int_equal(report.file_size, PAGES(2));
	assert_true(guard_handler_entries() > entries);
	assert_mask_intact();

	entries = guard_handler_entries();
	assert_int_equal(shmguard_pool_write(pool, PAGES(2), buffer, 1, &report), -EFAULT);
	assert_true(guard_handler_entries() > entries);
	assert_mask_intact();

	int fd2 = client_memfd_create("guarded-write-2", PAGES(2), false);
	struct shmguard_pool *pool2 = setup_pool_create(fd2, PAGES(2));
	client_file_resize(fd2, PAGES(1));
	entries = guard_handler_entries();
	assert_int_equal(shmguard_pool_write(pool2, PAGES(1) + 2, buffer, 1, &report), -EFAULT);
	assert_true(guard_handler_entries() > entries);
	assert_truncated(&report, PAGES(1) + 2, PAGES(1));
	assert_mask_intact();

	free(buffer);
	shmguard_pool_unref(pool2);
	close(fd2);
	shmguard_pool_unref(pool);
	close(fd);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old_mask, NULL), 0);
}

/* A guarded copy that faults inside a window on another pool. */
static void
guarded_read_inside_window(void **state)
{
	struct two_pools two;
	two_pools_open(&two);
	uint8_t buffer[64];

	client_file_resize(two.fd[1], PAGES(1));
	struct shmguard_fault_report report;
	assert_int_equal(shmguard_pool_read(two.pool[1], PAGES(1), buffer, sizeof(buffer), &report),
		-EFAULT);
	assert_truncated(&report, PAGES(1), PAGES(1));
	/* The windows around it are intact and still guarded. */
	assert_int_equal(client_pattern_mismatch(two.data[0], 0, PAGES(2)), PAGES(2));
	assert_int_equal(two.data[1][PAGES(1)], 0);
	assert_true(shmguard_access_end(two.access[1], &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_false(shmguard_access_end(two.access[0], NULL));

	two_pools_close(&two);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(handler_is_installed_as_specified),
		LEAK_CHECKED(window_without_fault_reports_nothing),
		LEAK_CHECKED(window_truncation_reads_zeros),
		LEAK_CHECKED(window_truncation_scan_reports_end_of_file),
		LEAK_CHECKED(window_fault_offset_is_pool_offset),
		LEAK_CHECKED(window_fault_poisons_generation),
		LEAK_CHECKED(write_window_truncation),
		LEAK_CHECKED(io_error_is_not_truncation),
		LEAK_CHECKED(nested_windows_fault_in_outer),
		LEAK_CHECKED(nested_windows_fault_in_inner),
		LEAK_CHECKED(nested_windows_closed_out_of_order),
		LEAK_CHECKED(nested_windows_same_pool),
		LEAK_CHECKED(window_stack_full_fault_at_bottom),
		LEAK_CHECKED(window_out_of_range),
		LEAK_CHECKED(guarded_copies_without_fault),
		LEAK_CHECKED(guarded_read_truncated),
		LEAK_CHECKED(guarded_write_truncated),
		LEAK_CHECKED(guarded_read_inside_window),
	};
	return cmocka_run_group_tests(tests, setup_warm_up, NULL);
}

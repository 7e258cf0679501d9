/*
 * The kernel suite's guest: runs as init (PID 1) in qemu on a kernel built
 * by build-kernels, with the library's objects linked in statically.
 *
 *   guest-nosigbus nosigbus   the kernel carries 0001-mm-map-nosigbus.patch
 *   guest-nosigbus guard      the same kernel without it
 *
 * It prints the probe table (what shmguard-info prints), then checks the
 * raw kernel behaviour that the mocked-kernel unit test
 * (tests/unit/test-nosigbus-mock.c) emulates, then the library's pools on
 * top of it. Every check prints one "ok" or "not ok" line; the last line is
 * "guest: N passed, N failed". As init it reports through qemu's
 * isa-debug-exit device (port 0xf4): qemu exits with 1 when every check
 * passed, 3 otherwise. Outside qemu (for debugging on a host) it just exits
 * 0 or 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <shmguard/shmguard.h>

#include "src/guard.h"

#define NOSIGBUS_FLAG 0x200000
#define DEBUG_EXIT_PORT 0xf4

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

static bool expect_nosigbus;
static size_t page;
static unsigned passed;
static unsigned failed;

#define PAGES(n) ((uint64_t)page * (uint64_t)(n))

static void
check(bool ok, const char *what)
{
	if (ok) {
		passed++;
	} else {
		failed++;
	}
	printf("%s - %s\n", ok ? "ok" : "not ok", what);
}

/* A check whose expectation differs by kernel: @p patched_ok and
 * @p patched say what must hold with the patch, the others without. */
static void
check_kernel(bool patched_ok, bool unpatched_ok, const char *patched, const char *unpatched)
{
	if (expect_nosigbus) {
		check(patched_ok, patched);
	} else {
		check(unpatched_ok, unpatched);
	}
}

/* The byte a client file holds at @p offset in its @p version: never zero,
 * and different between versions, so stale bytes show. */
static uint8_t
pattern(uint64_t offset, unsigned version)
{
	return (uint8_t)((offset + 13 * version) % 251 + 1);
}

static void
file_fill(int fd, uint64_t from, uint64_t to, unsigned version)
{
	uint8_t buffer[4096];
	for (uint64_t at = from; at < to;) {
		size_t n = to - at < sizeof(buffer) ? (size_t)(to - at) : sizeof(buffer);
		for (size_t i = 0; i < n; i++) {
			buffer[i] = pattern(at + i, version);
		}
		if (pwrite(fd, buffer, n, (off_t)at) != (ssize_t)n) {
			printf("pwrite: %s\n", strerror(errno));
			exit(2);
		}
		at += n;
	}
}

static void
file_resize(int fd, uint64_t size)
{
	if (ftruncate(fd, (off_t)size) != 0) {
		printf("ftruncate: %s\n", strerror(errno));
		exit(2);
	}
}

/* A memfd of @p size bytes holding version 0 of the pattern. */
static int
client_memfd(const char *name, uint64_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0) {
		printf("memfd_create: %s\n", strerror(errno));
		exit(2);
	}
	file_resize(fd, size);
	file_fill(fd, 0, size, 0);
	return fd;
}

/* Whether [data, data + length) holds @p version of the pattern at pool
 * offsets from @p offset. */
static bool
holds_pattern(const volatile uint8_t *data, uint64_t offset, uint64_t length, unsigned version)
{
	for (uint64_t i = 0; i < length; i++) {
		if (data[i] != pattern(offset + i, version)) {
			return false;
		}
	}
	return true;
}

static bool
holds_zeros(const volatile uint8_t *data, uint64_t length)
{
	for (uint64_t i = 0; i < length; i++) {
		if (data[i] != 0) {
			return false;
		}
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Raw kernel behaviour, each case in a child so a SIGBUS only ends it */
/* ------------------------------------------------------------------ */

enum outcome {
	OUTCOME_OK,
	OUTCOME_WRONG,
	OUTCOME_SIGBUS,
	OUTCOME_OTHER,
};

static const char *
outcome_to_str(enum outcome outcome)
{
	switch (outcome) {
	case OUTCOME_OK:
		return "ok";
	case OUTCOME_WRONG:
		return "wrong bytes";
	case OUTCOME_SIGBUS:
		return "SIGBUS";
	case OUTCOME_OTHER:
		break;
	}
	return "other";
}

/* Run @p fn(@p fd) in a child with SIGBUS at its default action. */
static enum outcome
in_child(bool (*fn)(int fd), int fd)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGBUS, SIG_DFL);
		_exit(fn(fd) ? 0 : 1);
	}
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		return OUTCOME_OTHER;
	}
	if (WIFSIGNALED(status)) {
		return WTERMSIG(status) == SIGBUS ? OUTCOME_SIGBUS : OUTCOME_OTHER;
	}
	return WEXITSTATUS(status) == 0 ? OUTCOME_OK : OUTCOME_WRONG;
}

static void
check_outcome(enum outcome got, enum outcome patched, enum outcome unpatched, const char *what)
{
	enum outcome want = expect_nosigbus ? patched : unpatched;
	char line[256];
	snprintf(line, sizeof(line), "%s: %s (expected %s)", what, outcome_to_str(got),
		outcome_to_str(want));
	check(got == want, line);
}

/* Read the page past the end of a one-page file. */
static bool
read_past_eof(int fd)
{
	const volatile uint8_t *p =
		mmap(NULL, PAGES(2), PROT_READ, MAP_PRIVATE | NOSIGBUS_FLAG, fd, 0);
	return p != MAP_FAILED && holds_pattern(p, 0, PAGES(1), 0) && holds_zeros(p + page, page);
}

/* Write past the end of a one-page file: a private zeroed page, never the
 * file's. */
static bool
write_past_eof(int fd)
{
	volatile uint8_t *p =
		mmap(NULL, PAGES(2), PROT_READ | PROT_WRITE, MAP_PRIVATE | NOSIGBUS_FLAG, fd, 0);
	if (p == MAP_FAILED) {
		return false;
	}
	/* The first touch is the write: a write fault, not a copy of the
	 * zero page. */
	p[page] = 0x5a;
	bool zeroed = p[page] == 0x5a && holds_zeros(p + page + 1, page - 1);
	struct stat st;
	return zeroed && fstat(fd, &st) == 0 && (uint64_t)st.st_size == PAGES(1);
}

/* Read a page that was inside the file at mmap time and truncated since. */
static bool
read_after_truncate(int fd)
{
	file_resize(fd, PAGES(2));
	file_fill(fd, 0, PAGES(2), 0);
	const volatile uint8_t *p =
		mmap(NULL, PAGES(2), PROT_READ, MAP_PRIVATE | NOSIGBUS_FLAG, fd, 0);
	if (p == MAP_FAILED || !holds_pattern(p, 0, PAGES(2), 0)) {
		return false;
	}
	file_resize(fd, PAGES(1));
	return holds_zeros(p + page, page);
}

/* The same through a shared mapping: the patch leaves those alone. */
static bool
read_shared_past_eof(int fd)
{
	const volatile uint8_t *p = mmap(NULL, PAGES(2), PROT_READ, MAP_SHARED, fd, 0);
	return p != MAP_FAILED && holds_zeros(p + page, page);
}

static void
check_raw_kernel(void)
{
	printf("# raw kernel behaviour\n");
	int fd = client_memfd("raw", PAGES(1));

	errno = 0;
	void *p = mmap(NULL, page, PROT_READ, MAP_SHARED | NOSIGBUS_FLAG, fd, 0);
	int error = p == MAP_FAILED ? errno : 0;
	if (p != MAP_FAILED) {
		munmap(p, page);
	}
	check_kernel(error == EINVAL, error == 0, "mmap(MAP_SHARED|MAP_NOSIGBUS) fails with EINVAL",
		"mmap(MAP_SHARED|0x200000) succeeds: unknown flag ignored");

	errno = 0;
	p = mmap(NULL, page, PROT_READ, MAP_SHARED_VALIDATE | NOSIGBUS_FLAG, fd, 0);
	error = p == MAP_FAILED ? errno : 0;
	if (p != MAP_FAILED) {
		munmap(p, page);
	}
	check(error == EOPNOTSUPP, "mmap(MAP_SHARED_VALIDATE|0x200000) fails with EOPNOTSUPP");

	p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | NOSIGBUS_FLAG, -1, 0);
	check(p != MAP_FAILED, "mmap(MAP_PRIVATE|MAP_ANONYMOUS|0x200000) succeeds");
	if (p != MAP_FAILED) {
		munmap(p, page);
	}

	/* The probe's question, asked directly. */
	uint8_t *two = mmap(NULL, PAGES(2), PROT_READ, MAP_PRIVATE | NOSIGBUS_FLAG, fd, 0);
	check(two != MAP_FAILED, "mmap(MAP_PRIVATE|0x200000) of two pages over one succeeds");
	if (two != MAP_FAILED) {
		errno = 0;
		int ret = madvise(two + page, page, MADV_POPULATE_READ);
		check_kernel(ret == 0, ret != 0 && errno == EFAULT,
			"MADV_POPULATE_READ past EOF returns 0",
			"MADV_POPULATE_READ past EOF fails with EFAULT");
		munmap(two, PAGES(2));
	}

	check_outcome(in_child(read_past_eof, fd), OUTCOME_OK, OUTCOME_SIGBUS,
		"private 0x200000 mapping: read past EOF gives zeros");
	check_outcome(in_child(write_past_eof, fd), OUTCOME_OK, OUTCOME_SIGBUS,
		"private writable 0x200000 mapping: write past EOF lands in a zeroed private page");
	check_outcome(in_child(read_after_truncate, fd), OUTCOME_OK, OUTCOME_SIGBUS,
		"private 0x200000 mapping: read of a page truncated after mmap gives zeros");
	file_resize(fd, PAGES(1));
	check_outcome(in_child(read_shared_past_eof, fd), OUTCOME_SIGBUS, OUTCOME_SIGBUS,
		"shared mapping: read past EOF still raises SIGBUS");
	close(fd);

	/* A private mapping is no snapshot: pages it only read follow the
	 * file, as with MAP_PRIVATE on any kernel. */
	fd = client_memfd("follow", PAGES(3));
	const volatile uint8_t *view =
		mmap(NULL, PAGES(3), PROT_READ, MAP_PRIVATE | NOSIGBUS_FLAG, fd, 0);
	check(view != MAP_FAILED && holds_pattern(view, 0, PAGES(3), 0),
		"private 0x200000 mapping reads the file");
	if (view != MAP_FAILED) {
		file_fill(fd, 0, PAGES(3), 1);
		check(holds_pattern(view, 0, PAGES(3), 1),
			"private 0x200000 mapping sees later writes to the file (pwrite)");
		munmap((void *)view, PAGES(3));
	}
	close(fd);

	if (!expect_nosigbus) {
		return;
	}
	/* The reviewers' stale zero page: a page read past EOF stays zero
	 * after the file grows; a page first touched after it grew does
	 * not. */
	fd = client_memfd("stale", PAGES(1));
	view = mmap(NULL, PAGES(3), PROT_READ, MAP_PRIVATE | NOSIGBUS_FLAG, fd, 0);
	if (view == MAP_FAILED) {
		check(false, "mmap for the stale zero page check");
		close(fd);
		return;
	}
	bool zeros_before = holds_zeros(view + page, page);
	file_resize(fd, PAGES(3));
	file_fill(fd, PAGES(1), PAGES(3), 2);
	check(zeros_before && holds_zeros(view + page, page),
		"a page read past EOF stays a zero page after the file grows (stale)");
	check(holds_pattern(view + PAGES(2), PAGES(2), page, 2),
		"a page first touched after the file grew reads the new data");
	munmap((void *)view, PAGES(3));
	close(fd);
}

/* ------------------------------------------------------------------ */
/* The library on this kernel                                          */
/* ------------------------------------------------------------------ */

static void
print_probe(void)
{
	struct utsname uts;
	if (uname(&uts) == 0) {
		printf("kernel: %s %s %s %s\n\n", uts.sysname, uts.release, uts.version,
			uts.machine);
	}
	const struct shmguard_probe_result *results = shmguard_probe();
	printf("%-20s %-9s %s\n", "mechanism", "supported", "how it was established");
	for (int i = 0; i < SHMGUARD_MECHANISM_COUNT; i++) {
		printf("%-20s %-9s %s\n", shmguard_mechanism_to_str(results[i].mechanism),
			results[i].supported ? "yes" : "no", results[i].how);
	}
	printf("\n");
}

static void
check_probe(void)
{
	printf("# probe\n");
	const struct shmguard_probe_result *results = shmguard_probe();
	bool nosigbus = results[SHMGUARD_MECHANISM_MAP_NOSIGBUS].supported;
	check_kernel(nosigbus, !nosigbus, "probe: MAP_NOSIGBUS supported",
		"probe: MAP_NOSIGBUS not supported");
	check(results[SHMGUARD_MECHANISM_MAP_SHARED_VALIDATE].supported,
		"probe: MAP_SHARED_VALIDATE supported");
	check(results[SHMGUARD_MECHANISM_MADV_POPULATE_READ].supported,
		"probe: MADV_POPULATE_READ supported (the MAP_NOSIGBUS probe's method)");
}

static void
check_pool_truncation(void)
{
	printf("# pool truncated under an open read window\n");
	int fd = client_memfd("pool", PAGES(4));
	enum shmguard_pool_error error;
	struct shmguard_pool *pool = shmguard_pool_create(fd, PAGES(4), NULL, &error);
	if (pool == NULL) {
		check(false, shmguard_pool_error_to_str(error));
		close(fd);
		return;
	}
	enum shmguard_strategy want =
		expect_nosigbus ? SHMGUARD_STRATEGY_NOSIGBUS : SHMGUARD_STRATEGY_GUARD;
	char line[160];
	snprintf(line, sizeof(line), "read strategy is '%s' (want '%s')",
		shmguard_strategy_to_str(shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ)),
		shmguard_strategy_to_str(want));
	check(shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ) == want, line);
	check(shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_WRITE) == SHMGUARD_STRATEGY_GUARD,
		"write strategy is 'guard'");

	uint64_t entries = guard_handler_entries();
	struct shmguard_access *access;
	void *data;
	int ret = shmguard_access_begin(pool, 0, PAGES(4), SHMGUARD_ACCESS_READ, &access, &data);
	check(ret == 0, "window over the whole pool opens");
	if (ret != 0) {
		goto out;
	}
	const volatile uint8_t *bytes = data;
	check(holds_pattern(bytes, 0, PAGES(4), 0), "window reads the client's bytes");
	file_resize(fd, PAGES(1));
	check(holds_pattern(bytes, 0, PAGES(1), 0), "bytes before the new end still read");
	check(holds_zeros(bytes + page, PAGES(3)), "bytes past the new end read zeros");
	uint64_t during = guard_handler_entries();
	struct shmguard_fault_report report;
	bool faulted = shmguard_access_end(access, &report);
	/* On the patched kernel nothing in this process has faulted yet (the
	 * raw checks ran in children): the count is 0 before and after. */
	check_kernel(entries == 0 && during == 0, during > entries,
		"the SIGBUS handler was never entered (0 entries before and after)",
		"the SIGBUS handler was entered");
	check(faulted && report.kind == SHMGUARD_FAULT_TRUNCATED,
		"window end reports the fault as truncated");
	snprintf(line, sizeof(line), "report offset %llu = %llu, file size %llu = %llu",
		(unsigned long long)report.offset, (unsigned long long)PAGES(1),
		(unsigned long long)report.file_size, (unsigned long long)PAGES(1));
	check(report.offset == PAGES(1) && report.file_size == PAGES(1), line);
	check(shmguard_pool_get_fault(pool, NULL), "the generation stays poisoned");

	/* The library's own copy on the read side. */
	uint8_t copy[64];
	entries = guard_handler_entries();
	ret = shmguard_pool_read(pool, PAGES(2), copy, sizeof(copy), &report);
	check(ret == -EFAULT && report.kind == SHMGUARD_FAULT_TRUNCATED,
		"guarded read of the truncated range returns -EFAULT, truncated");
	bool quiet = guard_handler_entries() == entries;
	check_kernel(quiet, quiet,
		"  ... without entering the handler (the generation was poisoned)",
		"  ... without entering the handler (the range was already zero pages)");

	/* The client grows the file and tells the compositor. */
	file_resize(fd, PAGES(6));
	file_fill(fd, 0, PAGES(6), 1);
	ret = shmguard_pool_resize(pool, PAGES(6), &error);
	check(ret == 0, "pool resized to the grown file");
	check(shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ) == want,
		"the new generation keeps the read strategy");
	entries = guard_handler_entries();
	ret = shmguard_access_begin(pool, 0, PAGES(6), SHMGUARD_ACCESS_READ, &access, &data);
	check(ret == 0, "window over the grown pool opens");
	if (ret == 0) {
		bytes = data;
		check(holds_pattern(bytes, 0, PAGES(6), 1),
			"the new generation reads the new data everywhere (no stale zero pages)");
		check(!shmguard_access_end(access, NULL), "and reports no fault");
	}
	check(guard_handler_entries() == entries, "no handler entry on the healthy generation");

	/* Write-back (a screen capture) into a range the client cut off:
	 * MAP_NOSIGBUS is private-only, so the guard catches it. */
	file_resize(fd, PAGES(2));
	uint8_t capture[256];
	memset(capture, 0x77, sizeof(capture));
	entries = guard_handler_entries();
	ret = shmguard_pool_write(pool, PAGES(4), capture, sizeof(capture), &report);
	check(ret == -EFAULT, "write-back past the new end returns -EFAULT");
	/* The offset is the faulting address's: where in the range memcpy
	 * stored first depends on the CPU (qemu's default CPU: 16 bytes in). */
	snprintf(line, sizeof(line), "  ... reported: %s at %llu (want truncated in [%llu, %llu))",
		shmguard_fault_kind_to_str(report.kind), (unsigned long long)report.offset,
		(unsigned long long)PAGES(4), (unsigned long long)(PAGES(4) + sizeof(capture)));
	check(report.kind == SHMGUARD_FAULT_TRUNCATED && report.offset >= PAGES(4) &&
			report.offset < PAGES(4) + sizeof(capture),
		line);
	check(guard_handler_entries() > entries, "  ... caught by the SIGBUS handler");
	struct stat st;
	check(fstat(fd, &st) == 0 && (uint64_t)st.st_size == PAGES(2),
		"  ... and the file was not extended");
out:
	shmguard_pool_unref(pool);
	close(fd);
}

/* Truncated and grown back before the window ends. With MAP_NOSIGBUS no
 * signal and no short file tell the library: zeros were read, no fault is
 * reported, and the generation keeps its stale zero pages until the next
 * resize. With the guard the fault is reported (the handler saw it). */
static void
check_pool_truncate_and_regrow(void)
{
	printf("# pool truncated and grown back inside one window\n");
	int fd = client_memfd("regrow", PAGES(3));
	struct shmguard_pool *pool = shmguard_pool_create(fd, PAGES(3), NULL, NULL);
	if (pool == NULL) {
		check(false, "pool created");
		close(fd);
		return;
	}
	struct shmguard_access *access;
	void *data;
	if (shmguard_access_begin(pool, 0, PAGES(3), SHMGUARD_ACCESS_READ, &access, &data) != 0) {
		check(false, "window opens");
		goto out;
	}
	const volatile uint8_t *bytes = data;
	file_resize(fd, PAGES(1));
	check(holds_zeros(bytes + page, PAGES(2)), "bytes past the short end read zeros");
	file_resize(fd, PAGES(3));
	file_fill(fd, PAGES(1), PAGES(3), 1);
	bool faulted = shmguard_access_end(access, NULL);
	check_kernel(!faulted, faulted, "no fault reported: the file is long again at window end",
		"the fault is reported: the handler saw it");
	if (shmguard_access_begin(pool, PAGES(1), PAGES(2), SHMGUARD_ACCESS_READ, &access, &data) ==
		0) {
		bytes = data;
		check(holds_zeros(bytes, PAGES(2)),
			"the generation keeps zeros where the file has data again");
		shmguard_access_end(access, NULL);
	}
	/* The client's next resize maps a new generation. */
	file_resize(fd, PAGES(4));
	file_fill(fd, 0, PAGES(4), 2);
	check(shmguard_pool_resize(pool, PAGES(4), NULL) == 0, "pool resized");
	if (shmguard_access_begin(pool, 0, PAGES(4), SHMGUARD_ACCESS_READ, &access, &data) == 0) {
		bytes = data;
		check(holds_pattern(bytes, 0, PAGES(4), 2), "the new generation reads the file");
		check(!shmguard_access_end(access, NULL), "  ... with no fault");
	}
out:
	shmguard_pool_unref(pool);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* init                                                                */
/* ------------------------------------------------------------------ */

/* As PID 1: report through isa-debug-exit (qemu exits with 2 * code + 1);
 * if that fails, power off, which qemu -no-reboot turns into exit 0. */
static void
exit_as_init(int code)
{
	fflush(stdout);
	if (ioperm(DEBUG_EXIT_PORT, 1, 1) == 0) {
		outb((unsigned char)code, DEBUG_EXIT_PORT);
	}
	printf("guest: isa-debug-exit failed (%s); powering off\n", strerror(errno));
	fflush(stdout);
	reboot(RB_POWER_OFF);
	for (;;) {
		pause();
	}
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	bool init = getpid() == 1;
	const char *mode = argc > 1 ? argv[argc - 1] : "";
	if (strcmp(mode, "nosigbus") == 0) {
		expect_nosigbus = true;
	} else if (strcmp(mode, "guard") != 0) {
		printf("usage: guest-nosigbus nosigbus|guard (got '%s')\n", mode);
		if (init) {
			exit_as_init(1);
		}
		return 2;
	}
	if (init) {
		mkdir("/proc", 0555);
		if (mount("proc", "/proc", "proc", 0, NULL) != 0) {
			printf("mount /proc: %s\n", strerror(errno));
		}
	}
	page = (size_t)sysconf(_SC_PAGESIZE);
	printf("guest: libshmguard %s, expecting the %s path\n\n", shmguard_version(),
		expect_nosigbus ? "MAP_NOSIGBUS" : "guard");

	print_probe();
	check_probe();
	check_raw_kernel();
	check_pool_truncation();
	check_pool_truncate_and_regrow();

	printf("guest: %u passed, %u failed\n", passed, failed);
	if (init) {
		exit_as_init(failed == 0 ? 0 : 1);
	}
	return failed == 0 ? 0 : 1;
}

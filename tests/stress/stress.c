/*
 * Race stress test of the core.
 *
 * Four reader threads copy bytes out of and into pools through access
 * windows (memcpy inside shmguard_access_begin/end, READ and WRITE) and
 * guarded copies (shmguard_pool_read/write), nest windows across pools and
 * drop their pool reference while a window is still open. Meanwhile other
 * threads truncate and regrow the files, grow them and resize the pools,
 * revalidate, drop and recreate pools, and start short-lived threads.
 *
 * The data can tell a fault from a bug: every byte of every file is the
 * non-zero pattern_byte() of its offset, files only ever shrink to a page
 * boundary and grow by writing the pattern (never by ftruncate, which
 * would leave a hole reading zeros without a fault), and writers only
 * ever write the pattern. So a byte read is either the pattern or a zero
 * from the guard's zero pages, and a zero byte means the access must have
 * reported a fault. A fault on a file that cannot shrink, or on a pool
 * whose file was not truncated since the pool was created, is a bug too.
 *
 * At the end: no fd, mapping, generation or budget charge is left, and
 * every file mapping the library made was unmapped (mmap and munmap are
 * wrapped with -Wl,--wrap to count them).
 *
 * Races need a thread stopped between two instructions at the wrong
 * moment: a jitter thread sends signals that stall workers for a few
 * hundred microseconds wherever they are (see on_jitter()), and bursts of
 * tiny windows put the readers' time into shmguard_access_begin/end.
 *
 * Usage: shmguard-stress [--seconds=N] [--seed=N] [--no-jitter]
 * [--no-membarrier | --membarrier-fails-midway]. --no-membarrier makes
 * membarrier() fail (see deny_membarrier()) so that windows publish with
 * a fence; --membarrier-fails-midway makes it fail half-way through. The
 * environment variable SHMGUARD_STRESS_SECONDS overrides --seconds, so a
 * longer run needs no rebuild:
 *   SHMGUARD_STRESS_SECONDS=600 meson test -C build stress -t 10
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "src/budget.h"
#include "src/guard.h"
#include "src/mapping.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

#define PAGE 4096u
#define MIN_POOL_PAGES 16u
#define MAX_POOL_PAGES 256u
#define MAX_POOL_BYTES ((uint64_t)MAX_POOL_PAGES * PAGE)
#define MAX_ACCESS (64u * 1024u)
#define READERS 4
#define MUTATORS 4
#define THREAD_STACK (512u * 1024u)
#define MEMFD_NAME "shmguard-stress"
#define MAX_MESSAGES 20
#define ALTSTACK_SIZE (64u * 1024u)

/* ------------------------------------------------------------------ */
/* Counting the library's mappings                                     */
/* ------------------------------------------------------------------ */

void *
__real_mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset);
void *
__wrap_mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset);
void *
__real_mmap64(void *address, size_t length, int prot, int flags, int fd, off_t offset);
void *
__wrap_mmap64(void *address, size_t length, int prot, int flags, int fd, off_t offset);
int
__real_munmap(void *address, size_t length);
int
__wrap_munmap(void *address, size_t length);

/* File mappings made, zero-page remaps (the handler's MAP_FIXED
 * anonymous mappings) and munmap() calls, by the library's objects. */
static _Atomic uint64_t file_maps;
static _Atomic uint64_t zero_remaps;
static _Atomic uint64_t unmaps;

static void
count_mapping(void *result, int flags, int fd)
{
	if (result == MAP_FAILED) {
		return;
	}
	if (fd >= 0 && !(flags & MAP_ANONYMOUS)) {
		atomic_fetch_add_explicit(&file_maps, 1, memory_order_relaxed);
	} else if (flags & MAP_FIXED) {
		/* From the signal handler: a lock-free atomic is safe there. */
		atomic_fetch_add_explicit(&zero_remaps, 1, memory_order_relaxed);
	}
}

void *
__wrap_mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset)
{
	void *result = __real_mmap(address, length, prot, flags, fd, offset);
	count_mapping(result, flags, fd);
	return result;
}

void *
__wrap_mmap64(void *address, size_t length, int prot, int flags, int fd, off_t offset)
{
	void *result = __real_mmap64(address, length, prot, flags, fd, offset);
	count_mapping(result, flags, fd);
	return result;
}

int
__wrap_munmap(void *address, size_t length)
{
	int ret = __real_munmap(address, length);
	if (ret == 0) {
		atomic_fetch_add_explicit(&unmaps, 1, memory_order_relaxed);
	}
	return ret;
}

/* ------------------------------------------------------------------ */
/* Failures and counters                                               */
/* ------------------------------------------------------------------ */

static _Atomic unsigned failures;
/* Mutators stop first, readers a moment later (see main()). */
static _Atomic bool stop_mutators;
static _Atomic bool stop;

static void
fail(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void
fail(const char *format, ...)
{
	unsigned n = atomic_fetch_add(&failures, 1);
	if (n >= MAX_MESSAGES) {
		return;
	}
	va_list args;
	va_start(args, format);
	fprintf(stderr, "FAIL: ");
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
	va_end(args);
}

enum counter {
	WINDOWS_READ,
	WINDOWS_WRITE,
	WINDOWS_NESTED,
	WINDOWS_OUT_OF_ORDER,
	WINDOWS_AFTER_UNREF,
	WINDOW_FAULTS,
	WINDOWS_SAW_ZEROS,
	COPIES_READ,
	COPIES_WRITE,
	COPY_FAULTS,
	WRITES_REFUSED,
	RANGE_REFUSED,
	FAULTS_IO_ERROR,
	TRUNCATIONS,
	REGROWS,
	RESIZES,
	RESIZES_OVER_BUDGET,
	REVALIDATES,
	REVALIDATES_SHORT,
	REVALIDATES_OVER_BUDGET,
	RECREATIONS,
	SEAL_REFUSALS,
	EPHEMERAL_THREADS,
	JITTERS,
	COUNTER_COUNT,
};

static const char *const counter_names[COUNTER_COUNT] = {
	[WINDOWS_READ] = "read windows",
	[WINDOWS_WRITE] = "write windows",
	[WINDOWS_NESTED] = "nested windows (two pools + copy)",
	[WINDOWS_OUT_OF_ORDER] = "windows closed out of order",
	[WINDOWS_AFTER_UNREF] = "windows outliving their pool ref",
	[WINDOW_FAULTS] = "window faults reported",
	[WINDOWS_SAW_ZEROS] = "windows that read zero pages",
	[COPIES_READ] = "guarded reads",
	[COPIES_WRITE] = "guarded writes",
	[COPY_FAULTS] = "guarded copy faults (-EFAULT)",
	[WRITES_REFUSED] = "writes refused (read-only/sealed)",
	[RANGE_REFUSED] = "accesses out of range (-ERANGE)",
	[FAULTS_IO_ERROR] = "faults classified I/O error (regrown)",
	[TRUNCATIONS] = "truncations",
	[REGROWS] = "regrows",
	[RESIZES] = "resizes",
	[RESIZES_OVER_BUDGET] = "resizes over budget (-ENOSPC)",
	[REVALIDATES] = "revalidates",
	[REVALIDATES_SHORT] = "revalidates on a short file (-ENXIO)",
	[REVALIDATES_OVER_BUDGET] = "revalidates over budget (-ENOSPC)",
	[RECREATIONS] = "pools dropped and recreated",
	[SEAL_REFUSALS] = "shrinks refused by F_SEAL_SHRINK",
	[EPHEMERAL_THREADS] = "short-lived threads",
	[JITTERS] = "jitter signals (delays at random points)",
};

static _Atomic uint64_t counters[COUNTER_COUNT];

static void
count(enum counter counter)
{
	atomic_fetch_add_explicit(&counters[counter], 1, memory_order_relaxed);
}

/* ------------------------------------------------------------------ */
/* Slots: one pool each, dropped and recreated over the run            */
/* ------------------------------------------------------------------ */

enum slot_kind {
	/* A memfd that is truncated and regrown. */
	SLOT_PLAIN,
	/* The same, but the pool maps a read-only reopen of it. */
	SLOT_READ_ONLY,
	/* F_SEAL_SHRINK: grows, never shrinks, so never faults. */
	SLOT_SEALED,
	/* F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE: fixed, never faults, refuses
	 * writes. */
	SLOT_WRITE_SEALED,
	/* Never truncated by the test: must never fault. */
	SLOT_CALM,
};

static const char *const slot_kind_names[] = {
	[SLOT_PLAIN] = "plain",
	[SLOT_READ_ONLY] = "read-only",
	[SLOT_SEALED] = "sealed",
	[SLOT_WRITE_SEALED] = "write-sealed",
	[SLOT_CALM] = "calm",
};

static const enum slot_kind slot_kinds[] = {
	SLOT_PLAIN,
	SLOT_PLAIN,
	SLOT_READ_ONLY,
	SLOT_SEALED,
	SLOT_WRITE_SEALED,
	SLOT_CALM,
};

#define SLOTS (sizeof(slot_kinds) / sizeof(slot_kinds[0]))

struct slot {
	unsigned index;
	enum slot_kind kind;
	/* The pattern of every file this slot ever holds. */
	uint8_t *expected;
	/* Held by mutators while they change the file or swap the pool. */
	pthread_mutex_t file_lock;
	int fd; /* the "client's" writable fd */
	uint64_t file_size;
	/* Truncations of this slot's files so far. */
	_Atomic unsigned truncations;
	/* Held briefly to take a reference on the current pool. */
	pthread_mutex_t pool_lock;
	struct shmguard_pool *pool;
	unsigned born; /* truncations when the pool was created */
};

static struct slot slots[SLOTS];
static struct shmguard_budget *budget;

static bool
slot_can_truncate(const struct slot *slot)
{
	return slot->kind == SLOT_PLAIN || slot->kind == SLOT_READ_ONLY;
}

static bool
slot_can_grow(const struct slot *slot)
{
	return slot->kind != SLOT_WRITE_SEALED;
}

static uint8_t
pattern_byte(unsigned seed, uint64_t offset)
{
	/* Never zero: 1..251. Differs per slot, per page and per byte. */
	return (uint8_t)(1 + (offset * 7 + (offset / PAGE) * 13 + seed * 29) % 251);
}

static int
write_all(int fd, const uint8_t *bytes, uint64_t length, uint64_t offset)
{
	while (length > 0) {
		ssize_t n = pwrite(fd, bytes, length, (off_t)offset);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return n < 0 ? -errno : -EIO;
		}
		bytes += n;
		offset += (uint64_t)n;
		length -= (uint64_t)n;
	}
	return 0;
}

/* A fresh file of @p size bytes of the pattern, sealed by kind; its pool is
 * in *pool. Returns the fd or -1. */
static int
slot_make_file(struct slot *slot, uint64_t size, struct shmguard_pool **pool)
{
	unsigned flags = MFD_CLOEXEC;
	if (slot->kind == SLOT_SEALED || slot->kind == SLOT_WRITE_SEALED) {
		flags |= MFD_ALLOW_SEALING;
	}
	int fd = memfd_create(MEMFD_NAME, flags);
	if (fd < 0) {
		fail("memfd_create: %s", strerror(errno));
		return -1;
	}
	/* Grow by writing, never by ftruncate: no hole that reads zeros. */
	int ret = write_all(fd, slot->expected, size, 0);
	if (ret != 0) {
		fail("writing the pattern: %s", strerror(-ret));
		goto err_close;
	}
	if (slot->kind == SLOT_SEALED && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
		fail("F_SEAL_SHRINK: %s", strerror(errno));
		goto err_close;
	}
	if (slot->kind == SLOT_WRITE_SEALED &&
		fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_FUTURE_WRITE) != 0) {
		fail("F_SEAL_FUTURE_WRITE: %s", strerror(errno));
		goto err_close;
	}

	int pool_fd = fd;
	if (slot->kind == SLOT_READ_ONLY) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		pool_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (pool_fd < 0) {
			fail("reopening read-only: %s", strerror(errno));
			goto err_close;
		}
	}
	enum shmguard_pool_error error;
	*pool = shmguard_pool_create(pool_fd, size, budget, &error);
	if (pool_fd != fd) {
		close(pool_fd); /* borrowed: the pool keeps its own dup */
	}
	if (*pool == NULL) {
		fail("shmguard_pool_create(%s, %" PRIu64 "): %s", slot_kind_names[slot->kind], size,
			shmguard_pool_error_to_str(error));
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return -1;
}

/* A reader's reference to a slot's pool. */
struct held_pool {
	struct slot *slot;
	struct shmguard_pool *pool;
	uint64_t size;
	unsigned born;
};

static bool
hold(struct slot *slot, struct held_pool *held)
{
	pthread_mutex_lock(&slot->pool_lock);
	held->slot = slot;
	held->pool = slot->pool != NULL ? shmguard_pool_ref(slot->pool) : NULL;
	held->born = slot->born;
	pthread_mutex_unlock(&slot->pool_lock);
	if (held->pool == NULL) {
		return false;
	}
	held->size = shmguard_pool_get_size(held->pool);
	return true;
}

static void
release(struct held_pool *held)
{
	shmguard_pool_unref(held->pool);
	held->pool = NULL;
}

/* ------------------------------------------------------------------ */
/* Random numbers, per thread                                          */
/* ------------------------------------------------------------------ */

static uint64_t
next_random(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * UINT64_C(2685821657736338717);
}

static uint64_t
random_below(uint64_t *state, uint64_t bound)
{
	return bound == 0 ? 0 : next_random(state) % bound;
}

static void
sleep_us(unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ */
/* Readers                                                             */
/* ------------------------------------------------------------------ */

struct worker {
	unsigned index;
	uint64_t random;
	uint8_t *buffer; /* MAX_ACCESS bytes */
	pthread_t thread;
};

static void
check_report(
	const struct held_pool *held, const struct shmguard_fault_report *report, const char *what)
{
	const struct slot *slot = held->slot;
	if (!slot_can_truncate(slot)) {
		fail("%s on a %s pool (file never shrinks) reported a fault: %s at %" PRIu64, what,
			slot_kind_names[slot->kind], shmguard_fault_kind_to_str(report->kind),
			report->offset);
		return;
	}
	if (atomic_load(&slot->truncations) == held->born) {
		fail("%s reported a fault but the file was not truncated since the pool was created",
			what);
	}
	switch (report->kind) {
	case SHMGUARD_FAULT_TRUNCATED:
		if (report->file_size > report->offset) {
			fail("%s: 'truncated' at %" PRIu64 " but the file had %" PRIu64 " bytes",
				what, report->offset, report->file_size);
		}
		break;
	case SHMGUARD_FAULT_IO_ERROR:
		/* The file was regrown between the fault and the handler's
		 * fstat(): the handler cannot tell it from an I/O error. */
		count(FAULTS_IO_ERROR);
		break;
	default:
		fail("%s: fault reported with kind %d", what, (int)report->kind);
	}
	if (report->offset >= MAX_POOL_BYTES) {
		fail("%s: fault offset %" PRIu64 " beyond any pool", what, report->offset);
	}
}

/* Bytes copied out of a window are the pattern or zeros; zeros need a
 * fault. Returns whether any zero byte was seen. */
static bool
check_bytes(const struct held_pool *held, uint64_t offset, const uint8_t *bytes, size_t length,
	bool faulted, const char *what)
{
	const uint8_t *expected = held->slot->expected + offset;
	if (memcmp(bytes, expected, length) == 0) {
		return false;
	}
	size_t zeros = 0;
	size_t first_zero = 0;
	for (size_t i = 0; i < length; i++) {
		if (bytes[i] == expected[i]) {
			continue;
		}
		if (bytes[i] != 0) {
			fail("%s on %s pool: byte at %" PRIu64 " is %#x, expected %#x or 0", what,
				slot_kind_names[held->slot->kind], offset + i, bytes[i],
				expected[i]);
			return zeros > 0;
		}
		if (zeros++ == 0) {
			first_zero = i;
		}
	}
	if (zeros > 0 && !faulted) {
		fail("%s on %s pool: %zu zero bytes from %" PRIu64 " but no fault reported", what,
			slot_kind_names[held->slot->kind], zeros, offset + first_zero);
	}
	return zeros > 0;
}

/* A random range inside the pool (sometimes empty, sometimes all of it). */
static void
pick_range(struct worker *worker, const struct held_pool *held, uint64_t *offset, size_t *length)
{
	uint64_t size = held->size;
	uint64_t max = size < MAX_ACCESS ? size : MAX_ACCESS;
	switch (random_below(&worker->random, 16)) {
	case 0:
		*length = 0;
		break;
	case 1:
		*length = (size_t)max;
		break;
	default:
		*length = (size_t)(1 + random_below(&worker->random, max));
	}
	*offset = random_below(&worker->random, size - *length + 1);
	/* Mostly the end of the pool, where truncation bites. */
	if (random_below(&worker->random, 2) == 0) {
		*offset = size - *length;
	}
}

static bool
expect_write_refusal(const struct held_pool *held, int ret, const char *what)
{
	enum slot_kind kind = held->slot->kind;
	int expected = kind == SLOT_READ_ONLY ? -EACCES : kind == SLOT_WRITE_SEALED ? -EPERM : 0;
	if (expected == 0) {
		return false;
	}
	if (ret != expected) {
		fail("%s on a %s pool returned %d, expected %d", what, slot_kind_names[kind], ret,
			expected);
	} else {
		count(WRITES_REFUSED);
	}
	return true;
}

static void
window_read(struct worker *worker, const struct held_pool *held)
{
	uint64_t offset;
	size_t length;
	pick_range(worker, held, &offset, &length);
	struct shmguard_access *access;
	void *data;
	int ret = shmguard_access_begin(
		held->pool, offset, length, SHMGUARD_ACCESS_READ, &access, &data);
	if (ret != 0) {
		fail("read window [%" PRIu64 ", +%zu) of %" PRIu64 ": %d", offset, length,
			held->size, ret);
		return;
	}
	memcpy(worker->buffer, data, length);
	struct shmguard_fault_report report;
	bool faulted = shmguard_access_end(access, &report);
	count(WINDOWS_READ);
	if (faulted) {
		count(WINDOW_FAULTS);
		check_report(held, &report, "read window");
	}
	if (check_bytes(held, offset, worker->buffer, length, faulted, "read window")) {
		count(WINDOWS_SAW_ZEROS);
	}
}

static void
window_write(struct worker *worker, const struct held_pool *held)
{
	uint64_t offset;
	size_t length;
	pick_range(worker, held, &offset, &length);
	struct shmguard_access *access;
	void *data;
	int ret = shmguard_access_begin(
		held->pool, offset, length, SHMGUARD_ACCESS_WRITE, &access, &data);
	if (expect_write_refusal(held, ret, "write window")) {
		return;
	}
	if (ret != 0) {
		fail("write window [%" PRIu64 ", +%zu): %d", offset, length, ret);
		return;
	}
	/* Writers write what is there already: the file stays the pattern. */
	memcpy(data, held->slot->expected + offset, length);
	memcpy(worker->buffer, data, length);
	struct shmguard_fault_report report;
	bool faulted = shmguard_access_end(access, &report);
	count(WINDOWS_WRITE);
	if (faulted) {
		count(WINDOW_FAULTS);
		check_report(held, &report, "write window");
	}
	if (check_bytes(held, offset, worker->buffer, length, faulted, "write window")) {
		count(WINDOWS_SAW_ZEROS);
	}
}

static void
copy_read(struct worker *worker, const struct held_pool *held)
{
	uint64_t offset;
	size_t length;
	pick_range(worker, held, &offset, &length);
	struct shmguard_fault_report report;
	int ret = shmguard_pool_read(held->pool, offset, worker->buffer, length, &report);
	count(COPIES_READ);
	if (ret == -EFAULT) {
		count(COPY_FAULTS);
		check_report(held, &report, "guarded read");
		return;
	}
	if (ret != 0) {
		fail("guarded read [%" PRIu64 ", +%zu): %d", offset, length, ret);
		return;
	}
	/* Success promises every byte: not even a zero is allowed. */
	if (memcmp(worker->buffer, held->slot->expected + offset, length) != 0) {
		fail("guarded read [%" PRIu64 ", +%zu) of %s pool succeeded with wrong bytes",
			offset, length, slot_kind_names[held->slot->kind]);
	}
}

static void
copy_write(struct worker *worker, const struct held_pool *held)
{
	uint64_t offset;
	size_t length;
	pick_range(worker, held, &offset, &length);
	struct shmguard_fault_report report;
	int ret = shmguard_pool_write(
		held->pool, offset, held->slot->expected + offset, length, &report);
	count(COPIES_WRITE);
	if (expect_write_refusal(held, ret, "guarded write")) {
		return;
	}
	if (ret == -EFAULT) {
		count(COPY_FAULTS);
		check_report(held, &report, "guarded write");
	} else if (ret != 0) {
		fail("guarded write [%" PRIu64 ", +%zu): %d", offset, length, ret);
	}
}

static void
out_of_range(struct worker *worker, const struct held_pool *held)
{
	struct shmguard_access *access;
	void *data;
	uint64_t length = 1 + random_below(&worker->random, PAGE);
	/* Past the end of the largest generation the pool can have: the
	 * pool may have grown since held->size was read. */
	uint64_t offset = MAX_POOL_BYTES + random_below(&worker->random, 4) * PAGE;
	if (random_below(&worker->random, 2) == 0) {
		offset = UINT64_MAX - random_below(&worker->random, 4);
	}
	int ret = shmguard_access_begin(
		held->pool, offset, length, SHMGUARD_ACCESS_READ, &access, &data);
	if (ret != -ERANGE) {
		fail("window at %" PRIu64 " past the pool's end: %d, expected -ERANGE", offset,
			ret);
		if (ret == 0) {
			shmguard_access_end(access, NULL);
		}
		return;
	}
	ret = shmguard_pool_read(held->pool, offset, worker->buffer, (size_t)length, NULL);
	if (ret != -ERANGE) {
		fail("guarded read at %" PRIu64 " past the pool's end: %d", offset, ret);
	}
	count(RANGE_REFUSED);
}

/* A read window on @p outer, a write or read window on @p inner, a
 * guarded read of @p outer inside both; closed in either order. */
static void
nested(struct worker *worker, const struct held_pool *outer, const struct held_pool *inner)
{
	uint64_t outer_offset, inner_offset, copy_offset;
	size_t outer_length, inner_length, copy_length;
	pick_range(worker, outer, &outer_offset, &outer_length);
	pick_range(worker, inner, &inner_offset, &inner_length);
	pick_range(worker, outer, &copy_offset, &copy_length);
	if (inner_length > MAX_ACCESS / 2) {
		inner_length = MAX_ACCESS / 2;
	}
	if (outer_length > MAX_ACCESS / 2) {
		outer_length = MAX_ACCESS / 2;
	}
	uint8_t *outer_bytes = worker->buffer;
	uint8_t *inner_bytes = worker->buffer + MAX_ACCESS / 2;

	struct shmguard_access *outer_access, *inner_access;
	void *outer_data, *inner_data;
	int ret = shmguard_access_begin(outer->pool, outer_offset, outer_length,
		SHMGUARD_ACCESS_READ, &outer_access, &outer_data);
	if (ret != 0) {
		fail("outer window: %d", ret);
		return;
	}
	ret = shmguard_access_begin(inner->pool, inner_offset, inner_length, SHMGUARD_ACCESS_READ,
		&inner_access, &inner_data);
	if (ret != 0) {
		fail("inner window: %d", ret);
		shmguard_access_end(outer_access, NULL);
		return;
	}
	memcpy(inner_bytes, inner_data, inner_length);

	/* The guarded copy goes to the heap, clear of the windows' bytes. */
	uint8_t *copy = malloc(copy_length > 0 ? copy_length : 1);
	struct shmguard_fault_report copy_report;
	int copy_ret = copy != NULL
		? shmguard_pool_read(outer->pool, copy_offset, copy, copy_length, &copy_report)
		: -ENOMEM;
	memcpy(outer_bytes, outer_data, outer_length);

	struct shmguard_fault_report outer_report, inner_report;
	bool outer_faulted, inner_faulted;
	if (random_below(&worker->random, 2) == 0) {
		inner_faulted = shmguard_access_end(inner_access, &inner_report);
		outer_faulted = shmguard_access_end(outer_access, &outer_report);
	} else {
		/* Out of order: the outer slot frees first, the stack keeps
		 * its depth until the inner one closes. */
		outer_faulted = shmguard_access_end(outer_access, &outer_report);
		inner_faulted = shmguard_access_end(inner_access, &inner_report);
		count(WINDOWS_OUT_OF_ORDER);
	}
	count(WINDOWS_NESTED);
	count(COPIES_READ);

	if (copy_ret == -EFAULT) {
		count(COPY_FAULTS);
		check_report(outer, &copy_report, "nested guarded read");
	} else if (copy_ret != 0) {
		fail("nested guarded read: %d", copy_ret);
	} else if (memcmp(copy, outer->slot->expected + copy_offset, copy_length) != 0) {
		fail("nested guarded read succeeded with wrong bytes");
	}
	free(copy);
	if (outer_faulted) {
		count(WINDOW_FAULTS);
		check_report(outer, &outer_report, "outer window");
	}
	if (inner_faulted) {
		count(WINDOW_FAULTS);
		check_report(inner, &inner_report, "inner window");
	}
	check_bytes(outer, outer_offset, outer_bytes, outer_length, outer_faulted, "outer window");
	check_bytes(inner, inner_offset, inner_bytes, inner_length, inner_faulted, "inner window");
}

/* Many tiny windows in a row, as a compositor sampling pixels: the time
 * goes into shmguard_access_begin/end themselves, where the jitter can
 * stop a thread between loading the pool's generation and publishing its
 * window. */
static void
window_burst(struct worker *worker, const struct held_pool *held)
{
	for (unsigned i = 0; i < 256; i++) {
		uint64_t offset = random_below(&worker->random, held->size - 7);
		struct shmguard_access *access;
		void *data;
		int ret = shmguard_access_begin(
			held->pool, offset, 8, SHMGUARD_ACCESS_READ, &access, &data);
		if (ret != 0) {
			fail("burst window at %" PRIu64 ": %d", offset, ret);
			return;
		}
		uint8_t bytes[8];
		memcpy(bytes, data, sizeof(bytes));
		struct shmguard_fault_report report;
		bool faulted = shmguard_access_end(access, &report);
		count(WINDOWS_READ);
		if (faulted) {
			count(WINDOW_FAULTS);
			check_report(held, &report, "burst window");
		}
		check_bytes(held, offset, bytes, sizeof(bytes), faulted, "burst window");
	}
}

/* Drop our reference with a window open: if the pool was already dropped
 * from its slot this retires it, and the window's pointer must stay
 * valid until it closes. Consumes @p held. */
static void
window_outliving_ref(struct worker *worker, struct held_pool *held)
{
	uint64_t offset;
	size_t length;
	pick_range(worker, held, &offset, &length);
	struct shmguard_access *access;
	void *data;
	int ret = shmguard_access_begin(
		held->pool, offset, length, SHMGUARD_ACCESS_READ, &access, &data);
	struct held_pool copy = *held;
	release(held);
	if (ret != 0) {
		fail("window before unref: %d", ret);
		return;
	}
	sched_yield();
	memcpy(worker->buffer, data, length);
	struct shmguard_fault_report report;
	bool faulted = shmguard_access_end(access, &report);
	count(WINDOWS_AFTER_UNREF);
	if (faulted) {
		count(WINDOW_FAULTS);
		check_report(&copy, &report, "window after unref");
	}
	check_bytes(&copy, offset, worker->buffer, length, faulted, "window after unref");
}

static void *
reader_main(void *arg)
{
	struct worker *worker = arg;
	/* Half the readers take SIGBUS on an alternate stack, as a
	 * compositor may: guarded copies then siglongjmp off it. */
	stack_t altstack = {.ss_size = ALTSTACK_SIZE};
	if (worker->index % 2 == 1) {
		altstack.ss_sp = malloc(ALTSTACK_SIZE);
		if (altstack.ss_sp == NULL || sigaltstack(&altstack, NULL) != 0) {
			fail("sigaltstack: %s", strerror(errno));
		}
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct held_pool held;
		if (!hold(&slots[random_below(&worker->random, SLOTS)], &held)) {
			continue;
		}
		unsigned operations = 1 + (unsigned)random_below(&worker->random, 16);
		for (unsigned i = 0; i < operations && held.pool != NULL; i++) {
			/* Out of 24: window reads 5, window writes 3, guarded
			 * reads 4, guarded writes 3, out of range 1, nested 2,
			 * unref under a window 1, bursts of tiny windows 4, and
			 * 1 rereads the pool's size. */
			unsigned roll = (unsigned)random_below(&worker->random, 24);
			if (roll < 5) {
				window_read(worker, &held);
			} else if (roll < 8) {
				window_write(worker, &held);
			} else if (roll < 12) {
				copy_read(worker, &held);
			} else if (roll < 15) {
				copy_write(worker, &held);
			} else if (roll < 16) {
				out_of_range(worker, &held);
			} else if (roll < 18) {
				struct held_pool other;
				if (hold(&slots[random_below(&worker->random, SLOTS)], &other)) {
					nested(worker, &held, &other);
					release(&other);
				}
			} else if (roll < 19) {
				window_outliving_ref(worker, &held);
			} else if (roll < 23) {
				window_burst(worker, &held);
			} else {
				/* A resize may have grown the pool meanwhile. */
				held.size = shmguard_pool_get_size(held.pool);
			}
		}
		if (held.pool != NULL) {
			release(&held);
		}
	}
	if (altstack.ss_sp != NULL) {
		stack_t disable = {.ss_flags = SS_DISABLE};
		sigaltstack(&disable, NULL);
		free(altstack.ss_sp);
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Mutators                                                            */
/* ------------------------------------------------------------------ */

static struct slot *
pick_slot(uint64_t *random, bool (*wanted)(const struct slot *slot))
{
	for (;;) {
		struct slot *slot = &slots[random_below(random, SLOTS)];
		if (wanted == NULL || wanted(slot)) {
			return slot;
		}
	}
}

/* Replace a slot's pool with a fresh one over a fresh file; readers may
 * still hold the old pool. Called with the slot's file_lock held. */
static void
slot_recycle(struct slot *slot, uint64_t *random)
{
	uint64_t size = PAGE * (MIN_POOL_PAGES + random_below(random, 4 * MIN_POOL_PAGES));
	struct shmguard_pool *pool;
	int fd = slot_make_file(slot, size, &pool);
	if (fd < 0) {
		return;
	}
	pthread_mutex_lock(&slot->pool_lock);
	struct shmguard_pool *old = slot->pool;
	slot->pool = pool;
	slot->born = atomic_load(&slot->truncations);
	pthread_mutex_unlock(&slot->pool_lock);
	close(slot->fd);
	slot->fd = fd;
	slot->file_size = size;
	shmguard_pool_unref(old);
	count(RECREATIONS);
}

static void *
recycler_main(void *arg)
{
	struct worker *worker = arg;
	while (!atomic_load_explicit(&stop_mutators, memory_order_relaxed)) {
		sleep_us((unsigned)random_below(&worker->random, 5000));
		struct slot *slot = pick_slot(&worker->random, NULL);
		pthread_mutex_lock(&slot->file_lock);
		slot_recycle(slot, &worker->random);
		pthread_mutex_unlock(&slot->file_lock);
	}
	return NULL;
}

/* Shrink a file to a page boundary below its size, leave it short for a
 * moment, then regrow it by writing the pattern back. */
static void *
truncator_main(void *arg)
{
	struct worker *worker = arg;
	while (!atomic_load_explicit(&stop_mutators, memory_order_relaxed)) {
		struct slot *slot = pick_slot(&worker->random, slot_can_truncate);
		pthread_mutex_lock(&slot->file_lock);
		uint64_t pages = slot->file_size / PAGE;
		uint64_t short_size = random_below(&worker->random, pages) * PAGE;
		atomic_fetch_add(&slot->truncations, 1);
		if (ftruncate(slot->fd, (off_t)short_size) != 0) {
			fail("ftruncate: %s", strerror(errno));
		}
		count(TRUNCATIONS);
		sleep_us((unsigned)random_below(&worker->random, 300));
		int ret = write_all(slot->fd, slot->expected + short_size,
			slot->file_size - short_size, short_size);
		if (ret != 0) {
			fail("regrowing: %s", strerror(-ret));
		}
		count(REGROWS);
		pthread_mutex_unlock(&slot->file_lock);
		sleep_us((unsigned)random_below(&worker->random, 1000));
	}
	return NULL;
}

/* Grow a file by writing the pattern, then resize its pool to match; at
 * the largest size, start over with a fresh pool. Resizes come fast: each
 * retires a generation that windows may be opening on right then. */
static void *
resizer_main(void *arg)
{
	struct worker *worker = arg;
	while (!atomic_load_explicit(&stop_mutators, memory_order_relaxed)) {
		struct slot *slot = pick_slot(&worker->random, slot_can_grow);
		struct held_pool held;
		pthread_mutex_lock(&slot->file_lock);
		if (!hold(slot, &held)) {
			pthread_mutex_unlock(&slot->file_lock);
			continue;
		}
		if (slot->kind == SLOT_SEALED) {
			if (ftruncate(slot->fd, (off_t)(slot->file_size - PAGE)) == 0 ||
				errno != EPERM) {
				fail("a memfd sealed with F_SEAL_SHRINK shrank");
			}
			count(SEAL_REFUSALS);
		}
		uint64_t size = held.size + PAGE * (1 + random_below(&worker->random, 4));
		if (size > MAX_POOL_BYTES) {
			slot_recycle(slot, &worker->random);
		} else {
			int ret = 0;
			if (slot->file_size < size) {
				ret = write_all(slot->fd, slot->expected + slot->file_size,
					size - slot->file_size, slot->file_size);
				slot->file_size = size;
			}
			if (ret != 0) {
				fail("growing the file: %s", strerror(-ret));
			}
			enum shmguard_pool_error error;
			ret = shmguard_pool_resize(held.pool, size, &error);
			if (ret == 0) {
				count(RESIZES);
			} else if (ret == -ENOSPC) {
				count(RESIZES_OVER_BUDGET);
			} else {
				fail("resize %" PRIu64 " -> %" PRIu64 " of %s pool: %d (%s)",
					held.size, size, slot_kind_names[slot->kind], ret,
					shmguard_pool_error_to_str(error));
			}
		}
		release(&held);
		pthread_mutex_unlock(&slot->file_lock);
		sleep_us((unsigned)random_below(&worker->random, 200));
	}
	return NULL;
}

/* A thread that lives for a few copies: its window stack registers and
 * unregisters while other threads scan the registry. */
static void *
ephemeral_main(void *arg)
{
	struct worker *worker = arg;
	for (unsigned i = 0; i < 8; i++) {
		struct held_pool held;
		if (hold(&slots[random_below(&worker->random, SLOTS)], &held)) {
			copy_read(worker, &held);
			window_read(worker, &held);
			release(&held);
		}
	}
	count(EPHEMERAL_THREADS);
	return NULL;
}

/* Revalidate pools at random (racing truncation: -ENXIO while a file is
 * short), and now and then run a short-lived thread. */
static void *
revalidator_main(void *arg)
{
	struct worker *worker = arg;
	struct worker ephemeral = {.random = worker->random ^ 0x9e3779b97f4a7c15u};
	ephemeral.buffer = worker->buffer;
	while (!atomic_load_explicit(&stop_mutators, memory_order_relaxed)) {
		struct held_pool held;
		struct slot *slot = pick_slot(&worker->random, NULL);
		if (hold(slot, &held)) {
			int ret = shmguard_pool_revalidate(held.pool);
			if (ret == 0) {
				count(REVALIDATES);
			} else if (ret == -ENXIO && slot_can_truncate(slot)) {
				count(REVALIDATES_SHORT);
			} else if (ret == -ENOSPC) {
				count(REVALIDATES_OVER_BUDGET);
			} else {
				fail("revalidate of %s pool: %d", slot_kind_names[slot->kind], ret);
			}
			struct shmguard_fault_report report;
			if (shmguard_pool_get_fault(held.pool, &report)) {
				check_report(&held, &report, "shmguard_pool_get_fault");
			}
			release(&held);
		}
		if (random_below(&worker->random, 64) == 0) {
			pthread_attr_t attr;
			pthread_attr_init(&attr);
			pthread_attr_setstacksize(&attr, THREAD_STACK);
			pthread_t thread;
			if (pthread_create(&thread, &attr, ephemeral_main, &ephemeral) == 0) {
				pthread_join(thread, NULL);
			}
			pthread_attr_destroy(&attr);
		}
		sleep_us((unsigned)random_below(&worker->random, 500));
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Jitter: delays at arbitrary instructions                            */
/* ------------------------------------------------------------------ */

/*
 * A race needs one thread to stop between two instructions long enough for
 * another to act, and preemption rarely does that on an idle machine. So a
 * jitter thread sends SIGUSR1 to random workers: the signal lands wherever
 * the thread is (between loading a pool's generation and publishing its
 * window, in a reclaim scan, in the SIGBUS handler) and its handler sleeps
 * there for up to JITTER_MAX_US. A window the library leaves unguarded by
 * a few instructions becomes one of a few hundred microseconds.
 */
#define JITTER_PERIOD_US 100
#define JITTER_MAX_US 300

static _Atomic uint64_t jitter_state;

static void
on_jitter(int signo)
{
	int saved_errno = errno;
	uint64_t x = atomic_fetch_add_explicit(
		&jitter_state, UINT64_C(0x9e3779b97f4a7c15), memory_order_relaxed);
	x ^= x >> 31;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 29;
	/* A quarter only interrupt; the rest also sleep. */
	if (x % 4 != 0) {
		struct timespec ts = {.tv_nsec = (long)((x >> 8) % JITTER_MAX_US) * 1000};
		nanosleep(&ts, NULL);
	}
	errno = saved_errno;
}

static int
jitter_install(void)
{
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = on_jitter;
	action.sa_flags = SA_RESTART;
	sigemptyset(&action.sa_mask);
	return sigaction(SIGUSR1, &action, NULL);
}

struct jitter_targets {
	struct worker *workers;
	unsigned count;
	uint64_t random;
	_Atomic bool stop;
};

static void *
jitter_main(void *arg)
{
	struct jitter_targets *targets = arg;
	while (!atomic_load_explicit(&targets->stop, memory_order_relaxed)) {
		sleep_us(1 + (unsigned)random_below(&targets->random, 2 * JITTER_PERIOD_US));
		unsigned i = (unsigned)random_below(&targets->random, targets->count);
		if (pthread_kill(targets->workers[i].thread, SIGUSR1) == 0) {
			count(JITTERS);
		}
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Leak accounting                                                     */
/* ------------------------------------------------------------------ */

static unsigned
count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	unsigned n = 0;
	if (dir == NULL) {
		return 0;
	}
	while (readdir(dir) != NULL) {
		n++;
	}
	closedir(dir);
	return n;
}

/* Lines of /proc/self/maps, and of those the ones over our memfds. */
static void
count_maps(unsigned *lines, unsigned *memfd_lines)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];
	*lines = 0;
	*memfd_lines = 0;
	if (f == NULL) {
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strchr(line, '\n') == NULL) {
			continue; /* the rest of a long line comes next */
		}
		(*lines)++;
		if (strstr(line, "memfd:" MEMFD_NAME) != NULL) {
			(*memfd_lines)++;
		}
	}
	fclose(f);
}

static bool
under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");
	return preload != NULL && strstr(preload, "vgpreload") != NULL;
}

/* Everything the library touches once per process (probe, handler,
 * membarrier registration, this thread's window stack), and a fault. */
static void
warm_up(void)
{
	shmguard_probe();
	struct held_pool held = {.slot = &slots[0]};
	int fd = slot_make_file(&slots[0], 2 * PAGE, &held.pool);
	if (fd < 0) {
		return;
	}
	uint8_t byte;
	if (ftruncate(fd, PAGE) != 0 ||
		shmguard_pool_read(held.pool, PAGE, &byte, 1, NULL) != -EFAULT) {
		fail("warm-up: a guarded read past EOF did not fault");
	}
	shmguard_pool_unref(held.pool);
	close(fd);
}

/*
 * Make membarrier() fail with ENOSYS (a seccomp filter), as on kernels
 * without it or under sandboxes that forbid it: the library must then
 * fall back to a fence on every window publication. Before the library's
 * first use (--no-membarrier), registration fails and windows fence from
 * the start; in the middle of the run (--membarrier-fails-midway, the
 * filter applied to every thread at once), the next reclaim scan finds
 * the barrier failing with windows open that published without a fence.
 * x86-64 and other single-ABI builds only: the filter does not check the
 * architecture.
 */
static int
deny_membarrier(bool every_thread)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
		syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
			every_thread ? SECCOMP_FILTER_FLAG_TSYNC : 0, &program) != 0) {
		return -errno;
	}
	return 0;
}

/* Threads at once: the workers, the jitter thread, a short-lived one. */
#define THREADS_AT_ONCE (READERS + MUTATORS + 2)

static void *
wait_at_barrier(void *arg)
{
	pthread_barrier_wait(arg);
	return NULL;
}

/* Run as many threads at once as the test will, and join them: glibc
 * keeps their stacks in its cache and hands them to the real threads
 * later, so the mapping count before and after the run compares equal.
 * (Stacks of our own, with pthread_attr_setstack(), would do the same,
 * but valgrind then mistakes one thread's stack for another's.) */
static void
warm_up_stacks(void)
{
	pthread_t threads[THREADS_AT_ONCE];
	pthread_barrier_t barrier;
	pthread_barrier_init(&barrier, NULL, THREADS_AT_ONCE);
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	for (unsigned i = 0; i < THREADS_AT_ONCE; i++) {
		if (pthread_create(&threads[i], &attr, wait_at_barrier, &barrier) != 0) {
			fail("pthread_create: %s", strerror(errno));
			abort();
		}
	}
	for (unsigned i = 0; i < THREADS_AT_ONCE; i++) {
		pthread_join(threads[i], NULL);
	}
	pthread_attr_destroy(&attr);
	pthread_barrier_destroy(&barrier);
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static double
now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* After the run, with every file whole again: each pool revalidates,
 * reads back exactly and refuses writes as its kind says. */
static void
verify_slot(struct slot *slot, uint8_t *buffer)
{
	struct held_pool held;
	if (!hold(slot, &held)) {
		fail("slot %u lost its pool", slot->index);
		return;
	}
	int ret = shmguard_pool_revalidate(held.pool);
	if (ret != 0) {
		fail("final revalidate of %s pool: %d", slot_kind_names[slot->kind], ret);
	}
	if (shmguard_pool_get_fault(held.pool, NULL)) {
		fail("%s pool still faulted after revalidation", slot_kind_names[slot->kind]);
	}
	for (uint64_t offset = 0; offset < held.size; offset += MAX_ACCESS) {
		size_t length =
			(size_t)(held.size - offset < MAX_ACCESS ? held.size - offset : MAX_ACCESS);
		ret = shmguard_pool_read(held.pool, offset, buffer, length, NULL);
		if (ret != 0 || memcmp(buffer, slot->expected + offset, length) != 0) {
			fail("final read of %s pool at %" PRIu64 ": %d",
				slot_kind_names[slot->kind], offset, ret);
			break;
		}
	}
	ret = shmguard_pool_write(held.pool, 0, slot->expected, PAGE, NULL);
	int expected = slot->kind == SLOT_READ_ONLY ? -EACCES
		: slot->kind == SLOT_WRITE_SEALED   ? -EPERM
						    : 0;
	if (ret != expected) {
		fail("final write of %s pool: %d, expected %d", slot_kind_names[slot->kind], ret,
			expected);
	}
	release(&held);
}

/* Drop the slot's last pool reference with a window open: the generation
 * must wait for the window, and go the moment it closes. */
static void
release_under_window(struct slot *slot, uint8_t *buffer)
{
	struct shmguard_access *access;
	void *data;
	if (shmguard_access_begin(slot->pool, 0, PAGE, SHMGUARD_ACCESS_READ, &access, &data) != 0) {
		fail("final window on %s pool", slot_kind_names[slot->kind]);
		shmguard_pool_unref(slot->pool);
		return;
	}
	shmguard_pool_unref(slot->pool);
	if (generation_retired_count() != 1) {
		fail("released %s pool: %u generations awaiting reclaim with a window open, not 1",
			slot_kind_names[slot->kind], generation_retired_count());
	}
	memcpy(buffer, data, PAGE);
	if (shmguard_access_end(access, NULL)) {
		fail("final window on %s pool faulted", slot_kind_names[slot->kind]);
	}
	if (memcmp(buffer, slot->expected, PAGE) != 0) {
		fail("released %s pool read wrong bytes", slot_kind_names[slot->kind]);
	}
	if (generation_retired_count() != 0) {
		fail("released %s pool: its generation outlived the last window",
			slot_kind_names[slot->kind]);
	}
}

static void
usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--seconds=N] [--seed=N] [--no-jitter] [--no-membarrier | "
		"--membarrier-fails-midway]\n",
		argv0);
}

int
main(int argc, char **argv)
{
	double seconds = 20;
	uint64_t seed = (uint64_t)time(NULL);
	bool with_jitter = true;
	bool with_membarrier = true;
	bool membarrier_fails_midway = false;
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--seconds=", 10) == 0) {
			seconds = atof(argv[i] + 10);
		} else if (strcmp(argv[i], "--no-jitter") == 0) {
			with_jitter = false;
		} else if (strcmp(argv[i], "--no-membarrier") == 0) {
			with_membarrier = false;
		} else if (strcmp(argv[i], "--membarrier-fails-midway") == 0) {
			membarrier_fails_midway = true;
		} else if (strncmp(argv[i], "--seed=", 7) == 0) {
			seed = strtoull(argv[i] + 7, NULL, 0);
		} else {
			usage(argv[0]);
			return 2;
		}
	}
	const char *env = getenv("SHMGUARD_STRESS_SECONDS");
	if (env != NULL && *env != '\0') {
		seconds = atof(env);
	}
	if (seed == 0) {
		seed = 1;
	}
	if ((!with_membarrier || membarrier_fails_midway) && under_valgrind()) {
		/* Meson's exit status for a skip. */
		printf("skipped: forbidding membarrier takes seccomp(), which valgrind does not "
		       "implement\n");
		return 77;
	}
	printf("shmguard-stress: %.1f s, seed %" PRIu64 ", %zu pools, %d readers, %d mutators\n",
		seconds, seed, SLOTS, READERS, MUTATORS);
	fflush(stdout);

	/* One malloc arena: per-thread arenas would stay mapped after the
	 * threads exit and blur the mapping count. */
	mallopt(M_ARENA_MAX, 1);
	for (unsigned i = 0; i < SLOTS; i++) {
		struct slot *slot = &slots[i];
		slot->index = i;
		slot->kind = slot_kinds[i];
		slot->expected = malloc(MAX_POOL_BYTES);
		if (slot->expected == NULL) {
			return 1;
		}
		for (uint64_t offset = 0; offset < MAX_POOL_BYTES; offset++) {
			slot->expected[offset] = pattern_byte(i, offset);
		}
		pthread_mutex_init(&slot->file_lock, NULL);
		pthread_mutex_init(&slot->pool_lock, NULL);
	}
	struct worker workers[READERS + MUTATORS];
	for (unsigned i = 0; i < READERS + MUTATORS; i++) {
		workers[i].index = i;
		workers[i].random = seed * 0x9e3779b97f4a7c15u + i + 1;
		workers[i].buffer = malloc(MAX_ACCESS);
		if (workers[i].buffer == NULL) {
			return 1;
		}
	}
	uint8_t *verify_buffer = malloc(MAX_ACCESS);
	if (verify_buffer == NULL) {
		return 1;
	}

	if (!with_membarrier && deny_membarrier(false) != 0) {
		fprintf(stderr, "could not forbid membarrier: %s\n", strerror(errno));
		return 1;
	}
	warm_up();
	warm_up_stacks();
	bool fenced = !shmguard_probe()[SHMGUARD_MECHANISM_MEMBARRIER].supported;
	if (fenced != guard_publish_needs_fence || (!with_membarrier && !fenced)) {
		fail("membarrier: probe says %s, windows %s a fence", fenced ? "no" : "yes",
			guard_publish_needs_fence ? "publish with" : "publish without");
	}
	printf("windows publish %s\n",
		fenced ? "with a fence (no membarrier)" : "without a fence (membarrier)");
	unsigned fds_before = count_fds();
	unsigned maps_before, memfd_maps_before;
	count_maps(&maps_before, &memfd_maps_before);
	uint64_t file_maps_before = atomic_load(&file_maps);
	uint64_t unmaps_before = atomic_load(&unmaps);
	uint64_t handler_before = guard_handler_entries();

	struct shmguard_budget_limits limits = {.max_generations_per_pool = 8};
	budget = shmguard_budget_create(&limits);
	if (budget == NULL) {
		return 1;
	}
	for (unsigned i = 0; i < SLOTS; i++) {
		struct slot *slot = &slots[i];
		slot->file_size = PAGE * MIN_POOL_PAGES * 2;
		slot->fd = slot_make_file(slot, slot->file_size, &slot->pool);
		if (slot->fd < 0) {
			return 1;
		}
	}

	void *(*const mains[MUTATORS])(void *) = {
		truncator_main,
		resizer_main,
		recycler_main,
		revalidator_main,
	};
	for (unsigned i = 0; i < READERS + MUTATORS; i++) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, THREAD_STACK);
		void *(*start)(void *) = i < READERS ? reader_main : mains[i - READERS];
		if (pthread_create(&workers[i].thread, &attr, start, &workers[i]) != 0) {
			fprintf(stderr, "pthread_create failed\n");
			return 1;
		}
		pthread_attr_destroy(&attr);
	}
	struct jitter_targets jitter = {
		.workers = workers,
		.count = READERS + MUTATORS,
		.random = seed ^ UINT64_C(0x5851f42d4c957f2d),
	};
	pthread_t jitter_thread;
	if (with_jitter) {
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setstacksize(&attr, THREAD_STACK);
		if (jitter_install() != 0 ||
			pthread_create(&jitter_thread, &attr, jitter_main, &jitter) != 0) {
			fprintf(stderr, "starting the jitter thread failed\n");
			return 1;
		}
		pthread_attr_destroy(&attr);
	}

	double start = now_seconds();
	unsigned max_pending = 0;
	while (now_seconds() - start < seconds && atomic_load(&failures) == 0) {
		sleep_us(50000);
		if (membarrier_fails_midway && now_seconds() - start >= seconds / 2) {
			membarrier_fails_midway = false;
			if (fenced) {
				fail("--membarrier-fails-midway: membarrier never worked here");
			} else if (deny_membarrier(true) != 0) {
				fail("could not forbid membarrier: %s", strerror(errno));
			} else {
				printf("membarrier forbidden after %.1f s\n",
					now_seconds() - start);
				fflush(stdout);
				fenced = true;
			}
		}
		unsigned pending = generation_retired_count();
		if (pending > max_pending) {
			max_pending = pending;
		}
	}
	if (with_jitter) {
		atomic_store(&jitter.stop, true);
		pthread_join(jitter_thread, NULL);
	}
	/* The last retirements find readers' windows open; those windows
	 * must unmap them as they close, with no later retirement to help. */
	atomic_store(&stop_mutators, true);
	for (unsigned i = READERS; i < READERS + MUTATORS; i++) {
		pthread_join(workers[i].thread, NULL);
	}
	sleep_us(100000);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < READERS; i++) {
		pthread_join(workers[i].thread, NULL);
	}
	double elapsed = now_seconds() - start;
	/* Every window is closed now. A retired generation that a window
	 * still held at the retirement's scan was to be unmapped when that
	 * window closed; none may still wait for a scan. */
	if (fenced && !guard_publish_needs_fence) {
		fail("membarrier fails, but windows still publish without a fence");
	}
	unsigned pending_after_run = generation_retired_count();
	if (pending_after_run != 0) {
		fail("%u retired generations still wait with every window closed",
			pending_after_run);
	}

	for (unsigned i = 0; i < SLOTS; i++) {
		verify_slot(&slots[i], verify_buffer);
	}
	for (unsigned i = 0; i < SLOTS; i++) {
		release_under_window(&slots[i], verify_buffer);
		slots[i].pool = NULL;
		close(slots[i].fd);
	}

	/* Leaks: every generation unmapped, every charge returned. */
	unsigned pending = generation_retired_count();
	uint64_t maps_made = atomic_load(&file_maps) - file_maps_before;
	uint64_t maps_gone = atomic_load(&unmaps) - unmaps_before;
	if (pending != 0) {
		fail("%u retired generations never reclaimed", pending);
	}
	if (maps_made != maps_gone) {
		fail("the library mapped files %" PRIu64 " times but unmapped %" PRIu64, maps_made,
			maps_gone);
	}
	if (budget_mappings_in_use() != 0) {
		fail("%u mappings still charged process-wide", budget_mappings_in_use());
	}
	if (shmguard_budget_get_pools(budget) != 0 ||
		shmguard_budget_get_mapped_bytes(budget) != 0) {
		fail("budget still charged: %u pools, %" PRIu64 " bytes",
			shmguard_budget_get_pools(budget),
			shmguard_budget_get_mapped_bytes(budget));
	}
	shmguard_budget_unref(budget);
	unsigned fds_after = count_fds();
	if (fds_after != fds_before) {
		fail("fds: %u before, %u after", fds_before, fds_after);
	}
	unsigned maps_after, memfd_maps_after;
	count_maps(&maps_after, &memfd_maps_after);
	if (memfd_maps_after != memfd_maps_before) {
		fail("/proc/self/maps: %u lines over our memfds (%u before)", memfd_maps_after,
			memfd_maps_before);
	}
	/* Sanitizers and valgrind map memory of their own as they go. */
	bool exact_maps = !UNDER_ASAN && !under_valgrind();
	if (exact_maps && maps_after != maps_before) {
		fail("/proc/self/maps: %u lines before, %u after", maps_before, maps_after);
	}

	printf("ran %.1f s\n", elapsed);
	for (unsigned i = 0; i < COUNTER_COUNT; i++) {
		printf("  %-42s %12" PRIu64 "\n", counter_names[i], atomic_load(&counters[i]));
	}
	printf("  %-42s %12" PRIu64 "\n", "SIGBUS handler entries",
		guard_handler_entries() - handler_before);
	printf("  %-42s %12" PRIu64 "\n", "zero-page remaps by the handler",
		atomic_load(&zero_remaps));
	printf("  %-42s %12" PRIu64 "\n", "file mappings made", maps_made);
	printf("  %-42s %12" PRIu64 "\n", "mappings unmapped (reclaims)", maps_gone);
	printf("  %-42s %12u\n", "most generations awaiting reclaim", max_pending);
	printf("  %-42s %12u\n", "awaiting reclaim after the run", pending_after_run);
	printf("  fds %u -> %u, /proc/self/maps lines %u -> %u%s\n", fds_before, fds_after,
		maps_before, maps_after, exact_maps ? "" : " (not compared under a sanitizer)");

	for (unsigned i = 0; i < READERS + MUTATORS; i++) {
		free(workers[i].buffer);
	}
	for (unsigned i = 0; i < SLOTS; i++) {
		free(slots[i].expected);
		pthread_mutex_destroy(&slots[i].file_lock);
		pthread_mutex_destroy(&slots[i].pool_lock);
	}
	free(verify_buffer);

	unsigned failed = atomic_load(&failures);
	if (failed > 0) {
		printf("FAILED: %u failures (seed %" PRIu64 ")\n", failed, seed);
		return 1;
	}
	printf("passed\n");
	return 0;
}

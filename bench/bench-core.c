/*
 * bench-core: what libshmguard's core costs next to the limits and next to
 * libwayland's wl_shm (issue 2's benchmarks).
 *
 * Everything runs in one process, on machines that are shared and noisy,
 * and nothing is pinned. Every figure is a median after a warm-up. Methods
 * that are compared run in short blocks that alternate (in a shuffled order
 * of methods), and a ratio is the median over pairs of neighbouring blocks:
 * both blocks of a pair see the same machine, and a block that another
 * process preempted is an outlier that the median drops.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include <shmguard/shmguard.h>

#include "sample.h"
#include "syscall-count.h"
#include "wayland-peer.h"

#define KiB ((size_t)1024)
#define MiB (1024 * KiB)

/* Read throughput: the sizes, and how many bytes one run copies. */
static const size_t read_sizes[] = {4 * KiB, 64 * KiB, 1 * MiB, 8 * MiB, 32 * MiB};
#define READ_SIZE_COUNT (sizeof(read_sizes) / sizeof(read_sizes[0]))
#define READ_SOURCE_SIZE (32 * MiB)
#define READ_BYTES_PER_RUN (64 * MiB)
#define READ_BLOCK_BYTES (1 * MiB)
#define READ_BLOCKS_MAX (READ_BYTES_PER_RUN / READ_BLOCK_BYTES)
/* Large copies: at least this many pairs per run all the same. */
#define READ_BLOCKS_MIN 8u
/* The libwayland buffer over the same bytes: 2048 x 4096 ARGB8888. */
#define PEER_WIDTH 2048
#define PEER_HEIGHT 4096

/* Window begin+end: blocks per run, pairs per block. */
#define WINDOW_BLOCKS_PER_RUN 20u
#define WINDOW_PAIRS_PER_BLOCK 100000u

/* Fault recovery: pool size, pools open in the crowded case, and rounds
 * alternating between one pool and many. */
#define FAULT_POOL_SIZE (64 * KiB)
#define FAULT_CROWD_POOLS 10000u
#define FAULT_ROUNDS 6u
#define FAULT_SAMPLES_PER_ROUND 40u

/* Resize: from 64 MiB to 64 MiB + one page. */
#define RESIZE_FROM (64 * MiB)
#define RESIZE_TO (64 * MiB + 4 * KiB)

/* Steady-state system call count: warm-up and counted rounds. */
#define STEADY_WARMUP_ROUNDS 1000ul
#define STEADY_COUNTED_ROUNDS 100000ul
#define STEADY_READ_SIZE (4 * KiB)

/* Pool creation: pool size, samples per run, and where the disk file
 * lives (/var/tmp is on disk in a default Debian install). */
#define CREATE_POOL_SIZE (64 * KiB)
#define CREATE_SAMPLES_PER_RUN 20u
#define CREATE_DISK_DIR "/var/tmp"

#define TARGETS_MAX 24

/* Keep the compiler from dropping a copy whose result is never read. */
static inline void
clobber(void *pointer)
{
	__asm__ volatile("" : : "r"(pointer) : "memory");
}

static void
fail(const char *format, ...)
{
	va_list args;
	va_start(args, format);
	fputs("bench-core: ", stderr);
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
	va_end(args);
	exit(1);
}

/* A fresh random order of @p count items (Fisher-Yates, xorshift32 from
 * @p state): methods that take turns run in a different order each run,
 * so none always follows the same neighbour. */
static void
order_shuffle(unsigned *order, unsigned count, uint32_t *state)
{
	for (unsigned i = 0; i < count; i++) {
		order[i] = i;
	}
	for (unsigned i = count; i > 1; i--) {
		*state ^= *state << 13;
		*state ^= *state >> 17;
		*state ^= *state << 5;
		unsigned j = *state % i;
		unsigned swap = order[i - 1];
		order[i - 1] = order[j];
		order[j] = swap;
	}
}

static const char *
size_to_str(size_t size, char *text, size_t text_size)
{
	if (size >= MiB && size % MiB == 0) {
		snprintf(text, text_size, "%zu MiB", size / MiB);
	} else {
		snprintf(text, text_size, "%zu KiB", size / KiB);
	}
	return text;
}

/* A memfd of @p size bytes without seals (so every pool over it uses the
 * guard, and libwayland's pool can raise SIGBUS), filled with a pattern. */
static int
source_create(const char *name, size_t size)
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
		fail("memfd of %zu bytes: %s", size, strerror(errno));
	}
	uint8_t *bytes = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bytes == MAP_FAILED) {
		fail("mapping the memfd: %s", strerror(errno));
	}
	for (size_t i = 0; i < size; i++) {
		bytes[i] = (uint8_t)(i * 131u + (i >> 12));
	}
	munmap(bytes, size);
	return fd;
}

static struct shmguard_pool *
pool_create_or_fail(int fd, uint64_t size)
{
	enum shmguard_pool_error error;
	struct shmguard_pool *pool = shmguard_pool_create(fd, size, NULL, &error);
	if (pool == NULL) {
		fail("shmguard_pool_create: %s", shmguard_pool_error_to_str(error));
	}
	return pool;
}

/* ------------------------------------------------------------------ */
/* Targets                                                             */
/* ------------------------------------------------------------------ */

enum verdict {
	VERDICT_PASS,
	VERDICT_MISS,
	VERDICT_NOT_MEASURED,
};

static const char *
verdict_to_str(enum verdict verdict)
{
	switch (verdict) {
	case VERDICT_PASS:
		return "PASS";
	case VERDICT_MISS:
		return "MISS";
	case VERDICT_NOT_MEASURED:
		return "n/a";
	}
	return "?";
}

struct target {
	char line[160];
	enum verdict verdict;
};

static struct target targets[TARGETS_MAX];
static unsigned target_count;

/* Record a target and print it where it was measured. */
static void
target_report(enum verdict verdict, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	struct target *target = &targets[target_count < TARGETS_MAX ? target_count++ : 0];
	vsnprintf(target->line, sizeof(target->line), format, args);
	va_end(args);
	target->verdict = verdict;
	printf("  [%s] %s\n", verdict_to_str(verdict), target->line);
}

static enum verdict
verdict_of(bool pass)
{
	return pass ? VERDICT_PASS : VERDICT_MISS;
}

/* ------------------------------------------------------------------ */
/* 1. Read throughput                                                  */
/* ------------------------------------------------------------------ */

enum read_method {
	/* The limit: memcpy through the pool's own mapping, inside one
	 * window held for the whole run (no bracket per copy). */
	READ_MEMCPY = 0,
	READ_WINDOW,
	READ_GUARDED,
	/* memcpy through a second plain mapping of the same pages: how much
	 * two mappings of the same bytes differ on this machine. */
	READ_MEMCPY_SECOND_MAPPING,
	READ_PROCESS_VM_READV,
	READ_WL_SHM,
	READ_METHOD_COUNT,
};

/* Names in the CSV, and column titles in the tables. */
static const char *const read_method_names[READ_METHOD_COUNT] = {
	"memcpy",
	"window",
	"guarded_read",
	"memcpy_second_mapping",
	"process_vm_readv",
	"wl_shm",
};
static const char *const read_method_titles[READ_METHOD_COUNT] = {
	"memcpy",
	"window",
	"guarded",
	"2nd map",
	"pvm_readv",
	"wl_shm",
};

struct read_bench {
	/* The same pages, seen three ways. */
	struct shmguard_pool *pool;
	const uint8_t *second_mapping; /* a plain MAP_SHARED mapping */
	struct wl_shm_buffer *wl_buffer; /* NULL without the libwayland peer */
	uint8_t *dst;
	unsigned runs;
	FILE *csv;
};

/* Copy @p size bytes from offset 0, @p iterations times, with @p method. */
static bool
read_run(const struct read_bench *bench, enum read_method method, size_t size, unsigned iterations,
	uint64_t *elapsed_ns)
{
	uint8_t *dst = bench->dst;
	struct shmguard_access *access;
	void *data;
	uint64_t start = sample_now_ns();
	switch (method) {
	case READ_MEMCPY:
		if (shmguard_access_begin(
			    bench->pool, 0, size, SHMGUARD_ACCESS_READ, &access, &data) != 0) {
			return false;
		}
		for (unsigned i = 0; i < iterations; i++) {
			memcpy(dst, data, size);
			clobber(dst);
		}
		if (shmguard_access_end(access, NULL)) {
			return false;
		}
		break;
	case READ_WINDOW:
		for (unsigned i = 0; i < iterations; i++) {
			if (shmguard_access_begin(bench->pool, 0, size, SHMGUARD_ACCESS_READ,
				    &access, &data) != 0) {
				return false;
			}
			memcpy(dst, data, size);
			clobber(dst);
			if (shmguard_access_end(access, NULL)) {
				return false;
			}
		}
		break;
	case READ_GUARDED:
		for (unsigned i = 0; i < iterations; i++) {
			if (shmguard_pool_read(bench->pool, 0, dst, size, NULL) != 0) {
				return false;
			}
			clobber(dst);
		}
		break;
	case READ_MEMCPY_SECOND_MAPPING:
		for (unsigned i = 0; i < iterations; i++) {
			memcpy(dst, bench->second_mapping, size);
			clobber(dst);
		}
		break;
	case READ_PROCESS_VM_READV: {
		/* The pool's pages at their address in the pool's mapping;
		 * the kernel copies, so a truncation would be EFAULT. */
		if (shmguard_access_begin(
			    bench->pool, 0, size, SHMGUARD_ACCESS_READ, &access, &data) != 0 ||
			shmguard_access_end(access, NULL)) {
			return false;
		}
		pid_t self = getpid();
		struct iovec local = {.iov_base = dst, .iov_len = size};
		struct iovec remote = {.iov_base = data, .iov_len = size};
		for (unsigned i = 0; i < iterations; i++) {
			if (process_vm_readv(self, &local, 1, &remote, 1, 0) != (ssize_t)size) {
				return false;
			}
			clobber(dst);
		}
		break;
	}
	case READ_WL_SHM:
		for (unsigned i = 0; i < iterations; i++) {
			wl_shm_buffer_begin_access(bench->wl_buffer);
			memcpy(dst, wl_shm_buffer_get_data(bench->wl_buffer), size);
			clobber(dst);
			wl_shm_buffer_end_access(bench->wl_buffer);
		}
		break;
	case READ_METHOD_COUNT:
		return false;
	}
	*elapsed_ns = sample_now_ns() - start;
	return true;
}

static void
print_read_row_label(size_t size)
{
	char label[32];
	printf("  %-8s", size_to_str(size, label, sizeof(label)));
}

static void
bench_read_throughput(const struct read_bench *bench)
{
	unsigned runs = bench->runs;
	unsigned methods = bench->wl_buffer != NULL ? READ_METHOD_COUNT : READ_WL_SHM;
	/* Block samples per method (memcpy has a block next to each other
	 * method's), and a ratio per pair of neighbouring blocks. */
	size_t samples_max = (size_t)runs * READ_BLOCKS_MAX;
	double *rates = calloc(READ_METHOD_COUNT * samples_max, sizeof(double));
	double *limit_rates = calloc(READ_METHOD_COUNT * samples_max, sizeof(double));
	double *ratios = calloc(READ_METHOD_COUNT * samples_max, sizeof(double));
	if (rates == NULL || limit_rates == NULL || ratios == NULL) {
		fail("out of memory");
	}
	double median_rate[READ_SIZE_COUNT][READ_METHOD_COUNT];
	double median_ratio[READ_SIZE_COUNT][READ_METHOD_COUNT];

	for (size_t s = 0; s < READ_SIZE_COUNT; s++) {
		size_t size = read_sizes[s];
		/* A run alternates blocks of about READ_BLOCK_BYTES between
		 * memcpy and the method, so that the two blocks of a pair see
		 * the same disturbance from the rest of the machine, and a
		 * block that was preempted is an outlier the median drops. */
		unsigned block_copies =
			size >= READ_BLOCK_BYTES ? 1 : (unsigned)(READ_BLOCK_BYTES / size);
		unsigned blocks = (unsigned)(READ_BYTES_PER_RUN / (size * block_copies));
		if (blocks < READ_BLOCKS_MIN) {
			blocks = READ_BLOCKS_MIN;
		}
		double block_bytes = (double)size * block_copies;
		uint64_t elapsed;
		for (unsigned m = 0; m < methods; m++) {
			if (!read_run(bench, m, size, block_copies, &elapsed)) {
				fail("%s of %zu bytes failed", read_method_names[m], size);
			}
		}
		size_t limit_count = 0;
		size_t count = 0;
		uint32_t shuffle_state = 0x9e3779b9u;
		for (unsigned run = 0; run < runs; run++) {
			unsigned order[READ_METHOD_COUNT];
			order_shuffle(order, methods, &shuffle_state);
			for (unsigned k = 0; k < methods; k++) {
				unsigned m = order[k];
				if (m == READ_MEMCPY) {
					continue;
				}
				for (unsigned block = 0; block < blocks; block++) {
					uint64_t pair[2];
					for (unsigned half = 0; half < 2; half++) {
						unsigned limit_half = (half + block + run) % 2;
						unsigned method = limit_half ? READ_MEMCPY : m;
						if (!read_run(bench, method, size, block_copies,
							    &elapsed)) {
							fail("%s of %zu bytes failed",
								read_method_names[method], size);
						}
						pair[limit_half] = elapsed;
					}
					rates[m * samples_max + count + block] =
						block_bytes / (double)pair[0];
					limit_rates[limit_count++] = block_bytes / (double)pair[1];
					ratios[m * samples_max + count + block] =
						(double)pair[1] / (double)pair[0];
				}
			}
			count += blocks;
		}
		for (unsigned m = 0; m < methods; m++) {
			if (m == READ_MEMCPY) {
				median_ratio[s][m] = 1.0;
				median_rate[s][m] =
					sample_stats_of(limit_rates, limit_count).median;
			} else {
				median_ratio[s][m] =
					sample_stats_of(&ratios[m * samples_max], count).median;
				median_rate[s][m] =
					sample_stats_of(&rates[m * samples_max], count).median;
			}
			if (bench->csv != NULL) {
				fprintf(bench->csv, "%zu,%s,%.3f\n", size, read_method_names[m],
					median_rate[s][m]);
			}
		}
	}

	printf("\n1. Read throughput from a memfd-backed pool, GB/s (10^9 bytes/s). In each of\n"
	       "   %u runs every method copies %zu MiB in blocks of about %zu MiB (one copy when\n"
	       "   larger), each next to a block of memcpy, the limit. GB/s: median over the\n"
	       "   blocks; ratio: median over the pairs of memcpy's time / the method's.\n"
	       "     memcpy     through the pool's own mapping, one window held for a block\n"
	       "     window     shmguard_access_begin + memcpy + shmguard_access_end per copy\n"
	       "     guarded    shmguard_pool_read\n"
	       "     2nd map    memcpy through a second plain mapping of the same pages\n"
	       "     pvm_readv  process_vm_readv from our own pid\n"
	       "     wl_shm     wl_shm_buffer_begin_access + memcpy + wl_shm_buffer_end_access,\n"
	       "                through libwayland's own mapping of the same pages\n",
		runs, READ_BYTES_PER_RUN / MiB, READ_BLOCK_BYTES / MiB);
	printf("\n  %-8s", "GB/s");
	for (unsigned m = 0; m < READ_METHOD_COUNT; m++) {
		printf(" %10s", read_method_titles[m]);
	}
	printf("\n");
	for (size_t s = 0; s < READ_SIZE_COUNT; s++) {
		print_read_row_label(read_sizes[s]);
		for (unsigned m = 0; m < READ_METHOD_COUNT; m++) {
			if (m < methods) {
				printf(" %10.2f", median_rate[s][m]);
			} else {
				printf(" %10s", "n/a");
			}
		}
		printf("\n");
	}
	printf("\n  %-8s", "x memcpy");
	for (unsigned m = 1; m < READ_METHOD_COUNT; m++) {
		printf(" %10s", read_method_titles[m]);
	}
	printf("\n");
	for (size_t s = 0; s < READ_SIZE_COUNT; s++) {
		print_read_row_label(read_sizes[s]);
		for (unsigned m = 1; m < READ_METHOD_COUNT; m++) {
			if (m < methods) {
				printf(" %9.3fx", median_ratio[s][m]);
			} else {
				printf(" %10s", "n/a");
			}
		}
		printf("\n");
	}

	printf("\n");
	char label[32];
	for (size_t s = 0; s < READ_SIZE_COUNT; s++) {
		double ratio = median_ratio[s][READ_WINDOW];
		if (read_sizes[s] >= 1 * MiB) {
			target_report(verdict_of(ratio >= 0.99),
				"window read >= 0.99x memcpy at %s: %.3fx",
				size_to_str(read_sizes[s], label, sizeof(label)), ratio);
		}
	}
	for (size_t s = 0; s < READ_SIZE_COUNT; s++) {
		double ratio = median_ratio[s][READ_GUARDED];
		if (read_sizes[s] >= 64 * KiB) {
			target_report(verdict_of(ratio >= 0.95),
				"guarded read >= 0.95x memcpy at %s: %.3fx",
				size_to_str(read_sizes[s], label, sizeof(label)), ratio);
		}
	}
	free(ratios);
	free(limit_rates);
	free(rates);
}

/* ------------------------------------------------------------------ */
/* 2. Window begin+end                                                 */
/* ------------------------------------------------------------------ */

static double
window_pairs_ns(struct shmguard_pool *pool, unsigned pairs)
{
	uint64_t start = sample_now_ns();
	for (unsigned i = 0; i < pairs; i++) {
		struct shmguard_access *access;
		void *data;
		if (shmguard_access_begin(pool, 0, 4 * KiB, SHMGUARD_ACCESS_READ, &access, &data) !=
			0) {
			fail("shmguard_access_begin failed");
		}
		clobber(data);
		shmguard_access_end(access, NULL);
	}
	return (double)(sample_now_ns() - start) / pairs;
}

static void
bench_window_cost(struct shmguard_pool *pool, struct wl_shm_buffer *wl_buffer, unsigned runs)
{
	/* Blocks of pairs, ours and libwayland's alternating, so that both
	 * blocks of a pair see the same machine; medians drop the blocks
	 * that were preempted. */
	size_t blocks = (size_t)runs * WINDOW_BLOCKS_PER_RUN;
	double *ours = calloc(blocks, sizeof(double));
	double *theirs = calloc(blocks, sizeof(double));
	double *ratios = calloc(blocks, sizeof(double));
	if (ours == NULL || theirs == NULL || ratios == NULL) {
		fail("out of memory");
	}
	window_pairs_ns(pool, WINDOW_PAIRS_PER_BLOCK);
	if (wl_buffer != NULL) {
		wayland_peer_time_pairs_ns(wl_buffer, WINDOW_PAIRS_PER_BLOCK);
	}
	for (size_t block = 0; block < blocks; block++) {
		if (wl_buffer != NULL && block % 2 == 1) {
			theirs[block] =
				wayland_peer_time_pairs_ns(wl_buffer, WINDOW_PAIRS_PER_BLOCK);
		}
		ours[block] = window_pairs_ns(pool, WINDOW_PAIRS_PER_BLOCK);
		if (wl_buffer != NULL && block % 2 == 0) {
			theirs[block] =
				wayland_peer_time_pairs_ns(wl_buffer, WINDOW_PAIRS_PER_BLOCK);
		}
		ratios[block] = wl_buffer != NULL ? ours[block] / theirs[block] : 0;
	}

	printf("\n2. Access window begin+end, ns per pair: a tight loop, no copy; %u runs of %u\n"
	       "   blocks of %u pairs, ours and libwayland's alternating; medians over the\n"
	       "   blocks, ratio over neighbouring blocks\n",
		runs, WINDOW_BLOCKS_PER_RUN, WINDOW_PAIRS_PER_BLOCK);
	double ratio = sample_stats_of(ratios, blocks).median;
	struct sample_stats our_stats = sample_stats_of(ours, blocks);
	printf("  %-56s %7.2f ns  (quartiles %.2f-%.2f)\n",
		"libshmguard shmguard_access_begin + shmguard_access_end", our_stats.median,
		our_stats.q1, our_stats.q3);
	if (wl_buffer != NULL) {
		struct sample_stats their_stats = sample_stats_of(theirs, blocks);
		printf("  %-56s %7.2f ns  (quartiles %.2f-%.2f)\n",
			"libwayland wl_shm_buffer_begin_access + _end_access", their_stats.median,
			their_stats.q1, their_stats.q3);
		printf("  %-56s %7.3fx\n", "ratio libshmguard / libwayland", ratio);
	}
	printf("\n");
	target_report(verdict_of(our_stats.median <= 5.0), "window begin+end <= 5 ns: %.2f ns",
		our_stats.median);
	if (wl_buffer != NULL) {
		target_report(verdict_of(ratio < 0.5),
			"window begin+end under half of libwayland's pair: %.3fx", ratio);
	} else {
		target_report(VERDICT_NOT_MEASURED,
			"window begin+end under half of libwayland's pair: no libwayland peer");
	}
	free(ratios);
	free(theirs);
	free(ours);
}

/* ------------------------------------------------------------------ */
/* 3. Fault recovery                                                   */
/* ------------------------------------------------------------------ */

enum fault_site {
	/* Context: a page fault that raises no signal (fresh mapping). */
	FAULT_SITE_HEALTHY = 0,
	/* Truncate, then touch inside an access window: zero-page remap. */
	FAULT_SITE_WINDOW,
	/* Truncate, then a guarded read: siglongjmp out of the copy. */
	FAULT_SITE_GUARDED_READ,
	FAULT_SITE_COUNT,
};

static const char *const fault_site_titles[FAULT_SITE_COUNT] = {
	"healthy first touch (no SIGBUS; context)",
	"truncated, touch in a window (zero pages)",
	"truncated, guarded read (siglongjmp)",
};

struct fault_bench {
	int fd;
	struct shmguard_pool *pool;
	uint8_t scratch[4 * KiB];
};

/* One fault at @p site, in microseconds. Set-up (restoring the file and a
 * fresh mapping generation, then truncating) is not timed. */
static double
fault_sample(struct fault_bench *bench, enum fault_site site)
{
	if (ftruncate(bench->fd, FAULT_POOL_SIZE) != 0 ||
		shmguard_pool_revalidate(bench->pool) != 0) {
		fail("restoring the faulting pool: %s", strerror(errno));
	}
	uint64_t start = 0;
	uint64_t end = 0;
	switch (site) {
	case FAULT_SITE_HEALTHY: {
		/* The page exists (a restored file has a hole there): the
		 * touch maps it, as for any healthy first access. */
		uint8_t byte = 1;
		if (pwrite(bench->fd, &byte, 1, 0) != 1) {
			fail("pwrite: %s", strerror(errno));
		}
		const volatile uint8_t *bytes =
			mmap(NULL, FAULT_POOL_SIZE, PROT_READ, MAP_SHARED, bench->fd, 0);
		if (bytes == MAP_FAILED) {
			fail("mmap: %s", strerror(errno));
		}
		start = sample_now_ns();
		(void)bytes[0];
		end = sample_now_ns();
		munmap((void *)(uintptr_t)bytes, FAULT_POOL_SIZE);
		break;
	}
	case FAULT_SITE_WINDOW: {
		if (ftruncate(bench->fd, 0) != 0) {
			fail("ftruncate: %s", strerror(errno));
		}
		struct shmguard_access *access;
		void *data;
		struct shmguard_fault_report report;
		start = sample_now_ns();
		if (shmguard_access_begin(bench->pool, 0, FAULT_POOL_SIZE, SHMGUARD_ACCESS_READ,
			    &access, &data) != 0) {
			fail("shmguard_access_begin failed");
		}
		uint8_t byte = *(const volatile uint8_t *)data;
		bool faulted = shmguard_access_end(access, &report);
		end = sample_now_ns();
		if (!faulted || report.kind != SHMGUARD_FAULT_TRUNCATED || byte != 0) {
			fail("a window on a truncated pool read no zeros or reported no truncation");
		}
		break;
	}
	case FAULT_SITE_GUARDED_READ: {
		if (ftruncate(bench->fd, 0) != 0) {
			fail("ftruncate: %s", strerror(errno));
		}
		struct shmguard_fault_report report;
		start = sample_now_ns();
		int ret = shmguard_pool_read(
			bench->pool, 0, bench->scratch, sizeof(bench->scratch), &report);
		end = sample_now_ns();
		if (ret != -EFAULT || report.kind != SHMGUARD_FAULT_TRUNCATED) {
			fail("a guarded read of a truncated pool returned %d, not -EFAULT", ret);
		}
		break;
	}
	case FAULT_SITE_COUNT:
		break;
	}
	return (double)(end - start) / 1000.0;
}

/* Tiny pools that are only open, each over its own memfd. */
static unsigned
crowd_create(struct shmguard_pool **crowd, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		int fd = memfd_create("bench-crowd", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, 4 * KiB) != 0) {
			fail("memfd for pool %u: %s", i, strerror(errno));
		}
		enum shmguard_pool_error error;
		crowd[i] = shmguard_pool_create(fd, 4 * KiB, NULL, &error);
		close(fd);
		if (crowd[i] == NULL) {
			fail("pool %u of %u: %s", i + 1, count, shmguard_pool_error_to_str(error));
		}
	}
	return count;
}

static void
crowd_destroy(struct shmguard_pool **crowd, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		shmguard_pool_unref(crowd[i]);
	}
}

/* How many more pools the fd limit allows (each pool holds a dup of its
 * fd), raising the soft limit up to the hard one if needed. */
static unsigned
crowd_size_allowed(unsigned wanted)
{
	const rlim_t margin = 256;
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) != 0) {
		return 0;
	}
	rlim_t needed = (rlim_t)wanted + margin;
	if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
		limit.rlim_cur = limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= needed
			? needed
			: limit.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
			getrlimit(RLIMIT_NOFILE, &limit);
		}
	}
	unsigned allowed = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed
		? wanted
		: (limit.rlim_cur > margin ? (unsigned)(limit.rlim_cur - margin) : 0);
	/* The library keeps its pools to half of the open-file limit by
	 * default; this benchmark means to open that many on purpose. */
	shmguard_set_max_pool_fds(allowed + margin);
	return allowed;
}

static void
bench_fault_recovery(void)
{
	struct fault_bench *bench = calloc(1, sizeof(*bench));
	if (bench == NULL) {
		fail("out of memory");
	}
	bench->fd = source_create("bench-fault", FAULT_POOL_SIZE);
	bench->pool = pool_create_or_fail(bench->fd, FAULT_POOL_SIZE);

	unsigned crowd_wanted = FAULT_CROWD_POOLS - 1;
	unsigned crowd_count = crowd_size_allowed(crowd_wanted);
	struct shmguard_pool **crowd = calloc(crowd_count + 1, sizeof(*crowd));
	size_t per_condition = (size_t)FAULT_ROUNDS / 2 * FAULT_SAMPLES_PER_ROUND;
	double *samples = calloc(2 * FAULT_SITE_COUNT * per_condition, sizeof(double));
	if (crowd == NULL || samples == NULL) {
		fail("out of memory");
	}

	/* Warm up every path once. */
	for (unsigned site = 0; site < FAULT_SITE_COUNT; site++) {
		fault_sample(bench, site);
	}
	/* Alternate: one pool open, then crowd_count more, and again. */
	size_t filled[2] = {0, 0};
	for (unsigned round = 0; round < FAULT_ROUNDS; round++) {
		unsigned crowded = round % 2;
		if (crowded) {
			crowd_create(crowd, crowd_count);
		}
		for (unsigned i = 0; i < FAULT_SAMPLES_PER_ROUND; i++) {
			for (unsigned k = 0; k < FAULT_SITE_COUNT; k++) {
				unsigned site = (i + k) % FAULT_SITE_COUNT;
				double *slot = &samples[(crowded * FAULT_SITE_COUNT + site) *
					per_condition];
				slot[filled[crowded] + i] = fault_sample(bench, site);
			}
		}
		filled[crowded] += FAULT_SAMPLES_PER_ROUND;
		if (crowded) {
			crowd_destroy(crowd, crowd_count);
		}
	}

	unsigned total_crowded = crowd_count + 1;
	printf("\n3. Fault recovery, us per fault: median (interquartile range) of %zu faults per\n"
	       "   case; the cases alternate %u times between 1 pool open and %u pools open\n"
	       "   (each tiny pool over its own memfd). Timed from before begin (or read) to\n"
	       "   after end (or the read's return); restoring the file and the pool between\n"
	       "   faults is not timed.\n",
		per_condition, FAULT_ROUNDS, total_crowded);
	char crowd_title[32];
	snprintf(crowd_title, sizeof(crowd_title), "%u pools open", total_crowded);
	printf("  %-42s %21s %21s %7s\n", "", "1 pool open", crowd_title, "ratio");
	struct sample_stats stats[2][FAULT_SITE_COUNT];
	for (unsigned site = 0; site < FAULT_SITE_COUNT; site++) {
		printf("  %-42s", fault_site_titles[site]);
		for (unsigned crowded = 0; crowded < 2; crowded++) {
			stats[crowded][site] = sample_stats_of(
				&samples[(crowded * FAULT_SITE_COUNT + site) * per_condition],
				per_condition);
			printf(" %7.2f (%5.2f-%5.2f)", stats[crowded][site].median,
				stats[crowded][site].q1, stats[crowded][site].q3);
		}
		printf(" %6.3fx\n", stats[1][site].median / stats[0][site].median);
	}
	printf("\n");

	for (unsigned site = FAULT_SITE_WINDOW; site < FAULT_SITE_COUNT; site++) {
		const char *name = site == FAULT_SITE_WINDOW ? "window" : "guarded read";
		double worst = stats[0][site].median > stats[1][site].median
			? stats[0][site].median
			: stats[1][site].median;
		target_report(verdict_of(worst <= 10.0),
			"%s fault recovery <= 10 us: %.2f us (1 pool), %.2f us (%u pools)", name,
			stats[0][site].median, stats[1][site].median, total_crowded);
	}
	/* What more mappings cost the kernel's own page fault path. */
	double healthy_difference =
		stats[1][FAULT_SITE_HEALTHY].median - stats[0][FAULT_SITE_HEALTHY].median;
	for (unsigned site = FAULT_SITE_WINDOW; site < FAULT_SITE_COUNT; site++) {
		const char *name = site == FAULT_SITE_WINDOW ? "window" : "guarded read";
		double difference = stats[1][site].median - stats[0][site].median;
		double band0 = stats[0][site].q3 - stats[0][site].q1;
		double band1 = stats[1][site].q3 - stats[1][site].q1;
		double band = band0 > band1 ? band0 : band1;
		bool pass = total_crowded >= FAULT_CROWD_POOLS &&
			(difference < 0 ? -difference : difference) <= band;
		target_report(verdict_of(pass),
			"%s fault, %u pools vs 1: %+.2f us, noise (IQR) %.2f us, plain fault %+.2f us",
			name, total_crowded, difference, band, healthy_difference);
	}
	free(samples);
	free(crowd);
	shmguard_pool_unref(bench->pool);
	close(bench->fd);
	free(bench);
}

/* ------------------------------------------------------------------ */
/* 4. Resize                                                           */
/* ------------------------------------------------------------------ */

/* Read one byte of every page, so the mapping's page tables are full (a
 * pool whose buffers were displayed before it grew). */
static void
touch_pages(const volatile uint8_t *bytes, size_t size)
{
	uint8_t sum = 0;
	for (size_t offset = 0; offset < size; offset += 4 * KiB) {
		sum = (uint8_t)(sum + bytes[offset]);
	}
	clobber(&sum);
}

enum resize_kind {
	RESIZE_POOL = 0,
	RESIZE_POOL_TOUCHED,
	RESIZE_RAW,
	RESIZE_RAW_TOUCHED,
	RESIZE_MREMAP,
	RESIZE_MREMAP_TOUCHED,
	RESIZE_KIND_COUNT,
};

static double
resize_sample(int fd, enum resize_kind kind)
{
	bool touched = kind == RESIZE_POOL_TOUCHED || kind == RESIZE_RAW_TOUCHED ||
		kind == RESIZE_MREMAP_TOUCHED;
	if (ftruncate(fd, RESIZE_FROM) != 0) {
		fail("ftruncate: %s", strerror(errno));
	}
	uint64_t start;
	uint64_t end;
	if (kind == RESIZE_POOL || kind == RESIZE_POOL_TOUCHED) {
		struct shmguard_pool *pool = pool_create_or_fail(fd, RESIZE_FROM);
		if (touched) {
			struct shmguard_access *access;
			void *data;
			if (shmguard_access_begin(pool, 0, RESIZE_FROM, SHMGUARD_ACCESS_READ,
				    &access, &data) != 0) {
				fail("shmguard_access_begin failed");
			}
			touch_pages(data, RESIZE_FROM);
			shmguard_access_end(access, NULL);
		}
		if (ftruncate(fd, RESIZE_TO) != 0) {
			fail("ftruncate: %s", strerror(errno));
		}
		start = sample_now_ns();
		int ret = shmguard_pool_resize(pool, RESIZE_TO, NULL);
		end = sample_now_ns();
		if (ret != 0) {
			fail("shmguard_pool_resize: %s", strerror(-ret));
		}
		shmguard_pool_unref(pool);
	} else {
		/* Context: what the same change costs the kernel as a fresh
		 * mapping plus an unmap (what a new generation does), and as
		 * an mremap that moves the page tables along (what
		 * libwayland does when no access is open). */
		void *old = mmap(NULL, RESIZE_FROM, PROT_READ, MAP_SHARED, fd, 0);
		if (old == MAP_FAILED) {
			fail("mmap: %s", strerror(errno));
		}
		if (touched) {
			touch_pages(old, RESIZE_FROM);
		}
		if (ftruncate(fd, RESIZE_TO) != 0) {
			fail("ftruncate: %s", strerror(errno));
		}
		start = sample_now_ns();
		void *fresh;
		if (kind == RESIZE_RAW || kind == RESIZE_RAW_TOUCHED) {
			fresh = mmap(NULL, RESIZE_TO, PROT_READ, MAP_SHARED, fd, 0);
			munmap(old, RESIZE_FROM);
		} else {
			fresh = mremap(old, RESIZE_FROM, RESIZE_TO, MREMAP_MAYMOVE);
		}
		end = sample_now_ns();
		if (fresh == MAP_FAILED) {
			fail("mmap: %s", strerror(errno));
		}
		munmap(fresh, RESIZE_TO);
	}
	return (double)(end - start) / 1000.0;
}

static void
bench_resize(unsigned runs)
{
	int fd = source_create("bench-resize", RESIZE_TO);
	double *samples = calloc((size_t)RESIZE_KIND_COUNT * runs, sizeof(double));
	if (samples == NULL) {
		fail("out of memory");
	}
	for (unsigned kind = 0; kind < RESIZE_KIND_COUNT; kind++) {
		resize_sample(fd, kind);
	}
	for (unsigned run = 0; run < runs; run++) {
		for (unsigned k = 0; k < RESIZE_KIND_COUNT; k++) {
			unsigned kind = (run + k) % RESIZE_KIND_COUNT;
			samples[kind * runs + run] = resize_sample(fd, kind);
		}
	}
	double median[RESIZE_KIND_COUNT];
	for (unsigned kind = 0; kind < RESIZE_KIND_COUNT; kind++) {
		median[kind] = sample_stats_of(&samples[kind * runs], runs).median;
	}
	printf("\n4. Resize of a 64 MiB pool to 64 MiB + 4 KiB after ftruncate, us (median of %u)\n",
		runs);
	printf("  %-46s %11s %11s\n", "", "untouched", "all pages");
	printf("  %-46s %8.1f us %8.1f us\n", "shmguard_pool_resize", median[RESIZE_POOL],
		median[RESIZE_POOL_TOUCHED]);
	printf("  %-46s %8.1f us %8.1f us\n", "mmap new + munmap old (context)", median[RESIZE_RAW],
		median[RESIZE_RAW_TOUCHED]);
	printf("  %-46s %8.1f us %8.1f us\n", "mremap MAYMOVE (libwayland's way, context)",
		median[RESIZE_MREMAP], median[RESIZE_MREMAP_TOUCHED]);
	printf("  (\"all pages\": every page of the old mapping was read before the resize,\n"
	       "  so unmapping it has to clear 16384 page-table entries)\n");
	free(samples);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* 5. System calls in steady state                                     */
/* ------------------------------------------------------------------ */

struct steady_loop {
	unsigned long rounds;
	bool ok;
};

/* Window begin/end pairs and guarded reads on one pool: @p arg's rounds
 * of each between two marks, after a warm-up. */
static void
steady_state_loop(void *arg)
{
	struct steady_loop *loop = arg;
	static uint8_t scratch[STEADY_READ_SIZE];
	int fd = source_create("bench-steady", 64 * KiB);
	struct shmguard_pool *pool = pool_create_or_fail(fd, 64 * KiB);
	loop->ok = false;

	for (unsigned long i = 0; i < STEADY_WARMUP_ROUNDS + loop->rounds; i++) {
		if (i == STEADY_WARMUP_ROUNDS) {
			syscall_count_mark();
		}
		struct shmguard_access *access;
		void *data;
		if (shmguard_access_begin(
			    pool, 0, STEADY_READ_SIZE, SHMGUARD_ACCESS_READ, &access, &data) != 0) {
			goto out;
		}
		clobber(data);
		if (shmguard_access_end(access, NULL)) {
			goto out;
		}
		if (shmguard_pool_read(pool, 0, scratch, sizeof(scratch), NULL) != 0) {
			goto out;
		}
		clobber(scratch);
	}
	syscall_count_mark();
	loop->ok = true;
out:
	shmguard_pool_unref(pool);
	close(fd);
}

static void
bench_syscalls(void)
{
	printf("\n5. System calls per access in steady state\n");
	fflush(stdout);
	struct steady_loop loop = {.rounds = STEADY_COUNTED_ROUNDS};
	long count = -1;
	int ret = syscall_count_in_child(steady_state_loop, &loop, &count);
	if (ret != 0) {
		printf("  could not count with ptrace: %s\n"
		       "  count with strace instead: the totals of\n"
		       "    strace -f -c bench-core --syscall-loop 1000\n"
		       "    strace -f -c bench-core --syscall-loop 1000000\n"
		       "  are the same when an access makes no system call\n\n",
			strerror(-ret));
		target_report(VERDICT_NOT_MEASURED, "zero system calls per access: ptrace failed");
		return;
	}
	unsigned long accesses = 2 * STEADY_COUNTED_ROUNDS;
	printf("  How: a forked copy of this process ran %lu warm-up rounds, then %lu window\n"
	       "  begin/end pairs and %lu guarded %zu KiB reads between two getppid() marks,\n"
	       "  while this process stopped it at every system call entry with\n"
	       "  ptrace(PTRACE_SYSCALL) (as strace does) and counted the entries between them.\n"
	       "  Cross-check: strace -f -c bench-core --syscall-loop N gives the same totals\n"
	       "  for N = 1000 and N = 1000000.\n",
		STEADY_WARMUP_ROUNDS, STEADY_COUNTED_ROUNDS, STEADY_COUNTED_ROUNDS,
		STEADY_READ_SIZE / KiB);
	printf("  system calls counted: %ld over %lu accesses = %.6f per access\n\n", count,
		accesses, (double)count / (double)accesses);
	target_report(verdict_of(count == 0), "zero system calls per access: %ld in %lu accesses",
		count, accesses);
}

/* bench-core --syscall-loop N: the same loop, in this process, for strace. */
static int
run_syscall_loop(unsigned long rounds)
{
	struct steady_loop loop = {.rounds = rounds};
	steady_state_loop(&loop);
	if (!loop.ok) {
		fprintf(stderr, "bench-core: an access failed in the steady-state loop\n");
		return 1;
	}
	printf("bench-core: %lu warm-up rounds, then %lu window begin/end pairs and %lu guarded\n"
	       "%zu KiB reads between two getppid() calls. Under strace -f -c, the totals do not\n"
	       "change with N when an access makes no system call.\n",
		STEADY_WARMUP_ROUNDS, rounds, rounds, STEADY_READ_SIZE / KiB);
	return 0;
}

/* ------------------------------------------------------------------ */
/* 6. Pool creation                                                    */
/* ------------------------------------------------------------------ */

/* System calls shmguard_pool_create() made for an unsealed memfd before
 * files were vetted for what backs them (commit "bench: time pool
 * creation"): vetting must not add one to the memfd path. */
#define CREATE_MEMFD_SYSCALLS_BEFORE_VETTING 9l

enum create_kind {
	CREATE_MEMFD = 0,
	CREATE_MEMFD_SEALED,
	CREATE_DISK,
	CREATE_KIND_COUNT,
};

static const char *const create_kind_titles[CREATE_KIND_COUNT] = {
	"memfd, no seals",
	"memfd, F_SEAL_SHRINK",
	"file on disk (" CREATE_DISK_DIR ")",
};

/* A file of @p size bytes for @p kind; -1 (with a message) if the disk
 * file cannot be made. */
static int
create_source(enum create_kind kind, size_t size)
{
	if (kind != CREATE_DISK) {
		int fd = memfd_create("bench-create", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
			fail("memfd of %zu bytes: %s", size, strerror(errno));
		}
		if (kind == CREATE_MEMFD_SEALED && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
			fail("F_ADD_SEALS: %s", strerror(errno));
		}
		return fd;
	}
	char path[] = CREATE_DISK_DIR "/bench-create-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		printf("  (no file in %s: %s)\n", CREATE_DISK_DIR, strerror(errno));
		return -1;
	}
	unlink(path);
	if (ftruncate(fd, (off_t)size) != 0) {
		fail("ftruncate: %s", strerror(errno));
	}
	return fd;
}

/* Microseconds one shmguard_pool_create() of @p fd takes (the unref is
 * not timed). */
static double
create_sample(int fd)
{
	enum shmguard_pool_error error;
	uint64_t start = sample_now_ns();
	struct shmguard_pool *pool = shmguard_pool_create(fd, CREATE_POOL_SIZE, NULL, &error);
	uint64_t end = sample_now_ns();
	if (pool == NULL) {
		fail("shmguard_pool_create: %s", shmguard_pool_error_to_str(error));
	}
	shmguard_pool_unref(pool);
	return (double)(end - start) / 1000.0;
}

struct create_count {
	int fd;
	bool ok;
};

/* One counted shmguard_pool_create() after a warm-up one (the first pool
 * of a process installs the SIGBUS handler). */
static void
create_count_body(void *arg)
{
	struct create_count *count = arg;
	count->ok = false;
	struct shmguard_pool *warm = shmguard_pool_create(count->fd, CREATE_POOL_SIZE, NULL, NULL);
	shmguard_pool_unref(warm);
	syscall_count_mark();
	struct shmguard_pool *pool = shmguard_pool_create(count->fd, CREATE_POOL_SIZE, NULL, NULL);
	syscall_count_mark();
	count->ok = pool != NULL && warm != NULL;
	shmguard_pool_unref(pool);
}

static void
bench_pool_create(unsigned runs)
{
	int fds[CREATE_KIND_COUNT];
	for (unsigned kind = 0; kind < CREATE_KIND_COUNT; kind++) {
		fds[kind] = create_source(kind, CREATE_POOL_SIZE);
	}
	unsigned samples_per_kind = runs * CREATE_SAMPLES_PER_RUN;
	double *samples = calloc((size_t)CREATE_KIND_COUNT * samples_per_kind, sizeof(double));
	if (samples == NULL) {
		fail("out of memory");
	}
	for (unsigned kind = 0; kind < CREATE_KIND_COUNT; kind++) {
		if (fds[kind] >= 0) {
			create_sample(fds[kind]);
		}
	}
	/* Kinds take turns, so that each sees the same machine. */
	for (unsigned i = 0; i < samples_per_kind; i++) {
		for (unsigned kind = 0; kind < CREATE_KIND_COUNT; kind++) {
			if (fds[kind] >= 0) {
				samples[kind * samples_per_kind + i] = create_sample(fds[kind]);
			}
		}
	}
	printf("\n6. Pool creation: shmguard_pool_create() of a %zu KiB pool, us (median and\n"
	       "  quartiles of %u), and the system calls one creation makes (ptrace count)\n",
		CREATE_POOL_SIZE / KiB, samples_per_kind);
	long memfd_calls = -1;
	for (unsigned kind = 0; kind < CREATE_KIND_COUNT; kind++) {
		if (fds[kind] < 0) {
			continue;
		}
		struct sample_stats stats =
			sample_stats_of(&samples[kind * samples_per_kind], samples_per_kind);
		struct create_count body = {.fd = fds[kind]};
		long calls = -1;
		if (syscall_count_in_child(create_count_body, &body, &calls) != 0) {
			calls = -1;
		}
		if (kind == CREATE_MEMFD) {
			memfd_calls = calls;
		}
		printf("  %-40s %7.1f us  (quartiles %.1f-%.1f)  %ld system calls\n",
			create_kind_titles[kind], stats.median, stats.q1, stats.q3, calls);
		close(fds[kind]);
	}
	free(samples);
	if (memfd_calls < 0) {
		target_report(VERDICT_NOT_MEASURED, "memfd pool creation: ptrace failed");
		return;
	}
	target_report(verdict_of(memfd_calls <= CREATE_MEMFD_SYSCALLS_BEFORE_VETTING),
		"memfd pool creation: %ld system calls, no more than before vetting (%ld)",
		memfd_calls, CREATE_MEMFD_SYSCALLS_BEFORE_VETTING);
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: bench-core [--runs N] [--csv FILE]\n"
		"       bench-core --syscall-loop N\n"
		"       bench-core [--runs N] --only-create\n"
		"Measure libshmguard's core against memcpy, process_vm_readv and\n"
		"libwayland's wl_shm, and print a table with medians and ratios.\n"
		"  --runs N          runs per point (default 15)\n"
		"  --csv FILE        write read throughput as size,method,GBps rows\n"
		"  --syscall-loop N  only run N begin/end pairs and N guarded reads\n"
		"                    after a warm-up, for strace -f -c\n"
		"  --only-create     only measure pool creation (section 6)\n");
}

static unsigned long
parse_count(const char *text, const char *option)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value == 0) {
		fprintf(stderr, "bench-core: %s needs a positive number, not '%s'\n", option, text);
		exit(2);
	}
	return value;
}

static void
print_header(unsigned runs, struct shmguard_pool *pool, bool have_peer)
{
	struct utsname uts;
	const char *release = uname(&uts) == 0 ? uts.release : "?";
	printf("bench-core: libshmguard %s, libwayland %s, Linux %s, %ld CPUs online\n",
		shmguard_version(), WAYLAND_VERSION, release, sysconf(_SC_NPROCESSORS_ONLN));
	const struct shmguard_probe_result *probe = shmguard_probe();
	printf("pool strategy: %s (memfd without seals); windows publish %s\n",
		shmguard_strategy_to_str(shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ)),
		probe[SHMGUARD_MECHANISM_MEMBARRIER].supported
			? "with a compiler fence (membarrier)"
			: "with a full fence (no membarrier)");
	printf("%u runs per measurement after a warm-up, medians; nothing pinned%s\n", runs,
		have_peer ? "" : "; libwayland peer unavailable");
}

static void
print_targets(void)
{
	unsigned passed = 0;
	unsigned missed = 0;
	printf("\nTargets\n");
	for (unsigned i = 0; i < target_count; i++) {
		printf("  [%s] %s\n", verdict_to_str(targets[i].verdict), targets[i].line);
		passed += targets[i].verdict == VERDICT_PASS;
		missed += targets[i].verdict == VERDICT_MISS;
	}
	printf("%u passed, %u missed, %u not measured\n", passed, missed,
		target_count - passed - missed);
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{"runs", required_argument, NULL, 'r'},
		{"csv", required_argument, NULL, 'c'},
		{"syscall-loop", required_argument, NULL, 's'},
		{"only-create", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned runs = 15;
	const char *csv_path = NULL;
	unsigned long syscall_loop = 0;
	bool only_create = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'r':
			runs = (unsigned)parse_count(optarg, "--runs");
			break;
		case 'c':
			csv_path = optarg;
			break;
		case 's':
			syscall_loop = parse_count(optarg, "--syscall-loop");
			break;
		case 'C':
			only_create = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (syscall_loop != 0) {
		return run_syscall_loop(syscall_loop);
	}
	if (only_create) {
		bench_pool_create(runs);
		print_targets();
		return 0;
	}

	FILE *csv = NULL;
	if (csv_path != NULL) {
		csv = fopen(csv_path, "we");
		if (csv == NULL) {
			fail("%s: %s", csv_path, strerror(errno));
		}
		fprintf(csv, "size,method,GBps\n");
	}

	int fd = source_create("bench-read", READ_SOURCE_SIZE);
	/* libwayland first: its first wl_shm_buffer_begin_access() installs
	 * its SIGBUS handler, and that handler, unlike ours, does not pass
	 * faults outside its pool on to a previous handler (it restores the
	 * previous handler and raise()s, which a guard sees as a SIGBUS that
	 * no access caused). Installed in this order, ours is on top and
	 * hands libwayland's faults down to it. */
	struct wayland_peer *peer =
		wayland_peer_create(fd, PEER_WIDTH, PEER_HEIGHT, WL_SHM_FORMAT_ARGB8888);
	struct wl_shm_buffer *wl_buffer = peer != NULL ? wayland_peer_get_buffer(peer) : NULL;
	if (wl_buffer != NULL) {
		wl_shm_buffer_begin_access(wl_buffer);
		wl_shm_buffer_end_access(wl_buffer);
	}

	struct shmguard_pool *pool = pool_create_or_fail(fd, READ_SOURCE_SIZE);
	const uint8_t *second_mapping = mmap(NULL, READ_SOURCE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
	struct read_bench read_bench = {
		.pool = pool,
		.second_mapping = second_mapping,
		.wl_buffer = wl_buffer,
		.dst = malloc(READ_SOURCE_SIZE),
		.runs = runs,
		.csv = csv,
	};
	if (read_bench.second_mapping == MAP_FAILED || read_bench.dst == NULL) {
		fail("mapping the source: %s", strerror(errno));
	}
	memset(read_bench.dst, 0, READ_SOURCE_SIZE);

	print_header(runs, read_bench.pool, wl_buffer != NULL);
	uint64_t start = sample_now_ns();
	bench_read_throughput(&read_bench);
	bench_window_cost(read_bench.pool, wl_buffer, runs);
	bench_fault_recovery();
	bench_resize(runs);
	if (csv != NULL && fflush(csv) != 0) {
		fail("%s: %s", csv_path, strerror(errno));
	}
	bench_syscalls();
	bench_pool_create(runs);
	print_targets();
	printf("(whole run: %.1f s)\n", (double)(sample_now_ns() - start) / 1e9);

	if (csv != NULL && fclose(csv) != 0) {
		fail("%s: %s", csv_path, strerror(errno));
	}
	free(read_bench.dst);
	shmguard_pool_unref(read_bench.pool);
	munmap((void *)(uintptr_t)read_bench.second_mapping, READ_SOURCE_SIZE);
	wayland_peer_destroy(peer);
	close(fd);
	return 0;
}

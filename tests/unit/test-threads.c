/*
 * The guard on many threads: faults on one thread's pool are that
 * thread's business only; windows race with resizes without a stale
 * pointer or a leaked generation, also when a window outlives the last pin
 * of a retired generation.
 *
 * cmocka's assertions may only run on the main thread, so the threads
 * record the first thing that went wrong and the main thread asserts.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/access.h"
#include "src/budget.h"
#include "src/guard.h"
#include "src/mapping.h"
#include "src/pool.h"

#include "client-file.h"
#include "leak-check.h"
#include "shmguard-setup.h"

#define PAGES(n) (client_page() * (uint64_t)(n))

#define FAULTING_THREADS 4
#define FAULT_ROUNDS 1000

struct worker {
	int fd;
	struct shmguard_pool *pool;
	unsigned rounds;
	char failure[256];
};

static pthread_barrier_t start_line;
static atomic_uint faulting_running;

#define WORKER_FAIL(worker, ...)                                                                   \
	do {                                                                                       \
		snprintf((worker)->failure, sizeof((worker)->failure), __VA_ARGS__);               \
		goto out;                                                                          \
	} while (0)

/* Truncate its own file under a guarded copy and under a window, every
 * round, then let the file grow back and revalidate. */
static void *
faulting_thread(void *arg)
{
	struct worker *worker = arg;
	uint8_t *buffer = malloc(PAGES(4));
	pthread_barrier_wait(&start_line);
	if (buffer == NULL) {
		WORKER_FAIL(worker, "out of memory");
	}
	for (unsigned round = 0; round < FAULT_ROUNDS; round++) {
		struct shmguard_fault_report report;
		if (ftruncate(worker->fd, (off_t)PAGES(1)) != 0) {
			WORKER_FAIL(worker, "ftruncate: %s", strerror(errno));
		}
		/* The library's own copy: an error at once. */
		int ret = shmguard_pool_read(worker->pool, 0, buffer, PAGES(4), &report);
		if (ret != -EFAULT || report.kind != SHMGUARD_FAULT_TRUNCATED ||
			report.offset < PAGES(1)) {
			WORKER_FAIL(worker, "round %u: guarded read gave %d, %s at %llu", round,
				ret, shmguard_fault_kind_to_str(report.kind),
				(unsigned long long)report.offset);
		}
		/* Foreign code in a window: zeros, reported at the end. */
		struct shmguard_access *access;
		void *data;
		ret = shmguard_access_begin(
			worker->pool, 0, PAGES(4), SHMGUARD_ACCESS_READ, &access, &data);
		if (ret != 0) {
			WORKER_FAIL(worker, "round %u: begin: %s", round, strerror(-ret));
		}
		uint64_t healthy = client_pattern_mismatch(data, 0, PAGES(4));
		uint64_t zeros = client_nonzero_at((const uint8_t *)data + PAGES(1), PAGES(3));
		bool faulted = shmguard_access_end(access, &report);
		if (healthy != PAGES(1) || zeros != PAGES(3) || !faulted ||
			report.kind != SHMGUARD_FAULT_TRUNCATED || report.file_size != PAGES(1)) {
			WORKER_FAIL(worker, "round %u: window: pattern to %llu, zeros %llu, %s",
				round, (unsigned long long)healthy, (unsigned long long)zeros,
				faulted ? shmguard_fault_kind_to_str(report.kind) : "no fault");
		}
		/* The client grows the file back; the pool maps it afresh. */
		if (ftruncate(worker->fd, (off_t)PAGES(4)) != 0) {
			WORKER_FAIL(worker, "ftruncate: %s", strerror(errno));
		}
		client_file_fill(worker->fd, PAGES(1), PAGES(4));
		ret = shmguard_pool_revalidate(worker->pool);
		if (ret != 0 || shmguard_pool_get_fault(worker->pool, NULL)) {
			WORKER_FAIL(worker, "round %u: revalidate: %d", round, ret);
		}
		worker->rounds++;
	}
out:
	free(buffer);
	atomic_fetch_sub(&faulting_running, 1);
	return NULL;
}

/* Read a healthy pool, by window and by copy, while the others fault. */
static void *
healthy_thread(void *arg)
{
	struct worker *worker = arg;
	uint8_t *buffer = malloc(PAGES(4));
	pthread_barrier_wait(&start_line);
	if (buffer == NULL) {
		WORKER_FAIL(worker, "out of memory");
	}
	while (atomic_load(&faulting_running) > 0 || worker->rounds == 0) {
		struct shmguard_access *access;
		void *data;
		struct shmguard_fault_report report;
		int ret = shmguard_access_begin(
			worker->pool, 0, PAGES(4), SHMGUARD_ACCESS_READ, &access, &data);
		if (ret != 0) {
			WORKER_FAIL(worker, "begin: %s", strerror(-ret));
		}
		uint64_t healthy = client_pattern_mismatch(data, 0, PAGES(4));
		if (shmguard_access_end(access, &report) || healthy != PAGES(4)) {
			WORKER_FAIL(worker, "round %u: window: %s, pattern to %llu", worker->rounds,
				shmguard_fault_kind_to_str(report.kind),
				(unsigned long long)healthy);
		}
		ret = shmguard_pool_read(worker->pool, 0, buffer, PAGES(4), &report);
		if (ret != 0 || client_pattern_mismatch(buffer, 0, PAGES(4)) != PAGES(4)) {
			WORKER_FAIL(worker, "round %u: guarded read: %d", worker->rounds, ret);
		}
		worker->rounds++;
	}
out:
	free(buffer);
	return NULL;
}

static void
four_faulting_one_healthy(void **state)
{
	struct worker workers[FAULTING_THREADS + 1];
	struct crew_job jobs[FAULTING_THREADS + 1];
	memset(workers, 0, sizeof(workers));
	for (int i = 0; i <= FAULTING_THREADS; i++) {
		workers[i].fd = client_memfd_create(
			i < FAULTING_THREADS ? "faulting" : "healthy", PAGES(4), false);
		workers[i].pool = setup_pool_create(workers[i].fd, PAGES(4));
		jobs[i] = (struct crew_job){
			.start = i < FAULTING_THREADS ? faulting_thread : healthy_thread,
			.arg = &workers[i],
		};
	}
	uint64_t entries = guard_handler_entries();
	atomic_store(&faulting_running, FAULTING_THREADS);
	assert_int_equal(pthread_barrier_init(&start_line, NULL, FAULTING_THREADS + 1), 0);

	/* Four faulting threads and the healthy reader, all at once. */
	setup_crew_run(jobs, FAULTING_THREADS + 1);
	pthread_barrier_destroy(&start_line);

	for (int i = 0; i <= FAULTING_THREADS; i++) {
		if (workers[i].failure[0] != '\0') {
			fail_msg("thread %d: %s", i, workers[i].failure);
		}
	}
	for (int i = 0; i < FAULTING_THREADS; i++) {
		assert_int_equal(workers[i].rounds, FAULT_ROUNDS);
	}
	print_message("healthy reader: %u rounds while the others faulted\n",
		workers[FAULTING_THREADS].rounds);
	assert_true(workers[FAULTING_THREADS].rounds > 0);
	/* At least two faults (copy, window) per round were the handler's. */
	assert_true(guard_handler_entries() - entries >= 2u * FAULTING_THREADS * FAULT_ROUNDS);
	assert_false(shmguard_pool_get_fault(workers[FAULTING_THREADS].pool, NULL));
	assert_int_equal(generation_retired_count(), 0);

	for (int i = 0; i <= FAULTING_THREADS; i++) {
		shmguard_pool_unref(workers[i].pool);
		close(workers[i].fd);
	}
}

#define READERS 3
#define RESIZE_PAGES 256

static struct shmguard_pool *storm_pool;
static atomic_bool storm_over;

static void *
resizing_thread(void *arg)
{
	struct worker *worker = arg;
	pthread_barrier_wait(&start_line);
	for (uint64_t pages = 2; pages <= RESIZE_PAGES; pages++) {
		enum shmguard_pool_error error;
		int ret = shmguard_pool_resize(storm_pool, PAGES(pages), &error);
		if (ret != 0) {
			WORKER_FAIL(worker, "resize to %llu pages: %s", (unsigned long long)pages,
				shmguard_pool_error_to_str(error));
		}
		worker->rounds++;
	}
out:
	atomic_store(&storm_over, true);
	return NULL;
}

/* Open a window over the whole pool as it is now and check its edges. */
static void *
storm_reader_thread(void *arg)
{
	struct worker *worker = arg;
	pthread_barrier_wait(&start_line);
	while (!atomic_load(&storm_over) || worker->rounds == 0) {
		uint64_t size = shmguard_pool_get_size(storm_pool);
		struct shmguard_access *access;
		void *data;
		int ret = shmguard_access_begin(
			storm_pool, 0, size, SHMGUARD_ACCESS_READ, &access, &data);
		if (ret != 0) {
			WORKER_FAIL(worker, "begin over %llu bytes: %s", (unsigned long long)size,
				strerror(-ret));
		}
		const volatile uint8_t *bytes = data;
		bool right = true;
		for (uint64_t at = 0; at < size; at += client_page()) {
			right = right && bytes[at] == client_pattern(at);
		}
		right = right && bytes[size - 1] == client_pattern(size - 1);
		if (shmguard_access_end(access, NULL) || !right) {
			WORKER_FAIL(worker, "window over %llu bytes read wrong bytes",
				(unsigned long long)size);
		}
		uint8_t last = 0;
		ret = shmguard_pool_read(storm_pool, size - 1, &last, 1, NULL);
		if (ret != 0 || last != client_pattern(size - 1)) {
			WORKER_FAIL(worker, "guarded read of byte %llu: %d",
				(unsigned long long)size - 1, ret);
		}
		worker->rounds++;
	}
out:
	return NULL;
}

static void
resize_storm_with_readers(void **state)
{
	struct worker workers[READERS + 1];
	struct crew_job jobs[READERS + 1];
	memset(workers, 0, sizeof(workers));
	int fd = client_memfd_create("storm", PAGES(RESIZE_PAGES), false);
	storm_pool = setup_pool_create(fd, PAGES(1));
	atomic_store(&storm_over, false);
	for (int i = 0; i <= READERS; i++) {
		jobs[i] = (struct crew_job){
			.start = i < READERS ? storm_reader_thread : resizing_thread,
			.arg = &workers[i],
		};
	}
	assert_int_equal(pthread_barrier_init(&start_line, NULL, READERS + 1), 0);
	setup_crew_run(jobs, READERS + 1);
	pthread_barrier_destroy(&start_line);

	for (int i = 0; i <= READERS; i++) {
		if (workers[i].failure[0] != '\0') {
			fail_msg("thread %d: %s", i, workers[i].failure);
		}
	}
	assert_int_equal(workers[READERS].rounds, RESIZE_PAGES - 1);
	assert_int_equal(shmguard_pool_get_size(storm_pool), PAGES(RESIZE_PAGES));
	/* Every retired generation was unmapped by the last window on it. */
	assert_int_equal(generation_retired_count(), 0);
	shmguard_pool_unref(storm_pool);
	close(fd);
}

/* Two threads with windows on one pool: the first one's fault puts zero
 * pages in for both, and both windows report the generation's fault. */
static struct shmguard_pool *shared_pool;
static int shared_fd;

struct sharer {
	struct worker worker;
	bool truncates;
	uint64_t touch;
};

static void *
shared_pool_thread(void *arg)
{
	struct sharer *sharer = arg;
	struct worker *worker = &sharer->worker;
	struct shmguard_access *access;
	void *data;
	int ret = shmguard_access_begin(
		shared_pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &access, &data);
	pthread_barrier_wait(&start_line); /* both windows open */
	if (sharer->truncates && ftruncate(shared_fd, (off_t)PAGES(1)) != 0) {
		ret = -errno;
	}
	const volatile uint8_t *bytes = data;
	uint8_t byte = 1;
	if (sharer->truncates && ret == 0) {
		byte = bytes[sharer->touch];
	}
	pthread_barrier_wait(&start_line); /* the first fault is handled */
	if (!sharer->truncates && ret == 0) {
		byte = bytes[sharer->touch];
	}
	if (ret != 0) {
		WORKER_FAIL(worker, "begin or truncate: %s", strerror(-ret));
	}
	struct shmguard_fault_report report;
	bool faulted = shmguard_access_end(access, &report);
	if (byte != 0 || !faulted || report.kind != SHMGUARD_FAULT_TRUNCATED ||
		report.offset != PAGES(1) + 7 || report.file_size != PAGES(1)) {
		WORKER_FAIL(worker, "read %u, %s at %llu", byte,
			faulted ? shmguard_fault_kind_to_str(report.kind) : "no fault",
			(unsigned long long)report.offset);
	}
out:
	return NULL;
}

static void
windows_on_one_pool_from_two_threads(void **state)
{
	struct sharer sharers[2] = {
		{.truncates = true, .touch = PAGES(1) + 7},
		{.truncates = false, .touch = PAGES(1) + 100},
	};
	struct crew_job jobs[2] = {
		{.start = shared_pool_thread, .arg = &sharers[0]},
		{.start = shared_pool_thread, .arg = &sharers[1]},
	};
	shared_fd = client_memfd_create("shared", PAGES(2), false);
	shared_pool = setup_pool_create(shared_fd, PAGES(2));
	uint64_t entries = guard_handler_entries();
	assert_int_equal(pthread_barrier_init(&start_line, NULL, 2), 0);
	setup_crew_run(jobs, 2);
	pthread_barrier_destroy(&start_line);
	for (int i = 0; i < 2; i++) {
		if (sharers[i].worker.failure[0] != '\0') {
			fail_msg("thread %d: %s", i, sharers[i].worker.failure);
		}
	}
	assert_int_equal(guard_handler_entries() - entries, 1);
	shmguard_pool_unref(shared_pool);
	close(shared_fd);
}

/* A window on another thread outlives the last pin of a retired
 * generation: the unpin's reclaim must leave the generation to the window,
 * and the window's close must then unmap it (it stayed mapped, with its
 * fd reference and budget charge, until some unrelated retirement). */
struct pinned_window {
	struct generation *generation;
	uint64_t length;
	uint8_t first_byte;
	int ret;
};

static void *
open_pinned_window(void *arg)
{
	struct pinned_window *job = arg;
	void *data;
	job->ret = access_begin_pinned(
		job->generation, 0, job->length, SHMGUARD_ACCESS_READ, job, &data);
	if (job->ret == 0) {
		job->first_byte = *(const volatile uint8_t *)data;
	}
	return NULL;
}

static void *
close_pinned_window(void *arg)
{
	struct pinned_window *job = arg;
	job->ret = access_end_tagged(job, NULL);
	return NULL;
}

static void
window_outlives_last_pin_of_retired_generation(void **state)
{
	static struct leak_snapshot both_mapped;
	int fd = client_memfd_create("last-pin", PAGES(4), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	struct generation *generation = pool_pin_current(pool);
	const void *kept = (const void *)generation->region.read_start;
	uint32_t mappings = budget_mappings_in_use();

	/* The resize retires the pinned generation: a second mapping. */
	assert_int_equal(shmguard_pool_resize(pool, PAGES(4), NULL), 0);
	assert_int_equal(budget_mappings_in_use(), mappings + 1);
	assert_int_equal(generation_retired_count(), 1);

	struct pinned_window job = {.generation = generation, .length = PAGES(2)};
	struct crew_job open = {.start = open_pinned_window, .arg = &job};
	setup_crew_run(&open, 1);
	assert_int_equal(job.ret, 0);
	assert_int_equal(job.first_byte, client_pattern(0));
	leak_snapshot_take(&both_mapped);

	/* The last pin goes while the window is open: still mapped. */
	generation_unpin(generation);
	assert_int_equal(generation_retired_count(), 1);
	assert_true(leak_check_address_mapped(kept, NULL, 0));

	/* The window closes, no other retirement happens: unmapped now. */
	struct crew_job close_job = {.start = close_pinned_window, .arg = &job};
	setup_crew_run(&close_job, 1);
	assert_int_equal(job.ret, 0);
	struct leak_report report;
	if (leak_check_compare(&both_mapped, &report) && report.maps_added != -1) {
		leak_check_compare_verbose(&both_mapped, &report);
	}
	assert_int_equal(report.maps_added, -1);
	assert_false(leak_check_address_mapped(kept, NULL, 0));
	assert_int_equal(generation_retired_count(), 0);
	assert_int_equal(budget_mappings_in_use(), mappings);

	shmguard_pool_unref(pool);
	close(fd);
}

static int
group_setup(void **state)
{
	setup_crew_start(state);
	return setup_warm_up(state);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(four_faulting_one_healthy),
		LEAK_CHECKED(resize_storm_with_readers),
		LEAK_CHECKED(windows_on_one_pool_from_two_threads),
		LEAK_CHECKED(window_outlives_last_pin_of_retired_generation),
	};
	return cmocka_run_group_tests(tests, group_setup, setup_crew_stop);
}

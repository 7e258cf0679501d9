/*
 * Access windows and guarded copies: the fast path. No system call and no
 * lock here once a pool's mappings exist; a window costs a few plain
 * stores to the thread's own window stack.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <sys/stat.h>

#include "shmguard/shmguard.h"

#include "access.h"
#include "guard.h"
#include "likely.h"
#include "mapping.h"
#include "pool.h"

/* Publish a window on @p pool's current generation. The slot is written
 * before the generation is confirmed current, so a resize either sees the
 * slot in its reclaim scan or we see its new generation and retry. */
static struct generation *
window_publish(struct shmguard_pool *pool, struct guard_window *window)
{
	window->epoch = atomic_load_explicit(&guard_retire_epoch, memory_order_acquire);
	for (;;) {
		struct generation *generation =
			atomic_load_explicit(&pool->current, memory_order_acquire);
		assert(generation != NULL && "access on a released pool");
		atomic_store_explicit(&window->region, &generation->region, memory_order_relaxed);
		guard_publish();
		if (likely(atomic_load_explicit(&pool->current, memory_order_acquire) ==
			    generation)) {
			return generation;
		}
		/* Lost a race with a resize: the generation we pointed at for
		 * a moment may be waiting for exactly this slot. */
		atomic_store_explicit(&window->region, NULL, memory_order_release);
		generation_reclaim();
		window->epoch = atomic_load_explicit(&guard_retire_epoch, memory_order_acquire);
	}
}

/* Fill in an already published window and push it on the stack. */
static inline void
window_push(struct guard_thread *thread, struct guard_window *window, unsigned depth,
	uint64_t offset, uint64_t length, enum shmguard_access_mode mode, const void *tag)
{
	window->jump = NULL;
	window->fault = 0;
	window->span_end = offset + length;
	window->mode = (uint8_t)mode;
	window->tag = tag;
	atomic_signal_fence(memory_order_seq_cst);
	thread->depth = depth + 1;
}

/* Withdraw a window that was published but never pushed. */
static void
window_withdraw(struct guard_window *window)
{
	atomic_store_explicit(&window->region, NULL, memory_order_release);
	guard_publish();
	if (atomic_load_explicit(&guard_retire_epoch, memory_order_relaxed) != window->epoch) {
		generation_reclaim();
	}
}

/* Every case the fast path leaves out: first use on this thread, a write
 * (maybe making the write mapping), a lost race with a resize, errors. */
static __attribute__((noinline, cold)) int
access_begin_slow(struct shmguard_pool *pool, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, const void *tag, struct shmguard_access **access,
	void **data)
{
	struct guard_thread *thread = guard_thread();
	if (thread == NULL) {
		return -ENOMEM;
	}
	unsigned depth = thread->depth;
	if (depth >= GUARD_MAX_WINDOWS) {
		return -EMFILE;
	}
	struct guard_window *window = &thread->windows[depth];
	struct generation *generation = window_publish(pool, window);

	int ret = 0;
	uint8_t *base = (uint8_t *)generation->region.read_start;
	if (offset > generation->size || length > generation->size - offset) {
		ret = -ERANGE;
	} else if (mode == SHMGUARD_ACCESS_WRITE) {
		ret = generation_map_write(generation, &base);
	}
	if (ret != 0) {
		window_withdraw(window);
		return ret;
	}
	window_push(thread, window, depth, offset, length, mode, tag);
	*access = (struct shmguard_access *)window;
	*data = base + offset;
	return 0;
}

/* The fast path, for the exported call and for tagged windows. */
static inline int
access_begin_on_pool(struct shmguard_pool *pool, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, const void *tag, struct shmguard_access **access,
	void **data)
{
	struct guard_thread *thread = guard_current_thread;
	if (unlikely(thread == NULL || mode != SHMGUARD_ACCESS_READ ||
		    thread->depth >= GUARD_MAX_WINDOWS)) {
		return access_begin_slow(pool, offset, length, mode, tag, access, data);
	}
	unsigned depth = thread->depth;
	struct guard_window *window = &thread->windows[depth];
	window->epoch = atomic_load_explicit(&guard_retire_epoch, memory_order_acquire);
	struct generation *generation = atomic_load_explicit(&pool->current, memory_order_acquire);
	atomic_store_explicit(&window->region, &generation->region, memory_order_relaxed);
	guard_publish();
	if (unlikely(atomic_load_explicit(&pool->current, memory_order_acquire) != generation ||
		    offset > generation->size || length > generation->size - offset)) {
		window_withdraw(window);
		return access_begin_slow(pool, offset, length, mode, tag, access, data);
	}
	window_push(thread, window, depth, offset, length, mode, tag);
	*access = (struct shmguard_access *)window;
	*data = (uint8_t *)generation->region.read_start + offset;
	return 0;
}

SHMGUARD_EXPORT int
shmguard_access_begin(struct shmguard_pool *pool, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, struct shmguard_access **access, void **data)
{
	return access_begin_on_pool(pool, offset, length, mode, NULL, access, data);
}

int
access_begin_tagged(struct shmguard_pool *pool, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, const void *tag, void **data)
{
	struct shmguard_access *access;
	return access_begin_on_pool(pool, offset, length, mode, tag, &access, data);
}

/* Open a window on a pinned generation: no resize can take it away, so
 * there is no race to lose and nothing to check after publishing. */
static inline void
window_open_pinned(struct guard_thread *thread, struct generation *generation, uint64_t offset,
	uint64_t length, enum shmguard_access_mode mode, const void *tag)
{
	unsigned depth = thread->depth;
	struct guard_window *window = &thread->windows[depth];
	window->epoch = atomic_load_explicit(&guard_retire_epoch, memory_order_acquire);
	atomic_store_explicit(&window->region, &generation->region, memory_order_relaxed);
	guard_publish();
	window_push(thread, window, depth, offset, length, mode, tag);
}

static __attribute__((noinline, cold)) int
access_begin_pinned_slow(struct generation *generation, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, const void *tag, void **data)
{
	struct guard_thread *thread = guard_thread();
	if (thread == NULL) {
		return -ENOMEM;
	}
	if (thread->depth >= GUARD_MAX_WINDOWS) {
		return -EMFILE;
	}
	if (offset > generation->size || length > generation->size - offset) {
		return -ERANGE;
	}
	uint8_t *base = (uint8_t *)generation->region.read_start;
	if (mode == SHMGUARD_ACCESS_WRITE) {
		int ret = generation_map_write(generation, &base);
		if (ret != 0) {
			return ret;
		}
	}
	window_open_pinned(thread, generation, offset, length, mode, tag);
	*data = base + offset;
	return 0;
}

int
access_begin_pinned(struct generation *generation, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, const void *tag, void **data)
{
	struct guard_thread *thread = guard_current_thread;
	if (unlikely(thread == NULL || mode != SHMGUARD_ACCESS_READ ||
		    thread->depth >= GUARD_MAX_WINDOWS || offset > generation->size ||
		    length > generation->size - offset)) {
		return access_begin_pinned_slow(generation, offset, length, mode, tag, data);
	}
	window_open_pinned(thread, generation, offset, length, mode, tag);
	*data = (uint8_t *)generation->region.read_start + offset;
	return 0;
}

/* A MAP_NOSIGBUS read never raises a signal: ask the file whether it is
 * still long enough (one fstat per window, on that strategy only). */
static void
nosigbus_check(struct generation *generation, struct guard_window *window)
{
	struct stat st;
	if (fstat(generation->region.fd, &st) != 0 || (uint64_t)st.st_size >= window->span_end) {
		return;
	}
	uint64_t file_size = (uint64_t)st.st_size;
	window->fault = GUARD_FAULT_PACK(file_size, SHMGUARD_FAULT_TRUNCATED);
	window->fault_file_size = file_size;
	uint64_t expected = 0;
	if (atomic_compare_exchange_strong(
		    &generation->region.first_fault, &expected, window->fault)) {
		atomic_store(&generation->region.fault_file_size, file_size);
	}
}

/* Close @p window and reclaim if a generation was retired (or lost its
 * last pin after retirement) meanwhile: one may be waiting for exactly
 * this window. The epoch is read after the slot was cleared (see
 * guard_scan_begin()). */
static inline void
window_pop(struct guard_thread *thread, struct guard_window *window)
{
	unsigned epoch = window->epoch;
	guard_window_close(thread, window);
	guard_publish();
	if (unlikely(atomic_load_explicit(&guard_retire_epoch, memory_order_relaxed) != epoch)) {
		generation_reclaim();
	}
}

/* Ending a window that faulted, or on the nosigbus strategy. */
static __attribute__((noinline, cold)) bool
access_end_slow(struct guard_thread *thread, struct guard_window *window,
	struct guard_region *region, struct shmguard_fault_report *report)
{
	struct generation *generation = generation_from_region(region);
	if (generation->read_strategy == SHMGUARD_STRATEGY_NOSIGBUS &&
		window->mode == SHMGUARD_ACCESS_READ) {
		nosigbus_check(generation, window);
	}
	uint64_t packed = window->fault;
	uint64_t file_size = window->fault_file_size;
	if (packed == 0) {
		packed = atomic_load(&region->first_fault);
		file_size = atomic_load(&region->fault_file_size);
	}
	window_pop(thread, window);
	fault_report_fill(report, packed, packed != 0 ? file_size : 0);
	return packed != 0;
}

/* Close this thread's open @p window: the fast path. */
static inline bool
access_end_window(struct guard_thread *thread, struct guard_window *window,
	struct guard_region *region, struct shmguard_fault_report *report)
{
	if (unlikely(window->fault != 0 ||
		    atomic_load_explicit(&region->first_fault, memory_order_relaxed) != 0 ||
		    generation_from_region(region)->read_strategy == SHMGUARD_STRATEGY_NOSIGBUS)) {
		return access_end_slow(thread, window, region, report);
	}
	window_pop(thread, window);
	fault_report_fill(report, 0, 0);
	return false;
}

SHMGUARD_EXPORT bool
shmguard_access_end(struct shmguard_access *access, struct shmguard_fault_report *report)
{
	struct guard_window *window = (struct guard_window *)access;
	struct guard_thread *thread = guard_current_thread;
	assert(thread != NULL && window >= thread->windows &&
		window < thread->windows + thread->depth &&
		"access window ended on a thread that did not begin it");
	struct guard_region *region = atomic_load_explicit(&window->region, memory_order_relaxed);
	assert(region != NULL && "access window ended twice");
	return access_end_window(thread, window, region, report);
}

/* The library's own copy, under sigsetjmp: into the pool for WRITE (from
 * @p src), out of it for READ (into @p dst). */
static int
guarded_copy(struct shmguard_pool *pool, uint64_t offset, size_t length,
	enum shmguard_access_mode mode, void *dst, const void *src,
	struct shmguard_fault_report *report)
{
	struct shmguard_access *access;
	void *data;
	int ret = shmguard_access_begin(pool, offset, length, mode, &access, &data);
	if (ret != 0) {
		return ret;
	}
	struct guard_window *window = (struct guard_window *)access;
	if (mode == SHMGUARD_ACCESS_WRITE) {
		ret = guard_copy(window, data, src, length);
	} else {
		ret = guard_copy(window, dst, data, length);
	}
	bool faulted = shmguard_access_end(access, report);
	return faulted ? -EFAULT : ret;
}

SHMGUARD_EXPORT int
shmguard_pool_read(struct shmguard_pool *pool, uint64_t offset, void *dst, size_t length,
	struct shmguard_fault_report *report)
{
	return guarded_copy(pool, offset, length, SHMGUARD_ACCESS_READ, dst, NULL, report);
}

SHMGUARD_EXPORT int
shmguard_pool_write(struct shmguard_pool *pool, uint64_t offset, const void *src, size_t length,
	struct shmguard_fault_report *report)
{
	return guarded_copy(pool, offset, length, SHMGUARD_ACCESS_WRITE, NULL, src, report);
}

int
access_end_tagged(const void *tag, struct shmguard_fault_report *report)
{
	struct guard_thread *thread = guard_current_thread;
	if (thread == NULL) {
		return -1;
	}
	for (unsigned i = thread->depth; i-- > 0;) {
		struct guard_window *window = &thread->windows[i];
		struct guard_region *region =
			atomic_load_explicit(&window->region, memory_order_relaxed);
		if (window->tag == tag && region != NULL) {
			return access_end_window(thread, window, region, report) ? 1 : 0;
		}
	}
	return -1;
}

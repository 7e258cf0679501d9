/*
 * The SIGBUS guard: one process-wide handler and, per thread, a stack of
 * open access windows that the handler consults without locks.
 *
 * A *region* describes the address ranges of one mapping generation (its
 * read mapping and, once made, its write mapping). A *window* on a thread's
 * stack points at a region while code may touch it. The handler looks only
 * at the faulting thread's own windows. The same window slots double as
 * hazard pointers: a region is unmapped only when no slot of any thread
 * refers to it (see guard_regions_in_use()).
 */
#ifndef SHMGUARD_GUARD_H
#define SHMGUARD_GUARD_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define GUARD_MAX_WINDOWS 32

/* Packed fault record: (pool offset << 2) | fault kind; 0 means none. */
#define GUARD_FAULT_PACK(offset, kind) (((uint64_t)(offset) << 2) | (uint64_t)(kind))
#define GUARD_FAULT_OFFSET(packed) ((packed) >> 2)
#define GUARD_FAULT_KIND(packed) ((int)((packed)&3u))

struct guard_region {
	/* Set before the region is published; read by the handler. */
	uintptr_t read_start;
	uint64_t length;
	/* The page size the kernel maps the region with (0: the system's).
	 * A huge page (hugetlbfs) mapping splits only at its boundaries,
	 * and its mapped length is rounded up to it. */
	uint64_t page_size;
	/* Protection of the read mapping: PROT_READ, or PROT_READ|PROT_WRITE
	 * for a writable view (zero pages put over it keep it). */
	int read_prot;
	int fd; /* for fstat() in the handler (async-signal-safe) */
	/* 0 until the write mapping exists. */
	_Atomic uintptr_t write_start;
	/* First fault on this region (GUARD_FAULT_PACK), and the file size
	 * seen then. Written by the handler with compare-and-swap. */
	_Atomic uint64_t first_fault;
	_Atomic uint64_t fault_file_size;
	/* Extra mappings the handler's zero-page remaps may have split off. */
	_Atomic uint32_t remaps;
	/* An eventfd the handler writes to when it finds a fault here with no
	 * window open (a held region, see guard_hold()); -1 for none. */
	_Atomic int notify_fd;
};

struct guard_window {
	/* Hazard pointer and window identity; NULL when the slot is free. */
	_Atomic(struct guard_region *) region;
	/* Non-NULL for a guarded copy: the handler jumps back here. */
	sigjmp_buf *jump;
	/* This window's own fault (GUARD_FAULT_PACK) and file size. */
	uint64_t fault;
	uint64_t fault_file_size;
	/* guard_retire_epoch when the window opened: a change by the time
	 * it closes means a region may be waiting for this window. */
	unsigned epoch;
	/* Pool offset just past the window's range, and its access mode. */
	uint64_t span_end;
	uint8_t mode;
	/* What a layer above the core opened this window for (a buffer). */
	const void *tag;
};

struct guard_thread {
	struct guard_window windows[GUARD_MAX_WINDOWS];
	/* Windows [0, depth) are open or closed out of order (region NULL). */
	volatile unsigned depth;
	/* The held region the handler is looking at (a hazard pointer, like
	 * the window slots). */
	_Atomic(struct guard_region *) handler_hazard;
	struct guard_thread *next;
};

/* Initial-exec TLS: the handler reads it without __tls_get_addr. */
extern __thread struct guard_thread *guard_current_thread
	__attribute__((tls_model("initial-exec")));

/* True when windows must fence after publishing (no membarrier, or it
 * failed since). Set once at start-up, and may become true later. */
extern _Atomic bool guard_publish_needs_fence;

/* Bumped after every retirement, and when the last pin of a retired
 * generation goes, before the reclaim scan. */
extern _Atomic unsigned guard_retire_epoch;

/* Install the handler (once; thread-safe). Returns 0 or -errno. */
int
guard_init(void);

/* If another SIGBUS handler was installed over ours since, put ours back
 * on top, chaining to it. Returns true if it did. Not async-signal-safe. */
bool
guard_reinstall(void);

/* The calling thread's window stack, registering it on first use; NULL on
 * ENOMEM. */
struct guard_thread *
guard_thread_register(void);

static inline struct guard_thread *
guard_thread(void)
{
	struct guard_thread *thread = guard_current_thread;
	if (__builtin_expect(thread == NULL, 0)) {
		thread = guard_thread_register();
	}
	return thread;
}

/* Make a just-published window slot visible to reclaimers. With
 * membarrier the reclaimer pays; without it the reader fences. */
static inline void
guard_publish(void)
{
	if (__builtin_expect(
		    atomic_load_explicit(&guard_publish_needs_fence, memory_order_relaxed), 0)) {
		atomic_thread_fence(memory_order_seq_cst);
	} else {
		atomic_signal_fence(memory_order_seq_cst);
	}
}

/* Close @p window; the stack shrinks past every closed slot on top. */
static inline void
guard_window_close(struct guard_thread *thread, struct guard_window *window)
{
	atomic_store_explicit(&window->region, NULL, memory_order_release);
	unsigned depth = thread->depth;
	if (window != &thread->windows[depth - 1]) {
		/* Closed out of order: its slot is skipped until the windows
		 * above it close. */
		return;
	}
	depth--;
	while (depth > 0 &&
		atomic_load_explicit(&thread->windows[depth - 1].region, memory_order_relaxed) ==
			NULL) {
		depth--;
	}
	atomic_signal_fence(memory_order_seq_cst);
	thread->depth = depth;
}

/*
 * Guard @p region with no window open, for any thread, until
 * guard_unhold(): for memory a compositor reads outside any access window
 * (a pool reference that outlives its wl_buffer). A fault there maps zeros,
 * records the region's first fault and writes to its notify_fd. The caller
 * keeps the region mapped (pinned) until after guard_unhold(). Returns the
 * slot to release, or NULL on ENOMEM.
 */
_Atomic(struct guard_region *) *
guard_hold(struct guard_region *region);

void
guard_unhold(_Atomic(struct guard_region *) *slot);

/*
 * Run a memcpy under sigsetjmp in @p window (already pushed with its
 * region). Returns 0, or -EFAULT if the copy faulted (window->fault then
 * says where); the signal mask is restored on that path.
 */
int
guard_copy(struct guard_window *window, void *dst, const void *src, size_t length);

/*
 * Read one byte at @p address under the guard, for the probe on kernels
 * without MADV_POPULATE_READ. Returns 0, or -EFAULT if it raised SIGBUS.
 */
int
guard_probe_read(const volatile uint8_t *address, uint64_t length);

/*
 * A reclaim scan: between guard_scan_begin() and guard_scan_end(),
 * guard_region_referenced() says whether any thread's window slot still
 * points at a region. guard_scan_begin() issues the asymmetric barrier
 * (membarrier) so that every window published before it is seen, and
 * every window published after it sees the pool's new generation.
 */
void
guard_scan_begin(void);

bool
guard_region_referenced(const struct guard_region *region);

/* Like guard_scan_begin() without the barrier, for a caller about to change
 * a mapping in place: takes the registry lock and returns true if no thread
 * but the caller can have a window open (no other thread ever opened one,
 * and none can start to while the lock is held). Ends with
 * guard_scan_end() either way. */
bool
guard_scan_begin_alone(void);

void
guard_scan_end(void);

/* Counter of times the handler ran (for tests and benchmarks). */
uint64_t
guard_handler_entries(void);

#endif

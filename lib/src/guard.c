/*
 * The SIGBUS handler and the per-thread window stacks it consults.
 *
 * Signal-handler rules kept here: the handler reads only its own thread's
 * window stack (initial-exec TLS) and the regions those windows point to;
 * it never allocates, locks or logs. It calls mmap(), madvise(), fstat(),
 * getpid() and pthread_sigmask(), and chain.c's calls for signals that are
 * not ours: fstat, getpid and pthread_sigmask are async-signal-safe by
 * POSIX; mmap and madvise are not on POSIX's list but are plain system
 * calls on Linux.
 */
#include "config.h"

#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/ucontext.h>
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "chain.h"
#include "guard.h"
#include "linux_abi.h"
#include "log.h"

__thread struct guard_thread *guard_current_thread __attribute__((tls_model("initial-exec")));
_Atomic bool guard_publish_needs_fence = true;
_Atomic unsigned guard_retire_epoch;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_error;
static _Atomic uint64_t handler_entries;
static long page_size;

/* Registry of thread window stacks, for reclaim scans. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct guard_thread *registry;
static unsigned registry_count;
static pthread_key_t thread_key;
/* The running scan could not make its barrier: it must take every region
 * for referenced (registry_lock held). */
static bool scan_blind;

static bool
region_contains(const struct guard_region *region, uintptr_t address, uintptr_t *start, int *prot)
{
	uintptr_t read_start = region->read_start;
	if (address >= read_start && address - read_start < region->length) {
		*start = read_start;
		*prot = region->read_prot;
		return true;
	}
	uintptr_t write_start = atomic_load_explicit(&region->write_start, memory_order_acquire);
	if (write_start != 0 && address >= write_start && address - write_start < region->length) {
		*start = write_start;
		*prot = PROT_READ | PROT_WRITE;
		return true;
	}
	return false;
}

/* Classify a fault at pool @p offset of @p region and keep it as the
 * region's first if it is; returns it packed, with the file size seen. */
static uint64_t
region_record_fault(struct guard_region *region, uint64_t offset, uint64_t *file_size)
{
	struct stat st;
	int kind = SHMGUARD_FAULT_IO_ERROR;
	*file_size = 0;
	if (fstat(region->fd, &st) == 0) {
		*file_size = (uint64_t)st.st_size;
		if (*file_size <= offset) {
			kind = SHMGUARD_FAULT_TRUNCATED;
		}
	}
	uint64_t packed = GUARD_FAULT_PACK(offset, kind);
	uint64_t expected = 0;
	if (atomic_compare_exchange_strong(&region->first_fault, &expected, packed)) {
		atomic_store(&region->fault_file_size, *file_size);
	}
	return packed;
}

static void
record_fault(struct guard_window *window, struct guard_region *region, uint64_t offset)
{
	uint64_t file_size;
	uint64_t packed = region_record_fault(region, offset, &file_size);
	if (window->fault == 0) {
		window->fault = packed;
		window->fault_file_size = file_size;
	}
}

/* Put zero pages over the rest of the mapping from the faulting page on,
 * in place (MAP_FIXED replaces atomically, leaving no hole another thread
 * could map into), so that the access can retry.
 *
 * In pages of the mapping's own size: a hugetlbfs mapping cannot be split
 * inside a huge page (MAP_FIXED there fails with EINVAL), and the kernel
 * rounded its length up to a whole huge page. Covering from the faulting
 * huge page loses no byte of the file: a hugetlbfs file's size is a
 * multiple of the huge page, so that whole huge page lies past its end. */
static bool
cover_with_zeros(struct guard_region *region, uintptr_t start, int prot, uintptr_t address)
{
	uintptr_t unit = region->page_size > (uint64_t)page_size ? (uintptr_t)region->page_size
								 : (uintptr_t)page_size;
	uintptr_t page = address & ~(unit - 1);
	if (page < start) {
		page = start;
	}
	uintptr_t end = start + (((uintptr_t)region->length + unit - 1) & ~(unit - 1));
	size_t length = (size_t)(end - page);
	void *zeros =
		mmap((void *)page, length, prot, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (zeros == MAP_FAILED) {
		return false;
	}
	atomic_fetch_add_explicit(&region->remaps, 1, memory_order_relaxed);
	return true;
}

/* Held regions (guard_hold()): chunks of slots, appended and never freed,
 * so that the handler walks them without a lock. */
#define HELD_CHUNK_SLOTS 256

struct held_chunk {
	_Atomic(struct guard_region *) slots[HELD_CHUNK_SLOTS];
	_Atomic(struct held_chunk *) next;
};

static struct held_chunk held_head;
static pthread_mutex_t held_lock = PTHREAD_MUTEX_INITIALIZER;

_Atomic(struct guard_region *) *
guard_hold(struct guard_region *region)
{
	_Atomic(struct guard_region *) *slot = NULL;
	pthread_mutex_lock(&held_lock);
	for (struct held_chunk *chunk = &held_head; slot == NULL;) {
		for (unsigned i = 0; i < HELD_CHUNK_SLOTS; i++) {
			if (atomic_load_explicit(&chunk->slots[i], memory_order_relaxed) == NULL) {
				slot = &chunk->slots[i];
				atomic_store_explicit(slot, region, memory_order_release);
				break;
			}
		}
		if (slot != NULL) {
			break;
		}
		struct held_chunk *next = atomic_load_explicit(&chunk->next, memory_order_relaxed);
		if (next == NULL) {
			next = calloc(1, sizeof(*next));
			if (next == NULL) {
				break;
			}
			atomic_store_explicit(&chunk->next, next, memory_order_release);
		}
		chunk = next;
	}
	pthread_mutex_unlock(&held_lock);
	return slot;
}

void
guard_unhold(_Atomic(struct guard_region *) *slot)
{
	atomic_store_explicit(slot, NULL, memory_order_release);
}

/* Hazard slots for threads that never opened a window, and so have no
 * window stack (and handler_hazard) of their own: claimed by
 * compare-and-swap, a full barrier, in the handler. */
#define SPARE_HAZARDS 16

static _Atomic(struct guard_region *) spare_hazards[SPARE_HAZARDS];

/* Announce that the handler is looking at @p region; NULL if no slot is
 * free (SPARE_HAZARDS handlers on unregistered threads at once). */
static _Atomic(struct guard_region *) *
hazard_claim(struct guard_thread *thread, struct guard_region *region)
{
	if (thread != NULL) {
		atomic_store_explicit(&thread->handler_hazard, region, memory_order_relaxed);
		guard_publish();
		return &thread->handler_hazard;
	}
	for (unsigned i = 0; i < SPARE_HAZARDS; i++) {
		struct guard_region *expected = NULL;
		if (atomic_compare_exchange_strong(&spare_hazards[i], &expected, region)) {
			return &spare_hazards[i];
		}
	}
	return NULL;
}

/* A fault on a held region: zeros, the region's record, a notification.
 * A hazard slot keeps the region from being unmapped while we look at it:
 * the slot is re-read after the hazard is visible, so a release either
 * sees the hazard in its reclaim scan or happened before and is seen here. */
static bool
handle_held_fault(struct guard_thread *thread, uintptr_t address)
{
	for (struct held_chunk *chunk = &held_head; chunk != NULL;
		chunk = atomic_load_explicit(&chunk->next, memory_order_acquire)) {
		for (unsigned i = 0; i < HELD_CHUNK_SLOTS; i++) {
			struct guard_region *region =
				atomic_load_explicit(&chunk->slots[i], memory_order_acquire);
			if (region == NULL) {
				continue;
			}
			_Atomic(struct guard_region *) *hazard = hazard_claim(thread, region);
			if (hazard == NULL) {
				continue;
			}
			if (atomic_load_explicit(&chunk->slots[i], memory_order_acquire) !=
				region) {
				atomic_store_explicit(hazard, NULL, memory_order_release);
				continue;
			}
			uintptr_t start;
			int prot;
			bool handled = false;
			if (region_contains(region, address, &start, &prot)) {
				uint64_t file_size;
				region_record_fault(region, address - start, &file_size);
				handled = cover_with_zeros(region, start, prot, address);
				int fd = atomic_load_explicit(
					&region->notify_fd, memory_order_relaxed);
				uint64_t one = 1;
				if (handled && fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
					/* The counter is full: a wake-up is pending anyway. */
				}
			}
			atomic_store_explicit(hazard, NULL, memory_order_release);
			if (handled) {
				return true;
			}
		}
	}
	return false;
}

/* Whether @p window is over memory that faults now: its file is shorter
 * than its end, or reading it in raises what a SIGBUS would
 * (MADV_POPULATE_READ fails instead; kernels without it say EINVAL). */
static bool
window_faults_now(const struct guard_window *window, const struct guard_region *region)
{
	uint64_t end = window->span_end;
	if (end == 0 || end > region->length) {
		end = region->length;
	}
	struct stat st;
	if (region->fd >= 0 && fstat(region->fd, &st) == 0 && (uint64_t)st.st_size < end) {
		return true;
	}
	size_t length = (size_t)((end + (uint64_t)page_size - 1) & ~((uint64_t)page_size - 1));
	uintptr_t starts[2] = {
		region->read_start,
		atomic_load_explicit(&region->write_start, memory_order_acquire),
	};
	for (unsigned i = 0; i < 2; i++) {
		if (starts[i] != 0 && madvise((void *)starts[i], length, MADV_POPULATE_READ) != 0 &&
			(errno == EFAULT || errno == EHWPOISON || errno == EIO)) {
			return true;
		}
	}
	return false;
}

/*
 * Whether a SIGBUS sent to this thread by this process may be one of our
 * faults, raised again by a handler installed over ours that restored
 * ours first (libwayland's does that with every fault outside its own
 * pools): the thread has a window open over memory that faults now.
 * Returning then lets the access retry; the fault comes back to us.
 */
static bool
may_be_our_fault_raised_again(const struct guard_thread *thread, const siginfo_t *info)
{
	if ((info->si_code != SI_TKILL && info->si_code != SI_USER) || thread == NULL ||
		thread->depth == 0 || info->si_pid != getpid()) {
		return false;
	}
	for (unsigned i = thread->depth; i-- > 0;) {
		const struct guard_window *window = &thread->windows[i];
		const struct guard_region *region =
			atomic_load_explicit(&window->region, memory_order_relaxed);
		if (region != NULL && window_faults_now(window, region)) {
			return true;
		}
	}
	return false;
}

/* Leave a guarded copy for its sigsetjmp() point, with the signal mask the
 * copy ran with (sigsetjmp() saved none: that costs a system call per
 * copy). A handler we were called from may have blocked more. */
static _Noreturn void
leave_copy(struct guard_window *window, void *context, int saved_errno)
{
	const ucontext_t *interrupted = context;
	if (interrupted != NULL) {
		pthread_sigmask(SIG_SETMASK, &interrupted->uc_sigmask, NULL);
	} else {
		sigset_t sigbus;
		sigemptyset(&sigbus);
		sigaddset(&sigbus, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &sigbus, NULL);
	}
	errno = saved_errno;
	siglongjmp(*window->jump, 1);
}

static void
handle_sigbus(int signo, siginfo_t *info, void *context)
{
	int saved_errno = errno;
	atomic_fetch_add_explicit(&handler_entries, 1, memory_order_relaxed);

	struct guard_thread *thread = guard_current_thread;
	uintptr_t address = (uintptr_t)info->si_addr;
	/* Sent signals (si_code <= 0) are never ours. */
	for (unsigned i = thread != NULL && info->si_code > 0 ? thread->depth : 0; i-- > 0;) {
		struct guard_window *window = &thread->windows[i];
		struct guard_region *region =
			atomic_load_explicit(&window->region, memory_order_relaxed);
		uintptr_t start;
		int prot;
		if (region == NULL || !region_contains(region, address, &start, &prot)) {
			continue;
		}
		record_fault(window, region, address - start);
		if (window->jump != NULL) {
			leave_copy(window, context, saved_errno);
		}
		/* Foreign code: zeros, and let the access retry. */
		if (!cover_with_zeros(region, start, prot, address)) {
			goto not_ours;
		}
		errno = saved_errno;
		return;
	}
	if (info->si_code > 0 && handle_held_fault(thread, address)) {
		errno = saved_errno;
		return;
	}

not_ours:
	if (!chain_continue(signo, info, context) && !may_be_our_fault_raised_again(thread, info)) {
		chain_pass_on(signo, info, context);
	}
	errno = saved_errno;
}

static void
thread_unregister(void *arg)
{
	struct guard_thread *thread = arg;
	pthread_mutex_lock(&registry_lock);
	for (struct guard_thread **link = &registry; *link != NULL; link = &(*link)->next) {
		if (*link == thread) {
			*link = thread->next;
			registry_count--;
			break;
		}
	}
	pthread_mutex_unlock(&registry_lock);
	guard_current_thread = NULL;
	free(thread);
}

static void
init_once_fn(void)
{
	page_size = sysconf(_SC_PAGESIZE);
	if (pthread_key_create(&thread_key, thread_unregister) != 0) {
		init_error = -EAGAIN;
		return;
	}

	/* With membarrier the reclaimer issues the barrier for everyone, so
	 * readers publish their windows with a compiler fence only. */
	if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0) {
		atomic_store(&guard_publish_needs_fence, false);
	}

	init_error = chain_install(handle_sigbus);
}

bool
guard_reinstall(void)
{
	return guard_init() == 0 && chain_reinstall();
}

int
guard_init(void)
{
	pthread_once(&init_once, init_once_fn);
	return init_error;
}

struct guard_thread *
guard_thread_register(void)
{
	if (guard_init() != 0) {
		return NULL;
	}
	struct guard_thread *thread = calloc(1, sizeof(*thread));
	if (thread == NULL) {
		return NULL;
	}
	/* A fault in a thread that blocks SIGBUS kills the process without
	 * asking any handler (the kernel forces the default action), and
	 * worker threads often start with every signal blocked: this thread
	 * is about to open its first window or make its first guarded copy. */
	sigset_t sigbus, before;
	sigemptyset(&sigbus);
	sigaddset(&sigbus, SIGBUS);
	if (pthread_sigmask(SIG_UNBLOCK, &sigbus, &before) == 0 &&
		sigismember(&before, SIGBUS) == 1) {
		log_message(SHMGUARD_LOG_DEBUG,
			"SIGBUS was blocked on this thread: unblocked for its access windows");
	}
	pthread_mutex_lock(&registry_lock);
	thread->next = registry;
	registry = thread;
	registry_count++;
	pthread_mutex_unlock(&registry_lock);
	pthread_setspecific(thread_key, thread);
	guard_current_thread = thread;
	return thread;
}

int
guard_copy(struct guard_window *window, void *dst, const void *src, size_t length)
{
	sigjmp_buf env;
	/* savemask 0: saving the mask costs a system call per copy. The
	 * handler restores it before it jumps here (leave_copy()). */
	if (sigsetjmp(env, 0) != 0) {
		window->jump = NULL;
		return -EFAULT;
	}
	window->jump = &env;
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(dst, src, length);
	atomic_signal_fence(memory_order_seq_cst);
	window->jump = NULL;
	return 0;
}

int
guard_probe_read(const volatile uint8_t *address, uint64_t length)
{
	struct guard_thread *thread = guard_thread();
	if (thread == NULL) {
		return -ENOMEM;
	}
	if (thread->depth >= GUARD_MAX_WINDOWS) {
		return -EMFILE;
	}
	struct guard_region region = {
		.read_start = (uintptr_t)address,
		.length = length,
		.fd = -1,
	};
	struct guard_window *window = &thread->windows[thread->depth];
	window->fault = 0;
	window->span_end = length;
	atomic_store_explicit(&window->region, &region, memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
	thread->depth++;
	uint8_t byte;
	int ret = guard_copy(window, &byte, (const void *)address, 1);
	guard_window_close(thread, window);
	return ret;
}

static bool
slot_refers_to(const struct guard_thread *thread, const struct guard_region *region)
{
	for (unsigned i = 0; i < GUARD_MAX_WINDOWS; i++) {
		if (atomic_load_explicit(&thread->windows[i].region, memory_order_acquire) ==
			region) {
			return true;
		}
	}
	return atomic_load_explicit(&thread->handler_hazard, memory_order_acquire) == region;
}

/*
 * membarrier() failed after it was registered (a seccomp filter installed
 * since, ENOMEM): windows fence from now on, as when registration fails.
 * Windows other threads published before they see that did so without a
 * fence, and may not be visible to this scan yet: a barrier on every CPU
 * (MEMBARRIER_CMD_GLOBAL, which needs no registration) makes them so;
 * failing that, this scan unmaps nothing, and what it would have reclaimed
 * waits for the next one (the next retirement, or the close of a window
 * that was open across this one).
 */
static void
membarrier_failed(int error)
{
	atomic_store(&guard_publish_needs_fence, true);
	bool global = syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0;
	scan_blind = !global;
	log_message(SHMGUARD_LOG_WARNING,
		"membarrier() failed (%s): access windows publish with a memory fence from now on%s",
		strerror(error), global ? "" : "; this reclaim is put off until the next");
}

void
guard_scan_begin(void)
{
	pthread_mutex_lock(&registry_lock);
	scan_blind = false;
	bool only_self =
		registry_count == 0 || (registry_count == 1 && registry == guard_current_thread);
	if (!only_self && !atomic_load_explicit(&guard_publish_needs_fence, memory_order_relaxed)) {
		/* Every other running thread passes a full barrier: a window
		 * it published before is visible to the scan, and one it
		 * publishes after sees the pool's new generation and retries. */
		if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) {
			return;
		}
		membarrier_failed(errno);
	}
	atomic_thread_fence(memory_order_seq_cst);
}

bool
guard_scan_begin_alone(void)
{
	pthread_mutex_lock(&registry_lock);
	scan_blind = false;
	return registry_count == 0 || (registry_count == 1 && registry == guard_current_thread);
}

bool
guard_region_referenced(const struct guard_region *region)
{
	if (scan_blind) {
		return true;
	}
	for (unsigned i = 0; i < SPARE_HAZARDS; i++) {
		if (atomic_load_explicit(&spare_hazards[i], memory_order_acquire) == region) {
			return true;
		}
	}
	for (const struct guard_thread *t = registry; t != NULL; t = t->next) {
		if (slot_refers_to(t, region)) {
			return true;
		}
	}
	return false;
}

void
guard_scan_end(void)
{
	pthread_mutex_unlock(&registry_lock);
}

uint64_t
guard_handler_entries(void)
{
	return atomic_load(&handler_entries);
}

/*
 * The SIGBUS handler and the per-thread window stacks it consults.
 *
 * Signal-handler rules kept here: the handler reads only its own thread's
 * window stack (initial-exec TLS) and the regions those windows point to;
 * it never allocates, locks or logs. It calls mmap(), fstat(), sigaction()
 * and raise(): fstat, sigaction and raise are async-signal-safe by POSIX;
 * mmap is not on POSIX's list but is a plain system call on Linux.
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
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "guard.h"

__thread struct guard_thread *guard_current_thread __attribute__((tls_model("initial-exec")));
bool guard_publish_needs_fence = true;
_Atomic unsigned guard_retire_epoch;

/* The handler we chain to. guard_reinstall() fills the slot not in use and
 * then publishes it, so a handler running on another thread meanwhile
 * reads a whole, unchanging action. */
static struct sigaction previous_slots[2];
static _Atomic(const struct sigaction *) previous_action = &previous_slots[0];
static struct sigaction our_action;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
/* While this thread runs the previous handler on our behalf: the stack
 * position of the handler frame that called it; 0 otherwise. */
static __thread uintptr_t chaining_frame __attribute__((tls_model("initial-exec")));
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_error;
static _Atomic uint64_t handler_entries;
static long page_size;

/* Registry of thread window stacks, for reclaim scans. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct guard_thread *registry;
static unsigned registry_count;
static pthread_key_t thread_key;

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

/* Die of SIGBUS with a core dump, as if no handler had been installed.
 * The signal is blocked while a handler runs, so the re-raised one is
 * delivered as soon as we return. */
static void
die_by_default(void)
{
	struct sigaction dfl;
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGBUS, &dfl, NULL);
	raise(SIGBUS);
}

/* Whether the handler whose frame is at @p frame runs inside a call to
 * the previous handler on this thread, i.e. that handler called us back.
 * The stack grows down, so a call made from inside the chain sits below
 * the frame that started it. A chain left by siglongjmp() leaves
 * chaining_frame set, but a later signal at the same depth is not below
 * it. */
static bool
inside_chain(uintptr_t frame)
{
	uintptr_t chain = chaining_frame;
	return chain != 0 && frame < chain;
}

/* Whether SIGBUS is pending for this thread: raised again by the previous
 * handler while ours ran (SIGBUS is blocked in our handler). */
static bool
sigbus_pending(void)
{
	sigset_t pending;
	return sigpending(&pending) == 0 && sigismember(&pending, SIGBUS) == 1;
}

static void
pass_to_previous(int signo, siginfo_t *info, void *context, uintptr_t frame)
{
	if (inside_chain(frame)) {
		/* The previous handler calls the one it replaced, and that is
		 * us (we went back on top in guard_reinstall()): the fault is
		 * no one's. Passing it on again would recurse forever. */
		die_by_default();
		return;
	}
	const struct sigaction *previous =
		atomic_load_explicit(&previous_action, memory_order_acquire);
	if (previous->sa_flags & SA_SIGINFO) {
		if (previous->sa_sigaction == NULL) {
			die_by_default();
			return;
		}
		chaining_frame = frame;
		previous->sa_sigaction(signo, info, context);
	} else if (previous->sa_handler != SIG_DFL && previous->sa_handler != SIG_IGN) {
		chaining_frame = frame;
		previous->sa_handler(signo);
	} else {
		/* SIG_DFL or SIG_IGN before us (a hardware fault is never
		 * ignored). */
		die_by_default();
		return;
	}
	chaining_frame = 0;
	if (sigbus_pending()) {
		/* It gave up and re-raised (libwayland restores the handler
		 * it replaced, ours, and raises): delivered to us once we
		 * return, that would go round the same loop for ever. */
		die_by_default();
	}
}

static void
handle_sigbus(int signo, siginfo_t *info, void *context)
{
	int saved_errno = errno;
	atomic_fetch_add_explicit(&handler_entries, 1, memory_order_relaxed);

	struct guard_thread *thread = guard_current_thread;
	uintptr_t address = (uintptr_t)info->si_addr;
	/* This handler's stack position, for inside_chain(). */
	uintptr_t frame = (uintptr_t)__builtin_frame_address(0);
	if (info->si_code <= 0) {
		/* Sent, not a fault. */
		if (inside_chain(frame)) {
			/* The previous handler gave up and re-raised. */
			die_by_default();
			goto out;
		}
		if (info->si_code == SI_TKILL && info->si_pid == getpid() && thread != NULL &&
			thread->depth > 0) {
			/* Another SIGBUS handler that ran on top of ours (as
			 * libwayland's does) restored ours and re-raised a fault
			 * it did not own. Returning lets the access retry: the
			 * fault comes back, now to us, with its address. */
			goto out;
		}
		goto not_ours;
	}
	for (unsigned i = thread != NULL ? thread->depth : 0; i-- > 0;) {
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
			errno = saved_errno;
			siglongjmp(*window->jump, 1);
		}
		/* Foreign code: zeros, and let the access retry. */
		if (!cover_with_zeros(region, start, prot, address)) {
			goto not_ours;
		}
		errno = saved_errno;
		return;
	}
	if (handle_held_fault(thread, address)) {
		errno = saved_errno;
		return;
	}

not_ours:
	pass_to_previous(signo, info, context, frame);
out:
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
		guard_publish_needs_fence = false;
	}

	our_action.sa_sigaction = handle_sigbus;
	our_action.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&our_action.sa_mask);
	if (sigaction(SIGBUS, &our_action, &previous_slots[0]) != 0) {
		init_error = -errno;
	}
}

bool
guard_reinstall(void)
{
	if (guard_init() != 0) {
		return false;
	}
	bool reinstalled = false;
	pthread_mutex_lock(&install_lock);
	struct sigaction current;
	if (sigaction(SIGBUS, NULL, &current) == 0 &&
		!((current.sa_flags & SA_SIGINFO) && current.sa_sigaction == handle_sigbus)) {
		/* Someone installed a SIGBUS handler over ours: go back on top
		 * and chain to theirs for faults that are not ours. */
		struct sigaction *slot = atomic_load(&previous_action) == &previous_slots[0]
			? &previous_slots[1]
			: &previous_slots[0];
		*slot = current;
		atomic_store_explicit(&previous_action, slot, memory_order_release);
		reinstalled = sigaction(SIGBUS, &our_action, NULL) == 0;
	}
	pthread_mutex_unlock(&install_lock);
	return reinstalled;
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
	 * recovery path unblocks SIGBUS itself instead. */
	if (sigsetjmp(env, 0) != 0) {
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGBUS);
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
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

void
guard_scan_begin(void)
{
	pthread_mutex_lock(&registry_lock);
	bool only_self =
		registry_count == 0 || (registry_count == 1 && registry == guard_current_thread);
	if (!only_self && !guard_publish_needs_fence) {
		/* Every other running thread passes a full barrier: a window
		 * it published before is visible to the scan, and one it
		 * publishes after sees the pool's new generation and retries. */
		syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
	} else {
		atomic_thread_fence(memory_order_seq_cst);
	}
}

bool
guard_scan_begin_alone(void)
{
	pthread_mutex_lock(&registry_lock);
	return registry_count == 0 || (registry_count == 1 && registry == guard_current_thread);
}

bool
guard_region_referenced(const struct guard_region *region)
{
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

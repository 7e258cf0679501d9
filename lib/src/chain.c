/*
 * The dispositions before ours, and signals passed on to them as the
 * kernel would deliver them (see chain.h).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"

#define CHAIN_LEVELS 8

/* How far above a handler entry, on its stack, a chain call it runs
 * inside may be: the called handler's frames and a signal frame or two.
 * Further is taken for a call left long ago by siglongjmp(). */
#define CHAIN_CALL_REACH ((uintptr_t)1 << 20)

/* Chain calls nested on one thread beyond this are a loop we did not
 * recognise (a chainer that passes on neither the siginfo nor the context
 * it got): the signal gets the default action instead of a stack
 * overflow (a level takes one or two KiB). The count includes calls left
 * by siglongjmp() that the handler could not tell were gone (left from
 * ever deeper down the stack), hence the margin. */
#define CHAIN_CALL_DEPTH 32

/* The dispositions, newest first. */
struct chain {
	unsigned count;
	/* Levels installed over our handler (bit per level): their "previous
	 * handler" is ours. The first level we replaced is not. */
	unsigned over_ours;
	struct sigaction levels[CHAIN_LEVELS];
};

/*
 * What the handler reads without a lock, in one word: the generation of
 * the chain (chains[generation & 1] is the current one: a writer fills
 * the other, then publishes it by bumping the generation), and per level
 * of that chain whether it gave up its place (stepped over from then on)
 * and whether it was reset to SIG_DFL (a one-shot handler was called).
 * Handlers change only those bits, by compare-and-swap.
 */
#define STATE_GENERATION(state) ((state) >> 16)
#define STATE_STEPPED_OVER(state, level) (((state) >> (8 + (level))) & 1u)
#define STATE_RESET(state, level) (((state) >> (level)) & 1u)
#define STATE_STEP_OVER_BIT(level) (UINT64_C(1) << (8 + (level)))
#define STATE_RESET_BIT(level) (UINT64_C(1) << (level))

static struct chain chains[2];
static _Atomic uint64_t chain_state;
static struct sigaction our_action;
static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The innermost call this thread's handler is making to a handler of the
 * chain, so that a handler entry inside it can tell that the signal came
 * back to us. What the first test needs is here, in TLS; the rest is in
 * a record in the calling frame (struct chain_call), read only when this
 * says the entry may be a return of the signal: a called handler may have
 * left by siglongjmp(), never returning to clear this, and the record is
 * then dead stack. It is recognised as stale when the calling frame is
 * not above the new entry on its stack (or not within CHAIN_CALL_REACH),
 * or the record is no longer sealed (its frame was written over).
 */
struct chain_top {
	struct chain_call *call;
	uint64_t seal;
	uintptr_t frame;
	const siginfo_t *info;
	const void *context;
	unsigned depth;
	/* The called handler was installed over ours (the one it replaced
	 * is ours) and runs with SIGBUS unblocked (SA_NODEFER): it may
	 * restore ours and raise the signal again, inside the call. */
	bool may_raise_inside;
};

struct chain_call {
	struct chain_top outer;
	uint64_t seal[2];
	const siginfo_t *info;
	uint64_t generation;
	unsigned level;
};

static __thread struct chain_top chain_top __attribute__((tls_model("initial-exec")));
static __thread uint64_t chain_calls_made __attribute__((tls_model("initial-exec")));

static bool
is_handler(const struct sigaction *action)
{
	/* sa_handler and sa_sigaction share their storage. */
	return action->sa_handler != SIG_DFL && action->sa_handler != SIG_IGN;
}

static bool
is_ours(const struct sigaction *action)
{
	return (void (*)(void))action->sa_sigaction == (void (*)(void))our_action.sa_sigaction;
}

static bool
same_mask(const sigset_t *a, const sigset_t *b)
{
	for (int signo = 1; signo < NSIG; signo++) {
		if (sigismember(a, signo) != sigismember(b, signo)) {
			return false;
		}
	}
	return true;
}

static bool
same_action(const struct sigaction *a, const struct sigaction *b)
{
	return a->sa_handler == b->sa_handler && a->sa_flags == b->sa_flags &&
		same_mask(&a->sa_mask, &b->sa_mask);
}

static void
set_default(struct sigaction *action)
{
	memset(action, 0, sizeof(*action));
	action->sa_handler = SIG_DFL;
	sigemptyset(&action->sa_mask);
}

/* ------------------------------------------------------------------ */
/* The chain: written under install_lock, read by handlers lock-free   */
/* ------------------------------------------------------------------ */

/* Copy level @p level of the current chain into @p action, and the state
 * it was read in into @p state; false past the last level. */
static bool
chain_read(unsigned level, struct sigaction *action, bool *over_ours, uint64_t *state)
{
	for (;;) {
		uint64_t before = atomic_load_explicit(&chain_state, memory_order_acquire);
		const struct chain *chain = &chains[STATE_GENERATION(before) & 1];
		bool present = level < chain->count && level < CHAIN_LEVELS;
		if (present) {
			memcpy(action, &chain->levels[level], sizeof(*action));
			*over_ours = (chain->over_ours >> level) & 1u;
		}
		atomic_thread_fence(memory_order_acquire);
		uint64_t after = atomic_load_explicit(&chain_state, memory_order_relaxed);
		if (STATE_GENERATION(after) == STATE_GENERATION(before)) {
			*state = after;
			return present;
		}
	}
}

/*
 * Publish a chain with @p top as level 0 over the current one. A handler
 * may pass signals on to what it replaced, so the current chain follows
 * it (less the levels that gave up their place, one-shots already called
 * as SIG_DFL, and as many levels as there is room for, always keeping the
 * first); SIG_DFL and SIG_IGN pass nothing on and end it.
 */
static void
chain_publish(const struct sigaction *top, bool top_over_ours)
{
	for (;;) {
		uint64_t state = atomic_load(&chain_state);
		uint64_t generation = STATE_GENERATION(state);
		const struct chain *old = &chains[generation & 1];
		struct chain *next = &chains[(generation + 1) & 1];
		unsigned count = 0;
		next->over_ours = top_over_ours ? 1u : 0u;
		next->levels[count++] = *top;
		for (unsigned level = 0; is_handler(top) && level < old->count; level++) {
			bool first = level == old->count - 1;
			if (STATE_STEPPED_OVER(state, level) ||
				(count == CHAIN_LEVELS - 1 && !first)) {
				continue;
			}
			next->levels[count] = old->levels[level];
			if (STATE_RESET(state, level)) {
				set_default(&next->levels[count]);
			}
			next->over_ours |= ((old->over_ours >> level) & 1u) << count;
			count++;
		}
		next->count = count;
		if (atomic_compare_exchange_strong(&chain_state, &state, (generation + 1) << 16)) {
			return;
		}
		/* A handler reset or stepped over a level meanwhile: again. */
	}
}

/* Put our handler on top, chaining to what it replaces. @p initial: the
 * first installation (what it replaces is the process's own). Returns 1
 * if it did, 0 if it was on top already, -errno. Install lock held. */
static int
go_on_top(bool initial)
{
	struct sigaction current;
	if (sigaction(SIGBUS, NULL, &current) != 0) {
		return -errno;
	}
	if (is_ours(&current) && (current.sa_flags & SA_SIGINFO)) {
		return 0;
	}
	/* Our own function set without SA_SIGINFO (by signal(), say) is
	 * nobody's disposition: only put it back as it should be. */
	bool anyones = !is_ours(&current);
	bool over_ours = !initial;
	for (;;) {
		if (anyones) {
			chain_publish(&current, over_ours);
			/* A sent SIGBUS interrupts a system call as it would have:
			 * restarted unless a handler without SA_RESTART ran. */
			our_action.sa_flags = SA_SIGINFO | SA_ONSTACK;
			if (!is_handler(&current) || (current.sa_flags & SA_RESTART)) {
				our_action.sa_flags |= SA_RESTART;
			}
		}
		struct sigaction replaced;
		if (sigaction(SIGBUS, &our_action, &replaced) != 0) {
			return -errno;
		}
		if (is_ours(&replaced) || same_action(&replaced, &current)) {
			return 1;
		}
		/* Installed between our look and ours, over the one we saw,
		 * which it passes signals on to itself. */
		current = replaced;
		anyones = true;
		over_ours = false;
	}
}

int
chain_install(void (*handler)(int, siginfo_t *, void *))
{
	pthread_mutex_lock(&install_lock);
	memset(&our_action, 0, sizeof(our_action));
	our_action.sa_sigaction = handler;
	our_action.sa_flags = SA_SIGINFO | SA_ONSTACK;
	sigemptyset(&our_action.sa_mask);
	int ret = go_on_top(true);
	pthread_mutex_unlock(&install_lock);
	return ret < 0 ? ret : 0;
}

bool
chain_reinstall(void)
{
	pthread_mutex_lock(&install_lock);
	int ret = go_on_top(false);
	pthread_mutex_unlock(&install_lock);
	return ret > 0;
}

/* Level @p level of chain @p generation gave up its place. */
static void
chain_step_over(uint64_t generation, unsigned level)
{
	uint64_t state = atomic_load(&chain_state);
	while (STATE_GENERATION(state) == generation && !STATE_STEPPED_OVER(state, level)) {
		if (atomic_compare_exchange_weak(
			    &chain_state, &state, state | STATE_STEP_OVER_BIT(level))) {
			break;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Passing a signal on, in the handler                                 */
/* ------------------------------------------------------------------ */

/* A synchronous fault: its instruction faults again when it runs again.
 * BUS_MCEERR_AO (memory found bad in the background) is not one. */
static bool
fault_recurs(const siginfo_t *info)
{
	switch (info->si_code) {
	case BUS_ADRALN:
	case BUS_ADRERR:
	case BUS_OBJERR:
	case BUS_MCEERR_AR:
		return true;
	default:
		return false;
	}
}

static bool
sigbus_pending(void)
{
	sigset_t pending;
	return sigpending(&pending) == 0 && sigismember(&pending, SIGBUS) == 1;
}

/* SIG_DFL's action on @p info: see chain.h. */
static void
default_action(const siginfo_t *info)
{
	struct sigaction dfl;
	set_default(&dfl);
	sigaction(SIGBUS, &dfl, NULL);
	if (fault_recurs(info)) {
		return;
	}
	siginfo_t again;
	memcpy(&again, info, sizeof(again));
	if (syscall(SYS_rt_tgsigqueueinfo, getpid(), syscall(SYS_gettid), SIGBUS, &again) != 0) {
		raise(SIGBUS);
	}
}

static void
dispatch(int signo, siginfo_t *info, void *context, unsigned level);

/* Call the handler at @p level as the kernel would deliver to it. Never
 * inlined, and its frame (the chain_call record) never on a sanitizer's
 * fake stack: entries inside the call find the record above them. */
static __attribute__((noinline, no_sanitize_address)) void
call_previous(int signo, siginfo_t *info, void *context, const struct sigaction *action,
	unsigned level, bool over_ours, uint64_t generation)
{
	if (chain_top.depth >= CHAIN_CALL_DEPTH) {
		default_action(info);
		return;
	}
	/* Our handler runs with SIGBUS blocked: one sent meanwhile waits. */
	bool pending_before = sigbus_pending();

	sigset_t before, during;
	pthread_sigmask(SIG_SETMASK, NULL, &before);
	during = before;
	for (int blocked = 1; blocked < NSIG; blocked++) {
		if (sigismember(&action->sa_mask, blocked) == 1) {
			sigaddset(&during, blocked);
		}
	}
	if (action->sa_flags & SA_NODEFER) {
		sigdelset(&during, signo);
	} else {
		sigaddset(&during, signo);
	}
	bool remask = !same_mask(&before, &during);
	if (remask) {
		pthread_sigmask(SIG_SETMASK, &during, NULL);
	}

	struct chain_call call;
	uint64_t seal = ++chain_calls_made * UINT64_C(0x9e3779b97f4a7c15) ^ (uintptr_t)&chain_top;
	call.outer = chain_top;
	call.seal[0] = seal;
	call.seal[1] = ~seal;
	call.info = info;
	call.generation = generation;
	call.level = level;
	struct chain_top top = {
		.call = &call,
		.seal = seal,
		.frame = (uintptr_t)__builtin_frame_address(0),
		.info = info,
		.context = context,
		.depth = call.outer.depth + 1,
		.may_raise_inside = over_ours && sigismember(&during, signo) == 0,
	};
	atomic_signal_fence(memory_order_seq_cst);
	chain_top = top;
	atomic_signal_fence(memory_order_seq_cst);

	if (action->sa_flags & SA_SIGINFO) {
		action->sa_sigaction(signo, info, context);
	} else {
		action->sa_handler(signo);
	}

	atomic_signal_fence(memory_order_seq_cst);
	chain_top = call.outer;
	call.seal[0] = 0;
	call.seal[1] = 0;
	if (remask) {
		pthread_sigmask(SIG_SETMASK, &before, NULL);
	}

	/* A handler installed over ours that gave up restored ours and
	 * raised the signal again; without SA_NODEFER that waited until it
	 * returned, and would come back to us and to it, for ever. Without
	 * the library it would go to the disposition it restored: the next
	 * level. (If it restored anything but ours, that meets the signal
	 * once we return, as without the library.) */
	if (!over_ours || pending_before || !sigbus_pending()) {
		return;
	}
	struct sigaction now;
	if (sigaction(SIGBUS, NULL, &now) != 0 || !is_ours(&now)) {
		return;
	}
	sigset_t sigbus;
	sigemptyset(&sigbus);
	sigaddset(&sigbus, SIGBUS);
	siginfo_t raised;
	struct timespec no_wait = {0, 0};
	if (sigtimedwait(&sigbus, &raised, &no_wait) != SIGBUS) {
		return;
	}
	chain_step_over(generation, level);
	dispatch(signo, &raised, context, level + 1);
}

/* Pass @p info to the chain from @p level on. */
static void
dispatch(int signo, siginfo_t *info, void *context, unsigned level)
{
	struct sigaction action;
	bool over_ours = false;
	uint64_t state;
	for (;;) {
		if (level >= CHAIN_LEVELS || !chain_read(level, &action, &over_ours, &state)) {
			default_action(info);
			return;
		}
		if (STATE_STEPPED_OVER(state, level)) {
			level++;
			continue;
		}
		if (STATE_RESET(state, level)) {
			set_default(&action);
			break;
		}
		if (!is_handler(&action) || !(action.sa_flags & SA_RESETHAND)) {
			break;
		}
		/* One-shot: the kernel resets it to SIG_DFL as it delivers
		 * the signal. Whoever resets it calls it. */
		if (atomic_compare_exchange_strong(
			    &chain_state, &state, state | STATE_RESET_BIT(level))) {
			break;
		}
	}
	if (is_handler(&action)) {
		call_previous(
			signo, info, context, &action, level, over_ours, STATE_GENERATION(state));
	} else if (action.sa_handler != SIG_IGN || fault_recurs(info)) {
		/* SIG_DFL; or SIG_IGN and a fault, which the kernel never
		 * lets a process ignore. */
		default_action(info);
	}
}

void
chain_pass_on(int signo, siginfo_t *info, void *context)
{
	dispatch(signo, info, context, 0);
}

static void
forget_chain_calls(void)
{
	memset(&chain_top, 0, sizeof(chain_top));
}

/* A copy of the siginfo of @p call. */
static bool
same_signal(const struct chain_call *call, const siginfo_t *info)
{
	return info->si_signo == call->info->si_signo && info->si_code == call->info->si_code &&
		info->si_addr == call->info->si_addr;
}

/* Reads the record of a call that may have been left by siglongjmp():
 * dead stack, which a sanitizer would take for a bad read. */
__attribute__((no_sanitize_address)) bool
chain_continue(int signo, siginfo_t *info, void *context)
{
	struct chain_top top = chain_top;
	if (top.call == NULL) {
		return false;
	}
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	if (top.frame <= here || top.frame - here > CHAIN_CALL_REACH) {
		/* Not inside that call: it was left by siglongjmp(), and
		 * with it every call it ran in (its record cannot be trusted
		 * to say which). */
		forget_chain_calls();
		return false;
	}
	/* A chainer gives the handler it replaced what it was given: the
	 * siginfo, or a copy with the context (or NULL for it). A kernel
	 * delivery always comes with a context of its own. */
	bool passed_back = info == top.info || context == top.context || context == NULL;
	/* A handler installed over ours that gives up restores ours and
	 * raises the signal again: with SA_NODEFER it arrives here at once,
	 * inside the call. */
	bool raised_inside = !passed_back && top.may_raise_inside && info->si_code <= 0 &&
		info->si_pid == getpid();
	if (!passed_back && !raised_inside) {
		return false;
	}
	const struct chain_call *call = top.call;
	if (call->seal[0] != top.seal || call->seal[1] != ~top.seal) {
		forget_chain_calls();
		return false;
	}
	if (passed_back && info != top.info && !same_signal(call, info)) {
		return false;
	}
	if (raised_inside) {
		chain_step_over(call->generation, call->level);
	}
	dispatch(signo, info, context, call->level + 1);
	return true;
}

/*
 * The SIGBUS dispositions that were there before the library's handler,
 * and what that handler does with a signal that is not its own: what the
 * kernel would have done with it had the library never been loaded.
 *
 * The chain lists, newest first, every disposition the library's handler
 * replaced: the one it found when it was first installed (the process's
 * own, level last), and each one installed over it since that
 * chain_reinstall() went back on top of (level 0 is the newest). A signal
 * that is not the library's goes to level 0. A handler at level n that
 * passes a signal on to the one it replaced reaches the library's handler
 * again: by calling it as a function (crash reporters do) or by restoring
 * it and raising the signal again (libwayland does). The signal then goes
 * on to level n + 1, which is what the handler at level n would have
 * replaced without the library; one that restored and raised has given up
 * its place, and is stepped over from then on.
 *
 * The handler is installed with SA_SIGINFO | SA_ONSTACK, and SA_RESTART
 * unless level 0 is a handler without it: a sent SIGBUS that interrupts a
 * system call has it restarted, or failing with EINTR, as level 0 would.
 *
 * Passing a signal to a level does what the kernel does when it delivers:
 * - a handler is called with the action's sa_mask blocked, and SIGBUS too
 *   unless SA_NODEFER, the mask as it was restored afterwards; with
 *   SA_RESETHAND it is called once, its level becoming SIG_DFL as it is;
 * - SIG_IGN: a sent signal is dropped; a fault gets the default action
 *   (the kernel forces it on a synchronous fault that is ignored);
 * - SIG_DFL (and past the last level): the disposition becomes SIG_DFL,
 *   and a fault simply returns: its instruction runs again, faults again,
 *   and the kernel kills the process with that fault's siginfo (si_code,
 *   si_addr: what a core file records). A sent signal (or an asynchronous
 *   one, BUS_MCEERR_AO) is queued again to this thread with its siginfo
 *   as it came, and delivered as the handler returns.
 *
 * Async-signal-safe where marked: sigaction(), sigprocmask, sigpending,
 * sigtimedwait and rt_tgsigqueueinfo are system calls, nothing allocates,
 * locks or logs. State per thread is initial-exec TLS.
 */
#ifndef SHMGUARD_CHAIN_H
#define SHMGUARD_CHAIN_H

#include <signal.h>
#include <stdbool.h>

/* Install @p handler for SIGBUS, chaining to whatever it replaces. Once
 * per process. Returns 0 or -errno. */
int
chain_install(void (*handler)(int, siginfo_t *, void *));

/* If another disposition was installed over the library's handler since,
 * put the handler back on top and make that disposition level 0 of the
 * chain. Returns true if it did. Not async-signal-safe. */
bool
chain_reinstall(void);

/*
 * In the handler, for a signal that is not the library's: if this
 * handler entry continues a chain call that this thread is making (a
 * handler we called passed the signal on to us), pass the signal on to
 * the next level and return true. Async-signal-safe.
 */
bool
chain_continue(int signo, siginfo_t *info, void *context);

/* In the handler, for a signal that is not the library's: pass it on to
 * level 0. Async-signal-safe. */
void
chain_pass_on(int signo, siginfo_t *info, void *context);

#endif

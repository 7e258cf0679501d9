/*
 * The signal mask around the guard: a guarded copy that faults returns
 * with the thread's mask as it was before the copy, whichever handler
 * the fault came through; and a thread that blocks SIGBUS (worker threads
 * often start with every signal blocked) still has its faults handled,
 * where the kernel would otherwise kill the process without asking any
 * handler.
 *
 * Each scenario runs in a forked child (child-process.h): the failure
 * these tests guard against is the death of the process.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "child-library.h"
#include "child-process.h"
#include "leak-check.h"

/* ------------------------------------------------------------------ */
/* Child side: no cmocka here                                          */
/* ------------------------------------------------------------------ */

static bool
same_mask(const sigset_t *a, const sigset_t *b)
{
	for (int signo = 1; signo <= SIGRTMAX; signo++) {
		if (sigismember(a, signo) != sigismember(b, signo)) {
			child_say("child: signal %d (%s): blocked %d, then %d\n", signo,
				strsignal(signo), sigismember(a, signo), sigismember(b, signo));
			return false;
		}
	}
	return true;
}

/* A pool over a file cut to one page: reads from page 2 fault. Made
 * before any handler goes over the library's: making a pool puts the
 * library's handler back on top. */
static struct shmguard_pool *
child_truncated_pool(void)
{
	int fd = child_memfd(2);
	struct shmguard_pool *pool = child_pool(fd, 2);
	if (ftruncate(fd, (off_t)child_page_size()) != 0) {
		child_fail("ftruncate");
	}
	return pool;
}

/* A guarded read of @p pool that faults, and the mask after it. */
static void
child_read_fault_keeps_mask(struct shmguard_pool *pool, const char *what)
{
	sigset_t before, after;
	pthread_sigmask(SIG_SETMASK, NULL, &before);
	uint8_t buffer[64];
	struct shmguard_fault_report report;
	int ret = shmguard_pool_read(pool, child_page_size(), buffer, sizeof(buffer), &report);
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	if (ret != -EFAULT || report.kind != SHMGUARD_FAULT_TRUNCATED) {
		child_fail("the guarded read did not fault");
	}
	if (!same_mask(&before, &after)) {
		child_say("child: %s\n", what);
		child_fail("the signal mask changed across a guarded read that faulted");
	}
}

/* A handler installed over the library's that calls the one it replaced
 * as a function (crash reporters do), blocking much while it runs. */
static struct sigaction replaced;
static atomic_int chainer_calls;

static void
chainer(int signo, siginfo_t *info, void *context)
{
	atomic_fetch_add(&chainer_calls, 1);
	replaced.sa_sigaction(signo, info, context);
}

static int
mask_after_copy_through_chainer(void)
{
	child_library_in_use();
	struct shmguard_pool *pool = child_truncated_pool();
	child_read_fault_keeps_mask(pool, "no handler over the library's");

	/* Some signals blocked by the thread itself stay blocked. */
	sigset_t usr2;
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &usr2, NULL);
	child_read_fault_keeps_mask(pool, "SIGUSR2 blocked by the thread");
	pthread_sigmask(SIG_UNBLOCK, &usr2, NULL);

	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_sigaction = chainer;
	action.sa_flags = SA_SIGINFO;
	sigemptyset(&action.sa_mask);
	sigaddset(&action.sa_mask, SIGSEGV);
	sigaddset(&action.sa_mask, SIGUSR1);
	sigaddset(&action.sa_mask, SIGTERM);
	if (sigaction(SIGBUS, &action, &replaced) != 0 || !(replaced.sa_flags & SA_SIGINFO)) {
		child_fail("sigaction");
	}
	child_read_fault_keeps_mask(pool,
		"a chainer over the library's, blocking SIGSEGV, SIGUSR1 and "
		"SIGTERM");
	child_read_fault_keeps_mask(pool, "the same, a second time");
	if (atomic_load(&chainer_calls) != 2) {
		child_fail("the faults did not come through the chainer");
	}
	child_say("child: the mask is the same after every guarded read that faulted\n");
	return 0;
}

/* --- Threads that block SIGBUS -------------------------------------- */

static bool
thread_window_fault(void)
{
	struct shmguard_access *access;
	const volatile uint8_t *data = child_truncated_window(&access);
	child_expect_window_fault(data, access);
	return true;
}

static void
thread_copy_fault(void)
{
	int fd = child_memfd(2);
	struct shmguard_pool *pool = child_pool(fd, 2);
	size_t page = child_page_size();
	if (ftruncate(fd, (off_t)page) != 0) {
		child_fail("ftruncate");
	}
	uint8_t buffer[64];
	if (shmguard_pool_read(pool, page, buffer, sizeof(buffer), NULL) != -EFAULT) {
		child_fail("the guarded read did not fault");
	}
}

static bool
blocked(int signo)
{
	sigset_t now;
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	return sigismember(&now, signo) == 1;
}

/* A worker started with every signal blocked, whose first use of the
 * library is a window (@p arg NULL) or a guarded copy. */
static void *
blocked_worker(void *arg)
{
	bool copy_first = arg != NULL;
	if (!blocked(SIGBUS) || !blocked(SIGUSR1)) {
		child_fail("the worker did not start with every signal blocked");
	}
	if (copy_first) {
		thread_copy_fault();
		thread_window_fault();
	} else {
		thread_window_fault();
		thread_copy_fault();
	}
	if (blocked(SIGBUS)) {
		child_fail("SIGBUS still blocked after the worker's faults");
	}
	if (!blocked(SIGUSR1) || !blocked(SIGTERM)) {
		child_fail("signals other than SIGBUS were unblocked");
	}
	child_say("child: worker (%s first) survived its faults; only SIGBUS unblocked\n",
		copy_first ? "copy" : "window");
	return NULL;
}

static void
run_blocked_worker(bool copy_first)
{
	sigset_t all, saved;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	pthread_t worker;
	int ret = pthread_create(&worker, NULL, blocked_worker, copy_first ? &worker : NULL);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (ret != 0) {
		child_fail("pthread_create");
	}
	pthread_join(worker, NULL);
}

static int
faults_on_threads_that_block_sigbus(void)
{
	child_library_in_use();
	run_blocked_worker(false);
	run_blocked_worker(true);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parent side                                                         */
/* ------------------------------------------------------------------ */

static struct child_outcome outcome;

static void
mask_restored_after_guarded_copy(void **state)
{
	child_run(mask_after_copy_through_chainer, &outcome);
	assert_true(child_exited_with(&outcome, 0));
}

static void
thread_blocking_sigbus_survives(void **state)
{
	child_run(faults_on_threads_that_block_sigbus, &outcome);
	assert_true(child_exited_with(&outcome, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(mask_restored_after_guarded_copy),
		LEAK_CHECKED(thread_blocking_sigbus_survives),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

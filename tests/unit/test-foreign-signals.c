/*
 * A SIGBUS that is not the library's behaves exactly as it would without
 * the library, whatever disposition it would have met:
 *
 * - a handler: called as the kernel would call it, its sa_mask blocked
 *   and SIGBUS too unless SA_NODEFER, and once only if SA_RESETHAND (the
 *   next one meets SIG_DFL); a handler that leaves by siglongjmp() can be
 *   called again, from any depth of the stack, for faults and sent
 *   signals alike;
 * - SIG_IGN: a sent SIGBUS is ignored, and a system call it arrives in
 *   goes on (SA_RESTART); a fault gets the default action;
 * - SIG_DFL: the process dies of it, and of that very signal: a fault
 *   dies of the fault (its si_code and si_addr, which a core file keeps),
 *   a sent signal of the sent signal (its sender);
 * - a SIGBUS that a thread of the process sends to a thread with an
 *   access window open is passed on like any other, unless that window is
 *   over memory that faults at that moment (see the README's "Other SIGBUS
 *   handlers").
 *
 * Each scenario runs in a forked child (child-process.h) that installs the
 * disposition first and only then uses the library, whose handler then
 * sits on top of it. The child reports on stderr; alarm() turns a loop
 * into a death by SIGALRM.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "child-library.h"
#include "child-process.h"
#include "leak-check.h"

static size_t page;

/* ------------------------------------------------------------------ */
/* Child side: no cmocka here                                          */
/* ------------------------------------------------------------------ */

static void
install_before_library(const struct sigaction *action)
{
	if (sigaction(SIGBUS, action, NULL) != 0) {
		child_fail("sigaction");
	}
}

static void
install_siginfo_handler(
	void (*handler)(int, siginfo_t *, void *), int flags, int masked_a, int masked_b)
{
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_sigaction = handler;
	action.sa_flags = SA_SIGINFO | flags;
	sigemptyset(&action.sa_mask);
	if (masked_a != 0) {
		sigaddset(&action.sa_mask, masked_a);
	}
	if (masked_b != 0) {
		sigaddset(&action.sa_mask, masked_b);
	}
	install_before_library(&action);
}

static void
install_disposition(void (*disposition)(int))
{
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = disposition;
	sigemptyset(&action.sa_mask);
	install_before_library(&action);
}

/* Put a zero page over the page of @p address, so the access can retry. */
static void
map_zeros_at(const void *address)
{
	uintptr_t start = (uintptr_t)address & ~((uintptr_t)page - 1);
	mmap((void *)start, page, PROT_READ, MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static bool
blocked_now(int signo)
{
	sigset_t now;
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	return sigismember(&now, signo) == 1;
}

/* What the predecessor saw, for the child to check afterwards. */
static atomic_int faults_seen;
static atomic_int sent_seen;
static atomic_int last_code;
static atomic_bool sigbus_blocked_inside;
static atomic_bool usr1_blocked_inside;
static atomic_bool term_blocked_inside;

static void
record_call(const siginfo_t *info)
{
	atomic_fetch_add(info->si_code > 0 ? &faults_seen : &sent_seen, 1);
	atomic_store(&last_code, info->si_code);
	atomic_store(&sigbus_blocked_inside, blocked_now(SIGBUS));
	atomic_store(&usr1_blocked_inside, blocked_now(SIGUSR1));
	atomic_store(&term_blocked_inside, blocked_now(SIGTERM));
}

/* Counts, and lets a fault retry on a zero page. */
static void
fixing_predecessor(int signo, siginfo_t *info, void *context)
{
	record_call(info);
	if (info->si_code > 0) {
		map_zeros_at(info->si_addr);
	}
}

/* --- 1. A predecessor that leaves by siglongjmp() ------------------ */

static sigjmp_buf escape;

static void
escaping_plain_predecessor(int signo)
{
	atomic_fetch_add(&faults_seen, 1);
	siglongjmp(escape, 1);
}

/* Faults escape; sent signals are counted and return. */
static void
escaping_predecessor(int signo, siginfo_t *info, void *context)
{
	record_call(info);
	if (info->si_code > 0) {
		siglongjmp(escape, 1);
	}
}

static const volatile uint8_t *foreign_page;

static void
touch_foreign_page(void)
{
	uint8_t byte = *foreign_page;
	child_say("child: read %u past EOF without a signal\n", byte);
	child_fail("no SIGBUS");
}

static void
raise_sigbus(void)
{
	raise(SIGBUS);
}

/* Run @p at_bottom @p levels calls deeper than here, each call holding
 * half a KiB of stack: the signal frames then sit far below those of a
 * signal taken at the top. */
static __attribute__((noinline)) int
deeper(unsigned levels, void (*at_bottom)(void))
{
	volatile char pad[512];
	pad[0] = (char)levels;
	pad[sizeof(pad) - 1] = pad[0];
	if (levels == 0) {
		at_bottom();
		return pad[0];
	}
	return deeper(levels - 1, at_bottom) + pad[sizeof(pad) - 1];
}

/* One foreign fault at @p levels below here, escaped from. */
static void
foreign_fault_escaped(unsigned levels)
{
	if (sigsetjmp(escape, 1) == 0) {
		deeper(levels, touch_foreign_page);
	}
}

/* Run @p body on a thread of its own: its stack is mapped whole, where
 * valgrind cannot grow the main thread's for a signal frame deep down. */
static void
on_thread(void *(*body)(void *))
{
	pthread_t thread;
	if (pthread_create(&thread, NULL, body, NULL) != 0) {
		child_fail("pthread_create");
	}
	pthread_join(thread, NULL);
}

/* The application's own SIGBUS guard, installed before the library, works
 * twice at one depth and then for a fault 64 calls deeper. */
static void *
escapes_then_deeper_fault(void *arg)
{
	child_library_in_use();
	foreign_page = child_page_past_eof();
	foreign_fault_escaped(0);
	foreign_fault_escaped(0);
	child_say("child: escaped twice at one depth; now from 64 calls deeper\n");
	foreign_fault_escaped(64);
	if (atomic_load(&faults_seen) != 3) {
		child_fail("the predecessor was not called for every fault");
	}
	child_say("child: predecessor called 3 times, escaped every time\n");
	return NULL;
}

static int
escaping_predecessor_then_deeper_fault(void)
{
	install_disposition(escaping_plain_predecessor);
	on_thread(escapes_then_deeper_fault);
	return 0;
}

/* The same guard, then a SIGBUS the thread sends itself from deeper down:
 * the predecessor gets it. */
static void *
escapes_then_deeper_raise(void *arg)
{
	child_library_in_use();
	foreign_page = child_page_past_eof();
	foreign_fault_escaped(0);
	foreign_fault_escaped(0);
	child_say("child: escaped twice; now raise(SIGBUS) from 64 calls deeper\n");
	deeper(64, raise_sigbus);
	if (atomic_load(&faults_seen) != 2 || atomic_load(&sent_seen) != 1 ||
		atomic_load(&last_code) != SI_TKILL) {
		child_fail("the predecessor did not get the raised SIGBUS");
	}
	child_say("child: predecessor got 2 faults and the raised SIGBUS\n");
	return NULL;
}

static int
escaping_predecessor_then_deeper_raise(void)
{
	install_siginfo_handler(escaping_predecessor, 0, 0, 0);
	on_thread(escapes_then_deeper_raise);
	return 0;
}

/* --- 2. The predecessor's flags ------------------------------------ */

static atomic_int oneshot_calls;

static void
oneshot_predecessor(int signo, siginfo_t *info, void *context)
{
	child_say("child: one-shot predecessor called (%d)\n", atomic_fetch_add(&oneshot_calls, 1));
}

/* SA_RESETHAND, and a handler that fixes nothing: the kernel resets the
 * disposition to SIG_DFL as it calls it, so the retried access dies. */
static int
oneshot_predecessor_then_default(void)
{
	alarm(5);
	install_siginfo_handler(oneshot_predecessor, SA_RESETHAND, 0, 0);
	child_library_in_use();
	const volatile uint8_t *foreign = child_page_past_eof();
	child_say("child: touching a page past EOF of an unrelated mapping\n");
	uint8_t byte = *foreign;
	child_say("child: survived, read %u\n", byte);
	return CHILD_SURVIVED;
}

static int
nodefer_predecessor_runs_with_sigbus_unblocked(void)
{
	install_siginfo_handler(fixing_predecessor, SA_NODEFER, 0, 0);
	child_library_in_use();
	uint8_t byte = *child_page_past_eof();
	if (byte != 0 || atomic_load(&faults_seen) != 1) {
		child_fail("the predecessor did not fix the fault");
	}
	if (atomic_load(&sigbus_blocked_inside)) {
		child_fail("SIGBUS was blocked in an SA_NODEFER predecessor");
	}
	child_say("child: SA_NODEFER predecessor ran with SIGBUS unblocked\n");
	return 0;
}

static int
predecessor_runs_with_its_mask(void)
{
	install_siginfo_handler(fixing_predecessor, 0, SIGUSR1, SIGTERM);
	child_library_in_use();
	sigset_t before, after;
	pthread_sigmask(SIG_SETMASK, NULL, &before);
	uint8_t byte = *child_page_past_eof();
	pthread_sigmask(SIG_SETMASK, NULL, &after);
	if (byte != 0 || atomic_load(&faults_seen) != 1) {
		child_fail("the predecessor did not fix the fault");
	}
	if (!atomic_load(&sigbus_blocked_inside) || !atomic_load(&usr1_blocked_inside) ||
		!atomic_load(&term_blocked_inside)) {
		child_say("child: inside: SIGBUS %d SIGUSR1 %d SIGTERM %d blocked\n",
			atomic_load(&sigbus_blocked_inside), atomic_load(&usr1_blocked_inside),
			atomic_load(&term_blocked_inside));
		child_fail("the predecessor did not run with its sa_mask and SIGBUS blocked");
	}
	for (int signo = 1; signo < SIGRTMIN; signo++) {
		if (sigismember(&before, signo) != sigismember(&after, signo)) {
			child_say("child: signal %d blocked %d before, %d after\n", signo,
				sigismember(&before, signo), sigismember(&after, signo));
			child_fail("the signal mask changed");
		}
	}
	child_say("child: predecessor ran with SIGBUS, SIGUSR1 and SIGTERM blocked\n");
	return 0;
}

/* --- 3. SIG_IGN ------------------------------------------------------ */

static void *
send_sigbus_to(void *arg)
{
	pthread_kill(*(pthread_t *)arg, SIGBUS);
	return NULL;
}

/* Sent SIGBUS under SIG_IGN: nothing happens, window open or not. */
static int
ignored_sent_sigbus(void)
{
	install_disposition(SIG_IGN);
	struct shmguard_access *open_window = child_library_in_use();
	child_say("child: kill(), raise() and pthread_kill() of SIGBUS, window open\n");
	kill(getpid(), SIGBUS);
	raise(SIGBUS);
	pthread_t self = pthread_self();
	pthread_t sender;
	if (pthread_create(&sender, NULL, send_sigbus_to, &self) != 0) {
		child_fail("pthread_create");
	}
	pthread_join(sender, NULL);
	shmguard_access_end(open_window, NULL);
	child_say("child: the same with no window open\n");
	kill(getpid(), SIGBUS);
	raise(SIGBUS);
	child_say("child: every sent SIGBUS was ignored\n");
	return 0;
}

/* --- 4. SIGBUS sent by the process while a window is open ------------ */

static atomic_bool window_open;

/* Waits for the signal without a system call: valgrind 3.19 trips on its
 * own assertion when a signal whose handler makes system calls lands in a
 * thread blocked in one (a futex wait). */
static void *
hold_window_while_signalled(void *arg)
{
	int fd = child_memfd(1);
	struct shmguard_pool *pool = child_pool(fd, 1);
	struct shmguard_access *access;
	child_window(pool, 1, &access);
	atomic_store(&window_open, true);
	for (uint64_t spins = 0; atomic_load(&sent_seen) < 2; spins++) {
		if (spins == UINT64_C(1) << 36) {
			child_fail("pthread_kill(SIGBUS) never reached the predecessor");
		}
	}
	shmguard_access_end(access, NULL);
	return NULL;
}

static int
sent_with_window_open_reaches_predecessor(void)
{
	install_siginfo_handler(fixing_predecessor, 0, 0, 0);
	child_library_in_use();
	child_say("child: raise(SIGBUS) with a window open\n");
	raise(SIGBUS);
	if (atomic_load(&sent_seen) != 1 || atomic_load(&last_code) != SI_TKILL) {
		child_fail("raise(SIGBUS) with a window open did not reach the predecessor");
	}
	child_say("child: pthread_kill(SIGBUS) to a thread with a window open\n");
	pthread_t holder;
	if (pthread_create(&holder, NULL, hold_window_while_signalled, NULL) != 0) {
		child_fail("pthread_create");
	}
	while (!atomic_load(&window_open)) {
		sched_yield();
	}
	pthread_kill(holder, SIGBUS);
	pthread_join(holder, NULL);
	if (atomic_load(&sent_seen) != 2 || atomic_load(&last_code) != SI_TKILL) {
		child_fail("pthread_kill(SIGBUS) did not reach the predecessor");
	}
	child_say("child: both reached the predecessor\n");
	return 0;
}

/* The documented exception: with a window open over memory that faults,
 * a SIGBUS the thread sends itself is taken for one of the library's
 * faults re-raised by a handler over it; the fault itself then comes. */
static int
sent_with_faulting_window_open_is_retried(void)
{
	install_siginfo_handler(fixing_predecessor, 0, 0, 0);
	child_library_in_use();
	struct shmguard_access *access;
	const volatile uint8_t *data = child_truncated_window(&access);
	raise(SIGBUS);
	if (atomic_load(&sent_seen) != 0) {
		child_fail("taken for a sent signal");
	}
	child_expect_window_fault(data, access);
	child_say("child: taken for a re-raised fault of the library's\n");
	return 0;
}

/* --- A sent SIGBUS and system calls --------------------------------- */

static int interrupted_pipe[2];
static atomic_int reader_tid;
static ssize_t reader_result;
static int reader_errno;

static void *
blocked_reader(void *arg)
{
	atomic_store(&reader_tid, (int)syscall(SYS_gettid));
	char byte;
	reader_result = read(interrupted_pipe[0], &byte, 1);
	reader_errno = errno;
	return NULL;
}

/* Whether thread @p tid sleeps in the kernel (state S in its stat). */
static bool
thread_sleeping(int tid)
{
	char path[64], stat[512];
	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	FILE *file = fopen(path, "r");
	if (file == NULL) {
		return false;
	}
	size_t length = fread(stat, 1, sizeof(stat) - 1, file);
	fclose(file);
	stat[length] = '\0';
	const char *end_of_name = strrchr(stat, ')');
	return end_of_name != NULL && end_of_name[1] == ' ' && end_of_name[2] == 'S';
}

/* A SIGBUS sent to a thread blocked in read() on a pipe, then a byte
 * written: returns what read() returned (-1 with errno EINTR when the
 * signal interrupted it). */
static ssize_t
read_across_sent_sigbus(void)
{
	child_library_in_use();
	if (pipe(interrupted_pipe) != 0) {
		child_fail("pipe");
	}
	pthread_t reader;
	if (pthread_create(&reader, NULL, blocked_reader, NULL) != 0) {
		child_fail("pthread_create");
	}
	for (unsigned i = 0;
		atomic_load(&reader_tid) == 0 || !thread_sleeping(atomic_load(&reader_tid)); i++) {
		if (i == 2000) {
			child_fail("the reader never blocked in read()");
		}
		usleep(1000);
	}
	pthread_kill(reader, SIGBUS);
	usleep(50000);
	if (write(interrupted_pipe[1], "x", 1) != 1) {
		child_fail("write");
	}
	pthread_join(reader, NULL);
	errno = reader_errno;
	return reader_result;
}

static int
ignored_sent_sigbus_leaves_read_alone(void)
{
	install_disposition(SIG_IGN);
	if (read_across_sent_sigbus() != 1) {
		child_fail("read() did not return the byte");
	}
	child_say("child: read() was not interrupted\n");
	return 0;
}

static int
restarting_handler_restarts_read(void)
{
	install_siginfo_handler(fixing_predecessor, SA_RESTART, 0, 0);
	if (read_across_sent_sigbus() != 1 || atomic_load(&sent_seen) != 1) {
		child_fail("read() was not restarted after the SA_RESTART handler");
	}
	child_say("child: read() restarted after the handler ran\n");
	return 0;
}

static int
handler_interrupts_read(void)
{
	install_siginfo_handler(fixing_predecessor, 0, 0, 0);
	if (read_across_sent_sigbus() != -1 || errno != EINTR || atomic_load(&sent_seen) != 1) {
		child_fail("read() was not interrupted by a handler without SA_RESTART");
	}
	child_say("child: read() failed with EINTR after the handler ran\n");
	return 0;
}

/* --- 5. The signal the process dies of ------------------------------- */

/* Reported to the tracing parent through stderr. */
static int
die_of_foreign_fault(void)
{
	install_disposition(SIG_DFL);
	child_library_in_use();
	const volatile uint8_t *foreign = child_page_past_eof();
	child_say("child: fault at %p\n", (const void *)foreign);
	uint8_t byte = *foreign;
	child_say("child: survived, read %u\n", byte);
	return CHILD_SURVIVED;
}

static int
die_of_foreign_fault_under_ignore(void)
{
	install_disposition(SIG_IGN);
	child_library_in_use();
	const volatile uint8_t *foreign = child_page_past_eof();
	child_say("child: fault at %p\n", (const void *)foreign);
	uint8_t byte = *foreign;
	child_say("child: survived, read %u\n", byte);
	return CHILD_SURVIVED;
}

static int
die_of_kill(void)
{
	install_disposition(SIG_DFL);
	child_library_in_use();
	child_say("child: kill(getpid(), SIGBUS)\n");
	kill(getpid(), SIGBUS);
	child_say("child: survived kill()\n");
	return CHILD_SURVIVED;
}

/* ------------------------------------------------------------------ */
/* Parent side                                                         */
/* ------------------------------------------------------------------ */

static struct child_outcome outcome;

static void
assert_exited_cleanly(void)
{
	assert_true(child_exited_with(&outcome, 0));
}

static void
assert_died_of_sigbus(void)
{
	assert_true(WIFSIGNALED(outcome.status));
	assert_int_equal(WTERMSIG(outcome.status), SIGBUS);
}

static unsigned
occurrences(const char *text, const char *needle)
{
	unsigned count = 0;
	for (const char *at = strstr(text, needle); at != NULL; at = strstr(at + 1, needle)) {
		count++;
	}
	return count;
}

static void
escape_then_deeper_fault(void **state)
{
	child_run(escaping_predecessor_then_deeper_fault, &outcome);
	assert_exited_cleanly();
}

static void
escape_then_deeper_raise(void **state)
{
	child_run(escaping_predecessor_then_deeper_raise, &outcome);
	assert_exited_cleanly();
}

static void
oneshot_predecessor_called_once(void **state)
{
	child_run(oneshot_predecessor_then_default, &outcome);
	assert_int_equal(occurrences(outcome.output, "one-shot predecessor called"), 1);
	assert_died_of_sigbus();
}

static void
nodefer_predecessor(void **state)
{
	child_run(nodefer_predecessor_runs_with_sigbus_unblocked, &outcome);
	assert_exited_cleanly();
}

static void
predecessor_mask(void **state)
{
	child_run(predecessor_runs_with_its_mask, &outcome);
	assert_exited_cleanly();
}

static void
ignored_sent_sigbus_is_ignored(void **state)
{
	child_run(ignored_sent_sigbus, &outcome);
	assert_exited_cleanly();
}

static void
sent_sigbus_restarts_system_calls_as_before(void **state)
{
	child_run(ignored_sent_sigbus_leaves_read_alone, &outcome);
	assert_exited_cleanly();
	child_run(restarting_handler_restarts_read, &outcome);
	assert_exited_cleanly();
	child_run(handler_interrupts_read, &outcome);
	assert_exited_cleanly();
}

static void
sent_with_window_open_is_passed_on(void **state)
{
	child_run(sent_with_window_open_reaches_predecessor, &outcome);
	assert_exited_cleanly();
}

static void
sent_with_faulting_window_open_retries(void **state)
{
	child_run(sent_with_faulting_window_open_is_retried, &outcome);
	assert_exited_cleanly();
}

/*
 * Run @p scenario in a child that the parent traces: every signal the
 * child gets stops it first (signal-delivery-stop), the parent reads its
 * siginfo and lets it go on. The last SIGBUS before the child's death is
 * the one it died of, with the siginfo a core file would hold.
 */
static void
run_traced(int (*scenario)(void), siginfo_t *last_sigbus, unsigned *sigbus_count)
{
	int pipe_fds[2];
	assert_int_equal(pipe(pipe_fds), 0);
	fflush(stdout);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		dup2(pipe_fds[1], STDERR_FILENO);
		close(pipe_fds[0]);
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
			child_skip("PTRACE_TRACEME refused");
		}
		raise(SIGSTOP);
		_exit(scenario());
	}
	close(pipe_fds[1]);
	*sigbus_count = 0;
	int status;
	for (;;) {
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFSTOPPED(status)) {
			break;
		}
		int signo = WSTOPSIG(status);
		if (signo == SIGBUS) {
			assert_int_equal(ptrace(PTRACE_GETSIGINFO, pid, NULL, last_sigbus), 0);
			(*sigbus_count)++;
		}
		assert_int_equal(ptrace(PTRACE_CONT, pid, NULL,
					 (void *)(uintptr_t)(signo == SIGSTOP ? 0 : signo)),
			0);
	}
	outcome.status = status;
	ssize_t length = read(pipe_fds[0], outcome.output, sizeof(outcome.output) - 1);
	outcome.output[length > 0 ? length : 0] = '\0';
	close(pipe_fds[0]);
	print_message("%s", outcome.output);
	child_skip_if_skipped(&outcome);
}

static void
skip_under_valgrind(void)
{
	if (leak_check_under_valgrind()) {
		/* Valgrind carries out a default action itself, by sending
		 * the signal again: the siginfo the process dies with is
		 * valgrind's, with or without the library. */
		print_message("skipped under valgrind: it re-sends the signal a process dies of\n");
		skip();
	}
}

static void
assert_died_of_fault_at_reported_address(const siginfo_t *last, unsigned count)
{
	assert_died_of_sigbus();
	void *address = NULL;
	const char *line = strstr(outcome.output, "child: fault at ");
	assert_non_null(line);
	assert_int_equal(sscanf(line, "child: fault at %p", &address), 1);
	print_message("%u SIGBUS seen; the last: si_code %d, si_addr %p (fault at %p)\n", count,
		last->si_code, last->si_addr, address);
	assert_int_equal(last->si_code, BUS_ADRERR);
	assert_ptr_equal(last->si_addr, address);
}

static void
foreign_fault_dies_of_that_fault(void **state)
{
	skip_under_valgrind();
	siginfo_t last;
	unsigned count;
	run_traced(die_of_foreign_fault, &last, &count);
	assert_died_of_fault_at_reported_address(&last, count);
	run_traced(die_of_foreign_fault_under_ignore, &last, &count);
	assert_died_of_fault_at_reported_address(&last, count);
}

static void
sent_sigbus_dies_of_that_signal(void **state)
{
	skip_under_valgrind();
	siginfo_t last;
	unsigned count;
	run_traced(die_of_kill, &last, &count);
	assert_died_of_sigbus();
	print_message("%u SIGBUS seen; the last: si_code %d\n", count, last.si_code);
	assert_int_equal(last.si_code, SI_USER);
}

int
main(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(escape_then_deeper_fault),
		LEAK_CHECKED(escape_then_deeper_raise),
		LEAK_CHECKED(oneshot_predecessor_called_once),
		LEAK_CHECKED(nodefer_predecessor),
		LEAK_CHECKED(predecessor_mask),
		LEAK_CHECKED(ignored_sent_sigbus_is_ignored),
		LEAK_CHECKED(sent_sigbus_restarts_system_calls_as_before),
		LEAK_CHECKED(sent_with_window_open_is_passed_on),
		LEAK_CHECKED(sent_with_faulting_window_open_retries),
		LEAK_CHECKED(foreign_fault_dies_of_that_fault),
		LEAK_CHECKED(sent_sigbus_dies_of_that_signal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

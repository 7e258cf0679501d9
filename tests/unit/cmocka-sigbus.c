/*
 * Keeps cmocka's crash trap off SIGBUS in the unit test binaries.
 *
 * cmocka calls signal(SIGBUS, its_trap) before every test and fixture and
 * signal(SIGBUS, previous) after it. SIGBUS is what these tests are about,
 * so that would be wrong twice over: during a test the library's handler
 * would not be the one the kernel calls, and "restoring" the library's
 * SA_SIGINFO handler through signal() would reinstall it without
 * SA_SIGINFO. This definition of signal() interposes on libc's for the
 * whole program (libcmocka included) and leaves SIGBUS alone: it returns
 * the current handler and changes nothing. Every other signal is set the
 * way glibc's signal() sets it, so cmocka still traps SIGSEGV and friends.
 *
 * A fault that the library does not handle therefore kills the test binary
 * with SIGBUS, and meson reports the crash as a failure.
 *
 * The project builds with -fvisibility=hidden; the definition must be
 * exported for the dynamic linker to bind libcmocka's calls to it.
 */
#include <signal.h>
#include <string.h>

__attribute__((visibility("default"))) sighandler_t
signal(int signo, sighandler_t handler)
{
	struct sigaction old;
	if (signo == SIGBUS) {
		if (sigaction(SIGBUS, NULL, &old) != 0) {
			return SIG_ERR;
		}
		return old.sa_handler;
	}
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = handler;
	sigemptyset(&action.sa_mask);
	sigaddset(&action.sa_mask, signo);
	action.sa_flags = SA_RESTART;
	if (sigaction(signo, &action, &old) != 0) {
		return SIG_ERR;
	}
	return old.sa_handler;
}

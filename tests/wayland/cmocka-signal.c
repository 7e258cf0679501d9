/*
 * cmocka arms its crash trap with signal() around every test, SIGBUS
 * included, and disarms it by calling signal() with whatever the first
 * call returned. For these tests that is wrong: libshmguard's SA_SIGINFO
 * SIGBUS handler must stay the one the kernel calls while a test runs, and
 * re-installing it through signal() would drop SA_SIGINFO.
 *
 * This signal() is exported from the test binary, so the dynamic linker
 * binds libcmocka's calls to it. For SIGBUS it only reports the current
 * handler; every other signal is set as glibc's signal() would, keeping
 * cmocka's trap for SIGSEGV and the rest. A SIGBUS the library does not
 * handle still kills the binary, which meson counts as a failure.
 */
#include <signal.h>
#include <string.h>

__attribute__((visibility("default"))) sighandler_t
signal(int signo, sighandler_t handler)
{
	struct sigaction previous;
	if (signo == SIGBUS) {
		return sigaction(SIGBUS, NULL, &previous) == 0 ? previous.sa_handler : SIG_ERR;
	}
	struct sigaction action;
	memset(&action, 0, sizeof(action));
	action.sa_handler = handler;
	action.sa_flags = SA_RESTART;
	sigemptyset(&action.sa_mask);
	sigaddset(&action.sa_mask, signo);
	return sigaction(signo, &action, &previous) == 0 ? previous.sa_handler : SIG_ERR;
}

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "child-process.h"

void
child_say(const char *format, ...)
{
	char line[256];
	va_list args;
	va_start(args, format);
	int n = vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	if (n > 0) {
		ssize_t ignored = write(STDERR_FILENO, line,
			(size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
		(void)ignored;
	}
}

_Noreturn void
child_fail(const char *what)
{
	child_say("child: FAILED: %s (errno %s)\n", what, strerror(errno));
	_exit(CHILD_FAILED);
}

_Noreturn void
child_skip(const char *why)
{
	child_say("child: cannot run here: %s\n", why);
	_exit(CHILD_SKIPPED);
}

void
child_run(int (*scenario)(void), struct child_outcome *outcome)
{
	int pipe_fds[2];
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* No core files from the children that die on purpose. */
		struct rlimit no_core = {0, 0};
		setrlimit(RLIMIT_CORE, &no_core);
		dup2(pipe_fds[1], STDERR_FILENO);
		_exit(scenario());
	}
	close(pipe_fds[1]);
	size_t length = 0;
	for (;;) {
		ssize_t n = read(pipe_fds[0], outcome->output + length,
			sizeof(outcome->output) - 1 - length);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			break;
		}
		length += (size_t)n;
	}
	outcome->output[length] = '\0';
	close(pipe_fds[0]);
	assert_int_equal(waitpid(pid, &outcome->status, 0), pid);
	fwrite(outcome->output, 1, length, stdout);
	if (WIFSIGNALED(outcome->status)) {
		print_message("child: killed by signal %d (%s)\n", WTERMSIG(outcome->status),
			strsignal(WTERMSIG(outcome->status)));
	} else {
		print_message("child: exit status %d\n", WEXITSTATUS(outcome->status));
	}
}

bool
child_exited_with(const struct child_outcome *outcome, int code)
{
	return WIFEXITED(outcome->status) && WEXITSTATUS(outcome->status) == code;
}

void
child_skip_if_skipped(const struct child_outcome *outcome)
{
	if (child_exited_with(outcome, CHILD_SKIPPED)) {
		skip();
	}
}

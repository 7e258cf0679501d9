/* Running a program under a preload (see preload-run.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "preload-run.h"

bool
preload_run_expect(const char *what, char *const argv[], const char *preload, int status,
	const char *const needles[], bool silent)
{
	char log_path[] = "/tmp/shmguard-refusal-XXXXXX";
	int log_fd = mkstemp(log_path);
	if (log_fd < 0) {
		perror("mkstemp");
		return false;
	}
	pid_t pid = fork();
	if (pid == 0) {
		dup2(log_fd, STDERR_FILENO);
		setenv("LD_PRELOAD", preload, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	int wstatus;
	waitpid(pid, &wstatus, 0);
	char text[4096] = "";
	ssize_t length = pread(log_fd, text, sizeof(text) - 1, 0);
	text[length > 0 ? length : 0] = '\0';
	close(log_fd);
	unlink(log_path);

	bool ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == status;
	for (const char *const *needle = needles; ok && *needle != NULL; needle++) {
		ok = strstr(text, *needle) != NULL;
	}
	if (silent && strstr(text, "libshmguard-preload") != NULL) {
		ok = false;
	}
	printf("%s %s: exit %d (expected %d)\n%s", ok ? "ok" : "FAILED", what,
		WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1, status, text);
	return ok;
}

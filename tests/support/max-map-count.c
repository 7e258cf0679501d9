/* Lowering vm.max_map_count for a test, and always putting it back (see
 * max-map-count.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "max-map-count.h"

#define MAX_MAP_COUNT_PATH "/proc/sys/vm/max_map_count"

static pid_t guardian = -1;
static unsigned long saved_value;
static unsigned long lowered_value;
static char reason[200];

unsigned long
max_map_count_read(void)
{
	int fd = open(MAX_MAP_COUNT_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return 0;
	}
	char text[32];
	ssize_t n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0) {
		return 0;
	}
	text[n] = '\0';
	unsigned long value = 0;
	return sscanf(text, "%lu", &value) == 1 ? value : 0;
}

static bool
max_map_count_write(unsigned long value)
{
	int fd = open(MAX_MAP_COUNT_PATH, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		return false;
	}
	char text[32];
	int len = snprintf(text, sizeof(text), "%lu\n", value);
	bool written = write(fd, text, (size_t)len) == len;
	return close(fd) == 0 && written;
}

unsigned long
max_map_count_process_vmas(void)
{
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		return 0;
	}
	unsigned long lines = 0;
	char chunk[4096];
	ssize_t n;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			lines += chunk[i] == '\n';
		}
	}
	close(fd);
	return lines;
}

static volatile sig_atomic_t parent_gone;

static void
handle_parent_death(int signo)
{
	parent_gone = 1;
}

/* The guardian: wait for @p parent to end (PR_SET_PDEATHSIG: no system
 * call valgrind lacks), then put the old value back if it is still the
 * one the test set. */
static __attribute__((noreturn)) void
guardian_main(pid_t parent, int ready)
{
	/* Out of the test's process group, deaf to what is sent to it. */
	setsid();
	struct sigaction ignore = {.sa_handler = SIG_IGN};
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGINT, &ignore, NULL);
	sigaction(SIGTERM, &ignore, NULL);
	sigaction(SIGHUP, &ignore, NULL);
	sigset_t death, waiting;
	sigemptyset(&death);
	sigaddset(&death, SIGUSR1);
	sigprocmask(SIG_BLOCK, &death, &waiting);
	sigdelset(&waiting, SIGUSR1);
	struct sigaction on_death = {.sa_handler = handle_parent_death};
	sigemptyset(&on_death.sa_mask);
	sigaction(SIGUSR1, &on_death, NULL);
	/* Blocked until sigsuspend(): a death after this is not lost, and
	 * one before it shows in getppid(). */
	char status = prctl(PR_SET_PDEATHSIG, SIGUSR1) == 0 && getppid() == parent ? 'y' : 'n';
	if (write(ready, &status, 1) != 1 || status != 'y') {
		_exit(1);
	}
	close(ready);
	while (!parent_gone && getppid() == parent) {
		sigsuspend(&waiting);
	}
	if (max_map_count_read() == lowered_value) {
		max_map_count_write(saved_value);
	}
	_exit(0);
}

const char *
max_map_count_lower(unsigned long value)
{
	if (geteuid() != 0) {
		return "vm.max_map_count can only be lowered as root";
	}
	saved_value = max_map_count_read();
	if (saved_value == 0) {
		return "cannot read " MAX_MAP_COUNT_PATH;
	}
	if (access(MAX_MAP_COUNT_PATH, W_OK) != 0) {
		return MAX_MAP_COUNT_PATH " is not writable here";
	}
	int ready[2];
	if (pipe2(ready, O_CLOEXEC) != 0) {
		return "pipe2 failed";
	}
	lowered_value = value;
	pid_t parent = getpid();
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(ready[0]);
		close(ready[1]);
		return "fork failed";
	}
	if (pid == 0) {
		close(ready[0]);
		guardian_main(parent, ready[1]);
	}
	close(ready[1]);
	char status = 'n';
	ssize_t n;
	while ((n = read(ready[0], &status, 1)) < 0 && errno == EINTR) {
	}
	close(ready[0]);
	if (n != 1 || status != 'y') {
		waitpid(pid, NULL, 0);
		return "the guardian process could not watch this one (PR_SET_PDEATHSIG)";
	}
	guardian = pid;
	if (!max_map_count_write(value)) {
		snprintf(reason, sizeof(reason), "writing %lu to " MAX_MAP_COUNT_PATH ": %s", value,
			strerror(errno));
		max_map_count_restore();
		return reason;
	}
	return NULL;
}

void
max_map_count_restore(void)
{
	if (guardian < 0) {
		return;
	}
	if (max_map_count_read() == lowered_value) {
		max_map_count_write(saved_value);
	}
	kill(guardian, SIGKILL);
	waitpid(guardian, NULL, 0);
	guardian = -1;
}

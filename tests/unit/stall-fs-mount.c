/* stall-fs for C tests (stall-fs-mount.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "stall-fs-mount.h"

/* How long the daemon has to say it is mounted. */
#define READY_TIMEOUT_MS 10000

int
private_mount_namespace(void)
{
	if (unshare(CLONE_NEWNS) != 0) {
		return -errno;
	}
	/* Source and type are ignored for a propagation change. */
	if (mount("none", "/", "", MS_REC | MS_PRIVATE, NULL) != 0) {
		return -errno;
	}
	return 0;
}

bool
valgrind_running(void)
{
	/* Valgrind preloads its vgpreload_*.so into the program. */
	const char *preload = getenv("LD_PRELOAD");
	return preload != NULL && strstr(preload, "/vgpreload_") != NULL;
}

const char *
stall_fs_unusable(void)
{
	static char why[160];
	const char *program = getenv("SHMGUARD_STALL_FS");
	if (program == NULL || *program == '\0' || access(program, X_OK) != 0) {
		return "stall-fs is not built (needs libfuse3: Debian package libfuse3-dev)";
	}
	if (geteuid() != 0) {
		return "not root: mounting FUSE and changing mount namespaces needs root";
	}
	int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, sizeof(why), "/dev/fuse cannot be used here: %s", strerror(errno));
		return why;
	}
	close(fd);
	return NULL;
}

static long
elapsed_ms(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* Wait for "ready" on the daemon's stdout. */
static bool
wait_ready(int out)
{
	char line[64];
	size_t len = 0;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (elapsed_ms(&start) < READY_TIMEOUT_MS) {
		struct pollfd pfd = {.fd = out, .events = POLLIN};
		int left = READY_TIMEOUT_MS - (int)elapsed_ms(&start);
		if (poll(&pfd, 1, left > 0 ? left : 0) <= 0) {
			continue;
		}
		ssize_t n = read(out, line + len, sizeof(line) - 1 - len);
		if (n <= 0) {
			return false;
		}
		len += (size_t)n;
		line[len] = '\0';
		if (strstr(line, "ready\n") != NULL) {
			return true;
		}
		if (len == sizeof(line) - 1) {
			return false;
		}
	}
	return false;
}

int
stall_fs_mount_start(struct stall_fs_mount *mount, const char *mode, unsigned watchdog_seconds,
	char *why, size_t why_size)
{
	*mount = (struct stall_fs_mount){.pid = -1, .out = -1};
	const char *unusable = stall_fs_unusable();
	if (unusable != NULL) {
		snprintf(why, why_size, "%s", unusable);
		return -1;
	}
	snprintf(mount->dir, sizeof(mount->dir), "/tmp/shmguard-stall-XXXXXX");
	if (mkdtemp(mount->dir) == NULL) {
		snprintf(why, why_size, "mkdtemp: %s", strerror(errno));
		return -1;
	}
	snprintf(mount->file, sizeof(mount->file), "%s/pool", mount->dir);
	int pipe_fds[2];
	if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
		snprintf(why, why_size, "pipe: %s", strerror(errno));
		rmdir(mount->dir);
		return -1;
	}
	char stall[32];
	snprintf(stall, sizeof(stall), "--stall=%s", mode);
	const char *program = getenv("SHMGUARD_STALL_FS");
	pid_t pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(pipe_fds[1], STDOUT_FILENO);
		/* SIGALRM's default action ends the daemon; an alarm outlives
		 * exec. */
		alarm(watchdog_seconds);
		execl(program, program, stall, mount->dir, (char *)NULL);
		_exit(127);
	}
	close(pipe_fds[1]);
	if (pid < 0) {
		snprintf(why, why_size, "fork: %s", strerror(errno));
		close(pipe_fds[0]);
		rmdir(mount->dir);
		return -1;
	}
	mount->pid = pid;
	mount->out = pipe_fds[0];
	if (!wait_ready(mount->out)) {
		snprintf(why, why_size, "stall-fs did not mount %s (see its stderr)", mount->dir);
		stall_fs_mount_stop(mount);
		return -1;
	}
	return 0;
}

void
stall_fs_mount_stop(struct stall_fs_mount *mount)
{
	if (mount->pid > 0) {
		kill(mount->pid, SIGTERM);
		struct timespec start;
		clock_gettime(CLOCK_MONOTONIC, &start);
		int status;
		while (waitpid(mount->pid, &status, WNOHANG) == 0) {
			if (elapsed_ms(&start) > 5000) {
				kill(mount->pid, SIGKILL);
				waitpid(mount->pid, &status, 0);
				break;
			}
			usleep(10000);
		}
		mount->pid = -1;
	}
	if (mount->out >= 0) {
		close(mount->out);
		mount->out = -1;
	}
	if (mount->dir[0] != '\0') {
		/* Unmounted by the daemon, or by fusermount3 when it died. */
		umount2(mount->dir, MNT_DETACH);
		rmdir(mount->dir);
		mount->dir[0] = '\0';
	}
}

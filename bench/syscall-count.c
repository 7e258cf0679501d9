/* Counting a child's system calls with ptrace(PTRACE_SYSCALL). */
#include <errno.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "syscall-count.h"

void
syscall_count_mark(void)
{
	syscall(SYS_getppid);
}

/* Follow @p pid's system call stops until it exits; count the entries
 * between the two marks. */
static int
follow(pid_t pid, long *count)
{
	unsigned marks = 0;
	long counted = 0;
	int deliver = 0;
	for (;;) {
		if (ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)deliver) != 0) {
			return -errno;
		}
		deliver = 0;
		int status;
		if (waitpid(pid, &status, 0) < 0) {
			return -errno;
		}
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			break;
		}
		if (!WIFSTOPPED(status)) {
			continue;
		}
		if (WSTOPSIG(status) != (SIGTRAP | 0x80)) {
			/* A real signal: hand it on. */
			deliver = WSTOPSIG(status);
			continue;
		}
		struct __ptrace_syscall_info info;
		if (ptrace(PTRACE_GET_SYSCALL_INFO, pid, (void *)sizeof(info), &info) <= 0) {
			return -errno;
		}
		if (info.op != PTRACE_SYSCALL_INFO_ENTRY) {
			continue;
		}
		if (info.entry.nr == SYS_getppid) {
			marks++;
		} else if (marks == 1) {
			counted++;
		}
	}
	if (marks != 2) {
		return -EPROTO;
	}
	*count = counted;
	return 0;
}

int
syscall_count_in_child(void (*body)(void *arg), void *arg, long *count)
{
	pid_t pid = fork();
	if (pid < 0) {
		return -errno;
	}
	if (pid == 0) {
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0) {
			_exit(1);
		}
		raise(SIGSTOP);
		body(arg);
		_exit(0);
	}

	int status;
	if (waitpid(pid, &status, 0) < 0) {
		return -errno;
	}
	if (!WIFSTOPPED(status)) {
		/* PTRACE_TRACEME failed: the child exited at once. */
		return -EPERM;
	}
	int ret = -EINVAL;
	if (ptrace(PTRACE_SETOPTIONS, pid, NULL,
		    (void *)(long)(PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL)) == 0) {
		ret = follow(pid, count);
	} else {
		ret = -errno;
	}
	if (ret != 0) {
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
	}
	return ret;
}

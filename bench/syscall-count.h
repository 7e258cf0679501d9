/*
 * Counting the system calls a stretch of code makes, from outside: the
 * code runs in a forked copy of this process that a ptrace(PTRACE_SYSCALL)
 * loop in the parent stops at every system call entry, the same mechanism
 * strace uses. Only the stretch between two marks is counted, so set-up
 * and warm-up are left out.
 */
#ifndef BENCH_SYSCALL_COUNT_H
#define BENCH_SYSCALL_COUNT_H

/**
 * Run @p body(@p arg) in a traced child and store in @p count the number of
 * system calls it made between its first and second call of
 * syscall_count_mark(). Returns 0, or -errno if the child could not be
 * traced (for example when this process already runs under strace or a
 * debugger) or did not mark twice.
 */
int
syscall_count_in_child(void (*body)(void *arg), void *arg, long *count);

/**
 * Mark the start or the end of the counted stretch: one getppid(), which
 * nothing else in the benchmarks calls. Outside a traced child it costs one
 * system call and does nothing else.
 */
void
syscall_count_mark(void);

#endif

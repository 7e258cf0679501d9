/*
 * Huge pages for the tests: raise /proc/sys/vm/nr_hugepages for as long as
 * a test runs and always put the old value back, also after a crash.
 *
 * Huge pages are a resource of the whole machine, shared with other test
 * runs and other users. Every test that reserves registers itself (pid and
 * start time) in a state file under /run, locked with flock(): the first
 * holder saves the value it found, each holder adds its pages, the last
 * one to leave writes the saved value back. A holder that died without
 * leaving (killed, or a test binary that crashed outside the fork that
 * hugepages_run_reserved() makes) is dropped by the next reservation or
 * release, and if no holder is left the saved value is written back then.
 * /run is emptied at boot, when nr_hugepages goes back to its default too.
 *
 * For the helper's own test, SHMGUARD_TEST_HUGEPAGES_STATE and
 * SHMGUARD_TEST_NR_HUGEPAGES name other files to use instead of the state
 * file and /proc/sys/vm/nr_hugepages (no huge page is then asked for).
 */
#ifndef SHMGUARD_TEST_HUGEPAGES_H
#define SHMGUARD_TEST_HUGEPAGES_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* At most this many huge pages are added for all holders together. */
#define HUGEPAGES_MAX_ADDED 16

/*
 * Make @p pages more huge pages of the default size (2 MiB on x86-64)
 * free for @p holder (a live process that will call hugepages_release()
 * or die). Not root: nothing is written, and it succeeds only if that
 * many are free already. Returns 0, or -1 with the reason in @p why (a
 * test skips with it); nothing is left registered on failure.
 */
int
hugepages_reserve(unsigned pages, pid_t holder, char *why, size_t why_size);

/* Drop @p holder; the last holder puts the saved value back. */
void
hugepages_release(pid_t holder);

/* The value of nr_hugepages now (the file the helper writes), or -1. */
long
hugepages_nr(void);

/*
 * Reserve @p pages for this process, run @p body in a forked child and
 * release when the child has ended, however it ended (a SIGTERM or SIGINT
 * to this process is passed on to the child first). If the reservation
 * fails, @p body runs all the same with the reason in @p skip_reason, and
 * is expected to skip; else @p skip_reason is NULL. Returns the child's
 * exit status. A child killed by a signal: after the release that signal
 * is raised in this process with its default action, so that the caller
 * dies of it as the child did (meson then reports the signal).
 */
int
hugepages_run_reserved(unsigned pages, int (*body)(const char *skip_reason, void *arg), void *arg);

#endif

/* Running a program under a preload and checking how it ended: the
 * refusal tests of both preloads. */
#ifndef SHMGUARD_TEST_PRELOAD_RUN_H
#define SHMGUARD_TEST_PRELOAD_RUN_H

#include <stdbool.h>

/*
 * Run @p argv with LD_PRELOAD=@p preload; check its exit status is
 * @p status, that its stderr has every one of @p needles (NULL-ended),
 * and, if @p silent, that no preload wrote a line ("libshmguard-preload"
 * starts every line either writes). Prints "ok"/"FAILED", @p what and
 * the program's stderr.
 */
bool
preload_run_expect(const char *what, char *const argv[], const char *preload, int status,
	const char *const needles[], bool silent);

#endif

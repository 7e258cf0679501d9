/*
 * Scenarios that may end their process (die of a signal, loop until an
 * alarm), run in a forked child while the parent, the cmocka runner,
 * watches. Children use no cmocka call: an assertion there would unwind
 * into the child's copy of the runner. They report on stderr, which the
 * parent captures, prints and keeps for its assertions.
 */
#ifndef SHMGUARD_TEST_CHILD_PROCESS_H
#define SHMGUARD_TEST_CHILD_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

/* Exit codes of a child that should have died, found a fault, or found
 * that the machine cannot run the scenario (see child_skip()). */
#define CHILD_SURVIVED 99
#define CHILD_FAILED 98
#define CHILD_SKIPPED 97

/* How a child ended, and everything it wrote to stderr. */
struct child_outcome {
	int status;
	char output[16384];
};

/* Write a line to stderr (no allocation, no stdio buffer). */
void
child_say(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Say what failed, with errno, and exit with CHILD_FAILED. */
_Noreturn void
child_fail(const char *what);

/* Say why the scenario cannot run here and exit with CHILD_SKIPPED. */
_Noreturn void
child_skip(const char *why);

/*
 * Fork, run @p scenario in the child (its return value is the exit
 * status; no core file is written), and wait. The child's stderr is in
 * @p outcome and printed by the parent, with how the child ended.
 */
void
child_run(int (*scenario)(void), struct child_outcome *outcome);

/* Whether the child exited (not killed by a signal) with @p code. */
bool
child_exited_with(const struct child_outcome *outcome, int code);

/* cmocka: skip the test if the child said it cannot run here. */
void
child_skip_if_skipped(const struct child_outcome *outcome);

#endif

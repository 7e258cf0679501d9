/*
 * Lowering vm.max_map_count for one test process, and always putting it
 * back. The setting is system-wide, so the old value returns when the
 * test calls max_map_count_restore(), and, if the test never gets there
 * (a failed assertion that ends the process, a crash, SIGKILL at a
 * timeout), when the process ends: a guardian process, in a session of
 * its own so that a signal to the test's process group spares it, waits
 * for the test process to end (PR_SET_PDEATHSIG) and writes the old value
 * back.
 */
#ifndef SHMGUARD_TEST_MAX_MAP_COUNT_H
#define SHMGUARD_TEST_MAX_MAP_COUNT_H

#include <stdbool.h>

/* vm.max_map_count now, or 0 if it cannot be read. */
unsigned long
max_map_count_read(void);

/* The map entries (VMAs) of this process now, as lines of
 * /proc/self/maps (one more than the kernel counts where [vsyscall]
 * shows). */
unsigned long
max_map_count_process_vmas(void);

/*
 * Lower vm.max_map_count to @p value until max_map_count_restore() or the
 * end of this process, whichever comes first. Returns NULL, or why the
 * test cannot run (not root, not writable, ...): skip with that reason.
 * Call it from the main thread while the process has no other (it forks,
 * and the guardian watches the thread that forked it).
 */
const char *
max_map_count_lower(unsigned long value);

/* Put the old value back now and stop the guardian. Safe to call when
 * nothing was lowered. */
void
max_map_count_restore(void);

#endif

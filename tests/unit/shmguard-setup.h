/*
 * Library-side set-up shared by the unit tests: pools over client files,
 * and a warm-up that runs before a binary's first leak snapshot.
 */
#ifndef SHMGUARD_TEST_SHMGUARD_SETUP_H
#define SHMGUARD_TEST_SHMGUARD_SETUP_H

#include <stdint.h>

#include <shmguard/shmguard.h>

/* A pool over @p size bytes of @p fd (no budget); fails the test with
 * the library's reason if it cannot be made. */
struct shmguard_pool *
setup_pool_create(int fd, uint64_t size);

/* Open an access window; fails the test with the library's reason if it
 * cannot be opened. Returns the window's first byte. */
void *
setup_window_begin(struct shmguard_pool *pool, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, struct shmguard_access **access);

/*
 * cmocka group setup: use every path of the library once (probe, guard
 * handler, this thread's window stack, windows, copies, a write mapping,
 * a resize), so that what the process keeps for good (the thread's window
 * stack, allocator arenas) exists before the first per-test snapshot.
 */
int
setup_warm_up(void **state);

/*
 * A crew of threads started once per binary (group setup) and given jobs
 * by the tests, so that no test starts a thread of its own: a new thread
 * leaves mappings behind that are not the library's (glibc caches its
 * stack, and AddressSanitizer maps a context for every thread it ever
 * saw), which the per-test leak check would count.
 */
#define SETUP_CREW_SIZE 8

/* One job for one crew member: @p result = @p start(@p arg). */
struct crew_job {
	void *(*start)(void *arg);
	void *arg;
	void *result;
};

/* Run @p count jobs at once, job i on crew member i, and wait for all. */
void
setup_crew_run(struct crew_job *jobs, unsigned count);

/* cmocka group setup/teardown: start the crew (each member allocates
 * once, so its allocator state exists), and stop it. The library is not
 * used here. */
int
setup_crew_start(void **state);

int
setup_crew_stop(void **state);

#endif

/* Access windows, for the layers above the core inside this library. */
#ifndef SHMGUARD_ACCESS_H
#define SHMGUARD_ACCESS_H

#include "shmguard/shmguard.h"

struct generation;

/* shmguard_access_begin(), with the window marked with what it was opened
 * for (@p tag: a buffer), so that access_end_tagged() finds it by that
 * alone. */
int
access_begin_tagged(struct shmguard_pool *pool, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, const void *tag, void **data);

/* The same on @p generation, which the caller has pinned (so no resize can
 * take it away: no race to lose), rather than on its pool's current
 * generation. */
int
access_begin_pinned(struct generation *generation, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, const void *tag, void **data);

/* End this thread's innermost open window marked with @p tag: -1 if there
 * is none, else 1 if it saw a fault (@p report filled), 0 if not. */
int
access_end_tagged(const void *tag, struct shmguard_fault_report *report);

#endif

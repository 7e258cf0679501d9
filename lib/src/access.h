/* Access windows, for the layers above the core inside this library. */
#ifndef SHMGUARD_ACCESS_H
#define SHMGUARD_ACCESS_H

#include "shmguard/shmguard.h"

/* Mark an open window with what it was opened for (e.g. a buffer), so that
 * the caller can find it again by that alone. */
void
access_set_tag(struct shmguard_access *access, const void *tag);

struct generation;

/* Open a window on @p generation, which the caller has pinned (so no
 * resize can take it away: no race to lose), rather than on its pool's
 * current generation; marked with @p tag (see access_set_tag()). */
int
access_begin_pinned(struct generation *generation, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, const void *tag, struct shmguard_access **access,
	void **data);

/* This thread's innermost open window marked with @p tag, or NULL. */
struct shmguard_access *
access_find_tagged(const void *tag);

#endif

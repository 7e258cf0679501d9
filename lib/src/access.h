/* Access windows, for the layers above the core inside this library. */
#ifndef SHMGUARD_ACCESS_H
#define SHMGUARD_ACCESS_H

#include "shmguard/shmguard.h"

/* Mark an open window with what it was opened for (e.g. a buffer), so that
 * the caller can find it again by that alone. */
void
access_set_tag(struct shmguard_access *access, const void *tag);

/* This thread's innermost open window marked with @p tag, or NULL. */
struct shmguard_access *
access_find_tagged(const void *tag);

#endif

/* Pools: a client's file (our own dup of its fd) plus its current
 * mapping generation. */
#ifndef SHMGUARD_POOL_H
#define SHMGUARD_POOL_H

#include <pthread.h>
#include <stdatomic.h>

#include "shmguard/shmguard.h"

#include "file_origin.h"
#include "mapping.h"

struct shmguard_pool {
	/* References held by users of the API. */
	_Atomic unsigned users;
	/* One while users > 0, plus one per generation not yet unmapped;
	 * the pool's memory and fd go with the last. */
	_Atomic unsigned refs;
	_Atomic unsigned generations;
	int fd;
	struct shmguard_budget *budget;
	/* Serialises resize and revalidate; readers never take it. */
	pthread_mutex_t lock;
	_Atomic(struct generation *) current;
	/* Generations are writable views (see mapping.h). */
	bool writable_view;
};

/* shmguard_pool_create_with_policy(), with every generation a writable
 * view when @p writable_view (for libwayland's API, where one data
 * pointer is read and written), and what backs the file stored in
 * @p origin (if not NULL) whether it was accepted or not. */
struct shmguard_pool *
pool_create_vetted(int fd, uint64_t size, struct shmguard_budget *budget, bool writable_view,
	const struct shmguard_file_policy *policy, struct file_origin *origin,
	enum shmguard_pool_error *error);

/* pool_create_vetted() with the default policy. */
struct shmguard_pool *
pool_create(int fd, uint64_t size, struct shmguard_budget *budget, bool writable_view,
	enum shmguard_pool_error *error);

/* The current generation, pinned (generation_unpin() when done). */
struct generation *
pool_pin_current(struct shmguard_pool *pool);

/* The -errno an operation returns for @p error: -EBADF, -ENXIO (file too
 * short), -ENOMEM, -ENOSPC (a budget or bound), else -EINVAL. */
int
pool_error_to_errno(enum shmguard_pool_error error);

/* Fill @p report (if not NULL) from a packed fault record. */
static inline void
fault_report_fill(struct shmguard_fault_report *report, uint64_t packed, uint64_t file_size)
{
	if (report != NULL) {
		report->kind = (enum shmguard_fault_kind)GUARD_FAULT_KIND(packed);
		report->offset = GUARD_FAULT_OFFSET(packed);
		report->file_size = file_size;
	}
}

#endif

/* Pools: a client's file (our own dup of its fd) plus its current
 * mapping generation. */
#ifndef SHMGUARD_POOL_H
#define SHMGUARD_POOL_H

#include <pthread.h>
#include <stdatomic.h>

#include "shmguard/shmguard.h"

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
};

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

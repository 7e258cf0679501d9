/* Pools: creation, resize (grow only, a new generation at once),
 * revalidation and release. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "budget.h"
#include "file_facts.h"
#include "file_origin.h"
#include "guard.h"
#include "log.h"
#include "mapping.h"
#include "pool.h"

static void
pool_put(struct shmguard_pool *pool)
{
	if (atomic_fetch_sub(&pool->refs, 1) != 1) {
		return;
	}
	close(pool->fd);
	budget_release_pool(pool->budget);
	shmguard_budget_unref(pool->budget);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

static void
generation_unmapped(void *owner)
{
	struct shmguard_pool *pool = owner;
	atomic_fetch_sub(&pool->generations, 1);
	pool_put(pool);
}

/* Map a new generation of @p size bytes. @p known: the file's facts if the
 * caller has just read them, else NULL (read here). */
static struct generation *
pool_map(struct shmguard_pool *pool, uint64_t size, const struct file_facts *known,
	enum shmguard_pool_error *error)
{
	struct file_facts facts;
	if (known != NULL) {
		facts = *known;
	} else {
		*error = file_facts_read(pool->fd, &facts);
		if (*error != SHMGUARD_POOL_OK) {
			return NULL;
		}
	}
	if (atomic_load(&pool->generations) >= budget_max_generations(pool->budget)) {
		/* Old generations may only be waiting for a reclaim pass. */
		generation_reclaim();
		if (atomic_load(&pool->generations) >= budget_max_generations(pool->budget)) {
			*error = SHMGUARD_POOL_ERROR_OVER_BUDGET;
			return NULL;
		}
	}
	struct generation *generation =
		generation_create(pool->fd, size, &facts, pool->budget, pool->writable_view, error);
	if (generation == NULL) {
		return NULL;
	}
	generation->on_unmapped = generation_unmapped;
	generation->owner = pool;
	atomic_fetch_add(&pool->generations, 1);
	atomic_fetch_add(&pool->refs, 1);
	return generation;
}

static void
set_error(enum shmguard_pool_error *out, enum shmguard_pool_error error)
{
	if (out != NULL) {
		*out = error;
	}
}

struct shmguard_pool *
pool_create_vetted(int fd, uint64_t size, struct shmguard_budget *budget, bool writable_view,
	const struct shmguard_file_policy *policy, struct file_origin *origin_out,
	enum shmguard_pool_error *error_out)
{
	/* Before anything else looks at the file: fstat() on a FUSE file is
	 * already a request to its daemon. The verdict holds for the pool's
	 * life (the file, so what backs it, never changes), and pool_map()
	 * calls fstat() only on an fd vetted here. */
	struct file_origin origin;
	enum shmguard_pool_error error = file_origin_vet(fd, policy, &origin);
	if (origin_out != NULL) {
		*origin_out = origin;
	}
	if (error != SHMGUARD_POOL_OK) {
		goto err;
	}
	/* What the fd is (a device, a pipe, write-only) is its own fault,
	 * told before any budget: read here, and mapped with, for any file
	 * but shmem, which file_origin_vet() checked without an fstat() (the
	 * mapping reads its facts then). */
	struct file_facts facts;
	const struct file_facts *known = NULL;
	if (!origin.sealable) {
		known = &facts;
		error = file_facts_read(fd, &facts);
		if (error != SHMGUARD_POOL_OK) {
			goto err;
		}
	}
	if (guard_reinstall()) {
		log_message(SHMGUARD_LOG_INFO,
			"another SIGBUS handler was installed over ours: back on top, chaining to it");
	}
	error = budget_charge_pool(budget);
	if (error != SHMGUARD_POOL_OK) {
		goto err;
	}
	struct shmguard_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL) {
		error = SHMGUARD_POOL_ERROR_NO_MEMORY;
		goto err_budget;
	}
	pool->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (pool->fd < 0) {
		error = errno == EMFILE || errno == ENFILE ? SHMGUARD_POOL_ERROR_TOO_MANY_FDS
							   : SHMGUARD_POOL_ERROR_NO_MEMORY;
		goto err_free;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pool->budget = budget != NULL ? shmguard_budget_ref(budget) : NULL;
	atomic_init(&pool->users, 1);
	atomic_init(&pool->refs, 1);
	pool->writable_view = writable_view;

	struct generation *generation = pool_map(pool, size, known, &error);
	if (generation == NULL) {
		/* pool_put() releases the budget charge, the dup and the pool. */
		pool_put(pool);
		goto err;
	}
	atomic_store_explicit(&pool->current, generation, memory_order_release);
	set_error(error_out, SHMGUARD_POOL_OK);
	return pool;

err_free:
	free(pool);
err_budget:
	budget_release_pool(budget);
err:
	set_error(error_out, error);
	return NULL;
}

struct shmguard_pool *
pool_create(int fd, uint64_t size, struct shmguard_budget *budget, bool writable_view,
	enum shmguard_pool_error *error)
{
	return pool_create_vetted(fd, size, budget, writable_view, NULL, NULL, error);
}

SHMGUARD_EXPORT struct shmguard_pool *
shmguard_pool_create(
	int fd, uint64_t size, struct shmguard_budget *budget, enum shmguard_pool_error *error)
{
	return pool_create_vetted(fd, size, budget, false, NULL, NULL, error);
}

SHMGUARD_EXPORT struct shmguard_pool *
shmguard_pool_create_with_policy(int fd, uint64_t size, struct shmguard_budget *budget,
	const struct shmguard_file_policy *policy, enum shmguard_pool_error *error)
{
	return pool_create_vetted(fd, size, budget, false, policy, NULL, error);
}

SHMGUARD_EXPORT struct shmguard_pool *
shmguard_pool_ref(struct shmguard_pool *pool)
{
	atomic_fetch_add(&pool->users, 1);
	return pool;
}

SHMGUARD_EXPORT void
shmguard_pool_unref(struct shmguard_pool *pool)
{
	if (pool == NULL || atomic_fetch_sub(&pool->users, 1) != 1) {
		return;
	}
	struct generation *generation = atomic_exchange(&pool->current, NULL);
	if (generation != NULL) {
		generation_retire(generation);
	}
	pool_put(pool);
}

int
pool_error_to_errno(enum shmguard_pool_error error)
{
	switch (error) {
	case SHMGUARD_POOL_ERROR_BAD_FD:
		return -EBADF;
	case SHMGUARD_POOL_ERROR_FILE_TOO_SHORT:
		return -ENXIO;
	case SHMGUARD_POOL_ERROR_NO_MEMORY:
		return -ENOMEM;
	case SHMGUARD_POOL_ERROR_OVER_BUDGET:
	case SHMGUARD_POOL_ERROR_TOO_MANY_MAPPINGS:
	case SHMGUARD_POOL_ERROR_TOO_MANY_FDS:
		return -ENOSPC;
	default:
		return -EINVAL;
	}
}

/* Replace the current generation by a new mapping of @p size bytes. */
static int
pool_replace(struct shmguard_pool *pool, uint64_t size, enum shmguard_pool_error *error)
{
	struct generation *fresh = pool_map(pool, size, NULL, error);
	if (fresh == NULL) {
		return pool_error_to_errno(*error);
	}
	struct generation *old = atomic_exchange(&pool->current, fresh);
	generation_retire(old);
	return 0;
}

SHMGUARD_EXPORT int
shmguard_pool_resize(
	struct shmguard_pool *pool, uint64_t new_size, enum shmguard_pool_error *error_out)
{
	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	int ret = 0;
	pthread_mutex_lock(&pool->lock);
	struct generation *current = atomic_load(&pool->current);
	if (new_size < current->size) {
		error = SHMGUARD_POOL_ERROR_SHRINK;
		ret = -EINVAL;
	} else if (new_size > current->size) {
		struct file_facts facts;
		bool grown = file_facts_read(pool->fd, &facts) == SHMGUARD_POOL_OK &&
			generation_grow(current, new_size, &facts);
		if (!grown) {
			ret = pool_replace(pool, new_size, &error);
		}
	}
	pthread_mutex_unlock(&pool->lock);
	set_error(error_out, error);
	return ret;
}

SHMGUARD_EXPORT int
shmguard_pool_revalidate(struct shmguard_pool *pool)
{
	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	int ret = 0;
	pthread_mutex_lock(&pool->lock);
	struct generation *current = atomic_load(&pool->current);
	if (atomic_load(&current->region.first_fault) != 0) {
		ret = pool_replace(pool, current->size, &error);
	}
	pthread_mutex_unlock(&pool->lock);
	return ret;
}

/* The current generation, for the pool's owner; the lock keeps a
 * concurrent resize from unmapping it while we read its fields. */
static struct generation *
lock_current(const struct shmguard_pool *pool)
{
	pthread_mutex_lock((pthread_mutex_t *)&pool->lock);
	return atomic_load(&pool->current);
}

static void
unlock_current(const struct shmguard_pool *pool)
{
	pthread_mutex_unlock((pthread_mutex_t *)&pool->lock);
}

struct generation *
pool_pin_current(struct shmguard_pool *pool)
{
	struct generation *current = lock_current(pool);
	generation_pin(current);
	unlock_current(pool);
	return current;
}

SHMGUARD_EXPORT uint64_t
shmguard_pool_get_size(const struct shmguard_pool *pool)
{
	uint64_t size = lock_current(pool)->size;
	unlock_current(pool);
	return size;
}

SHMGUARD_EXPORT enum shmguard_strategy
shmguard_pool_get_strategy(const struct shmguard_pool *pool, enum shmguard_access_mode mode)
{
	struct generation *current = lock_current(pool);
	enum shmguard_strategy strategy =
		mode == SHMGUARD_ACCESS_WRITE ? current->write_strategy : current->read_strategy;
	unlock_current(pool);
	return strategy;
}

SHMGUARD_EXPORT bool
shmguard_pool_allows(const struct shmguard_pool *pool, enum shmguard_access_mode mode,
	enum shmguard_pool_error *error)
{
	struct generation *current = lock_current(pool);
	enum shmguard_pool_error refusal =
		mode == SHMGUARD_ACCESS_WRITE ? current->write_refusal : SHMGUARD_POOL_OK;
	unlock_current(pool);
	set_error(error, refusal);
	return refusal == SHMGUARD_POOL_OK;
}

SHMGUARD_EXPORT bool
shmguard_pool_get_fault(struct shmguard_pool *pool, struct shmguard_fault_report *report)
{
	struct generation *current = lock_current(pool);
	uint64_t packed = atomic_load(&current->region.first_fault);
	uint64_t file_size = atomic_load(&current->region.fault_file_size);
	unlock_current(pool);
	fault_report_fill(report, packed, file_size);
	return packed != 0;
}

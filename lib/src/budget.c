/*
 * Budgets: a shared account per client, and a process-wide mapping bound
 * that keeps the guard's zero-page remaps clear of vm.max_map_count.
 *
 * The arithmetic, for vm.max_map_count M (the kernel's limit on a
 * process's VMAs, 65,530 by default):
 * - M/2 is left to the rest of the process (its libraries, heap, thread
 *   stacks, a GPU driver's mappings);
 * - M/16 is headroom that pool creation never uses: a fault's zero-page
 *   cover needs one free VMA at the moment it runs (measured on 6.18: the
 *   kernel refuses it once the process is past M), whatever the rest of
 *   the process did meanwhile;
 * - the remaining 7M/16 VMAs are the library's, and each mapping counts
 *   for MAPPING_VMAS of them: itself, and the piece a cover splits off
 *   (a cover replaces the mapping from the faulting page to its end, so
 *   a mapping is at most two VMAs however often it faults). So the
 *   process-wide bound is 7M/32 mappings (14,335 at the default M);
 * - each budget (a client) may hold a quarter of that bound by default
 *   (3,583), so one client at its cap leaves three quarters to the others
 *   and the handler's headroom untouched.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "shmguard/shmguard.h"

#include "budget.h"

#define DEFAULT_MAX_POOLS 1024u
#define DEFAULT_MAX_MAPPED_BYTES (UINT64_C(4) << 30)
#define DEFAULT_MAX_GENERATIONS 16u
#define FALLBACK_MAX_MAP_COUNT 65530u
/* VMAs a mapping may become: itself and the split of a zero-page cover. */
#define MAPPING_VMAS 2u
/* A budget's default share of the process-wide mapping bound: 1/4. */
#define CLIENT_SHARE_OF_MAPPINGS 4u

static _Atomic uint32_t max_mappings;
static _Atomic uint32_t mappings_in_use;
static _Atomic uint32_t max_pool_fds;
static _Atomic uint32_t pool_fds_in_use;

static uint32_t
default_max_pool_fds(void)
{
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY ||
		limit.rlim_cur / 2 > UINT32_MAX) {
		return UINT32_MAX / 2;
	}
	/* Half for pools, half for clients' connections and everything else
	 * the process opens. */
	return limit.rlim_cur < 64 ? 16 : (uint32_t)(limit.rlim_cur / 2);
}

static uint32_t
current_max_pool_fds(void)
{
	uint32_t max = atomic_load(&max_pool_fds);
	if (max == 0) {
		uint32_t fresh = default_max_pool_fds();
		atomic_compare_exchange_strong(&max_pool_fds, &max, fresh);
		max = atomic_load(&max_pool_fds);
	}
	return max;
}

SHMGUARD_EXPORT void
shmguard_set_max_pool_fds(uint32_t max)
{
	atomic_store(&max_pool_fds, max == 0 ? default_max_pool_fds() : max);
}

static uint32_t
default_max_mappings(void)
{
	unsigned long count = FALLBACK_MAX_MAP_COUNT;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	if (f != NULL) {
		if (fscanf(f, "%lu", &count) != 1 || count < 64) {
			count = FALLBACK_MAX_MAP_COUNT;
		}
		fclose(f);
	}
	/* Half for the rest of the process, a sixteenth kept for the
	 * handler's covers, and two VMAs per mapping (see the top). */
	unsigned long vmas = count / 2 - count / 16;
	unsigned long mappings = vmas / MAPPING_VMAS;
	return (uint32_t)(mappings > UINT32_MAX ? UINT32_MAX : mappings);
}

static uint32_t
current_max_mappings(void)
{
	uint32_t max = atomic_load(&max_mappings);
	if (max == 0) {
		uint32_t fresh = default_max_mappings();
		atomic_compare_exchange_strong(&max_mappings, &max, fresh);
		max = atomic_load(&max_mappings);
	}
	return max;
}

SHMGUARD_EXPORT void
shmguard_set_max_mappings(uint32_t max)
{
	atomic_store(&max_mappings, max == 0 ? default_max_mappings() : max);
}

uint32_t
budget_mappings_in_use(void)
{
	return atomic_load(&mappings_in_use);
}

void
budget_limits_resolve(struct shmguard_budget_limits *limits)
{
	if (limits->max_pools == 0) {
		uint32_t share = current_max_pool_fds() / 4;
		limits->max_pools =
			share < DEFAULT_MAX_POOLS ? (share > 0 ? share : 1) : DEFAULT_MAX_POOLS;
	}
	if (limits->max_mapped_bytes == 0) {
		limits->max_mapped_bytes = DEFAULT_MAX_MAPPED_BYTES;
	}
	if (limits->max_generations_per_pool == 0) {
		limits->max_generations_per_pool = DEFAULT_MAX_GENERATIONS;
	}
	if (limits->max_mappings == 0) {
		uint32_t share = current_max_mappings() / CLIENT_SHARE_OF_MAPPINGS;
		limits->max_mappings = share > 0 ? share : 1;
	}
}

SHMGUARD_EXPORT struct shmguard_budget *
shmguard_budget_create(const struct shmguard_budget_limits *limits)
{
	struct shmguard_budget *budget = calloc(1, sizeof(*budget));
	if (budget == NULL) {
		return NULL;
	}
	atomic_init(&budget->refs, 1);
	if (limits != NULL) {
		budget->limits = *limits;
	}
	budget_limits_resolve(&budget->limits);
	return budget;
}

SHMGUARD_EXPORT struct shmguard_budget *
shmguard_budget_ref(struct shmguard_budget *budget)
{
	atomic_fetch_add(&budget->refs, 1);
	return budget;
}

SHMGUARD_EXPORT void
shmguard_budget_unref(struct shmguard_budget *budget)
{
	if (budget != NULL && atomic_fetch_sub(&budget->refs, 1) == 1) {
		free(budget);
	}
}

SHMGUARD_EXPORT uint32_t
shmguard_budget_get_pools(const struct shmguard_budget *budget)
{
	return atomic_load(&budget->pools);
}

SHMGUARD_EXPORT uint64_t
shmguard_budget_get_mapped_bytes(const struct shmguard_budget *budget)
{
	return atomic_load(&budget->mapped_bytes);
}

SHMGUARD_EXPORT uint32_t
shmguard_budget_get_mappings(const struct shmguard_budget *budget)
{
	return atomic_load(&budget->mappings);
}

enum shmguard_pool_error
budget_charge_pool(struct shmguard_budget *budget)
{
	if (budget != NULL) {
		uint32_t pools = atomic_fetch_add(&budget->pools, 1);
		if (pools >= budget->limits.max_pools) {
			atomic_fetch_sub(&budget->pools, 1);
			return SHMGUARD_POOL_ERROR_OVER_BUDGET;
		}
	}
	uint32_t fds = atomic_fetch_add(&pool_fds_in_use, 1);
	if (fds >= current_max_pool_fds()) {
		atomic_fetch_sub(&pool_fds_in_use, 1);
		if (budget != NULL) {
			atomic_fetch_sub(&budget->pools, 1);
		}
		return SHMGUARD_POOL_ERROR_TOO_MANY_FDS;
	}
	return SHMGUARD_POOL_OK;
}

void
budget_release_pool(struct shmguard_budget *budget)
{
	atomic_fetch_sub(&pool_fds_in_use, 1);
	if (budget != NULL) {
		atomic_fetch_sub(&budget->pools, 1);
	}
}

enum shmguard_pool_error
budget_charge_bytes(struct shmguard_budget *budget, uint64_t bytes)
{
	if (budget == NULL) {
		return SHMGUARD_POOL_OK;
	}
	uint64_t mapped = atomic_fetch_add(&budget->mapped_bytes, bytes);
	if (mapped + bytes < mapped || mapped + bytes > budget->limits.max_mapped_bytes) {
		atomic_fetch_sub(&budget->mapped_bytes, bytes);
		return SHMGUARD_POOL_ERROR_OVER_BUDGET;
	}
	return SHMGUARD_POOL_OK;
}

void
budget_release_bytes(struct shmguard_budget *budget, uint64_t bytes)
{
	if (budget != NULL) {
		atomic_fetch_sub(&budget->mapped_bytes, bytes);
	}
}

/* One more mapping for @p budget (may be NULL), within its share. */
static enum shmguard_pool_error
budget_charge_one_mapping(struct shmguard_budget *budget)
{
	if (budget != NULL) {
		uint32_t mappings = atomic_fetch_add(&budget->mappings, 1);
		if (mappings >= budget->limits.max_mappings) {
			atomic_fetch_sub(&budget->mappings, 1);
			return SHMGUARD_POOL_ERROR_OVER_BUDGET;
		}
	}
	return SHMGUARD_POOL_OK;
}

static void
budget_release_one_mapping(struct shmguard_budget *budget)
{
	if (budget != NULL) {
		atomic_fetch_sub(&budget->mappings, 1);
	}
}

enum shmguard_pool_error
budget_charge_mapping(struct shmguard_budget *budget, uint64_t bytes)
{
	/* The client's own share first: at its cap, the refusal is its. */
	enum shmguard_pool_error error = budget_charge_one_mapping(budget);
	if (error != SHMGUARD_POOL_OK) {
		return error;
	}
	uint32_t in_use = atomic_fetch_add(&mappings_in_use, 1);
	if (in_use >= current_max_mappings()) {
		atomic_fetch_sub(&mappings_in_use, 1);
		budget_release_one_mapping(budget);
		return SHMGUARD_POOL_ERROR_TOO_MANY_MAPPINGS;
	}
	error = budget_charge_bytes(budget, bytes);
	if (error != SHMGUARD_POOL_OK) {
		atomic_fetch_sub(&mappings_in_use, 1);
		budget_release_one_mapping(budget);
	}
	return error;
}

void
budget_release_mapping(struct shmguard_budget *budget, uint64_t bytes)
{
	atomic_fetch_sub(&mappings_in_use, 1);
	budget_release_one_mapping(budget);
	budget_release_bytes(budget, bytes);
}

uint32_t
budget_max_generations(const struct shmguard_budget *budget)
{
	return budget != NULL ? budget->limits.max_generations_per_pool : DEFAULT_MAX_GENERATIONS;
}

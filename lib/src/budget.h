/* Budgets: bounded mappings per group of pools and per process. */
#ifndef SHMGUARD_BUDGET_H
#define SHMGUARD_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#include "shmguard/shmguard.h"

struct shmguard_budget {
	_Atomic unsigned refs;
	struct shmguard_budget_limits limits;
	_Atomic uint32_t pools;
	_Atomic uint32_t mappings;
	_Atomic uint64_t mapped_bytes;
};

/* Fill the zero fields of @p limits with the defaults. */
void
budget_limits_resolve(struct shmguard_budget_limits *limits);

/* Charge one pool to @p budget (may be NULL) and its fd to the
 * process-wide pool fd bound. */
enum shmguard_pool_error
budget_charge_pool(struct shmguard_budget *budget);

void
budget_release_pool(struct shmguard_budget *budget);

/* Charge one mapping of @p bytes to @p budget (may be NULL: its mapping
 * count and bytes) and to the process-wide mapping bound. Each mapping
 * stands for two VMAs: itself and the split a fault's cover makes. */
enum shmguard_pool_error
budget_charge_mapping(struct shmguard_budget *budget, uint64_t bytes);

void
budget_release_mapping(struct shmguard_budget *budget, uint64_t bytes);

/* Charge (or release) @p bytes more of an existing mapping to @p budget
 * (may be NULL): a mapping that grew in place. */
enum shmguard_pool_error
budget_charge_bytes(struct shmguard_budget *budget, uint64_t bytes);

void
budget_release_bytes(struct shmguard_budget *budget, uint64_t bytes);

/* Generations a pool may keep alive at once. */
uint32_t
budget_max_generations(const struct shmguard_budget *budget);

/* Mappings the library holds now, process-wide. */
uint32_t
budget_mappings_in_use(void);

#endif

/*
 * Mapping generations: one mmap of (fd, size) read-only, plus a lazily made
 * writable mapping of the same range. A generation lives until it is
 * retired (replaced by a resize, or its pool released), no window of any
 * thread refers to it any more and nothing pins it; then it is unmapped.
 *
 * A *writable view* generation (for libwayland's API, whose one data
 * pointer is both read and written) maps the file read-write instead:
 * shared when the client's fd allows writes, else private copy-on-write,
 * so that a compositor's write into a read-only buffer cannot fault and
 * never reaches the client's file.
 */
#ifndef SHMGUARD_MAPPING_H
#define SHMGUARD_MAPPING_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "shmguard/shmguard.h"

#include "file_facts.h"
#include "guard.h"
#include "linux_abi.h"

struct generation {
	struct guard_region region; /* first member: windows point here */
	uint64_t size;
	enum shmguard_strategy read_strategy;
	enum shmguard_strategy write_strategy;
	enum shmguard_pool_error write_refusal; /* OK if writable */
	bool writable_view;
	/* Holders of addresses into the mapping outside any window (see
	 * generation_pin()); a pinned generation is never unmapped. */
	_Atomic unsigned pins;
	/* Set by generation_retire(). */
	atomic_bool retired;
	struct shmguard_budget *budget; /* borrowed from the owner */
	/* Called once the generation is unmapped (the owner's reference). */
	void (*on_unmapped)(void *owner);
	void *owner;
	struct generation *next_retired;
};

static inline struct generation *
generation_from_region(struct guard_region *region)
{
	return (struct generation *)region;
}

/* Map @p size bytes of @p fd (borrowed; must outlive the generation) for
 * reading, or as a writable view. NULL with @p error set on failure. */
struct generation *
generation_create(int fd, uint64_t size, const struct file_facts *facts,
	struct shmguard_budget *budget, bool writable_view, enum shmguard_pool_error *error);

/* Keep @p generation mapped, at its address, until generation_unpin():
 * for a caller that hands the address out beyond its windows. The caller
 * knows it is mapped (it is current under the pool's lock, or pinned). */
void
generation_pin(struct generation *generation);

/* Drop a pin; a retired generation with no pin and no window left is
 * unmapped, now or when the last window on it closes. */
void
generation_unpin(struct generation *generation);

/* The writable mapping's address, made on first use. Thread-safe. */
int
generation_map_write(struct generation *generation, uint8_t **base);

/* Grow @p generation's mapping to @p size in place when no window of any
 * thread can be on it (the caller is the only thread that ever opened
 * one). Returns false, changing nothing, when a new generation is needed
 * instead. The caller serialises changes to the generation. */
bool
generation_grow(struct generation *generation, uint64_t size, const struct file_facts *facts);

/* Retire: unmapped as soon as no window refers to it (maybe now). */
void
generation_retire(struct generation *generation);

/* Unmap every retired generation that no window refers to any more. */
void
generation_reclaim(void);

/* Retired generations still waiting for a window to close. */
unsigned
generation_retired_count(void);

#endif

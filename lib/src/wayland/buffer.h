/* wl_buffer: a validated rectangle of a pool, and the access API. */
#ifndef SHMGUARD_WAYLAND_BUFFER_H
#define SHMGUARD_WAYLAND_BUFFER_H

#include <stdatomic.h>

#include <stdbool.h>

#include <wayland-server-core.h>

#include "shmguard/wayland.h"

struct guard_region;
struct shm_pool;

struct shmguard_buffer {
	/* One for the resource plus one per reference the compositor (or a
	 * queued fault) holds. */
	_Atomic unsigned refs;
	struct wl_resource *resource; /* NULL once the client destroyed it */
	uint32_t id;
	struct shm_pool *pool; /* a reference */
	struct shmguard_pool *core; /* borrowed from pool */
	int32_t width, height, stride;
	uint32_t format;
	uint64_t offset;
	/* stride x (height - 1) + width x bytes per pixel; stride x height
	 * under libwayland's contract (shm.h), which promises that much. */
	uint64_t span;
	/* Under libwayland's contract (shm.h), the generation this buffer was
	 * made in, pinned for the buffer's life; else NULL. */
	struct generation *pinned;
	/* libwayland's pool references on this buffer (buffer_hold.h), under
	 * the shm's deferred_lock: how many, the guard's held slot while there
	 * are any (NULL without memory for it), the link in the shm's list,
	 * and whether their fault was reported. */
	unsigned holds;
	_Atomic(struct guard_region *) *held_slot;
	struct wl_list hold_link;
	bool hold_fault_reported;
};

/* wl_shm_pool.create_buffer, validated in 64-bit arithmetic. */
void
buffer_create(struct shm_pool *pool, uint32_t id, int32_t offset, int32_t width, int32_t height,
	int32_t stride, uint32_t format);

/* The address of the buffer's first pixel in its pinned generation (under
 * libwayland's contract), valid for the buffer's life; else NULL. */
void *
buffer_pinned_data(const struct shmguard_buffer *buffer);

/* shmguard_buffer_end_access() for libwayland's contract: no-op if no
 * access on @p buffer is open on this thread (its begin failed). */
void
buffer_end_access_if_open(struct shmguard_buffer *buffer);

/* A fault seen by an access on @p buffer: the policy runs once per fault
 * of a mapping generation (at once on the display thread, else handed
 * over). Any thread. */
void
buffer_fault_seen(struct shmguard_buffer *buffer, const struct shmguard_fault_report *report);

/* Apply the fault policy for @p buffer (display thread). */
void
buffer_apply_fault_policy(struct shmguard_shm *shm, struct shmguard_buffer *buffer,
	const struct shmguard_fault_report *report);

#endif

/* wl_shm_pool: a client's pool as the protocol sees it. */
#ifndef SHMGUARD_WAYLAND_SHM_POOL_H
#define SHMGUARD_WAYLAND_SHM_POOL_H

#include <stdatomic.h>
#include <stdbool.h>

#include <wayland-server-core.h>

#include "shmguard/wayland.h"

struct shm_client;

/* Not the core's struct shmguard_pool (its `core` here), nor libwayland's
 * struct wl_shm_pool: lib/src/README.md tells the three apart. */
struct shm_pool {
	/* One for the resource plus one per buffer made from the pool. */
	_Atomic unsigned refs;
	struct wl_resource *resource; /* NULL once the client destroyed it */
	uint32_t id;
	struct shm_client *owner; /* a reference */
	struct shmguard_pool *core; /* a reference */
	/* The policy ran for the current generation's fault. Reset when a
	 * resize or revalidation makes a fresh generation. */
	atomic_bool fault_handled;
	/* REVALIDATE policy: map afresh at the next access once the file
	 * has grown back. */
	atomic_bool revalidate_pending;
};

/* wl_shm.create_pool: maps @p fd (consumed: closed on every path). */
void
shm_pool_create(struct shm_client *owner, struct wl_resource *shm_resource, uint32_t id, int fd,
	int32_t size);

struct shm_pool *
shm_pool_ref(struct shm_pool *pool);

void
shm_pool_unref(struct shm_pool *pool);

/* REVALIDATE policy: try to map the grown-back file. Any thread. */
void
shm_pool_try_revalidate(struct shm_pool *pool);

#endif

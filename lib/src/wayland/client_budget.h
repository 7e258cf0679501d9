/* Per-client state of the wl_shm global: the client's budget, its wl_shm
 * resources, and whether it is still connected. */
#ifndef SHMGUARD_WAYLAND_CLIENT_BUDGET_H
#define SHMGUARD_WAYLAND_CLIENT_BUDGET_H

#include <stdatomic.h>

#include <wayland-server-core.h>

#include "shmguard/wayland.h"

struct shm_client {
	/* One while the client is connected, plus one per wl_shm resource,
	 * pool state and buffer of this client. */
	_Atomic unsigned refs;
	struct shmguard_shm *shm; /* a reference */
	struct wl_client *client; /* NULL once disconnected */
	struct wl_listener client_destroy;
	struct shmguard_budget *budget;
	struct wl_list shm_resources; /* wl_shm resources, by wl_resource_get_link() */
};

/* The state of @p client on @p shm, made on first use; NULL on ENOMEM. */
struct shm_client *
shm_client_get_or_create(struct shmguard_shm *shm, struct wl_client *client);

/* The state of @p client if it ever bound @p shm's global, else NULL. */
struct shm_client *
shm_client_find(struct shmguard_shm *shm, struct wl_client *client);

struct shm_client *
shm_client_ref(struct shm_client *owner);

void
shm_client_unref(struct shm_client *owner);

/* Post wl_shm error invalid_fd on @p resource with a message that names
 * the bound the client's budget would have passed by mapping
 * @p extra_bytes more (@p new_pool: one more pool too). */
void
shm_client_post_over_budget(struct shm_client *owner, struct wl_resource *resource,
	uint64_t extra_bytes, bool new_pool);

#endif

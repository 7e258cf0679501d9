/*
 * Per-client state: each client that binds wl_shm gets its own budget, so
 * one client can never drive the compositor to vm.max_map_count (its
 * mappings are capped at a quarter of the process-wide bound, see
 * budget.c), and exceeding a bound is a protocol error for that client
 * alone.
 */
#include "config.h"

#include <stdlib.h>

#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include "shmguard/wayland.h"

#include "client_budget.h"
#include "shm.h"

static void
handle_client_destroy(struct wl_listener *listener, void *data)
{
	struct shm_client *owner = wl_container_of(listener, owner, client_destroy);
	wl_list_remove(&owner->client_destroy.link);
	wl_list_init(&owner->client_destroy.link);
	owner->client = NULL;
	/* The client's resources are destroyed after this signal; they hold
	 * their own references. */
	shm_client_unref(owner);
}

struct shm_client *
shm_client_find(struct shmguard_shm *shm, struct wl_client *client)
{
	/* One libshmguard global per display, so one state per client. */
	struct wl_listener *listener =
		wl_client_get_destroy_listener(client, handle_client_destroy);
	if (listener == NULL) {
		return NULL;
	}
	struct shm_client *owner = wl_container_of(listener, owner, client_destroy);
	return owner->shm == shm ? owner : NULL;
}

struct shm_client *
shm_client_get_or_create(struct shmguard_shm *shm, struct wl_client *client)
{
	struct shm_client *owner = shm_client_find(shm, client);
	if (owner != NULL) {
		return owner;
	}
	owner = calloc(1, sizeof(*owner));
	if (owner == NULL) {
		return NULL;
	}
	owner->budget = shmguard_budget_create(&shm->client_limits);
	if (owner->budget == NULL) {
		free(owner);
		return NULL;
	}
	atomic_init(&owner->refs, 1);
	owner->shm = shm_ref(shm);
	owner->client = client;
	wl_list_init(&owner->shm_resources);
	owner->client_destroy.notify = handle_client_destroy;
	wl_client_add_destroy_listener(client, &owner->client_destroy);
	return owner;
}

struct shm_client *
shm_client_ref(struct shm_client *owner)
{
	atomic_fetch_add(&owner->refs, 1);
	return owner;
}

void
shm_client_unref(struct shm_client *owner)
{
	if (atomic_fetch_sub(&owner->refs, 1) != 1) {
		return;
	}
	/* The connected-client reference is gone, so the client is too. */
	shmguard_budget_unref(owner->budget);
	shm_unref(owner->shm);
	free(owner);
}

void
shm_client_post_over_budget(
	struct shm_client *owner, struct wl_resource *resource, uint64_t extra_bytes, bool new_pool)
{
	/* shmguard_shm_create() resolved every limit to a non-zero value. */
	const struct shmguard_budget_limits *limits = &owner->shm->client_limits;
	uint32_t pools = shmguard_budget_get_pools(owner->budget);
	uint32_t mappings = shmguard_budget_get_mappings(owner->budget);
	uint64_t bytes = shmguard_budget_get_mapped_bytes(owner->budget);

	if (new_pool && pools >= limits->max_pools) {
		wl_resource_post_error(resource, WL_SHM_ERROR_INVALID_FD,
			"over budget: the client already has %u pools (limit %u)", pools,
			limits->max_pools);
	} else if (mappings >= limits->max_mappings) {
		/* Its share of the process-wide mapping bound. */
		wl_resource_post_error(resource, WL_SHM_ERROR_INVALID_FD,
			"over budget: the client already has %u mappings (limit %u)", mappings,
			limits->max_mappings);
	} else if (bytes + extra_bytes > limits->max_mapped_bytes) {
		wl_resource_post_error(resource, WL_SHM_ERROR_INVALID_FD,
			"over budget: mapping %llu more bytes would pass the client's limit of %llu bytes (%llu mapped)",
			(unsigned long long)extra_bytes,
			(unsigned long long)limits->max_mapped_bytes, (unsigned long long)bytes);
	} else if (new_pool) {
		/* Within both bounds, a new pool is refused only when the core
		 * cannot keep its copy of the fd: the process is at its
		 * open-file limit (EMFILE). No generation exists yet. */
		wl_resource_post_error(resource, WL_SHM_ERROR_INVALID_FD,
			"over budget: the compositor cannot keep another file descriptor open");
	} else {
		wl_resource_post_error(resource, WL_SHM_ERROR_INVALID_FD,
			"over budget: a pool may keep at most %u mapping generations alive",
			limits->max_generations_per_pool);
	}
}

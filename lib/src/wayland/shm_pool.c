/*
 * wl_shm_pool: create_pool maps the client's file through the core
 * (read-only first), resize makes a new mapping generation at once, and
 * destroy leaves the mapping to the buffers and windows still using it.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include "shmguard/wayland.h"

#include "../fd_closer.h"
#include "../file_origin.h"
#include "../log.h"
#include "../pool.h"
#include "buffer.h"
#include "client_budget.h"
#include "shm.h"
#include "shm_pool.h"

struct shm_pool *
shm_pool_ref(struct shm_pool *pool)
{
	atomic_fetch_add(&pool->refs, 1);
	return pool;
}

void
shm_pool_unref(struct shm_pool *pool)
{
	if (pool == NULL || atomic_fetch_sub(&pool->refs, 1) != 1) {
		return;
	}
	shmguard_pool_unref(pool->core);
	shm_client_unref(pool->owner);
	free(pool);
}

/* Post the wl_shm error that matches why the core refused to map the file
 * (at create_pool or resize). */
static void
post_pool_error(struct shm_pool *pool, struct shm_client *owner, struct wl_resource *resource,
	enum shmguard_pool_error error, uint64_t size, uint64_t extra_bytes, bool new_pool)
{
	switch (error) {
	case SHMGUARD_POOL_ERROR_NO_MEMORY:
		wl_resource_post_no_memory(resource);
		return;
	case SHMGUARD_POOL_ERROR_BAD_SIZE:
	case SHMGUARD_POOL_ERROR_SHRINK:
		wl_resource_post_error(resource, WL_SHM_ERROR_INVALID_STRIDE,
			"invalid pool size %llu: %s", (unsigned long long)size,
			shmguard_pool_error_to_str(error));
		return;
	case SHMGUARD_POOL_ERROR_OVER_BUDGET:
		shm_client_post_over_budget(owner, resource, extra_bytes, new_pool);
		return;
	case SHMGUARD_POOL_ERROR_TOO_MANY_MAPPINGS:
	case SHMGUARD_POOL_ERROR_TOO_MANY_FDS:
		wl_resource_post_error(resource, WL_SHM_ERROR_INVALID_FD,
			"the compositor cannot take more pools: %s",
			shmguard_pool_error_to_str(error));
		return;
	default:
		/* The fd itself: its type, access mode, size or mappability. */
		wl_resource_post_error(resource, WL_SHM_ERROR_INVALID_FD,
			"%s: %s (pool of %llu bytes)",
			pool != NULL ? "resize past the end of the file"
				     : "invalid file descriptor",
			shmguard_pool_error_to_str(error), (unsigned long long)size);
		return;
	}
}

/* The pool has a fresh mapping generation: a fault on it is news again,
 * and nothing waits to be revalidated. */
static void
pool_generation_fresh(struct shm_pool *pool)
{
	atomic_store(&pool->revalidate_pending, false);
	atomic_store(&pool->fault_handled, false);
}

static void
pool_handle_create_buffer(struct wl_client *client, struct wl_resource *resource, uint32_t id,
	int32_t offset, int32_t width, int32_t height, int32_t stride, uint32_t format)
{
	buffer_create(
		wl_resource_get_user_data(resource), id, offset, width, height, stride, format);
}

static void
pool_handle_destroy(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static void
pool_handle_resize(struct wl_client *client, struct wl_resource *resource, int32_t size)
{
	struct shm_pool *pool = wl_resource_get_user_data(resource);
	uint64_t current = shmguard_pool_get_size(pool->core);
	if (size < 0 || (uint64_t)size < current) {
		/* invalid_fd, as libwayland answers the same request. */
		wl_resource_post_error(resource, WL_SHM_ERROR_INVALID_FD,
			"shrinking pool invalid (from %llu to %d bytes)",
			(unsigned long long)current, size);
		return;
	}
	if ((uint64_t)size == current) {
		return;
	}
	enum shmguard_pool_error error;
	if (shmguard_pool_resize(pool->core, (uint64_t)size, &error) != 0) {
		post_pool_error(
			pool, pool->owner, resource, error, (uint64_t)size, (uint64_t)size, false);
		return;
	}
	pool_generation_fresh(pool);
}

static const struct wl_shm_pool_interface pool_impl = {
	.create_buffer = pool_handle_create_buffer,
	.destroy = pool_handle_destroy,
	.resize = pool_handle_resize,
};

static void
pool_resource_destroy(struct wl_resource *resource)
{
	struct shm_pool *pool = wl_resource_get_user_data(resource);
	pool->resource = NULL;
	pool->id = 0;
	shm_pool_unref(pool);
}

void
shm_pool_create(struct shm_client *owner, struct wl_resource *shm_resource, uint32_t id, int fd,
	int32_t size)
{
	struct wl_client *client = wl_resource_get_client(shm_resource);
	if (size <= 0) {
		close(fd);
		wl_resource_post_error(
			shm_resource, WL_SHM_ERROR_INVALID_STRIDE, "invalid pool size %d", size);
		return;
	}

	enum shmguard_pool_error error;
	struct file_origin origin;
	struct shmguard_pool *core = pool_create_vetted(fd, (uint64_t)size, owner->budget,
		owner->shm->libwayland_contract, &owner->shm->file_policy.policy, &origin, &error);
	/* The core keeps its own duplicate: the client's fd is done with,
	 * whatever happened. A file refused for what backs it may be on FUSE,
	 * whose every close() waits on the daemon's answer to a flush: closed
	 * aside. */
	if (core == NULL && pool_error_is_file_system(error)) {
		fd_close_aside(fd);
	} else {
		close(fd);
	}
	if (core == NULL && pool_error_is_file_system(error)) {
		/* What backs the file, naming its file system type. */
		char reason[256];
		file_origin_describe(&origin, error, reason, sizeof(reason));
		log_client_message(
			SHMGUARD_LOG_DEBUG, "create_pool of %d bytes refused: %s", size, reason);
		wl_resource_post_error(shm_resource, WL_SHM_ERROR_INVALID_FD, "%s", reason);
		return;
	}
	if (core == NULL) {
		log_client_message(SHMGUARD_LOG_DEBUG, "create_pool of %d bytes refused: %s", size,
			shmguard_pool_error_to_str(error));
		post_pool_error(
			NULL, owner, shm_resource, error, (uint64_t)size, (uint64_t)size, true);
		return;
	}

	struct shm_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL) {
		shmguard_pool_unref(core);
		wl_client_post_no_memory(client);
		return;
	}
	pool->resource = wl_resource_create(
		client, &wl_shm_pool_interface, wl_resource_get_version(shm_resource), id);
	if (pool->resource == NULL) {
		shmguard_pool_unref(core);
		free(pool);
		wl_client_post_no_memory(client);
		return;
	}
	atomic_init(&pool->refs, 1);
	pool->id = id;
	pool->owner = shm_client_ref(owner);
	pool->core = core;
	wl_resource_set_implementation(pool->resource, &pool_impl, pool, pool_resource_destroy);
}

void
shm_pool_try_revalidate(struct shm_pool *pool)
{
	int ret = shmguard_pool_revalidate(pool->core);
	if (ret == 0) {
		pool_generation_fresh(pool);
	} else if (ret != -ENXIO) {
		log_client_message(
			SHMGUARD_LOG_DEBUG, "revalidating a pool failed: %s", strerror(-ret));
	}
}

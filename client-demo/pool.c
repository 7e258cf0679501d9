/*
 * client-demo: wl_shm pools over memfds, sealed or not, read-only or not.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <wayland-client.h>

#include "demo.h"

struct demo_pool *
demo_pool_create(struct client *client, uint64_t size, enum demo_pool_kind kind)
{
	struct demo_pool *pool = calloc(1, sizeof(*pool));
	if (pool == NULL) {
		fprintf(stderr, "%s: out of memory\n", client->name);
		return NULL;
	}
	pool->data = MAP_FAILED;
	pool->size = size;
	if (size == 0 || size > INT32_MAX) {
		fprintf(stderr, "%s: pool size %llu out of range\n", client->name,
			(unsigned long long)size);
		goto err_free;
	}
	pool->sealed = kind == DEMO_POOL_SEALED || kind == DEMO_POOL_WRITE_SEALED;
	pool->fd = client_shm_file_create(client, "client-demo", size, kind != DEMO_POOL_UNSEALED);
	if (pool->fd < 0) {
		goto err_free;
	}
	int seals = 0;
	if (kind == DEMO_POOL_SEALED || kind == DEMO_POOL_READ_ONLY_FD) {
		seals = F_SEAL_SHRINK;
	} else if (kind == DEMO_POOL_WRITE_SEALED) {
		/* Must come before any writable shared mapping exists. */
		seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	}
	if (seals != 0 && fcntl(pool->fd, F_ADD_SEALS, seals) < 0) {
		fprintf(stderr, "%s: F_ADD_SEALS: %s\n", client->name, strerror(errno));
		goto err_close;
	}
	int prot = kind == DEMO_POOL_WRITE_SEALED ? PROT_READ : PROT_READ | PROT_WRITE;
	pool->data = mmap(NULL, size, prot, MAP_SHARED, pool->fd, 0);
	if (pool->data == MAP_FAILED) {
		fprintf(stderr, "%s: mmap: %s\n", client->name, strerror(errno));
		goto err_close;
	}
	int sent_fd = pool->fd;
	if (kind == DEMO_POOL_READ_ONLY_FD) {
		sent_fd = client_shm_file_reopen_read_only(pool->fd);
		if (sent_fd < 0) {
			fprintf(stderr, "%s: reopening read-only: %s\n", client->name,
				strerror(-sent_fd));
			goto err_unmap;
		}
	}
	/* libwayland duplicates the fd into its send buffer. */
	pool->wl_pool = wl_shm_create_pool(client->shm, sent_fd, (int32_t)size);
	if (sent_fd != pool->fd) {
		close(sent_fd);
	}
	return pool;

err_unmap:
	munmap(pool->data, size);
err_close:
	close(pool->fd);
err_free:
	free(pool);
	return NULL;
}

int
demo_pool_grow(struct demo_pool *pool, uint64_t new_size)
{
	if (new_size <= pool->size || new_size > INT32_MAX) {
		return -EINVAL;
	}
	if (ftruncate(pool->fd, (off_t)new_size) < 0) {
		return -errno;
	}
	void *data = mremap(pool->data, pool->size, new_size, MREMAP_MAYMOVE);
	if (data == MAP_FAILED) {
		return -errno;
	}
	pool->data = data;
	pool->size = new_size;
	wl_shm_pool_resize(pool->wl_pool, (int32_t)new_size);
	return 0;
}

void
demo_pool_destroy(struct demo_pool *pool)
{
	if (pool == NULL) {
		return;
	}
	wl_shm_pool_destroy(pool->wl_pool);
	if (pool->data != MAP_FAILED) {
		munmap(pool->data, pool->size);
	}
	close(pool->fd);
	free(pool);
}

/*
 * An in-process wl_display and its one client, pumped by hand from one
 * thread: the client flushes, the server dispatches and flushes, the client
 * reads whatever arrived without blocking.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wayland-client.h>
#include <wayland-server-core.h>

#include "sample.h"
#include "wayland-peer.h"

/* Pump rounds before giving up on an answer that never comes. */
#define PUMP_ROUNDS_MAX 1000

struct wayland_peer {
	struct wl_display *server;
	struct wl_client *server_client;
	struct wl_shm_buffer *server_buffer;

	struct wl_display *client;
	struct wl_registry *registry;
	struct wl_shm *shm;
	struct wl_shm_pool *shm_pool;
	struct wl_buffer *buffer;
};

static void
registry_global(void *user_data, struct wl_registry *registry, uint32_t name, const char *interface,
	uint32_t version)
{
	struct wayland_peer *peer = user_data;
	if (peer->shm == NULL && strcmp(interface, wl_shm_interface.name) == 0) {
		peer->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	}
}

static void
registry_global_remove(void *user_data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

/* One round trip of bytes in both directions, without blocking. */
static int
pump(struct wayland_peer *peer)
{
	if (wl_display_flush(peer->client) < 0 && errno != EAGAIN) {
		return -errno;
	}
	if (wl_event_loop_dispatch(wl_display_get_event_loop(peer->server), 0) < 0) {
		return -errno;
	}
	wl_display_flush_clients(peer->server);

	while (wl_display_prepare_read(peer->client) != 0) {
		if (wl_display_dispatch_pending(peer->client) < 0) {
			return -errno;
		}
	}
	struct pollfd pfd = {.fd = wl_display_get_fd(peer->client), .events = POLLIN};
	if (poll(&pfd, 1, 0) > 0) {
		if (wl_display_read_events(peer->client) < 0) {
			return -errno;
		}
	} else {
		wl_display_cancel_read(peer->client);
	}
	if (wl_display_dispatch_pending(peer->client) < 0) {
		return -errno;
	}
	return 0;
}

static enum wl_iterator_result
find_shm_buffer(struct wl_resource *resource, void *user_data)
{
	struct wayland_peer *peer = user_data;
	struct wl_shm_buffer *buffer = wl_shm_buffer_get(resource);
	if (buffer == NULL) {
		return WL_ITERATOR_CONTINUE;
	}
	peer->server_buffer = buffer;
	return WL_ITERATOR_STOP;
}

struct wayland_peer *
wayland_peer_create(int fd, int32_t width, int32_t height, uint32_t format)
{
	struct wayland_peer *peer = calloc(1, sizeof(*peer));
	if (peer == NULL) {
		fprintf(stderr, "wayland peer: out of memory\n");
		return NULL;
	}
	const char *failed = NULL;
	int sockets[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
		failed = "socketpair";
		goto err_peer;
	}
	peer->server = wl_display_create();
	if (peer->server == NULL || wl_display_init_shm(peer->server) != 0) {
		failed = "wl_display_create/wl_display_init_shm";
		close(sockets[0]);
		close(sockets[1]);
		goto err_peer;
	}
	/* Each side owns its end of the socketpair from here on. */
	peer->server_client = wl_client_create(peer->server, sockets[0]);
	if (peer->server_client == NULL) {
		failed = "wl_client_create";
		close(sockets[0]);
		close(sockets[1]);
		goto err_peer;
	}
	peer->client = wl_display_connect_to_fd(sockets[1]);
	if (peer->client == NULL) {
		failed = "wl_display_connect_to_fd";
		close(sockets[1]);
		goto err_peer;
	}

	peer->registry = wl_display_get_registry(peer->client);
	wl_registry_add_listener(peer->registry, &registry_listener, peer);
	for (int i = 0; peer->shm == NULL && i < PUMP_ROUNDS_MAX; i++) {
		if (pump(peer) != 0) {
			break;
		}
	}
	if (peer->shm == NULL) {
		failed = "binding wl_shm";
		goto err_peer;
	}

	int32_t stride = width * 4;
	peer->shm_pool = wl_shm_create_pool(peer->shm, fd, stride * height);
	peer->buffer = wl_shm_pool_create_buffer(peer->shm_pool, 0, width, height, stride, format);
	for (int i = 0; peer->server_buffer == NULL && i < PUMP_ROUNDS_MAX; i++) {
		if (pump(peer) != 0) {
			break;
		}
		wl_client_for_each_resource(peer->server_client, find_shm_buffer, peer);
	}
	if (peer->server_buffer == NULL) {
		failed = "creating the wl_shm buffer";
		goto err_peer;
	}
	return peer;

err_peer:
	fprintf(stderr, "wayland peer: %s failed: %s\n", failed, strerror(errno));
	wayland_peer_destroy(peer);
	return NULL;
}

struct wl_shm_buffer *
wayland_peer_get_buffer(struct wayland_peer *peer)
{
	return peer->server_buffer;
}

void
wayland_peer_destroy(struct wayland_peer *peer)
{
	if (peer == NULL) {
		return;
	}
	if (peer->buffer != NULL) {
		wl_buffer_destroy(peer->buffer);
	}
	if (peer->shm_pool != NULL) {
		wl_shm_pool_destroy(peer->shm_pool);
	}
	if (peer->shm != NULL) {
		wl_shm_destroy(peer->shm);
	}
	if (peer->registry != NULL) {
		wl_registry_destroy(peer->registry);
	}
	if (peer->client != NULL) {
		wl_display_disconnect(peer->client);
	}
	if (peer->server != NULL) {
		wl_display_destroy_clients(peer->server);
		wl_display_destroy(peer->server);
	}
	free(peer);
}

double
wayland_peer_time_pairs_ns(struct wl_shm_buffer *buffer, unsigned pairs)
{
	uint64_t start = sample_now_ns();
	for (unsigned i = 0; i < pairs; i++) {
		wl_shm_buffer_begin_access(buffer);
		/* Keep the compiler from merging or dropping the pairs. */
		__asm__ volatile("" : : "r"(buffer) : "memory");
		wl_shm_buffer_end_access(buffer);
	}
	return (double)(sample_now_ns() - start) / pairs;
}

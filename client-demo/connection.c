/*
 * demo-client-support: the connection and the globals bound on it.
 */
#include <errno.h>
#include <string.h>

#include <wayland-client.h>

#include "client.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"
#include "xdg-output-unstable-v1-client-protocol.h"
#include "xdg-shell-client-protocol.h"

static void
shm_format(void *data, struct wl_shm *shm, uint32_t format)
{
	struct client *client = data;
	if (format < 32) {
		client->shm_formats |= 1u << format;
	}
}

static const struct wl_shm_listener shm_listener = {
	.format = shm_format,
};

static void
wm_base_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial)
{
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = wm_base_ping,
};

static uint32_t
min_version(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static void
registry_global(void *data, struct wl_registry *registry, uint32_t name, const char *interface,
	uint32_t version)
{
	struct client *client = data;
	if (strcmp(interface, wl_compositor_interface.name) == 0 && client->compositor == NULL) {
		client->compositor = wl_registry_bind(
			registry, name, &wl_compositor_interface, min_version(version, 4));
	} else if (strcmp(interface, wl_shm_interface.name) == 0 && client->shm == NULL) {
		client->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
		wl_shm_add_listener(client->shm, &shm_listener, client);
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0 && client->wm_base == NULL) {
		client->wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface, 1);
		xdg_wm_base_add_listener(client->wm_base, &wm_base_listener, client);
	} else if (strcmp(interface, wl_output_interface.name) == 0 && client->output == NULL) {
		client->output = wl_registry_bind(
			registry, name, &wl_output_interface, min_version(version, 3));
	} else if (strcmp(interface, zxdg_output_manager_v1_interface.name) == 0 &&
		client->xdg_output_manager == NULL) {
		client->xdg_output_manager = wl_registry_bind(
			registry, name, &zxdg_output_manager_v1_interface, min_version(version, 2));
	} else if (strcmp(interface, zwlr_screencopy_manager_v1_interface.name) == 0 &&
		client->screencopy_manager == NULL) {
		client->screencopy_manager = wl_registry_bind(registry, name,
			&zwlr_screencopy_manager_v1_interface, min_version(version, 3));
	}
}

static void
registry_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

int
client_connect(struct client *client, const char *name)
{
	memset(client, 0, sizeof(*client));
	client->name = name;
	wl_log_set_handler_client(client_log_handler);
	client->display = wl_display_connect(NULL);
	if (client->display == NULL) {
		return errno > 0 ? -errno : -ECONNREFUSED;
	}
	client->registry = wl_display_get_registry(client->display);
	wl_registry_add_listener(client->registry, &registry_listener, client);
	return 0;
}

void
client_disconnect(struct client *client)
{
	if (client->display == NULL) {
		return;
	}
	/* After a protocol error nothing is sent any more; destroying the
	 * proxies only frees them. */
	if (client->sync != NULL) {
		wl_callback_destroy(client->sync);
	}
	if (client->screencopy_manager != NULL) {
		zwlr_screencopy_manager_v1_destroy(client->screencopy_manager);
	}
	if (client->xdg_output_manager != NULL) {
		zxdg_output_manager_v1_destroy(client->xdg_output_manager);
	}
	if (client->output != NULL) {
		if (wl_output_get_version(client->output) >= WL_OUTPUT_RELEASE_SINCE_VERSION) {
			wl_output_release(client->output);
		} else {
			wl_output_destroy(client->output);
		}
	}
	if (client->wm_base != NULL) {
		xdg_wm_base_destroy(client->wm_base);
	}
	if (client->shm != NULL) {
		wl_shm_destroy(client->shm);
	}
	if (client->compositor != NULL) {
		wl_compositor_destroy(client->compositor);
	}
	wl_registry_destroy(client->registry);
	wl_display_flush(client->display);
	wl_display_disconnect(client->display);
	client->display = NULL;
}

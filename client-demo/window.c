/*
 * client-demo: an xdg toplevel that follows the compositor's configures.
 */
#include <stdio.h>
#include <string.h>

#include <wayland-client.h>

#include "client.h"
#include "xdg-shell-client-protocol.h"

static void
xdg_surface_configure(void *data, struct xdg_surface *xdg_surface, uint32_t serial)
{
	struct demo_window *window = data;
	xdg_surface_ack_configure(xdg_surface, serial);
	window->configured = true;
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = xdg_surface_configure,
};

static void
toplevel_configure(void *data, struct xdg_toplevel *toplevel, int32_t width, int32_t height,
	struct wl_array *states)
{
	struct demo_window *window = data;
	/* 0 means: the client chooses; keep what we have. */
	if (width > 0 && height > 0 && width <= 16384 && height <= 16384) {
		window->width = (uint32_t)width;
		window->height = (uint32_t)height;
	}
}

static void
toplevel_close(void *data, struct xdg_toplevel *toplevel)
{
	struct demo_window *window = data;
	window->closed = true;
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

int
demo_window_create(struct client *client, struct demo_window *window, const char *title,
	uint32_t width, uint32_t height)
{
	memset(window, 0, sizeof(*window));
	window->client = client;
	window->width = width;
	window->height = height;
	window->surface = wl_compositor_create_surface(client->compositor);
	window->xdg_surface = xdg_wm_base_get_xdg_surface(client->wm_base, window->surface);
	xdg_surface_add_listener(window->xdg_surface, &xdg_surface_listener, window);
	window->toplevel = xdg_surface_get_toplevel(window->xdg_surface);
	xdg_toplevel_add_listener(window->toplevel, &toplevel_listener, window);
	xdg_toplevel_set_title(window->toplevel, title);
	xdg_toplevel_set_app_id(window->toplevel, "client-demo");
	/* The initial commit, without a buffer, asks for the first configure. */
	wl_surface_commit(window->surface);
	int64_t deadline = demo_now_ms() + 5000;
	while (!window->configured) {
		int64_t left = deadline - demo_now_ms();
		if (left <= 0) {
			fprintf(stderr, "%s: no configure from the compositor\n", client->name);
			return -2;
		}
		if (client_dispatch_until(client, &window->configured, (int)left) < 0) {
			return -1;
		}
	}
	return 0;
}

void
demo_window_destroy(struct demo_window *window)
{
	if (window->toplevel != NULL) {
		xdg_toplevel_destroy(window->toplevel);
	}
	if (window->xdg_surface != NULL) {
		xdg_surface_destroy(window->xdg_surface);
	}
	if (window->surface != NULL) {
		wl_surface_destroy(window->surface);
	}
	memset(window, 0, sizeof(*window));
}

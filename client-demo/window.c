/*
 * demo-client-support: an xdg toplevel that follows the compositor's
 * configures, and the frame callbacks that say a commit was shown.
 */
#include <stdint.h>
#include <string.h>

#include <wayland-client.h>

#include "client.h"
#include "xdg-shell-client-protocol.h"

static void
xdg_surface_configure(void *data, struct xdg_surface *xdg_surface, uint32_t serial)
{
	struct client_window *window = data;
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
	struct client_window *window = data;
	/* 0 means: the client chooses; keep what we have. */
	if (width > 0 && height > 0 && width <= 16384 && height <= 16384) {
		window->width = (uint32_t)width;
		window->height = (uint32_t)height;
	}
}

static void
toplevel_close(void *data, struct xdg_toplevel *toplevel)
{
	struct client_window *window = data;
	window->closed = true;
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

void
client_window_init(struct client *client, struct client_window *window, const char *title,
	const char *app_id, uint32_t width, uint32_t height)
{
	*window = (struct client_window){.client = client, .width = width, .height = height};
	window->surface = wl_compositor_create_surface(client->compositor);
	window->xdg_surface = xdg_wm_base_get_xdg_surface(client->wm_base, window->surface);
	xdg_surface_add_listener(window->xdg_surface, &xdg_surface_listener, window);
	window->toplevel = xdg_surface_get_toplevel(window->xdg_surface);
	xdg_toplevel_add_listener(window->toplevel, &toplevel_listener, window);
	xdg_toplevel_set_title(window->toplevel, title);
	if (app_id != NULL) {
		xdg_toplevel_set_app_id(window->toplevel, app_id);
	}
	/* The initial commit, without a buffer, asks for the first configure. */
	wl_surface_commit(window->surface);
}

int
client_window_wait_configure(struct client_window *window, int timeout_ms)
{
	int64_t deadline = client_now_ms() + timeout_ms;
	for (;;) {
		int64_t left = deadline - client_now_ms();
		int ret = client_dispatch_until(
			window->client, &window->configured, left > 0 ? (int)left : 0);
		if (ret != 0 || left <= 0) {
			return ret;
		}
		/* A signal interrupted the wait: go on. */
	}
}

static void
frame_done(void *data, struct wl_callback *callback, uint32_t time)
{
	struct client_window *window = data;
	wl_callback_destroy(callback);
	window->frame = NULL;
	window->frame_done = true;
	window->frames++;
	if (window->on_frame != NULL) {
		window->on_frame(window->on_frame_data);
	}
}

static const struct wl_callback_listener frame_listener = {
	.done = frame_done,
};

void
client_window_commit(struct client_window *window, struct wl_buffer *buffer)
{
	wl_surface_attach(window->surface, buffer, 0, 0);
	wl_surface_damage_buffer(window->surface, 0, 0, INT32_MAX, INT32_MAX);
	if (window->frame == NULL) {
		window->frame = wl_surface_frame(window->surface);
		wl_callback_add_listener(window->frame, &frame_listener, window);
		window->frame_done = false;
	}
	wl_surface_commit(window->surface);
}

void
client_window_finish(struct client_window *window)
{
	if (window->frame != NULL) {
		wl_callback_destroy(window->frame);
	}
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

/*
 * hostile-client: an xdg toplevel that shows one buffer, and the frame
 * callback that proves the compositor showed it.
 */
#include <stdint.h>
#include <stdio.h>

#include <wayland-client.h>

#include "hostile.h"
#include "xdg-shell-client-protocol.h"

static void
xdg_surface_configure(void *data, struct xdg_surface *xdg_surface, uint32_t serial)
{
	struct hostile_window *window = data;
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
	/* We keep our size whatever is suggested. */
}

static void
toplevel_close(void *data, struct xdg_toplevel *toplevel)
{
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

int
hostile_window_create(struct hostile *hostile, struct hostile_window *window)
{
	*window = (struct hostile_window){.hostile = hostile};
	window->surface = wl_compositor_create_surface(hostile->compositor);
	window->xdg_surface = xdg_wm_base_get_xdg_surface(hostile->wm_base, window->surface);
	xdg_surface_add_listener(window->xdg_surface, &xdg_surface_listener, window);
	window->toplevel = xdg_surface_get_toplevel(window->xdg_surface);
	xdg_toplevel_add_listener(window->toplevel, &toplevel_listener, window);
	xdg_toplevel_set_title(window->toplevel, "hostile-client");
	wl_surface_commit(window->surface);
	hostile_print_created(window->surface);
	int ret = hostile_dispatch_until(hostile, &window->configured, hostile->timeout_ms);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0) {
		printf("no xdg_surface.configure within %d ms\n", hostile->timeout_ms);
		return HOSTILE_EXIT_TIMEOUT;
	}
	return 0;
}

static void
frame_done(void *data, struct wl_callback *callback, uint32_t time)
{
	struct hostile_window *window = data;
	wl_callback_destroy(callback);
	window->frame = NULL;
	window->frame_done = true;
}

static const struct wl_callback_listener frame_listener = {
	.done = frame_done,
};

void
hostile_window_commit(struct hostile_window *window, struct wl_buffer *buffer)
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

int
hostile_window_wait_frame(struct hostile_window *window)
{
	struct hostile *hostile = window->hostile;
	int64_t start = hostile_now_ms();
	int ret = hostile_dispatch_until(hostile, &window->frame_done, hostile->timeout_ms);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0) {
		printf("no frame callback within %d ms\n", hostile->timeout_ms);
		return HOSTILE_EXIT_TIMEOUT;
	}
	printf("shown: frame callback after %lld ms\n", (long long)(hostile_now_ms() - start));
	return 0;
}

void
hostile_window_destroy(struct hostile_window *window)
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
	*window = (struct hostile_window){0};
}

/*
 * compositor-demo: set-up and tear-down of the compositor, shared by the
 * program (main.c) and the wlcs integration module (tests/wlcs/), which
 * runs the same compositor in wlcs's process.
 */
#include <stdlib.h>

#include <wayland-server-core.h>
#include <wlr/backend.h>
#include <wlr/backend/headless.h>
#include <wlr/render/allocator.h>
#include <wlr/render/pixman.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_compositor.h>
#include <wlr/types/wlr_data_device.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_seat.h>
#include <wlr/types/wlr_xdg_output_v1.h>
#include <wlr/types/wlr_xdg_shell.h>
#include <wlr/util/log.h>

#include "server.h"
#include "wlr-compat.h"

static bool
create_backend(struct server *server)
{
	bool nested = !server->options.headless &&
		(getenv("WAYLAND_DISPLAY") != NULL || getenv("DISPLAY") != NULL);
	if (nested) {
		/* A window on the desktop we run in, for a person to watch. */
		server->backend = compat_backend_autocreate(server->display);
		return server->backend != NULL;
	}
	server->backend = compat_headless_backend_create(server->display);
	return server->backend != NULL;
}

bool
server_create(struct server *server)
{
	server->display = wl_display_create();
	if (server->display == NULL) {
		return false;
	}
	if (!create_backend(server)) {
		wlr_log(WLR_ERROR, "%s", "cannot create the backend");
		return false;
	}
	server->renderer = wlr_pixman_renderer_create();
	if (server->renderer == NULL) {
		wlr_log(WLR_ERROR, "%s", "cannot create the pixman renderer");
		return false;
	}
	server->allocator = wlr_allocator_autocreate(server->backend, server->renderer);
	if (server->allocator == NULL) {
		wlr_log(WLR_ERROR, "%s", "cannot create an allocator");
		return false;
	}
	if (!shm_init(server)) {
		return false;
	}
	/* wl_compositor and wl_subcompositor. */
	if (compat_compositor_create(server->display, server->renderer) == NULL ||
		wlr_data_device_manager_create(server->display) == NULL) {
		return false;
	}
	server->output_layout = compat_output_layout_create(server->display);
	if (server->output_layout == NULL ||
		wlr_xdg_output_manager_v1_create(server->display, server->output_layout) == NULL) {
		return false;
	}
	server->scene = wlr_scene_create();
	if (server->scene == NULL) {
		return false;
	}
	static const float background[4] = {0.12f, 0.14f, 0.18f, 1.0f};
	server->background =
		compat_scene_rect_create(compat_scene_root(server->scene), 0, 0, background);
	if (server->background == NULL ||
		!compat_scene_attach_output_layout(
			server->scene, server->output_layout, &server->scene_layout)) {
		return false;
	}
	server->xdg_shell = compat_xdg_shell_create(server->display);
	server->seat = wlr_seat_create(server->display, "seat0");
	server->screencopy = screencopy_create(server);
	if (server->xdg_shell == NULL || server->seat == NULL || server->screencopy == NULL) {
		return false;
	}
	output_init(server);
	view_init(server);
	return true;
}

bool
server_start(struct server *server)
{
	if (wlr_backend_is_headless(server->backend) &&
		wlr_headless_add_output(
			server->backend, server->options.width, server->options.height) == NULL) {
		wlr_log(WLR_ERROR, "%s", "cannot add a headless output");
		return false;
	}
	if (!wlr_backend_start(server->backend)) {
		wlr_log(WLR_ERROR, "%s", "cannot start the backend");
		return false;
	}
	return true;
}

void
server_destroy(struct server *server)
{
	if (server->display == NULL) {
		return;
	}
	wl_display_destroy_clients(server->display);
	screencopy_destroy(server->screencopy);
	if (server->new_output.notify != NULL) {
		output_finish(server);
	}
	/* Destroys the outputs, whose destroy handlers free ours. */
	wlr_backend_destroy(server->backend);
	if (server->new_xdg_surface.notify != NULL) {
		view_finish(server);
	}
	/* The layout before the scene, which listens to it. */
	wlr_output_layout_destroy(server->output_layout);
	if (server->scene != NULL) {
		wlr_scene_node_destroy(compat_scene_root(server->scene));
	}
	shm_finish(server);
	wlr_allocator_destroy(server->allocator);
	wlr_renderer_destroy(server->renderer);
	/* The globals (compositor, xdg_shell, seat, ...) go with the display. */
	wl_display_destroy(server->display);
}

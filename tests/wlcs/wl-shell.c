/*
 * A minimal wl_shell for the wlcs module: toplevel surfaces in
 * compositor-demo's scene, nothing else.
 *
 * Why: wlcs 1.5.0 (Debian 12) makes its "visible surface" with wl_shell if
 * the compositor has it, else with xdg-shell, and with xdg-shell it
 * attaches a buffer before it has acknowledged the first configure. That
 * is xdg_surface error unconfigured_buffer, which wlroots (rightly) posts,
 * so no test built on that helper, BadBufferTest included, could run.
 * Later wlcs releases wait for the configure. wlroots has no wl_shell of
 * its own, so this module adds the least of one: set_toplevel puts the
 * surface in the scene; every other request is accepted and ignored.
 * Buffers, wl_shm and rendering are compositor-demo's, unchanged.
 *
 * wlroots 0.15 keeps our state as the surface's role data; since 0.17 a
 * role has a role object (our wl_shell_surface resource) instead, and the
 * role maps the surface (shows it) once it has a buffer.
 */
#include <stdlib.h>

#include <wayland-server-core.h>
#include <wayland-server-protocol.h>
#include <wlr/types/wlr_scene.h>

#include "server.h"
#include "wl-shell.h"
#include "wlr-compat.h"

struct legacy_shell {
	struct server *server;
	struct wl_global *global;
	struct wl_listener display_destroy;
};

struct legacy_shell_surface {
	struct legacy_shell *shell;
	struct wl_resource *resource;
	struct wlr_surface *surface;
	struct wlr_scene_node *node; /* once a toplevel */
	struct wl_listener surface_destroy;
};

#if COMPAT_WLR_AT_LEAST(18)
static void
legacy_role_commit(struct wlr_surface *surface)
{
	if (wlr_surface_has_buffer(surface)) {
		wlr_surface_map(surface);
	} else {
		wlr_surface_unmap(surface);
	}
}
#endif

static const struct wlr_surface_role legacy_role = {
	.name = "wl_shell_surface",
#if COMPAT_WLR_AT_LEAST(18)
	.commit = legacy_role_commit,
#endif
};

/* Our state behind a surface of our role, NULL once it is gone. */
static struct legacy_shell_surface *
shell_surface_from_surface(struct wlr_surface *surface)
{
	if (surface->role != &legacy_role) {
		return NULL;
	}
#if COMPAT_WLR_AT_LEAST(18)
	return surface->role_resource != NULL ? wl_resource_get_user_data(surface->role_resource)
					      : NULL;
#else
	return surface->role_data;
#endif
}

/* Take the role: false, with the protocol error posted, if the surface
 * has another. */
static bool
set_legacy_role(struct wlr_surface *surface, struct legacy_shell_surface *shell_surface,
	struct wl_resource *shell_resource)
{
#if COMPAT_WLR_AT_LEAST(18)
	(void)shell_surface;
	return wlr_surface_set_role(surface, &legacy_role, shell_resource, WL_SHELL_ERROR_ROLE);
#else
	return wlr_surface_set_role(
		surface, &legacy_role, shell_surface, shell_resource, WL_SHELL_ERROR_ROLE);
#endif
}

/* Forget the role's state (0.15; since 0.17 wlroots forgets the role
 * object when it is destroyed). */
static void
clear_legacy_role(struct wlr_surface *surface)
{
#if !COMPAT_WLR_AT_LEAST(18)
	surface->role_data = NULL;
#else
	(void)surface;
#endif
}

static void
shell_surface_pong(struct wl_client *client, struct wl_resource *resource, uint32_t serial)
{
}

static void
shell_surface_move(struct wl_client *client, struct wl_resource *resource, struct wl_resource *seat,
	uint32_t serial)
{
}

static void
shell_surface_resize(struct wl_client *client, struct wl_resource *resource,
	struct wl_resource *seat, uint32_t serial, uint32_t edges)
{
}

static void
shell_surface_set_toplevel(struct wl_client *client, struct wl_resource *resource)
{
	struct legacy_shell_surface *shell_surface = wl_resource_get_user_data(resource);
	if (shell_surface == NULL || shell_surface->node != NULL) {
		return;
	}
	shell_surface->node = compat_scene_subsurface_tree_create(
		compat_scene_root(shell_surface->shell->server->scene), shell_surface->surface);
	if (shell_surface->node == NULL) {
		wl_client_post_no_memory(client);
	}
}

static void
shell_surface_set_transient(struct wl_client *client, struct wl_resource *resource,
	struct wl_resource *parent, int32_t x, int32_t y, uint32_t flags)
{
}

static void
shell_surface_set_fullscreen(struct wl_client *client, struct wl_resource *resource,
	uint32_t method, uint32_t framerate, struct wl_resource *output)
{
}

static void
shell_surface_set_popup(struct wl_client *client, struct wl_resource *resource,
	struct wl_resource *seat, uint32_t serial, struct wl_resource *parent, int32_t x, int32_t y,
	uint32_t flags)
{
}

static void
shell_surface_set_maximized(
	struct wl_client *client, struct wl_resource *resource, struct wl_resource *output)
{
}

static void
shell_surface_set_title(struct wl_client *client, struct wl_resource *resource, const char *title)
{
}

static void
shell_surface_set_class(struct wl_client *client, struct wl_resource *resource, const char *class_)
{
}

static const struct wl_shell_surface_interface shell_surface_impl = {
	.pong = shell_surface_pong,
	.move = shell_surface_move,
	.resize = shell_surface_resize,
	.set_toplevel = shell_surface_set_toplevel,
	.set_transient = shell_surface_set_transient,
	.set_fullscreen = shell_surface_set_fullscreen,
	.set_popup = shell_surface_set_popup,
	.set_maximized = shell_surface_set_maximized,
	.set_title = shell_surface_set_title,
	.set_class = shell_surface_set_class,
};

static void
shell_surface_resource_destroy(struct wl_resource *resource)
{
	struct legacy_shell_surface *shell_surface = wl_resource_get_user_data(resource);
	if (shell_surface == NULL) {
		return;
	}
	wl_list_remove(&shell_surface->surface_destroy.link);
	/* The surface outlives us (its client is going away): take our
	 * node off the screen and leave no pointer to us behind. */
	if (shell_surface->node != NULL) {
		wlr_scene_node_destroy(shell_surface->node);
	}
	clear_legacy_role(shell_surface->surface);
	free(shell_surface);
}

static void
handle_surface_destroy(struct wl_listener *listener, void *data)
{
	struct legacy_shell_surface *shell_surface =
		wl_container_of(listener, shell_surface, surface_destroy);
	/* The scene destroys the surface's node by itself. */
	shell_surface->node = NULL;
	wl_resource_destroy(shell_surface->resource);
}

static void
shell_get_shell_surface(struct wl_client *client, struct wl_resource *resource, uint32_t id,
	struct wl_resource *surface_resource)
{
	struct legacy_shell *shell = wl_resource_get_user_data(resource);
	struct wlr_surface *surface = wlr_surface_from_resource(surface_resource);
	struct legacy_shell_surface *shell_surface = calloc(1, sizeof(*shell_surface));
	if (shell_surface == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	if (!set_legacy_role(surface, shell_surface, resource)) {
		free(shell_surface);
		return;
	}
	shell_surface->resource = wl_resource_create(
		client, &wl_shell_surface_interface, wl_resource_get_version(resource), id);
	if (shell_surface->resource == NULL) {
		clear_legacy_role(surface);
		free(shell_surface);
		wl_client_post_no_memory(client);
		return;
	}
	shell_surface->shell = shell;
	shell_surface->surface = surface;
	wl_resource_set_implementation(shell_surface->resource, &shell_surface_impl, shell_surface,
		shell_surface_resource_destroy);
#if COMPAT_WLR_AT_LEAST(18)
	wlr_surface_set_role_object(surface, shell_surface->resource);
#endif
	shell_surface->surface_destroy.notify = handle_surface_destroy;
	wl_signal_add(&surface->events.destroy, &shell_surface->surface_destroy);
}

static const struct wl_shell_interface shell_impl = {
	.get_shell_surface = shell_get_shell_surface,
};

static void
shell_bind(struct wl_client *client, void *user_data, uint32_t version, uint32_t id)
{
	struct wl_resource *resource =
		wl_resource_create(client, &wl_shell_interface, (int)version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(resource, &shell_impl, user_data, NULL);
}

static void
handle_display_destroy(struct wl_listener *listener, void *data)
{
	struct legacy_shell *shell = wl_container_of(listener, shell, display_destroy);
	wl_list_remove(&shell->display_destroy.link);
	free(shell);
}

bool
legacy_shell_create(struct server *server)
{
	struct legacy_shell *shell = calloc(1, sizeof(*shell));
	if (shell == NULL) {
		return false;
	}
	shell->server = server;
	shell->global =
		wl_global_create(server->display, &wl_shell_interface, 1, shell, shell_bind);
	if (shell->global == NULL) {
		free(shell);
		return false;
	}
	/* The display destroys the global; we go with it. */
	shell->display_destroy.notify = handle_display_destroy;
	wl_display_add_destroy_listener(server->display, &shell->display_destroy);
	return true;
}

struct wlr_scene_node *
legacy_shell_surface_node(struct wlr_surface *surface)
{
	struct legacy_shell_surface *shell_surface = shell_surface_from_surface(surface);
	return shell_surface != NULL ? shell_surface->node : NULL;
}

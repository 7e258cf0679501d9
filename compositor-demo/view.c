/*
 * compositor-demo: views. Every xdg toplevel gets a scene node at a
 * cascading position; popups hang off their parent's node.
 */
#include <stdlib.h>

#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_xdg_shell.h>
#include <wlr/util/log.h>

#include "server.h"

struct demo_view {
	struct server *server;
	struct wlr_xdg_surface *xdg_surface;
	struct wlr_scene_node *node;
	struct wl_list link; /* server.views */
	struct wl_listener map;
	struct wl_listener unmap;
	struct wl_listener destroy;
};

static void
handle_map(struct wl_listener *listener, void *data)
{
	struct demo_view *view = wl_container_of(listener, view, map);
	wlr_scene_node_set_enabled(view->node, true);
	wlr_scene_node_raise_to_top(view->node);
	wlr_xdg_toplevel_set_activated(view->xdg_surface, true);
	struct wlr_box geometry;
	wlr_xdg_surface_get_geometry(view->xdg_surface, &geometry);
	wlr_log(WLR_DEBUG, "view \"%s\" mapped, %dx%d",
		view->xdg_surface->toplevel->title ? view->xdg_surface->toplevel->title : "",
		geometry.width, geometry.height);
}

static void
handle_unmap(struct wl_listener *listener, void *data)
{
	struct demo_view *view = wl_container_of(listener, view, unmap);
	wlr_scene_node_set_enabled(view->node, false);
}

static void
view_free(struct demo_view *view)
{
	wl_list_remove(&view->map.link);
	wl_list_remove(&view->unmap.link);
	wl_list_remove(&view->destroy.link);
	wl_list_remove(&view->link);
	free(view);
}

static void
handle_destroy(struct wl_listener *listener, void *data)
{
	/* The scene node goes away with the surface by itself. */
	struct demo_view *view = wl_container_of(listener, view, destroy);
	view_free(view);
}

static void
handle_new_xdg_surface(struct wl_listener *listener, void *data)
{
	struct server *server = wl_container_of(listener, server, new_xdg_surface);
	struct wlr_xdg_surface *xdg_surface = data;

	if (xdg_surface->role == WLR_XDG_SURFACE_ROLE_POPUP) {
		/* A popup's parent stored its scene node in ->data. */
		struct wlr_xdg_surface *parent =
			wlr_xdg_surface_from_wlr_surface(xdg_surface->popup->parent);
		if (parent == NULL || parent->data == NULL) {
			return;
		}
		xdg_surface->data = wlr_scene_xdg_surface_create(parent->data, xdg_surface);
		return;
	}
	if (xdg_surface->role != WLR_XDG_SURFACE_ROLE_TOPLEVEL) {
		return;
	}

	struct demo_view *view = calloc(1, sizeof(*view));
	if (view == NULL) {
		wlr_log(WLR_ERROR, "out of memory");
		return;
	}
	view->node = wlr_scene_xdg_surface_create(&server->scene->node, xdg_surface);
	if (view->node == NULL) {
		free(view);
		return;
	}
	view->server = server;
	view->xdg_surface = xdg_surface;
	xdg_surface->data = view->node;
	wlr_scene_node_set_enabled(view->node, false);
	/* Cascade: each new window a step right and down, in 8 steps. */
	uint32_t step = server->views_created++ % 8;
	wlr_scene_node_set_position(view->node, 32 + 48 * (int)step, 32 + 40 * (int)step);

	view->map.notify = handle_map;
	wl_signal_add(&xdg_surface->events.map, &view->map);
	view->unmap.notify = handle_unmap;
	wl_signal_add(&xdg_surface->events.unmap, &view->unmap);
	view->destroy.notify = handle_destroy;
	wl_signal_add(&xdg_surface->events.destroy, &view->destroy);
	wl_list_insert(&server->views, &view->link);
}

void
view_init(struct server *server)
{
	wl_list_init(&server->views);
	server->new_xdg_surface.notify = handle_new_xdg_surface;
	wl_signal_add(&server->xdg_shell->events.new_surface, &server->new_xdg_surface);
}

void
view_finish(struct server *server)
{
	wl_list_remove(&server->new_xdg_surface.link);
	struct demo_view *view, *tmp;
	wl_list_for_each_safe (view, tmp, &server->views, link) {
		view_free(view);
	}
}

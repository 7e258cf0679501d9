/*
 * compositor-demo: views. Every xdg toplevel gets a scene node at a
 * cascading position; popups hang off their parent's node.
 */
#include <stdlib.h>

#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_xdg_shell.h>
#include <wlr/util/log.h>

#include "server.h"
#include "wlr-compat.h"

struct demo_view {
	struct server *server;
	struct wlr_xdg_surface *xdg_surface;
	struct wlr_scene_node *node;
	struct wl_list link; /* server.views */
	struct wl_listener map;
	struct wl_listener unmap;
	struct wl_listener commit;
	struct wl_listener destroy;
};

/* A popup needs nothing of ours but its first configure. */
struct demo_popup {
	struct wlr_xdg_surface *xdg_surface;
	struct wl_listener commit;
	struct wl_listener destroy;
};

/* Since wlroots 0.18 the compositor answers a surface's first commit with
 * its first configure; the client may attach a buffer only after it. */
static void
configure_if_initial(struct wlr_xdg_surface *xdg_surface)
{
	if (compat_xdg_surface_initial_commit(xdg_surface)) {
		wlr_xdg_surface_schedule_configure(xdg_surface);
	}
}

static void
handle_map(struct wl_listener *listener, void *data)
{
	struct demo_view *view = wl_container_of(listener, view, map);
	wlr_scene_node_set_enabled(view->node, true);
	wlr_scene_node_raise_to_top(view->node);
	compat_xdg_toplevel_set_activated(view->xdg_surface, true);
	struct wlr_box geometry;
	compat_xdg_surface_geometry(view->xdg_surface, &geometry);
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
handle_view_commit(struct wl_listener *listener, void *data)
{
	struct demo_view *view = wl_container_of(listener, view, commit);
	configure_if_initial(view->xdg_surface);
}

static void
view_free(struct demo_view *view)
{
	wl_list_remove(&view->map.link);
	wl_list_remove(&view->unmap.link);
	wl_list_remove(&view->commit.link);
	wl_list_remove(&view->destroy.link);
	wl_list_remove(&view->link);
	free(view);
}

static void
handle_view_destroy(struct wl_listener *listener, void *data)
{
	/* The scene node goes away with the surface by itself. */
	struct demo_view *view = wl_container_of(listener, view, destroy);
	view_free(view);
}

static void
view_create(struct server *server, struct wlr_xdg_surface *xdg_surface)
{
	struct demo_view *view = calloc(1, sizeof(*view));
	if (view == NULL) {
		wlr_log(WLR_ERROR, "%s", "out of memory");
		return;
	}
	view->node = compat_scene_xdg_surface_create(compat_scene_root(server->scene), xdg_surface);
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
	wl_signal_add(compat_xdg_surface_map_signal(xdg_surface), &view->map);
	view->unmap.notify = handle_unmap;
	wl_signal_add(compat_xdg_surface_unmap_signal(xdg_surface), &view->unmap);
	view->commit.notify = handle_view_commit;
	wl_signal_add(&xdg_surface->surface->events.commit, &view->commit);
	view->destroy.notify = handle_view_destroy;
	wl_signal_add(&xdg_surface->events.destroy, &view->destroy);
	wl_list_insert(&server->views, &view->link);
}

static void
handle_popup_commit(struct wl_listener *listener, void *data)
{
	struct demo_popup *popup = wl_container_of(listener, popup, commit);
	configure_if_initial(popup->xdg_surface);
}

static void
handle_popup_destroy(struct wl_listener *listener, void *data)
{
	struct demo_popup *popup = wl_container_of(listener, popup, destroy);
	wl_list_remove(&popup->commit.link);
	wl_list_remove(&popup->destroy.link);
	free(popup);
}

static void
popup_create(struct wlr_xdg_surface *xdg_surface)
{
	/* A popup's parent stored its scene node in ->data. */
	struct wlr_surface *parent_surface = xdg_surface->popup->parent;
	struct wlr_xdg_surface *parent =
		parent_surface != NULL ? compat_xdg_surface_from_surface(parent_surface) : NULL;
	if (parent == NULL || parent->data == NULL) {
		return;
	}
	struct demo_popup *popup = calloc(1, sizeof(*popup));
	if (popup == NULL) {
		wlr_log(WLR_ERROR, "%s", "out of memory");
		return;
	}
	xdg_surface->data = compat_scene_xdg_surface_create(parent->data, xdg_surface);
	popup->xdg_surface = xdg_surface;
	popup->commit.notify = handle_popup_commit;
	wl_signal_add(&xdg_surface->surface->events.commit, &popup->commit);
	popup->destroy.notify = handle_popup_destroy;
	wl_signal_add(&xdg_surface->events.destroy, &popup->destroy);
}

#if COMPAT_WLR_AT_LEAST(18)
/* wlroots 0.18: toplevels and popups each have their signal, emitted when
 * the role is given (an xdg_surface is new before it has one). */
static void
handle_new_toplevel(struct wl_listener *listener, void *data)
{
	struct server *server = wl_container_of(listener, server, new_xdg_surface);
	struct wlr_xdg_toplevel *toplevel = data;
	view_create(server, toplevel->base);
}

static void
handle_new_popup(struct wl_listener *listener, void *data)
{
	struct wlr_xdg_popup *popup = data;
	popup_create(popup->base);
}

void
view_init(struct server *server)
{
	wl_list_init(&server->views);
	server->new_xdg_surface.notify = handle_new_toplevel;
	wl_signal_add(&server->xdg_shell->events.new_toplevel, &server->new_xdg_surface);
	server->new_xdg_popup.notify = handle_new_popup;
	wl_signal_add(&server->xdg_shell->events.new_popup, &server->new_xdg_popup);
}
#else
/* wlroots 0.15: one signal, once the surface has its role. */
static void
handle_new_xdg_surface(struct wl_listener *listener, void *data)
{
	struct server *server = wl_container_of(listener, server, new_xdg_surface);
	struct wlr_xdg_surface *xdg_surface = data;
	if (xdg_surface->role == WLR_XDG_SURFACE_ROLE_POPUP) {
		popup_create(xdg_surface);
	} else if (xdg_surface->role == WLR_XDG_SURFACE_ROLE_TOPLEVEL) {
		view_create(server, xdg_surface);
	}
}

void
view_init(struct server *server)
{
	wl_list_init(&server->views);
	server->new_xdg_surface.notify = handle_new_xdg_surface;
	wl_signal_add(&server->xdg_shell->events.new_surface, &server->new_xdg_surface);
	/* Unused: popups come through new_xdg_surface. */
	wl_list_init(&server->new_xdg_popup.link);
}
#endif

void
view_finish(struct server *server)
{
	wl_list_remove(&server->new_xdg_surface.link);
	wl_list_remove(&server->new_xdg_popup.link);
	struct demo_view *view, *tmp;
	wl_list_for_each_safe (view, tmp, &server->views, link) {
		view_free(view);
	}
}

/*
 * A minimal wl_shell for the wlcs module (see wl-shell.c for why).
 */
#ifndef WLCS_WL_SHELL_H
#define WLCS_WL_SHELL_H

#include <stdbool.h>

struct server;
struct wlr_scene_node;
struct wlr_surface;

/** Add the wl_shell global to @p server's display; it lives as long as
 * the display. Display thread. */
bool
legacy_shell_create(struct server *server);

/** The scene node of a wl_shell toplevel, or NULL if @p surface is none. */
struct wlr_scene_node *
legacy_shell_surface_node(struct wlr_surface *surface);

#endif /* WLCS_WL_SHELL_H */

/*
 * compositor-demo: one source for wlroots 0.15 (Debian 12) and 0.18 to
 * 0.20 (Debian 13, unstable). Each call whose signature or meaning
 * differs between them is wrapped here once, so that the rest of the demo
 * (and the tests that run a wlroots compositor: tests/wlcs,
 * tests/wayland/test-wlr-adapter.c) reads the same on every release.
 *
 * What changed, in the demo's terms:
 * - 0.16: the scene graph got trees (wlr_scene_tree) as parents; the
 *   subcompositor became its own global.
 * - 0.17: backends take the event loop, outputs are configured with a
 *   wlr_output_state, the scene needs its outputs added to the layout by
 *   hand, xdg surfaces map through wlr_surface's signals, a surface role
 *   has a role object instead of role data, the renderer's old begin/end
 *   and wlr_scene_render_output() are gone (rendering is a render pass,
 *   or wlr_scene_output_build_state()), and wlroots serves wl_shm itself
 *   (wlr_shm) instead of libwayland.
 * - 0.18: globals take a version; xdg toplevels and popups have their own
 *   creation signals and wait for the compositor's first configure.
 * - 0.19: xdg window geometry is a field.
 * 0.16 and 0.17 are not supported (no Debian release has them).
 *
 * Display thread only.
 */
#ifndef COMPOSITOR_DEMO_WLR_COMPAT_H
#define COMPOSITOR_DEMO_WLR_COMPAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wayland-server-core.h>
#include <wlr/backend.h>
#include <wlr/backend/headless.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_compositor.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_xdg_shell.h>
#include <wlr/util/box.h>
#include <wlr/version.h>

/** True when building with wlroots 0.MINOR or later (all are 0.x). */
#define COMPAT_WLR_AT_LEAST(minor) (WLR_VERSION_MAJOR > 0 || WLR_VERSION_MINOR >= (minor))

#if !COMPAT_WLR_AT_LEAST(18) && WLR_VERSION_MINOR != 15
#error "compositor-demo builds with wlroots 0.15 or 0.18 and later"
#endif

#if COMPAT_WLR_AT_LEAST(18)
#include <wlr/interfaces/wlr_buffer.h>
#include <wlr/types/wlr_subcompositor.h>
#else
#include <wlr/types/wlr_surface.h>
#endif

struct wlr_scene_output_layout; /* since 0.17 */

/* Protocol versions of the globals the demo creates with wlroots 0.18 and
 * later (0.15 has one version of each): what 0.18 implements. */
#define COMPAT_COMPOSITOR_VERSION 6
#define COMPAT_XDG_SHELL_VERSION 6

/** The backend wlroots picks for this environment (nested, DRM, ...). */
static inline struct wlr_backend *
compat_backend_autocreate(struct wl_display *display)
{
#if COMPAT_WLR_AT_LEAST(18)
	return wlr_backend_autocreate(wl_display_get_event_loop(display), NULL);
#else
	return wlr_backend_autocreate(display);
#endif
}

/** A headless backend: outputs in memory, no input devices. */
static inline struct wlr_backend *
compat_headless_backend_create(struct wl_display *display)
{
#if COMPAT_WLR_AT_LEAST(18)
	return wlr_headless_backend_create(wl_display_get_event_loop(display));
#else
	return wlr_headless_backend_create(display);
#endif
}

/** wl_compositor and wl_subcompositor (one call in 0.15, two since). */
static inline struct wlr_compositor *
compat_compositor_create(struct wl_display *display, struct wlr_renderer *renderer)
{
#if COMPAT_WLR_AT_LEAST(18)
	struct wlr_compositor *compositor =
		wlr_compositor_create(display, COMPAT_COMPOSITOR_VERSION, renderer);
	if (compositor == NULL || wlr_subcompositor_create(display) == NULL) {
		return NULL;
	}
	return compositor;
#else
	return wlr_compositor_create(display, renderer);
#endif
}

static inline struct wlr_xdg_shell *
compat_xdg_shell_create(struct wl_display *display)
{
#if COMPAT_WLR_AT_LEAST(18)
	return wlr_xdg_shell_create(display, COMPAT_XDG_SHELL_VERSION);
#else
	return wlr_xdg_shell_create(display);
#endif
}

static inline struct wlr_output_layout *
compat_output_layout_create(struct wl_display *display)
{
#if COMPAT_WLR_AT_LEAST(18)
	return wlr_output_layout_create(display);
#else
	(void)display;
	return wlr_output_layout_create();
#endif
}

/** The box around every output of @p layout. */
static inline void
compat_output_layout_get_box(struct wlr_output_layout *layout, struct wlr_box *box)
{
#if COMPAT_WLR_AT_LEAST(18)
	wlr_output_layout_get_box(layout, NULL, box);
#else
	*box = *wlr_output_layout_get_box(layout, NULL);
#endif
}

/*
 * Scene nodes. The demo keeps every scene object as its wlr_scene_node;
 * since 0.16 a node that has children is a wlr_scene_tree, and these
 * take the parent as the tree's node.
 */

/** The scene's root, as a node. */
static inline struct wlr_scene_node *
compat_scene_root(struct wlr_scene *scene)
{
#if COMPAT_WLR_AT_LEAST(18)
	return &scene->tree.node;
#else
	return &scene->node;
#endif
}

#if COMPAT_WLR_AT_LEAST(18)
/** The tree behind the node of a tree (root, xdg surface, subsurface tree). */
static inline struct wlr_scene_tree *
compat_scene_tree(struct wlr_scene_node *node)
{
	return wlr_scene_tree_from_node(node);
}
#else
static inline struct wlr_scene_node *
compat_scene_tree(struct wlr_scene_node *node)
{
	return node;
}
#endif

static inline struct wlr_scene_rect *
compat_scene_rect_create(
	struct wlr_scene_node *parent, int width, int height, const float color[static 4])
{
	return wlr_scene_rect_create(compat_scene_tree(parent), width, height, color);
}

/** An xdg surface and its popups and subsurfaces, under @p parent. */
static inline struct wlr_scene_node *
compat_scene_xdg_surface_create(struct wlr_scene_node *parent, struct wlr_xdg_surface *xdg_surface)
{
#if COMPAT_WLR_AT_LEAST(18)
	struct wlr_scene_tree *tree =
		wlr_scene_xdg_surface_create(compat_scene_tree(parent), xdg_surface);
	return tree != NULL ? &tree->node : NULL;
#else
	return wlr_scene_xdg_surface_create(parent, xdg_surface);
#endif
}

/** A surface and its subsurfaces, under @p parent. */
static inline struct wlr_scene_node *
compat_scene_subsurface_tree_create(struct wlr_scene_node *parent, struct wlr_surface *surface)
{
#if COMPAT_WLR_AT_LEAST(18)
	struct wlr_scene_tree *tree =
		wlr_scene_subsurface_tree_create(compat_scene_tree(parent), surface);
	return tree != NULL ? &tree->node : NULL;
#else
	return wlr_scene_subsurface_tree_create(parent, surface);
#endif
}

/** One surface alone, under @p parent. */
static inline bool
compat_scene_surface_create(struct wlr_scene_node *parent, struct wlr_surface *surface)
{
	return wlr_scene_surface_create(compat_scene_tree(parent), surface) != NULL;
}

/*
 * Outputs.
 */

/** Enable @p output in its preferred mode; false if the commit failed. */
static inline bool
compat_output_enable(struct wlr_output *output)
{
	struct wlr_output_mode *mode = wlr_output_preferred_mode(output);
#if COMPAT_WLR_AT_LEAST(18)
	struct wlr_output_state state;
	wlr_output_state_init(&state);
	wlr_output_state_set_enabled(&state, true);
	if (mode != NULL) {
		wlr_output_state_set_mode(&state, mode);
	}
	bool ok = wlr_output_commit_state(output, &state);
	wlr_output_state_finish(&state);
	return ok;
#else
	if (mode != NULL) {
		wlr_output_set_mode(output, mode);
	}
	wlr_output_enable(output, true);
	return wlr_output_commit(output);
#endif
}

/**
 * Keep the scene's outputs placed as @p layout places them. Since 0.17
 * the scene's part of that is a wlr_scene_output_layout, set in
 * @p scene_layout for compat_scene_add_output(); 0.15 has none (NULL).
 */
static inline bool
compat_scene_attach_output_layout(struct wlr_scene *scene, struct wlr_output_layout *layout,
	struct wlr_scene_output_layout **scene_layout)
{
#if COMPAT_WLR_AT_LEAST(18)
	*scene_layout = wlr_scene_attach_output_layout(scene, layout);
	return *scene_layout != NULL;
#else
	*scene_layout = NULL;
	return wlr_scene_attach_output_layout(scene, layout);
#endif
}

/**
 * Place @p output in @p layout and show the scene on it: since 0.17 the
 * scene output is made here and tied to the output's place; in 0.15 the
 * scene did both itself when the output joined the layout.
 */
static inline bool
compat_scene_add_output(struct wlr_scene *scene, struct wlr_scene_output_layout *scene_layout,
	struct wlr_output_layout *layout, struct wlr_output *output)
{
#if COMPAT_WLR_AT_LEAST(18)
	struct wlr_output_layout_output *layout_output = wlr_output_layout_add_auto(layout, output);
	struct wlr_scene_output *scene_output = wlr_scene_output_create(scene, output);
	if (layout_output == NULL || scene_output == NULL) {
		return false;
	}
	wlr_scene_output_layout_add_output(scene_layout, layout_output, scene_output);
	return true;
#else
	(void)scene_layout;
	wlr_output_layout_add_auto(layout, output);
	return wlr_scene_get_scene_output(scene, output) != NULL;
#endif
}

/** Render @p scene_output if anything changed and show it. */
static inline bool
compat_scene_output_commit(struct wlr_scene_output *scene_output)
{
#if COMPAT_WLR_AT_LEAST(18)
	return wlr_scene_output_commit(scene_output, NULL);
#else
	return wlr_scene_output_commit(scene_output);
#endif
}

/**
 * Render the whole of @p output's scene, on black, into @p pixels:
 * output->width x output->height XRGB8888 pixels (the X byte 0xff), rows
 * @p stride bytes apart. Nothing is shown on the output. Returns false if
 * rendering failed. (wlr-compat.c: 0.15 renders into @p pixels directly,
 * later releases into one of the output's buffers, copied out.)
 */
bool
compat_scene_output_render(struct wlr_scene *scene, struct wlr_renderer *renderer,
	struct wlr_output *output, void *pixels, uint32_t stride);

/*
 * xdg-shell.
 */

/** The signals a surface is mapped and unmapped with. */
static inline struct wl_signal *
compat_xdg_surface_map_signal(struct wlr_xdg_surface *xdg_surface)
{
#if COMPAT_WLR_AT_LEAST(18)
	return &xdg_surface->surface->events.map;
#else
	return &xdg_surface->events.map;
#endif
}

static inline struct wl_signal *
compat_xdg_surface_unmap_signal(struct wlr_xdg_surface *xdg_surface)
{
#if COMPAT_WLR_AT_LEAST(18)
	return &xdg_surface->surface->events.unmap;
#else
	return &xdg_surface->events.unmap;
#endif
}

/**
 * Whether the commit being handled is the surface's first, which the
 * compositor answers with a configure since 0.18 (wlroots sent it itself
 * before).
 */
static inline bool
compat_xdg_surface_initial_commit(struct wlr_xdg_surface *xdg_surface)
{
#if COMPAT_WLR_AT_LEAST(18)
	return xdg_surface->initial_commit;
#else
	(void)xdg_surface;
	return false;
#endif
}

/** The xdg surface of @p surface, or NULL if it has none. */
static inline struct wlr_xdg_surface *
compat_xdg_surface_from_surface(struct wlr_surface *surface)
{
#if COMPAT_WLR_AT_LEAST(18)
	return wlr_xdg_surface_try_from_wlr_surface(surface);
#else
	return wlr_surface_is_xdg_surface(surface) ? wlr_xdg_surface_from_wlr_surface(surface)
						   : NULL;
#endif
}

static inline void
compat_xdg_surface_geometry(struct wlr_xdg_surface *xdg_surface, struct wlr_box *box)
{
#if COMPAT_WLR_AT_LEAST(19)
	*box = xdg_surface->geometry;
#else
	wlr_xdg_surface_get_geometry(xdg_surface, box);
#endif
}

static inline void
compat_xdg_toplevel_set_activated(struct wlr_xdg_surface *xdg_surface, bool activated)
{
#if COMPAT_WLR_AT_LEAST(18)
	wlr_xdg_toplevel_set_activated(xdg_surface->toplevel, activated);
#else
	wlr_xdg_toplevel_set_activated(xdg_surface, activated);
#endif
}

/*
 * Renderer and buffers.
 */

/**
 * The DRM formats the renderer can texture from memory, into @p out (at
 * most @p capacity); returns how many.
 */
static inline size_t
compat_renderer_shm_formats(struct wlr_renderer *renderer, uint32_t *out, size_t capacity)
{
	size_t count = 0;
#if COMPAT_WLR_AT_LEAST(18)
	const struct wlr_drm_format_set *set =
		wlr_renderer_get_texture_formats(renderer, WLR_BUFFER_CAP_DATA_PTR);
	for (size_t i = 0; set != NULL && i < set->len && count < capacity; i++) {
		out[count++] = set->formats[i].format;
	}
#else
	size_t len = 0;
	const uint32_t *formats = wlr_renderer_get_shm_texture_formats(renderer, &len);
	for (size_t i = 0; i < len && count < capacity; i++) {
		out[count++] = formats[i];
	}
#endif
	return count;
}

#endif /* COMPOSITOR_DEMO_WLR_COMPAT_H */

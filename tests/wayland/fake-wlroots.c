/*
 * A stand-in wlroots for test-preload-wlroots-refusal: the four functions
 * of its wl_shm path and the registration the preload's wl_shm makes, with the structs of the
 * wlroots the tests are built against. Its own wl_shm is a line on stderr and no global.
 * wlr_renderer_init_wl_shm() calls wlr_shm_create_with_renderer() by
 * name, as Debian's wlroots does, unless the library is linked with
 * -Bsymbolic-functions (one of the builds), which binds that call inside
 * it. The soname is set per build (-Wl,-soname).
 */
#include <stdint.h>
#include <stdio.h>

#include <drm_fourcc.h>
#include <wayland-server-core.h>
#include <wlr/interfaces/wlr_buffer.h>
#include <wlr/render/drm_format_set.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_shm.h>

#define FAKE_EXPORT __attribute__((visibility("default")))

static struct wlr_drm_format formats[] = {
	{.format = DRM_FORMAT_ARGB8888},
	{.format = DRM_FORMAT_XRGB8888},
	{.format = DRM_FORMAT_RGB565},
};

static const struct wlr_drm_format_set texture_formats = {
	.len = 3,
	.capacity = 3,
	.formats = formats,
};

FAKE_EXPORT const struct wlr_drm_format_set *
wlr_renderer_get_texture_formats(struct wlr_renderer *renderer, uint32_t buffer_caps)
{
	return &texture_formats;
}

FAKE_EXPORT struct wlr_shm *
wlr_shm_create(struct wl_display *display, uint32_t version, const uint32_t *drm_formats,
	size_t formats_len)
{
	fprintf(stderr, "fake wlroots: its own wl_shm\n");
	return NULL;
}

FAKE_EXPORT struct wlr_shm *
wlr_shm_create_with_renderer(
	struct wl_display *display, uint32_t version, struct wlr_renderer *renderer)
{
	return wlr_shm_create(display, version, NULL, 0);
}

FAKE_EXPORT bool
wlr_renderer_init_wl_shm(struct wlr_renderer *renderer, struct wl_display *display)
{
	return wlr_shm_create_with_renderer(display, 2, renderer) != NULL;
}

FAKE_EXPORT void
wlr_buffer_register_resource_interface(const struct wlr_buffer_resource_interface *iface)
{
}

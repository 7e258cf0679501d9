/*
 * compositor-demo: the parts of wlr-compat.h too long to be inline.
 */
#include <stdlib.h>
#include <string.h>

#include <drm_fourcc.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_scene.h>

#include "wlr-compat.h"

/* X (or A) to 0xff in every pixel: captures are opaque. */
static void
set_opaque(uint8_t *pixels, uint32_t stride, int width, int height)
{
	for (int y = 0; y < height; y++) {
		uint32_t *row = (uint32_t *)(pixels + (size_t)y * stride);
		for (int x = 0; x < width; x++) {
			row[x] |= 0xff000000u;
		}
	}
}

#if COMPAT_WLR_AT_LEAST(18)

/*
 * wlroots 0.17 and later render a scene output only into a buffer of the
 * output's swapchain (wlr_scene_output_build_state()). The state asks to
 * enable the output, which also rules out direct scan-out of a client's
 * buffer; it is never committed, so the output shows nothing of it. The
 * whole output is damaged first: a capture draws everything again and so
 * reads every client buffer now (as wlroots 0.15 did), rather than the
 * parts that changed since that swapchain buffer was last drawn. The
 * damage ring keeps track of what that buffer holds.
 */
bool
compat_scene_output_render(struct wlr_scene *scene, struct wlr_renderer *renderer,
	struct wlr_output *output, void *pixels, uint32_t stride)
{
	(void)renderer;
	struct wlr_scene_output *scene_output = wlr_scene_get_scene_output(scene, output);
	if (scene_output == NULL || stride < (uint32_t)output->width * 4) {
		return false;
	}
	wlr_damage_ring_add_whole(&scene_output->damage_ring);
	struct wlr_output_state state;
	wlr_output_state_init(&state);
	wlr_output_state_set_enabled(&state, true);
	bool ok = wlr_scene_output_build_state(scene_output, &state, NULL) &&
		(state.committed & WLR_OUTPUT_STATE_BUFFER) && state.buffer != NULL &&
		state.buffer->width == output->width && state.buffer->height == output->height;
	void *data = NULL;
	uint32_t format = 0;
	size_t src_stride = 0;
	if (ok) {
		ok = wlr_buffer_begin_data_ptr_access(
			state.buffer, WLR_BUFFER_DATA_PTR_ACCESS_READ, &data, &format, &src_stride);
	}
	if (ok) {
		ok = format == DRM_FORMAT_XRGB8888 || format == DRM_FORMAT_ARGB8888;
		for (int y = 0; ok && y < output->height; y++) {
			memcpy((uint8_t *)pixels + (size_t)y * stride,
				(const uint8_t *)data + (size_t)y * src_stride,
				(size_t)output->width * 4);
		}
		wlr_buffer_end_data_ptr_access(state.buffer);
	}
	wlr_output_state_finish(&state);
	if (ok) {
		set_opaque(pixels, stride, output->width, output->height);
	}
	return ok;
}

#else

/* wlroots 0.15: the renderer draws into any wlr_buffer, so the target is
 * one of ours over the caller's memory: no copy. */
struct memory_buffer {
	struct wlr_buffer base;
	void *pixels;
	uint32_t stride;
};

static void
memory_buffer_destroy(struct wlr_buffer *wlr_buffer)
{
	struct memory_buffer *buffer = wl_container_of(wlr_buffer, buffer, base);
	free(buffer);
}

static bool
memory_buffer_begin_access(struct wlr_buffer *wlr_buffer, uint32_t flags, void **data,
	uint32_t *format, size_t *stride)
{
	struct memory_buffer *buffer = wl_container_of(wlr_buffer, buffer, base);
	*data = buffer->pixels;
	*format = DRM_FORMAT_XRGB8888;
	*stride = buffer->stride;
	return true;
}

static void
memory_buffer_end_access(struct wlr_buffer *wlr_buffer)
{
}

static const struct wlr_buffer_impl memory_buffer_impl = {
	.destroy = memory_buffer_destroy,
	.begin_data_ptr_access = memory_buffer_begin_access,
	.end_data_ptr_access = memory_buffer_end_access,
};

bool
compat_scene_output_render(struct wlr_scene *scene, struct wlr_renderer *renderer,
	struct wlr_output *output, void *pixels, uint32_t stride)
{
	static const float black[4] = {0.0f, 0.0f, 0.0f, 1.0f};
	struct wlr_scene_output *scene_output = wlr_scene_get_scene_output(scene, output);
	if (scene_output == NULL || stride < (uint32_t)output->width * 4) {
		return false;
	}
	struct memory_buffer *buffer = calloc(1, sizeof(*buffer));
	if (buffer == NULL) {
		return false;
	}
	buffer->pixels = pixels;
	buffer->stride = stride;
	wlr_buffer_init(&buffer->base, &memory_buffer_impl, output->width, output->height);
	bool ok = wlr_renderer_begin_with_buffer(renderer, &buffer->base);
	if (ok) {
		wlr_renderer_clear(renderer, black);
		wlr_scene_render_output(scene, output, scene_output->x, scene_output->y, NULL);
		wlr_renderer_end(renderer);
	}
	wlr_buffer_drop(&buffer->base);
	if (ok) {
		set_opaque(pixels, stride, output->width, output->height);
	}
	return ok;
}

#endif

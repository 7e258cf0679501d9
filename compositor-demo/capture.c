/*
 * compositor-demo: render an output's scene into memory the compositor
 * owns, for screenshots and screen capture. The target is a wlr_buffer of
 * our own over plain memory, so the renderer writes straight into it.
 */
#include <drm_fourcc.h>
#include <stdlib.h>
#include <string.h>

#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/util/log.h>

#include "server.h"

/* The background colour behind every window: a dark slate. */
static const float clear_color[4] = {0.12f, 0.14f, 0.18f, 1.0f};

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

/* Render the whole of @p output into @p pixels (its size, @p stride). */
static bool
render_whole_output(struct server *server, struct wlr_output *output, void *pixels, uint32_t stride)
{
	struct wlr_scene_output *scene_output = wlr_scene_get_scene_output(server->scene, output);
	if (scene_output == NULL) {
		return false;
	}
	struct memory_buffer *buffer = calloc(1, sizeof(*buffer));
	if (buffer == NULL) {
		return false;
	}
	buffer->pixels = pixels;
	buffer->stride = stride;
	wlr_buffer_init(&buffer->base, &memory_buffer_impl, output->width, output->height);
	bool ok = wlr_renderer_begin_with_buffer(server->renderer, &buffer->base);
	if (ok) {
		wlr_renderer_clear(server->renderer, clear_color);
		wlr_scene_render_output(
			server->scene, output, scene_output->x, scene_output->y, NULL);
		wlr_renderer_end(server->renderer);
	}
	wlr_buffer_drop(&buffer->base);
	return ok;
}

bool
capture_output(struct server *server, struct wlr_output *output, int x, int y, int width,
	int height, void *pixels, uint32_t stride)
{
	if (x < 0 || y < 0 || width <= 0 || height <= 0 || x + width > output->width ||
		y + height > output->height || stride < (uint32_t)width * 4) {
		return false;
	}
	if (x == 0 && y == 0 && width == output->width && height == output->height) {
		return render_whole_output(server, output, pixels, stride);
	}
	uint32_t whole_stride = (uint32_t)output->width * 4;
	uint8_t *whole = malloc((size_t)whole_stride * (size_t)output->height);
	if (whole == NULL) {
		return false;
	}
	bool ok = render_whole_output(server, output, whole, whole_stride);
	if (ok) {
		for (int row = 0; row < height; row++) {
			memcpy((uint8_t *)pixels + (size_t)row * stride,
				whole + (size_t)(y + row) * whole_stride + (size_t)x * 4,
				(size_t)width * 4);
		}
	}
	free(whole);
	return ok;
}

/*
 * compositor-demo: render an output's scene into memory the compositor
 * owns, for screenshots and screen capture (wlr-compat.c says how, on
 * each wlroots release).
 */
#include <stdlib.h>
#include <string.h>

#include <wlr/types/wlr_output.h>

#include "server.h"
#include "wlr-compat.h"

bool
capture_output(struct server *server, struct wlr_output *output, int x, int y, int width,
	int height, void *pixels, uint32_t stride)
{
	if (x < 0 || y < 0 || width <= 0 || height <= 0 || x + width > output->width ||
		y + height > output->height || stride < (uint32_t)width * 4) {
		return false;
	}
	if (x == 0 && y == 0 && width == output->width && height == output->height) {
		return compat_scene_output_render(
			server->scene, server->renderer, output, pixels, stride);
	}
	uint32_t whole_stride = (uint32_t)output->width * 4;
	uint8_t *whole = malloc((size_t)whole_stride * (size_t)output->height);
	if (whole == NULL) {
		return false;
	}
	bool ok = compat_scene_output_render(
		server->scene, server->renderer, output, whole, whole_stride);
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

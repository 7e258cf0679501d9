/*
 * client-demo: write a captured picture as a PNG (libpng's simplified API).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <wayland-client.h>

#include "demo.h"

int
demo_png_write(const char *path, const void *pixels, uint32_t width, uint32_t height,
	uint32_t stride, uint32_t wl_shm_format, bool y_invert)
{
	/* Byte offsets of red, green, blue in a little-endian 32-bit pixel. */
	int r, g, b;
	switch (wl_shm_format) {
	case WL_SHM_FORMAT_ARGB8888:
	case WL_SHM_FORMAT_XRGB8888:
		r = 2, g = 1, b = 0;
		break;
	case WL_SHM_FORMAT_ABGR8888:
	case WL_SHM_FORMAT_XBGR8888:
		r = 0, g = 1, b = 2;
		break;
	default:
		return -EINVAL;
	}
	if ((uint64_t)width * 4 > stride) {
		return -EINVAL;
	}
	uint8_t *rgb = malloc((size_t)width * height * 3);
	if (rgb == NULL) {
		return -ENOMEM;
	}
	for (uint32_t y = 0; y < height; y++) {
		uint32_t src_y = y_invert ? height - 1 - y : y;
		const uint8_t *src = (const uint8_t *)pixels + (size_t)src_y * stride;
		uint8_t *dst = rgb + (size_t)y * width * 3;
		for (uint32_t x = 0; x < width; x++) {
			dst[3 * x + 0] = src[4 * x + r];
			dst[3 * x + 1] = src[4 * x + g];
			dst[3 * x + 2] = src[4 * x + b];
		}
	}
	png_image image;
	memset(&image, 0, sizeof(image));
	image.version = PNG_IMAGE_VERSION;
	image.width = width;
	image.height = height;
	image.format = PNG_FORMAT_RGB;
	int ok = png_image_write_to_file(&image, path, 0, rgb, (png_int_32)width * 3, NULL);
	if (!ok) {
		fprintf(stderr, "png: %s: %s\n", path, image.message);
	}
	png_image_free(&image);
	free(rgb);
	return ok ? 0 : -EIO;
}

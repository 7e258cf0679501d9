/*
 * compositor-demo: a PNG of the first output (libpng's simplified API).
 */
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <wlr/types/wlr_output.h>
#include <wlr/util/log.h>

#include "server.h"

bool
screenshot_write(struct server *server, const char *path)
{
	struct wlr_output *output = output_first(server);
	if (output == NULL) {
		wlr_log(WLR_ERROR, "%s", "screenshot: no output");
		return false;
	}
	uint32_t width = (uint32_t)output->width, height = (uint32_t)output->height;
	uint32_t stride = width * 4;
	uint8_t *xrgb = malloc((size_t)stride * height);
	uint8_t *rgb = malloc((size_t)width * height * 3);
	bool ok = false;
	if (xrgb == NULL || rgb == NULL) {
		wlr_log(WLR_ERROR, "%s", "screenshot: out of memory");
		goto out;
	}
	if (!capture_output(server, output, 0, 0, (int)width, (int)height, xrgb, stride)) {
		wlr_log(WLR_ERROR, "screenshot: rendering %s failed", output->name);
		goto out;
	}
	/* XRGB8888 is B, G, R, X in memory on little-endian machines. */
	for (size_t i = 0; i < (size_t)width * height; i++) {
		rgb[3 * i + 0] = xrgb[4 * i + 2];
		rgb[3 * i + 1] = xrgb[4 * i + 1];
		rgb[3 * i + 2] = xrgb[4 * i + 0];
	}
	png_image image;
	memset(&image, 0, sizeof(image));
	image.version = PNG_IMAGE_VERSION;
	image.width = width;
	image.height = height;
	image.format = PNG_FORMAT_RGB;
	ok = png_image_write_to_file(&image, path, 0, rgb, (png_int_32)width * 3, NULL) != 0;
	if (ok) {
		demo_log("screenshot of %s (%ux%u) written to %s", output->name, width, height,
			path);
	} else {
		wlr_log(WLR_ERROR, "screenshot: %s: %s", path, image.message);
	}
	png_image_free(&image);
out:
	free(rgb);
	free(xrgb);
	return ok;
}

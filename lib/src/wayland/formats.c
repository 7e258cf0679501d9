/*
 * The wl_shm format table: for each packed single-plane format, its wl_shm
 * code, DRM fourcc, bytes per pixel and pixman format. Planar formats
 * (NV12, YUV420, ...) are absent: a wl_shm buffer has one stride.
 */
#include "config.h"

#include <stddef.h>

#include "shmguard/wayland.h"

#define FOURCC(a, b, c, d)                                                                         \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))

/*
 * pixman_format_code_t values, built with pixman's documented encoding
 * (bits per pixel, type, then the width of a, r, g, b) so that this layer
 * needs no pixman header. tests/wayland checks every entry against
 * <pixman.h> and against pixman's own reading of a pixel.
 */
#define PIXMAN_CODE(bpp, type, a, r, g, b)                                                         \
	(((uint32_t)(bpp) << 24) | ((uint32_t)(type) << 16) | ((uint32_t)(a) << 12) |              \
		((uint32_t)(r) << 8) | ((uint32_t)(g) << 4) | (uint32_t)(b))
#define PIXMAN_ARGB 2
#define PIXMAN_ABGR 3
#define PIXMAN_YUY2 6
#define PIXMAN_BGRA 8
#define PIXMAN_RGBA 9
#define NO_PIXMAN 0

/* wl_shm uses 0 and 1 for its two original formats, the fourcc otherwise. */
#define SHM(a, b, c, d) FOURCC(a, b, c, d)

static const struct shmguard_format_info formats[] = {
	{0, FOURCC('A', 'R', '2', '4'), 4, PIXMAN_CODE(32, PIXMAN_ARGB, 8, 8, 8, 8), true,
		"ARGB8888"},
	{1, FOURCC('X', 'R', '2', '4'), 4, PIXMAN_CODE(32, PIXMAN_ARGB, 0, 8, 8, 8), false,
		"XRGB8888"},
	{SHM('X', 'B', '2', '4'), FOURCC('X', 'B', '2', '4'), 4,
		PIXMAN_CODE(32, PIXMAN_ABGR, 0, 8, 8, 8), false, "XBGR8888"},
	{SHM('A', 'B', '2', '4'), FOURCC('A', 'B', '2', '4'), 4,
		PIXMAN_CODE(32, PIXMAN_ABGR, 8, 8, 8, 8), true, "ABGR8888"},
	{SHM('R', 'X', '2', '4'), FOURCC('R', 'X', '2', '4'), 4,
		PIXMAN_CODE(32, PIXMAN_RGBA, 0, 8, 8, 8), false, "RGBX8888"},
	{SHM('R', 'A', '2', '4'), FOURCC('R', 'A', '2', '4'), 4,
		PIXMAN_CODE(32, PIXMAN_RGBA, 8, 8, 8, 8), true, "RGBA8888"},
	{SHM('B', 'X', '2', '4'), FOURCC('B', 'X', '2', '4'), 4,
		PIXMAN_CODE(32, PIXMAN_BGRA, 0, 8, 8, 8), false, "BGRX8888"},
	{SHM('B', 'A', '2', '4'), FOURCC('B', 'A', '2', '4'), 4,
		PIXMAN_CODE(32, PIXMAN_BGRA, 8, 8, 8, 8), true, "BGRA8888"},
	{SHM('R', 'G', '2', '4'), FOURCC('R', 'G', '2', '4'), 3,
		PIXMAN_CODE(24, PIXMAN_ARGB, 0, 8, 8, 8), false, "RGB888"},
	{SHM('B', 'G', '2', '4'), FOURCC('B', 'G', '2', '4'), 3,
		PIXMAN_CODE(24, PIXMAN_ABGR, 0, 8, 8, 8), false, "BGR888"},
	{SHM('R', 'G', '1', '6'), FOURCC('R', 'G', '1', '6'), 2,
		PIXMAN_CODE(16, PIXMAN_ARGB, 0, 5, 6, 5), false, "RGB565"},
	{SHM('B', 'G', '1', '6'), FOURCC('B', 'G', '1', '6'), 2,
		PIXMAN_CODE(16, PIXMAN_ABGR, 0, 5, 6, 5), false, "BGR565"},
	{SHM('X', 'R', '1', '5'), FOURCC('X', 'R', '1', '5'), 2,
		PIXMAN_CODE(16, PIXMAN_ARGB, 0, 5, 5, 5), false, "XRGB1555"},
	{SHM('A', 'R', '1', '5'), FOURCC('A', 'R', '1', '5'), 2,
		PIXMAN_CODE(16, PIXMAN_ARGB, 1, 5, 5, 5), true, "ARGB1555"},
	{SHM('X', 'B', '1', '5'), FOURCC('X', 'B', '1', '5'), 2,
		PIXMAN_CODE(16, PIXMAN_ABGR, 0, 5, 5, 5), false, "XBGR1555"},
	{SHM('A', 'B', '1', '5'), FOURCC('A', 'B', '1', '5'), 2,
		PIXMAN_CODE(16, PIXMAN_ABGR, 1, 5, 5, 5), true, "ABGR1555"},
	{SHM('R', 'X', '1', '5'), FOURCC('R', 'X', '1', '5'), 2, NO_PIXMAN, false, "RGBX5551"},
	{SHM('R', 'A', '1', '5'), FOURCC('R', 'A', '1', '5'), 2, NO_PIXMAN, true, "RGBA5551"},
	{SHM('B', 'X', '1', '5'), FOURCC('B', 'X', '1', '5'), 2, NO_PIXMAN, false, "BGRX5551"},
	{SHM('B', 'A', '1', '5'), FOURCC('B', 'A', '1', '5'), 2, NO_PIXMAN, true, "BGRA5551"},
	{SHM('X', 'R', '1', '2'), FOURCC('X', 'R', '1', '2'), 2,
		PIXMAN_CODE(16, PIXMAN_ARGB, 0, 4, 4, 4), false, "XRGB4444"},
	{SHM('A', 'R', '1', '2'), FOURCC('A', 'R', '1', '2'), 2,
		PIXMAN_CODE(16, PIXMAN_ARGB, 4, 4, 4, 4), true, "ARGB4444"},
	{SHM('X', 'B', '1', '2'), FOURCC('X', 'B', '1', '2'), 2,
		PIXMAN_CODE(16, PIXMAN_ABGR, 0, 4, 4, 4), false, "XBGR4444"},
	{SHM('A', 'B', '1', '2'), FOURCC('A', 'B', '1', '2'), 2,
		PIXMAN_CODE(16, PIXMAN_ABGR, 4, 4, 4, 4), true, "ABGR4444"},
	{SHM('R', 'X', '1', '2'), FOURCC('R', 'X', '1', '2'), 2, NO_PIXMAN, false, "RGBX4444"},
	{SHM('R', 'A', '1', '2'), FOURCC('R', 'A', '1', '2'), 2, NO_PIXMAN, true, "RGBA4444"},
	{SHM('B', 'X', '1', '2'), FOURCC('B', 'X', '1', '2'), 2, NO_PIXMAN, false, "BGRX4444"},
	{SHM('B', 'A', '1', '2'), FOURCC('B', 'A', '1', '2'), 2, NO_PIXMAN, true, "BGRA4444"},
	{SHM('X', 'R', '3', '0'), FOURCC('X', 'R', '3', '0'), 4,
		PIXMAN_CODE(32, PIXMAN_ARGB, 0, 10, 10, 10), false, "XRGB2101010"},
	{SHM('A', 'R', '3', '0'), FOURCC('A', 'R', '3', '0'), 4,
		PIXMAN_CODE(32, PIXMAN_ARGB, 2, 10, 10, 10), true, "ARGB2101010"},
	{SHM('X', 'B', '3', '0'), FOURCC('X', 'B', '3', '0'), 4,
		PIXMAN_CODE(32, PIXMAN_ABGR, 0, 10, 10, 10), false, "XBGR2101010"},
	{SHM('A', 'B', '3', '0'), FOURCC('A', 'B', '3', '0'), 4,
		PIXMAN_CODE(32, PIXMAN_ABGR, 2, 10, 10, 10), true, "ABGR2101010"},
	{SHM('R', 'X', '3', '0'), FOURCC('R', 'X', '3', '0'), 4, NO_PIXMAN, false, "RGBX1010102"},
	{SHM('R', 'A', '3', '0'), FOURCC('R', 'A', '3', '0'), 4, NO_PIXMAN, true, "RGBA1010102"},
	{SHM('B', 'X', '3', '0'), FOURCC('B', 'X', '3', '0'), 4, NO_PIXMAN, false, "BGRX1010102"},
	{SHM('B', 'A', '3', '0'), FOURCC('B', 'A', '3', '0'), 4, NO_PIXMAN, true, "BGRA1010102"},
	{SHM('R', 'G', 'B', '8'), FOURCC('R', 'G', 'B', '8'), 1,
		PIXMAN_CODE(8, PIXMAN_ARGB, 0, 3, 3, 2), false, "RGB332"},
	{SHM('B', 'G', 'R', '8'), FOURCC('B', 'G', 'R', '8'), 1,
		PIXMAN_CODE(8, PIXMAN_ABGR, 0, 3, 3, 2), false, "BGR233"},
	{SHM('R', '8', ' ', ' '), FOURCC('R', '8', ' ', ' '), 1, NO_PIXMAN, false, "R8"},
	{SHM('R', '1', '6', ' '), FOURCC('R', '1', '6', ' '), 2, NO_PIXMAN, false, "R16"},
	{SHM('R', 'G', '8', '8'), FOURCC('R', 'G', '8', '8'), 2, NO_PIXMAN, false, "RG88"},
	{SHM('G', 'R', '8', '8'), FOURCC('G', 'R', '8', '8'), 2, NO_PIXMAN, false, "GR88"},
	{SHM('R', 'G', '3', '2'), FOURCC('R', 'G', '3', '2'), 4, NO_PIXMAN, false, "RG1616"},
	{SHM('G', 'R', '3', '2'), FOURCC('G', 'R', '3', '2'), 4, NO_PIXMAN, false, "GR1616"},
	{SHM('X', 'R', '4', '8'), FOURCC('X', 'R', '4', '8'), 8, NO_PIXMAN, false, "XRGB16161616"},
	{SHM('X', 'B', '4', '8'), FOURCC('X', 'B', '4', '8'), 8, NO_PIXMAN, false, "XBGR16161616"},
	{SHM('A', 'R', '4', '8'), FOURCC('A', 'R', '4', '8'), 8, NO_PIXMAN, true, "ARGB16161616"},
	{SHM('A', 'B', '4', '8'), FOURCC('A', 'B', '4', '8'), 8, NO_PIXMAN, true, "ABGR16161616"},
	{SHM('X', 'R', '4', 'H'), FOURCC('X', 'R', '4', 'H'), 8, NO_PIXMAN, false, "XRGB16161616F"},
	{SHM('X', 'B', '4', 'H'), FOURCC('X', 'B', '4', 'H'), 8, NO_PIXMAN, false, "XBGR16161616F"},
	{SHM('A', 'R', '4', 'H'), FOURCC('A', 'R', '4', 'H'), 8, NO_PIXMAN, true, "ARGB16161616F"},
	{SHM('A', 'B', '4', 'H'), FOURCC('A', 'B', '4', 'H'), 8, NO_PIXMAN, true, "ABGR16161616F"},
	{SHM('Y', 'U', 'Y', 'V'), FOURCC('Y', 'U', 'Y', 'V'), 2,
		PIXMAN_CODE(16, PIXMAN_YUY2, 0, 0, 0, 0), false, "YUYV"},
	{SHM('Y', 'V', 'Y', 'U'), FOURCC('Y', 'V', 'Y', 'U'), 2, NO_PIXMAN, false, "YVYU"},
	{SHM('U', 'Y', 'V', 'Y'), FOURCC('U', 'Y', 'V', 'Y'), 2, NO_PIXMAN, false, "UYVY"},
	{SHM('V', 'Y', 'U', 'Y'), FOURCC('V', 'Y', 'U', 'Y'), 2, NO_PIXMAN, false, "VYUY"},
	{SHM('A', 'Y', 'U', 'V'), FOURCC('A', 'Y', 'U', 'V'), 4, NO_PIXMAN, true, "AYUV"},
	{SHM('X', 'Y', 'U', 'V'), FOURCC('X', 'Y', 'U', 'V'), 4, NO_PIXMAN, false, "XYUV8888"},
	{SHM('V', 'U', '2', '4'), FOURCC('V', 'U', '2', '4'), 3, NO_PIXMAN, false, "VUY888"},
};

SHMGUARD_EXPORT const struct shmguard_format_info *
shmguard_format_get_info(uint32_t shm_format)
{
	/* The two formats every client uses first, without a search. */
	if (shm_format <= 1) {
		return &formats[shm_format];
	}
	for (size_t i = 2; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (formats[i].shm_format == shm_format) {
			return &formats[i];
		}
	}
	return NULL;
}

SHMGUARD_EXPORT const struct shmguard_format_info *
shmguard_format_from_drm(uint32_t drm_format)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		if (formats[i].drm_format == drm_format) {
			return &formats[i];
		}
	}
	return NULL;
}

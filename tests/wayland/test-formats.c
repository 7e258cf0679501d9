/*
 * The format table: every entry's wl_shm code, DRM fourcc and bytes per
 * pixel against the installed headers, and its pixman format both against
 * <pixman.h> and against what pixman reads out of a pixel laid out as the
 * DRM format says (one channel at a time).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <wayland-server-protocol.h>

#ifdef HAVE_LIBDRM
#include <drm_fourcc.h>
#endif
#ifdef HAVE_PIXMAN
#include <pixman.h>
#endif

#include <shmguard/wayland.h>

struct expected_format {
	uint32_t shm;
	uint32_t drm;
	uint32_t bpp;
	/* Channels from the most significant bit down, as in the DRM name:
	 * "A8R8G8B8". Empty for formats pixman cannot read. */
	const char *layout;
#ifdef HAVE_PIXMAN
	pixman_format_code_t pixman;
#endif
};

#ifdef HAVE_PIXMAN
#define PIX(x) , x
#else
#define PIX(x)
#endif

#ifdef HAVE_LIBDRM
#define DRM(x) x
#else
#define DRM(x) 0
#endif

static const struct expected_format expected[] = {
	{WL_SHM_FORMAT_ARGB8888, DRM(DRM_FORMAT_ARGB8888), 4, "A8R8G8B8" PIX(PIXMAN_a8r8g8b8)},
	{WL_SHM_FORMAT_XRGB8888, DRM(DRM_FORMAT_XRGB8888), 4, "X8R8G8B8" PIX(PIXMAN_x8r8g8b8)},
	{WL_SHM_FORMAT_XBGR8888, DRM(DRM_FORMAT_XBGR8888), 4, "X8B8G8R8" PIX(PIXMAN_x8b8g8r8)},
	{WL_SHM_FORMAT_ABGR8888, DRM(DRM_FORMAT_ABGR8888), 4, "A8B8G8R8" PIX(PIXMAN_a8b8g8r8)},
	{WL_SHM_FORMAT_RGBX8888, DRM(DRM_FORMAT_RGBX8888), 4, "R8G8B8X8" PIX(PIXMAN_r8g8b8x8)},
	{WL_SHM_FORMAT_RGBA8888, DRM(DRM_FORMAT_RGBA8888), 4, "R8G8B8A8" PIX(PIXMAN_r8g8b8a8)},
	{WL_SHM_FORMAT_BGRX8888, DRM(DRM_FORMAT_BGRX8888), 4, "B8G8R8X8" PIX(PIXMAN_b8g8r8x8)},
	{WL_SHM_FORMAT_BGRA8888, DRM(DRM_FORMAT_BGRA8888), 4, "B8G8R8A8" PIX(PIXMAN_b8g8r8a8)},
	{WL_SHM_FORMAT_RGB888, DRM(DRM_FORMAT_RGB888), 3, "R8G8B8" PIX(PIXMAN_r8g8b8)},
	{WL_SHM_FORMAT_BGR888, DRM(DRM_FORMAT_BGR888), 3, "B8G8R8" PIX(PIXMAN_b8g8r8)},
	{WL_SHM_FORMAT_RGB565, DRM(DRM_FORMAT_RGB565), 2, "R5G6B5" PIX(PIXMAN_r5g6b5)},
	{WL_SHM_FORMAT_BGR565, DRM(DRM_FORMAT_BGR565), 2, "B5G6R5" PIX(PIXMAN_b5g6r5)},
	{WL_SHM_FORMAT_XRGB1555, DRM(DRM_FORMAT_XRGB1555), 2, "X1R5G5B5" PIX(PIXMAN_x1r5g5b5)},
	{WL_SHM_FORMAT_ARGB1555, DRM(DRM_FORMAT_ARGB1555), 2, "A1R5G5B5" PIX(PIXMAN_a1r5g5b5)},
	{WL_SHM_FORMAT_XBGR1555, DRM(DRM_FORMAT_XBGR1555), 2, "X1B5G5R5" PIX(PIXMAN_x1b5g5r5)},
	{WL_SHM_FORMAT_ABGR1555, DRM(DRM_FORMAT_ABGR1555), 2, "A1B5G5R5" PIX(PIXMAN_a1b5g5r5)},
	{WL_SHM_FORMAT_RGBX5551, DRM(DRM_FORMAT_RGBX5551), 2, "" PIX(0)},
	{WL_SHM_FORMAT_RGBA5551, DRM(DRM_FORMAT_RGBA5551), 2, "" PIX(0)},
	{WL_SHM_FORMAT_BGRX5551, DRM(DRM_FORMAT_BGRX5551), 2, "" PIX(0)},
	{WL_SHM_FORMAT_BGRA5551, DRM(DRM_FORMAT_BGRA5551), 2, "" PIX(0)},
	{WL_SHM_FORMAT_XRGB4444, DRM(DRM_FORMAT_XRGB4444), 2, "X4R4G4B4" PIX(PIXMAN_x4r4g4b4)},
	{WL_SHM_FORMAT_ARGB4444, DRM(DRM_FORMAT_ARGB4444), 2, "A4R4G4B4" PIX(PIXMAN_a4r4g4b4)},
	{WL_SHM_FORMAT_XBGR4444, DRM(DRM_FORMAT_XBGR4444), 2, "X4B4G4R4" PIX(PIXMAN_x4b4g4r4)},
	{WL_SHM_FORMAT_ABGR4444, DRM(DRM_FORMAT_ABGR4444), 2, "A4B4G4R4" PIX(PIXMAN_a4b4g4r4)},
	{WL_SHM_FORMAT_RGBX4444, DRM(DRM_FORMAT_RGBX4444), 2, "" PIX(0)},
	{WL_SHM_FORMAT_RGBA4444, DRM(DRM_FORMAT_RGBA4444), 2, "" PIX(0)},
	{WL_SHM_FORMAT_BGRX4444, DRM(DRM_FORMAT_BGRX4444), 2, "" PIX(0)},
	{WL_SHM_FORMAT_BGRA4444, DRM(DRM_FORMAT_BGRA4444), 2, "" PIX(0)},
	{WL_SHM_FORMAT_XRGB2101010, DRM(DRM_FORMAT_XRGB2101010), 4,
		"X2R10G10B10" PIX(PIXMAN_x2r10g10b10)},
	{WL_SHM_FORMAT_ARGB2101010, DRM(DRM_FORMAT_ARGB2101010), 4,
		"A2R10G10B10" PIX(PIXMAN_a2r10g10b10)},
	{WL_SHM_FORMAT_XBGR2101010, DRM(DRM_FORMAT_XBGR2101010), 4,
		"X2B10G10R10" PIX(PIXMAN_x2b10g10r10)},
	{WL_SHM_FORMAT_ABGR2101010, DRM(DRM_FORMAT_ABGR2101010), 4,
		"A2B10G10R10" PIX(PIXMAN_a2b10g10r10)},
	{WL_SHM_FORMAT_RGBX1010102, DRM(DRM_FORMAT_RGBX1010102), 4, "" PIX(0)},
	{WL_SHM_FORMAT_RGBA1010102, DRM(DRM_FORMAT_RGBA1010102), 4, "" PIX(0)},
	{WL_SHM_FORMAT_BGRX1010102, DRM(DRM_FORMAT_BGRX1010102), 4, "" PIX(0)},
	{WL_SHM_FORMAT_BGRA1010102, DRM(DRM_FORMAT_BGRA1010102), 4, "" PIX(0)},
	{WL_SHM_FORMAT_RGB332, DRM(DRM_FORMAT_RGB332), 1, "R3G3B2" PIX(PIXMAN_r3g3b2)},
	{WL_SHM_FORMAT_BGR233, DRM(DRM_FORMAT_BGR233), 1, "B2G3R3" PIX(PIXMAN_b2g3r3)},
	{WL_SHM_FORMAT_R8, DRM(DRM_FORMAT_R8), 1, "" PIX(0)},
	{WL_SHM_FORMAT_R16, DRM(DRM_FORMAT_R16), 2, "" PIX(0)},
	{WL_SHM_FORMAT_RG88, DRM(DRM_FORMAT_RG88), 2, "" PIX(0)},
	{WL_SHM_FORMAT_GR88, DRM(DRM_FORMAT_GR88), 2, "" PIX(0)},
	{WL_SHM_FORMAT_RG1616, DRM(DRM_FORMAT_RG1616), 4, "" PIX(0)},
	{WL_SHM_FORMAT_GR1616, DRM(DRM_FORMAT_GR1616), 4, "" PIX(0)},
	{WL_SHM_FORMAT_XRGB16161616, DRM(DRM_FORMAT_XRGB16161616), 8, "" PIX(0)},
	{WL_SHM_FORMAT_XBGR16161616, DRM(DRM_FORMAT_XBGR16161616), 8, "" PIX(0)},
	{WL_SHM_FORMAT_ARGB16161616, DRM(DRM_FORMAT_ARGB16161616), 8, "" PIX(0)},
	{WL_SHM_FORMAT_ABGR16161616, DRM(DRM_FORMAT_ABGR16161616), 8, "" PIX(0)},
	{WL_SHM_FORMAT_XRGB16161616F, DRM(DRM_FORMAT_XRGB16161616F), 8, "" PIX(0)},
	{WL_SHM_FORMAT_XBGR16161616F, DRM(DRM_FORMAT_XBGR16161616F), 8, "" PIX(0)},
	{WL_SHM_FORMAT_ARGB16161616F, DRM(DRM_FORMAT_ARGB16161616F), 8, "" PIX(0)},
	{WL_SHM_FORMAT_ABGR16161616F, DRM(DRM_FORMAT_ABGR16161616F), 8, "" PIX(0)},
	{WL_SHM_FORMAT_YUYV, DRM(DRM_FORMAT_YUYV), 2, "" PIX(PIXMAN_yuy2)},
	{WL_SHM_FORMAT_YVYU, DRM(DRM_FORMAT_YVYU), 2, "" PIX(0)},
	{WL_SHM_FORMAT_UYVY, DRM(DRM_FORMAT_UYVY), 2, "" PIX(0)},
	{WL_SHM_FORMAT_VYUY, DRM(DRM_FORMAT_VYUY), 2, "" PIX(0)},
	{WL_SHM_FORMAT_AYUV, DRM(DRM_FORMAT_AYUV), 4, "" PIX(0)},
	{WL_SHM_FORMAT_XYUV8888, DRM(DRM_FORMAT_XYUV8888), 4, "" PIX(0)},
	{WL_SHM_FORMAT_VUY888, DRM(DRM_FORMAT_VUY888), 3, "" PIX(0)},
};

static void
test_codes_match_headers(void **state)
{
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		const struct expected_format *want = &expected[i];
		const struct shmguard_format_info *info = shmguard_format_get_info(want->shm);
		if (info == NULL) {
			fail_msg("wl_shm format 0x%08x is missing from the table", want->shm);
		}
		assert_int_equal(info->shm_format, want->shm);
		assert_int_equal(info->bytes_per_pixel, want->bpp);
#ifdef HAVE_LIBDRM
		if (info->drm_format != want->drm) {
			fail_msg("%s: DRM code 0x%08x, drm_fourcc.h says 0x%08x", info->name,
				info->drm_format, want->drm);
		}
		assert_ptr_equal(shmguard_format_from_drm(want->drm), info);
#endif
#ifdef HAVE_PIXMAN
		if (info->pixman_format != (uint32_t)want->pixman) {
			fail_msg("%s: pixman code 0x%08x, pixman.h says 0x%08x", info->name,
				info->pixman_format, (uint32_t)want->pixman);
		}
#endif
		if (want->layout[0] != '\0') {
			assert_int_equal(info->has_alpha, strchr(want->layout, 'A') != NULL);
		}
		/* Their stride rule differs (buffer.c); test-wl-shm-requests
		 * and test-pixman-adapter name each of them. */
		if (want->bpp == 3 && want->shm != WL_SHM_FORMAT_RGB888 &&
			want->shm != WL_SHM_FORMAT_BGR888 && want->shm != WL_SHM_FORMAT_VUY888) {
			fail_msg("%s: a 24-bit format the stride tests do not cover", info->name);
		}
	}
	/* Not in the table: planar, paletted, unknown. */
	assert_null(shmguard_format_get_info(WL_SHM_FORMAT_NV12));
	assert_null(shmguard_format_get_info(WL_SHM_FORMAT_YUV420));
	assert_null(shmguard_format_get_info(WL_SHM_FORMAT_C8));
	assert_null(shmguard_format_get_info(0x12345678));
}

#ifdef HAVE_PIXMAN
/* One channel of a layout: its letter, width and lowest bit. */
struct channel {
	char name;
	unsigned width, shift;
};

static unsigned
parse_layout(const char *layout, struct channel *channels, unsigned *bits)
{
	unsigned count = 0, total = 0;
	for (const char *p = layout; *p != '\0';) {
		channels[count].name = *p++;
		channels[count].width = (unsigned)strtoul(p, (char **)&p, 10);
		total += channels[count].width;
		count++;
	}
	unsigned shift = total;
	for (unsigned i = 0; i < count; i++) {
		shift -= channels[i].width;
		channels[i].shift = shift;
	}
	*bits = total;
	return count;
}

/* What pixman makes of a one-pixel image holding @p pixel. */
static uint32_t
pixman_read(pixman_format_code_t format, uint64_t pixel, unsigned bits)
{
	uint32_t src_bits[2] = {0, 0};
	memcpy(src_bits, &pixel, bits / 8); /* little-endian, as DRM says */
	uint32_t out = 0;
	pixman_image_t *src = pixman_image_create_bits(format, 1, 1, src_bits, 4);
	pixman_image_t *dst = pixman_image_create_bits(PIXMAN_a8r8g8b8, 1, 1, &out, 4);
	assert_non_null(src);
	assert_non_null(dst);
	pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, dst, 0, 0, 0, 0, 0, 0, 1, 1);
	pixman_image_unref(src);
	pixman_image_unref(dst);
	return out;
}

static void
test_pixman_reads_drm_layout(void **state)
{
	for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
		if (expected[i].layout[0] == '\0') {
			continue;
		}
		const struct shmguard_format_info *info = shmguard_format_get_info(expected[i].shm);
		struct channel channels[4];
		unsigned bits;
		unsigned count = parse_layout(expected[i].layout, channels, &bits);
		assert_int_equal(bits, info->bytes_per_pixel * 8);
		for (unsigned c = 0; c < count; c++) {
			if (channels[c].name == 'X') {
				continue;
			}
			uint64_t pixel = ((UINT64_C(1) << channels[c].width) - 1)
				<< channels[c].shift;
			uint32_t argb =
				pixman_read((pixman_format_code_t)info->pixman_format, pixel, bits);
			/* Only this channel is full, in a8r8g8b8; alpha is full
			 * when the format has none. */
			uint32_t want = 0;
			switch (channels[c].name) {
			case 'A':
				want = 0xff000000u;
				break;
			case 'R':
				want = 0x00ff0000u;
				break;
			case 'G':
				want = 0x0000ff00u;
				break;
			case 'B':
				want = 0x000000ffu;
				break;
			}
			if (!info->has_alpha) {
				want |= 0xff000000u;
			}
			if (argb != want) {
				fail_msg("%s: channel %c read by pixman as 0x%08x, want 0x%08x",
					info->name, channels[c].name, argb, want);
			}
		}
	}
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codes_match_headers),
#ifdef HAVE_PIXMAN
		cmocka_unit_test(test_pixman_reads_drm_layout),
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

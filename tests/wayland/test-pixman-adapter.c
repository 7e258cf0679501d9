/*
 * The pixman adapter: a composite out of a client buffer reads its pixels;
 * a composite into it writes them (write-back); a truncation during the
 * composite gives zeros and a fault report instead of a crash; and the
 * buffers pixman cannot take are refused with the documented errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pixman.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include <shmguard/pixman.h>
#include <shmguard/wayland.h>

#include "harness.h"

#define WIDTH 64
#define HEIGHT 64
#define STRIDE (WIDTH * 4)
#define SIZE (STRIDE * HEIGHT)

struct buffer_arg {
	uint32_t format;
	int32_t width, height, stride;
	bool read_only;
	bool truncate_half; /* after the first GO */
	bool check_red; /* after the first GO: the compositor wrote red */
};

static void
client_shares_buffer(struct client_ctx *ctx)
{
	const struct buffer_arg *arg = ctx->arg;
	int fd = client_memfd(SIZE, 21, false);
	CLIENT_CHECK(ctx, fd >= 0);
	int sent = fd;
	if (arg->read_only) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		sent = open(path, O_RDONLY);
		CLIENT_CHECK(ctx, sent >= 0);
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(ctx->shm, sent, SIZE);
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(
		pool, 0, arg->width, arg->height, arg->stride, arg->format);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	uint32_t id = wl_proxy_get_id((struct wl_proxy *)buffer);
	client_send(ctx, CTL_STEP, &id, 1, NULL);
	client_recv(ctx, NULL);
	if (arg->truncate_half) {
		CLIENT_CHECK(ctx, ftruncate(fd, SIZE / 2) == 0);
		client_send(ctx, CTL_STEP, NULL, 0, NULL);
		client_recv(ctx, NULL);
	}
	if (arg->check_red) {
		uint32_t pixels[WIDTH];
		CLIENT_CHECK(ctx, pread(fd, pixels, sizeof(pixels), STRIDE * 5) == sizeof(pixels));
		for (int x = 0; x < WIDTH; x++) {
			CLIENT_CHECK(ctx, pixels[x] == 0xffff0000u);
		}
	}
	client_report(ctx);
}

static struct shmguard_buffer *
spawn_with_buffer(
	struct harness *harness, const struct buffer_arg *arg, struct test_client **client_out)
{
	struct test_client *client = harness_spawn(harness, client_shares_buffer, arg);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	struct shmguard_buffer *buffer = harness_buffer(client, msg.values[0]);
	assert_non_null(buffer);
	*client_out = client;
	return buffer;
}

static void
finish(struct harness *harness, struct test_client *client)
{
	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

/* Composite the buffer into a local image (SRC) and count the pixels that
 * differ from the pattern (rows at and past @p zero_from_row: zero). */
static unsigned
composite_and_compare(struct shmguard_buffer *buffer, int zero_from_row, bool *faulted,
	struct shmguard_fault_report *report)
{
	static uint32_t copy[WIDTH * HEIGHT];
	memset(copy, 0x55, sizeof(copy));
	pixman_image_t *dst =
		pixman_image_create_bits(PIXMAN_a8r8g8b8, WIDTH, HEIGHT, copy, STRIDE);
	pixman_image_t *src = shmguard_pixman_image_begin(buffer, SHMGUARD_ACCESS_READ);
	assert_non_null(src);
	assert_int_equal(pixman_image_get_format(src), PIXMAN_a8r8g8b8);
	pixman_image_composite32(PIXMAN_OP_SRC, src, NULL, dst, 0, 0, 0, 0, 0, 0, WIDTH, HEIGHT);
	*faulted = shmguard_pixman_image_end(buffer, src, report);
	pixman_image_unref(dst);

	unsigned bad = 0;
	const uint8_t *bytes = (const uint8_t *)copy;
	for (size_t i = 0; i < sizeof(copy); i++) {
		uint8_t want = (int)(i / STRIDE) < zero_from_row ? pattern_byte(21, i) : 0;
		bad += bytes[i] != want;
	}
	return bad;
}

static void
test_composite_reads_pixels(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct buffer_arg arg = {
		.format = WL_SHM_FORMAT_ARGB8888,
		.width = WIDTH,
		.height = HEIGHT,
		.stride = STRIDE,
	};
	struct test_client *client;
	struct shmguard_buffer *buffer = spawn_with_buffer(harness, &arg, &client);
	bool faulted;
	assert_int_equal(composite_and_compare(buffer, HEIGHT, &faulted, NULL), 0);
	assert_false(faulted);
	finish(harness, client);
}

static void
test_composite_writes_pixels(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct buffer_arg arg = {WL_SHM_FORMAT_ARGB8888, WIDTH, HEIGHT, STRIDE, .check_red = true};
	struct test_client *client;
	struct shmguard_buffer *buffer = spawn_with_buffer(harness, &arg, &client);
	pixman_image_t *image = shmguard_pixman_image_begin(buffer, SHMGUARD_ACCESS_WRITE);
	assert_non_null(image);
	pixman_color_t red = {0xffff, 0, 0, 0xffff};
	pixman_image_t *fill = pixman_image_create_solid_fill(&red);
	pixman_image_composite32(PIXMAN_OP_SRC, fill, NULL, image, 0, 0, 0, 0, 0, 0, WIDTH, HEIGHT);
	pixman_image_unref(fill);
	assert_false(shmguard_pixman_image_end(buffer, image, NULL));
	finish(harness, client);
}

static void
test_truncation_during_composite(void **state)
{
	struct shmguard_shm_options options = {.fault_policy = SHMGUARD_FAULT_POLICY_ZEROS};
	struct harness *harness = harness_create(&options);
	struct buffer_arg arg = {
		WL_SHM_FORMAT_ARGB8888, WIDTH, HEIGHT, STRIDE, .truncate_half = true};
	struct test_client *client;
	struct shmguard_buffer *buffer = spawn_with_buffer(harness, &arg, &client);
	harness_send(client, CTL_GO, 0);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);

	bool faulted;
	struct shmguard_fault_report report;
	/* The rows in the kept half come through; the rest are zeros. */
	assert_int_equal(composite_and_compare(buffer, HEIGHT / 2, &faulted, &report), 0);
	assert_true(faulted);
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	/* Where pixman first touched the missing part. */
	assert_true(report.offset >= SIZE / 2 && report.offset < SIZE);
	assert_int_equal(report.file_size, SIZE / 2);
	assert_int_equal(harness->fault_count, 1);
	assert_int_equal(harness->faults[0].action, SHMGUARD_FAULT_ACTION_ZEROS);
	finish(harness, client);
}

/* A 24-bit buffer whose rows are padded to 4 bytes (5 pixels in 16
 * bytes, the stride pixman needs) comes through pixel for pixel: pixman
 * reads each row at the stride and skips the padding. */
#define NARROW_WIDTH 5
#define NARROW_HEIGHT 4
#define NARROW_STRIDE 16

static void
expect_24bit_composite(uint32_t format)
{
	const uint32_t extra[] = {WL_SHM_FORMAT_RGB888, WL_SHM_FORMAT_BGR888};
	struct shmguard_shm_options options = {.formats = extra, .formats_len = 2};
	struct harness *harness = harness_create(&options);
	struct buffer_arg arg = {
		.format = format,
		.width = NARROW_WIDTH,
		.height = NARROW_HEIGHT,
		.stride = NARROW_STRIDE,
	};
	struct test_client *client;
	struct shmguard_buffer *buffer = spawn_with_buffer(harness, &arg, &client);

	uint32_t copy[NARROW_WIDTH * NARROW_HEIGHT];
	memset(copy, 0x55, sizeof(copy));
	pixman_image_t *dst = pixman_image_create_bits(
		PIXMAN_a8r8g8b8, NARROW_WIDTH, NARROW_HEIGHT, copy, NARROW_WIDTH * 4);
	pixman_image_t *src = shmguard_pixman_image_begin(buffer, SHMGUARD_ACCESS_READ);
	assert_non_null(src);
	pixman_image_composite32(
		PIXMAN_OP_SRC, src, NULL, dst, 0, 0, 0, 0, 0, 0, NARROW_WIDTH, NARROW_HEIGHT);
	assert_false(shmguard_pixman_image_end(buffer, src, NULL));
	pixman_image_unref(dst);

	unsigned bad = 0;
	for (int y = 0; y < NARROW_HEIGHT; y++) {
		for (int x = 0; x < NARROW_WIDTH; x++) {
			/* DRM's RGB888 is B, G, R in memory; BGR888 is R, G, B. */
			uint64_t at = (uint64_t)y * NARROW_STRIDE + (uint64_t)x * 3;
			uint32_t first = pattern_byte(21, at), green = pattern_byte(21, at + 1),
				 last = pattern_byte(21, at + 2);
			uint32_t red = format == WL_SHM_FORMAT_RGB888 ? last : first;
			uint32_t blue = format == WL_SHM_FORMAT_RGB888 ? first : last;
			uint32_t want = 0xff000000u | red << 16 | green << 8 | blue;
			bad += copy[y * NARROW_WIDTH + x] != want;
		}
	}
	assert_int_equal(bad, 0);
	finish(harness, client);
}

static void
test_rgb888_rows_padded_to_4_bytes(void **state)
{
	expect_24bit_composite(WL_SHM_FORMAT_RGB888);
}

static void
test_bgr888_rows_padded_to_4_bytes(void **state)
{
	expect_24bit_composite(WL_SHM_FORMAT_BGR888);
}

static void
expect_refused(const struct buffer_arg *arg, enum shmguard_access_mode mode, int want_errno)
{
	const uint32_t extra[] = {WL_SHM_FORMAT_RGB565, WL_SHM_FORMAT_RGBA4444,
		WL_SHM_FORMAT_RGB888, WL_SHM_FORMAT_VUY888};
	struct shmguard_shm_options options = {.formats = extra, .formats_len = 4};
	struct harness *harness = harness_create(&options);
	struct test_client *client;
	struct shmguard_buffer *buffer = spawn_with_buffer(harness, arg, &client);
	errno = 0;
	assert_null(shmguard_pixman_image_begin(buffer, mode));
	assert_int_equal(errno, want_errno);
	/* Nothing left open: a plain access still works. */
	void *data;
	assert_int_equal(shmguard_buffer_begin_access(buffer, SHMGUARD_ACCESS_READ, &data), 0);
	assert_false(shmguard_buffer_end_access(buffer, NULL));
	assert_int_equal(harness->fault_count, 0);
	finish(harness, client);
}

static void
test_refuses_unaligned_stride(void **state)
{
	struct buffer_arg arg = {
		.format = WL_SHM_FORMAT_RGB565, .width = 3, .height = 4, .stride = 6};
	expect_refused(&arg, SHMGUARD_ACCESS_READ, EINVAL);
	/* Whole 24-bit pixels, which wl_shm accepts, but rows pixman cannot
	 * take. */
	struct buffer_arg rgb888 = {
		.format = WL_SHM_FORMAT_RGB888, .width = 5, .height = 4, .stride = 15};
	expect_refused(&rgb888, SHMGUARD_ACCESS_READ, EINVAL);
}

static void
test_refuses_format_without_pixman(void **state)
{
	struct buffer_arg arg = {
		.format = WL_SHM_FORMAT_RGBA4444, .width = 8, .height = 8, .stride = 16};
	expect_refused(&arg, SHMGUARD_ACCESS_READ, ENOTSUP);
}

/* The third 24-bit format, with the same 4-byte row padding: pixman has
 * no VUY888. */
static void
test_refuses_vuy888_without_pixman(void **state)
{
	struct buffer_arg arg = {.format = WL_SHM_FORMAT_VUY888,
		.width = NARROW_WIDTH,
		.height = NARROW_HEIGHT,
		.stride = NARROW_STRIDE};
	expect_refused(&arg, SHMGUARD_ACCESS_READ, ENOTSUP);
}

static void
test_refuses_write_on_read_only_fd(void **state)
{
	struct buffer_arg arg = {WL_SHM_FORMAT_ARGB8888, WIDTH, HEIGHT, STRIDE, .read_only = true};
	expect_refused(&arg, SHMGUARD_ACCESS_WRITE, EACCES);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_composite_reads_pixels),
		cmocka_unit_test(test_composite_writes_pixels),
		cmocka_unit_test(test_truncation_during_composite),
		cmocka_unit_test(test_rgb888_rows_padded_to_4_bytes),
		cmocka_unit_test(test_bgr888_rows_padded_to_4_bytes),
		cmocka_unit_test(test_refuses_unaligned_stride),
		cmocka_unit_test(test_refuses_format_without_pixman),
		cmocka_unit_test(test_refuses_vuy888_without_pixman),
		cmocka_unit_test(test_refuses_write_on_read_only_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

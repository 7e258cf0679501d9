/*
 * The wl_shm protocol as a client sees it: the global, its formats, and
 * for every invalid create_pool, resize and create_buffer the exact error
 * code on the exact object. The fd leak check at teardown proves that the
 * fd of create_pool is closed on every path.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include <shmguard/wayland.h>

#include "harness.h"

#define POOL_SIZE 16384 /* 64 x 64 ARGB8888 */

/* ---------------- the global ---------------- */

static void
client_list_formats(struct client_ctx *ctx)
{
	uint32_t values[6] = {ctx->format_count};
	for (unsigned i = 0; i < ctx->format_count && i < 5; i++) {
		values[i + 1] = ctx->formats[i];
	}
	uint32_t version = wl_proxy_get_version((struct wl_proxy *)ctx->shm);
	char text[32];
	snprintf(text, sizeof(text), "%u", version);
	client_send(ctx, CTL_OK, values, 6, text);
}

static void
test_global_advertises_formats(void **state)
{
	const uint32_t extra[] = {
		WL_SHM_FORMAT_RGB565, WL_SHM_FORMAT_XRGB8888, WL_SHM_FORMAT_ABGR8888};
	struct shmguard_shm_options options = {.formats = extra, .formats_len = 3};
	struct harness *harness = harness_create(&options);
	struct test_client *client = harness_spawn(harness, client_list_formats, NULL);
	struct ctl_msg msg;
	harness_expect_ok(client, &msg);
	/* ARGB8888 and XRGB8888 first, then the extras once each. */
	assert_int_equal(msg.values[0], 4);
	assert_int_equal(msg.values[1], WL_SHM_FORMAT_ARGB8888);
	assert_int_equal(msg.values[2], WL_SHM_FORMAT_XRGB8888);
	assert_int_equal(msg.values[3], WL_SHM_FORMAT_RGB565);
	assert_int_equal(msg.values[4], WL_SHM_FORMAT_ABGR8888);
	/* Debian's wayland 1.21 has no wl_shm.release: version 1. */
	assert_string_equal(msg.text, "1");
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
test_global_one_per_display(void **state)
{
	struct harness *harness = harness_create(NULL);
	errno = 0;
	assert_null(shmguard_shm_create(harness->display, NULL));
	assert_int_equal(errno, EEXIST);
	harness_destroy(harness);
}

static void
test_global_refuses_unknown_format(void **state)
{
	unsigned fds = harness_count_fds();
	struct wl_display *display = wl_display_create();
	const uint32_t extra[] = {WL_SHM_FORMAT_NV12};
	struct shmguard_shm_options options = {.formats = extra, .formats_len = 1};
	errno = 0;
	assert_null(shmguard_shm_create(display, &options));
	assert_int_equal(errno, EINVAL);
	/* A failed create leaves the display free for another. */
	struct shmguard_shm *shm = shmguard_shm_create(display, NULL);
	assert_non_null(shm);
	shmguard_shm_destroy(shm);
	wl_display_destroy(display);
	assert_int_equal(harness_count_fds(), fds);
}

static void
test_global_destroyed_after_display(void **state)
{
	unsigned fds = harness_count_fds();
	struct wl_display *display = wl_display_create();
	struct shmguard_shm *shm = shmguard_shm_create(display, NULL);
	assert_non_null(shm);
	wl_display_destroy(display);
	shmguard_shm_destroy(shm);
	assert_int_equal(harness_count_fds(), fds);
}

/* ---------------- create_pool ---------------- */

enum fd_kind {
	FD_MEMFD,
	FD_SHORT_MEMFD,
	FD_PIPE,
	FD_SOCKET,
	FD_DIRECTORY,
	FD_CHAR_DEVICE,
	FD_O_PATH,
	FD_WRITE_ONLY,
	FD_EVENTFD,
};

struct pool_case {
	enum fd_kind fd_kind;
	int32_t size;
};

static int
make_fd(struct client_ctx *ctx, enum fd_kind kind)
{
	int fd = -1, pair[2];
	char path[64];
	switch (kind) {
	case FD_MEMFD:
		fd = client_memfd(POOL_SIZE, 1, false);
		break;
	case FD_SHORT_MEMFD:
		fd = client_memfd(POOL_SIZE / 2, 1, false);
		break;
	case FD_PIPE:
		CLIENT_CHECK(ctx, pipe(pair) == 0);
		close(pair[1]);
		fd = pair[0];
		break;
	case FD_SOCKET:
		CLIENT_CHECK(ctx, socketpair(AF_UNIX, SOCK_STREAM, 0, pair) == 0);
		close(pair[1]);
		fd = pair[0];
		break;
	case FD_DIRECTORY:
		fd = open("/", O_RDONLY | O_DIRECTORY);
		break;
	case FD_CHAR_DEVICE:
		fd = open("/dev/zero", O_RDONLY);
		break;
	case FD_O_PATH:
	case FD_WRITE_ONLY: {
		int memfd = client_memfd(POOL_SIZE, 1, false);
		CLIENT_CHECK(ctx, memfd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
		fd = open(path, kind == FD_O_PATH ? O_PATH : O_WRONLY);
		close(memfd);
		break;
	}
	case FD_EVENTFD:
		fd = eventfd(0, 0);
		break;
	}
	CLIENT_CHECK(ctx, fd >= 0);
	return fd;
}

static void
client_create_pool(struct client_ctx *ctx)
{
	const struct pool_case *c = ctx->arg;
	int fd = make_fd(ctx, c->fd_kind);
	struct wl_shm_pool *pool = wl_shm_create_pool(ctx->shm, fd, c->size);
	close(fd);
	(void)pool;
	client_report_on(ctx, ctx->shm);
}

static void
expect_pool_error(enum fd_kind kind, int32_t size, uint32_t code, const char *text)
{
	struct harness *harness = harness_create(NULL);
	struct pool_case c = {kind, size};
	struct test_client *client = harness_spawn(harness, client_create_pool, &c);
	harness_expect_error(client, "wl_shm", code, text);
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
test_create_pool_valid(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct pool_case c = {FD_MEMFD, POOL_SIZE};
	struct test_client *client = harness_spawn(harness, client_create_pool, &c);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
test_create_pool_size_zero(void **state)
{
	expect_pool_error(FD_MEMFD, 0, WL_SHM_ERROR_INVALID_STRIDE, "invalid pool size 0");
}

static void
test_create_pool_size_negative(void **state)
{
	expect_pool_error(FD_MEMFD, -4096, WL_SHM_ERROR_INVALID_STRIDE, "invalid pool size -4096");
}

static void
test_create_pool_file_too_short(void **state)
{
	expect_pool_error(FD_SHORT_MEMFD, POOL_SIZE, WL_SHM_ERROR_INVALID_FD,
		shmguard_pool_error_to_str(SHMGUARD_POOL_ERROR_FILE_TOO_SHORT));
}

static void
test_create_pool_pipe(void **state)
{
	expect_pool_error(FD_PIPE, POOL_SIZE, WL_SHM_ERROR_INVALID_FD,
		shmguard_pool_error_to_str(SHMGUARD_POOL_ERROR_PIPE));
}

static void
test_create_pool_socket(void **state)
{
	expect_pool_error(FD_SOCKET, POOL_SIZE, WL_SHM_ERROR_INVALID_FD,
		shmguard_pool_error_to_str(SHMGUARD_POOL_ERROR_SOCKET));
}

static void
test_create_pool_directory(void **state)
{
	expect_pool_error(FD_DIRECTORY, POOL_SIZE, WL_SHM_ERROR_INVALID_FD,
		shmguard_pool_error_to_str(SHMGUARD_POOL_ERROR_DIRECTORY));
}

static void
test_create_pool_char_device(void **state)
{
	expect_pool_error(FD_CHAR_DEVICE, POOL_SIZE, WL_SHM_ERROR_INVALID_FD,
		shmguard_pool_error_to_str(SHMGUARD_POOL_ERROR_CHAR_DEVICE));
}

static void
test_create_pool_o_path(void **state)
{
	expect_pool_error(FD_O_PATH, POOL_SIZE, WL_SHM_ERROR_INVALID_FD,
		shmguard_pool_error_to_str(SHMGUARD_POOL_ERROR_O_PATH));
}

static void
test_create_pool_write_only(void **state)
{
	expect_pool_error(FD_WRITE_ONLY, POOL_SIZE, WL_SHM_ERROR_INVALID_FD,
		shmguard_pool_error_to_str(SHMGUARD_POOL_ERROR_NOT_READABLE));
}

static void
test_create_pool_eventfd(void **state)
{
	expect_pool_error(FD_EVENTFD, POOL_SIZE, WL_SHM_ERROR_INVALID_FD,
		shmguard_pool_error_to_str(SHMGUARD_POOL_ERROR_NOT_REGULAR));
}

/* ---------------- resize ---------------- */

struct resize_case {
	int32_t new_size;
	off_t file_size; /* the client grows its file to this first */
};

static void
client_resize(struct client_ctx *ctx)
{
	const struct resize_case *c = ctx->arg;
	int fd = client_memfd(POOL_SIZE, 2, false);
	CLIENT_CHECK(ctx, fd >= 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(ctx->shm, fd, POOL_SIZE);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	CLIENT_CHECK(ctx, ftruncate(fd, c->file_size) == 0);
	wl_shm_pool_resize(pool, c->new_size);
	if (!client_roundtrip(ctx)) {
		/* The error went to the pool; say so and stop. */
		return;
	}
	/* A buffer that needs the new size proves it is in effect. */
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(
		pool, c->new_size - 256, 64, 1, 256, WL_SHM_FORMAT_ARGB8888);
	(void)buffer;
	client_report_on(ctx, pool);
	close(fd);
}

static void
client_resize_on_pool(struct client_ctx *ctx)
{
	const struct resize_case *c = ctx->arg;
	int fd = client_memfd(POOL_SIZE, 2, false);
	CLIENT_CHECK(ctx, fd >= 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(ctx->shm, fd, POOL_SIZE);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	CLIENT_CHECK(ctx, ftruncate(fd, c->file_size) == 0);
	wl_shm_pool_resize(pool, c->new_size);
	client_report_on(ctx, pool);
	close(fd);
}

static void
test_resize_grow(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct resize_case c = {2 * POOL_SIZE, 2 * POOL_SIZE};
	struct test_client *client = harness_spawn(harness, client_resize, &c);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
test_resize_same_size(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct resize_case c = {POOL_SIZE, POOL_SIZE};
	struct test_client *client = harness_spawn(harness, client_resize, &c);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
expect_resize_error(int32_t new_size, off_t file_size, uint32_t code, const char *text)
{
	struct harness *harness = harness_create(NULL);
	struct resize_case c = {new_size, file_size};
	struct test_client *client = harness_spawn(harness, client_resize_on_pool, &c);
	harness_expect_error(client, "wl_shm_pool", code, text);
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
test_resize_shrink(void **state)
{
	expect_resize_error(
		POOL_SIZE / 2, POOL_SIZE, WL_SHM_ERROR_INVALID_FD, "shrinking pool invalid");
}

static void
test_resize_negative(void **state)
{
	expect_resize_error(-1, POOL_SIZE, WL_SHM_ERROR_INVALID_FD, "shrinking pool invalid");
}

static void
test_resize_past_end_of_file(void **state)
{
	expect_resize_error(2 * POOL_SIZE, POOL_SIZE, WL_SHM_ERROR_INVALID_FD,
		"resize past the end of the file");
}

/* ---------------- create_buffer ---------------- */

struct buffer_case {
	int32_t offset, width, height, stride;
	uint32_t format;
};

static void
client_create_buffer(struct client_ctx *ctx)
{
	const struct buffer_case *c = ctx->arg;
	int fd = client_memfd(POOL_SIZE, 3, false);
	CLIENT_CHECK(ctx, fd >= 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(ctx->shm, fd, POOL_SIZE);
	close(fd);
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(
		pool, c->offset, c->width, c->height, c->stride, c->format);
	(void)buffer;
	client_report_on(ctx, pool);
}

/* Every 24-bit format of the table (test-formats checks that there are no
 * others), each with a test below. */
static const uint32_t formats_24bit[] = {
	WL_SHM_FORMAT_RGB888,
	WL_SHM_FORMAT_BGR888,
	WL_SHM_FORMAT_VUY888,
};

#define FORMATS_24BIT (sizeof(formats_24bit) / sizeof(formats_24bit[0]))

/* The 24-bit formats and an 8-byte one, advertised besides the two base
 * formats. */
static struct harness *
harness_with_extra_formats(void)
{
	uint32_t extra[FORMATS_24BIT + 1] = {WL_SHM_FORMAT_XRGB16161616};
	memcpy(&extra[1], formats_24bit, sizeof(formats_24bit));
	struct shmguard_shm_options options = {.formats = extra, .formats_len = FORMATS_24BIT + 1};
	return harness_create(&options);
}

static void
expect_buffer_ok(int32_t offset, int32_t width, int32_t height, int32_t stride, uint32_t format)
{
	struct harness *harness = harness_with_extra_formats();
	struct buffer_case c = {offset, width, height, stride, format};
	struct test_client *client = harness_spawn(harness, client_create_buffer, &c);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
expect_buffer_error(int32_t offset, int32_t width, int32_t height, int32_t stride, uint32_t format,
	uint32_t code)
{
	struct harness *harness = harness_with_extra_formats();
	struct buffer_case c = {offset, width, height, stride, format};
	struct test_client *client = harness_spawn(harness, client_create_buffer, &c);
	harness_expect_error(client, "wl_shm_pool", code, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
test_buffer_valid(void **state)
{
	expect_buffer_ok(0, 64, 64, 256, WL_SHM_FORMAT_ARGB8888);
	expect_buffer_ok(0, 64, 64, 256, WL_SHM_FORMAT_XRGB8888);
	expect_buffer_ok(0, 3, 2, 9, WL_SHM_FORMAT_RGB888);
}

static void
test_buffer_last_row_needs_no_full_stride(void **state)
{
	/* offset + stride x (height - 1) + width x 4 == POOL_SIZE exactly,
	 * though offset + stride x height is past it (libwayland refuses). */
	expect_buffer_ok(128, 32, 64, 256, WL_SHM_FORMAT_ARGB8888);
}

static void
test_buffer_unknown_format(void **state)
{
	expect_buffer_error(0, 64, 64, 256, 0x12345678, WL_SHM_ERROR_INVALID_FORMAT);
}

static void
test_buffer_format_not_advertised(void **state)
{
	/* In the table, but this global did not list it. */
	expect_buffer_error(0, 64, 64, 256, WL_SHM_FORMAT_XBGR8888, WL_SHM_ERROR_INVALID_FORMAT);
}

static void
test_buffer_negative_offset(void **state)
{
	expect_buffer_error(-4, 16, 16, 64, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
}

static void
test_buffer_bad_width_height(void **state)
{
	expect_buffer_error(0, 0, 16, 64, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(0, 16, 0, 64, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(0, -16, 16, 64, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(0, 16, -16, 64, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
}

static void
test_buffer_stride_not_multiple_of_bpp(void **state)
{
	expect_buffer_error(0, 10, 10, 41, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(0, 10, 10, 42, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	/* 4-aligned is not enough for an 8-byte pixel. */
	expect_buffer_error(0, 10, 10, 84, WL_SHM_FORMAT_XRGB16161616, WL_SHM_ERROR_INVALID_STRIDE);
}

/* A 24-bit row is commonly padded to 4 bytes (pixman needs it; GL's
 * default row alignment), and libwayland accepts that: 5 pixels in 16
 * bytes, 7 in 24. Whole pixels too (15, 21). A stride that is neither
 * (17, 22) fits no renderer's row description; one short of a row (14,
 * 20) never fits. */
static void
expect_24bit_strides(uint32_t format)
{
	expect_buffer_ok(0, 5, 4, 16, format);
	expect_buffer_ok(0, 7, 4, 24, format);
	expect_buffer_ok(0, 5, 4, 15, format);
	expect_buffer_ok(0, 7, 4, 21, format);
	expect_buffer_error(0, 5, 4, 17, format, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(0, 7, 4, 22, format, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(0, 5, 4, 14, format, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(0, 7, 4, 20, format, WL_SHM_ERROR_INVALID_STRIDE);
}

static void
test_buffer_rgb888_strides(void **state)
{
	expect_24bit_strides(WL_SHM_FORMAT_RGB888);
}

static void
test_buffer_bgr888_strides(void **state)
{
	expect_24bit_strides(WL_SHM_FORMAT_BGR888);
}

static void
test_buffer_vuy888_strides(void **state)
{
	expect_24bit_strides(WL_SHM_FORMAT_VUY888);
}

static void
test_buffer_stride_shorter_than_row(void **state)
{
	expect_buffer_error(0, 10, 10, 36, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(0, 10, 10, -40, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(0, 10, 10, 0, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
}

static void
test_buffer_last_row_past_pool(void **state)
{
	/* One byte past the end. */
	expect_buffer_error(1, 64, 64, 256, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(132, 32, 64, 256, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(
		POOL_SIZE, 1, 1, 4, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
}

static void
test_buffer_overflowing_values(void **state)
{
	/* Products that overflow 32 bits must not wrap into a valid size. */
	expect_buffer_error(
		0, 1, INT32_MAX, 0x7ffffffc, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(
		0, 0x20000000, 2, 0x7ffffffc, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(
		INT32_MAX, 1, 1, 4, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
	expect_buffer_error(
		0, INT32_MAX, 1, 0x7ffffffc, WL_SHM_FORMAT_ARGB8888, WL_SHM_ERROR_INVALID_STRIDE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_global_advertises_formats),
		cmocka_unit_test(test_global_one_per_display),
		cmocka_unit_test(test_global_refuses_unknown_format),
		cmocka_unit_test(test_global_destroyed_after_display),
		cmocka_unit_test(test_create_pool_valid),
		cmocka_unit_test(test_create_pool_size_zero),
		cmocka_unit_test(test_create_pool_size_negative),
		cmocka_unit_test(test_create_pool_file_too_short),
		cmocka_unit_test(test_create_pool_pipe),
		cmocka_unit_test(test_create_pool_socket),
		cmocka_unit_test(test_create_pool_directory),
		cmocka_unit_test(test_create_pool_char_device),
		cmocka_unit_test(test_create_pool_o_path),
		cmocka_unit_test(test_create_pool_write_only),
		cmocka_unit_test(test_create_pool_eventfd),
		cmocka_unit_test(test_resize_grow),
		cmocka_unit_test(test_resize_same_size),
		cmocka_unit_test(test_resize_shrink),
		cmocka_unit_test(test_resize_negative),
		cmocka_unit_test(test_resize_past_end_of_file),
		cmocka_unit_test(test_buffer_valid),
		cmocka_unit_test(test_buffer_last_row_needs_no_full_stride),
		cmocka_unit_test(test_buffer_unknown_format),
		cmocka_unit_test(test_buffer_format_not_advertised),
		cmocka_unit_test(test_buffer_negative_offset),
		cmocka_unit_test(test_buffer_bad_width_height),
		cmocka_unit_test(test_buffer_stride_not_multiple_of_bpp),
		cmocka_unit_test(test_buffer_rgb888_strides),
		cmocka_unit_test(test_buffer_bgr888_strides),
		cmocka_unit_test(test_buffer_vuy888_strides),
		cmocka_unit_test(test_buffer_stride_shorter_than_row),
		cmocka_unit_test(test_buffer_last_row_past_pool),
		cmocka_unit_test(test_buffer_overflowing_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

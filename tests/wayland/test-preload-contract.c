/*
 * libwayland's wl_shm API as libshmguard-preload keeps it, in process: the
 * test calls libwayland-server's functions (wl_display_init_shm(),
 * wl_shm_buffer_*) exactly as a compositor does, and meson runs it with
 * LD_PRELOAD=libshmguard-preload.so, so every call reaches the preload.
 * Each case is one clause of libwayland's contract, or one of the
 * behaviours the preload changes underneath it.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include <shmguard/shmguard.h>

#include "harness.h"

#define WIDTH 64
#define HEIGHT 64
#define STRIDE (WIDTH * 4)
#define SIZE (STRIDE * HEIGHT) /* 16 KiB: four pages */

/* How the client opens its pool file. */
enum pool_kind {
	POOL_WRITABLE,
	POOL_READ_ONLY_FD,
	POOL_WRITE_SEALED,
};

static struct harness *
preload_harness(void)
{
	struct harness *harness = harness_create_without_shm();
	assert_int_equal(wl_display_init_shm(harness->display), 0);
	return harness;
}

static void
preload_harness_destroy(struct harness *harness)
{
	/* The preload's global goes with the display, as libwayland's. */
	harness_destroy(harness);
}

/* ---------------- the client side ---------------- */

static int
client_open_pool_file(enum pool_kind kind, uint32_t seed)
{
	int fd = client_memfd(SIZE, seed, true);
	if (fd < 0) {
		return -1;
	}
	if (kind == POOL_WRITE_SEALED) {
		if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0) {
			return -1;
		}
	} else if (kind == POOL_READ_ONLY_FD) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		int read_only = open(path, O_RDONLY | O_CLOEXEC);
		close(fd);
		fd = read_only;
	}
	return fd;
}

/* A pool of SIZE bytes of pattern @p seed and a 64x64 ARGB8888 buffer over
 * it; the test learns the buffer's id. */
static struct client_pool
client_make_pool(struct client_ctx *ctx, enum pool_kind kind, uint32_t seed)
{
	return client_pool_make(ctx, client_open_pool_file(kind, seed), SIZE, WIDTH, HEIGHT, STRIDE,
		WL_SHM_FORMAT_ARGB8888);
}

/* Count the bytes of the client's file that are not pattern @p seed. */
static unsigned
client_count_changed(int fd, uint32_t seed)
{
	uint8_t bytes[SIZE];
	unsigned changed = 0;
	if (pread(fd, bytes, sizeof(bytes), 0) != (ssize_t)sizeof(bytes)) {
		return SIZE;
	}
	for (uint64_t i = 0; i < SIZE; i++) {
		changed += bytes[i] != pattern_byte(seed, i);
	}
	return changed;
}

/* ---------------- the compositor side ---------------- */

/* Bytes of @p buffer's pixels, read through @p data in an access window as
 * a compositor does, that are not pattern @p seed. */
static unsigned
count_not_pattern(struct wl_shm_buffer *buffer, const uint8_t *data, uint32_t seed)
{
	unsigned bad = 0;
	wl_shm_buffer_begin_access(buffer);
	for (uint64_t i = 0; i < SIZE; i++) {
		bad += ((const volatile uint8_t *)data)[i] != pattern_byte(seed, i);
	}
	wl_shm_buffer_end_access(buffer);
	return bad;
}

/* ---------------- cases ---------------- */

static void
test_calls_reach_the_preload(void **state)
{
	Dl_info info;
	void *resolved = dlsym(RTLD_DEFAULT, "wl_shm_buffer_get");
	assert_non_null(resolved);
	assert_int_not_equal(dladdr(resolved, &info), 0);
	if (strstr(info.dli_fname, "libshmguard-preload") == NULL) {
		fail_msg("wl_shm_buffer_get resolves to %s: run with LD_PRELOAD", info.dli_fname);
	}
}

static void
client_shows_then_checks_file(struct client_ctx *ctx)
{
	enum pool_kind kind = *(const enum pool_kind *)ctx->arg;
	struct client_pool made = client_make_pool(ctx, kind, 7);
	client_recv(ctx, NULL);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	uint32_t changed = client_count_changed(made.fd, 7);
	client_send(ctx, CTL_STEP, &changed, 1, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

/* Shown, and a compositor write through wl_shm_buffer_get_data() (screen
 * capture) cannot fault: it reaches a writable client's file, and stays
 * in the compositor's private copy for a client that shared its file
 * read-only. Returns how many bytes of the client's file changed. */
static uint32_t
show_then_write(enum pool_kind kind)
{
	struct harness *harness = preload_harness();
	struct test_client *client = harness_spawn(harness, client_shows_then_checks_file, &kind);
	struct wl_shm_buffer *buffer = harness_recv_shm_buffer(client);
	uint8_t *data = wl_shm_buffer_get_data(buffer);
	assert_non_null(data);
	assert_int_equal(wl_shm_buffer_get_width(buffer), WIDTH);
	assert_int_equal(wl_shm_buffer_get_height(buffer), HEIGHT);
	assert_int_equal(wl_shm_buffer_get_stride(buffer), STRIDE);
	assert_int_equal(wl_shm_buffer_get_format(buffer), WL_SHM_FORMAT_ARGB8888);
	assert_int_equal(count_not_pattern(buffer, data, 7), 0);

	wl_shm_buffer_begin_access(buffer);
	memset(data, 0xab, 100);
	wl_shm_buffer_end_access(buffer);

	harness_send(client, CTL_GO, 0);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	preload_harness_destroy(harness);
	return msg.values[0];
}

static void
test_writable_pool_takes_compositor_writes(void **state)
{
	assert_int_equal(show_then_write(POOL_WRITABLE), 100);
}

/* libwayland maps every pool PROT_WRITE and refuses such a file with
 * invalid_fd. */
static void
test_read_only_fd_shown_writes_stay_private(void **state)
{
	assert_int_equal(show_then_write(POOL_READ_ONLY_FD), 0);
}

static void
test_write_sealed_memfd_shown_writes_stay_private(void **state)
{
	assert_int_equal(show_then_write(POOL_WRITE_SEALED), 0);
}

static void
client_truncates(struct client_ctx *ctx)
{
	struct client_pool made = client_make_pool(ctx, POOL_WRITABLE, 3);
	client_recv(ctx, NULL);
	CLIENT_CHECK(ctx, ftruncate(made.fd, 0) == 0);
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	client_report_on(ctx, made.buffer);
}

static void
client_healthy(struct client_ctx *ctx)
{
	client_make_pool(ctx, POOL_WRITABLE, 4);
	client_recv(ctx, NULL);
	client_report(ctx);
}

/* libwayland's contract at end_access: a client that truncated its file
 * gets wl_shm error invalid_fd on the wl_buffer; the read saw zeros; other
 * clients are untouched. */
static void
test_truncation_posts_invalid_fd_at_end_access(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *bad = harness_spawn(harness, client_truncates, NULL);
	struct test_client *good = harness_spawn(harness, client_healthy, NULL);
	struct wl_shm_buffer *bad_buffer = harness_recv_shm_buffer(bad);
	struct wl_shm_buffer *good_buffer = harness_recv_shm_buffer(good);
	uint8_t *bad_data = wl_shm_buffer_get_data(bad_buffer);

	harness_send(bad, CTL_GO, 0);
	struct ctl_msg msg;
	harness_recv(bad, &msg);
	unsigned nonzero = 0;
	wl_shm_buffer_begin_access(bad_buffer);
	for (size_t i = 0; i < SIZE; i++) {
		nonzero += ((volatile uint8_t *)bad_data)[i] != 0;
	}
	wl_shm_buffer_end_access(bad_buffer);
	assert_int_equal(nonzero, 0);

	harness_send(bad, CTL_GO, 0);
	harness_expect_error(
		bad, "wl_buffer", WL_SHM_ERROR_INVALID_FD, "client truncated its pool");
	harness_wait_exit(bad);

	assert_int_equal(count_not_pattern(good_buffer, wl_shm_buffer_get_data(good_buffer), 4), 0);
	harness_send(good, CTL_GO, 0);
	harness_expect_ok(good, NULL);
	harness_wait_exit(good);
	preload_harness_destroy(harness);
}

static void
client_grows_pool(struct client_ctx *ctx)
{
	struct client_pool made = client_make_pool(ctx, POOL_WRITABLE, 5);
	client_recv(ctx, NULL);
	/* Grow the file and the pool to 64 times its size, and use the new
	 * room, so the compositor maps afresh. */
	CLIENT_CHECK(ctx, ftruncate(made.fd, SIZE * 64) == 0);
	wl_shm_pool_resize(made.pool, SIZE * 64);
	struct wl_buffer *second = wl_shm_pool_create_buffer(
		made.pool, SIZE * 32, WIDTH, HEIGHT, STRIDE, WL_SHM_FORMAT_XRGB8888);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	uint32_t id = wl_proxy_get_id((struct wl_proxy *)second);
	client_send(ctx, CTL_STEP, &id, 1, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

/* A compositor keeps wl_shm_buffer_get_data()'s pointer from attach to
 * repaint (weston's pixman renderer does); a resize in between must not
 * take it away. libwayland moves the mapping with mremap. */
static void
test_data_pointer_survives_resize(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *client = harness_spawn(harness, client_grows_pool, NULL);
	struct wl_shm_buffer *first = harness_recv_shm_buffer(client);
	uint8_t *kept = wl_shm_buffer_get_data(first);

	harness_send(client, CTL_GO, 0);
	struct wl_shm_buffer *second = harness_recv_shm_buffer(client);
	assert_non_null(wl_shm_buffer_get_data(second));
	/* Still mapped, still the client's bytes, through the old pointer. */
	assert_ptr_equal(wl_shm_buffer_get_data(first), kept);
	assert_int_equal(count_not_pattern(first, kept, 5), 0);

	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	preload_harness_destroy(harness);
}

/* libwayland allows accesses to one pool per thread at a time (it asserts
 * otherwise); the preload nests accesses to several. */
static void
test_accesses_to_two_pools_nest(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *a = harness_spawn(harness, client_healthy, NULL);
	struct test_client *b = harness_spawn(harness, client_healthy, NULL);
	struct wl_shm_buffer *buffer_a = harness_recv_shm_buffer(a);
	struct wl_shm_buffer *buffer_b = harness_recv_shm_buffer(b);
	wl_shm_buffer_begin_access(buffer_a);
	wl_shm_buffer_begin_access(buffer_b);
	assert_int_equal(count_not_pattern(buffer_b, wl_shm_buffer_get_data(buffer_b), 4), 0);
	assert_int_equal(count_not_pattern(buffer_a, wl_shm_buffer_get_data(buffer_a), 4), 0);
	wl_shm_buffer_end_access(buffer_b);
	wl_shm_buffer_end_access(buffer_a);
	for (struct test_client *c = a; c != NULL; c = c == a ? b : NULL) {
		harness_send(c, CTL_GO, 0);
		harness_expect_ok(c, NULL);
		harness_wait_exit(c);
	}
	preload_harness_destroy(harness);
}

static void
client_destroys_then_truncates(struct client_ctx *ctx)
{
	struct client_pool made = client_make_pool(ctx, POOL_WRITABLE, 6);
	client_recv(ctx, NULL);
	wl_buffer_destroy(made.buffer);
	wl_shm_pool_destroy(made.pool);
	CLIENT_CHECK(ctx, ftruncate(made.fd, 0) == 0);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

/* wlroots 0.15 takes wl_shm_buffer_ref_pool() when the client destroys the
 * wl_buffer and then reads the saved data pointer with no access window,
 * for as long as the surface shows it: with libwayland a truncated file
 * kills the compositor there. The hold guards it: zeros, and the error at
 * once (on wl_shm: the wl_buffer and the pool are gone), while the hold
 * lasts. */
static void
test_pool_reference_outlives_buffer_guarded(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *client = harness_spawn(harness, client_destroys_then_truncates, NULL);
	struct wl_shm_buffer *buffer = harness_recv_shm_buffer(client);
	struct wl_shm_pool *pool = wl_shm_buffer_ref_pool(buffer);
	assert_non_null(pool);
	/* References count: a second one on the buffer is the same handle,
	 * and each unref drops one. */
	assert_ptr_equal(wl_shm_buffer_ref_pool(buffer), pool);
	wl_shm_pool_unref(pool);
	const volatile uint8_t *saved = wl_shm_buffer_get_data(buffer);

	harness_send(client, CTL_GO, 0);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	unsigned nonzero = 0;
	for (size_t i = 0; i < SIZE; i++) {
		nonzero += saved[i] != 0;
	}
	assert_int_equal(nonzero, 0);

	harness_send(client, CTL_GO, 0);
	harness_expect_error(client, "wl_shm", WL_SHM_ERROR_INVALID_FD, "truncated");
	harness_wait_exit(client);
	wl_shm_pool_unref(pool);
	preload_harness_destroy(harness);
}

#define HELD_POOLS 48

static void
client_many_pools_destroyed(struct client_ctx *ctx)
{
	struct client_pool made[HELD_POOLS];
	for (unsigned i = 0; i < HELD_POOLS; i++) {
		made[i] = client_make_pool(ctx, POOL_WRITABLE, 9);
	}
	client_recv(ctx, NULL);
	for (unsigned i = 0; i < HELD_POOLS; i++) {
		wl_buffer_destroy(made[i].buffer);
		wl_shm_pool_destroy(made[i].pool);
		CLIENT_CHECK(ctx, ftruncate(made[i].fd, 0) == 0);
	}
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

/* Holds take no window slot: many at once on one thread are all guarded
 * (the 32 window slots of a thread once bounded them). */
static void
test_many_pool_references_all_guarded(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *client = harness_spawn(harness, client_many_pools_destroyed, NULL);
	struct wl_shm_pool *pools[HELD_POOLS];
	const volatile uint8_t *saved[HELD_POOLS];
	for (unsigned i = 0; i < HELD_POOLS; i++) {
		struct wl_shm_buffer *buffer = harness_recv_shm_buffer(client);
		pools[i] = wl_shm_buffer_ref_pool(buffer);
		saved[i] = wl_shm_buffer_get_data(buffer);
	}
	harness_send(client, CTL_GO, 0);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	unsigned nonzero = 0;
	for (unsigned i = 0; i < HELD_POOLS; i++) {
		for (size_t at = 0; at < SIZE; at += 1024) {
			nonzero += saved[i][at] != 0;
		}
	}
	assert_int_equal(nonzero, 0);
	harness_send(client, CTL_GO, 0);
	harness_expect_error(client, "wl_shm", WL_SHM_ERROR_INVALID_FD, "truncated");
	harness_wait_exit(client);
	for (unsigned i = 0; i < HELD_POOLS; i++) {
		wl_shm_pool_unref(pools[i]);
	}
	preload_harness_destroy(harness);
}

static void
client_idles(struct client_ctx *ctx)
{
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

/* wl_shm_buffer_create() is deprecated, and libwayland 1.21's always
 * returns NULL: a compositor that calls it takes its fallback, as with
 * libwayland. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static void
test_buffer_create_returns_null_as_libwayland(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *client = harness_spawn(harness, client_idles, NULL);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_null(wl_shm_buffer_create(client->client, 0, 16, 16, 64, WL_SHM_FORMAT_XRGB8888));
	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	preload_harness_destroy(harness);
}
#pragma GCC diagnostic pop

static void
client_lists_formats(struct client_ctx *ctx)
{
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	client_send(
		ctx, CTL_STEP, ctx->formats, ctx->format_count < 6 ? ctx->format_count : 6, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

static bool
has_format(const struct ctl_msg *msg, unsigned count, uint32_t format)
{
	for (unsigned i = 0; i < count && i < 6; i++) {
		if (msg->values[i] == format) {
			return true;
		}
	}
	return false;
}

/* Formats added before and after wl_display_init_shm() are advertised; one
 * without a known size per pixel is refused (NULL) rather than served
 * with unchecked strides. */
static void
test_added_formats_advertised(void **state)
{
	struct harness *harness = harness_create_without_shm();
	assert_non_null(wl_display_add_shm_format(harness->display, WL_SHM_FORMAT_RGB565));
	assert_int_equal(wl_display_init_shm(harness->display), 0);
	assert_non_null(wl_display_add_shm_format(harness->display, WL_SHM_FORMAT_ABGR8888));
	assert_null(wl_display_add_shm_format(harness->display, 0x20202020));

	struct test_client *client = harness_spawn(harness, client_lists_formats, NULL);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_true(has_format(&msg, 6, WL_SHM_FORMAT_ARGB8888));
	assert_true(has_format(&msg, 6, WL_SHM_FORMAT_XRGB8888));
	assert_true(has_format(&msg, 6, WL_SHM_FORMAT_RGB565));
	assert_true(has_format(&msg, 6, WL_SHM_FORMAT_ABGR8888));
	assert_false(has_format(&msg, 6, 0x20202020));
	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	preload_harness_destroy(harness);
}

/* Serve @p harness until its client lists the formats it was sent. */
static struct ctl_msg
formats_seen(struct harness *harness)
{
	struct test_client *client = harness_spawn(harness, client_lists_formats, NULL);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	return msg;
}

/* libwayland keeps added formats on the display: two displays in one
 * process advertise each its own, whether added before or after
 * wl_display_init_shm(). (Each harness checks its fds at the end, so the
 * second display lives inside the first's steps.) */
static void
test_added_formats_per_display(void **state)
{
	struct harness *first = harness_create_without_shm();
	assert_non_null(wl_display_add_shm_format(first->display, WL_SHM_FORMAT_RGB565));
	assert_int_equal(wl_display_init_shm(first->display), 0);

	struct harness *second = harness_create_without_shm();
	assert_non_null(wl_display_add_shm_format(second->display, WL_SHM_FORMAT_BGR565));
	assert_int_equal(wl_display_init_shm(second->display), 0);
	assert_non_null(wl_display_add_shm_format(second->display, WL_SHM_FORMAT_ABGR8888));
	/* A display that never gets a wl_shm global keeps its formats until
	 * it goes (ASan's leak check sees them freed). */
	struct wl_display *unused = wl_display_create();
	assert_non_null(unused);
	assert_non_null(wl_display_add_shm_format(unused, WL_SHM_FORMAT_RGB888));
	wl_display_destroy(unused);
	struct ctl_msg msg = formats_seen(second);
	assert_true(has_format(&msg, 6, WL_SHM_FORMAT_BGR565));
	assert_true(has_format(&msg, 6, WL_SHM_FORMAT_ABGR8888));
	assert_false(has_format(&msg, 6, WL_SHM_FORMAT_RGB565));
	assert_false(has_format(&msg, 6, WL_SHM_FORMAT_RGB888));
	preload_harness_destroy(second);

	assert_non_null(wl_display_add_shm_format(first->display, WL_SHM_FORMAT_XBGR8888));
	msg = formats_seen(first);
	assert_true(has_format(&msg, 6, WL_SHM_FORMAT_RGB565));
	assert_true(has_format(&msg, 6, WL_SHM_FORMAT_XBGR8888));
	assert_false(has_format(&msg, 6, WL_SHM_FORMAT_BGR565));
	assert_false(has_format(&msg, 6, WL_SHM_FORMAT_ABGR8888));
	assert_false(has_format(&msg, 6, WL_SHM_FORMAT_RGB888));
	preload_harness_destroy(first);
}

static void
client_short_stride(struct client_ctx *ctx)
{
	int fd = client_open_pool_file(POOL_WRITABLE, 8);
	CLIENT_CHECK(ctx, fd >= 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(ctx->shm, fd, SIZE);
	/* 64 RGB565 pixels need 128 bytes a row; libwayland only checks
	 * stride >= width. */
	wl_shm_pool_create_buffer(pool, 0, WIDTH, HEIGHT, WIDTH, WL_SHM_FORMAT_RGB565);
	client_report_on(ctx, pool);
}

/* The stride is checked against the format's bytes per pixel. */
static void
test_stride_checked_against_format(void **state)
{
	struct harness *harness = harness_create_without_shm();
	assert_int_equal(wl_display_init_shm(harness->display), 0);
	assert_non_null(wl_display_add_shm_format(harness->display, WL_SHM_FORMAT_RGB565));
	struct test_client *client = harness_spawn(harness, client_short_stride, NULL);
	harness_expect_error(
		client, "wl_shm_pool", WL_SHM_ERROR_INVALID_STRIDE, "shorter than a row");
	harness_wait_exit(client);
	preload_harness_destroy(harness);
}

/* A pool of the file at the path the test gives; report. */
static void
client_pool_of_path(struct client_ctx *ctx)
{
	const char *path = ctx->arg;
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	CLIENT_CHECK(ctx, fd >= 0);
	wl_shm_create_pool(ctx->shm, fd, SIZE);
	close(fd);
	client_report_on(ctx, ctx->shm);
}

/* With SHMGUARD_FILE_POLICY set to @p setting (NULL: unset), a pool of
 * @p path gets invalid_fd with a message containing @p text. */
static void
expect_file_policy(const char *setting, const char *path, const char *text)
{
	if (setting != NULL) {
		setenv("SHMGUARD_FILE_POLICY", setting, 1);
	} else {
		unsetenv("SHMGUARD_FILE_POLICY");
	}
	struct harness *harness = preload_harness();
	unsetenv("SHMGUARD_FILE_POLICY");
	struct test_client *client = harness_spawn(harness, client_pool_of_path, path);
	harness_expect_error(client, "wl_shm", WL_SHM_ERROR_INVALID_FD, text);
	harness_wait_exit(client);
	preload_harness_destroy(harness);
}

static void
client_last_row_padding_past_pool(struct client_ctx *ctx)
{
	int fd = client_open_pool_file(POOL_WRITABLE, 8);
	CLIENT_CHECK(ctx, fd >= 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(ctx->shm, fd, SIZE);
	/* 32 pixels a row, rows 256 bytes apart, from byte 128: the last
	 * row's pixels end at the pool's last byte, its padding would not. */
	wl_shm_pool_create_buffer(pool, 128, WIDTH / 2, HEIGHT, STRIDE, WL_SHM_FORMAT_ARGB8888);
	client_report_on(ctx, pool);
}

/* libwayland checks offset + stride x height <= pool size, and its
 * compositors rely on it: they copy stride x height bytes from
 * wl_shm_buffer_get_data(). A buffer whose last row's padding would pass
 * the end of the pool is refused, as libwayland does. */
static void
test_buffer_needs_stride_times_height(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *client =
		harness_spawn(harness, client_last_row_padding_past_pool, NULL);
	harness_expect_error(client, "wl_shm_pool", WL_SHM_ERROR_INVALID_STRIDE, "past the pool");
	harness_wait_exit(client);
	preload_harness_destroy(harness);
}

/* SHMGUARD_FILE_POLICY: which files the preload's wl_shm accepts. */
static void
test_file_policy_setting(void **state)
{
	static const char proc[] = "/proc/self/status";
	static const char refused[] =
		"file on a proc file system, not known to be memory or a local disk";
	/* Unset, default, and a value the preload does not know (logged):
	 * the default, which refuses proc. */
	expect_file_policy(NULL, proc, refused);
	expect_file_policy("default", proc, refused);
	expect_file_policy("bogus", proc, refused);
	/* Named: accepted, then refused for its size. */
	expect_file_policy("default+proc", proc, "file is shorter than the pool size");
	expect_file_policy("memory+sysfs,proc", proc, "file is shorter than the pool size");

	/* memory: a file in the runtime dir (under /tmp) is refused, unless
	 * /tmp is memory here. */
	char path[] = "/tmp/shmguard-preload-policy-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, SIZE), 0);
	struct shmguard_file_policy memory = {.accept = SHMGUARD_FILE_ACCEPT_MEMORY};
	bool on_disk = shmguard_file_vet(fd, &memory, NULL, 0) == SHMGUARD_POOL_ERROR_FS_NOT_MEMORY;
	close(fd);
	if (on_disk) {
		expect_file_policy(
			"memory", path, "the compositor accepts memory-backed files only");
	}
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_calls_reach_the_preload),
		cmocka_unit_test(test_writable_pool_takes_compositor_writes),
		cmocka_unit_test(test_read_only_fd_shown_writes_stay_private),
		cmocka_unit_test(test_write_sealed_memfd_shown_writes_stay_private),
		cmocka_unit_test(test_truncation_posts_invalid_fd_at_end_access),
		cmocka_unit_test(test_data_pointer_survives_resize),
		cmocka_unit_test(test_accesses_to_two_pools_nest),
		cmocka_unit_test(test_pool_reference_outlives_buffer_guarded),
		cmocka_unit_test(test_many_pool_references_all_guarded),
		cmocka_unit_test(test_buffer_create_returns_null_as_libwayland),
		cmocka_unit_test(test_added_formats_advertised),
		cmocka_unit_test(test_added_formats_per_display),
		cmocka_unit_test(test_stride_checked_against_format),
		cmocka_unit_test(test_file_policy_setting),
		cmocka_unit_test(test_buffer_needs_stride_times_height),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Hostile and unlucky clients: truncation while the compositor reads (the
 * exact error, on the right object, for that client only), each fault
 * policy, faults seen off the display thread (also when the compositor
 * shuts down before it dispatched them), resize during a read,
 * buffers that outlive their wl_buffer and their client, and read-only or
 * write-sealed files that are fine for reading and refused for writing.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include <shmguard/wayland.h>

#include "harness.h"

#define WIDTH 64
#define HEIGHT 64
#define STRIDE (WIDTH * 4)
#define SIZE (STRIDE * HEIGHT) /* 16 KiB: four pages */

/* ---------------- helpers ---------------- */

/* Read every pixel byte of @p buffer in an access window; count the bytes
 * that differ from pattern @p seed (or from zero past @p valid_bytes of
 * the pool). Returns whether the window reported a fault. */
static bool
read_buffer(struct shmguard_buffer *buffer, uint32_t seed, uint64_t valid_bytes,
	unsigned *mismatches, struct shmguard_fault_report *report)
{
	void *data;
	assert_int_equal(shmguard_buffer_begin_access(buffer, SHMGUARD_ACCESS_READ, &data), 0);
	uint64_t offset = shmguard_buffer_get_offset(buffer);
	int32_t stride = shmguard_buffer_get_stride(buffer);
	int32_t row = shmguard_buffer_get_width(buffer) * 4;
	unsigned bad = 0;
	for (int32_t y = 0; y < shmguard_buffer_get_height(buffer); y++) {
		const volatile uint8_t *line = (const uint8_t *)data + (size_t)y * (size_t)stride;
		for (int32_t x = 0; x < row; x++) {
			uint64_t at = offset + (uint64_t)y * (uint64_t)stride + (uint64_t)x;
			uint8_t want = at < valid_bytes ? pattern_byte(seed, at) : 0;
			bad += line[x] != want;
		}
	}
	bool faulted = shmguard_buffer_end_access(buffer, report);
	if (mismatches != NULL) {
		*mismatches = bad;
	}
	return faulted;
}

static void
assert_buffer_intact(struct shmguard_buffer *buffer, uint32_t seed)
{
	unsigned bad;
	struct shmguard_fault_report report;
	assert_false(read_buffer(buffer, seed, UINT64_MAX, &bad, &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_NONE);
	assert_int_equal(bad, 0);
}

/* A pool of SIZE bytes of pattern @p seed and one 64x64 ARGB8888 buffer
 * over all of it; the test learns the buffer's and the pool's ids. */
static struct client_pool
client_make_pool(struct client_ctx *ctx, uint32_t seed)
{
	return client_pool_make(ctx, client_memfd(SIZE, seed, true), SIZE, WIDTH, HEIGHT, STRIDE,
		WL_SHM_FORMAT_ARGB8888);
}

static struct shmguard_buffer *
recv_buffer(struct test_client *client)
{
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	struct shmguard_buffer *buffer = harness_buffer(client, msg.values[0]);
	assert_non_null(buffer);
	return buffer;
}

static void
expect_step(struct test_client *client)
{
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
}

/* ---------------- truncation, default policy ---------------- */

static void
client_healthy(struct client_ctx *ctx)
{
	struct client_pool made = client_make_pool(ctx, 1);
	client_recv(ctx, NULL);
	/* Still connected, still served: a second buffer. */
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	struct wl_buffer *second = wl_shm_pool_create_buffer(
		made.pool, STRIDE, 32, 32, STRIDE, WL_SHM_FORMAT_XRGB8888);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	uint32_t id = wl_proxy_get_id((struct wl_proxy *)second);
	client_send(ctx, CTL_STEP, &id, 1, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

static void
client_truncates(struct client_ctx *ctx)
{
	struct client_pool made = client_make_pool(ctx, 2);
	client_recv(ctx, NULL);
	CLIENT_CHECK(ctx, ftruncate(made.fd, 0) == 0);
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	client_report_on(ctx, made.buffer);
}

static void
test_truncation_disconnects_only_that_client(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct test_client *good = harness_spawn(harness, client_healthy, NULL);
	struct test_client *bad = harness_spawn(harness, client_truncates, NULL);
	struct shmguard_buffer *good_buffer = recv_buffer(good);
	struct shmguard_buffer *bad_buffer = recv_buffer(bad);
	assert_buffer_intact(good_buffer, 1);
	assert_buffer_intact(bad_buffer, 2);

	harness_send(bad, CTL_GO, 0);
	expect_step(bad);
	unsigned bad_bytes;
	struct shmguard_fault_report report;
	/* The compositor survives the read; the missing bytes are zeros. */
	assert_true(read_buffer(bad_buffer, 2, 0, &bad_bytes, &report));
	assert_int_equal(bad_bytes, 0);
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(report.offset, 0);
	assert_int_equal(report.file_size, 0);
	assert_int_equal(harness->fault_count, 1);
	assert_int_equal(harness->faults[0].action, SHMGUARD_FAULT_ACTION_DISCONNECTED);
	assert_true(harness->faults[0].client_alive);
	assert_true(harness->faults[0].on_display_thread);
	assert_int_equal(harness->faults[0].buffer_id,
		wl_resource_get_id(shmguard_buffer_get_resource(bad_buffer)));

	/* The other client's buffer reads right, before and after. */
	assert_buffer_intact(good_buffer, 1);

	/* Libwayland's choice of object: the wl_buffer that was read. */
	harness_send(bad, CTL_GO, 0);
	harness_expect_error(
		bad, "wl_buffer", WL_SHM_ERROR_INVALID_FD, "client truncated its pool");
	harness_wait_exit(bad);
	assert_int_equal(harness->fault_count, 1);

	harness_send(good, CTL_GO, 0);
	struct ctl_msg msg;
	harness_recv(good, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	struct shmguard_buffer *second = harness_buffer(good, msg.values[0]);
	assert_non_null(second);
	assert_buffer_intact(second, 1);
	assert_buffer_intact(good_buffer, 1);
	harness_send(good, CTL_GO, 0);
	harness_expect_ok(good, NULL);
	harness_wait_exit(good);
	harness_destroy(harness);
}

/* The wl_buffer is gone: the error goes to the pool; the pool is gone
 * too: to wl_shm. */
static void
client_truncates_after_destroying(struct client_ctx *ctx)
{
	const int *destroy_pool = ctx->arg;
	struct client_pool made = client_make_pool(ctx, 3);
	client_recv(ctx, NULL);
	wl_buffer_destroy(made.buffer);
	if (*destroy_pool) {
		wl_shm_pool_destroy(made.pool);
	}
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	CLIENT_CHECK(ctx, ftruncate(made.fd, 0) == 0);
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	if (*destroy_pool) {
		client_report_on(ctx, ctx->shm);
	} else {
		client_report_on(ctx, made.pool);
	}
}

static void
expect_fault_error_on(int destroy_pool, const char *interface)
{
	struct harness *harness = harness_create(NULL);
	struct test_client *client =
		harness_spawn(harness, client_truncates_after_destroying, &destroy_pool);
	struct shmguard_buffer *buffer = shmguard_buffer_ref(recv_buffer(client));
	harness_send(client, CTL_GO, 0);
	expect_step(client);
	assert_null(shmguard_buffer_get_resource(buffer));
	assert_true(read_buffer(buffer, 3, 0, NULL, NULL));
	assert_int_equal(harness->fault_count, 1);
	assert_int_equal(harness->faults[0].buffer_id, 0);
	harness_send(client, CTL_GO, 0);
	harness_expect_error(
		client, interface, WL_SHM_ERROR_INVALID_FD, "client truncated its pool");
	harness_wait_exit(client);
	shmguard_buffer_unref(buffer);
	harness_destroy(harness);
}

static void
test_truncation_error_on_pool_when_buffer_destroyed(void **state)
{
	expect_fault_error_on(0, "wl_shm_pool");
}

static void
test_truncation_error_on_shm_when_pool_destroyed(void **state)
{
	expect_fault_error_on(1, "wl_shm");
}

/* A fault in the library's own guarded copy is a fault too. */
static void
test_truncation_during_guarded_read(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct test_client *bad = harness_spawn(harness, client_truncates, NULL);
	struct shmguard_buffer *buffer = recv_buffer(bad);
	static uint8_t copy[SIZE];
	assert_int_equal(shmguard_buffer_read(buffer, 0, copy, SIZE, NULL), 0);
	assert_int_equal(copy[100], pattern_byte(2, 100));
	assert_int_equal(shmguard_buffer_read(buffer, 1, copy, SIZE, NULL), -ERANGE);

	harness_send(bad, CTL_GO, 0);
	expect_step(bad);
	struct shmguard_fault_report report;
	assert_int_equal(shmguard_buffer_read(buffer, 0, copy, SIZE, &report), -EFAULT);
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(harness->fault_count, 1);
	harness_send(bad, CTL_GO, 0);
	harness_expect_error(
		bad, "wl_buffer", WL_SHM_ERROR_INVALID_FD, "client truncated its pool");
	harness_wait_exit(bad);
	harness_destroy(harness);
}

/* ---------------- the other policies ---------------- */

static void
client_truncates_to_half_then_lives(struct client_ctx *ctx)
{
	struct client_pool made = client_make_pool(ctx, 4);
	client_recv(ctx, NULL);
	CLIENT_CHECK(ctx, ftruncate(made.fd, SIZE / 2) == 0);
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	/* Kept: the connection still works, a new buffer can be made. */
	struct wl_buffer *second =
		wl_shm_pool_create_buffer(made.pool, 0, 8, 8, 32, WL_SHM_FORMAT_ARGB8888);
	(void)second;
	client_report(ctx);
}

static void
test_policy_zeros_keeps_client(void **state)
{
	struct shmguard_shm_options options = {.fault_policy = SHMGUARD_FAULT_POLICY_ZEROS};
	struct harness *harness = harness_create(&options);
	assert_int_equal(shmguard_shm_get_fault_policy(harness->shm), SHMGUARD_FAULT_POLICY_ZEROS);
	struct test_client *client =
		harness_spawn(harness, client_truncates_to_half_then_lives, NULL);
	struct shmguard_buffer *buffer = recv_buffer(client);
	harness_send(client, CTL_GO, 0);
	expect_step(client);

	/* The first half reads right, the rest reads as zeros. */
	unsigned bad;
	struct shmguard_fault_report report;
	assert_true(read_buffer(buffer, 4, SIZE / 2, &bad, &report));
	assert_int_equal(bad, 0);
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(report.offset, SIZE / 2);
	assert_int_equal(report.file_size, SIZE / 2);
	assert_int_equal(harness->fault_count, 1);
	assert_int_equal(harness->faults[0].action, SHMGUARD_FAULT_ACTION_ZEROS);

	/* Later windows on the generation still say it faulted; the policy
	 * (and the compositor's log line) ran once. */
	assert_true(read_buffer(buffer, 4, SIZE / 2, &bad, NULL));
	assert_int_equal(bad, 0);
	assert_int_equal(harness->fault_count, 1);

	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
client_truncates_then_grows_back(struct client_ctx *ctx)
{
	struct client_pool made = client_make_pool(ctx, 5);
	client_recv(ctx, NULL);
	CLIENT_CHECK(ctx, ftruncate(made.fd, 0) == 0);
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	/* Grow it back, with new contents. */
	CLIENT_CHECK(ctx, ftruncate(made.fd, SIZE) == 0);
	uint8_t *map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, made.fd, 0);
	CLIENT_CHECK(ctx, map != MAP_FAILED);
	for (size_t i = 0; i < SIZE; i++) {
		map[i] = pattern_byte(6, i);
	}
	munmap(map, SIZE);
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

static void
test_policy_revalidate_remaps_grown_file(void **state)
{
	struct harness *harness = harness_create(NULL);
	shmguard_shm_set_fault_policy(harness->shm, SHMGUARD_FAULT_POLICY_REVALIDATE);
	struct test_client *client = harness_spawn(harness, client_truncates_then_grows_back, NULL);
	struct shmguard_buffer *buffer = recv_buffer(client);
	harness_send(client, CTL_GO, 0);
	expect_step(client);

	unsigned bad;
	assert_true(read_buffer(buffer, 5, 0, &bad, NULL));
	assert_int_equal(bad, 0);
	assert_int_equal(harness->fault_count, 1);
	assert_int_equal(harness->faults[0].action, SHMGUARD_FAULT_ACTION_REVALIDATE);
	/* Still short: still zeros, no second report. */
	assert_true(read_buffer(buffer, 5, 0, &bad, NULL));
	assert_int_equal(bad, 0);
	assert_int_equal(harness->fault_count, 1);

	harness_send(client, CTL_GO, 0);
	expect_step(client);
	/* Grown back: the next access maps it afresh and reads the new bytes. */
	assert_buffer_intact(buffer, 6);
	assert_int_equal(harness->fault_count, 1);

	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

/* ---------------- a fault seen on another thread ---------------- */

struct thread_read {
	struct shmguard_buffer *buffer;
	bool faulted;
	unsigned mismatches;
};

static void *
read_on_thread(void *data)
{
	struct thread_read *job = data;
	job->faulted = read_buffer(job->buffer, 2, 0, &job->mismatches, NULL);
	return NULL;
}

static void
test_fault_off_display_thread(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct test_client *bad = harness_spawn(harness, client_truncates, NULL);
	struct shmguard_buffer *buffer = shmguard_buffer_ref(recv_buffer(bad));
	harness_send(bad, CTL_GO, 0);
	expect_step(bad);

	struct thread_read job = {.buffer = buffer};
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, read_on_thread, &job), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_true(job.faulted);
	assert_int_equal(job.mismatches, 0);
	/* Handed over, not acted on from the render thread. */
	assert_int_equal(harness->fault_count, 0);
	/* The display thread acts on its next dispatch. */
	for (int i = 0; i < 100 && harness->fault_count == 0; i++) {
		harness_serve(harness, 10);
	}

	harness_send(bad, CTL_GO, 0);
	harness_expect_error(
		bad, "wl_buffer", WL_SHM_ERROR_INVALID_FD, "client truncated its pool");
	assert_int_equal(harness->fault_count, 1);
	assert_true(harness->faults[0].on_display_thread);
	assert_int_equal(harness->faults[0].action, SHMGUARD_FAULT_ACTION_DISCONNECTED);
	harness_wait_exit(bad);
	shmguard_buffer_unref(buffer);
	harness_destroy(harness);
}

/* Shutdown in the order docs/integrating.md gives (clients, the global,
 * the display) while a render thread's fault still waits for the display
 * thread: the queued fault holds the last reference to the buffer, and
 * through it to the pool, the client's state and the shm. Draining it
 * while the display goes must not free the shm under its own feet (it
 * did: a use after free in shm_detach(), seen by ASan and as a crash). */
static unsigned shutdown_faults;
static enum shmguard_fault_action shutdown_action;

static void
count_shutdown_fault(struct harness *harness, const struct shmguard_fault_event *event)
{
	shutdown_faults++;
	shutdown_action = event->action;
}

/* A render thread's fault, queued for the display thread and not yet
 * dispatched; the test keeps no reference to the buffer. */
static struct harness *
harness_with_queued_fault(void)
{
	struct harness *harness = harness_create(NULL);
	harness->on_fault = count_shutdown_fault;
	shutdown_faults = 0;
	struct test_client *bad = harness_spawn(harness, client_truncates, NULL);
	struct shmguard_buffer *buffer = shmguard_buffer_ref(recv_buffer(bad));
	harness_send(bad, CTL_GO, 0);
	expect_step(bad);

	struct thread_read job = {.buffer = buffer};
	pthread_t thread;
	assert_int_equal(pthread_create(&thread, NULL, read_on_thread, &job), 0);
	assert_int_equal(pthread_join(thread, NULL), 0);
	assert_true(job.faulted);
	assert_int_equal(job.mismatches, 0);
	/* Queued, not dispatched: the compositor shuts down first. */
	assert_int_equal(harness->fault_count, 0);
	shmguard_buffer_unref(buffer);
	return harness;
}

static void
test_shutdown_with_fault_queued(void **state)
{
	struct harness *harness = harness_with_queued_fault();
	/* harness_destroy(): wl_display_destroy_clients(),
	 * shmguard_shm_destroy(), wl_display_destroy(). The queued fault is
	 * applied while the display goes, to a client that is gone. */
	harness_destroy(harness);
	assert_int_equal(shutdown_faults, 1);
	assert_int_equal(shutdown_action, SHMGUARD_FAULT_ACTION_CLIENT_GONE);
}

/* The global is gone, the display still dispatches once. */
static void
destroy_shm_then_dispatch(struct harness *harness)
{
	shmguard_shm_destroy(harness->shm);
	harness->shm = NULL;
	harness_serve(harness, 20);
}

/* The same, with one more dispatch between shmguard_shm_destroy() and
 * wl_display_destroy(): the fault source's callback applies the fault and
 * drops the last reference to the shm while it still uses it. */
static void
test_dispatch_after_shm_destroy_with_fault_queued(void **state)
{
	struct harness *harness = harness_with_queued_fault();
	harness->teardown_hook = destroy_shm_then_dispatch;
	harness_destroy(harness);
	assert_int_equal(shutdown_faults, 1);
	assert_int_equal(shutdown_action, SHMGUARD_FAULT_ACTION_CLIENT_GONE);
}

/* ---------------- resize during a read ---------------- */

static void
client_resizes(struct client_ctx *ctx)
{
	struct client_pool made = client_make_pool(ctx, 7);
	client_recv(ctx, NULL);
	/* Grow the file (same pattern, continued), then the pool. */
	CLIENT_CHECK(ctx, ftruncate(made.fd, 2 * SIZE) == 0);
	uint8_t *map = mmap(NULL, 2 * SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, made.fd, 0);
	CLIENT_CHECK(ctx, map != MAP_FAILED);
	for (size_t i = SIZE; i < 2 * SIZE; i++) {
		map[i] = pattern_byte(7, i);
	}
	munmap(map, 2 * SIZE);
	wl_shm_pool_resize(made.pool, 2 * SIZE);
	struct wl_buffer *second = wl_shm_pool_create_buffer(
		made.pool, SIZE, WIDTH, HEIGHT, STRIDE, WL_SHM_FORMAT_ARGB8888);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	uint32_t id = wl_proxy_get_id((struct wl_proxy *)second);
	client_send(ctx, CTL_STEP, &id, 1, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

static unsigned
count_mismatches(const uint8_t *data, uint32_t seed, uint64_t offset, size_t length)
{
	unsigned bad = 0;
	for (size_t i = 0; i < length; i++) {
		bad += data[i] != pattern_byte(seed, offset + i);
	}
	return bad;
}

static void
test_resize_while_reading(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct test_client *client = harness_spawn(harness, client_resizes, NULL);
	struct shmguard_buffer *buffer = recv_buffer(client);

	void *data;
	assert_int_equal(shmguard_buffer_begin_access(buffer, SHMGUARD_ACCESS_READ, &data), 0);
	assert_int_equal(count_mismatches(data, 7, 0, SIZE), 0);
	/* The resize is served while the window is open. */
	harness_send(client, CTL_GO, 0);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	assert_int_equal(shmguard_pool_get_size(shmguard_buffer_get_pool(buffer)), 2 * SIZE);
	/* The old pointer still reads the right bytes. */
	assert_int_equal(count_mismatches(data, 7, 0, SIZE), 0);
	struct shmguard_fault_report report;
	assert_false(shmguard_buffer_end_access(buffer, &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_NONE);

	assert_buffer_intact(buffer, 7);
	struct shmguard_buffer *second = harness_buffer(client, msg.values[0]);
	assert_non_null(second);
	assert_int_equal(shmguard_buffer_get_offset(second), SIZE);
	assert_buffer_intact(second, 7);
	assert_int_equal(harness->fault_count, 0);

	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

/* ---------------- buffers that outlive their resource ---------------- */

static void
client_destroys_then_leaves(struct client_ctx *ctx)
{
	const int *truncate_before_leaving = ctx->arg;
	struct client_pool made = client_make_pool(ctx, 8);
	client_recv(ctx, NULL);
	wl_buffer_destroy(made.buffer);
	wl_shm_pool_destroy(made.pool);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	if (*truncate_before_leaving) {
		CLIENT_CHECK(ctx, ftruncate(made.fd, 0) == 0);
	}
}

static void
test_buffer_outlives_wl_buffer_and_client(void **state)
{
	struct harness *harness = harness_create(NULL);
	int truncate = 0;
	struct test_client *client = harness_spawn(harness, client_destroys_then_leaves, &truncate);
	struct shmguard_buffer *buffer = shmguard_buffer_ref(recv_buffer(client));
	struct wl_client *wl_client = shmguard_buffer_get_client(buffer);
	assert_ptr_equal(wl_client, client->client);

	harness_send(client, CTL_GO, 0);
	expect_step(client);
	/* The wl_buffer and the wl_shm_pool are gone; the pixels are not. */
	assert_null(shmguard_buffer_get_resource(buffer));
	shmguard_buffer_send_release(buffer); /* a no-op now */
	assert_buffer_intact(buffer, 8);

	harness_send(client, CTL_GO, 0);
	harness_wait_exit(client);
	harness_serve(harness, 20);
	assert_null(client->client);
	assert_null(shmguard_buffer_get_client(buffer));
	assert_buffer_intact(buffer, 8);
	static uint8_t copy[SIZE];
	assert_int_equal(shmguard_buffer_read(buffer, 0, copy, SIZE, NULL), 0);
	assert_int_equal(count_mismatches(copy, 8, 0, SIZE), 0);
	assert_int_equal(harness->fault_count, 0);
	shmguard_buffer_unref(buffer);
	harness_destroy(harness);
}

static void
test_fault_after_client_left(void **state)
{
	struct harness *harness = harness_create(NULL);
	int truncate = 1;
	struct test_client *client = harness_spawn(harness, client_destroys_then_leaves, &truncate);
	struct shmguard_buffer *buffer = shmguard_buffer_ref(recv_buffer(client));
	harness_send(client, CTL_GO, 0);
	expect_step(client);
	harness_send(client, CTL_GO, 0);
	harness_wait_exit(client);
	harness_serve(harness, 20);
	assert_null(shmguard_buffer_get_client(buffer));

	unsigned bad;
	assert_true(read_buffer(buffer, 8, 0, &bad, NULL));
	assert_int_equal(bad, 0);
	assert_int_equal(harness->fault_count, 1);
	assert_int_equal(harness->faults[0].action, SHMGUARD_FAULT_ACTION_CLIENT_GONE);
	assert_false(harness->faults[0].client_alive);
	assert_int_equal(harness->faults[0].pool_id, 0);
	shmguard_buffer_unref(buffer);
	harness_destroy(harness);
}

/* ---------------- read-only and write-sealed files ---------------- */

enum file_mode {
	FILE_WRITABLE,
	FILE_READ_ONLY,
	FILE_SEAL_WRITE,
	FILE_SEAL_FUTURE_WRITE,
};

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static void
client_shares_file(struct client_ctx *ctx)
{
	const enum file_mode *mode = ctx->arg;
	int memfd = client_memfd(SIZE, 9, true);
	CLIENT_CHECK(ctx, memfd >= 0);
	int fd = memfd;
	char path[64];
	switch (*mode) {
	case FILE_READ_ONLY:
		snprintf(path, sizeof(path), "/proc/self/fd/%d", memfd);
		fd = open(path, O_RDONLY);
		CLIENT_CHECK(ctx, fd >= 0);
		break;
	case FILE_SEAL_WRITE:
		CLIENT_CHECK(ctx, fcntl(memfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK) == 0);
		break;
	case FILE_SEAL_FUTURE_WRITE:
		CLIENT_CHECK(ctx, fcntl(memfd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) == 0);
		break;
	case FILE_WRITABLE:
		break;
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(ctx->shm, fd, SIZE);
	struct wl_buffer *buffer =
		wl_shm_pool_create_buffer(pool, 0, WIDTH, HEIGHT, STRIDE, WL_SHM_FORMAT_ARGB8888);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	uint32_t id = wl_proxy_get_id((struct wl_proxy *)buffer);
	client_send(ctx, CTL_STEP, &id, 1, NULL);
	client_recv(ctx, NULL);
	if (*mode == FILE_WRITABLE) {
		/* The compositor's write-back landed in our file. */
		uint8_t head[32];
		CLIENT_CHECK(ctx, pread(memfd, head, sizeof(head), 0) == sizeof(head));
		for (int i = 0; i < 16; i++) {
			CLIENT_CHECK(ctx, head[i] == 0xab);
			CLIENT_CHECK(ctx, head[16 + i] == 0xcd);
		}
	}
	client_report(ctx);
}

static void
check_file_mode(enum file_mode mode, int want_errno, enum shmguard_pool_error want_reason)
{
	struct harness *harness = harness_create(NULL);
	struct test_client *client = harness_spawn(harness, client_shares_file, &mode);
	struct shmguard_buffer *buffer = recv_buffer(client);
	/* Fine for display. */
	assert_buffer_intact(buffer, 9);
	assert_true(shmguard_buffer_allows(buffer, SHMGUARD_ACCESS_READ, NULL));

	void *data = NULL;
	int ret = shmguard_buffer_begin_access(buffer, SHMGUARD_ACCESS_WRITE, &data);
	enum shmguard_pool_error reason = SHMGUARD_POOL_OK;
	bool allowed = shmguard_buffer_allows(buffer, SHMGUARD_ACCESS_WRITE, &reason);
	uint8_t bytes[16];
	memset(bytes, 0xcd, sizeof(bytes));
	if (want_errno == 0) {
		assert_int_equal(ret, 0);
		assert_true(allowed);
		memset(data, 0xab, 16);
		assert_false(shmguard_buffer_end_access(buffer, NULL));
		assert_int_equal(shmguard_buffer_write(buffer, 16, bytes, sizeof(bytes), NULL), 0);
	} else {
		/* Refused, with the reason; that access only. */
		assert_int_equal(ret, -want_errno);
		assert_false(allowed);
		assert_int_equal(reason, want_reason);
		assert_int_equal(
			shmguard_buffer_write(buffer, 16, bytes, sizeof(bytes), NULL), -want_errno);
		assert_buffer_intact(buffer, 9);
	}
	assert_int_equal(harness->fault_count, 0);
	/* Not disconnected. */
	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
test_writable_file_takes_write_back(void **state)
{
	check_file_mode(FILE_WRITABLE, 0, SHMGUARD_POOL_OK);
}

static void
test_read_only_fd_read_not_written(void **state)
{
	check_file_mode(FILE_READ_ONLY, EACCES, SHMGUARD_POOL_ERROR_READ_ONLY_FD);
}

static void
test_write_sealed_read_not_written(void **state)
{
	check_file_mode(FILE_SEAL_WRITE, EPERM, SHMGUARD_POOL_ERROR_WRITE_SEALED);
}

static void
test_future_write_sealed_read_not_written(void **state)
{
	check_file_mode(FILE_SEAL_FUTURE_WRITE, EPERM, SHMGUARD_POOL_ERROR_WRITE_SEALED);
}

/* ---------------- nesting and misuse bounds ---------------- */

static void
test_nested_accesses_end_out_of_order(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct test_client *a = harness_spawn(harness, client_healthy, NULL);
	struct test_client *b = harness_spawn(harness, client_resizes, NULL);
	struct shmguard_buffer *first = recv_buffer(a);
	struct shmguard_buffer *second = recv_buffer(b);
	void *p1, *p2, *p3;
	assert_int_equal(shmguard_buffer_begin_access(first, SHMGUARD_ACCESS_READ, &p1), 0);
	assert_int_equal(shmguard_buffer_begin_access(second, SHMGUARD_ACCESS_READ, &p2), 0);
	assert_int_equal(shmguard_buffer_begin_access(first, SHMGUARD_ACCESS_READ, &p3), 0);
	assert_ptr_equal(p1, p3);
	/* Different buffers may end out of order; one buffer's in LIFO. */
	assert_false(shmguard_buffer_end_access(second, NULL));
	assert_false(shmguard_buffer_end_access(first, NULL));
	assert_int_equal(count_mismatches(p1, 1, 0, SIZE), 0);
	assert_false(shmguard_buffer_end_access(first, NULL));

	/* Past the per-thread bound: refused, nothing leaked. */
	int opened = 0;
	for (; opened < 40; opened++) {
		void *data;
		int ret = shmguard_buffer_begin_access(first, SHMGUARD_ACCESS_READ, &data);
		if (ret != 0) {
			assert_int_equal(ret, -EMFILE);
			break;
		}
	}
	assert_true(opened >= 16 && opened < 40);
	for (int i = 0; i < opened; i++) {
		assert_false(shmguard_buffer_end_access(first, NULL));
	}
	assert_buffer_intact(first, 1);

	harness_send(a, CTL_GO, 0);
	expect_step(a);
	harness_send(a, CTL_GO, 0);
	harness_expect_ok(a, NULL);
	harness_send(b, CTL_GO, 0);
	expect_step(b);
	harness_send(b, CTL_GO, 0);
	harness_expect_ok(b, NULL);
	harness_wait_exit(a);
	harness_wait_exit(b);
	harness_destroy(harness);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_truncation_disconnects_only_that_client),
		cmocka_unit_test(test_truncation_error_on_pool_when_buffer_destroyed),
		cmocka_unit_test(test_truncation_error_on_shm_when_pool_destroyed),
		cmocka_unit_test(test_truncation_during_guarded_read),
		cmocka_unit_test(test_policy_zeros_keeps_client),
		cmocka_unit_test(test_policy_revalidate_remaps_grown_file),
		cmocka_unit_test(test_fault_off_display_thread),
		cmocka_unit_test(test_shutdown_with_fault_queued),
		cmocka_unit_test(test_dispatch_after_shm_destroy_with_fault_queued),
		cmocka_unit_test(test_resize_while_reading),
		cmocka_unit_test(test_buffer_outlives_wl_buffer_and_client),
		cmocka_unit_test(test_fault_after_client_left),
		cmocka_unit_test(test_writable_file_takes_write_back),
		cmocka_unit_test(test_read_only_fd_read_not_written),
		cmocka_unit_test(test_write_sealed_read_not_written),
		cmocka_unit_test(test_future_write_sealed_read_not_written),
		cmocka_unit_test(test_nested_accesses_end_out_of_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

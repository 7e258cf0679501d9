/*
 * Per-client budgets: a client that asks for more pools or more mapped
 * bytes than its budget gets wl_shm error invalid_fd naming the bound;
 * another client, connected at the same time, is not affected.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <unistd.h>

#include <cmocka.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include <shmguard/wayland.h>

#include "harness.h"

struct pools_arg {
	int count;
	int32_t size;
	int32_t resize_to; /* 0: none */
	bool wait_first; /* report a step and wait before the last request */
};

static void
client_makes_pools(struct client_ctx *ctx)
{
	const struct pools_arg *arg = ctx->arg;
	struct wl_shm_pool *pool = NULL;
	int fd = -1;
	for (int i = 0; i < arg->count; i++) {
		if (fd >= 0) {
			close(fd);
		}
		fd = client_memfd((size_t)arg->size, (uint32_t)i, false);
		CLIENT_CHECK(ctx, fd >= 0);
		pool = wl_shm_create_pool(ctx->shm, fd, arg->size);
	}
	if (arg->wait_first) {
		CLIENT_CHECK(ctx, client_roundtrip(ctx));
		client_send(ctx, CTL_STEP, NULL, 0, NULL);
		client_recv(ctx, NULL);
		/* Still usable after the other client's error. */
		struct wl_buffer *buffer =
			wl_shm_pool_create_buffer(pool, 0, 16, 16, 64, WL_SHM_FORMAT_ARGB8888);
		(void)buffer;
	}
	if (arg->resize_to != 0) {
		CLIENT_CHECK(ctx, client_roundtrip(ctx));
		/* The file is long enough: only the budget stands in the way. */
		CLIENT_CHECK(ctx, ftruncate(fd, arg->resize_to) == 0);
		wl_shm_pool_resize(pool, arg->resize_to);
		client_report_on(ctx, pool);
		return;
	}
	client_report_on(ctx, ctx->shm);
}

static void
test_pool_count_bound_is_per_client(void **state)
{
	struct shmguard_shm_options options = {.client_limits = {.max_pools = 2}};
	struct harness *harness = harness_create(&options);
	struct pools_arg within = {.count = 2, .size = 4096, .wait_first = true};
	struct pools_arg beyond = {.count = 3, .size = 4096};
	struct test_client *good = harness_spawn(harness, client_makes_pools, &within);
	struct ctl_msg msg;
	harness_recv(good, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	struct shmguard_budget *budget = shmguard_shm_get_client_budget(harness->shm, good->client);
	assert_non_null(budget);
	assert_int_equal(shmguard_budget_get_pools(budget), 2);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), 2 * 4096);

	struct test_client *greedy = harness_spawn(harness, client_makes_pools, &beyond);
	harness_expect_error(greedy, "wl_shm", WL_SHM_ERROR_INVALID_FD,
		"over budget: the client already has 2 pools (limit 2)");
	harness_wait_exit(greedy);

	harness_send(good, CTL_GO, 0);
	harness_expect_ok(good, NULL);
	harness_wait_exit(good);
	harness_destroy(harness);
}

static void
test_mapped_bytes_bound(void **state)
{
	struct shmguard_shm_options options = {.client_limits = {.max_mapped_bytes = 65536}};
	struct harness *harness = harness_create(&options);
	struct pools_arg within = {.count = 2, .size = 32768};
	struct pools_arg beyond = {.count = 3, .size = 32768};
	struct test_client *good = harness_spawn(harness, client_makes_pools, &within);
	harness_expect_ok(good, NULL);
	struct test_client *greedy = harness_spawn(harness, client_makes_pools, &beyond);
	harness_expect_error(greedy, "wl_shm", WL_SHM_ERROR_INVALID_FD,
		"over budget: mapping 32768 more bytes would pass the client's limit of 65536 bytes");
	harness_wait_exit(good);
	harness_wait_exit(greedy);
	harness_destroy(harness);
}

static void
test_resize_over_budget(void **state)
{
	struct shmguard_shm_options options = {.client_limits = {.max_mapped_bytes = 65536}};
	struct harness *harness = harness_create(&options);
	struct pools_arg arg = {.count = 1, .size = 16384, .resize_to = 131072};
	struct test_client *client = harness_spawn(harness, client_makes_pools, &arg);
	harness_expect_error(client, "wl_shm_pool", WL_SHM_ERROR_INVALID_FD, "over budget");
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
test_defaults_are_generous(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct pools_arg many = {.count = 200, .size = 65536};
	struct test_client *client = harness_spawn(harness, client_makes_pools, &many);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pool_count_bound_is_per_client),
		cmocka_unit_test(test_mapped_bytes_bound),
		cmocka_unit_test(test_resize_over_budget),
		cmocka_unit_test(test_defaults_are_generous),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

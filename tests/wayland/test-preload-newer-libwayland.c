/*
 * The parts of libwayland-server's wl_shm API newer than 1.21, as
 * libshmguard-preload serves them, in process (run with LD_PRELOAD, like
 * test-preload-contract):
 *   - wl_shm version 2 and its release request (libwayland 1.23), offered
 *     exactly when the running libwayland-server dispatches it;
 *   - wl_shm_buffer_ref() and wl_shm_buffer_unref() (1.24): a buffer kept
 *     past its wl_buffer resource, and past its client;
 *   - a fault in such a buffer: the client still gets invalid_fd.
 * Run it with LD_LIBRARY_PATH at a libwayland 1.23 or 1.26 build to see
 * the preload on those (docs/preload.md says how).
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include "harness.h"

#define WIDTH 32
#define HEIGHT 32
#define STRIDE (WIDTH * 4)
#define SIZE (STRIDE * HEIGHT) /* 4 KiB: one page */

/* libwayland 1.24's functions, found at run time: the headers this test
 * is built with (1.21) do not declare them, and its libwayland-server may
 * not define them (the preload does). */
static void *ref_address, *unref_address;
static struct wl_shm_buffer *(*buffer_ref)(struct wl_shm_buffer *buffer);
static void (*buffer_unref)(struct wl_shm_buffer *buffer);

static int
find_ref_functions(void **state)
{
	ref_address = dlsym(RTLD_DEFAULT, "wl_shm_buffer_ref");
	unref_address = dlsym(RTLD_DEFAULT, "wl_shm_buffer_unref");
	if (ref_address == NULL || unref_address == NULL) {
		return -1;
	}
	/* POSIX's way from dlsym()'s object pointer to a function's. */
	memcpy(&buffer_ref, &ref_address, sizeof(buffer_ref));
	memcpy(&buffer_unref, &unref_address, sizeof(buffer_unref));
	return 0;
}

static struct harness *
preload_harness(void)
{
	struct harness *harness = harness_create_without_shm();
	assert_int_equal(wl_display_init_shm(harness->display), 0);
	return harness;
}

/* ---------------- the client side ---------------- */

/* A one-page pool of pattern @p seed and a buffer over all of it; the
 * test learns the buffer's id. */
static struct client_pool
client_make_pool(struct client_ctx *ctx, uint32_t seed)
{
	return client_pool_make(ctx, client_memfd(SIZE, seed, true), SIZE, WIDTH, HEIGHT, STRIDE,
		WL_SHM_FORMAT_XRGB8888);
}

/* ---------------- the compositor side ---------------- */

/* Bytes of the buffer that are not pattern @p seed, read in an access
 * window as a compositor does. */
static unsigned
count_not_pattern(struct wl_shm_buffer *buffer, uint32_t seed)
{
	unsigned bad = 0;
	wl_shm_buffer_begin_access(buffer);
	const volatile uint8_t *data = wl_shm_buffer_get_data(buffer);
	for (uint64_t i = 0; i < SIZE; i++) {
		bad += data[i] != pattern_byte(seed, i);
	}
	wl_shm_buffer_end_access(buffer);
	return bad;
}

/* ---------------- wl_shm version 2: release ---------------- */

/* The version libwayland-server itself would advertise: 2 from 1.23 on,
 * whose wl_shm_interface has the release request. */
static uint32_t
libwayland_shm_version(void)
{
	return wl_shm_interface.version < 2 ? (uint32_t)wl_shm_interface.version : 2;
}

/* The client side of wl_shm version 2, which libwayland-client 1.21's
 * wl_shm_interface lacks: create_pool, then release. */
static const struct wl_interface *create_pool_types[] = {&wl_shm_pool_interface, NULL, NULL};
static const struct wl_message shm_v2_requests[] = {
	{"create_pool", "nhi", create_pool_types},
	{"release", "2", create_pool_types},
};
static struct wl_interface shm_v2_interface = {
	"wl_shm",
	2,
	2,
	shm_v2_requests,
	0,
	NULL,
};

struct shm_global {
	uint32_t name;
	uint32_t version;
};

static void
note_shm_global(void *data, struct wl_registry *registry, uint32_t name, const char *interface,
	uint32_t version)
{
	struct shm_global *global = data;
	if (strcmp(interface, "wl_shm") == 0) {
		global->name = name;
		global->version = version;
	}
}

static void
ignore_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener shm_global_listener = {
	.global = note_shm_global,
	.global_remove = ignore_global_remove,
};

/* Tells the advertised version; if it is 2, binds wl_shm at 2, makes a
 * pool, releases the wl_shm and makes a buffer from the pool after it. */
static void
client_releases_shm(struct client_ctx *ctx)
{
	struct shm_global global = {0};
	struct wl_registry *registry = wl_display_get_registry(ctx->display);
	wl_registry_add_listener(registry, &shm_global_listener, &global);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	uint32_t values[3] = {global.version, 0, 0};
	if (global.version >= 2) {
		shm_v2_interface.events = wl_shm_interface.events;
		shm_v2_interface.event_count = wl_shm_interface.event_count;
		struct wl_proxy *shm =
			wl_registry_bind(registry, global.name, &shm_v2_interface, 2);
		int fd = client_memfd(SIZE, 2, true);
		CLIENT_CHECK(ctx, fd >= 0);
		struct wl_proxy *pool = wl_proxy_marshal_flags(
			shm, 0, &wl_shm_pool_interface, 2, 0, NULL, fd, (int32_t)SIZE);
		close(fd);
		values[1] = wl_proxy_get_id(shm);
		wl_proxy_marshal_flags(shm, 1, NULL, 2, WL_MARSHAL_FLAG_DESTROY);
		struct wl_buffer *buffer = wl_shm_pool_create_buffer((struct wl_shm_pool *)pool, 0,
			WIDTH, HEIGHT, STRIDE, WL_SHM_FORMAT_XRGB8888);
		CLIENT_CHECK(ctx, client_roundtrip(ctx));
		values[2] = wl_proxy_get_id((struct wl_proxy *)buffer);
	}
	client_send(ctx, CTL_STEP, values, 3, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

/* libwayland 1.23 serves wl_shm version 2 and destroys the wl_shm on
 * release, its pools going on; 1.21 serves version 1. The preload
 * advertises what the running libwayland-server does, whichever
 * headers it was built with. */
static void
test_shm_release_as_libwayland(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *client = harness_spawn(harness, client_releases_shm, NULL);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	assert_int_equal(msg.values[0], libwayland_shm_version());
	if (msg.values[0] >= 2) {
		assert_null(wl_client_get_object(client->client, msg.values[1]));
		struct wl_resource *buffer = wl_client_get_object(client->client, msg.values[2]);
		assert_non_null(buffer);
		assert_int_equal(wl_shm_buffer_get_width(wl_shm_buffer_get(buffer)), WIDTH);
	} else {
		printf("libwayland-server here serves wl_shm version %u: no release to test\n",
			msg.values[0]);
	}
	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

/* ---------------- wl_shm_buffer_ref / unref ---------------- */

static void
test_ref_functions_reach_the_preload(void **state)
{
	Dl_info info;
	assert_int_not_equal(dladdr(ref_address, &info), 0);
	assert_non_null(strstr(info.dli_fname, "libshmguard-preload"));
	assert_int_not_equal(dladdr(unref_address, &info), 0);
	assert_non_null(strstr(info.dli_fname, "libshmguard-preload"));
}

/* Makes a pool and buffer; on the test's word destroys the wl_buffer
 * (and, with arg "truncate", truncates the file); then reports. */
static void
client_destroys_buffer(struct client_ctx *ctx)
{
	bool truncate = ctx->arg != NULL;
	struct client_pool made = client_make_pool(ctx, 11);
	client_recv(ctx, NULL);
	wl_buffer_destroy(made.buffer);
	if (truncate) {
		CLIENT_CHECK(ctx, ftruncate(made.fd, 0) == 0);
	}
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	client_report_on(ctx, made.pool);
}

/* A referenced buffer outlives its wl_buffer with its geometry, format and
 * pixels; references count, mixed with wl_shm_buffer_ref_pool()'s, and
 * the last one frees it (the ASan build's leak check sees it). */
static void
test_ref_keeps_buffer_after_resource(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *client = harness_spawn(harness, client_destroys_buffer, NULL);
	struct wl_shm_buffer *buffer = harness_recv_shm_buffer(client);
	assert_ptr_equal(buffer_ref(buffer), buffer);
	assert_ptr_equal(buffer_ref(buffer), buffer);
	struct wl_shm_pool *pool = wl_shm_buffer_ref_pool(buffer);
	void *data = wl_shm_buffer_get_data(buffer);

	harness_send(client, CTL_GO, 0);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	buffer_unref(buffer);
	assert_int_equal(wl_shm_buffer_get_width(buffer), WIDTH);
	assert_int_equal(wl_shm_buffer_get_height(buffer), HEIGHT);
	assert_int_equal(wl_shm_buffer_get_stride(buffer), STRIDE);
	assert_int_equal(wl_shm_buffer_get_format(buffer), WL_SHM_FORMAT_XRGB8888);
	assert_ptr_equal(wl_shm_buffer_get_data(buffer), data);
	assert_int_equal(count_not_pattern(buffer, 11), 0);
	wl_shm_pool_unref(pool);
	assert_int_equal(count_not_pattern(buffer, 11), 0);
	buffer_unref(buffer);

	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_destroy(harness);
}

/* A fault in a referenced buffer whose wl_buffer is gone: zeros are read,
 * and the client gets invalid_fd on the pool the buffer came from.
 * (libwayland 1.24 to 1.26 post on the destroyed wl_buffer's freed
 * resource there.) */
static void
test_fault_after_resource_gone_posts_on_pool(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *client = harness_spawn(harness, client_destroys_buffer, "truncate");
	struct wl_shm_buffer *buffer = harness_recv_shm_buffer(client);
	buffer_ref(buffer);

	harness_send(client, CTL_GO, 0);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	unsigned nonzero = 0;
	wl_shm_buffer_begin_access(buffer);
	const volatile uint8_t *data = wl_shm_buffer_get_data(buffer);
	for (size_t i = 0; i < SIZE; i++) {
		nonzero += data[i] != 0;
	}
	wl_shm_buffer_end_access(buffer);
	assert_int_equal(nonzero, 0);

	harness_send(client, CTL_GO, 0);
	harness_expect_error(client, "wl_shm_pool", WL_SHM_ERROR_INVALID_FD, "truncated");
	harness_wait_exit(client);
	buffer_unref(buffer);
	harness_destroy(harness);
}

static void
client_makes_buffer_then_exits(struct client_ctx *ctx)
{
	client_make_pool(ctx, 12);
	client_recv(ctx, NULL);
	client_report(ctx);
}

/* A reference outlives the client too: the compositor reads the pixels,
 * opens and closes windows, then lets go, with nothing posted to a
 * client that is gone. */
static void
test_ref_outlives_client(void **state)
{
	struct harness *harness = preload_harness();
	struct test_client *client = harness_spawn(harness, client_makes_buffer_then_exits, NULL);
	struct wl_shm_buffer *buffer = harness_recv_shm_buffer(client);
	buffer_ref(buffer);
	harness_send(client, CTL_GO, 0);
	harness_expect_ok(client, NULL);
	harness_wait_exit(client);
	harness_serve(harness, 50);
	assert_null(client->client);

	assert_int_equal(wl_shm_buffer_get_width(buffer), WIDTH);
	assert_int_equal(count_not_pattern(buffer, 12), 0);
	buffer_unref(buffer);
	harness_destroy(harness);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shm_release_as_libwayland),
		cmocka_unit_test(test_ref_functions_reach_the_preload),
		cmocka_unit_test(test_ref_keeps_buffer_after_resource),
		cmocka_unit_test(test_fault_after_resource_gone_posts_on_pool),
		cmocka_unit_test(test_ref_outlives_client),
	};
	return cmocka_run_group_tests(tests, find_ref_functions, NULL);
}

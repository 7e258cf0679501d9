/*
 * The wlroots adapter in a real wlroots compositor (0.15, or 0.18 to
 * 0.20, through compositor-demo's wlr-compat.h): the headless
 * backend and the pixman renderer, created directly (no environment, no
 * GPU), wlr_compositor and wlr_scene. A client commits our wl_buffers;
 * the scene renders them and the pixels read back match; the previous
 * buffer gets wl_buffer.release; a truncation during the render gets
 * wl_shm error invalid_fd on that wl_buffer.
 */
#include <fcntl.h>
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
#include <wlr/backend.h>
#include <wlr/render/allocator.h>
#include <wlr/render/pixman.h>
#include <wlr/util/log.h>
#include <wlr/version.h>

#include <shmguard/wayland.h>
#include <shmguard/wlr.h>

#include "harness.h"
#include "wlr-compat.h"

#define OUTPUT_SIZE 64
#define SURFACE_SIZE 32
#define SURFACE_STRIDE (SURFACE_SIZE * 4)
#define POOL_SIZE (SURFACE_STRIDE * SURFACE_SIZE)

struct compositor {
	struct wlr_backend *backend;
	struct wlr_renderer *renderer;
	struct wlr_allocator *allocator;
	struct wlr_compositor *compositor;
	struct wlr_output *output;
	struct wlr_scene *scene;
	/* Kept so that a forked client's leak check sees it reachable. */
	struct wlr_scene_output *scene_output;
	struct shmguard_wlr *adapter;
	struct wlr_surface *surface;
	struct wl_listener new_surface;
	struct wl_listener surface_destroy;
};

static void
handle_surface_destroy(struct wl_listener *listener, void *data)
{
	struct compositor *server = wl_container_of(listener, server, surface_destroy);
	wl_list_remove(&server->surface_destroy.link);
	server->surface = NULL;
}

static void
handle_new_surface(struct wl_listener *listener, void *data)
{
	struct compositor *server = wl_container_of(listener, server, new_surface);
	server->surface = data;
	server->surface_destroy.notify = handle_surface_destroy;
	wl_signal_add(&server->surface->events.destroy, &server->surface_destroy);
	assert_true(compat_scene_surface_create(compat_scene_root(server->scene), server->surface));
}

static void
compositor_teardown(struct harness *harness)
{
	struct compositor *server = harness->test_data;
	wl_list_remove(&server->new_surface.link);
	wlr_scene_node_destroy(compat_scene_root(server->scene));
	shmguard_wlr_destroy(server->adapter);
	wlr_backend_destroy(server->backend);
	wlr_allocator_destroy(server->allocator);
	wlr_renderer_destroy(server->renderer);
}

static void
compositor_create(struct harness *harness, struct compositor *server)
{
	memset(server, 0, sizeof(*server));
	server->backend = compat_headless_backend_create(harness->display);
	assert_non_null(server->backend);
	server->renderer = wlr_pixman_renderer_create();
	assert_non_null(server->renderer);
	server->allocator = wlr_allocator_autocreate(server->backend, server->renderer);
	assert_non_null(server->allocator);
	/* No wlr_renderer_init_wl_display(): wl_shm is libshmguard's. */
	server->compositor = compat_compositor_create(harness->display, server->renderer);
	assert_non_null(server->compositor);
	server->adapter = shmguard_wlr_create(harness->shm);
	assert_non_null(server->adapter);
	server->scene = wlr_scene_create();
	assert_non_null(server->scene);
	server->new_surface.notify = handle_new_surface;
	wl_signal_add(&server->compositor->events.new_surface, &server->new_surface);
	harness->test_data = server;
	harness->teardown_hook = compositor_teardown;

	assert_true(wlr_backend_start(server->backend));
	server->output = wlr_headless_add_output(server->backend, OUTPUT_SIZE, OUTPUT_SIZE);
	assert_non_null(server->output);
	assert_true(wlr_output_init_render(server->output, server->allocator, server->renderer));
	assert_true(compat_output_enable(server->output));
	server->scene_output = wlr_scene_output_create(server->scene, server->output);
	assert_non_null(server->scene_output);
}

/* Render the scene on black and read the output back as ARGB8888. */
static void
render_and_read(struct compositor *server, uint32_t *pixels)
{
	assert_true(compat_scene_output_render(
		server->scene, server->renderer, server->output, pixels, OUTPUT_SIZE * 4));
}

/* Pixels that differ from an XRGB8888 surface of pattern @p seed at the
 * top left of a black output (or from black where @p seed is 0). */
static unsigned
count_wrong_pixels(const uint32_t *pixels, uint32_t seed)
{
	unsigned wrong = 0;
	for (int y = 0; y < OUTPUT_SIZE; y++) {
		for (int x = 0; x < OUTPUT_SIZE; x++) {
			uint32_t want = 0xff000000u;
			if (seed != 0 && x < SURFACE_SIZE && y < SURFACE_SIZE) {
				uint64_t at = (uint64_t)y * SURFACE_STRIDE + (uint64_t)x * 4;
				want |= (uint32_t)pattern_byte(seed, at) |
					((uint32_t)pattern_byte(seed, at + 1) << 8) |
					((uint32_t)pattern_byte(seed, at + 2) << 16);
			}
			wrong += pixels[y * OUTPUT_SIZE + x] != want;
		}
	}
	return wrong;
}

/* ---- the client ---- */

static void
buffer_release(void *data, struct wl_buffer *buffer)
{
	int *released = data;
	(*released)++;
}

static const struct wl_buffer_listener buffer_listener = {
	.release = buffer_release,
};

static struct wl_buffer *
client_buffer(struct client_ctx *ctx, uint32_t seed, int *fd, int *released)
{
	*fd = client_memfd(POOL_SIZE, seed, false);
	CLIENT_CHECK(ctx, *fd >= 0);
	struct wl_shm_pool *pool = wl_shm_create_pool(ctx->shm, *fd, POOL_SIZE);
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(
		pool, 0, SURFACE_SIZE, SURFACE_SIZE, SURFACE_STRIDE, WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	wl_buffer_add_listener(buffer, &buffer_listener, released);
	return buffer;
}

static void
client_commits_buffers(struct client_ctx *ctx)
{
	CLIENT_CHECK(ctx, ctx->compositor != NULL);
	struct wl_surface *surface = wl_compositor_create_surface(ctx->compositor);
	int first_fd, second_fd, first_released = 0, second_released = 0;
	struct wl_buffer *first = client_buffer(ctx, 31, &first_fd, &first_released);
	wl_surface_attach(surface, first, 0, 0);
	wl_surface_damage(surface, 0, 0, SURFACE_SIZE, SURFACE_SIZE);
	wl_surface_commit(surface);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	uint32_t id = wl_proxy_get_id((struct wl_proxy *)first);
	client_send(ctx, CTL_STEP, &id, 1, NULL);
	client_recv(ctx, NULL);

	/* The next buffer replaces the first, which wlroots then releases. */
	struct wl_buffer *second = client_buffer(ctx, 32, &second_fd, &second_released);
	wl_surface_attach(surface, second, 0, 0);
	wl_surface_damage(surface, 0, 0, SURFACE_SIZE, SURFACE_SIZE);
	wl_surface_commit(surface);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	uint32_t values[3] = {wl_proxy_get_id((struct wl_proxy *)second), (uint32_t)first_released,
		(uint32_t)second_released};
	client_send(ctx, CTL_STEP, values, 3, NULL);
	client_recv(ctx, NULL);

	CLIENT_CHECK(ctx, ftruncate(second_fd, 0) == 0);
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	client_report_on(ctx, second);
}

static void
test_scene_renders_our_buffers(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct compositor server;
	compositor_create(harness, &server);
	struct test_client *client = harness_spawn(harness, client_commits_buffers, NULL);
	static uint32_t pixels[OUTPUT_SIZE * OUTPUT_SIZE];

	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	assert_non_null(server.surface);
	assert_non_null(wlr_surface_get_texture(server.surface));
	struct shmguard_buffer *first = harness_buffer(client, msg.values[0]);
	assert_non_null(first);
	assert_ptr_equal(shmguard_wlr_buffer_get(&server.surface->buffer->base), first);
	render_and_read(&server, pixels);
	assert_int_equal(count_wrong_pixels(pixels, 31), 0);

	harness_send(client, CTL_GO, 0);
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	/* wl_buffer.release followed the wlr_buffer's release. */
	assert_int_equal(msg.values[1], 1);
	assert_int_equal(msg.values[2], 0);
	struct shmguard_buffer *second = harness_buffer(client, msg.values[0]);
	assert_ptr_equal(shmguard_wlr_buffer_get(&server.surface->buffer->base), second);
	render_and_read(&server, pixels);
	assert_int_equal(count_wrong_pixels(pixels, 32), 0);
	assert_int_equal(harness->fault_count, 0);

	/* Truncated under the renderer: zeros on screen, invalid_fd on the
	 * wl_buffer, and the compositor goes on. */
	harness_send(client, CTL_GO, 0);
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	render_and_read(&server, pixels);
	assert_int_equal(count_wrong_pixels(pixels, 0), 0);
	assert_int_equal(harness->fault_count, 1);
	assert_int_equal(harness->faults[0].action, SHMGUARD_FAULT_ACTION_DISCONNECTED);
	harness_send(client, CTL_GO, 0);
	harness_expect_error(
		client, "wl_buffer", WL_SHM_ERROR_INVALID_FD, "client truncated its pool");
	harness_wait_exit(client);
	harness_serve(harness, 20);
	harness_destroy(harness);
}

/* A buffer that is not ours is not claimed; ours without an adapter is
 * not either. */
static void
test_adapter_claims_only_our_buffers(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct compositor server;
	compositor_create(harness, &server);
	assert_null(shmguard_wlr_buffer_get(NULL));
	/* Two adapters may coexist (wlroots registers the interface once). */
	struct shmguard_wlr *second = shmguard_wlr_create(harness->shm);
	assert_non_null(second);
	shmguard_wlr_destroy(second);
	shmguard_wlr_destroy(NULL);
	harness_destroy(harness);
}

/* The buffer @p id of @p client as wlroots takes it from a resource (a
 * locked wlr_buffer), as screencopy does. */
static struct wlr_buffer *
wlr_buffer_of(struct test_client *client, uint32_t id)
{
	struct wl_resource *resource = wl_client_get_object(client->client, id);
	assert_non_null(resource);
#if WLR_VERSION_MINOR >= 17
	return wlr_buffer_try_from_resource(resource);
#else
	return wlr_buffer_from_resource(resource);
#endif
}

/* A client asks for a capture into a buffer over a read-only fd; the
 * test reads the file afterwards. */
static void
client_read_only_capture_target(struct client_ctx *ctx)
{
	int fd = client_memfd(POOL_SIZE, 41, false);
	CLIENT_CHECK(ctx, fd >= 0);
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	struct client_pool made = client_pool_make(ctx, open(path, O_RDONLY | O_CLOEXEC), POOL_SIZE,
		SURFACE_SIZE, SURFACE_SIZE, SURFACE_STRIDE, WL_SHM_FORMAT_XRGB8888);
	client_recv(ctx, NULL);
	uint8_t bytes[POOL_SIZE];
	unsigned changed = 0;
	CLIENT_CHECK(ctx, pread(fd, bytes, sizeof(bytes), 0) == (ssize_t)sizeof(bytes));
	for (uint64_t i = 0; i < POOL_SIZE; i++) {
		changed += bytes[i] != pattern_byte(41, i);
	}
	CLIENT_CHECK(ctx, changed == 0);
	client_report_on(ctx, made.buffer);
}

/* wlroots writes into a buffer whose fd forbids it (screencopy into a
 * read-only fd): the access is given a scratch, not refused, because
 * wlroots' screencopy keeps a buffer locked for good when it is; the
 * client gets invalid_fd on the wl_buffer, its file is untouched, and the
 * wlr_buffer, once unlocked, goes with everything it held (the harness
 * counts the fds at the end). */
static void
test_write_into_read_only_buffer(void **state)
{
	struct harness *harness = harness_create(NULL);
	struct compositor server;
	compositor_create(harness, &server);
	struct test_client *client = harness_spawn(harness, client_read_only_capture_target, NULL);

	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	struct wlr_buffer *buffer = wlr_buffer_of(client, msg.values[0]);
	assert_non_null(buffer);
	void *data;
	uint32_t format;
	size_t stride;
	assert_true(wlr_buffer_begin_data_ptr_access(
		buffer, WLR_BUFFER_DATA_PTR_ACCESS_WRITE, &data, &format, &stride));
	assert_int_equal(stride, SURFACE_STRIDE);
	memset(data, 0xab, stride * SURFACE_SIZE);
	wlr_buffer_end_data_ptr_access(buffer);
	/* Reads still see the client's pixels. */
	assert_true(wlr_buffer_begin_data_ptr_access(
		buffer, WLR_BUFFER_DATA_PTR_ACCESS_READ, &data, &format, &stride));
	assert_int_equal(((const uint8_t *)data)[0], pattern_byte(41, 0));
	wlr_buffer_end_data_ptr_access(buffer);
	wlr_buffer_unlock(buffer);

	harness_send(client, CTL_GO, 0);
	harness_expect_error(client, "wl_buffer", WL_SHM_ERROR_INVALID_FD, "cannot be written");
	harness_wait_exit(client);
	harness_serve(harness, 20);
	harness_destroy(harness);
}

int
main(void)
{
	wlr_log_init(WLR_ERROR, NULL);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scene_renders_our_buffers),
		cmocka_unit_test(test_adapter_claims_only_our_buffers),
		cmocka_unit_test(test_write_into_read_only_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

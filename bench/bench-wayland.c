/*
 * bench-wayland: the protocol layer and the pixman adapter against what a
 * compositor would use without libshmguard, on the same client buffer and
 * in the same run.
 *
 * 1. begin+end access of a wl_buffer: shmguard_buffer_begin_access/
 *    end_access versus libwayland's wl_shm_buffer_begin_access/end_access
 *    (target: ratio <= 1.0).
 * 2. a pixman composite of a 1920x1080 ARGB8888 buffer onto a private
 *    image: through shmguard_pixman_image_begin/end versus from a plain
 *    mapping of the same file, made once (target: ratio <= 1.02).
 *
 * One display serves both libwayland's wl_shm and libshmguard's; a client
 * thread, connected over a socketpair, shares one memfd through each. The
 * two kinds of sample alternate, and each figure is the median of many.
 *
 * Usage: bench-wayland [--quick]
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <pixman.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include <shmguard/pixman.h>

#include "sample.h"
#include <shmguard/wayland.h>

#define WIDTH 1920
#define HEIGHT 1080
#define STRIDE (WIDTH * 4)
#define SIZE ((size_t)STRIDE * HEIGHT)

static int
compare_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double
median(double *values, size_t count)
{
	qsort(values, count, sizeof(*values), compare_double);
	return count % 2 ? values[count / 2] : (values[count / 2 - 1] + values[count / 2]) / 2;
}

/* ---- the client thread: one memfd, a pool and a buffer on each wl_shm ---- */

struct client_thread {
	int fd; /* its end of the socketpair */
	int memfd;
	uint32_t buffer_ids[2];
	unsigned buffer_count;
	atomic_bool ready;
	atomic_bool done;
	int failed;
};

static void
registry_global(void *data, struct wl_registry *registry, uint32_t name, const char *interface,
	uint32_t version)
{
	struct wl_shm **shms = data;
	if (strcmp(interface, wl_shm_interface.name) == 0) {
		int slot = shms[0] == NULL ? 0 : 1;
		if (shms[slot] == NULL) {
			shms[slot] = wl_registry_bind(registry, name, &wl_shm_interface, 1);
		}
	}
}

static void
registry_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void *
client_main(void *data)
{
	struct client_thread *thread = data;
	struct wl_display *display = wl_display_connect_to_fd(thread->fd);
	if (display == NULL) {
		thread->failed = 1;
		atomic_store(&thread->ready, true);
		return NULL;
	}
	struct wl_shm *shms[2] = {NULL, NULL};
	struct wl_registry *registry = wl_display_get_registry(display);
	wl_registry_add_listener(registry, &registry_listener, shms);
	wl_display_roundtrip(display);
	for (int i = 0; i < 2 && shms[i] != NULL; i++) {
		struct wl_shm_pool *pool =
			wl_shm_create_pool(shms[i], thread->memfd, (int32_t)SIZE);
		struct wl_buffer *buffer = wl_shm_pool_create_buffer(
			pool, 0, WIDTH, HEIGHT, STRIDE, WL_SHM_FORMAT_ARGB8888);
		wl_shm_pool_destroy(pool);
		thread->buffer_ids[thread->buffer_count++] =
			wl_proxy_get_id((struct wl_proxy *)buffer);
	}
	if (wl_display_roundtrip(display) < 0) {
		thread->failed = 1;
	}
	atomic_store(&thread->ready, true);
	/* Stay connected until the measurements are over. */
	while (!atomic_load(&thread->done)) {
		usleep(1000);
	}
	wl_display_disconnect(display);
	return NULL;
}

/* ---- the measurements ---- */

static volatile uint32_t sink;

static double
ours_begin_end_ns(struct shmguard_buffer *buffer, unsigned iterations)
{
	uint64_t start = sample_now_ns();
	for (unsigned i = 0; i < iterations; i++) {
		void *data;
		shmguard_buffer_begin_access(buffer, SHMGUARD_ACCESS_READ, &data);
		sink += *(const volatile uint8_t *)data;
		shmguard_buffer_end_access(buffer, NULL);
	}
	return (double)(sample_now_ns() - start) / iterations;
}

static double
core_begin_end_ns(struct shmguard_buffer *buffer, unsigned iterations)
{
	struct shmguard_pool *pool = shmguard_buffer_get_pool(buffer);
	uint64_t offset = shmguard_buffer_get_offset(buffer);
	uint64_t length = (uint64_t)shmguard_buffer_get_stride(buffer) *
		(uint64_t)shmguard_buffer_get_height(buffer);
	uint64_t start = sample_now_ns();
	for (unsigned i = 0; i < iterations; i++) {
		struct shmguard_access *access;
		void *data;
		shmguard_access_begin(pool, offset, length, SHMGUARD_ACCESS_READ, &access, &data);
		sink += *(const volatile uint8_t *)data;
		shmguard_access_end(access, NULL);
	}
	return (double)(sample_now_ns() - start) / iterations;
}

static double
libwayland_begin_end_ns(struct wl_shm_buffer *buffer, unsigned iterations)
{
	uint64_t start = sample_now_ns();
	for (unsigned i = 0; i < iterations; i++) {
		wl_shm_buffer_begin_access(buffer);
		sink += *(const volatile uint8_t *)wl_shm_buffer_get_data(buffer);
		wl_shm_buffer_end_access(buffer);
	}
	return (double)(sample_now_ns() - start) / iterations;
}

static double
composite_adapter_us(struct shmguard_buffer *buffer, pixman_image_t *dst, pixman_op_t op)
{
	uint64_t start = sample_now_ns();
	pixman_image_t *src = shmguard_pixman_image_begin(buffer, SHMGUARD_ACCESS_READ);
	pixman_image_composite32(op, src, NULL, dst, 0, 0, 0, 0, 0, 0, WIDTH, HEIGHT);
	shmguard_pixman_image_end(buffer, src, NULL);
	return (double)(sample_now_ns() - start) / 1000.0;
}

static double
composite_plain_us(pixman_image_t *src, pixman_image_t *dst, pixman_op_t op)
{
	uint64_t start = sample_now_ns();
	pixman_image_composite32(op, src, NULL, dst, 0, 0, 0, 0, 0, 0, WIDTH, HEIGHT);
	return (double)(sample_now_ns() - start) / 1000.0;
}

int
main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	unsigned pair_samples = quick ? 9 : 41;
	unsigned pair_iterations = quick ? 200000 : 1000000;
	unsigned composite_samples = quick ? 11 : 61;

	struct wl_display *display = wl_display_create();
	if (display == NULL || wl_display_init_shm(display) != 0) {
		fprintf(stderr,
			"bench-wayland: cannot create a display with libwayland's wl_shm\n");
		return 1;
	}
	struct shmguard_shm *shm = shmguard_shm_create(display, NULL);
	if (shm == NULL) {
		fprintf(stderr, "bench-wayland: shmguard_shm_create: %s\n", strerror(errno));
		return 1;
	}

	int sv[2];
	struct client_thread thread = {0};
	thread.memfd = sample_pattern_memfd("bench-wayland", SIZE);
	if (thread.memfd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		fprintf(stderr, "bench-wayland: set-up failed: %s\n", strerror(errno));
		return 1;
	}
	thread.fd = sv[1];
	struct wl_client *client = wl_client_create(display, sv[0]);
	pthread_t tid;
	pthread_create(&tid, NULL, client_main, &thread);
	struct wl_event_loop *loop = wl_display_get_event_loop(display);
	while (!atomic_load(&thread.ready)) {
		wl_display_flush_clients(display);
		wl_event_loop_dispatch(loop, 1);
	}
	wl_display_flush_clients(display);

	struct shmguard_buffer *ours = NULL;
	struct wl_shm_buffer *theirs = NULL;
	for (unsigned i = 0; i < thread.buffer_count; i++) {
		struct wl_resource *resource = wl_client_get_object(client, thread.buffer_ids[i]);
		if (shmguard_buffer_from_resource(resource) != NULL) {
			ours = shmguard_buffer_ref(shmguard_buffer_from_resource(resource));
		} else if (wl_shm_buffer_get(resource) != NULL) {
			theirs = wl_shm_buffer_get(resource);
		}
	}
	if (thread.failed || ours == NULL || theirs == NULL) {
		fprintf(stderr, "bench-wayland: the client did not make both buffers\n");
		return 1;
	}

	printf("bench-wayland: %dx%d ARGB8888 buffer (%zu bytes), one memfd shared through "
	       "libwayland's wl_shm and libshmguard's; read strategy: %s\n",
		WIDTH, HEIGHT, SIZE,
		shmguard_strategy_to_str(shmguard_pool_get_strategy(
			shmguard_buffer_get_pool(ours), SHMGUARD_ACCESS_READ)));

	/* 1. begin+end, alternating. */
	double *a = calloc(pair_samples, sizeof(double));
	double *b = calloc(pair_samples, sizeof(double));
	double *e = calloc(pair_samples, sizeof(double));
	ours_begin_end_ns(ours, pair_iterations / 10);
	libwayland_begin_end_ns(theirs, pair_iterations / 10);
	core_begin_end_ns(ours, pair_iterations / 10);
	for (unsigned i = 0; i < pair_samples; i++) {
		a[i] = ours_begin_end_ns(ours, pair_iterations);
		b[i] = libwayland_begin_end_ns(theirs, pair_iterations);
		e[i] = core_begin_end_ns(ours, pair_iterations);
	}
	double ours_pair = median(a, pair_samples);
	double theirs_pair = median(b, pair_samples);
	double core_pair = median(e, pair_samples);
	free(a);
	free(b);
	free(e);

	/* 2. composite of the whole buffer, alternating. */
	uint32_t *dst_bits = aligned_alloc(64, SIZE);
	memset(dst_bits, 0x40, SIZE);
	pixman_image_t *dst =
		pixman_image_create_bits(PIXMAN_a8r8g8b8, WIDTH, HEIGHT, dst_bits, STRIDE);
	void *plain = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, thread.memfd, 0);
	if (plain == MAP_FAILED) {
		fprintf(stderr, "bench-wayland: mmap: %s\n", strerror(errno));
		return 1;
	}
	pixman_image_t *plain_image =
		pixman_image_create_bits(PIXMAN_a8r8g8b8, WIDTH, HEIGHT, plain, STRIDE);
	const pixman_op_t ops[] = {PIXMAN_OP_OVER, PIXMAN_OP_SRC};
	const char *op_names[] = {"OVER", "SRC"};
	double adapter_us[2], plain_us[2];
	double *c = calloc(composite_samples, sizeof(double));
	double *d = calloc(composite_samples, sizeof(double));
	for (int k = 0; k < 2; k++) {
		for (int w = 0; w < 3; w++) {
			composite_adapter_us(ours, dst, ops[k]);
			composite_plain_us(plain_image, dst, ops[k]);
		}
		for (unsigned i = 0; i < composite_samples; i++) {
			if (i % 2 == 0) {
				c[i] = composite_adapter_us(ours, dst, ops[k]);
				d[i] = composite_plain_us(plain_image, dst, ops[k]);
			} else {
				d[i] = composite_plain_us(plain_image, dst, ops[k]);
				c[i] = composite_adapter_us(ours, dst, ops[k]);
			}
		}
		adapter_us[k] = median(c, composite_samples);
		plain_us[k] = median(d, composite_samples);
	}
	free(c);
	free(d);

	printf("\n%-44s %12s %12s %8s %8s\n", "measurement (median)", "libshmguard", "peer",
		"ratio", "target");
	printf("%-44s %9.2f ns %9.2f ns %8.3f %8s\n", "begin+end access vs wl_shm_buffer_begin/end",
		ours_pair, theirs_pair, ours_pair / theirs_pair, "<= 1.00");
	printf("%-44s %9.2f ns %9.2f ns %8.3f %8s\n",
		"  (core shmguard_access_begin/end, same pool)", core_pair, theirs_pair,
		core_pair / theirs_pair, "");
	for (int k = 0; k < 2; k++) {
		char name[64];
		snprintf(name, sizeof(name), "pixman %s 1920x1080 vs unguarded mapping",
			op_names[k]);
		printf("%-44s %9.1f us %9.1f us %8.3f %8s\n", name, adapter_us[k], plain_us[k],
			adapter_us[k] / plain_us[k], "<= 1.02");
	}
	printf("\n(%u samples of %u begin+end pairs; %u composites of each kind; samples "
	       "alternate between the two sides)\n",
		pair_samples, pair_iterations, composite_samples);

	pixman_image_unref(plain_image);
	pixman_image_unref(dst);
	munmap(plain, SIZE);
	free(dst_bits);
	shmguard_buffer_unref(ours);
	atomic_store(&thread.done, true);
	pthread_join(tid, NULL);
	wl_display_destroy_clients(display);
	shmguard_shm_destroy(shm);
	wl_display_destroy(display);
	close(thread.memfd);
	return 0;
}

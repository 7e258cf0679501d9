/*
 * client-demo capture: ask the compositor to copy its output into one of
 * our shm buffers (zwlr_screencopy_manager_v1), then write it as a PNG.
 * This is the compositor writing into client memory: the write direction.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wayland-client.h>

#include "client.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"
#include "xdg-output-unstable-v1-client-protocol.h"

struct capture {
	struct client client;
	struct zxdg_output_v1 *xdg_output;
	char output_name[64];
	struct zwlr_screencopy_frame_v1 *frame;
	struct demo_pool *pool;
	struct wl_buffer *buffer;
	uint32_t format, width, height, stride;
	bool have_shm_buffer;
	bool described;
	bool y_invert;
	bool ready, failed;
};

static void
xdg_output_logical_position(void *data, struct zxdg_output_v1 *output, int32_t x, int32_t y)
{
}

static void
xdg_output_logical_size(void *data, struct zxdg_output_v1 *output, int32_t w, int32_t h)
{
}

static void
xdg_output_done(void *data, struct zxdg_output_v1 *output)
{
}

static void
xdg_output_name(void *data, struct zxdg_output_v1 *output, const char *name)
{
	struct capture *c = data;
	snprintf(c->output_name, sizeof(c->output_name), "%s", name);
}

static void
xdg_output_description(void *data, struct zxdg_output_v1 *output, const char *description)
{
}

static const struct zxdg_output_v1_listener xdg_output_listener = {
	.logical_position = xdg_output_logical_position,
	.logical_size = xdg_output_logical_size,
	.done = xdg_output_done,
	.name = xdg_output_name,
	.description = xdg_output_description,
};

static void
frame_buffer(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t format, uint32_t width,
	uint32_t height, uint32_t stride)
{
	struct capture *c = data;
	c->format = format;
	c->width = width;
	c->height = height;
	c->stride = stride;
	c->have_shm_buffer = true;
	/* Before version 3 there is no buffer_done: this is the whole list. */
	if (zwlr_screencopy_frame_v1_get_version(frame) < 3) {
		c->described = true;
	}
}

static void
frame_flags(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t flags)
{
	struct capture *c = data;
	c->y_invert = (flags & ZWLR_SCREENCOPY_FRAME_V1_FLAGS_Y_INVERT) != 0;
}

static void
frame_ready(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t sec_hi, uint32_t sec_lo,
	uint32_t nsec)
{
	struct capture *c = data;
	c->ready = true;
}

static void
frame_failed(void *data, struct zwlr_screencopy_frame_v1 *frame)
{
	struct capture *c = data;
	c->failed = true;
}

static void
frame_damage(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t x, uint32_t y,
	uint32_t width, uint32_t height)
{
}

static void
frame_linux_dmabuf(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t format,
	uint32_t width, uint32_t height)
{
}

static void
frame_buffer_done(void *data, struct zwlr_screencopy_frame_v1 *frame)
{
	struct capture *c = data;
	c->described = true;
}

static const struct zwlr_screencopy_frame_v1_listener frame_listener = {
	.buffer = frame_buffer,
	.flags = frame_flags,
	.ready = frame_ready,
	.failed = frame_failed,
	.damage = frame_damage,
	.linux_dmabuf = frame_linux_dmabuf,
	.buffer_done = frame_buffer_done,
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: client-demo capture [--read-only-fd|--write-sealed] FILE.png\n"
		"Capture the first output through zwlr_screencopy_manager_v1 into a shm\n"
		"buffer and write it as a PNG. --read-only-fd sends the pool's fd opened\n"
		"read-only, --write-sealed a memfd sealed against writes: the compositor\n"
		"cannot write either, so the capture must fail and we must stay connected.\n"
		"Exit status: 0 PNG written, 6 capture failed, 3 protocol error,\n"
		"4 connection lost.\n");
}

static int
run(struct capture *c, const char *path, enum demo_pool_kind kind)
{
	struct client *client = &c->client;
	if (client->screencopy_manager == NULL || client->output == NULL || client->shm == NULL) {
		fprintf(stderr, "capture: no zwlr_screencopy_manager_v1, wl_output or wl_shm\n");
		return DEMO_EXIT_FAILURE;
	}
	snprintf(c->output_name, sizeof(c->output_name), "(unnamed)");
	if (client->xdg_output_manager != NULL) {
		c->xdg_output = zxdg_output_manager_v1_get_xdg_output(
			client->xdg_output_manager, client->output);
		zxdg_output_v1_add_listener(c->xdg_output, &xdg_output_listener, c);
	}
	c->frame = zwlr_screencopy_manager_v1_capture_output(
		client->screencopy_manager, 0, client->output);
	zwlr_screencopy_frame_v1_add_listener(c->frame, &frame_listener, c);
	if (client_dispatch_until(client, &c->described, 5000) < 0) {
		return client_report_disconnect(client, false);
	}
	if (!c->described || !c->have_shm_buffer) {
		fprintf(stderr, "capture: the compositor offered no wl_shm buffer\n");
		return DEMO_EXIT_FAILURE;
	}
	if (c->stride < c->width * 4 || c->height == 0) {
		fprintf(stderr, "capture: unusable buffer parameters %ux%u stride %u\n", c->width,
			c->height, c->stride);
		return DEMO_EXIT_FAILURE;
	}
	c->pool = demo_pool_create(client, (uint64_t)c->stride * c->height, kind);
	if (c->pool == NULL) {
		return DEMO_EXIT_FAILURE;
	}
	c->buffer = wl_shm_pool_create_buffer(c->pool->wl_pool, 0, (int32_t)c->width,
		(int32_t)c->height, (int32_t)c->stride, c->format);
	zwlr_screencopy_frame_v1_copy(c->frame, c->buffer);
	bool finished = false;
	int64_t end = demo_now_ms() + 5000;
	while (!finished && demo_now_ms() < end) {
		if (client_dispatch_until(client, NULL, 100) < 0) {
			return client_report_disconnect(client, false);
		}
		finished = c->ready || c->failed;
	}
	if (c->failed) {
		/* Still connected? A roundtrip tells. */
		if (wl_display_roundtrip(client->display) < 0) {
			return client_report_disconnect(client, false);
		}
		printf("capture: frame failed (screencopy failed event), still connected\n");
		return DEMO_EXIT_CAPTURE_FAILED;
	}
	if (!c->ready) {
		fprintf(stderr, "capture: no answer from the compositor within 5 s\n");
		return DEMO_EXIT_FAILURE;
	}
	int ret = demo_png_write(
		path, c->pool->data, c->width, c->height, c->stride, c->format, c->y_invert);
	if (ret < 0) {
		fprintf(stderr, "capture: writing %s failed (format 0x%x)\n", path, c->format);
		return DEMO_EXIT_FAILURE;
	}
	printf("capture: output %s %ux%u format 0x%08x -> %s\n", c->output_name, c->width,
		c->height, c->format, path);
	return DEMO_EXIT_OK;
}

int
mode_capture(int argc, char **argv)
{
	static const struct option options[] = {
		{"read-only-fd", no_argument, NULL, 'r'},
		{"write-sealed", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	enum demo_pool_kind kind = DEMO_POOL_UNSEALED;
	int opt;
	while ((opt = getopt_long(argc, argv, "rsh", options, NULL)) != -1) {
		switch (opt) {
		case 'r':
			kind = DEMO_POOL_READ_ONLY_FD;
			break;
		case 's':
			kind = DEMO_POOL_WRITE_SEALED;
			break;
		case 'h':
			usage(stdout);
			return DEMO_EXIT_OK;
		default:
			usage(stderr);
			return DEMO_EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return DEMO_EXIT_USAGE;
	}
	const char *path = argv[optind];

	static struct capture c;
	int status = client_connect(&c.client, "capture");
	if (status != DEMO_EXIT_OK) {
		return status;
	}
	status = run(&c, path, kind);
	if (c.frame != NULL) {
		zwlr_screencopy_frame_v1_destroy(c.frame);
	}
	if (c.xdg_output != NULL) {
		zxdg_output_v1_destroy(c.xdg_output);
	}
	if (c.buffer != NULL) {
		wl_buffer_destroy(c.buffer);
	}
	demo_pool_destroy(c.pool);
	client_disconnect(&c.client);
	return status;
}

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

#include "demo.h"
#include "xdg-output-unstable-v1-client-protocol.h"

struct capture {
	struct client client;
	struct zxdg_output_v1 *xdg_output;
	char output_name[64];
	struct client_capture capture;
	struct demo_pool *pool;
	struct wl_buffer *buffer;
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
	struct client_capture *capture = &c->capture;
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
	if (client_capture_start(client, capture, 5000) < 0) {
		return demo_report_disconnect(client, false);
	}
	if (!capture->described || !capture->shm_offered || capture->failed) {
		fprintf(stderr, "capture: the compositor offered no wl_shm buffer\n");
		return DEMO_EXIT_FAILURE;
	}
	uint32_t width = capture->width, height = capture->height, stride = capture->stride;
	if (stride < width * 4 || height == 0) {
		fprintf(stderr, "capture: unusable buffer parameters %ux%u stride %u\n", width,
			height, stride);
		return DEMO_EXIT_FAILURE;
	}
	c->pool = demo_pool_create(client, (uint64_t)stride * height, kind);
	if (c->pool == NULL) {
		return DEMO_EXIT_FAILURE;
	}
	c->buffer = wl_shm_pool_create_buffer(c->pool->wl_pool, 0, (int32_t)width, (int32_t)height,
		(int32_t)stride, capture->format);
	if (client_capture_copy(capture, c->buffer, 5000) < 0) {
		return demo_report_disconnect(client, false);
	}
	if (capture->failed) {
		/* Still connected? A roundtrip tells. */
		if (wl_display_roundtrip(client->display) < 0) {
			return demo_report_disconnect(client, false);
		}
		printf("capture: frame failed (screencopy failed event), still connected\n");
		return DEMO_EXIT_CAPTURE_FAILED;
	}
	if (!capture->ready) {
		fprintf(stderr, "capture: no answer from the compositor within 5 s\n");
		return DEMO_EXIT_FAILURE;
	}
	int ret = demo_png_write(
		path, c->pool->data, width, height, stride, capture->format, capture->y_invert);
	if (ret < 0) {
		fprintf(stderr, "capture: writing %s failed (format 0x%x)\n", path,
			capture->format);
		return DEMO_EXIT_FAILURE;
	}
	printf("capture: output %s %ux%u format 0x%08x -> %s\n", c->output_name, width, height,
		capture->format, path);
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
	int status = demo_connect(&c.client, "capture");
	if (status != DEMO_EXIT_OK) {
		return status;
	}
	status = run(&c, path, kind);
	client_capture_finish(&c.capture);
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

/*
 * demo-client-support: a screen capture (zwlr_screencopy_frame_v1): the
 * buffer the compositor asks for, the copy, and how it ended.
 */
#include <stdint.h>

#include <wayland-client.h>

#include "client.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"

static void
frame_buffer(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t format, uint32_t width,
	uint32_t height, uint32_t stride)
{
	struct client_capture *capture = data;
	capture->format = format;
	capture->width = width;
	capture->height = height;
	capture->stride = stride;
	capture->shm_offered = true;
	/* Before version 3 there is no buffer_done: this is the whole list. */
	if (zwlr_screencopy_frame_v1_get_version(frame) < 3) {
		capture->described = true;
	}
}

static void
frame_flags(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t flags)
{
	struct client_capture *capture = data;
	capture->y_invert = (flags & ZWLR_SCREENCOPY_FRAME_V1_FLAGS_Y_INVERT) != 0;
}

static void
frame_ready(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t tv_sec_hi,
	uint32_t tv_sec_lo, uint32_t tv_nsec)
{
	struct client_capture *capture = data;
	capture->ready = true;
	capture->ended = true;
}

static void
frame_failed(void *data, struct zwlr_screencopy_frame_v1 *frame)
{
	struct client_capture *capture = data;
	capture->failed = true;
	capture->ended = true;
	/* A failure before the description ends the wait for it too. */
	capture->described = true;
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
	struct client_capture *capture = data;
	capture->described = true;
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

int
client_capture_start(struct client *client, struct client_capture *capture, int timeout_ms)
{
	*capture = (struct client_capture){.client = client};
	capture->frame = zwlr_screencopy_manager_v1_capture_output(
		client->screencopy_manager, 0, client->output);
	zwlr_screencopy_frame_v1_add_listener(capture->frame, &frame_listener, capture);
	return client_dispatch_until(client, &capture->described, timeout_ms);
}

int
client_capture_copy(struct client_capture *capture, struct wl_buffer *buffer, int timeout_ms)
{
	zwlr_screencopy_frame_v1_copy(capture->frame, buffer);
	return client_dispatch_until(capture->client, &capture->ended, timeout_ms);
}

void
client_capture_finish(struct client_capture *capture)
{
	if (capture->frame != NULL) {
		zwlr_screencopy_frame_v1_destroy(capture->frame);
		capture->frame = NULL;
	}
}

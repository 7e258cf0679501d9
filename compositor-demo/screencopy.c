/*
 * compositor-demo: zwlr_screencopy_manager_v1, version 3, for wl_shm
 * buffers. The output is rendered into memory we own, then written into
 * the client's buffer through the shm layer's write-back path: a buffer
 * the compositor may not write (read-only fd, write seal) or one whose
 * file was truncated makes that frame fail and nothing else.
 */
#include <assert.h>
#include <stdlib.h>
#include <time.h>

#include <wayland-server-core.h>
#include <wayland-server-protocol.h>
#include <wlr/types/wlr_output.h>
#include <wlr/util/box.h>
#include <wlr/util/log.h>

#include "server.h"
#include "wlr-screencopy-unstable-v1-protocol.h"

#define SCREENCOPY_VERSION 3

struct demo_screencopy {
	struct server *server;
	struct wl_global *global;
	struct wl_list resources; /* manager resources, wl_resource_get_link() */
	struct wl_list frames; /* struct screencopy_frame.link */
};

struct screencopy_frame {
	struct demo_screencopy *screencopy;
	struct wl_resource *resource;
	struct wl_list link; /* demo_screencopy.frames */
	struct wlr_output *output; /* NULL once the output is gone */
	struct wl_listener output_destroy;
	struct wlr_box box; /* in output buffer pixels */
	uint32_t format; /* wl_shm format */
	uint32_t stride;
	bool used;
};

static const struct zwlr_screencopy_frame_v1_interface frame_impl;

static struct screencopy_frame *
frame_from_resource(struct wl_resource *resource)
{
	assert(wl_resource_instance_of(resource, &zwlr_screencopy_frame_v1_interface, &frame_impl));
	return wl_resource_get_user_data(resource);
}

static void
frame_forget_output(struct screencopy_frame *frame)
{
	if (frame->output != NULL) {
		wl_list_remove(&frame->output_destroy.link);
		frame->output = NULL;
	}
}

static void
frame_free(struct screencopy_frame *frame)
{
	frame_forget_output(frame);
	wl_list_remove(&frame->link);
	wl_resource_set_user_data(frame->resource, NULL);
	free(frame);
}

static void
handle_output_destroy(struct wl_listener *listener, void *data)
{
	struct screencopy_frame *frame = wl_container_of(listener, frame, output_destroy);
	frame_forget_output(frame);
}

static void
frame_copy(struct wl_client *client, struct wl_resource *resource,
	struct wl_resource *buffer_resource, bool with_damage)
{
	struct screencopy_frame *frame = frame_from_resource(resource);
	if (frame == NULL) {
		return;
	}
	if (frame->used) {
		wl_resource_post_error(resource, ZWLR_SCREENCOPY_FRAME_V1_ERROR_ALREADY_USED,
			"copy was already requested on this frame");
		return;
	}
	frame->used = true;
	struct server *server = frame->screencopy->server;

	struct shm_buffer_info info;
	if (!shm_buffer_describe(server, buffer_resource, &info)) {
		wl_resource_post_error(resource, ZWLR_SCREENCOPY_FRAME_V1_ERROR_INVALID_BUFFER,
			"only wl_shm buffers are supported");
		return;
	}
	if (info.format != frame->format || info.width != frame->box.width ||
		info.height != frame->box.height || (uint32_t)info.stride != frame->stride) {
		wl_resource_post_error(resource, ZWLR_SCREENCOPY_FRAME_V1_ERROR_INVALID_BUFFER,
			"buffer is not %dx%d, stride %u, format 0x%x as announced",
			frame->box.width, frame->box.height, frame->stride, frame->format);
		return;
	}
	if (frame->output == NULL || !frame->output->enabled) {
		zwlr_screencopy_frame_v1_send_failed(resource);
		return;
	}

	size_t size = (size_t)frame->stride * (size_t)frame->box.height;
	void *pixels = malloc(size);
	if (pixels == NULL) {
		zwlr_screencopy_frame_v1_send_failed(resource);
		return;
	}
	bool ok = capture_output(server, frame->output, frame->box.x, frame->box.y,
		frame->box.width, frame->box.height, pixels, frame->stride);
	const char *why = "rendering the output failed";
	if (ok) {
		ok = shm_buffer_write(server, buffer_resource, pixels, frame->stride,
			(uint32_t)frame->box.width * 4, frame->box.height, &why);
	}
	free(pixels);
	if (!ok) {
		char name[64];
		/* A refused write (read-only, write-sealed) keeps the client; a
		 * fault gets the fault policy, whose own log line says what
		 * was done to the client. */
		demo_log("screencopy: %s: capture not written: %s; frame failed",
			demo_client_name(client, name, sizeof(name)), why);
		zwlr_screencopy_frame_v1_send_failed(resource);
		return;
	}

	uint32_t version = (uint32_t)wl_resource_get_version(resource);
	if (with_damage && version >= ZWLR_SCREENCOPY_FRAME_V1_DAMAGE_SINCE_VERSION) {
		/* We do not track damage per client: all of it changed. */
		zwlr_screencopy_frame_v1_send_damage(
			resource, 0, 0, (uint32_t)frame->box.width, (uint32_t)frame->box.height);
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	uint64_t sec = (uint64_t)now.tv_sec;
	zwlr_screencopy_frame_v1_send_flags(resource, 0);
	zwlr_screencopy_frame_v1_send_ready(
		resource, (uint32_t)(sec >> 32), (uint32_t)sec, (uint32_t)now.tv_nsec);
}

static void
frame_handle_copy(
	struct wl_client *client, struct wl_resource *resource, struct wl_resource *buffer)
{
	frame_copy(client, resource, buffer, false);
}

static void
frame_handle_copy_with_damage(
	struct wl_client *client, struct wl_resource *resource, struct wl_resource *buffer)
{
	frame_copy(client, resource, buffer, true);
}

static void
frame_handle_destroy(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static const struct zwlr_screencopy_frame_v1_interface frame_impl = {
	.copy = frame_handle_copy,
	.destroy = frame_handle_destroy,
	.copy_with_damage = frame_handle_copy_with_damage,
};

static void
frame_resource_destroy(struct wl_resource *resource)
{
	struct screencopy_frame *frame = frame_from_resource(resource);
	if (frame != NULL) {
		frame_free(frame);
	}
}

/* Start a capture of @p region (logical coordinates; NULL: all of it). */
static void
capture(struct wl_client *client, struct wl_resource *manager_resource, uint32_t id,
	struct wl_resource *output_resource, const struct wlr_box *region)
{
	struct demo_screencopy *screencopy = wl_resource_get_user_data(manager_resource);
	uint32_t version = (uint32_t)wl_resource_get_version(manager_resource);
	struct wl_resource *resource =
		wl_resource_create(client, &zwlr_screencopy_frame_v1_interface, (int)version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(resource, &frame_impl, NULL, frame_resource_destroy);
	if (screencopy == NULL) {
		zwlr_screencopy_frame_v1_send_failed(resource);
		return;
	}
	struct screencopy_frame *frame = calloc(1, sizeof(*frame));
	if (frame == NULL) {
		wl_resource_destroy(resource);
		wl_client_post_no_memory(client);
		return;
	}
	frame->screencopy = screencopy;
	frame->resource = resource;
	wl_list_insert(&screencopy->frames, &frame->link);
	wl_resource_set_user_data(resource, frame);

	struct wlr_output *output = wlr_output_from_resource(output_resource);
	if (output == NULL || !output->enabled) {
		zwlr_screencopy_frame_v1_send_failed(resource);
		return;
	}
	frame->output = output;
	frame->output_destroy.notify = handle_output_destroy;
	wl_signal_add(&output->events.destroy, &frame->output_destroy);

	struct wlr_box whole = {.width = output->width, .height = output->height};
	frame->box = whole;
	if (region != NULL) {
		/* Logical to buffer pixels, then clipped to the output. */
		struct wlr_box scaled = {
			.x = (int)(region->x * output->scale),
			.y = (int)(region->y * output->scale),
			.width = (int)(region->width * output->scale),
			.height = (int)(region->height * output->scale),
		};
		if (!wlr_box_intersection(&frame->box, &whole, &scaled)) {
			zwlr_screencopy_frame_v1_send_failed(resource);
			return;
		}
	}
	frame->format = WL_SHM_FORMAT_XRGB8888;
	frame->stride = (uint32_t)frame->box.width * 4;
	zwlr_screencopy_frame_v1_send_buffer(resource, frame->format, (uint32_t)frame->box.width,
		(uint32_t)frame->box.height, frame->stride);
	if (version >= ZWLR_SCREENCOPY_FRAME_V1_BUFFER_DONE_SINCE_VERSION) {
		zwlr_screencopy_frame_v1_send_buffer_done(resource);
	}
}

static void
manager_handle_capture_output(struct wl_client *client, struct wl_resource *resource, uint32_t id,
	int32_t overlay_cursor, struct wl_resource *output)
{
	capture(client, resource, id, output, NULL);
}

static void
manager_handle_capture_output_region(struct wl_client *client, struct wl_resource *resource,
	uint32_t id, int32_t overlay_cursor, struct wl_resource *output, int32_t x, int32_t y,
	int32_t width, int32_t height)
{
	struct wlr_box region = {.x = x, .y = y, .width = width, .height = height};
	capture(client, resource, id, output, &region);
}

static void
manager_handle_destroy(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static const struct zwlr_screencopy_manager_v1_interface manager_impl = {
	.capture_output = manager_handle_capture_output,
	.capture_output_region = manager_handle_capture_output_region,
	.destroy = manager_handle_destroy,
};

static void
manager_resource_destroy(struct wl_resource *resource)
{
	wl_list_remove(wl_resource_get_link(resource));
}

static void
manager_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
	struct demo_screencopy *screencopy = data;
	struct wl_resource *resource =
		wl_resource_create(client, &zwlr_screencopy_manager_v1_interface, (int)version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(
		resource, &manager_impl, screencopy, manager_resource_destroy);
	wl_list_insert(&screencopy->resources, wl_resource_get_link(resource));
}

struct demo_screencopy *
screencopy_create(struct server *server)
{
	struct demo_screencopy *screencopy = calloc(1, sizeof(*screencopy));
	if (screencopy == NULL) {
		return NULL;
	}
	screencopy->server = server;
	wl_list_init(&screencopy->resources);
	wl_list_init(&screencopy->frames);
	screencopy->global =
		wl_global_create(server->display, &zwlr_screencopy_manager_v1_interface,
			SCREENCOPY_VERSION, screencopy, manager_bind);
	if (screencopy->global == NULL) {
		free(screencopy);
		return NULL;
	}
	return screencopy;
}

void
screencopy_destroy(struct demo_screencopy *screencopy)
{
	if (screencopy == NULL) {
		return;
	}
	struct screencopy_frame *frame, *tmp;
	wl_list_for_each_safe (frame, tmp, &screencopy->frames, link) {
		frame_free(frame);
	}
	/* Managers that outlive us become inert: their frames fail at once. */
	struct wl_resource *resource, *tmp_resource;
	wl_resource_for_each_safe(resource, tmp_resource, &screencopy->resources)
	{
		wl_resource_set_user_data(resource, NULL);
		wl_list_remove(wl_resource_get_link(resource));
		wl_list_init(wl_resource_get_link(resource));
	}
	wl_global_destroy(screencopy->global);
	free(screencopy);
}

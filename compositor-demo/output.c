/*
 * compositor-demo: outputs. Each is rendered from the scene graph on every
 * frame event; surfaces shown on it then get their frame callbacks.
 */
#include <stdlib.h>
#include <time.h>

#include <wlr/backend.h>
#include <wlr/types/wlr_output.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/util/box.h>
#include <wlr/util/log.h>

#include "server.h"
#include "wlr-compat.h"

struct demo_output {
	struct server *server;
	struct wlr_output *wlr_output;
	struct wl_list link; /* server.outputs */
	struct wl_listener frame;
	struct wl_listener destroy;
};

static void
handle_frame(struct wl_listener *listener, void *data)
{
	struct demo_output *output = wl_container_of(listener, output, frame);
	struct server *server = output->server;
	struct wlr_scene_output *scene_output =
		wlr_scene_get_scene_output(server->scene, output->wlr_output);
	if (scene_output == NULL) {
		return;
	}
	if (compat_scene_output_commit(scene_output)) {
		server->frames_rendered++;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	wlr_scene_output_send_frame_done(scene_output, &now);
}

static void
output_free(struct demo_output *output)
{
	wl_list_remove(&output->frame.link);
	wl_list_remove(&output->destroy.link);
	wl_list_remove(&output->link);
	free(output);
}

static void
handle_destroy(struct wl_listener *listener, void *data)
{
	struct demo_output *output = wl_container_of(listener, output, destroy);
	output_free(output);
}

/* The background covers every output; the layout may have grown. */
static void
fit_background(struct server *server)
{
	struct wlr_box box;
	compat_output_layout_get_box(server->output_layout, &box);
	wlr_scene_node_set_position(&server->background->node, box.x, box.y);
	wlr_scene_rect_set_size(server->background, box.width, box.height);
}

static void
handle_new_output(struct wl_listener *listener, void *data)
{
	struct server *server = wl_container_of(listener, server, new_output);
	struct wlr_output *wlr_output = data;

	if (!wlr_output_init_render(wlr_output, server->allocator, server->renderer)) {
		wlr_log(WLR_ERROR, "cannot render on output %s", wlr_output->name);
		return;
	}
	if (!compat_output_enable(wlr_output)) {
		wlr_log(WLR_ERROR, "cannot enable output %s", wlr_output->name);
		return;
	}

	struct demo_output *output = calloc(1, sizeof(*output));
	if (output == NULL) {
		wlr_log(WLR_ERROR, "%s", "out of memory");
		return;
	}
	output->server = server;
	output->wlr_output = wlr_output;
	output->frame.notify = handle_frame;
	wl_signal_add(&wlr_output->events.frame, &output->frame);
	output->destroy.notify = handle_destroy;
	wl_signal_add(&wlr_output->events.destroy, &output->destroy);
	wl_list_insert(server->outputs.prev, &output->link);

	/* The output's place in the layout (and with it its xdg_output) and
	 * its scene output. */
	if (!compat_scene_add_output(
		    server->scene, server->scene_layout, server->output_layout, wlr_output)) {
		wlr_log(WLR_ERROR, "cannot add output %s to the scene", wlr_output->name);
	}
	fit_background(server);
	wlr_log(WLR_INFO, "output %s: %dx%d", wlr_output->name, wlr_output->width,
		wlr_output->height);
}

void
output_init(struct server *server)
{
	wl_list_init(&server->outputs);
	server->new_output.notify = handle_new_output;
	wl_signal_add(&server->backend->events.new_output, &server->new_output);
}

void
output_finish(struct server *server)
{
	/* Outputs still there are freed when the backend destroys them. */
	wl_list_remove(&server->new_output.link);
}

struct wlr_output *
output_first(struct server *server)
{
	if (wl_list_empty(&server->outputs)) {
		return NULL;
	}
	struct demo_output *output = wl_container_of(server->outputs.next, output, link);
	return output->wlr_output;
}

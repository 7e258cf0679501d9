/*
 * compositor-demo: a wlroots 0.15 compositor whose wl_shm is libshmguard's.
 * Command line, set-up, the event loop, tear-down.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wayland-server-core.h>
#include <wlr/backend.h>
#include <wlr/backend/headless.h>
#include <wlr/render/allocator.h>
#include <wlr/render/pixman.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_compositor.h>
#include <wlr/types/wlr_data_device.h>
#include <wlr/types/wlr_output_layout.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_seat.h>
#include <wlr/types/wlr_xdg_output_v1.h>
#include <wlr/types/wlr_xdg_shell.h>
#include <wlr/util/log.h>

#include "server.h"

#define POLICY_COUNT 3
static const char *const policy_names[POLICY_COUNT] = {
	[DEMO_POLICY_DISCONNECT] = "disconnect",
	[DEMO_POLICY_ZEROS] = "zeros",
	[DEMO_POLICY_REVALIDATE] = "revalidate",
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: compositor-demo [--socket NAME] [--size WxH] [--screenshot FILE.png]\n"
		"                       [--exit-after SECONDS]\n"
		"                       [--policy disconnect|zeros|revalidate]\n"
		"                       [--builtin-shm] [--headless] [-v]\n"
		"A wlroots compositor serving wl_shm through libshmguard. Prints\n"
		"WAYLAND_DISPLAY=NAME once it listens; runs until SIGTERM, SIGINT or\n"
		"--exit-after; with --screenshot, writes a PNG of the output on exit and on\n"
		"SIGUSR1. Runs headless unless WAYLAND_DISPLAY or DISPLAY is set and\n"
		"--headless is not given.\n");
}

static bool
parse_size(const char *text, uint32_t *width, uint32_t *height)
{
	unsigned int w = 0, h = 0;
	char extra;
	if (sscanf(text, "%ux%u%c", &w, &h, &extra) != 2 || w == 0 || h == 0 || w > 8192 ||
		h > 8192) {
		return false;
	}
	*width = w;
	*height = h;
	return true;
}

/* Returns -1 to go on, or an exit status. */
static int
parse_options(int argc, char **argv, struct demo_options *options)
{
	static const struct option long_options[] = {
		{"socket", required_argument, NULL, 's'},
		{"size", required_argument, NULL, 'S'},
		{"screenshot", required_argument, NULL, 'o'},
		{"exit-after", required_argument, NULL, 'x'},
		{"policy", required_argument, NULL, 'p'},
		{"builtin-shm", no_argument, NULL, 'b'},
		{"headless", no_argument, NULL, 'H'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	*options = (struct demo_options){.width = 1280, .height = 720};
	int opt;
	while ((opt = getopt_long(argc, argv, "s:S:o:x:p:bHvh", long_options, NULL)) != -1) {
		switch (opt) {
		case 's':
			options->socket = optarg;
			break;
		case 'S':
			if (!parse_size(optarg, &options->width, &options->height)) {
				fprintf(stderr, "compositor-demo: bad --size %s\n", optarg);
				return 2;
			}
			break;
		case 'o':
			options->screenshot = optarg;
			break;
		case 'x': {
			char *end = NULL;
			options->exit_after = strtod(optarg, &end);
			if (end == optarg || *end != '\0' || options->exit_after < 0) {
				fprintf(stderr, "compositor-demo: bad --exit-after %s\n", optarg);
				return 2;
			}
			break;
		}
		case 'p': {
			bool found = false;
			for (size_t i = 0; i < POLICY_COUNT; i++) {
				if (strcmp(optarg, policy_names[i]) == 0) {
					options->policy = (enum demo_policy)i;
					found = true;
				}
			}
			if (!found) {
				fprintf(stderr, "compositor-demo: bad --policy %s\n", optarg);
				return 2;
			}
			break;
		}
		case 'b':
			options->builtin_shm = true;
			break;
		case 'H':
			options->headless = true;
			break;
		case 'v':
			options->verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}

static int
handle_terminate(int signo, void *data)
{
	struct server *server = data;
	demo_log("%s: shutting down", strsignal(signo));
	wl_display_terminate(server->display);
	return 0;
}

static int
handle_screenshot_signal(int signo, void *data)
{
	struct server *server = data;
	if (server->options.screenshot != NULL) {
		screenshot_write(server, server->options.screenshot);
	}
	return 0;
}

static int
handle_exit_timer(void *data)
{
	struct server *server = data;
	demo_log("--exit-after reached: shutting down");
	wl_display_terminate(server->display);
	return 0;
}

static bool
create_backend(struct server *server)
{
	bool nested = !server->options.headless &&
		(getenv("WAYLAND_DISPLAY") != NULL || getenv("DISPLAY") != NULL);
	if (nested) {
		/* A window on the desktop we run in, for a person to watch. */
		server->backend = wlr_backend_autocreate(server->display);
		return server->backend != NULL;
	}
	server->backend = wlr_headless_backend_create(server->display);
	return server->backend != NULL;
}

/* Everything but the socket and the outputs; false on failure. */
static bool
server_create(struct server *server)
{
	server->display = wl_display_create();
	if (server->display == NULL) {
		return false;
	}
	if (!create_backend(server)) {
		wlr_log(WLR_ERROR, "cannot create the backend");
		return false;
	}
	server->renderer = wlr_pixman_renderer_create();
	if (server->renderer == NULL) {
		wlr_log(WLR_ERROR, "cannot create the pixman renderer");
		return false;
	}
	server->allocator = wlr_allocator_autocreate(server->backend, server->renderer);
	if (server->allocator == NULL) {
		wlr_log(WLR_ERROR, "cannot create an allocator");
		return false;
	}
	if (!shm_init(server)) {
		return false;
	}
	/* wl_compositor; wl_subcompositor comes with it in wlroots 0.15. */
	if (wlr_compositor_create(server->display, server->renderer) == NULL ||
		wlr_data_device_manager_create(server->display) == NULL) {
		return false;
	}
	server->output_layout = wlr_output_layout_create();
	if (server->output_layout == NULL ||
		wlr_xdg_output_manager_v1_create(server->display, server->output_layout) == NULL) {
		return false;
	}
	server->scene = wlr_scene_create();
	if (server->scene == NULL) {
		return false;
	}
	static const float background[4] = {0.12f, 0.14f, 0.18f, 1.0f};
	server->background = wlr_scene_rect_create(&server->scene->node, 0, 0, background);
	if (server->background == NULL ||
		!wlr_scene_attach_output_layout(server->scene, server->output_layout)) {
		return false;
	}
	server->xdg_shell = wlr_xdg_shell_create(server->display);
	server->seat = wlr_seat_create(server->display, "seat0");
	server->screencopy = screencopy_create(server);
	if (server->xdg_shell == NULL || server->seat == NULL || server->screencopy == NULL) {
		return false;
	}
	output_init(server);
	view_init(server);
	return true;
}

static void
server_destroy(struct server *server)
{
	if (server->display == NULL) {
		return;
	}
	wl_display_destroy_clients(server->display);
	screencopy_destroy(server->screencopy);
	if (server->new_output.notify != NULL) {
		output_finish(server);
	}
	/* Destroys the outputs, whose destroy handlers free ours. */
	wlr_backend_destroy(server->backend);
	if (server->new_xdg_surface.notify != NULL) {
		view_finish(server);
	}
	/* The layout before the scene, which listens to it. */
	wlr_output_layout_destroy(server->output_layout);
	if (server->scene != NULL) {
		wlr_scene_node_destroy(&server->scene->node);
	}
	shm_finish(server);
	wlr_allocator_destroy(server->allocator);
	wlr_renderer_destroy(server->renderer);
	/* The globals (compositor, xdg_shell, seat, ...) go with the display. */
	wl_display_destroy(server->display);
}

int
main(int argc, char **argv)
{
	struct server server = {0};
	int status = parse_options(argc, argv, &server.options);
	if (status >= 0) {
		return status;
	}
	wlr_log_init(server.options.verbose ? WLR_DEBUG : WLR_ERROR, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);

	status = 1;
	if (!server_create(&server)) {
		wlr_log(WLR_ERROR, "set-up failed");
		goto out;
	}
	const char *socket = server.options.socket;
	if (socket != NULL) {
		if (wl_display_add_socket(server.display, socket) < 0) {
			wlr_log(WLR_ERROR, "cannot listen on %s: %s", socket, strerror(errno));
			goto out;
		}
	} else {
		socket = wl_display_add_socket_auto(server.display);
		if (socket == NULL) {
			wlr_log(WLR_ERROR, "cannot find a free socket name");
			goto out;
		}
	}
	if (wlr_backend_is_headless(server.backend) &&
		wlr_headless_add_output(
			server.backend, server.options.width, server.options.height) == NULL) {
		wlr_log(WLR_ERROR, "cannot add a headless output");
		goto out;
	}
	if (!wlr_backend_start(server.backend)) {
		wlr_log(WLR_ERROR, "cannot start the backend");
		goto out;
	}

	struct wl_event_loop *loop = wl_display_get_event_loop(server.display);
	struct wl_event_source *sources[4] = {
		wl_event_loop_add_signal(loop, SIGTERM, handle_terminate, &server),
		wl_event_loop_add_signal(loop, SIGINT, handle_terminate, &server),
		wl_event_loop_add_signal(loop, SIGUSR1, handle_screenshot_signal, &server),
		NULL,
	};
	if (server.options.exit_after > 0) {
		sources[3] = wl_event_loop_add_timer(loop, handle_exit_timer, &server);
		if (sources[3] != NULL) {
			wl_event_source_timer_update(
				sources[3], (int)(server.options.exit_after * 1000));
		}
	}
	printf("WAYLAND_DISPLAY=%s\n", socket);
	demo_log("listening on %s (%s, %ux%u)", socket,
		wlr_backend_is_headless(server.backend) ? "headless" : "nested",
		server.options.width, server.options.height);

	wl_display_run(server.display);

	if (server.options.screenshot != NULL) {
		screenshot_write(&server, server.options.screenshot);
	}
	demo_log("%llu frames rendered", (unsigned long long)server.frames_rendered);
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		if (sources[i] != NULL) {
			wl_event_source_remove(sources[i]);
		}
	}
	status = 0;
out:
	server_destroy(&server);
	return status;
}

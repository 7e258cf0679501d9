/*
 * compositor-demo: a wlroots compositor (0.15, or 0.18 to 0.20) whose wl_shm
 * is libshmguard's.
 * Command line, set-up, the event loop, tear-down.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <wayland-server-core.h>
#include <wlr/backend/headless.h>
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

/* Every pool keeps a file descriptor: take the hard open-file limit, as
 * compositors do, so that the library's pool fd bound (half the soft
 * limit) leaves room for many clients. */
static void
raise_open_file_limit(void)
{
	struct rlimit limit;
	if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
		limit.rlim_cur = limit.rlim_max;
		setrlimit(RLIMIT_NOFILE, &limit);
	}
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
	raise_open_file_limit();

	status = 1;
	if (!server_create(&server)) {
		wlr_log(WLR_ERROR, "%s", "set-up failed");
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
			wlr_log(WLR_ERROR, "%s", "cannot find a free socket name");
			goto out;
		}
	}
	if (!server_start(&server)) {
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

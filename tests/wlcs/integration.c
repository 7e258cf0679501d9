/*
 * The wlcs integration module: compositor-demo, running in wlcs's process.
 *
 * wlcs (Mir's Wayland conformance suite) loads this shared module and
 * asks it, per test, to start a compositor, to hand out client sockets,
 * and to stop it again. The compositor is compositor-demo's own code
 * (its static library): libshmguard's wl_shm through the wlroots adapter,
 * xdg-shell, a headless output. It runs on a thread of its own, which is
 * the display thread of libwayland-server and libshmguard; every request
 * from wlcs's thread is handed to it through an eventfd and waited for.
 *
 * compositor-demo has no input devices, so the fake pointer and touch
 * devices wlcs asks for do nothing: tests that need input are not run
 * (tests/wlcs/README.md lists them).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <wayland-client-core.h>
#include <wayland-server-core.h>
#include <wlcs/display_server.h>
#include <wlcs/pointer.h>
#include <wlcs/touch.h>
#include <wlr/types/wlr_scene.h>
#include <wlr/types/wlr_xdg_shell.h>
#include <wlr/util/log.h>

#include "server.h"
#include "wl-shell.h"
#include "wlr-compat.h"

#define EXPORT __attribute__((visibility("default")))

enum compositor_state {
	COMPOSITOR_STOPPED = 0,
	COMPOSITOR_STARTING,
	COMPOSITOR_RUNNING,
	COMPOSITOR_FAILED,
};

struct wlcs_compositor;

/* A function to run on the display thread, and whether it has run. */
struct display_call {
	void (*run)(struct wlcs_compositor *compositor, void *argument);
	void *argument;
	bool done;
};

/* What wlcs holds: the WlcsDisplayServer first, so that we find
 * ourselves from the pointer it hands back. */
struct wlcs_compositor {
	struct WlcsDisplayServer display_server;
	struct demo_options options;
	struct server server;
	pthread_t thread;
	enum compositor_state state;
	pthread_mutex_t lock;
	pthread_cond_t changed; /* state or call->done changed */
	struct display_call *call; /* pending, under lock */
	int call_fd; /* eventfd: a call is pending */
	/* Display thread only: */
	struct wl_event_source *call_source;
	struct wl_list clients; /* struct wlcs_client.link */
};

/* A client we made a socket for; wlcs knows it by its end's fd. */
struct wlcs_client {
	struct wl_client *client;
	int wlcs_fd;
	struct wl_listener destroy;
	struct wl_list link;
};

/* ------------------------------------------------------------------ */
/* The display thread                                                  */
/* ------------------------------------------------------------------ */

static int
handle_call(int fd, uint32_t mask, void *user_data)
{
	struct wlcs_compositor *compositor = user_data;
	uint64_t count;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
		wlr_log(WLR_ERROR, "wlcs: reading the call eventfd: %s", strerror(errno));
	}
	pthread_mutex_lock(&compositor->lock);
	struct display_call *call = compositor->call;
	compositor->call = NULL;
	pthread_mutex_unlock(&compositor->lock);
	if (call == NULL) {
		return 0;
	}
	call->run(compositor, call->argument);
	pthread_mutex_lock(&compositor->lock);
	call->done = true;
	pthread_cond_broadcast(&compositor->changed);
	pthread_mutex_unlock(&compositor->lock);
	return 0;
}

static void
set_state(struct wlcs_compositor *compositor, enum compositor_state state)
{
	pthread_mutex_lock(&compositor->lock);
	compositor->state = state;
	pthread_cond_broadcast(&compositor->changed);
	pthread_mutex_unlock(&compositor->lock);
}

static void *
display_thread(void *user_data)
{
	struct wlcs_compositor *compositor = user_data;
	struct server *server = &compositor->server;
	bool ok = server_create(server) && legacy_shell_create(server);
	if (ok) {
		compositor->call_source =
			wl_event_loop_add_fd(wl_display_get_event_loop(server->display),
				compositor->call_fd, WL_EVENT_READABLE, handle_call, compositor);
		ok = compositor->call_source != NULL && server_start(server);
	}
	set_state(compositor, ok ? COMPOSITOR_RUNNING : COMPOSITOR_FAILED);
	if (ok) {
		wl_display_run(server->display);
	}
	if (compositor->call_source != NULL) {
		wl_event_source_remove(compositor->call_source);
		compositor->call_source = NULL;
	}
	server_destroy(server);
	return NULL;
}

/* Run @p run on the display thread and wait until it has. */
static void
run_on_display_thread(struct wlcs_compositor *compositor,
	void (*run)(struct wlcs_compositor *compositor, void *argument), void *argument)
{
	struct display_call call = {.run = run, .argument = argument};
	pthread_mutex_lock(&compositor->lock);
	while (compositor->call != NULL) {
		pthread_cond_wait(&compositor->changed, &compositor->lock);
	}
	compositor->call = &call;
	pthread_mutex_unlock(&compositor->lock);
	uint64_t one = 1;
	if (write(compositor->call_fd, &one, sizeof(one)) != sizeof(one)) {
		wlr_log(WLR_ERROR, "wlcs: writing the call eventfd: %s", strerror(errno));
	}
	pthread_mutex_lock(&compositor->lock);
	while (!call.done) {
		pthread_cond_wait(&compositor->changed, &compositor->lock);
	}
	pthread_mutex_unlock(&compositor->lock);
}

/* ------------------------------------------------------------------ */
/* WlcsDisplayServer                                                   */
/* ------------------------------------------------------------------ */

static struct wlcs_compositor *
compositor_from(WlcsDisplayServer *display_server)
{
	return (struct wlcs_compositor *)display_server;
}

static void
compositor_start(WlcsDisplayServer *display_server)
{
	struct wlcs_compositor *compositor = compositor_from(display_server);
	compositor->server = (struct server){.options = compositor->options};
	wl_list_init(&compositor->clients);
	compositor->state = COMPOSITOR_STARTING;
	if (pthread_create(&compositor->thread, NULL, display_thread, compositor) != 0) {
		fprintf(stderr, "wlcs: cannot start the compositor thread\n");
		abort();
	}
	pthread_mutex_lock(&compositor->lock);
	while (compositor->state == COMPOSITOR_STARTING) {
		pthread_cond_wait(&compositor->changed, &compositor->lock);
	}
	enum compositor_state state = compositor->state;
	pthread_mutex_unlock(&compositor->lock);
	if (state != COMPOSITOR_RUNNING) {
		/* wlcs's start() cannot fail: no compositor, no test. */
		fprintf(stderr, "wlcs: compositor-demo failed to start\n");
		abort();
	}
}

static void
terminate_on_display(struct wlcs_compositor *compositor, void *argument)
{
	wl_display_terminate(compositor->server.display);
}

static void
compositor_stop(WlcsDisplayServer *display_server)
{
	struct wlcs_compositor *compositor = compositor_from(display_server);
	if (compositor->state != COMPOSITOR_RUNNING) {
		return;
	}
	run_on_display_thread(compositor, terminate_on_display, NULL);
	pthread_join(compositor->thread, NULL);
	compositor->state = COMPOSITOR_STOPPED;
}

static void
handle_client_destroy(struct wl_listener *listener, void *data)
{
	struct wlcs_client *client = wl_container_of(listener, client, destroy);
	wl_list_remove(&client->destroy.link);
	wl_list_remove(&client->link);
	free(client);
}

struct new_client {
	int server_fd; /* consumed */
	int wlcs_fd;
	int error; /* 0 or an errno */
};

static void
create_client_on_display(struct wlcs_compositor *compositor, void *argument)
{
	struct new_client *request = argument;
	struct wlcs_client *client = calloc(1, sizeof(*client));
	if (client == NULL) {
		close(request->server_fd);
		request->error = ENOMEM;
		return;
	}
	client->client = wl_client_create(compositor->server.display, request->server_fd);
	if (client->client == NULL) {
		/* wl_client_create() closes nothing on failure. */
		request->error = errno != 0 ? errno : ENOMEM;
		close(request->server_fd);
		free(client);
		return;
	}
	/* An fd number wlcs has closed may come back for a new client. */
	struct wlcs_client *old, *tmp;
	wl_list_for_each_safe (old, tmp, &compositor->clients, link) {
		if (old->wlcs_fd == request->wlcs_fd) {
			old->wlcs_fd = -1;
		}
	}
	client->wlcs_fd = request->wlcs_fd;
	client->destroy.notify = handle_client_destroy;
	wl_client_add_destroy_listener(client->client, &client->destroy);
	wl_list_insert(&compositor->clients, &client->link);
}

static int
compositor_create_client_socket(WlcsDisplayServer *display_server)
{
	struct wlcs_compositor *compositor = compositor_from(display_server);
	int fds[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
		return -1;
	}
	struct new_client request = {.server_fd = fds[0], .wlcs_fd = fds[1]};
	run_on_display_thread(compositor, create_client_on_display, &request);
	if (request.error != 0) {
		close(fds[1]);
		errno = request.error;
		return -1;
	}
	return fds[1];
}

struct window_position {
	int wlcs_fd;
	uint32_t surface_id;
	int x, y;
};

static void
position_on_display(struct wlcs_compositor *compositor, void *argument)
{
	struct window_position *position = argument;
	struct wlcs_client *client = NULL, *candidate;
	wl_list_for_each (candidate, &compositor->clients, link) {
		if (candidate->wlcs_fd == position->wlcs_fd) {
			client = candidate;
		}
	}
	if (client == NULL) {
		wlr_log(WLR_ERROR, "%s", "wlcs: position_window_absolute: unknown client");
		return;
	}
	struct wl_resource *resource = wl_client_get_object(client->client, position->surface_id);
	if (resource == NULL || strcmp(wl_resource_get_class(resource), "wl_surface") != 0) {
		wlr_log(WLR_ERROR, "wlcs: position_window_absolute: no wl_surface@%u",
			position->surface_id);
		return;
	}
	struct wlr_surface *surface = wlr_surface_from_resource(resource);
	struct wlr_scene_node *node = legacy_shell_surface_node(surface);
	struct wlr_xdg_surface *xdg_surface =
		node == NULL ? compat_xdg_surface_from_surface(surface) : NULL;
	if (xdg_surface != NULL) {
		/* view.c keeps a toplevel's scene node in ->data. */
		if (xdg_surface->role == WLR_XDG_SURFACE_ROLE_TOPLEVEL) {
			node = xdg_surface->data;
		}
	}
	if (node == NULL) {
		wlr_log(WLR_ERROR,
			"wlcs: position_window_absolute: wl_surface@%u is not a "
			"toplevel; compositor-demo places only those",
			position->surface_id);
		return;
	}
	wlr_scene_node_set_position(node, position->x, position->y);
}

static void
compositor_position_window_absolute(WlcsDisplayServer *display_server,
	struct wl_display *client_display, struct wl_surface *surface, int x, int y)
{
	/* wlcs's own objects, read on wlcs's thread. */
	struct window_position position = {
		.wlcs_fd = wl_display_get_fd(client_display),
		.surface_id = wl_proxy_get_id((struct wl_proxy *)surface),
		.x = x,
		.y = y,
	};
	run_on_display_thread(compositor_from(display_server), position_on_display, &position);
}

/* Input devices: compositor-demo has none, so these do nothing. */

static void
warn_no_input(void)
{
	static bool warned;
	if (!warned) {
		fprintf(stderr,
			"wlcs: compositor-demo has no input devices; "
			"pointer and touch events are dropped\n");
		warned = true;
	}
}

static void
pointer_move(WlcsPointer *pointer, wl_fixed_t x, wl_fixed_t y)
{
	warn_no_input();
}

static void
pointer_button(WlcsPointer *pointer, int button)
{
	warn_no_input();
}

static void
pointer_destroy(WlcsPointer *pointer)
{
	free(pointer);
}

static WlcsPointer *
compositor_create_pointer(WlcsDisplayServer *display_server)
{
	WlcsPointer *pointer = calloc(1, sizeof(*pointer));
	if (pointer == NULL) {
		return NULL;
	}
	*pointer = (WlcsPointer){
		.version = WLCS_POINTER_VERSION,
		.move_absolute = pointer_move,
		.move_relative = pointer_move,
		.button_up = pointer_button,
		.button_down = pointer_button,
		.destroy = pointer_destroy,
	};
	return pointer;
}

static void
touch_at(WlcsTouch *touch, wl_fixed_t x, wl_fixed_t y)
{
	warn_no_input();
}

static void
touch_up(WlcsTouch *touch)
{
	warn_no_input();
}

static void
touch_destroy(WlcsTouch *touch)
{
	free(touch);
}

static WlcsTouch *
compositor_create_touch(WlcsDisplayServer *display_server)
{
	WlcsTouch *touch = calloc(1, sizeof(*touch));
	if (touch == NULL) {
		return NULL;
	}
	*touch = (WlcsTouch){
		.version = WLCS_TOUCH_VERSION,
		.touch_down = touch_at,
		.touch_move = touch_at,
		.touch_up = touch_up,
		.destroy = touch_destroy,
	};
	return touch;
}

/* The globals compositor-demo offers, at the versions it offers them;
 * wlcs skips the tests of anything else. */
static const WlcsExtensionDescriptor extensions[] = {
	{"wl_compositor", 4},
	{"wl_subcompositor", 1},
	{"wl_shm", 1},
	{"wl_seat", 7},
	{"wl_output", 4},
	{"wl_data_device_manager", 3},
	{"wl_shell", 1}, /* wl-shell.c: for wlcs 1.5.0's sake */
	{"xdg_wm_base", 2},
	{"zxdg_output_manager_v1", 3},
	{"zwlr_screencopy_manager_v1", 3},
};

static const WlcsIntegrationDescriptor descriptor = {
	.version = 1,
	.num_extensions = sizeof(extensions) / sizeof(extensions[0]),
	.supported_extensions = extensions,
};

static const WlcsIntegrationDescriptor *
compositor_get_descriptor(const WlcsDisplayServer *display_server)
{
	return &descriptor;
}

/* ------------------------------------------------------------------ */
/* WlcsServerIntegration                                               */
/* ------------------------------------------------------------------ */

static WlcsDisplayServer *
create_server(int argc, const char **argv)
{
	/* Our options are what wlcs leaves after its own and gtest's. */
	bool verbose = false, builtin_shm = false;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0 || strcmp(argv[i], "--verbose") == 0) {
			verbose = true;
		} else if (strcmp(argv[i], "--builtin-shm") == 0) {
			/* libwayland's wl_shm, as compositor-demo --builtin-shm. */
			builtin_shm = true;
		}
	}
	wlr_log_init(verbose ? WLR_DEBUG : WLR_ERROR, NULL);

	struct wlcs_compositor *compositor = calloc(1, sizeof(*compositor));
	if (compositor == NULL) {
		return NULL;
	}
	compositor->display_server = (WlcsDisplayServer){
		.version = 2,
		.start = compositor_start,
		.stop = compositor_stop,
		.create_client_socket = compositor_create_client_socket,
		.position_window_absolute = compositor_position_window_absolute,
		.create_pointer = compositor_create_pointer,
		.create_touch = compositor_create_touch,
		.get_descriptor = compositor_get_descriptor,
	};
	compositor->options = (struct demo_options){
		.width = 1280,
		.height = 720,
		.headless = true,
		.builtin_shm = builtin_shm,
		.verbose = verbose,
	};
	compositor->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (compositor->call_fd < 0) {
		goto err_compositor;
	}
	if (pthread_mutex_init(&compositor->lock, NULL) != 0) {
		goto err_eventfd;
	}
	if (pthread_cond_init(&compositor->changed, NULL) != 0) {
		goto err_mutex;
	}
	return &compositor->display_server;

err_mutex:
	pthread_mutex_destroy(&compositor->lock);
err_eventfd:
	close(compositor->call_fd);
err_compositor:
	free(compositor);
	return NULL;
}

static void
destroy_server(WlcsDisplayServer *display_server)
{
	struct wlcs_compositor *compositor = compositor_from(display_server);
	compositor_stop(display_server);
	pthread_cond_destroy(&compositor->changed);
	pthread_mutex_destroy(&compositor->lock);
	close(compositor->call_fd);
	free(compositor);
}

EXPORT const WlcsServerIntegration wlcs_server_integration = {
	.version = 1,
	.create_server = create_server,
	.destroy_server = destroy_server,
};

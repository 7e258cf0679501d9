/*
 * hostile-client: the connection, its globals, bounded waits, and the
 * report of how the compositor ended it.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wayland-client.h>

#include "hostile.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"
#include "xdg-shell-client-protocol.h"

/*
 * libwayland-client hands a protocol error's message only to its log
 * handler; we keep the last line to print the message as it was sent.
 */
static char last_log[512];

static void
handle_log(const char *format, va_list args)
{
	vsnprintf(last_log, sizeof(last_log), format, args);
	last_log[strcspn(last_log, "\n")] = '\0';
}

const char *
hostile_exit_to_str(enum hostile_exit status)
{
	switch (status) {
	case HOSTILE_EXIT_CONNECTED:
		return "still connected, no error";
	case HOSTILE_EXIT_FAILURE:
		return "failure on the client side";
	case HOSTILE_EXIT_USAGE:
		return "bad command line";
	case HOSTILE_EXIT_PROTOCOL_ERROR:
		return "disconnected with a protocol error";
	case HOSTILE_EXIT_CONNECTION_LOST:
		return "connection lost without a protocol error";
	case HOSTILE_EXIT_TIMEOUT:
		return "no frame callback in time";
	case HOSTILE_EXIT_CAPTURE_FAILED:
		return "capture failed, still connected";
	}
	return "?";
}

int64_t
hostile_now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void
wm_base_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial)
{
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = wm_base_ping,
};

static uint32_t
min_version(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static void
registry_global(void *data, struct wl_registry *registry, uint32_t name, const char *interface,
	uint32_t version)
{
	struct hostile *hostile = data;
	if (strcmp(interface, wl_compositor_interface.name) == 0) {
		hostile->compositor = wl_registry_bind(
			registry, name, &wl_compositor_interface, min_version(version, 4));
	} else if (strcmp(interface, wl_shm_interface.name) == 0) {
		hostile->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0) {
		hostile->wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface, 1);
		xdg_wm_base_add_listener(hostile->wm_base, &wm_base_listener, hostile);
	} else if (strcmp(interface, wl_output_interface.name) == 0 && hostile->output == NULL) {
		hostile->output = wl_registry_bind(registry, name, &wl_output_interface, 1);
	} else if (strcmp(interface, zwlr_screencopy_manager_v1_interface.name) == 0) {
		hostile->screencopy = wl_registry_bind(registry, name,
			&zwlr_screencopy_manager_v1_interface, min_version(version, 3));
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

int
hostile_connect(struct hostile *hostile)
{
	wl_log_set_handler_client(handle_log);
	hostile->display = wl_display_connect(NULL);
	if (hostile->display == NULL) {
		fprintf(stderr, "hostile-client: cannot connect to the compositor: %s\n",
			strerror(errno));
		return HOSTILE_EXIT_FAILURE;
	}
	hostile->registry = wl_display_get_registry(hostile->display);
	wl_registry_add_listener(hostile->registry, &registry_listener, hostile);
	int ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0 || hostile->compositor == NULL || hostile->shm == NULL ||
		hostile->wm_base == NULL) {
		fprintf(stderr,
			"hostile-client: the compositor lacks wl_compositor, wl_shm or "
			"xdg_wm_base\n");
		return HOSTILE_EXIT_FAILURE;
	}
	hostile_print_created(hostile->shm);
	/* Let the output's and wl_shm's events arrive. */
	if (hostile_roundtrip(hostile) < 0) {
		return hostile_report_failure(hostile);
	}
	return 0;
}

void
hostile_disconnect(struct hostile *hostile)
{
	if (hostile->display == NULL) {
		return;
	}
	/* After a protocol error nothing is sent any more; destroying the
	 * proxies only frees them. */
	if (hostile->screencopy != NULL) {
		zwlr_screencopy_manager_v1_destroy(hostile->screencopy);
	}
	if (hostile->output != NULL) {
		wl_output_destroy(hostile->output);
	}
	if (hostile->wm_base != NULL) {
		xdg_wm_base_destroy(hostile->wm_base);
	}
	if (hostile->shm != NULL) {
		wl_shm_destroy(hostile->shm);
	}
	if (hostile->compositor != NULL) {
		wl_compositor_destroy(hostile->compositor);
	}
	wl_registry_destroy(hostile->registry);
	wl_display_flush(hostile->display);
	wl_display_disconnect(hostile->display);
	hostile->display = NULL;
}

int
hostile_dispatch_until(struct hostile *hostile, const bool *done, int timeout_ms)
{
	struct wl_display *display = hostile->display;
	int64_t deadline = hostile_now_ms() + timeout_ms;
	while (!*done) {
		while (wl_display_prepare_read(display) != 0) {
			if (wl_display_dispatch_pending(display) < 0) {
				return -1;
			}
			if (*done) {
				return 1;
			}
		}
		if (wl_display_flush(display) < 0 && errno != EAGAIN) {
			wl_display_cancel_read(display);
			/* The error, if any, may still be waiting to be read. */
			if (wl_display_dispatch(display) < 0 || wl_display_get_error(display)) {
				return -1;
			}
			continue;
		}
		int64_t left = deadline - hostile_now_ms();
		if (left <= 0) {
			wl_display_cancel_read(display);
			return 0;
		}
		struct pollfd pfd = {.fd = wl_display_get_fd(display), .events = POLLIN};
		int ready = poll(&pfd, 1, (int)left);
		if (ready <= 0) {
			wl_display_cancel_read(display);
			if (ready < 0 && errno != EINTR) {
				return -1;
			}
			continue;
		}
		if (wl_display_read_events(display) < 0) {
			return -1;
		}
		if (wl_display_dispatch_pending(display) < 0) {
			return -1;
		}
	}
	return 1;
}

static void
sync_done(void *data, struct wl_callback *callback, uint32_t serial)
{
	bool *done = data;
	*done = true;
	wl_callback_destroy(callback);
}

static const struct wl_callback_listener sync_listener = {
	.done = sync_done,
};

int
hostile_roundtrip(struct hostile *hostile)
{
	/* Static: the callback may fire after a timed-out wait returned. */
	static bool done;
	done = false;
	struct wl_callback *callback = wl_display_sync(hostile->display);
	wl_callback_add_listener(callback, &sync_listener, &done);
	return hostile_dispatch_until(hostile, &done, hostile->timeout_ms);
}

static const char *
error_name(const struct wl_interface *interface, uint32_t code)
{
	static const char *const shm[] = {"invalid_format", "invalid_stride", "invalid_fd"};
	static const char *const display[] = {
		"invalid_object", "invalid_method", "no_memory", "implementation"};
	static const char *const frame[] = {"already_used", "invalid_buffer"};
	const char *name = interface != NULL ? interface->name : "";
	/* wl_shm_pool and wl_buffer have no error enum: libwayland and we
	 * post wl_shm's codes on them. */
	if ((strcmp(name, "wl_shm") == 0 || strcmp(name, "wl_shm_pool") == 0 ||
		    strcmp(name, "wl_buffer") == 0) &&
		code < 3) {
		return shm[code];
	}
	if (strcmp(name, "wl_display") == 0 && code < 4) {
		return display[code];
	}
	if (strcmp(name, "zwlr_screencopy_frame_v1") == 0 && code < 2) {
		return frame[code];
	}
	return "?";
}

int
hostile_report_failure(struct hostile *hostile)
{
	int error = wl_display_get_error(hostile->display);
	if (error != EPROTO) {
		printf("connection lost: %s\n", strerror(error != 0 ? error : EPIPE));
		return HOSTILE_EXIT_CONNECTION_LOST;
	}
	const struct wl_interface *interface = NULL;
	uint32_t id = 0;
	uint32_t code = wl_display_get_protocol_error(hostile->display, &interface, &id);
	/* The log line reads "<interface>@<id>: error <code>: <message>". */
	const char *message = strstr(last_log, ": error ");
	message = message != NULL ? strchr(message + 8, ':') : NULL;
	printf("protocol error: interface %s, object %u, code %u (%s), message \"%s\"\n",
		interface != NULL ? interface->name : "?", id, code, error_name(interface, code),
		message != NULL ? message + 2 : "");
	return HOSTILE_EXIT_PROTOCOL_ERROR;
}

int
hostile_finish(struct hostile *hostile)
{
	bool never = false;
	int ret = hostile_dispatch_until(hostile, &never, hostile->settle_ms);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0) {
		printf("no answer to wl_display.sync within %d ms\n", hostile->timeout_ms);
		return HOSTILE_EXIT_TIMEOUT;
	}
	printf("still connected\n");
	return HOSTILE_EXIT_CONNECTED;
}

void
hostile_print_created(void *proxy)
{
	printf("created %s@%u\n", wl_proxy_get_class(proxy), wl_proxy_get_id(proxy));
}

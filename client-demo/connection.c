/*
 * client-demo: the connection, its globals, and what the compositor said
 * when it dropped us.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wayland-client.h>

#include "client.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"
#include "xdg-output-unstable-v1-client-protocol.h"
#include "xdg-shell-client-protocol.h"

/*
 * libwayland reports a protocol error's message only through its log
 * ("wl_shm@4: error 2: ..."), so the last log line is kept to recover the
 * message exactly as the compositor sent it.
 */
static char last_log_line[512];

static void
log_handler(const char *format, va_list args)
{
	vsnprintf(last_log_line, sizeof(last_log_line), format, args);
	size_t len = strlen(last_log_line);
	if (len > 0 && last_log_line[len - 1] == '\n') {
		last_log_line[len - 1] = '\0';
	}
}

/* The text after "error N: " in the last log line, or "". */
static const char *
protocol_error_message(void)
{
	const char *marker = strstr(last_log_line, ": error ");
	if (marker == NULL) {
		return "";
	}
	const char *colon = strchr(marker + strlen(": error "), ':');
	return colon != NULL ? colon + 2 : "";
}

static bool
is_shm_object(const char *interface)
{
	return strcmp(interface, "wl_shm") == 0 || strcmp(interface, "wl_shm_pool") == 0 ||
		strcmp(interface, "wl_buffer") == 0;
}

static const char *
error_code_name(const char *interface, uint32_t code)
{
	static const char *const shm[] = {
		"wl_shm.invalid_format", "wl_shm.invalid_stride", "wl_shm.invalid_fd"};
	static const char *const display[] = {
		"invalid_object", "invalid_method", "no_memory", "implementation"};
	static const char *const frame[] = {"already_used", "invalid_buffer"};
	/*
	 * wl_buffer and wl_shm_pool have no error enum of their own: shm
	 * errors are posted on them with wl_shm's codes, as libwayland does.
	 */
	if (is_shm_object(interface) && code < 3) {
		return shm[code];
	}
	if (strcmp(interface, "wl_display") == 0 && code < 4) {
		return display[code];
	}
	if (strcmp(interface, "zwlr_screencopy_frame_v1") == 0 && code < 2) {
		return frame[code];
	}
	return "?";
}

const char *
demo_exit_to_str(enum demo_exit status)
{
	switch (status) {
	case DEMO_EXIT_OK:
		return "ok";
	case DEMO_EXIT_FAILURE:
		return "failure on the client side";
	case DEMO_EXIT_USAGE:
		return "bad command line";
	case DEMO_EXIT_PROTOCOL_ERROR:
		return "disconnected with a protocol error";
	case DEMO_EXIT_CONNECTION_LOST:
		return "connection lost without a protocol error";
	case DEMO_EXIT_STILL_CONNECTED:
		return "still connected";
	case DEMO_EXIT_CAPTURE_FAILED:
		return "capture failed";
	}
	return "?";
}

static void
shm_format(void *data, struct wl_shm *shm, uint32_t format)
{
	struct client *client = data;
	if (format < 32) {
		client->shm_formats |= 1u << format;
	}
}

static const struct wl_shm_listener shm_listener = {
	.format = shm_format,
};

static void
wm_base_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial)
{
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = wm_base_ping,
};

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static void
registry_global(void *data, struct wl_registry *registry, uint32_t name, const char *interface,
	uint32_t version)
{
	struct client *client = data;
	if (strcmp(interface, wl_compositor_interface.name) == 0 && client->compositor == NULL) {
		client->compositor = wl_registry_bind(
			registry, name, &wl_compositor_interface, min_u32(version, 4));
	} else if (strcmp(interface, wl_shm_interface.name) == 0 && client->shm == NULL) {
		client->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
		wl_shm_add_listener(client->shm, &shm_listener, client);
	} else if (strcmp(interface, xdg_wm_base_interface.name) == 0 && client->wm_base == NULL) {
		client->wm_base = wl_registry_bind(registry, name, &xdg_wm_base_interface, 1);
		xdg_wm_base_add_listener(client->wm_base, &wm_base_listener, client);
	} else if (strcmp(interface, wl_output_interface.name) == 0 && client->output == NULL) {
		client->output =
			wl_registry_bind(registry, name, &wl_output_interface, min_u32(version, 3));
	} else if (strcmp(interface, zxdg_output_manager_v1_interface.name) == 0 &&
		client->xdg_output_manager == NULL) {
		client->xdg_output_manager = wl_registry_bind(
			registry, name, &zxdg_output_manager_v1_interface, min_u32(version, 2));
	} else if (strcmp(interface, zwlr_screencopy_manager_v1_interface.name) == 0 &&
		client->screencopy_manager == NULL) {
		client->screencopy_version = min_u32(version, 3);
		client->screencopy_manager = wl_registry_bind(registry, name,
			&zwlr_screencopy_manager_v1_interface, client->screencopy_version);
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
client_connect(struct client *client, const char *name)
{
	memset(client, 0, sizeof(*client));
	client->name = name;
	wl_log_set_handler_client(log_handler);
	client->display = wl_display_connect(NULL);
	if (client->display == NULL) {
		const char *socket = getenv("WAYLAND_DISPLAY");
		fprintf(stderr, "%s: cannot connect to the compositor at %s: %s\n", name,
			socket != NULL ? socket : "wayland-0", strerror(errno));
		return DEMO_EXIT_FAILURE;
	}
	client->registry = wl_display_get_registry(client->display);
	wl_registry_add_listener(client->registry, &registry_listener, client);
	/* The globals, then the events bound globals send (shm formats). */
	if (wl_display_roundtrip(client->display) < 0 ||
		wl_display_roundtrip(client->display) < 0) {
		return client_report_disconnect(client, false);
	}
	return DEMO_EXIT_OK;
}

void
client_disconnect(struct client *client)
{
	if (client->display == NULL) {
		return;
	}
	if (client->screencopy_manager != NULL) {
		zwlr_screencopy_manager_v1_destroy(client->screencopy_manager);
	}
	if (client->xdg_output_manager != NULL) {
		zxdg_output_manager_v1_destroy(client->xdg_output_manager);
	}
	if (client->output != NULL) {
		if (wl_output_get_version(client->output) >= WL_OUTPUT_RELEASE_SINCE_VERSION) {
			wl_output_release(client->output);
		} else {
			wl_output_destroy(client->output);
		}
	}
	if (client->wm_base != NULL) {
		xdg_wm_base_destroy(client->wm_base);
	}
	if (client->shm != NULL) {
		wl_shm_destroy(client->shm);
	}
	if (client->compositor != NULL) {
		wl_compositor_destroy(client->compositor);
	}
	wl_registry_destroy(client->registry);
	wl_display_disconnect(client->display);
	client->display = NULL;
}

int
client_report_disconnect(struct client *client, bool invalid_fd_is_ok)
{
	int error = wl_display_get_error(client->display);
	if (error != EPROTO) {
		printf("%s: connection lost without a protocol error: %s\n", client->name,
			strerror(error));
		fflush(stdout);
		return DEMO_EXIT_CONNECTION_LOST;
	}
	const struct wl_interface *interface = NULL;
	uint32_t id = 0;
	uint32_t code = wl_display_get_protocol_error(client->display, &interface, &id);
	const char *interface_name = interface != NULL ? interface->name : "unknown";
	printf("%s: protocol error: interface %s, object %u, code %u (%s), message \"%s\"\n",
		client->name, interface_name, id, code, error_code_name(interface_name, code),
		protocol_error_message());
	fflush(stdout);
	if (invalid_fd_is_ok && is_shm_object(interface_name) && code == WL_SHM_ERROR_INVALID_FD) {
		return DEMO_EXIT_OK;
	}
	return DEMO_EXIT_PROTOCOL_ERROR;
}

int
client_dispatch_until(struct client *client, const bool *done, int timeout_ms)
{
	struct wl_display *display = client->display;
	int64_t deadline = timeout_ms < 0 ? -1 : demo_now_ms() + timeout_ms;
	while (done == NULL || !*done) {
		while (wl_display_prepare_read(display) != 0) {
			if (wl_display_dispatch_pending(display) < 0) {
				return -1;
			}
		}
		/*
		 * EPIPE: the compositor closed the connection; what it sent
		 * before (the protocol error) may still be there to read.
		 */
		if (wl_display_flush(display) < 0 && errno != EAGAIN && errno != EPIPE) {
			wl_display_cancel_read(display);
			return -1;
		}
		int wait_ms = -1;
		if (deadline >= 0) {
			int64_t left = deadline - demo_now_ms();
			wait_ms = left > 0 ? (int)left : 0;
		}
		struct pollfd pfd = {.fd = wl_display_get_fd(display), .events = POLLIN};
		int ready = poll(&pfd, 1, wait_ms);
		if (ready > 0) {
			if (wl_display_read_events(display) < 0) {
				return -1;
			}
		} else {
			wl_display_cancel_read(display);
			if (ready < 0 && errno != EINTR) {
				return -1;
			}
		}
		if (wl_display_dispatch_pending(display) < 0) {
			return -1;
		}
		if (ready < 0) {
			/* A signal: let the caller look at its flags. */
			break;
		}
		if (deadline >= 0 && demo_now_ms() >= deadline) {
			break;
		}
	}
	return 0;
}

int64_t
demo_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
demo_parse_size(const char *text, uint32_t *width, uint32_t *height)
{
	char *end = NULL;
	errno = 0;
	unsigned long w = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != 'x') {
		return false;
	}
	const char *rest = end + 1;
	unsigned long h = strtoul(rest, &end, 10);
	if (errno != 0 || end == rest || *end != '\0') {
		return false;
	}
	if (w == 0 || h == 0 || w > 16384 || h > 16384) {
		return false;
	}
	*width = (uint32_t)w;
	*height = (uint32_t)h;
	return true;
}

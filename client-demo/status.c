/*
 * client-demo: the exit statuses, and the steps every mode takes that end
 * in one: connecting, opening the window, being dropped by the compositor.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wayland-client.h>

#include "demo.h"

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
	case DEMO_EXIT_NO_ANSWER:
		return "no answer from the compositor";
	}
	return "?";
}

int
demo_connect(struct client *client, const char *name)
{
	int ret = client_connect(client, name);
	if (ret < 0) {
		const char *socket = getenv("WAYLAND_DISPLAY");
		fprintf(stderr, "%s: cannot connect to the compositor at %s: %s\n", name,
			socket != NULL ? socket : "wayland-0", strerror(-ret));
		return DEMO_EXIT_FAILURE;
	}
	/* The globals, then the events bound globals send (shm formats). */
	if (client_roundtrip(client, -1) < 0 || client_roundtrip(client, -1) < 0) {
		return demo_report_disconnect(client, false);
	}
	return DEMO_EXIT_OK;
}

int
demo_report_disconnect(struct client *client, bool invalid_fd_is_ok)
{
	struct client_protocol_error error;
	if (!client_get_protocol_error(client, &error)) {
		printf("%s: connection lost without a protocol error: %s\n", client->name,
			strerror(wl_display_get_error(client->display)));
		fflush(stdout);
		return DEMO_EXIT_CONNECTION_LOST;
	}
	printf("%s: protocol error: interface %s, object %u, code %u (%s%s), message \"%s\"\n",
		client->name, error.interface != NULL ? error.interface : "unknown",
		error.object_id, error.code, error.wl_shm_code ? "wl_shm." : "", error.code_name,
		error.message);
	fflush(stdout);
	if (invalid_fd_is_ok && error.wl_shm_code && error.code == WL_SHM_ERROR_INVALID_FD) {
		return DEMO_EXIT_OK;
	}
	return DEMO_EXIT_PROTOCOL_ERROR;
}

int
demo_window_open(struct client *client, struct client_window *window, const char *title,
	uint32_t width, uint32_t height, bool invalid_fd_is_ok)
{
	client_window_init(client, window, title, "client-demo", width, height);
	int ret = client_window_wait_configure(window, 5000);
	if (ret < 0) {
		return demo_report_disconnect(client, invalid_fd_is_ok);
	}
	if (ret == 0) {
		fprintf(stderr, "%s: no configure from the compositor\n", client->name);
		return DEMO_EXIT_FAILURE;
	}
	return DEMO_EXIT_OK;
}

/*
 * hostile-client: connecting, bounded waits, and the report of how the
 * compositor ended the connection.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <wayland-client.h>

#include "hostile.h"

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

int
hostile_connect(struct hostile *hostile)
{
	struct client *client = &hostile->client;
	int ret = client_connect(client, "hostile-client");
	if (ret < 0) {
		fprintf(stderr, "hostile-client: cannot connect to the compositor: %s\n",
			strerror(-ret));
		return HOSTILE_EXIT_FAILURE;
	}
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0 || client->compositor == NULL || client->shm == NULL ||
		client->wm_base == NULL) {
		fprintf(stderr,
			"hostile-client: the compositor lacks wl_compositor, wl_shm or "
			"xdg_wm_base\n");
		return HOSTILE_EXIT_FAILURE;
	}
	hostile_print_created(client->shm);
	/* Let the output's and wl_shm's events arrive. */
	if (hostile_roundtrip(hostile) < 0) {
		return hostile_report_failure(hostile);
	}
	return 0;
}

int
hostile_roundtrip(struct hostile *hostile)
{
	return client_roundtrip(&hostile->client, hostile->timeout_ms);
}

int
hostile_report_failure(struct hostile *hostile)
{
	struct client_protocol_error error;
	if (!client_get_protocol_error(&hostile->client, &error)) {
		int lost = wl_display_get_error(hostile->client.display);
		printf("connection lost: %s\n", strerror(lost != 0 ? lost : EPIPE));
		return HOSTILE_EXIT_CONNECTION_LOST;
	}
	printf("protocol error: interface %s, object %u, code %u (%s), message \"%s\"\n",
		error.interface != NULL ? error.interface : "?", error.object_id, error.code,
		error.code_name, error.message);
	return HOSTILE_EXIT_PROTOCOL_ERROR;
}

int
hostile_finish(struct hostile *hostile)
{
	if (client_dispatch_until(&hostile->client, NULL, hostile->settle_ms) < 0) {
		return hostile_report_failure(hostile);
	}
	int ret = hostile_roundtrip(hostile);
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

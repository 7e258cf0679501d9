/*
 * hostile-client: the toplevel that shows the attacks' buffers, and the
 * frame callback that proves the compositor showed one.
 */
#include <stdio.h>

#include <wayland-client.h>

#include "hostile.h"

int
hostile_window_create(struct hostile *hostile, struct client_window *window)
{
	/* We keep our size whatever a configure suggests. */
	client_window_init(
		&hostile->client, window, "hostile-client", NULL, HOSTILE_WIDTH, HOSTILE_HEIGHT);
	hostile_print_created(window->surface);
	int ret = client_window_wait_configure(window, hostile->timeout_ms);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0) {
		printf("no xdg_surface.configure within %d ms\n", hostile->timeout_ms);
		return HOSTILE_EXIT_TIMEOUT;
	}
	return 0;
}

int
hostile_window_wait_frame(struct hostile *hostile, struct client_window *window)
{
	int64_t start = client_now_ms();
	int ret = client_dispatch_until(&hostile->client, &window->frame_done, hostile->timeout_ms);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0) {
		printf("no frame callback within %d ms\n", hostile->timeout_ms);
		return HOSTILE_EXIT_TIMEOUT;
	}
	printf("shown: frame callback after %lld ms\n", (long long)(client_now_ms() - start));
	return 0;
}

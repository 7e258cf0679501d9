/*
 * demo-client-support: dispatching the compositor's events, with a time
 * limit on every wait.
 */
#include <errno.h>
#include <poll.h>
#include <time.h>

#include <wayland-client.h>

#include "client.h"

int64_t
client_now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

/* What is left until @p deadline (negative: none) as a poll() timeout. */
static int
ms_until(int64_t deadline)
{
	if (deadline < 0) {
		return -1;
	}
	int64_t left = deadline - client_now_ms();
	return left > 0 ? (int)left : 0;
}

static int64_t
deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : client_now_ms() + timeout_ms;
}

int
client_dispatch_until(struct client *client, const bool *done, int timeout_ms)
{
	struct wl_display *display = client->display;
	int64_t deadline = deadline_after(timeout_ms);
	while (done == NULL || !*done) {
		while (wl_display_prepare_read(display) != 0) {
			if (wl_display_dispatch_pending(display) < 0) {
				return -1;
			}
			if (done != NULL && *done) {
				return 1;
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
		struct pollfd pfd = {.fd = wl_display_get_fd(display), .events = POLLIN};
		int ready = poll(&pfd, 1, ms_until(deadline));
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
		if (deadline >= 0 && client_now_ms() >= deadline) {
			break;
		}
	}
	return done != NULL && *done ? 1 : 0;
}

static void
sync_done(void *data, struct wl_callback *callback, uint32_t serial)
{
	struct client *client = data;
	wl_callback_destroy(callback);
	client->sync = NULL;
	client->synced = true;
}

static const struct wl_callback_listener sync_listener = {
	.done = sync_done,
};

int
client_roundtrip(struct client *client, int timeout_ms)
{
	/* The answer to a round trip that timed out is not this one's. */
	if (client->sync != NULL) {
		wl_callback_destroy(client->sync);
	}
	client->synced = false;
	client->sync = wl_display_sync(client->display);
	wl_callback_add_listener(client->sync, &sync_listener, client);
	int64_t deadline = deadline_after(timeout_ms);
	for (;;) {
		int ret = client_dispatch_until(client, &client->synced, ms_until(deadline));
		if (ret != 0 || (deadline >= 0 && client_now_ms() >= deadline)) {
			return ret;
		}
		/* A signal interrupted the wait: the round trip goes on. */
	}
}

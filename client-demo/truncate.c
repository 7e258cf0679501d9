/*
 * client-demo truncate: the malicious client. It hands the compositor a
 * pool, then truncates the file under it and reports exactly what the
 * compositor did about it.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pixman.h>
#include <wayland-client.h>

#include "client.h"
#include "wlr-screencopy-unstable-v1-client-protocol.h"
#include "xdg-shell-client-protocol.h"

enum when {
	WHEN_AFTER_COMMIT = 0,
	WHEN_BEFORE_COMMIT,
	WHEN_DURING_CAPTURE,
	WHEN_RACE,
};

static const char *const when_names[] = {
	[WHEN_AFTER_COMMIT] = "after-commit",
	[WHEN_BEFORE_COMMIT] = "before-commit",
	[WHEN_DURING_CAPTURE] = "during-capture",
	[WHEN_RACE] = "race",
};

struct truncate {
	struct client client;
	struct demo_window window;
	struct demo_pool *pool;
	struct wl_buffer *buffer;
	struct wl_callback *frame_callback;
	bool frame_done;
	uint64_t frames;
	int timeout_ms;

	/* during-capture */
	struct zwlr_screencopy_frame_v1 *capture;
	uint32_t capture_format, capture_width, capture_height, capture_stride;
	bool capture_described, capture_ready, capture_failed;

	/* race */
	pthread_t racer;
	atomic_bool racing;
	atomic_ulong truncations;
};

static void
frame_done(void *data, struct wl_callback *callback, uint32_t time)
{
	struct truncate *t = data;
	wl_callback_destroy(callback);
	t->frame_callback = NULL;
	t->frame_done = true;
	t->frames++;
}

static const struct wl_callback_listener frame_listener = {
	.done = frame_done,
};

/* Attach the buffer again, damage all of it, commit, ask for a frame. */
static void
commit_buffer(struct truncate *t)
{
	struct wl_surface *surface = t->window.surface;
	wl_surface_attach(surface, t->buffer, 0, 0);
	wl_surface_damage_buffer(surface, 0, 0, INT32_MAX, INT32_MAX);
	if (t->frame_callback == NULL) {
		t->frame_callback = wl_surface_frame(surface);
		wl_callback_add_listener(t->frame_callback, &frame_listener, t);
	}
	t->frame_done = false;
	wl_surface_commit(surface);
}

/* A pool with one buffer of the window's size, painted a warning red. */
static bool
make_buffer(struct truncate *t)
{
	uint32_t w = t->window.width, h = t->window.height, stride = w * 4;
	t->pool = demo_pool_create(&t->client, (uint64_t)stride * h, DEMO_POOL_UNSEALED);
	if (t->pool == NULL) {
		return false;
	}
	t->buffer = wl_shm_pool_create_buffer(t->pool->wl_pool, 0, (int32_t)w, (int32_t)h,
		(int32_t)stride, WL_SHM_FORMAT_XRGB8888);
	uint32_t *pixels = t->pool->data;
	for (size_t i = 0; i < (size_t)w * h; i++) {
		pixels[i] = 0xffc01818;
	}
	return true;
}

static bool
truncate_pool(struct truncate *t, const char *when)
{
	if (ftruncate(t->pool->fd, 0) < 0) {
		fprintf(stderr, "truncate: ftruncate: %s\n", strerror(errno));
		return false;
	}
	printf("truncate: pool of %llu bytes truncated to 0 %s\n",
		(unsigned long long)t->pool->size, when);
	fflush(stdout);
	return true;
}

/*
 * Keep committing the (now truncated) buffer until the compositor reacts
 * or the time is up. Returns the exit status.
 */
static int
commit_until_disconnected(struct truncate *t)
{
	int64_t end = demo_now_ms() + t->timeout_ms;
	commit_buffer(t);
	while (demo_now_ms() < end) {
		if (client_dispatch_until(&t->client, &t->frame_done, 100) < 0) {
			return client_report_disconnect(&t->client, true);
		}
		if (t->frame_done || t->frame_callback == NULL) {
			commit_buffer(t);
		} else {
			/* No frame yet: damage again so the compositor re-reads. */
			wl_surface_damage_buffer(t->window.surface, 0, 0, INT32_MAX, INT32_MAX);
			wl_surface_commit(t->window.surface);
		}
	}
	if (wl_display_roundtrip(t->client.display) < 0) {
		return client_report_disconnect(&t->client, true);
	}
	printf("truncate: still connected after %d ms, %llu frames since\n", t->timeout_ms,
		(unsigned long long)t->frames);
	return DEMO_EXIT_STILL_CONNECTED;
}

static void *
race_truncations(void *data)
{
	struct truncate *t = data;
	struct timespec pause = {.tv_nsec = 200 * 1000};
	while (atomic_load(&t->racing)) {
		if (ftruncate(t->pool->fd, 0) < 0) {
			break;
		}
		atomic_fetch_add(&t->truncations, 1);
		nanosleep(&pause, NULL);
		if (ftruncate(t->pool->fd, (off_t)t->pool->size) < 0) {
			break;
		}
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static int
run_window_case(struct truncate *t, enum when when)
{
	if (t->client.compositor == NULL || t->client.wm_base == NULL) {
		fprintf(stderr, "truncate: the compositor lacks wl_compositor or xdg_wm_base\n");
		return DEMO_EXIT_FAILURE;
	}
	int ret = demo_window_create(&t->client, &t->window, "client-demo truncate", 200, 150);
	if (ret == -1) {
		return client_report_disconnect(&t->client, true);
	} else if (ret < 0) {
		return DEMO_EXIT_FAILURE;
	}
	if (!make_buffer(t)) {
		return DEMO_EXIT_FAILURE;
	}
	/* The compositor has now accepted the pool at its full size. */
	if (wl_display_roundtrip(t->client.display) < 0) {
		return client_report_disconnect(&t->client, true);
	}
	switch (when) {
	case WHEN_BEFORE_COMMIT:
		if (!truncate_pool(t, "before its first commit")) {
			return DEMO_EXIT_FAILURE;
		}
		return commit_until_disconnected(t);
	case WHEN_AFTER_COMMIT:
	case WHEN_RACE:
		commit_buffer(t);
		if (client_dispatch_until(&t->client, &t->frame_done, 3000) < 0) {
			return client_report_disconnect(&t->client, true);
		}
		printf("truncate: buffer shown (%s)\n",
			t->frame_done ? "frame done" : "no frame callback yet");
		t->frames = 0;
		break;
	default:
		return DEMO_EXIT_FAILURE;
	}
	if (when == WHEN_AFTER_COMMIT) {
		if (!truncate_pool(t, "after it was shown")) {
			return DEMO_EXIT_FAILURE;
		}
		return commit_until_disconnected(t);
	}

	/* race: truncate and restore in a loop while committing. */
	atomic_store(&t->racing, true);
	if (pthread_create(&t->racer, NULL, race_truncations, t) != 0) {
		atomic_store(&t->racing, false);
		fprintf(stderr, "truncate: cannot start the racing thread\n");
		return DEMO_EXIT_FAILURE;
	}
	printf("truncate: racing: truncating and restoring the pool while committing\n");
	fflush(stdout);
	int status = commit_until_disconnected(t);
	atomic_store(&t->racing, false);
	pthread_join(t->racer, NULL);
	printf("truncate: %lu truncations while racing\n", atomic_load(&t->truncations));
	return status;
}

static void
capture_buffer(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t format, uint32_t width,
	uint32_t height, uint32_t stride)
{
	struct truncate *t = data;
	t->capture_format = format;
	t->capture_width = width;
	t->capture_height = height;
	t->capture_stride = stride;
	if (zwlr_screencopy_frame_v1_get_version(frame) < 3) {
		t->capture_described = true;
	}
}

static void
capture_flags(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t flags)
{
}

static void
capture_ready(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t sec_hi, uint32_t sec_lo,
	uint32_t nsec)
{
	struct truncate *t = data;
	t->capture_ready = true;
}

static void
capture_failed(void *data, struct zwlr_screencopy_frame_v1 *frame)
{
	struct truncate *t = data;
	t->capture_failed = true;
}

static void
capture_damage(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t x, uint32_t y,
	uint32_t width, uint32_t height)
{
}

static void
capture_linux_dmabuf(void *data, struct zwlr_screencopy_frame_v1 *frame, uint32_t format,
	uint32_t width, uint32_t height)
{
}

static void
capture_buffer_done(void *data, struct zwlr_screencopy_frame_v1 *frame)
{
	struct truncate *t = data;
	t->capture_described = true;
}

static const struct zwlr_screencopy_frame_v1_listener capture_listener = {
	.buffer = capture_buffer,
	.flags = capture_flags,
	.ready = capture_ready,
	.failed = capture_failed,
	.damage = capture_damage,
	.linux_dmabuf = capture_linux_dmabuf,
	.buffer_done = capture_buffer_done,
};

static int
run_capture_case(struct truncate *t)
{
	if (t->client.screencopy_manager == NULL || t->client.output == NULL) {
		fprintf(stderr, "truncate: no zwlr_screencopy_manager_v1 or wl_output\n");
		return DEMO_EXIT_FAILURE;
	}
	t->capture = zwlr_screencopy_manager_v1_capture_output(
		t->client.screencopy_manager, 0, t->client.output);
	zwlr_screencopy_frame_v1_add_listener(t->capture, &capture_listener, t);
	if (client_dispatch_until(&t->client, &t->capture_described, 3000) < 0) {
		return client_report_disconnect(&t->client, true);
	}
	if (!t->capture_described || t->capture_stride == 0) {
		fprintf(stderr, "truncate: the compositor offered no wl_shm buffer to capture\n");
		return DEMO_EXIT_FAILURE;
	}
	uint64_t size = (uint64_t)t->capture_stride * t->capture_height;
	t->pool = demo_pool_create(&t->client, size, DEMO_POOL_UNSEALED);
	if (t->pool == NULL) {
		return DEMO_EXIT_FAILURE;
	}
	t->buffer = wl_shm_pool_create_buffer(t->pool->wl_pool, 0, (int32_t)t->capture_width,
		(int32_t)t->capture_height, (int32_t)t->capture_stride, t->capture_format);
	if (wl_display_roundtrip(t->client.display) < 0) {
		return client_report_disconnect(&t->client, true);
	}
	if (!truncate_pool(t, "after the compositor accepted it, before the copy request")) {
		return DEMO_EXIT_FAILURE;
	}
	zwlr_screencopy_frame_v1_copy(t->capture, t->buffer);
	bool done = false;
	int64_t end = demo_now_ms() + t->timeout_ms;
	while (!done && demo_now_ms() < end) {
		if (client_dispatch_until(&t->client, NULL, 100) < 0) {
			return client_report_disconnect(&t->client, true);
		}
		done = t->capture_ready || t->capture_failed;
	}
	if (wl_display_roundtrip(t->client.display) < 0) {
		return client_report_disconnect(&t->client, true);
	}
	printf("truncate: capture %s; still connected\n",
		t->capture_failed          ? "failed (zwlr_screencopy_frame_v1.failed)"
			: t->capture_ready ? "reported ready"
					   : "got no answer");
	return DEMO_EXIT_STILL_CONNECTED;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: client-demo truncate [--timeout SECONDS]\n"
		"         [--when after-commit|before-commit|during-capture|race]\n"
		"Truncate a pool the compositor maps and report what the compositor does.\n"
		"Exit status: 0 disconnected with wl_shm.invalid_fd, 3 another protocol error,\n"
		"4 connection lost without an error, 5 still connected at the end.\n");
}

int
mode_truncate(int argc, char **argv)
{
	static const struct option options[] = {
		{"when", required_argument, NULL, 'w'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	enum when when = WHEN_AFTER_COMMIT;
	double timeout = 5.0;
	int opt;
	while ((opt = getopt_long(argc, argv, "w:t:h", options, NULL)) != -1) {
		switch (opt) {
		case 'w': {
			bool found = false;
			for (size_t i = 0; i < sizeof(when_names) / sizeof(when_names[0]); i++) {
				if (strcmp(optarg, when_names[i]) == 0) {
					when = (enum when)i;
					found = true;
				}
			}
			if (!found) {
				usage(stderr);
				return DEMO_EXIT_USAGE;
			}
			break;
		}
		case 't':
			timeout = strtod(optarg, NULL);
			break;
		case 'h':
			usage(stdout);
			return DEMO_EXIT_OK;
		default:
			usage(stderr);
			return DEMO_EXIT_USAGE;
		}
	}
	if (timeout <= 0 || timeout > 600) {
		usage(stderr);
		return DEMO_EXIT_USAGE;
	}

	static struct truncate t;
	t.timeout_ms = (int)(timeout * 1000);
	int status = client_connect(&t.client, "truncate");
	if (status != DEMO_EXIT_OK) {
		return status;
	}
	if (t.client.shm == NULL) {
		fprintf(stderr, "truncate: the compositor offers no wl_shm\n");
		client_disconnect(&t.client);
		return DEMO_EXIT_FAILURE;
	}
	printf("truncate: when=%s\n", when_names[when]);
	fflush(stdout);
	if (when == WHEN_DURING_CAPTURE) {
		status = run_capture_case(&t);
	} else {
		status = run_window_case(&t, when);
	}
	printf("truncate: result: %s (exit %d)\n",
		status == DEMO_EXIT_OK ? "disconnected with wl_shm.invalid_fd"
				       : demo_exit_to_str(status),
		status);
	fflush(stdout);

	if (t.capture != NULL) {
		zwlr_screencopy_frame_v1_destroy(t.capture);
	}
	if (t.frame_callback != NULL) {
		wl_callback_destroy(t.frame_callback);
	}
	if (t.buffer != NULL) {
		wl_buffer_destroy(t.buffer);
	}
	demo_pool_destroy(t.pool);
	demo_window_destroy(&t.window);
	client_disconnect(&t.client);
	return status;
}

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

#include "demo.h"

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
	struct client_window window;
	struct demo_pool *pool;
	struct wl_buffer *buffer;
	int timeout_ms;

	/* during-capture */
	struct client_capture capture;

	/* race */
	pthread_t racer;
	atomic_bool racing;
	atomic_ulong truncations;
};

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
	int64_t end = client_now_ms() + t->timeout_ms;
	client_window_commit(&t->window, t->buffer);
	while (client_now_ms() < end) {
		if (client_dispatch_until(&t->client, &t->window.frame_done, 100) < 0) {
			return demo_report_disconnect(&t->client, true);
		}
		if (t->window.frame_done || t->window.frame == NULL) {
			client_window_commit(&t->window, t->buffer);
		} else {
			/* No frame yet: damage again so the compositor re-reads. */
			wl_surface_damage_buffer(t->window.surface, 0, 0, INT32_MAX, INT32_MAX);
			wl_surface_commit(t->window.surface);
		}
	}
	if (wl_display_roundtrip(t->client.display) < 0) {
		return demo_report_disconnect(&t->client, true);
	}
	printf("truncate: still connected after %d ms, %llu frames since\n", t->timeout_ms,
		(unsigned long long)t->window.frames);
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
	int status =
		demo_window_open(&t->client, &t->window, "client-demo truncate", 200, 150, true);
	if (status != DEMO_EXIT_OK) {
		return status;
	}
	if (!make_buffer(t)) {
		return DEMO_EXIT_FAILURE;
	}
	/* The compositor has now accepted the pool at its full size. */
	if (wl_display_roundtrip(t->client.display) < 0) {
		return demo_report_disconnect(&t->client, true);
	}
	switch (when) {
	case WHEN_BEFORE_COMMIT:
		if (!truncate_pool(t, "before its first commit")) {
			return DEMO_EXIT_FAILURE;
		}
		return commit_until_disconnected(t);
	case WHEN_AFTER_COMMIT:
	case WHEN_RACE:
		client_window_commit(&t->window, t->buffer);
		if (client_dispatch_until(&t->client, &t->window.frame_done, 3000) < 0) {
			return demo_report_disconnect(&t->client, true);
		}
		printf("truncate: buffer shown (%s)\n",
			t->window.frame_done ? "frame done" : "no frame callback yet");
		t->window.frames = 0;
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
	status = commit_until_disconnected(t);
	atomic_store(&t->racing, false);
	pthread_join(t->racer, NULL);
	printf("truncate: %lu truncations while racing\n", atomic_load(&t->truncations));
	return status;
}

static int
run_capture_case(struct truncate *t)
{
	struct client_capture *capture = &t->capture;
	if (t->client.screencopy_manager == NULL || t->client.output == NULL) {
		fprintf(stderr, "truncate: no zwlr_screencopy_manager_v1 or wl_output\n");
		return DEMO_EXIT_FAILURE;
	}
	if (client_capture_start(&t->client, capture, 3000) < 0) {
		return demo_report_disconnect(&t->client, true);
	}
	if (!capture->described || capture->failed || capture->stride == 0) {
		fprintf(stderr, "truncate: the compositor offered no wl_shm buffer to capture\n");
		return DEMO_EXIT_FAILURE;
	}
	uint64_t size = (uint64_t)capture->stride * capture->height;
	t->pool = demo_pool_create(&t->client, size, DEMO_POOL_UNSEALED);
	if (t->pool == NULL) {
		return DEMO_EXIT_FAILURE;
	}
	t->buffer = wl_shm_pool_create_buffer(t->pool->wl_pool, 0, (int32_t)capture->width,
		(int32_t)capture->height, (int32_t)capture->stride, capture->format);
	if (wl_display_roundtrip(t->client.display) < 0) {
		return demo_report_disconnect(&t->client, true);
	}
	if (!truncate_pool(t, "after the compositor accepted it, before the copy request")) {
		return DEMO_EXIT_FAILURE;
	}
	if (client_capture_copy(capture, t->buffer, t->timeout_ms) < 0) {
		return demo_report_disconnect(&t->client, true);
	}
	if (wl_display_roundtrip(t->client.display) < 0) {
		return demo_report_disconnect(&t->client, true);
	}
	printf("truncate: capture %s; still connected\n",
		capture->failed          ? "failed (zwlr_screencopy_frame_v1.failed)"
			: capture->ready ? "reported ready"
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
	int status = demo_connect(&t.client, "truncate");
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

	client_capture_finish(&t.capture);
	if (t.buffer != NULL) {
		wl_buffer_destroy(t.buffer);
	}
	demo_pool_destroy(t.pool);
	client_window_finish(&t.window);
	client_disconnect(&t.client);
	return status;
}

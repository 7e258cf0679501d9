/*
 * client-demo good: a well-behaved animated toplevel. Each of its buffers
 * lives in its own pool; pools alternate between sealed and unsealed
 * memfds, and now and then one grows (wl_shm_pool.resize) and the buffer
 * moves into the new part, or the pool is replaced by a fresh one.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pixman.h>
#include <wayland-client.h>

#include "demo.h"

#define SLOT_COUNT 3
/* Grow a pool every this many frames. */
#define GROW_EVERY 90
/* A pool that reached this many buffers' worth is replaced. */
#define MAX_BUFFERS_PER_POOL 4

struct slot {
	struct good *good;
	unsigned int index;
	struct demo_pool *pool;
	struct wl_buffer *buffer;
	pixman_image_t *image;
	uint32_t width, height;
	uint64_t offset;
	bool busy; /* attached and not yet released */
};

struct good {
	struct client client;
	struct client_window window; /* window.frames: the frames shown */
	struct slot slots[SLOT_COUNT];
	bool waiting_for_release;
	uint32_t resizes;
	uint32_t new_pools;
	int64_t start_ms;
	bool still; /* --still: the same picture every frame */
	bool failed; /* a local failure (out of memory) */
};

static volatile sig_atomic_t stop_requested;

static void
handle_stop_signal(int signo)
{
	stop_requested = 1;
}

static void
buffer_release(void *data, struct wl_buffer *buffer)
{
	struct slot *slot = data;
	slot->busy = false;
}

static const struct wl_buffer_listener buffer_listener = {
	.release = buffer_release,
};

static void
slot_drop_buffer(struct slot *slot)
{
	if (slot->image != NULL) {
		pixman_image_unref(slot->image);
		slot->image = NULL;
	}
	if (slot->buffer != NULL) {
		wl_buffer_destroy(slot->buffer);
		slot->buffer = NULL;
	}
}

static void
slot_finish(struct slot *slot)
{
	slot_drop_buffer(slot);
	demo_pool_destroy(slot->pool);
	slot->pool = NULL;
}

static bool
slot_make_buffer(struct slot *slot)
{
	uint32_t stride = slot->width * 4;
	slot->buffer = wl_shm_pool_create_buffer(slot->pool->wl_pool, (int32_t)slot->offset,
		(int32_t)slot->width, (int32_t)slot->height, (int32_t)stride,
		WL_SHM_FORMAT_XRGB8888);
	wl_buffer_add_listener(slot->buffer, &buffer_listener, slot);
	slot->image = pixman_image_create_bits(PIXMAN_x8r8g8b8, (int)slot->width, (int)slot->height,
		(uint32_t *)((char *)slot->pool->data + slot->offset), (int)stride);
	return slot->image != NULL;
}

/* A fresh pool holding exactly one buffer of the window's size. */
static bool
slot_new_pool(struct slot *slot, uint32_t width, uint32_t height)
{
	struct good *good = slot->good;
	slot_finish(slot);
	slot->width = width;
	slot->height = height;
	slot->offset = 0;
	enum demo_pool_kind kind = slot->index % 2 == 0 ? DEMO_POOL_SEALED : DEMO_POOL_UNSEALED;
	slot->pool = demo_pool_create(&good->client, (uint64_t)width * height * 4, kind);
	if (slot->pool == NULL) {
		return false;
	}
	good->new_pools++;
	return slot_make_buffer(slot);
}

/*
 * Grow the slot's pool by one buffer and move the buffer into the new
 * part, so the compositor must serve the grown pool at once.
 */
static bool
slot_grow(struct slot *slot)
{
	struct good *good = slot->good;
	uint64_t bytes = (uint64_t)slot->width * slot->height * 4;
	if (slot->pool->size + bytes > MAX_BUFFERS_PER_POOL * bytes) {
		return slot_new_pool(slot, slot->width, slot->height);
	}
	slot_drop_buffer(slot);
	int ret = demo_pool_grow(slot->pool, slot->pool->size + bytes);
	if (ret < 0) {
		fprintf(stderr, "good: growing pool: %s\n", strerror(-ret));
		return false;
	}
	slot->offset = slot->pool->size - bytes;
	good->resizes++;
	return slot_make_buffer(slot);
}

static pixman_color_t
hue_color(double hue, double value)
{
	double h = fmod(hue, 1.0) * 6.0;
	double x = 1.0 - fabs(fmod(h, 2.0) - 1.0);
	double r = 0, g = 0, b = 0;
	switch ((int)h) {
	case 0:
		r = 1, g = x;
		break;
	case 1:
		r = x, g = 1;
		break;
	case 2:
		g = 1, b = x;
		break;
	case 3:
		g = x, b = 1;
		break;
	case 4:
		r = x, b = 1;
		break;
	default:
		r = 1, b = x;
		break;
	}
	pixman_color_t color = {
		.red = (uint16_t)(r * value * 0xffff),
		.green = (uint16_t)(g * value * 0xffff),
		.blue = (uint16_t)(b * value * 0xffff),
		.alpha = 0xffff,
	};
	return color;
}

static void
draw(struct good *good, struct slot *slot)
{
	int w = (int)slot->width, h = (int)slot->height;
	double t = good->still ? 0.0 : (double)(client_now_ms() - good->start_ms) / 1000.0;
	uint64_t frame = good->still ? 0 : good->window.frames;

	/* A vertical gradient whose hues turn slowly. */
	pixman_gradient_stop_t stops[2] = {
		{.x = pixman_double_to_fixed(0), .color = hue_color(t / 10.0, 0.85)},
		{.x = pixman_double_to_fixed(1), .color = hue_color(t / 10.0 + 0.3, 0.35)},
	};
	pixman_point_fixed_t top = {0, 0};
	pixman_point_fixed_t bottom = {0, pixman_int_to_fixed(h)};
	pixman_image_t *gradient = pixman_image_create_linear_gradient(&top, &bottom, stops, 2);
	pixman_image_composite32(
		PIXMAN_OP_SRC, gradient, NULL, slot->image, 0, 0, 0, 0, 0, 0, w, h);
	pixman_image_unref(gradient);

	/* A square bouncing off the edges. */
	int side = (w < h ? w : h) / 4;
	double px = fabs(fmod(t * 0.37, 2.0) - 1.0), py = fabs(fmod(t * 0.53, 2.0) - 1.0);
	pixman_color_t white = {0xf000, 0xf000, 0xf000, 0xffff};
	pixman_rectangle16_t square = {
		.x = (int16_t)(px * (w - side)),
		.y = (int16_t)(py * (h - side)),
		.width = (uint16_t)side,
		.height = (uint16_t)side,
	};
	pixman_image_fill_rectangles(PIXMAN_OP_SRC, slot->image, &white, 1, &square);

	/* A bar that fills once a second at 60 frames per second. */
	pixman_color_t dark = {0x1000, 0x1000, 0x1000, 0xffff};
	pixman_rectangle16_t bar = {.x = 0,
		.y = (int16_t)(h - 8),
		.width = (uint16_t)(w * (int)(frame % 60) / 59),
		.height = 8};
	pixman_image_fill_rectangles(PIXMAN_OP_SRC, slot->image, &dark, 1, &bar);
}

/* Draw and commit the next frame into a free slot, if there is one. */
static void
redraw(struct good *good)
{
	struct client_window *window = &good->window;
	struct slot *slot = NULL;
	for (unsigned int i = 0; i < SLOT_COUNT; i++) {
		unsigned int index = (unsigned int)((window->frames + i) % SLOT_COUNT);
		if (!good->slots[index].busy) {
			slot = &good->slots[index];
			break;
		}
	}
	if (slot == NULL) {
		good->waiting_for_release = true;
		return;
	}
	good->waiting_for_release = false;

	bool ok = true;
	if (slot->pool == NULL || slot->width != window->width || slot->height != window->height) {
		ok = slot_new_pool(slot, window->width, window->height);
	} else if (window->frames > 0 && window->frames % GROW_EVERY == 0) {
		ok = slot_grow(slot);
	}
	if (!ok) {
		good->failed = true;
		return;
	}
	draw(good, slot);
	client_window_commit(window, slot->buffer);
	slot->busy = true;
}

/* The last frame was shown: draw the next. */
static void
frame_done(void *data)
{
	redraw(data);
}

static void
print_stats(struct good *good, const char *what)
{
	printf("good: %s frames=%llu resizes=%u pools=%u\n", what,
		(unsigned long long)good->window.frames, good->resizes, good->new_pools);
	fflush(stdout);
}

/* Parse "WxH"; returns false if malformed. */
static bool
parse_size(const char *text, uint32_t *width, uint32_t *height)
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

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: client-demo good [--size WxH] [--duration SECONDS] [--still]\n"
		"An animated window; prints its frame count every second and at the end.\n"
		"--still draws the same picture every frame (for pixel comparisons).\n");
}

int
mode_good(int argc, char **argv)
{
	static const struct option options[] = {
		{"size", required_argument, NULL, 's'},
		{"duration", required_argument, NULL, 'd'},
		{"still", no_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	uint32_t width = 320, height = 240;
	double duration = 0;
	bool still = false;
	int opt;
	while ((opt = getopt_long(argc, argv, "s:d:Sh", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (!parse_size(optarg, &width, &height)) {
				usage(stderr);
				return DEMO_EXIT_USAGE;
			}
			break;
		case 'd':
			duration = strtod(optarg, NULL);
			break;
		case 'S':
			still = true;
			break;
		case 'h':
			usage(stdout);
			return DEMO_EXIT_OK;
		default:
			usage(stderr);
			return DEMO_EXIT_USAGE;
		}
	}

	struct sigaction sa = {.sa_handler = handle_stop_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	static struct good good;
	int status = demo_connect(&good.client, "good");
	if (status != DEMO_EXIT_OK) {
		return status;
	}
	struct client *client = &good.client;
	if (client->compositor == NULL || client->shm == NULL || client->wm_base == NULL) {
		fprintf(stderr, "good: no wl_compositor, wl_shm or xdg_wm_base\n");
		client_disconnect(&good.client);
		return DEMO_EXIT_FAILURE;
	}
	for (unsigned int i = 0; i < SLOT_COUNT; i++) {
		good.slots[i].good = &good;
		good.slots[i].index = i;
	}
	good.start_ms = client_now_ms();
	good.still = still;

	status = demo_window_open(
		&good.client, &good.window, "client-demo good", width, height, false);
	if (status != DEMO_EXIT_OK) {
		goto out;
	}
	good.window.on_frame = frame_done;
	good.window.on_frame_data = &good;
	printf("good: window %ux%u, %d pools\n", good.window.width, good.window.height, SLOT_COUNT);
	redraw(&good);

	int64_t next_stats = client_now_ms() + 1000;
	int64_t end = duration > 0 ? good.start_ms + (int64_t)(duration * 1000) : -1;
	while (!stop_requested && !good.window.closed && !good.failed) {
		int64_t now = client_now_ms();
		if (end >= 0 && now >= end) {
			break;
		}
		int64_t wait = next_stats - now;
		if (end >= 0 && end - now < wait) {
			wait = end - now;
		}
		if (client_dispatch_until(&good.client, NULL, wait > 0 ? (int)wait : 0) < 0) {
			print_stats(&good, "disconnected:");
			status = demo_report_disconnect(&good.client, false);
			goto out;
		}
		if (good.waiting_for_release && good.window.frame == NULL) {
			redraw(&good);
		}
		if (client_now_ms() >= next_stats) {
			print_stats(&good, "running");
			next_stats += 1000;
		}
	}
	print_stats(&good, "done");
	status = good.failed ? DEMO_EXIT_FAILURE : DEMO_EXIT_OK;

out:
	for (unsigned int i = 0; i < SLOT_COUNT; i++) {
		slot_finish(&good.slots[i]);
	}
	client_window_finish(&good.window);
	client_disconnect(&good.client);
	return status;
}

/*
 * hostile-client: the attacks on wl_shm that do not involve screen
 * capture, and the well-behaved "show" that tests run after each.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wayland-client.h>

#include "hostile.h"

/* A greenish colour no test image has by chance: 0xff1cc45a in XRGB. */
#define DEFAULT_PIXEL 0xff1cc45au
/* What resize-redraw paints after the resize: 0xff5a1cc4. */
#define REDRAW_PIXEL 0xff5a1cc4u

/* What one shown buffer is made of. */
struct shm_buffer {
	int memfd; /* the file, which we keep to truncate it */
	struct wl_shm_pool *pool;
	struct wl_buffer *buffer;
};

static void
shm_buffer_destroy(struct shm_buffer *shm_buffer)
{
	if (shm_buffer->buffer != NULL) {
		wl_buffer_destroy(shm_buffer->buffer);
	}
	if (shm_buffer->pool != NULL) {
		wl_shm_pool_destroy(shm_buffer->pool);
	}
	if (shm_buffer->memfd >= 0) {
		close(shm_buffer->memfd);
	}
	*shm_buffer = (struct shm_buffer){.memfd = -1};
}

/*
 * A memfd of @p file_size bytes of @p pixel, sent as a pool of
 * @p pool_size bytes through an fd of @p kind. Returns 0 or an exit status.
 */
static int
shm_pool_make(struct hostile *hostile, struct shm_buffer *shm_buffer, enum hostile_fd_kind kind,
	uint64_t file_size, int32_t pool_size, uint32_t pixel)
{
	*shm_buffer = (struct shm_buffer){.memfd = -1};
	shm_buffer->memfd = hostile_memfd_create(hostile, file_size, pixel);
	if (shm_buffer->memfd < 0) {
		return HOSTILE_EXIT_FAILURE;
	}
	int fd = hostile_fd_open(kind, shm_buffer->memfd);
	if (fd < 0) {
		return HOSTILE_EXIT_FAILURE;
	}
	shm_buffer->pool = wl_shm_create_pool(hostile->client.shm, fd, pool_size);
	close(fd);
	hostile_print_created(shm_buffer->pool);
	return 0;
}

/* A HOSTILE_WIDTH x HOSTILE_HEIGHT XRGB8888 buffer at @p offset. */
static void
shm_buffer_add(struct shm_buffer *shm_buffer, int32_t offset)
{
	shm_buffer->buffer = wl_shm_pool_create_buffer(shm_buffer->pool, offset, HOSTILE_WIDTH,
		HOSTILE_HEIGHT, HOSTILE_STRIDE, WL_SHM_FORMAT_XRGB8888);
	hostile_print_created(shm_buffer->buffer);
}

/* A window and a well-made buffer of @p kind shown in it. */
static int
show_buffer(struct hostile *hostile, struct client_window *window, struct shm_buffer *shm_buffer,
	enum hostile_fd_kind kind, uint32_t pixel)
{
	int ret = hostile_window_create(hostile, window);
	if (ret != 0) {
		return ret;
	}
	ret = shm_pool_make(
		hostile, shm_buffer, kind, HOSTILE_BUFFER_SIZE, HOSTILE_BUFFER_SIZE, pixel);
	if (ret != 0) {
		return ret;
	}
	shm_buffer_add(shm_buffer, 0);
	client_window_commit(window, shm_buffer->buffer);
	return hostile_window_wait_frame(hostile, window);
}

static int
truncate_file(int fd, off_t size)
{
	if (ftruncate(fd, size) != 0) {
		perror("hostile-client: ftruncate");
		return HOSTILE_EXIT_FAILURE;
	}
	printf("truncated the file to %lld bytes\n", (long long)size);
	return 0;
}

/* Commit @p buffer again and wait for the frame: the error, if the
 * compositor has one for us, comes first. */
static int
commit_and_finish(struct hostile *hostile, struct client_window *window, struct wl_buffer *buffer)
{
	client_window_commit(window, buffer);
	int ret = hostile_window_wait_frame(hostile, window);
	if (ret != 0 && ret != HOSTILE_EXIT_TIMEOUT) {
		return ret;
	}
	return hostile_finish(hostile);
}

/* The frame callback of a commit that attached nothing. */
static void
redraw_done(void *data, struct wl_callback *callback, uint32_t time)
{
	bool *done = data;
	*done = true;
	wl_callback_destroy(callback);
}

static const struct wl_callback_listener redraw_listener = {.done = redraw_done};

/*
 * Damage the whole surface and commit without an attach: the compositor
 * draws again the buffer it already holds. wl_surface.damage, not
 * damage_buffer: weston 10 does not redraw for damage_buffer in a commit
 * without an attach. Waits for the frame callback; 0 or an exit status.
 */
static int
redraw(struct hostile *hostile, struct client_window *window)
{
	bool done = false;
	wl_surface_damage(window->surface, 0, 0, HOSTILE_WIDTH, HOSTILE_HEIGHT);
	wl_callback_add_listener(wl_surface_frame(window->surface), &redraw_listener, &done);
	wl_surface_commit(window->surface);
	int ret = client_dispatch_until(&hostile->client, &done, hostile->timeout_ms);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0) {
		printf("no frame callback within %d ms\n", hostile->timeout_ms);
		return HOSTILE_EXIT_TIMEOUT;
	}
	printf("redrawn: frame callback\n");
	return 0;
}

/* ------------------------------------------------------------------ */

static int
attack_show(struct hostile *hostile, int argc, char **argv)
{
	enum hostile_fd_kind kind = HOSTILE_FD_MEMFD;
	int64_t pixel = DEFAULT_PIXEL, hold_ms = 0;
	for (int i = 0; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--fd") == 0 && hostile_fd_kind_parse(argv[i + 1], &kind)) {
			continue;
		}
		if (strcmp(argv[i], "--pixel") == 0 &&
			hostile_parse_int(argv[i + 1], 0, UINT32_MAX, &pixel)) {
			continue;
		}
		if (strcmp(argv[i], "--hold") == 0 &&
			hostile_parse_int(argv[i + 1], 0, 600000, &hold_ms)) {
			continue;
		}
		return HOSTILE_EXIT_USAGE;
	}
	if (argc % 2 != 0) {
		return HOSTILE_EXIT_USAGE;
	}
	struct client_window window;
	struct shm_buffer shm_buffer;
	int ret = show_buffer(hostile, &window, &shm_buffer, kind, (uint32_t)pixel);
	if (ret != 0) {
		return ret;
	}
	if (hold_ms > 0) {
		/* Stay on the screen while the test looks at it. */
		printf("holding for %lld ms\n", (long long)hold_ms);
		fflush(stdout);
		hostile->settle_ms = (int)hold_ms;
	}
	ret = hostile_finish(hostile);
	shm_buffer_destroy(&shm_buffer);
	client_window_finish(&window);
	return ret;
}

static int
attack_truncate_after_show(struct hostile *hostile, int argc, char **argv)
{
	struct client_window window;
	struct shm_buffer shm_buffer;
	int ret = show_buffer(hostile, &window, &shm_buffer, HOSTILE_FD_MEMFD, DEFAULT_PIXEL);
	if (ret != 0) {
		return ret;
	}
	ret = truncate_file(shm_buffer.memfd, 0);
	if (ret != 0) {
		return ret;
	}
	return commit_and_finish(hostile, &window, shm_buffer.buffer);
}

static int
attack_truncate_before_commit(struct hostile *hostile, int argc, char **argv)
{
	struct client_window window;
	int ret = hostile_window_create(hostile, &window);
	if (ret != 0) {
		return ret;
	}
	struct shm_buffer shm_buffer;
	ret = shm_pool_make(hostile, &shm_buffer, HOSTILE_FD_MEMFD, HOSTILE_BUFFER_SIZE,
		HOSTILE_BUFFER_SIZE, DEFAULT_PIXEL);
	if (ret != 0) {
		return ret;
	}
	shm_buffer_add(&shm_buffer, 0);
	/* The compositor has the pool and the buffer of a whole file. */
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	ret = truncate_file(shm_buffer.memfd, 0);
	if (ret != 0) {
		return ret;
	}
	return commit_and_finish(hostile, &window, shm_buffer.buffer);
}

/* truncate-race: one thread commits, another truncates and regrows. */
struct race {
	struct client_window *window;
	struct wl_buffer *buffer;
	int memfd;
	bool pulse; /* short only for a moment: truncate and regrow at once */
	atomic_bool stop;
	atomic_ulong commits, truncations;
};

static void
sleep_us(long us)
{
	struct timespec delay = {.tv_nsec = us * 1000};
	nanosleep(&delay, NULL);
}

static void *
race_commit(void *data)
{
	struct race *race = data;
	struct wl_surface *surface = race->window->surface;
	struct wl_display *display = race->window->client->display;
	while (!atomic_load(&race->stop)) {
		/* Requests from a second thread: libwayland-client locks. */
		wl_surface_attach(surface, race->buffer, 0, 0);
		wl_surface_damage_buffer(surface, 0, 0, INT32_MAX, INT32_MAX);
		wl_surface_commit(surface);
		if (wl_display_flush(display) < 0 && errno != EAGAIN) {
			break;
		}
		atomic_fetch_add(&race->commits, 1);
		sleep_us(2000);
	}
	return NULL;
}

static void *
race_truncate(void *data)
{
	struct race *race = data;
	/* Half of the time truncated, half whole (or short for a moment). */
	while (!atomic_load(&race->stop)) {
		if (ftruncate(race->memfd, 0) != 0) {
			break;
		}
		if (!race->pulse) {
			sleep_us(300);
		}
		if (ftruncate(race->memfd, HOSTILE_BUFFER_SIZE) != 0) {
			break;
		}
		atomic_fetch_add(&race->truncations, 1);
		sleep_us(300);
	}
	return NULL;
}

static int
attack_truncate_race(struct hostile *hostile, int argc, char **argv)
{
	if (argc > 1 || (argc == 1 && strcmp(argv[0], "pulse") != 0)) {
		return HOSTILE_EXIT_USAGE;
	}
	struct client_window window;
	struct shm_buffer shm_buffer;
	int ret = show_buffer(hostile, &window, &shm_buffer, HOSTILE_FD_MEMFD, DEFAULT_PIXEL);
	if (ret != 0) {
		return ret;
	}
	struct race race = {
		.window = &window,
		.buffer = shm_buffer.buffer,
		.memfd = shm_buffer.memfd,
		.pulse = argc == 1,
	};
	pthread_t committer, truncator;
	if (pthread_create(&committer, NULL, race_commit, &race) != 0) {
		return HOSTILE_EXIT_FAILURE;
	}
	if (pthread_create(&truncator, NULL, race_truncate, &race) != 0) {
		atomic_store(&race.stop, true);
		pthread_join(committer, NULL);
		return HOSTILE_EXIT_FAILURE;
	}
	/* The main thread only reads: the error ends the race. */
	ret = client_dispatch_until(&hostile->client, NULL, hostile->timeout_ms);
	atomic_store(&race.stop, true);
	pthread_join(committer, NULL);
	pthread_join(truncator, NULL);
	printf("raced %lu commits against %lu truncations\n", atomic_load(&race.commits),
		atomic_load(&race.truncations));
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	return hostile_finish(hostile);
}

static int
attack_truncate_after_destroy(struct hostile *hostile, int argc, char **argv)
{
	struct client_window window;
	struct shm_buffer shm_buffer;
	int ret = show_buffer(hostile, &window, &shm_buffer, HOSTILE_FD_MEMFD, DEFAULT_PIXEL);
	if (ret != 0) {
		return ret;
	}
	/* The surface keeps showing the buffer after both are gone. */
	wl_buffer_destroy(shm_buffer.buffer);
	shm_buffer.buffer = NULL;
	wl_shm_pool_destroy(shm_buffer.pool);
	shm_buffer.pool = NULL;
	printf("destroyed the wl_buffer and the wl_shm_pool; wl_shm is wl_shm@%u\n",
		wl_proxy_get_id((struct wl_proxy *)hostile->client.shm));
	ret = truncate_file(shm_buffer.memfd, 0);
	if (ret != 0) {
		return ret;
	}
	if (hostile->client.screencopy_manager == NULL || hostile->client.output == NULL) {
		/* No capture here: a redraw of the surface is the render. */
		printf("no zwlr_screencopy_manager_v1 or wl_output: committing damage\n");
		ret = redraw(hostile, &window);
		return ret != 0 ? ret : hostile_finish(hostile);
	}
	/* A capture renders the whole output, our old buffer included. */
	struct client_capture capture;
	ret = hostile_capture_start(hostile, &capture);
	if (ret != 0) {
		return ret;
	}
	struct shm_buffer target;
	uint64_t size = (uint64_t)capture.stride * capture.height;
	ret = shm_pool_make(hostile, &target, HOSTILE_FD_MEMFD, size, (int32_t)size, 0);
	if (ret != 0) {
		return ret;
	}
	target.buffer = wl_shm_pool_create_buffer(target.pool, 0, (int32_t)capture.width,
		(int32_t)capture.height, (int32_t)capture.stride, capture.format);
	ret = hostile_capture_copy(hostile, &capture, target.buffer);
	if (ret == 0) {
		printf("capture ready\n");
	} else if (ret != HOSTILE_EXIT_CAPTURE_FAILED) {
		return ret;
	}
	return hostile_finish(hostile);
}

static int
attack_pool_larger_than_file(struct hostile *hostile, int argc, char **argv)
{
	struct client_window window;
	int ret = hostile_window_create(hostile, &window);
	if (ret != 0) {
		return ret;
	}
	/* The file holds one buffer; the pool claims 64 of them. */
	const int32_t pool_size = 64 * HOSTILE_BUFFER_SIZE;
	struct shm_buffer shm_buffer;
	ret = shm_pool_make(hostile, &shm_buffer, HOSTILE_FD_MEMFD, HOSTILE_BUFFER_SIZE, pool_size,
		DEFAULT_PIXEL);
	if (ret != 0) {
		return ret;
	}
	printf("file of %d bytes sent as a pool of %d bytes\n", HOSTILE_BUFFER_SIZE, pool_size);
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	printf("create_pool accepted; showing a buffer past the end of the file\n");
	shm_buffer_add(&shm_buffer, pool_size - HOSTILE_BUFFER_SIZE);
	return commit_and_finish(hostile, &window, shm_buffer.buffer);
}

static int
attack_resize_past_end(struct hostile *hostile, int argc, char **argv)
{
	struct client_window window;
	struct shm_buffer shm_buffer;
	int ret = show_buffer(hostile, &window, &shm_buffer, HOSTILE_FD_MEMFD, DEFAULT_PIXEL);
	if (ret != 0) {
		return ret;
	}
	const int32_t new_size = 64 * HOSTILE_BUFFER_SIZE;
	wl_shm_pool_resize(shm_buffer.pool, new_size);
	printf("resized the pool to %d bytes; the file still has %d\n", new_size,
		HOSTILE_BUFFER_SIZE);
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	printf("resize accepted; showing a buffer past the end of the file\n");
	struct wl_buffer *old = shm_buffer.buffer;
	shm_buffer_add(&shm_buffer, new_size - HOSTILE_BUFFER_SIZE);
	wl_buffer_destroy(old);
	return commit_and_finish(hostile, &window, shm_buffer.buffer);
}

/*
 * resize-redraw [SIZE]: grow the file and then the pool, as a client that
 * needs more room does, paint new pixels into the shown buffer and commit
 * damage alone: the compositor draws again the buffer it took before the
 * resize.
 */
static int
attack_resize_redraw(struct hostile *hostile, int argc, char **argv)
{
	int64_t new_size = 64 << 20;
	if (argc > 1 ||
		(argc == 1 &&
			!hostile_parse_int(argv[0], HOSTILE_BUFFER_SIZE, INT32_MAX, &new_size))) {
		return HOSTILE_EXIT_USAGE;
	}
	struct client_window window;
	struct shm_buffer shm_buffer;
	int ret = show_buffer(hostile, &window, &shm_buffer, HOSTILE_FD_MEMFD, DEFAULT_PIXEL);
	if (ret != 0) {
		return ret;
	}
	if (ftruncate(shm_buffer.memfd, (off_t)new_size) != 0) {
		perror("hostile-client: ftruncate");
		return HOSTILE_EXIT_FAILURE;
	}
	wl_shm_pool_resize(shm_buffer.pool, (int32_t)new_size);
	printf("grew the file and the pool to %lld bytes\n", (long long)new_size);
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	uint32_t row[HOSTILE_WIDTH];
	for (size_t x = 0; x < HOSTILE_WIDTH; x++) {
		row[x] = REDRAW_PIXEL;
	}
	for (off_t y = 0; y < HOSTILE_HEIGHT; y++) {
		if (pwrite(shm_buffer.memfd, row, sizeof(row), y * HOSTILE_STRIDE) !=
			(ssize_t)sizeof(row)) {
			perror("hostile-client: pwrite");
			return HOSTILE_EXIT_FAILURE;
		}
	}
	printf("resize accepted; painted the shown buffer 0x%08x, committing damage\n",
		REDRAW_PIXEL);
	ret = redraw(hostile, &window);
	return ret != 0 ? ret : hostile_finish(hostile);
}

static int
attack_resize_shrink(struct hostile *hostile, int argc, char **argv)
{
	struct shm_buffer shm_buffer;
	int ret = shm_pool_make(hostile, &shm_buffer, HOSTILE_FD_MEMFD, 2 * HOSTILE_BUFFER_SIZE,
		2 * HOSTILE_BUFFER_SIZE, DEFAULT_PIXEL);
	if (ret != 0) {
		return ret;
	}
	wl_shm_pool_resize(shm_buffer.pool, HOSTILE_BUFFER_SIZE);
	printf("resized the pool from %d to %d bytes\n", 2 * HOSTILE_BUFFER_SIZE,
		HOSTILE_BUFFER_SIZE);
	return hostile_finish(hostile);
}

static int
attack_bad_fd(struct hostile *hostile, int argc, char **argv)
{
	enum hostile_fd_kind kind;
	if (argc != 1 || !hostile_fd_kind_parse(argv[0], &kind)) {
		return HOSTILE_EXIT_USAGE;
	}
	struct client_window window;
	int ret = hostile_window_create(hostile, &window);
	if (ret != 0) {
		return ret;
	}
	struct shm_buffer shm_buffer;
	ret = shm_pool_make(hostile, &shm_buffer, kind, HOSTILE_BUFFER_SIZE, HOSTILE_BUFFER_SIZE,
		DEFAULT_PIXEL);
	if (ret != 0) {
		return ret;
	}
	printf("sent a %s fd for a pool of %d bytes\n", hostile_fd_kind_to_str(kind),
		HOSTILE_BUFFER_SIZE);
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	printf("create_pool accepted; showing a buffer from it\n");
	shm_buffer_add(&shm_buffer, 0);
	return commit_and_finish(hostile, &window, shm_buffer.buffer);
}

/* buffer OFFSET WIDTH HEIGHT STRIDE [FORMAT [POOL_SIZE]] */
static int
attack_buffer(struct hostile *hostile, int argc, char **argv)
{
	int64_t values[6] = {0, 0, 0, 0, WL_SHM_FORMAT_XRGB8888, 65536};
	if (argc < 4 || argc > 6) {
		return HOSTILE_EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		int64_t min = i == 4 ? 0 : INT32_MIN;
		int64_t max = i == 4 ? UINT32_MAX : INT32_MAX;
		if (!hostile_parse_int(argv[i], min, max, &values[i])) {
			return HOSTILE_EXIT_USAGE;
		}
	}
	int32_t pool_size = (int32_t)values[5];
	if (pool_size <= 0) {
		return HOSTILE_EXIT_USAGE;
	}
	struct client_window window;
	int ret = hostile_window_create(hostile, &window);
	if (ret != 0) {
		return ret;
	}
	struct shm_buffer shm_buffer;
	ret = shm_pool_make(hostile, &shm_buffer, HOSTILE_FD_MEMFD, (uint64_t)pool_size, pool_size,
		DEFAULT_PIXEL);
	if (ret != 0) {
		return ret;
	}
	shm_buffer.buffer = wl_shm_pool_create_buffer(shm_buffer.pool, (int32_t)values[0],
		(int32_t)values[1], (int32_t)values[2], (int32_t)values[3], (uint32_t)values[4]);
	hostile_print_created(shm_buffer.buffer);
	printf("create_buffer offset %d, %dx%d, stride %d, format 0x%08x, pool of %d bytes\n",
		(int32_t)values[0], (int32_t)values[1], (int32_t)values[2], (int32_t)values[3],
		(uint32_t)values[4], pool_size);
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	printf("create_buffer accepted; showing it\n");
	return commit_and_finish(hostile, &window, shm_buffer.buffer);
}

/* many-pools COUNT [SIZE]: as many pools as asked, all alive at once. */
static int
attack_many_pools(struct hostile *hostile, int argc, char **argv)
{
	int64_t count = 0, size = 4096;
	if (argc < 1 || argc > 2 || !hostile_parse_int(argv[0], 1, 1000000, &count) ||
		(argc == 2 && !hostile_parse_int(argv[1], 1, INT32_MAX, &size))) {
		return HOSTILE_EXIT_USAGE;
	}
	/* Sparse: a big file costs no memory until someone writes it. */
	int memfd = hostile_memfd_create(hostile, (uint64_t)size, 0);
	if (memfd < 0) {
		return HOSTILE_EXIT_FAILURE;
	}
	struct wl_shm_pool **pools = calloc((size_t)count, sizeof(*pools));
	if (pools == NULL) {
		close(memfd);
		return HOSTILE_EXIT_FAILURE;
	}
	int ret = 0;
	int64_t sent = 0;
	for (; sent < count; sent++) {
		/* libwayland-client sends a duplicate of the fd each time. */
		pools[sent] = wl_shm_create_pool(hostile->client.shm, memfd, (int32_t)size);
		if (sent == 0) {
			hostile_print_created(pools[0]);
		}
		/* A round trip every 16 bounds what is in flight: libwayland-
		 * client sends up to 28 fds in one go, so a batch leaves in a
		 * single write and the compositor's error is read back rather
		 * than lost to EPIPE on a later write after it hung up. */
		if (sent % 16 == 15 && (ret = hostile_roundtrip(hostile)) <= 0) {
			sent++;
			break;
		}
	}
	printf("sent %lld create_pool requests of %lld bytes (last wl_shm_pool@%u)\n",
		(long long)sent, (long long)size,
		wl_proxy_get_id((struct wl_proxy *)pools[sent - 1]));
	if (ret < 0) {
		ret = hostile_report_failure(hostile);
	} else {
		ret = hostile_finish(hostile);
	}
	close(memfd);
	free(pools);
	return ret;
}

const struct hostile_attack hostile_attacks[] = {
	{"show", "[--fd KIND] [--pixel XRGB] [--hold MS]",
		"a well-behaved client: show a buffer, wait for its frame callback", attack_show},
	{"truncate-after-show", "", "truncate the file after the buffer was shown, commit again",
		attack_truncate_after_show},
	{"truncate-before-commit", "", "truncate the file before the first commit",
		attack_truncate_before_commit},
	{"truncate-race", "[pulse]",
		"commit from one thread while another truncates and regrows (at once: pulse)",
		attack_truncate_race},
	{"truncate-after-destroy", "",
		"destroy buffer and pool, truncate, have it rendered (capture, else damage)",
		attack_truncate_after_destroy},
	{"pool-larger-than-file", "", "a pool of 64 buffers over a file of one",
		attack_pool_larger_than_file},
	{"resize-past-end", "", "resize the pool past the end of its file", attack_resize_past_end},
	{"resize-redraw", "[SIZE]",
		"grow file and pool (64 MiB), commit damage only: the old buffer is drawn again",
		attack_resize_redraw},
	{"resize-shrink", "", "resize the pool to half its size", attack_resize_shrink},
	{"bad-fd", "KIND", "a pool over a pipe, socket, directory, device or eventfd",
		attack_bad_fd},
	{"buffer", "OFFSET WIDTH HEIGHT STRIDE [FORMAT [POOL_SIZE]]",
		"create_buffer with these numbers, show it if accepted", attack_buffer},
	{"many-pools", "COUNT [SIZE]", "COUNT pools of SIZE bytes (4096) alive at once",
		attack_many_pools},
	{NULL, NULL, NULL, NULL},
};

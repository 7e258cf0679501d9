/*
 * shmguard_fd_copy(): other client fds (keymaps, ICC profiles) get the
 * same checks, the same vetting of what backs the file and the same guard
 * as pools, and are never closed.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/wayland.h>

#include "harness.h"
#include "stall-fs-mount.h"

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

/* Files the default policy refuses: -EINVAL, nothing read. */
static void
test_file_system_refusals(void **state)
{
	unsigned fds = harness_count_fds();
	uint8_t out[64];
	int proc = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	assert_true(proc >= 0);
	assert_int_equal(shmguard_fd_copy(proc, 0, out, 1, NULL), -EINVAL);
	char reason[256];
	assert_int_equal(shmguard_file_vet(proc, NULL, reason, sizeof(reason)),
		SHMGUARD_POOL_ERROR_FS_UNKNOWN);
	assert_string_equal(
		reason, "file on a proc file system, not known to be memory or a local disk");
	close(proc);
	assert_int_equal(harness_count_fds(), fds);
}

static long
ms_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* A FUSE file whose daemon never answers getattr, statfs or reads: the
 * copy is refused at once, never waiting on the daemon. Were it to wait,
 * the daemon's watchdog would end it after 30 s, and the time (or the
 * error) would be wrong. */
static void
test_fuse_file_refused_at_once(void **state)
{
	const char *why = stall_fs_unusable();
	if (why != NULL) {
		print_message("skipped: %s\n", why);
		skip();
	}
	int ret = private_mount_namespace();
	if (ret != 0) {
		print_message("skipped: no private mount namespace: %s\n", strerror(-ret));
		skip();
	}
	struct stall_fs_mount fuse;
	char reason[256];
	if (stall_fs_mount_start(&fuse, "all", 30, reason, sizeof(reason)) != 0) {
		print_message("skipped: %s\n", reason);
		skip();
	}
	int fd = open(fuse.file, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	uint8_t out[64];
	int copied = shmguard_fd_copy(fd, 0, out, sizeof(out), NULL);
	long elapsed = ms_since(&start);
	close(fd);
	stall_fs_mount_stop(&fuse);
	assert_int_equal(copied, -EINVAL);
	assert_true(elapsed < 2000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copy_range),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_file_system_refusals),
		cmocka_unit_test(test_fuse_file_refused_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

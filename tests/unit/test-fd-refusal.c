/*
 * Every fd a client can send that must not become a pool, each refused
 * with its own reason, and nothing (no duplicate, no mapping) kept.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "client-file.h"
#include "leak-check.h"
#include "shmguard-setup.h"

#define PAGES(n) (client_page() * (uint64_t)(n))

/* A pool over @p fd is refused with @p expected, by name. */
#define assert_refused(fd, size, expected) assert_refused_at(fd, size, NULL, expected, #expected)

/* The same under a policy that also accepts file system @p fs_type. */
#define assert_refused_on(fd, size, fs_type, expected)                                             \
	do {                                                                                       \
		const char *const types[] = {fs_type};                                             \
		const struct shmguard_file_policy policy = {                                       \
			.extra_fs_types = types, .extra_fs_types_len = 1};                         \
		assert_refused_at(fd, size, &policy, expected, #expected);                         \
	} while (0)

static void
assert_refused_at(int fd, uint64_t size, const struct shmguard_file_policy *policy,
	enum shmguard_pool_error expected, const char *name)
{
	struct shmguard_budget *budget = shmguard_budget_create(NULL);
	assert_non_null(budget);
	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	struct shmguard_pool *pool =
		shmguard_pool_create_with_policy(fd, size, budget, policy, &error);
	if (pool != NULL || error != expected) {
		fail_msg("fd %d, %llu bytes: expected %s, got \"%s\"%s", fd,
			(unsigned long long)size, name, shmguard_pool_error_to_str(error),
			pool != NULL ? " and a pool" : "");
	}
	/* The reason has a name of its own, and nothing stays charged. */
	assert_null(strstr(shmguard_pool_error_to_str(error), "unknown"));
	assert_int_equal(shmguard_budget_get_pools(budget), 0);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), 0);
	/* No error pointer: refused all the same. */
	assert_null(shmguard_pool_create_with_policy(fd, size, NULL, policy, NULL));
	shmguard_budget_unref(budget);
}

static void
refuse_bad_fd(void **state)
{
	assert_refused(-1, PAGES(1), SHMGUARD_POOL_ERROR_BAD_FD);
	int fd = client_memfd_create("closed", PAGES(1), false);
	close(fd);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_BAD_FD);
}

static void
refuse_pipe(void **state)
{
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_refused(fds[0], PAGES(1), SHMGUARD_POOL_ERROR_PIPE);
	assert_refused(fds[1], PAGES(1), SHMGUARD_POOL_ERROR_PIPE);
	close(fds[0]);
	close(fds[1]);
}

static void
refuse_fifo(void **state)
{
	char path[] = "/tmp/shmguard-test-fifo-XXXXXX";
	int placeholder = mkstemp(path);
	assert_true(placeholder >= 0);
	close(placeholder);
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	unlink(path);
	assert_true(fd >= 0);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_PIPE);
	close(fd);
}

static void
refuse_unix_sockets(void **state)
{
	int fds[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
	assert_refused(fds[0], PAGES(1), SHMGUARD_POOL_ERROR_SOCKET);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, fds), 0);
	assert_refused(fds[1], PAGES(1), SHMGUARD_POOL_ERROR_SOCKET);
	close(fds[0]);
	close(fds[1]);
}

/* A TCP socket can be mapped read-only, then raises SIGBUS: all three
 * kinds (listening, connecting, accepted) are refused. */
static void
refuse_tcp_sockets(void **state)
{
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(listener >= 0);
	struct sockaddr_in address;
	memset(&address, 0, sizeof(address));
	address.sin_family = AF_INET;
	address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	address.sin_port = 0;
	assert_int_equal(bind(listener, (struct sockaddr *)&address, sizeof(address)), 0);
	assert_int_equal(listen(listener, 1), 0);
	socklen_t length = sizeof(address);
	assert_int_equal(getsockname(listener, (struct sockaddr *)&address, &length), 0);

	int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(client >= 0);
	assert_int_equal(connect(client, (struct sockaddr *)&address, sizeof(address)), 0);
	int accepted = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	assert_true(accepted >= 0);
	assert_int_equal(write(client, "x", 1), 1);

	assert_refused(listener, PAGES(1), SHMGUARD_POOL_ERROR_SOCKET);
	assert_refused(client, PAGES(1), SHMGUARD_POOL_ERROR_SOCKET);
	assert_refused(accepted, 1, SHMGUARD_POOL_ERROR_SOCKET);
	close(accepted);
	close(client);
	close(listener);
}

static void
refuse_directory(void **state)
{
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_DIRECTORY);
	close(fd);
}

static void
refuse_character_devices(void **state)
{
	const char *paths[] = {"/dev/null", "/dev/zero"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int fd = open(paths[i], O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			fail_msg("open(%s): %s", paths[i], strerror(errno));
		}
		assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_CHAR_DEVICE);
		close(fd);
	}
}

static void
refuse_block_device(void **state)
{
	DIR *dev = opendir("/dev");
	assert_non_null(dev);
	int fd = -1;
	char found[300] = "";
	struct dirent *entry;
	while (fd < 0 && (entry = readdir(dev)) != NULL) {
		char path[300];
		struct stat st;
		snprintf(path, sizeof(path), "/dev/%s", entry->d_name);
		if (stat(path, &st) != 0 || !S_ISBLK(st.st_mode)) {
			continue;
		}
		fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		snprintf(found, sizeof(found), "%s", path);
	}
	closedir(dev);
	if (fd < 0) {
		print_message("skipped: no block device in /dev can be opened for reading "
			      "(not root, or none present)\n");
		skip();
	}
	print_message("block device: %s\n", found);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_BLOCK_DEVICE);
	close(fd);
}

static void
refuse_anonymous_inodes(void **state)
{
	int fd = eventfd(0, EFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_NOT_REGULAR);
	close(fd);

	fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_NOT_REGULAR);
	close(fd);

	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR2);
	fd = signalfd(-1, &mask, SFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_NOT_REGULAR);
	close(fd);

	fd = epoll_create1(EPOLL_CLOEXEC);
	assert_true(fd >= 0);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_NOT_REGULAR);
	close(fd);
}

static void
refuse_o_path(void **state)
{
	int client = client_memfd_create("o-path", PAGES(1), false);
	int fd = client_file_reopen(client, O_PATH);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_O_PATH);
	close(fd);
	close(client);

	fd = open("/tmp", O_PATH | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_O_PATH);
	close(fd);
}

static void
refuse_write_only(void **state)
{
	int client = client_memfd_create("write-only", PAGES(1), false);
	int fd = client_file_reopen(client, O_WRONLY);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_NOT_READABLE);
	close(fd);
	close(client);

	client = client_tmpfile_create(PAGES(1));
	fd = client_file_reopen(client, O_WRONLY);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_NOT_READABLE);
	close(fd);
	close(client);
}

static void
refuse_bad_sizes(void **state)
{
	int fd = client_memfd_create("sizes", PAGES(2), false);
	assert_refused(fd, 0, SHMGUARD_POOL_ERROR_BAD_SIZE);
	assert_refused(fd, (uint64_t)PTRDIFF_MAX + 1, SHMGUARD_POOL_ERROR_BAD_SIZE);
	assert_refused(fd, UINT64_MAX, SHMGUARD_POOL_ERROR_BAD_SIZE);
	close(fd);
}

static void
refuse_pool_larger_than_file(void **state)
{
	int fd = client_memfd_create("short", PAGES(2), false);
	assert_refused(fd, PAGES(2) + 1, SHMGUARD_POOL_ERROR_FILE_TOO_SHORT);
	assert_refused(fd, PAGES(3), SHMGUARD_POOL_ERROR_FILE_TOO_SHORT);
	close(fd);

	fd = client_memfd_create("empty", 0, false);
	assert_refused(fd, 1, SHMGUARD_POOL_ERROR_FILE_TOO_SHORT);
	close(fd);

	/* A regular file that reports no size (procfs), under a policy
	 * that accepts proc (the default refuses it: not memory, not a
	 * disk). */
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_refused(fd, PAGES(1), SHMGUARD_POOL_ERROR_FS_UNKNOWN);
	assert_refused_on(fd, PAGES(1), "proc", SHMGUARD_POOL_ERROR_FILE_TOO_SHORT);
	close(fd);
}

/* A regular file with a size the kernel will not map (sysfs, which the
 * default policy refuses before that: a policy that accepts it). */
static void
refuse_unmappable_file(void **state)
{
	const char *path = "/sys/devices/system/cpu/online";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
		if (fd >= 0) {
			close(fd);
		}
		print_message("skipped: %s is not a sized regular file here\n", path);
		skip();
	}
	assert_refused(fd, (uint64_t)st.st_size, SHMGUARD_POOL_ERROR_FS_UNKNOWN);
	assert_refused_on(fd, (uint64_t)st.st_size, "sysfs", SHMGUARD_POOL_ERROR_UNMAPPABLE);
	close(fd);
}

/* The refusals leave the fd usable as a pool once it is right. */
static void
accept_after_refusal(void **state)
{
	int fd = client_memfd_create("accepted", PAGES(2), false);
	assert_refused(fd, PAGES(3), SHMGUARD_POOL_ERROR_FILE_TOO_SHORT);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	uint8_t byte;
	assert_int_equal(shmguard_pool_read(pool, PAGES(2) - 1, &byte, 1, NULL), 0);
	assert_int_equal(byte, client_pattern(PAGES(2) - 1));
	shmguard_pool_unref(pool);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(refuse_bad_fd),
		LEAK_CHECKED(refuse_pipe),
		LEAK_CHECKED(refuse_fifo),
		LEAK_CHECKED(refuse_unix_sockets),
		LEAK_CHECKED(refuse_tcp_sockets),
		LEAK_CHECKED(refuse_directory),
		LEAK_CHECKED(refuse_character_devices),
		LEAK_CHECKED(refuse_block_device),
		LEAK_CHECKED(refuse_anonymous_inodes),
		LEAK_CHECKED(refuse_o_path),
		LEAK_CHECKED(refuse_write_only),
		LEAK_CHECKED(refuse_bad_sizes),
		LEAK_CHECKED(refuse_pool_larger_than_file),
		LEAK_CHECKED(refuse_unmappable_file),
		LEAK_CHECKED(accept_after_refusal),
	};
	return cmocka_run_group_tests(tests, setup_warm_up, NULL);
}

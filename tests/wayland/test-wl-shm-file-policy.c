/*
 * The file policy through the protocol: a create_pool whose file the
 * policy refuses gets wl_shm error invalid_fd with the exact sentence
 * that names the file system type, and a well-behaved client is served
 * right after. The default policy, memory-only and extra types through
 * shmguard_shm_options.file_policy (whose names are copied), and, as
 * root with /dev/fuse, a FUSE file whose daemon never answers getattr,
 * statfs or reads (and, in the last case, the flush every close() sends):
 * the compositor (this process) must answer at once instead of waiting on
 * the daemon.
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <wayland-client.h>

#include <shmguard/wayland.h>

#include "harness.h"
#include "stall-fs-mount.h"

#define POOL_SIZE 4096
/* stall-fs ends by itself after this, whatever happens to the test. */
#define STALL_FS_WATCHDOG_S 30

/* What the client hands over: a path it opens, or a memfd. */
struct pool_file {
	char path[128];
	int flags;
};

/* The client: a pool of the file; report the protocol error (or ok). */
static void
client_create_pool(struct client_ctx *ctx)
{
	const struct pool_file *file = ctx->arg;
	int fd = file->path[0] != '\0' ? open(file->path, file->flags | O_CLOEXEC)
				       : client_memfd(POOL_SIZE, 1, false);
	CLIENT_CHECK(ctx, fd >= 0);
	wl_shm_create_pool(ctx->shm, fd, POOL_SIZE);
	/* Closed after the request is out: a FUSE daemon that holds flushes
	 * holds this close() too. */
	client_report_on(ctx, ctx->shm);
	close(fd);
}

/* Expect invalid_fd on wl_shm whose message is exactly @p reason (the
 * client's log line is "wl_shm@N: error 2: REASON"). */
static void
expect_refusal(struct test_client *client, const char *reason)
{
	struct ctl_msg msg;
	harness_recv(client, &msg);
	if (msg.kind != CTL_PROTOCOL_ERROR) {
		fail_msg("expected invalid_fd, the client reported %u: %s", msg.kind, msg.text);
	}
	assert_int_equal(msg.values[0], WL_SHM_ERROR_INVALID_FD);
	const char *bar = strchr(msg.text, '|');
	assert_non_null(bar);
	assert_memory_equal(msg.text, "wl_shm|", 7);
	const char *tail = strstr(bar, ": error 2: ");
	if (tail == NULL || strcmp(tail + strlen(": error 2: "), reason) != 0) {
		fail_msg("message \"%s\", expected \"%s\"", bar + 1, reason);
	}
	harness_wait_exit(client);
}

/* A well-behaved client is served after the refusal. */
static void
expect_good_client_served(struct harness *harness)
{
	static const struct pool_file memfd = {{0}, 0};
	struct test_client *good = harness_spawn(harness, client_create_pool, &memfd);
	harness_expect_ok(good, NULL);
	harness_wait_exit(good);
}

static void
test_default_refuses_proc(void **state)
{
	struct harness *harness = harness_create(NULL);
	static const struct pool_file proc = {"/proc/self/status", O_RDONLY};
	struct test_client *client = harness_spawn(harness, client_create_pool, &proc);
	expect_refusal(
		client, "file on a proc file system, not known to be memory or a local disk");
	expect_good_client_served(harness);
	harness_destroy(harness);
}

/* A type the options name is accepted; the names are copied at create. */
static void
test_extra_type_accepted(void **state)
{
	char name[] = "proc";
	const char *const types[] = {name};
	struct shmguard_shm_options options = {
		.file_policy = {.extra_fs_types = types, .extra_fs_types_len = 1}};
	struct harness *harness = harness_create(&options);
	memcpy(name, "xxxx", 4);
	static const struct pool_file proc = {"/proc/self/status", O_RDONLY};
	struct test_client *client = harness_spawn(harness, client_create_pool, &proc);
	/* Past the vetting: proc files have no size. */
	harness_expect_error(
		client, "wl_shm", WL_SHM_ERROR_INVALID_FD, "file is shorter than the pool size");
	harness_wait_exit(client);
	harness_destroy(harness);
}

static void
test_memory_only(void **state)
{
	struct shmguard_shm_options options = {
		.file_policy = {.accept = SHMGUARD_FILE_ACCEPT_MEMORY}};
	struct harness *harness = harness_create(&options);
	/* A memfd is memory. */
	expect_good_client_served(harness);

	/* A file in the runtime dir, under /tmp: refused, unless /tmp is
	 * memory on this machine. */
	struct pool_file disk = {{0}, O_RDWR};
	snprintf(disk.path, sizeof(disk.path), "%s/file-policy-XXXXXX", harness->runtime_dir);
	int fd = mkstemp(disk.path);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, POOL_SIZE), 0);
	struct shmguard_file_policy memory = {.accept = SHMGUARD_FILE_ACCEPT_MEMORY};
	char reason[256];
	enum shmguard_pool_error verdict = shmguard_file_vet(fd, &memory, reason, sizeof(reason));
	close(fd);
	if (verdict == SHMGUARD_POOL_OK) {
		unlink(disk.path);
		print_message("    (%s is memory here: nothing to refuse)\n", disk.path);
	} else {
		assert_int_equal(verdict, SHMGUARD_POOL_ERROR_FS_NOT_MEMORY);
		assert_non_null(strstr(reason, "the compositor accepts memory-backed files only"));
		struct test_client *client = harness_spawn(harness, client_create_pool, &disk);
		expect_refusal(client, reason);
		unlink(disk.path);
		expect_good_client_served(harness);
	}
	harness_destroy(harness);
}

/* Once per process: a mount namespace of the test's own for stall-fs. */
static void
enter_private_mount_namespace(void)
{
	static bool done;
	if (!done) {
		int ret = private_mount_namespace();
		if (ret != 0) {
			print_message("skipped: no private mount namespace: %s\n", strerror(-ret));
			skip();
		}
		done = true;
	}
}

static long
ms_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* The FUSE file: refused at once, naming the type; then a good client. If
 * this process waited on the daemon instead, the daemon's watchdog ends it
 * after STALL_FS_WATCHDOG_S and the message or the time is wrong. */
static void
fuse_case(const char *mode)
{
	const char *why = stall_fs_unusable();
	if (why != NULL) {
		print_message("skipped: %s\n", why);
		skip();
	}
	enter_private_mount_namespace();
	struct stall_fs_mount fuse;
	char reason[256];
	if (stall_fs_mount_start(&fuse, mode, STALL_FS_WATCHDOG_S, reason, sizeof(reason)) != 0) {
		print_message("skipped: %s\n", reason);
		skip();
	}
	struct harness *harness = harness_create(NULL);
	struct pool_file file = {{0}, O_RDWR};
	snprintf(file.path, sizeof(file.path), "%s", fuse.file);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct test_client *client = harness_spawn(harness, client_create_pool, &file);
	expect_refusal(client,
		"file on a fuse.stall-fs file system: page reads can wait on a user-space process");
	expect_good_client_served(harness);
	long elapsed = ms_since(&start);
	harness_destroy(harness);
	stall_fs_mount_stop(&fuse);
	print_message("    refused and a good client served in %ld ms\n", elapsed);
	assert_true(elapsed < 2000);
}

static void
test_fuse_data_stall(void **state)
{
	fuse_case("data");
}

static void
test_fuse_metadata_stall(void **state)
{
	fuse_case("all");
}

/* A daemon that also holds every flush: any close() of an fd of the
 * file waits on it, the compositor's as well as the client's. The client
 * is stuck from the moment libwayland-client closes the fd it sent; the
 * compositor must refuse the pool, close its fd aside and serve a good
 * client at once. Once the daemon ends, the client reads its error. */
static void
test_fuse_flush_stall(void **state)
{
	const char *why = stall_fs_unusable();
	if (why != NULL) {
		print_message("skipped: %s\n", why);
		skip();
	}
	if (valgrind_running()) {
		print_message("skipped: under valgrind a close() that waits stops every thread\n");
		skip();
	}
	enter_private_mount_namespace();
	/* The harness first: the daemon is stopped before it is destroyed,
	 * and its fd count must not see the daemon's pipe come and go. */
	struct harness *harness = harness_create(NULL);
	struct stall_fs_mount fuse;
	char reason[256];
	if (stall_fs_mount_start(&fuse, "flush", STALL_FS_WATCHDOG_S, reason, sizeof(reason)) !=
		0) {
		harness_destroy(harness);
		print_message("skipped: %s\n", reason);
		skip();
	}
	struct pool_file file = {{0}, O_RDWR};
	snprintf(file.path, sizeof(file.path), "%s", fuse.file);
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	struct test_client *attacker = harness_spawn(harness, client_create_pool, &file);
	/* Time for the request to arrive and be refused. */
	harness_serve(harness, 300);
	expect_good_client_served(harness);
	long elapsed = ms_since(&start);
	/* The attacker's own close() waits on its daemon until it ends. */
	stall_fs_mount_stop(&fuse);
	expect_refusal(attacker,
		"file on a fuse.stall-fs file system: page reads can wait on a user-space process");
	harness_destroy(harness);
	print_message("    refused and a good client served in %ld ms\n", elapsed);
	assert_true(elapsed < 2000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_refuses_proc),
		cmocka_unit_test(test_extra_type_accepted),
		cmocka_unit_test(test_memory_only),
		cmocka_unit_test(test_fuse_data_stall),
		cmocka_unit_test(test_fuse_metadata_stall),
		cmocka_unit_test(test_fuse_flush_stall),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Tests of the harness itself. Each scenario is a broken test that must
 * fail, for the right reason: a test that leaks a file descriptor, a
 * client that crashes, a client that hangs, a client that gets another
 * error than the test expects. Run without arguments, this binary runs
 * every scenario in a child process and checks its exit status and the
 * harness's message; if the harness let any pass, every passing test
 * would prove less.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include <shmguard/wayland.h>

#include "harness.h"

static const char *scenario;
static const char *self;

static void
client_crashes(struct client_ctx *ctx)
{
	raise(SIGSEGV);
}

static void
client_hangs(struct client_ctx *ctx)
{
	pause();
}

static void
client_makes_pool_of_size_zero(struct client_ctx *ctx)
{
	int fd = client_memfd(4096, 0, false);
	wl_shm_create_pool(ctx->shm, fd, 0);
	close(fd);
	client_report_on(ctx, ctx->shm);
}

static void
test_broken(void **state)
{
	struct harness *harness = harness_create(NULL);
	harness->deadline_ms = 1000;
	if (strcmp(scenario, "fd-leak") == 0) {
		/* Leaked on purpose: the teardown must notice. */
		int leaked = dup(0);
		(void)leaked;
	} else if (strcmp(scenario, "client-crash") == 0) {
		struct test_client *client = harness_spawn(harness, client_crashes, NULL);
		harness_wait_exit(client);
	} else if (strcmp(scenario, "client-hang") == 0) {
		struct test_client *client = harness_spawn(harness, client_hangs, NULL);
		harness_expect_ok(client, NULL);
	} else if (strcmp(scenario, "wrong-error") == 0) {
		/* The client gets invalid_stride; expecting invalid_fd must fail. */
		struct test_client *client =
			harness_spawn(harness, client_makes_pool_of_size_zero, NULL);
		harness_expect_error(client, "wl_shm", WL_SHM_ERROR_INVALID_FD, NULL);
	}
	harness_destroy(harness);
}

/* Run one scenario in a child; require failure and @p message. */
static void
expect_caught(const char *name, const char *message)
{
	int out[2];
	assert_int_equal(pipe(out), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out[1], STDOUT_FILENO);
		dup2(out[1], STDERR_FILENO);
		close(out[0]);
		close(out[1]);
		/* A failing scenario leaks by design; only its verdict counts. */
		setenv("ASAN_OPTIONS", "detect_leaks=0", 1);
		execl(self, self, name, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	static char log[65536];
	size_t length = 0;
	ssize_t n;
	while (length < sizeof(log) - 1 &&
		(n = read(out[0], log + length, sizeof(log) - 1 - length)) > 0) {
		length += (size_t)n;
	}
	log[length] = '\0';
	close(out[0]);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) == 0 || strstr(log, message) == NULL) {
		fail_msg("scenario %s: status 0x%x, wanted a failure saying \"%s\"; output:\n%s",
			name, status, message, log);
	}
}

static void
test_catches_fd_leak(void **state)
{
	expect_caught("fd-leak", "fd leak:");
}

static void
test_catches_client_crash(void **state)
{
	expect_caught("client-crash", "(signal 11)");
}

static void
test_catches_client_hang(void **state)
{
	expect_caught("client-hang", "timed out after 1000 ms");
}

static void
test_catches_wrong_error(void **state)
{
	expect_caught("wrong-error", "expected wl_shm error 2, got wl_shm error 1");
}

int
main(int argc, char **argv)
{
	self = argv[0];
	if (argc > 1) {
		scenario = argv[1];
		const struct CMUnitTest broken[] = {
			cmocka_unit_test(test_broken),
		};
		return cmocka_run_group_tests(broken, NULL, NULL);
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_catches_fd_leak),
		cmocka_unit_test(test_catches_client_crash),
		cmocka_unit_test(test_catches_client_hang),
		cmocka_unit_test(test_catches_wrong_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

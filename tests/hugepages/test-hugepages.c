/*
 * The huge-page reservation of the tests (hugepages.h) puts the old
 * nr_hugepages back in every case: the last holder leaving, a holder that
 * crashed (found by the next reservation), a test that died of a signal,
 * a reused pid. Run on files of its own (SHMGUARD_TEST_HUGEPAGES_STATE,
 * SHMGUARD_TEST_NR_HUGEPAGES), so it needs neither root nor huge pages and
 * never races with the tests that use the real ones.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "hugepages.h"

#define ORIGINAL 3

static char directory[] = "/tmp/shmguard-hugepages-XXXXXX";
static char state_file[64];
static char nr_file[64];

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int
group_setup(void **state)
{
	if (mkdtemp(directory) == NULL) {
		return -1;
	}
	snprintf(state_file, sizeof(state_file), "%s/state", directory);
	snprintf(nr_file, sizeof(nr_file), "%s/nr_hugepages", directory);
	setenv("SHMGUARD_TEST_HUGEPAGES_STATE", state_file, 1);
	setenv("SHMGUARD_TEST_NR_HUGEPAGES", nr_file, 1);
	return 0;
}

static int
group_teardown(void **state)
{
	unlink(state_file);
	unlink(nr_file);
	rmdir(directory);
	return 0;
}

/* Every test starts from nr_hugepages = ORIGINAL and no reservation. */
static int
fresh_files(void **state)
{
	char text[16];
	snprintf(text, sizeof(text), "%d\n", ORIGINAL);
	write_file(nr_file, text);
	write_file(state_file, "");
	return 0;
}

static void
reserve_ok(unsigned pages, pid_t holder)
{
	char why[256] = "";
	int ret = hugepages_reserve(pages, holder, why, sizeof(why));
	if (ret != 0) {
		fail_msg("reserving %u pages for %d: %s", pages, (int)holder, why);
	}
}

static void
last_holder_puts_value_back(void **state)
{
	reserve_ok(4, getpid());
	assert_int_equal(hugepages_nr(), ORIGINAL + 4);
	hugepages_release(getpid());
	assert_int_equal(hugepages_nr(), ORIGINAL);
}

/* Two holders at once (getppid() is a live process too): each adds its
 * pages, the value goes back only when both have left. */
static void
holders_add_up(void **state)
{
	reserve_ok(4, getpid());
	reserve_ok(2, getppid());
	assert_int_equal(hugepages_nr(), ORIGINAL + 6);
	hugepages_release(getpid());
	assert_int_equal(hugepages_nr(), ORIGINAL + 6);
	hugepages_release(getppid());
	assert_int_equal(hugepages_nr(), ORIGINAL);
}

/* A holder that died without leaving: the next reservation puts the saved
 * value back before it adds its own pages. */
static void
crashed_holder_is_undone(void **state)
{
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char why[256];
		_exit(hugepages_reserve(5, getpid(), why, sizeof(why)) == 0 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(hugepages_nr(), ORIGINAL + 5);

	reserve_ok(2, getpid());
	assert_int_equal(hugepages_nr(), ORIGINAL + 2);
	hugepages_release(getpid());
	assert_int_equal(hugepages_nr(), ORIGINAL);
}

/* A pid that is alive but started at another time is not the holder. */
static void
reused_pid_is_not_the_holder(void **state)
{
	char text[128];
	snprintf(text, sizeof(text), "original %d\nholder %d 1\n", ORIGINAL, (int)getpid());
	write_file(state_file, text);
	write_file(nr_file, "11\n");
	reserve_ok(1, getpid());
	assert_int_equal(hugepages_nr(), ORIGINAL + 1);
	hugepages_release(getpid());
	assert_int_equal(hugepages_nr(), ORIGINAL);
}

static void
limit_holds_for_all_holders(void **state)
{
	reserve_ok(HUGEPAGES_MAX_ADDED, getpid());
	char why[256] = "";
	assert_int_equal(hugepages_reserve(1, getppid(), why, sizeof(why)), -1);
	assert_non_null(strstr(why, "limit"));
	assert_int_equal(hugepages_nr(), ORIGINAL + HUGEPAGES_MAX_ADDED);
	hugepages_release(getpid());
	assert_int_equal(hugepages_nr(), ORIGINAL);
}

static int
body_exit_77(const char *skip_reason, void *arg)
{
	return skip_reason == NULL && hugepages_nr() == ORIGINAL + 3 ? 77 : 1;
}

static int
body_sigbus(const char *skip_reason, void *arg)
{
	signal(SIGBUS, SIG_DFL);
	raise(SIGBUS);
	return 0;
}

/* The run wrapper: the body runs with the pages, its status comes back,
 * and a body that dies of SIGBUS (what a guard that fails to map zeros
 * does) takes the caller with it, after the value went back. */
static void
run_wrapper_always_releases(void **state)
{
	assert_int_equal(hugepages_run_reserved(3, body_exit_77, NULL), 77);
	assert_int_equal(hugepages_nr(), ORIGINAL);

	fflush(NULL);
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		hugepages_run_reserved(3, body_sigbus, NULL);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGBUS);
	assert_int_equal(hugepages_nr(), ORIGINAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(last_holder_puts_value_back, fresh_files),
		cmocka_unit_test_setup(holders_add_up, fresh_files),
		cmocka_unit_test_setup(crashed_holder_is_undone, fresh_files),
		cmocka_unit_test_setup(reused_pid_is_not_the_holder, fresh_files),
		cmocka_unit_test_setup(limit_holds_for_all_holders, fresh_files),
		cmocka_unit_test_setup(run_wrapper_always_releases, fresh_files),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

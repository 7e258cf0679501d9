/*
 * The leak check of the unit tests, tested: it must see a leaked fd, a
 * leaked mapping and an fd closed behind someone's back, and its cmocka
 * fixtures must turn a leak into a failed test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "client-file.h"
#include "leak-check.h"

static struct leak_snapshot before;

static void
clean_run_reports_nothing(void **state)
{
	struct leak_report report;
	leak_snapshot_take(&before);
	int fd = client_memfd_create("leak-check-clean", client_page(), false);
	close(fd);
	assert_false(leak_check_compare(&before, &report));
	assert_int_equal(report.fds_opened, 0);
	assert_int_equal(report.fds_closed, 0);
	assert_int_equal(report.maps_added, 0);
}

static void
leaked_fd_is_reported(void **state)
{
	struct leak_report report;
	leak_snapshot_take(&before);
	/* The deliberate leak. */
	int fd = client_memfd_create("leak-check-leaked-fd", client_page(), false);
	assert_true(leak_check_compare_verbose(&before, &report));
	assert_int_equal(report.fds_opened, 1);
	assert_int_equal(report.fds_closed, 0);
	assert_int_equal(report.maps_added, 0);
	close(fd);
	assert_false(leak_check_compare(&before, &report));
}

static void
closed_fd_is_reported(void **state)
{
	struct leak_report report;
	int fd = client_memfd_create("leak-check-closed-fd", client_page(), false);
	leak_snapshot_take(&before);
	close(fd);
	assert_true(leak_check_compare(&before, &report));
	assert_int_equal(report.fds_opened, 0);
	assert_int_equal(report.fds_closed, 1);
}

static void
leaked_mapping_is_reported(void **state)
{
	struct leak_report report;
	size_t page = client_page();
	int fd = client_memfd_create("leak-check-leaked-mapping", 2 * page, false);
	leak_snapshot_take(&before);
	/* A file mapping never merges with its neighbours: one new line. */
	void *mapped = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(mapped != MAP_FAILED);
	assert_true(leak_check_compare_verbose(&before, &report));
	assert_int_equal(report.fds_opened, 0);
	assert_int_equal(report.maps_added, 1);
	assert_true(leak_check_address_mapped(mapped, NULL, 0));
	munmap(mapped, 2 * page);
	assert_false(leak_check_address_mapped(mapped, NULL, 0));
	assert_false(leak_check_compare(&before, &report));
	close(fd);
}

/* An allocator carving its own reservation is not a leak. */
static void
reservation_carving_is_not_reported(void **state)
{
	struct leak_report report;
	size_t page = client_page();
	uint8_t *reserved = mmap(NULL, 16 * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(reserved != MAP_FAILED);
	leak_snapshot_take(&before);
	assert_int_equal(mprotect(reserved + 4 * page, 2 * page, PROT_READ | PROT_WRITE), 0);
	assert_false(leak_check_compare(&before, &report));
	assert_int_equal(report.maps_added, 0);
	munmap(reserved, 16 * page);
}

/* Fresh anonymous memory is a mapping like any other. */
static void
anonymous_mapping_is_reported(void **state)
{
	struct leak_report report;
	size_t page = client_page();
	if (leak_check_under_valgrind()) {
		print_message("under valgrind, anonymous mappings are not compared\n");
		skip();
	}
	leak_snapshot_take(&before);
	void *mapped = mmap(NULL, 4 * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mapped != MAP_FAILED);
	assert_true(leak_check_compare(&before, &report));
	assert_int_equal(report.maps_added, 1);
	munmap(mapped, 4 * page);
	assert_false(leak_check_compare(&before, &report));
}

/* Zero pages mapped over part of a file mapping (what the guard does)
 * and left behind when the file part is unmapped: reported. */
static void
zero_pages_left_behind_are_reported(void **state)
{
	struct leak_report report;
	size_t page = client_page();
	if (leak_check_under_valgrind()) {
		print_message("under valgrind, anonymous mappings are not compared\n");
		skip();
	}
	int fd = client_memfd_create("leak-check-zero-pages", 4 * page, false);
	leak_snapshot_take(&before);
	uint8_t *mapped = mmap(NULL, 4 * page, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(mapped != MAP_FAILED);
	void *zeros = mmap(mapped + 2 * page, 2 * page, PROT_READ,
		MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_ptr_equal(zeros, mapped + 2 * page);
	munmap(mapped, 2 * page);
	assert_true(leak_check_compare(&before, &report));
	assert_int_equal(report.maps_added, 1);
	munmap(mapped + 2 * page, 2 * page);
	assert_false(leak_check_compare(&before, &report));
	close(fd);
}

/* Tests that the child groups below run under the fixtures. */
static int child_leaked_fd = -1;

static void
child_test_leaking(void **state)
{
	child_leaked_fd = client_memfd_create("leak-check-child", client_page(), false);
}

static void
child_test_clean(void **state)
{
	close(client_memfd_create("leak-check-child", client_page(), false));
}

/* Run one test under the leak fixtures in a child; its exit status. */
static int
run_in_child(const char *name, CMUnitTestFunction function)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		const struct CMUnitTest tests[] = {
			{name, function, leak_check_setup, leak_check_teardown, NULL},
		};
		int failed = _cmocka_run_group_tests(name, tests, 1, NULL, NULL);
		fflush(stdout);
		_exit(failed == 0 ? 0 : 1);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* The must-fail case: the fixtures fail a test that leaks an fd. */
static void
fixture_fails_a_leaking_test(void **state)
{
	print_message("the child test below must fail: it leaks an fd on purpose\n");
	assert_int_equal(run_in_child("leaks-an-fd-on-purpose", child_test_leaking), 1);
	assert_int_equal(run_in_child("leaks-nothing", child_test_clean), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(clean_run_reports_nothing),
		cmocka_unit_test(leaked_fd_is_reported),
		cmocka_unit_test(closed_fd_is_reported),
		cmocka_unit_test(leaked_mapping_is_reported),
		cmocka_unit_test(reservation_carving_is_not_reported),
		cmocka_unit_test(anonymous_mapping_is_reported),
		cmocka_unit_test(zero_pages_left_behind_are_reported),
		cmocka_unit_test(fixture_fails_a_leaking_test),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * Pools: their own duplicate of the client's fd, reference counting, the
 * life of a mapping past the last reference while a window is open,
 * revalidation after a fault, strategy choice and the names of every
 * status enum.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/mapping.h"

#include "client-file.h"
#include "leak-check.h"
#include "shmguard-setup.h"

#define PAGES(n) (client_page() * (uint64_t)(n))

/* The lowest fd open now that is not in @p before (fds below 1024). */
static int
new_fd_since(const struct leak_snapshot *before)
{
	for (int fd = 0; fd < 1024; fd++) {
		bool was = (before->fds[fd / 64] >> (fd % 64)) & 1u;
		if (!was && fcntl(fd, F_GETFD) >= 0) {
			return fd;
		}
	}
	return -1;
}

static struct leak_snapshot snapshot;

static void
pool_keeps_its_own_fd(void **state)
{
	int fd = client_memfd_create("own-fd", PAGES(2), false);
	struct stat client_st;
	assert_int_equal(fstat(fd, &client_st), 0);

	leak_snapshot_take(&snapshot);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	int dup = new_fd_since(&snapshot);
	assert_true(dup >= 0);
	assert_int_not_equal(dup, fd);
	/* The same file, and not inherited by a child the compositor runs. */
	struct stat dup_st;
	assert_int_equal(fstat(dup, &dup_st), 0);
	assert_int_equal(dup_st.st_ino, client_st.st_ino);
	assert_int_equal(dup_st.st_dev, client_st.st_dev);
	assert_true(fcntl(dup, F_GETFD) & FD_CLOEXEC);

	/* The client's fd may go at once. */
	close(fd);
	uint8_t buffer[64];
	assert_int_equal(shmguard_pool_read(pool, PAGES(1), buffer, sizeof(buffer), NULL), 0);
	assert_int_equal(client_pattern_mismatch(buffer, PAGES(1), sizeof(buffer)), sizeof(buffer));
	assert_int_equal(shmguard_pool_get_size(pool), PAGES(2));

	/* The last reference closes the duplicate. */
	shmguard_pool_unref(pool);
	assert_true(fcntl(dup, F_GETFD) < 0 && errno == EBADF);
}

static void
pool_references(void **state)
{
	int fd = client_memfd_create("references", PAGES(1), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(1));
	struct shmguard_access *access;
	void *data;
	assert_ptr_equal(shmguard_pool_ref(pool), pool);
	assert_ptr_equal(shmguard_pool_ref(pool), pool);
	shmguard_pool_unref(pool);
	shmguard_pool_unref(pool);
	/* Still alive with the first reference. */
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(1), SHMGUARD_ACCESS_READ, &access, &data), 0);
	assert_false(shmguard_access_end(access, NULL));
	shmguard_pool_unref(pool);
	shmguard_pool_unref(NULL);
	close(fd);
}

/* The last reference goes while a window is open: the pointer stays valid
 * and the mapping and fd go when the window closes. */
static void
unref_with_window_open(void **state)
{
	int fd = client_memfd_create("unref-open", PAGES(3), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(3));
	close(fd);
	struct shmguard_access *access;
	void *data;
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(3), SHMGUARD_ACCESS_READ, &access, &data), 0);
	leak_snapshot_take(&snapshot);
	shmguard_pool_unref(pool);
	assert_int_equal(generation_retired_count(), 1);
	assert_true(leak_check_address_mapped(data, NULL, 0));
	assert_int_equal(client_pattern_mismatch(data, 0, PAGES(3)), PAGES(3));
	assert_false(shmguard_access_end(access, NULL));
	assert_int_equal(generation_retired_count(), 0);
	assert_false(leak_check_address_mapped(data, NULL, 0));

	struct leak_report report;
	assert_true(leak_check_compare(&snapshot, &report));
	assert_int_equal(report.fds_closed, 1);
	assert_int_equal(report.maps_added, -1);
}

static void
healthy_pool_has_no_fault(void **state)
{
	int fd = client_memfd_create("no-fault", PAGES(1), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(1));
	struct shmguard_fault_report report = {.kind = SHMGUARD_FAULT_IO_ERROR, .offset = 3};
	assert_false(shmguard_pool_get_fault(pool, &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_NONE);
	assert_int_equal(report.offset, 0);
	assert_int_equal(shmguard_pool_revalidate(pool), 0);
	shmguard_pool_unref(pool);
	close(fd);
}

/* After a fault: revalidation fails while the file is short, and maps a
 * healthy generation once the client grew it back. */
static void
revalidate_after_fault(void **state)
{
	int fd = client_memfd_create("revalidate", PAGES(3), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(3));
	struct shmguard_access *access;
	void *mapped;
	int ret = shmguard_access_begin(pool, 0, PAGES(3), SHMGUARD_ACCESS_READ, &access, &mapped);
	assert_int_equal(ret, 0);
	const volatile uint8_t *data = mapped;
	client_file_resize(fd, PAGES(1));
	assert_int_equal(data[PAGES(2)], 0);
	assert_true(shmguard_access_end(access, NULL));

	struct shmguard_fault_report report;
	assert_true(shmguard_pool_get_fault(pool, &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(report.offset, PAGES(2));
	assert_int_equal(shmguard_pool_revalidate(pool), -ENXIO);
	assert_true(shmguard_pool_get_fault(pool, NULL));

	client_file_resize(fd, PAGES(3));
	client_file_fill(fd, PAGES(1), PAGES(3));
	assert_int_equal(shmguard_pool_revalidate(pool), 0);
	assert_false(shmguard_pool_get_fault(pool, NULL));
	assert_int_equal(shmguard_pool_get_size(pool), PAGES(3));
	ret = shmguard_access_begin(pool, 0, PAGES(3), SHMGUARD_ACCESS_READ, &access, &mapped);
	assert_int_equal(ret, 0);
	assert_int_equal(client_pattern_mismatch(mapped, 0, PAGES(3)), PAGES(3));
	assert_false(shmguard_access_end(access, NULL));
	assert_int_equal(generation_retired_count(), 0);

	shmguard_pool_unref(pool);
	close(fd);
}

static void
strategy_of_pools(void **state)
{
	/* An ordinary memfd can shrink: guard (this kernel has no
	 * MAP_NOSIGBUS; test-nosigbus-mock covers one that has). */
	enum shmguard_strategy read_default =
		shmguard_probe()[SHMGUARD_MECHANISM_MAP_NOSIGBUS].supported
		? SHMGUARD_STRATEGY_NOSIGBUS
		: SHMGUARD_STRATEGY_GUARD;
	int fd = client_memfd_create("strategy-plain", PAGES(2), true);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	assert_int_equal(shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), read_default);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_WRITE), SHMGUARD_STRATEGY_GUARD);
	shmguard_pool_unref(pool);

	/* Sealed against shrinking and long enough: sealed both ways. */
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	pool = setup_pool_create(fd, PAGES(2));
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_SEALED);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_WRITE), SHMGUARD_STRATEGY_SEALED);
	/* The client cannot take the bytes away. */
	assert_true(ftruncate(fd, (off_t)PAGES(1)) < 0);
	shmguard_pool_unref(pool);
	close(fd);

	/* A regular file on disk cannot be sealed at all. */
	fd = client_tmpfile_create(PAGES(2));
	pool = setup_pool_create(fd, PAGES(2));
	assert_int_equal(shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), read_default);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_WRITE), SHMGUARD_STRATEGY_GUARD);
	shmguard_pool_unref(pool);
	close(fd);
}

static void
strategy_choose_says_why(void **state)
{
	const char *why = NULL;
	int fd = client_memfd_create("choose", PAGES(2), true);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);

	assert_int_equal(shmguard_strategy_choose(fd, PAGES(2), SHMGUARD_ACCESS_READ, &why),
		SHMGUARD_STRATEGY_SEALED);
	assert_non_null(why);
	assert_non_null(strstr(why, "F_SEAL_SHRINK"));
	assert_int_equal(shmguard_strategy_choose(fd, PAGES(2), SHMGUARD_ACCESS_WRITE, NULL),
		SHMGUARD_STRATEGY_SEALED);

	/* Sealed, but a pool larger than the file could still fault. */
	why = NULL;
	int strategy = shmguard_strategy_choose(fd, PAGES(3), SHMGUARD_ACCESS_READ, &why);
	assert_true(strategy == SHMGUARD_STRATEGY_GUARD || strategy == SHMGUARD_STRATEGY_NOSIGBUS);
	assert_int_not_equal(strategy, SHMGUARD_STRATEGY_SEALED);
	assert_non_null(why);
	assert_int_equal(shmguard_strategy_choose(fd, PAGES(3), SHMGUARD_ACCESS_WRITE, &why),
		SHMGUARD_STRATEGY_GUARD);

	/* What cannot be a pool says so. */
	int pipe_fds[2];
	assert_int_equal(pipe(pipe_fds), 0);
	why = NULL;
	int ret = shmguard_strategy_choose(pipe_fds[0], PAGES(1), SHMGUARD_ACCESS_READ, &why);
	assert_int_equal(ret, -EINVAL);
	assert_string_equal(why, shmguard_pool_error_to_str(SHMGUARD_POOL_ERROR_PIPE));
	close(pipe_fds[0]);
	close(pipe_fds[1]);
	ret = shmguard_strategy_choose(pipe_fds[0], PAGES(1), SHMGUARD_ACCESS_READ, &why);
	assert_int_equal(ret, -EBADF);

	/* A read-only fd can be read, not written. */
	int read_only = client_file_reopen(fd, O_RDONLY);
	assert_int_equal(shmguard_strategy_choose(read_only, PAGES(2), SHMGUARD_ACCESS_READ, NULL),
		SHMGUARD_STRATEGY_SEALED);
	assert_int_equal(shmguard_strategy_choose(read_only, PAGES(2), SHMGUARD_ACCESS_WRITE, &why),
		-EINVAL);
	assert_string_equal(why, shmguard_pool_error_to_str(SHMGUARD_POOL_ERROR_READ_ONLY_FD));
	close(read_only);
	close(fd);
}

/* Every value of every status enum has its own name. */
static void
every_status_has_a_name(void **state)
{
	const char *names[64];
	size_t count = 0;
	for (int i = SHMGUARD_POOL_OK; i <= SHMGUARD_POOL_ERROR_TOO_MANY_FDS; i++) {
		names[count++] = shmguard_pool_error_to_str((enum shmguard_pool_error)i);
	}
	for (int i = 0; i < SHMGUARD_MECHANISM_COUNT; i++) {
		names[count++] = shmguard_mechanism_to_str((enum shmguard_mechanism)i);
	}
	for (int i = SHMGUARD_STRATEGY_SEALED; i <= SHMGUARD_STRATEGY_GUARD; i++) {
		names[count++] = shmguard_strategy_to_str((enum shmguard_strategy)i);
	}
	for (int i = SHMGUARD_FAULT_NONE; i <= SHMGUARD_FAULT_IO_ERROR; i++) {
		names[count++] = shmguard_fault_kind_to_str((enum shmguard_fault_kind)i);
	}
	for (int i = SHMGUARD_LOG_ERROR; i <= SHMGUARD_LOG_DEBUG; i++) {
		names[count++] = shmguard_log_level_to_str((enum shmguard_log_level)i);
	}
	names[count++] = shmguard_access_mode_to_str(SHMGUARD_ACCESS_READ);
	names[count++] = shmguard_access_mode_to_str(SHMGUARD_ACCESS_WRITE);
	assert_true(count <= sizeof(names) / sizeof(names[0]));
	for (size_t i = 0; i < count; i++) {
		assert_non_null(names[i]);
		assert_null(strstr(names[i], "unknown"));
		for (size_t j = 0; j < i; j++) {
			assert_string_not_equal(names[i], names[j]);
		}
	}
	assert_string_equal(shmguard_strategy_to_str(SHMGUARD_STRATEGY_SEALED), "sealed");
	assert_string_equal(shmguard_strategy_to_str(SHMGUARD_STRATEGY_NOSIGBUS), "nosigbus");
	assert_string_equal(shmguard_strategy_to_str(SHMGUARD_STRATEGY_GUARD), "guard");
	assert_string_equal(shmguard_fault_kind_to_str(SHMGUARD_FAULT_TRUNCATED), "truncated");
	const char *beyond = shmguard_strategy_to_str((enum shmguard_strategy)99);
	assert_non_null(strstr(beyond, "unknown"));
	beyond = shmguard_pool_error_to_str((enum shmguard_pool_error)99);
	assert_non_null(strstr(beyond, "unknown"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(pool_keeps_its_own_fd),
		LEAK_CHECKED(pool_references),
		LEAK_CHECKED(unref_with_window_open),
		LEAK_CHECKED(healthy_pool_has_no_fault),
		LEAK_CHECKED(revalidate_after_fault),
		LEAK_CHECKED(strategy_of_pools),
		LEAK_CHECKED(strategy_choose_says_why),
		LEAK_CHECKED(every_status_has_a_name),
	};
	return cmocka_run_group_tests(tests, setup_warm_up, NULL);
}

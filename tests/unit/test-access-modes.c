/*
 * Read-only by default, write-back on demand: read-only fds and
 * write-sealed memfds are good pools for display, refuse write access
 * with a clear reason and stay readable; a writable pool gets its
 * writable mapping only when a write is asked for.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/linux_abi.h"

#include "client-file.h"
#include "leak-check.h"
#include "shmguard-setup.h"

#define PAGES(n) (client_page() * (uint64_t)(n))

static struct leak_snapshot snapshot;

/* Reads work through a window and a copy. */
static void
assert_readable(struct shmguard_pool *pool, uint64_t size)
{
	struct shmguard_access *access;
	void *data;
	assert_true(shmguard_pool_allows(pool, SHMGUARD_ACCESS_READ, NULL));
	assert_int_equal(
		shmguard_access_begin(pool, 0, size, SHMGUARD_ACCESS_READ, &access, &data), 0);
	assert_int_equal(client_pattern_mismatch(data, 0, size), size);
	assert_false(shmguard_access_end(access, NULL));
	uint8_t buffer[128];
	assert_int_equal(
		shmguard_pool_read(pool, size - sizeof(buffer), buffer, sizeof(buffer), NULL), 0);
	assert_int_equal(client_pattern_mismatch(buffer, size - sizeof(buffer), sizeof(buffer)),
		sizeof(buffer));
}

/*
 * Every way of writing is refused with @p expected_ret and the pool says
 * why (@p expected_error); nothing is mapped for it and the pool stays
 * readable and healthy.
 */
static void
assert_write_refused(struct shmguard_pool *pool, int fd, uint64_t size, int expected_ret,
	enum shmguard_pool_error expected_error)
{
	struct shmguard_access *access = NULL;
	void *data = NULL;
	uint8_t bytes[16];
	memset(bytes, 0xab, sizeof(bytes));
	enum shmguard_pool_error error = SHMGUARD_POOL_OK;

	leak_snapshot_take(&snapshot);
	assert_false(shmguard_pool_allows(pool, SHMGUARD_ACCESS_WRITE, &error));
	assert_int_equal(error, expected_error);
	int ret = shmguard_access_begin(pool, 0, size, SHMGUARD_ACCESS_WRITE, &access, &data);
	assert_int_equal(ret, expected_ret);
	assert_int_equal(shmguard_pool_write(pool, 0, bytes, sizeof(bytes), NULL), expected_ret);
	/* Asked twice: the same answer, not a half-made mapping. */
	assert_int_equal(shmguard_access_begin(pool, 0, 1, SHMGUARD_ACCESS_WRITE, &access, &data),
		expected_ret);
	struct leak_report report;
	assert_false(leak_check_compare(&snapshot, &report));

	uint8_t first = 0;
	assert_int_equal(pread(fd, &first, 1, 0), 1);
	assert_int_equal(first, client_pattern(0));
	assert_readable(pool, size);
	assert_false(shmguard_pool_get_fault(pool, NULL));
}

static void
read_only_memfd(void **state)
{
	int client = client_memfd_create("read-only", PAGES(2), false);
	int fd = client_file_reopen(client, O_RDONLY);
	close(client);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	assert_readable(pool, PAGES(2));
	assert_write_refused(pool, fd, PAGES(2), -EACCES, SHMGUARD_POOL_ERROR_READ_ONLY_FD);
	shmguard_pool_unref(pool);
	close(fd);
}

static void
read_only_tmpfile(void **state)
{
	int client = client_tmpfile_create(PAGES(3));
	int fd = client_file_reopen(client, O_RDONLY);
	close(client);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(3));
	assert_readable(pool, PAGES(3));
	assert_write_refused(pool, fd, PAGES(3), -EACCES, SHMGUARD_POOL_ERROR_READ_ONLY_FD);
	shmguard_pool_unref(pool);
	close(fd);
}

static void
write_sealed_memfd(void **state)
{
	int fd = client_memfd_create("write-sealed", PAGES(2), true);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	assert_readable(pool, PAGES(2));
	assert_write_refused(pool, fd, PAGES(2), -EPERM, SHMGUARD_POOL_ERROR_WRITE_SEALED);
	shmguard_pool_unref(pool);
	close(fd);
}

static void
future_write_sealed_memfd(void **state)
{
	int fd = client_memfd_create("future-write-sealed", PAGES(2), true);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE) != 0) {
		close(fd);
		print_message("skipped: F_SEAL_FUTURE_WRITE refused (kernel before 5.1?): %s\n",
			strerror(errno));
		skip();
	}
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	assert_readable(pool, PAGES(2));
	assert_write_refused(pool, fd, PAGES(2), -EPERM, SHMGUARD_POOL_ERROR_WRITE_SEALED);
	shmguard_pool_unref(pool);
	close(fd);
}

/* The seal decides even when the fd itself was opened read-only. */
static void
write_sealed_read_only_fd(void **state)
{
	int client = client_memfd_create("write-sealed-read-only", PAGES(1), true);
	assert_int_equal(fcntl(client, F_ADD_SEALS, F_SEAL_WRITE), 0);
	int fd = client_file_reopen(client, O_RDONLY);
	close(client);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(1));
	assert_write_refused(pool, fd, PAGES(1), -EPERM, SHMGUARD_POOL_ERROR_WRITE_SEALED);
	shmguard_pool_unref(pool);
	close(fd);
}

/* A writable pool maps for writing on the first write, once. */
static void
write_mapping_is_lazy(void **state)
{
	int fd = client_memfd_create("writable", PAGES(2), false);
	struct leak_report report;
	leak_snapshot_take(&snapshot);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	enum shmguard_pool_error error = SHMGUARD_POOL_ERROR_NO_MEMORY;
	assert_true(shmguard_pool_allows(pool, SHMGUARD_ACCESS_WRITE, &error));
	assert_int_equal(error, SHMGUARD_POOL_OK);

	/* Created and read: one read-only mapping. */
	assert_readable(pool, PAGES(2));
	assert_true(leak_check_compare(&snapshot, &report));
	assert_int_equal(report.maps_added, 1);

	struct shmguard_access *access;
	void *read_data, *write_data;
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &access, &read_data),
		0);
	assert_false(shmguard_access_end(access, NULL));
	char line[512];
	assert_true(leak_check_address_mapped(read_data, line, sizeof(line)));
	assert_non_null(strstr(line, " r--s "));

	/* The first write window makes the writable mapping. */
	assert_int_equal(shmguard_access_begin(pool, PAGES(1), PAGES(1), SHMGUARD_ACCESS_WRITE,
				 &access, &write_data),
		0);
	assert_ptr_not_equal((uint8_t *)write_data - PAGES(1), read_data);
	assert_true(leak_check_address_mapped(write_data, line, sizeof(line)));
	assert_non_null(strstr(line, " rw-s "));
	memset(write_data, 0x42, 16);
	assert_false(shmguard_access_end(access, NULL));
	assert_true(leak_check_compare(&snapshot, &report));
	assert_int_equal(report.maps_added, 2);

	/* Later writes reuse it. */
	uint8_t bytes[4] = {1, 2, 3, 4};
	assert_int_equal(shmguard_pool_write(pool, 0, bytes, sizeof(bytes), NULL), 0);
	assert_true(leak_check_compare(&snapshot, &report));
	assert_int_equal(report.maps_added, 2);

	/* Both writes reached the file and the read mapping. */
	uint8_t check[4];
	assert_int_equal(pread(fd, check, sizeof(check), 0), (ssize_t)sizeof(check));
	assert_memory_equal(check, bytes, sizeof(bytes));
	const uint8_t *read_bytes = read_data;
	assert_int_equal(read_bytes[PAGES(1) + 15], 0x42);
	assert_int_equal(read_bytes[PAGES(1) + 16], client_pattern(PAGES(1) + 16));

	shmguard_pool_unref(pool);
	assert_false(leak_check_compare(&snapshot, &report));
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(read_only_memfd),
		LEAK_CHECKED(read_only_tmpfile),
		LEAK_CHECKED(write_sealed_memfd),
		LEAK_CHECKED(future_write_sealed_memfd),
		LEAK_CHECKED(write_sealed_read_only_fd),
		LEAK_CHECKED(write_mapping_is_lazy),
	};
	return cmocka_run_group_tests(tests, setup_warm_up, NULL);
}

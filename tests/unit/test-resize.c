/*
 * Resize: a new generation at once, old pointers valid until their window
 * closes, the old mapping gone after that, the strategy decided again for
 * every generation (a seal only counts while the file covers the pool).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/mapping.h"

#include "client-file.h"
#include "leak-check.h"
#include "shmguard-setup.h"

#define PAGES(n) (client_page() * (uint64_t)(n))

/* Whether @p address is mapped to the memfd called @p name. */
static bool
mapped_to(const void *address, const char *name)
{
	char line[512];
	char wanted[128];
	snprintf(wanted, sizeof(wanted), "/memfd:%s ", name);
	return leak_check_address_mapped(address, line, sizeof(line)) &&
		strstr(line, wanted) != NULL;
}

static void
grow_file(int fd, uint64_t from, uint64_t to)
{
	client_file_resize(fd, to);
	client_file_fill(fd, from, to);
}

static void
resize_with_window_open(void **state)
{
	int fd = client_memfd_create("resize-open", PAGES(2), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	struct shmguard_access *old_access, *new_access;
	const uint8_t *old_data =
		setup_window_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &old_access);

	grow_file(fd, PAGES(2), PAGES(5));
	enum shmguard_pool_error error = SHMGUARD_POOL_ERROR_NO_MEMORY;
	assert_int_equal(shmguard_pool_resize(pool, PAGES(5), &error), 0);
	assert_int_equal(error, SHMGUARD_POOL_OK);
	assert_int_equal(shmguard_pool_get_size(pool), PAGES(5));

	/* The old pointer still reads the client's bytes. */
	assert_true(mapped_to(old_data, "resize-open"));
	assert_int_equal(client_pattern_mismatch(old_data, 0, PAGES(2)), PAGES(2));
	assert_int_equal(generation_retired_count(), 1);

	/* New windows and copies see the new size. */
	const uint8_t *new_data =
		setup_window_begin(pool, 0, PAGES(5), SHMGUARD_ACCESS_READ, &new_access);
	assert_ptr_not_equal(new_data, old_data);
	assert_int_equal(client_pattern_mismatch(new_data, 0, PAGES(5)), PAGES(5));
	uint8_t buffer[32];
	assert_int_equal(shmguard_pool_read(pool, PAGES(4) + 1, buffer, sizeof(buffer), NULL), 0);
	assert_int_equal(
		client_pattern_mismatch(buffer, PAGES(4) + 1, sizeof(buffer)), sizeof(buffer));
	assert_false(shmguard_access_end(new_access, NULL));

	/* The old mapping lives exactly as long as its window. */
	assert_true(mapped_to(old_data, "resize-open"));
	assert_int_equal(client_pattern_mismatch(old_data, 0, PAGES(2)), PAGES(2));
	assert_false(shmguard_access_end(old_access, NULL));
	assert_int_equal(generation_retired_count(), 0);
	assert_false(mapped_to(old_data, "resize-open"));
	assert_true(mapped_to(
		setup_window_begin(pool, 0, 1, SHMGUARD_ACCESS_READ, &new_access), "resize-open"));
	assert_false(shmguard_access_end(new_access, NULL));

	shmguard_pool_unref(pool);
	close(fd);
}

/* A resize with no window open leaves no old mapping behind: with no
 * other thread using windows the mapping grows in place (mremap, which may
 * or may not move it), else the old generation is unmapped at once. */
static void
resize_without_window_unmaps_at_once(void **state)
{
	int fd = client_memfd_create("resize-idle", PAGES(1), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(1));
	struct shmguard_access *access;
	const uint8_t *old_data =
		setup_window_begin(pool, 0, PAGES(1), SHMGUARD_ACCESS_READ, &access);
	assert_int_equal(client_pattern_mismatch(old_data, 0, PAGES(1)), PAGES(1));
	assert_false(shmguard_access_end(access, NULL));

	grow_file(fd, PAGES(1), PAGES(2));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(2), NULL), 0);
	assert_int_equal(generation_retired_count(), 0);

	const uint8_t *new_data =
		setup_window_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &access);
	assert_int_equal(client_pattern_mismatch(new_data, 0, PAGES(2)), PAGES(2));
	assert_true(new_data == old_data || !mapped_to(old_data, "resize-idle"));
	assert_false(shmguard_access_end(access, NULL));

	shmguard_pool_unref(pool);
	close(fd);
}

/* A write window open across a resize keeps writing into the file. */
static void
resize_with_write_window_open(void **state)
{
	int fd = client_memfd_create("resize-write", PAGES(2), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	struct shmguard_access *access;
	volatile uint8_t *old_data =
		setup_window_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_WRITE, &access);

	grow_file(fd, PAGES(2), PAGES(3));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(3), NULL), 0);
	old_data[PAGES(1) + 7] = 0xc3;
	assert_false(shmguard_access_end(access, NULL));

	uint8_t byte = 0;
	assert_int_equal(shmguard_pool_read(pool, PAGES(1) + 7, &byte, 1, NULL), 0);
	assert_int_equal(byte, 0xc3);
	assert_int_equal(pread(fd, &byte, 1, (off_t)PAGES(1) + 7), 1);
	assert_int_equal(byte, 0xc3);
	assert_int_equal(generation_retired_count(), 0);

	shmguard_pool_unref(pool);
	close(fd);
}

/* The client truncates while a window on the retired generation is open:
 * still guarded, and reported by that window. */
static void
fault_on_retired_generation(void **state)
{
	int fd = client_memfd_create("resize-retired-fault", PAGES(2), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	struct shmguard_access *access;
	const volatile uint8_t *old_data =
		setup_window_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &access);

	grow_file(fd, PAGES(2), PAGES(3));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(3), NULL), 0);
	client_file_resize(fd, PAGES(1));
	assert_int_equal(old_data[PAGES(1) + 2], 0);
	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(access, &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(report.offset, PAGES(1) + 2);
	assert_int_equal(report.file_size, PAGES(1));

	shmguard_pool_unref(pool);
	close(fd);
}

static void
resize_refusals(void **state)
{
	int fd = client_memfd_create("resize-refused", PAGES(2), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	struct shmguard_access *access;
	const void *before = setup_window_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &access);
	assert_false(shmguard_access_end(access, NULL));

	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	assert_int_equal(shmguard_pool_resize(pool, PAGES(1), &error), -EINVAL);
	assert_int_equal(error, SHMGUARD_POOL_ERROR_SHRINK);

	/* Past the end of the file: refused, not mapped to fault later. */
	error = SHMGUARD_POOL_OK;
	assert_int_equal(shmguard_pool_resize(pool, PAGES(3), &error), -ENXIO);
	assert_int_equal(error, SHMGUARD_POOL_ERROR_FILE_TOO_SHORT);

	/* The same size: nothing to do, the same generation. */
	error = SHMGUARD_POOL_ERROR_NO_MEMORY;
	assert_int_equal(shmguard_pool_resize(pool, PAGES(2), &error), 0);
	assert_int_equal(error, SHMGUARD_POOL_OK);

	assert_int_equal(shmguard_pool_get_size(pool), PAGES(2));
	const void *after = setup_window_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &access);
	assert_ptr_equal(after, before);
	assert_int_equal(client_pattern_mismatch(after, 0, PAGES(2)), PAGES(2));
	assert_false(shmguard_access_end(access, NULL));
	assert_false(shmguard_pool_get_fault(pool, NULL));

	shmguard_pool_unref(pool);
	close(fd);
}

/* A sealed memfd is 'sealed'; a resize past its end is refused; once it
 * has grown to cover the new size it stays 'sealed'. */
static void
sealed_file_resize(void **state)
{
	int fd = client_memfd_create("resize-sealed", PAGES(2), true);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_SEALED);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_WRITE), SHMGUARD_STRATEGY_SEALED);

	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	assert_int_equal(shmguard_pool_resize(pool, PAGES(4), &error), -ENXIO);
	assert_int_equal(error, SHMGUARD_POOL_ERROR_FILE_TOO_SHORT);
	assert_int_equal(shmguard_pool_get_size(pool), PAGES(2));
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_SEALED);

	/* F_SEAL_SHRINK lets the file grow: the seal covers the resize. */
	grow_file(fd, PAGES(2), PAGES(4));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(4), &error), 0);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_SEALED);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_WRITE), SHMGUARD_STRATEGY_SEALED);
	uint8_t buffer[16];
	assert_int_equal(shmguard_pool_read(pool, PAGES(3), buffer, sizeof(buffer), NULL), 0);
	assert_int_equal(client_pattern_mismatch(buffer, PAGES(3), sizeof(buffer)), sizeof(buffer));

	shmguard_pool_unref(pool);
	close(fd);
}

/* Without a seal the guard protects every generation. */
static void
unsealed_file_resize(void **state)
{
	int fd = client_memfd_create("resize-unsealed", PAGES(1), true);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(1));
	enum shmguard_strategy read_default =
		shmguard_probe()[SHMGUARD_MECHANISM_MAP_NOSIGBUS].supported
		? SHMGUARD_STRATEGY_NOSIGBUS
		: SHMGUARD_STRATEGY_GUARD;
	assert_int_equal(shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), read_default);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_WRITE), SHMGUARD_STRATEGY_GUARD);

	grow_file(fd, PAGES(1), PAGES(2));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(2), NULL), 0);
	assert_int_equal(shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), read_default);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_WRITE), SHMGUARD_STRATEGY_GUARD);

	/* Sealed after the pool was made: the next generation is 'sealed'. */
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	grow_file(fd, PAGES(2), PAGES(3));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(3), NULL), 0);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_SEALED);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_WRITE), SHMGUARD_STRATEGY_SEALED);

	shmguard_pool_unref(pool);
	close(fd);
}

/* Several generations kept alive by nested windows, all released. */
static void
several_retired_generations(void **state)
{
	enum { ROUNDS = 6 };
	int fd = client_memfd_create("resize-many", PAGES(1), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(1));
	struct shmguard_access *accesses[ROUNDS];
	const uint8_t *data[ROUNDS];
	for (int i = 0; i < ROUNDS; i++) {
		data[i] = setup_window_begin(
			pool, 0, PAGES(1 + i), SHMGUARD_ACCESS_READ, &accesses[i]);
		grow_file(fd, PAGES(1 + i), PAGES(2 + i));
		assert_int_equal(shmguard_pool_resize(pool, PAGES(2 + i), NULL), 0);
	}
	assert_int_equal(generation_retired_count(), ROUNDS);
	for (int i = 0; i < ROUNDS; i++) {
		assert_int_equal(client_pattern_mismatch(data[i], 0, PAGES(1 + i)), PAGES(1 + i));
	}
	/* Closed out of order: each goes with its own window. */
	for (int i = 0; i < ROUNDS; i += 2) {
		assert_false(shmguard_access_end(accesses[i], NULL));
		assert_false(mapped_to(data[i], "resize-many"));
		assert_true(mapped_to(data[i + 1], "resize-many"));
	}
	assert_int_equal(generation_retired_count(), ROUNDS / 2);
	for (int i = ROUNDS - 1; i > 0; i -= 2) {
		assert_false(shmguard_access_end(accesses[i], NULL));
	}
	assert_int_equal(generation_retired_count(), 0);

	shmguard_pool_unref(pool);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(resize_with_window_open),
		LEAK_CHECKED(resize_without_window_unmaps_at_once),
		LEAK_CHECKED(resize_with_write_window_open),
		LEAK_CHECKED(fault_on_retired_generation),
		LEAK_CHECKED(resize_refusals),
		LEAK_CHECKED(sealed_file_resize),
		LEAK_CHECKED(unsealed_file_resize),
		LEAK_CHECKED(several_retired_generations),
	};
	return cmocka_run_group_tests(tests, setup_warm_up, NULL);
}

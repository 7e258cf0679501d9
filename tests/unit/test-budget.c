/*
 * Budgets: pools, mapped bytes and generations per budget, and the
 * process-wide mapping bound; hitting one is an error with its reason,
 * never a crash, and everything charged is given back.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/budget.h"

#include "client-file.h"
#include "leak-check.h"
#include "shmguard-setup.h"

#define PAGES(n) (client_page() * (uint64_t)(n))

static struct shmguard_budget *
budget_with(uint32_t max_pools, uint64_t max_mapped_bytes, uint32_t max_generations)
{
	struct shmguard_budget_limits limits = {
		.max_pools = max_pools,
		.max_mapped_bytes = max_mapped_bytes,
		.max_generations_per_pool = max_generations,
	};
	struct shmguard_budget *budget = shmguard_budget_create(&limits);
	assert_non_null(budget);
	return budget;
}

static struct shmguard_pool *
pool_in(struct shmguard_budget *budget, int fd, uint64_t size)
{
	enum shmguard_pool_error error = SHMGUARD_POOL_ERROR_NO_MEMORY;
	struct shmguard_pool *pool = shmguard_pool_create(fd, size, budget, &error);
	if (pool == NULL) {
		fail_msg("pool refused: %s", shmguard_pool_error_to_str(error));
	}
	return pool;
}

static void
assert_create_refused(
	struct shmguard_budget *budget, int fd, uint64_t size, enum shmguard_pool_error expected)
{
	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	assert_null(shmguard_pool_create(fd, size, budget, &error));
	assert_int_equal(error, expected);
}

static void
max_pools(void **state)
{
	struct shmguard_budget *budget = budget_with(2, 0, 0);
	int fd = client_memfd_create("max-pools", PAGES(1), false);
	struct shmguard_pool *a = pool_in(budget, fd, PAGES(1));
	struct shmguard_pool *b = pool_in(budget, fd, PAGES(1));
	assert_int_equal(shmguard_budget_get_pools(budget), 2);
	assert_create_refused(budget, fd, PAGES(1), SHMGUARD_POOL_ERROR_OVER_BUDGET);
	assert_int_equal(shmguard_budget_get_pools(budget), 2);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), PAGES(2));

	/* Room again once one goes. */
	shmguard_pool_unref(a);
	assert_int_equal(shmguard_budget_get_pools(budget), 1);
	a = pool_in(budget, fd, PAGES(1));
	shmguard_pool_unref(a);
	shmguard_pool_unref(b);
	assert_int_equal(shmguard_budget_get_pools(budget), 0);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), 0);
	shmguard_budget_unref(budget);
	close(fd);
}

static void
max_mapped_bytes(void **state)
{
	struct shmguard_budget *budget = budget_with(0, PAGES(3), 0);
	int fd = client_memfd_create("max-bytes", PAGES(4), false);
	assert_create_refused(budget, fd, PAGES(4), SHMGUARD_POOL_ERROR_OVER_BUDGET);
	assert_int_equal(shmguard_budget_get_pools(budget), 0);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), 0);

	struct shmguard_pool *pool = pool_in(budget, fd, PAGES(2));
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), PAGES(2));
	assert_create_refused(budget, fd, PAGES(2), SHMGUARD_POOL_ERROR_OVER_BUDGET);
	assert_int_equal(shmguard_budget_get_pools(budget), 1);

	/* A writable mapping is charged too: 2 + 2 pages do not fit. */
	uint8_t byte = 1;
	assert_int_equal(shmguard_pool_write(pool, 0, &byte, 1, NULL), -ENOSPC);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), PAGES(2));
	assert_int_equal(shmguard_pool_read(pool, 0, &byte, 1, NULL), 0);
	assert_int_equal(byte, client_pattern(0));

	/* A resize whose new generation does not fit is refused. */
	struct shmguard_access *access;
	void *data;
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &access, &data), 0);
	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	assert_int_equal(shmguard_pool_resize(pool, PAGES(3), &error), -ENOSPC);
	assert_int_equal(error, SHMGUARD_POOL_ERROR_OVER_BUDGET);
	assert_int_equal(shmguard_pool_get_size(pool), PAGES(2));
	assert_false(shmguard_access_end(access, NULL));
	/* With no window open on a single-threaded process the mapping grows
	 * in place (mremap): only the 3 pages of the grown mapping count. */
	assert_int_equal(shmguard_pool_resize(pool, PAGES(3), &error), 0);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), PAGES(3));
	assert_int_equal(shmguard_pool_get_size(pool), PAGES(3));
	shmguard_pool_unref(pool);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), 0);

	pool = pool_in(budget, fd, PAGES(3));
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), PAGES(3));
	shmguard_pool_unref(pool);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), 0);
	shmguard_budget_unref(budget);
	close(fd);
}

/* Windows holding old generations count against the pool's limit. */
static void
max_generations(void **state)
{
	struct shmguard_budget *budget = budget_with(0, 0, 2);
	int fd = client_memfd_create("max-generations", PAGES(4), false);
	struct shmguard_pool *pool = pool_in(budget, fd, PAGES(1));
	struct shmguard_access *first, *second;
	void *data;
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(1), SHMGUARD_ACCESS_READ, &first, &data), 0);
	assert_int_equal(shmguard_pool_resize(pool, PAGES(2), NULL), 0);
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(2), SHMGUARD_ACCESS_READ, &second, &data), 0);
	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	assert_int_equal(shmguard_pool_resize(pool, PAGES(3), &error), -ENOSPC);
	assert_int_equal(error, SHMGUARD_POOL_ERROR_OVER_BUDGET);
	assert_int_equal(shmguard_pool_get_size(pool), PAGES(2));

	/* The retired generation goes with its window: room again. */
	assert_false(shmguard_access_end(first, NULL));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(3), &error), 0);
	assert_int_equal(error, SHMGUARD_POOL_OK);
	assert_false(shmguard_access_end(second, NULL));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(4), NULL), 0);

	shmguard_pool_unref(pool);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), 0);
	shmguard_budget_unref(budget);
	close(fd);
}

/* The process-wide pool fd bound: TOO_MANY_FDS, with nothing kept open or
 * charged for the refused pool; and the per-budget default pool count is a
 * quarter of it, so that one client cannot take every pool fd. */
static void
max_pool_fds(void **state)
{
	int fd = client_memfd_create("max-pool-fds", PAGES(1), false);
	struct shmguard_pool *first = pool_in(NULL, fd, PAGES(1));
	shmguard_set_max_pool_fds(1);
	struct shmguard_budget *budget = budget_with(0, 0, 0);
	assert_create_refused(budget, fd, PAGES(1), SHMGUARD_POOL_ERROR_TOO_MANY_FDS);
	assert_int_equal(shmguard_budget_get_pools(budget), 0);
	shmguard_budget_unref(budget);

	shmguard_set_max_pool_fds(400);
	budget = budget_with(0, 0, 0);
	struct shmguard_pool *pools[101];
	for (unsigned i = 0; i < 100; i++) {
		pools[i] = pool_in(budget, fd, PAGES(1));
	}
	assert_create_refused(budget, fd, PAGES(1), SHMGUARD_POOL_ERROR_OVER_BUDGET);
	for (unsigned i = 0; i < 100; i++) {
		shmguard_pool_unref(pools[i]);
	}
	shmguard_budget_unref(budget);

	shmguard_set_max_pool_fds(0);
	shmguard_pool_unref(first);
	close(fd);
}

/* The process-wide bound: TOO_MANY_MAPPINGS, for pools and resizes. */
static void
max_mappings(void **state)
{
	int fd = client_memfd_create("max-mappings", PAGES(2), false);
	uint32_t in_use = budget_mappings_in_use();
	shmguard_set_max_mappings(in_use + 1);

	struct shmguard_pool *pool = pool_in(NULL, fd, PAGES(1));
	assert_int_equal(budget_mappings_in_use(), in_use + 1);
	assert_create_refused(NULL, fd, PAGES(1), SHMGUARD_POOL_ERROR_TOO_MANY_MAPPINGS);

	struct shmguard_access *access;
	void *data;
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(1), SHMGUARD_ACCESS_READ, &access, &data), 0);
	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	assert_int_equal(shmguard_pool_resize(pool, PAGES(2), &error), -ENOSPC);
	assert_int_equal(error, SHMGUARD_POOL_ERROR_TOO_MANY_MAPPINGS);
	assert_false(shmguard_access_end(access, NULL));
	uint8_t byte = 0;
	assert_int_equal(shmguard_pool_write(pool, 0, &byte, 1, NULL), -ENOSPC);
	assert_int_equal(shmguard_pool_read(pool, 0, &byte, 1, NULL), 0);
	assert_int_equal(budget_mappings_in_use(), in_use + 1);

	/* The default again (7/32 of vm.max_map_count): room. */
	shmguard_set_max_mappings(0);
	struct shmguard_pool *other = pool_in(NULL, fd, PAGES(1));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(2), NULL), 0);
	shmguard_pool_unref(other);
	shmguard_pool_unref(pool);
	assert_int_equal(budget_mappings_in_use(), in_use);
	close(fd);
}

/* A budget's mapping cap: read mappings of every generation and write
 * mappings alike; OVER_BUDGET past it, and room again as they go. */
static void
max_mappings_per_budget(void **state)
{
	struct shmguard_budget_limits limits = {.max_mappings = 3};
	struct shmguard_budget *budget = shmguard_budget_create(&limits);
	assert_non_null(budget);
	int fd = client_memfd_create("budget-mappings", PAGES(2), false);
	struct shmguard_pool *a = pool_in(budget, fd, PAGES(1));
	struct shmguard_pool *b = pool_in(budget, fd, PAGES(1));
	assert_int_equal(shmguard_budget_get_mappings(budget), 2);

	/* A write mapping is the third. */
	uint8_t byte = 7;
	assert_int_equal(shmguard_pool_write(a, 0, &byte, 1, NULL), 0);
	assert_int_equal(shmguard_budget_get_mappings(budget), 3);
	uint32_t in_use = budget_mappings_in_use();
	assert_create_refused(budget, fd, PAGES(1), SHMGUARD_POOL_ERROR_OVER_BUDGET);
	assert_int_equal(shmguard_pool_write(b, 0, &byte, 1, NULL), -ENOSPC);
	/* A resize needs a new generation while a window holds the old one. */
	struct shmguard_access *access;
	void *data;
	assert_int_equal(
		shmguard_access_begin(b, 0, PAGES(1), SHMGUARD_ACCESS_READ, &access, &data), 0);
	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	assert_int_equal(shmguard_pool_resize(b, PAGES(2), &error), -ENOSPC);
	assert_int_equal(error, SHMGUARD_POOL_ERROR_OVER_BUDGET);
	assert_false(shmguard_access_end(access, NULL));
	/* Nothing refused was charged, to the budget or process-wide. */
	assert_int_equal(shmguard_budget_get_mappings(budget), 3);
	assert_int_equal(budget_mappings_in_use(), in_use);

	shmguard_pool_unref(a);
	assert_int_equal(shmguard_budget_get_mappings(budget), 1);
	a = pool_in(budget, fd, PAGES(1));
	shmguard_pool_unref(a);
	shmguard_pool_unref(b);
	assert_int_equal(shmguard_budget_get_mappings(budget), 0);
	shmguard_budget_unref(budget);
	close(fd);
}

/* The default bound keeps half of vm.max_map_count for the rest of the
 * process and a sixteenth for the handler, and counts two VMAs per
 * mapping; a budget's default share is a quarter of the bound, so that
 * one client at its cap leaves room for others. */
static void
default_mapping_shares(void **state)
{
	unsigned long count = 0;
	FILE *f = fopen("/proc/sys/vm/max_map_count", "re");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu", &count), 1);
	fclose(f);
	shmguard_set_max_mappings(0);
	struct shmguard_budget *budget = shmguard_budget_create(NULL);
	assert_non_null(budget);
	uint32_t bound = (uint32_t)((count / 2 - count / 16) / 2);
	assert_int_equal(budget->limits.max_mappings, bound / 4);
	/* 2 VMAs per mapping, headroom and the rest of the process: M. */
	assert_true(2 * (uint64_t)bound + count / 16 + count / 2 <= count);
	shmguard_budget_unref(budget);

	/* The share follows the bound in force when the budget is made. */
	shmguard_set_max_mappings(400);
	budget = shmguard_budget_create(NULL);
	assert_int_equal(budget->limits.max_mappings, 100);
	int fd = client_memfd_create("mapping-share", PAGES(1), false);
	struct shmguard_pool *pools[100];
	for (unsigned i = 0; i < 100; i++) {
		pools[i] = pool_in(budget, fd, PAGES(1));
	}
	assert_create_refused(budget, fd, PAGES(1), SHMGUARD_POOL_ERROR_OVER_BUDGET);
	/* Another budget still gets its pools. */
	struct shmguard_budget *other = shmguard_budget_create(NULL);
	struct shmguard_pool *theirs = pool_in(other, fd, PAGES(1));
	shmguard_pool_unref(theirs);
	shmguard_budget_unref(other);
	for (unsigned i = 0; i < 100; i++) {
		shmguard_pool_unref(pools[i]);
	}
	shmguard_budget_unref(budget);
	shmguard_set_max_mappings(0);
	close(fd);
}

/* What MAPPING_VMAS (budget.c) rests on: however often a mapping faults,
 * the handler's zero-page covers leave it at most two VMAs. */
static void
faulted_mapping_is_at_most_two_vmas(void **state)
{
	static struct leak_snapshot before;
	int fd = client_memfd_create("split", PAGES(8), false);
	struct shmguard_pool *pool = pool_in(NULL, fd, PAGES(8));
	uint8_t byte = 0;
	/* The write mapping exists before the snapshot. */
	assert_int_equal(shmguard_pool_write(pool, 0, &byte, 1, NULL), 0);
	leak_snapshot_take(&before);

	client_file_resize(fd, PAGES(2));
	struct shmguard_access *access;
	void *data;
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(8), SHMGUARD_ACCESS_READ, &access, &data), 0);
	/* Covers from page 6, then from page 4, then from page 2. */
	const volatile uint8_t *bytes = data;
	assert_int_equal(bytes[PAGES(6) + 1], 0);
	assert_int_equal(bytes[PAGES(4) + 1], 0);
	assert_int_equal(bytes[PAGES(2) + 1], 0);
	assert_true(shmguard_access_end(access, NULL));
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(8), SHMGUARD_ACCESS_WRITE, &access, &data), 0);
	volatile uint8_t *out = data;
	out[PAGES(5)] = 1;
	out[PAGES(3)] = 1;
	assert_true(shmguard_access_end(access, NULL));

	struct leak_report report;
	leak_check_compare(&before, &report);
	if (leak_check_under_valgrind()) {
		/* Valgrind maps memory of its own as the program runs, so the
		 * leak check compares file mappings only there: the covers,
		 * anonymous, do not show. */
		printf("# under valgrind the zero-page covers are not counted\n");
	} else {
		/* One split each for the read and the write mapping. */
		assert_int_equal(report.maps_added, 2);
	}
	shmguard_pool_unref(pool);
	close(fd);
}

/* A pool keeps its budget alive; the last reference frees it. */
static void
budget_outlives_its_creator(void **state)
{
	struct shmguard_budget *budget = budget_with(1, 0, 0);
	int fd = client_memfd_create("budget-ref", PAGES(1), false);
	struct shmguard_pool *pool = pool_in(budget, fd, PAGES(1));
	assert_ptr_equal(shmguard_budget_ref(budget), budget);
	shmguard_budget_unref(budget);
	shmguard_budget_unref(budget);
	/* The pool's reference is enough. */
	uint8_t byte = 0;
	assert_int_equal(shmguard_pool_read(pool, 0, &byte, 1, NULL), 0);
	shmguard_pool_unref(pool);
	shmguard_budget_unref(NULL);
	close(fd);
}

/* Budgets created with all-zero limits take the documented defaults. */
static void
default_limits(void **state)
{
	struct shmguard_budget *budget = shmguard_budget_create(NULL);
	assert_non_null(budget);
	int fd = client_memfd_create("defaults", PAGES(1), false);
	struct shmguard_pool *pools[20];
	for (int i = 0; i < 20; i++) {
		pools[i] = pool_in(budget, fd, PAGES(1));
	}
	assert_int_equal(shmguard_budget_get_pools(budget), 20);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), PAGES(20));
	for (int i = 0; i < 20; i++) {
		shmguard_pool_unref(pools[i]);
	}
	assert_int_equal(shmguard_budget_get_pools(budget), 0);
	shmguard_budget_unref(budget);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(max_pools),
		LEAK_CHECKED(max_mapped_bytes),
		LEAK_CHECKED(max_generations),
		LEAK_CHECKED(max_mappings),
		LEAK_CHECKED(max_pool_fds),
		LEAK_CHECKED(max_mappings_per_budget),
		LEAK_CHECKED(default_mapping_shares),
		LEAK_CHECKED(faulted_mapping_is_at_most_two_vmas),
		LEAK_CHECKED(budget_outlives_its_creator),
		LEAK_CHECKED(default_limits),
	};
	return cmocka_run_group_tests(tests, setup_warm_up, NULL);
}

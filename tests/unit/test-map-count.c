/*
 * The library's mappings and the handler's zero-page covers together stay
 * below vm.max_map_count: with the process-wide mapping bound filled by
 * pools and every one of them faulting, every fault is still covered with
 * zeros. A cover splits the mapping it lands in (one more VMA), so a
 * bound that counted mappings alone let the library reach the kernel's
 * limit, where the cover fails and the compositor dies of SIGBUS.
 *
 * Needs root: the test lowers vm.max_map_count (system-wide, so briefly
 * and to a value far above what ordinary processes use) and always puts
 * it back (tests/support/max-map-count.h). Skipped, with the reason,
 * otherwise.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/budget.h"

#include "client-file.h"
#include "leak-check.h"
#include "max-map-count.h"
#include "shmguard-setup.h"

/* Far above what the processes around a test use, low enough to fill. */
#define LOWERED_MAX_MAP_COUNT 8192u
/* More pools than any bound derived from it allows. */
#define MAX_POOLS LOWERED_MAX_MAP_COUNT

static struct shmguard_pool *pools[MAX_POOLS];

static void
bound_filled_and_every_pool_faults(void **state)
{
	unsigned long vmas = max_map_count_process_vmas();
	if (vmas > LOWERED_MAX_MAP_COUNT / 8) {
		fail_msg("this process already has %lu map entries", vmas);
	}
	/* Read vm.max_map_count again, as a compositor starting now would. */
	shmguard_set_max_mappings(0);
	shmguard_set_max_pool_fds(MAX_POOLS + 64);
	/* Two pages, the second of which goes: a fault there splits the
	 * mapping into the client's first page and our zeros. */
	uint64_t size = 2 * client_page();
	int fd = client_memfd_create("map-count", size, false);

	unsigned count = 0;
	enum shmguard_pool_error error = SHMGUARD_POOL_OK;
	while (count < MAX_POOLS) {
		pools[count] = shmguard_pool_create(fd, size, NULL, &error);
		if (pools[count] == NULL) {
			break;
		}
		count++;
	}
	assert_int_equal(error, SHMGUARD_POOL_ERROR_TOO_MANY_MAPPINGS);
	assert_int_equal(budget_mappings_in_use(), count);
	printf("# %u pools fill the bound at vm.max_map_count %u (%lu map entries before)\n", count,
		LOWERED_MAX_MAP_COUNT, vmas);

	/* Every pool faults: each fault splits its mapping. */
	client_file_resize(fd, client_page());
	unsigned faulted = 0;
	for (unsigned i = 0; i < count; i++) {
		struct shmguard_access *access;
		void *data;
		assert_int_equal(shmguard_access_begin(
					 pools[i], 0, size, SHMGUARD_ACCESS_READ, &access, &data),
			0);
		const volatile uint8_t *bytes = data;
		assert_int_equal(bytes[client_page() + 1], 0);
		assert_int_equal(bytes[1], client_pattern(1));
		struct shmguard_fault_report report;
		faulted += shmguard_access_end(access, &report);
	}
	assert_int_equal(faulted, count);
	printf("# all %u faults covered; the process has %lu map entries\n", faulted,
		max_map_count_process_vmas());

	for (unsigned i = 0; i < count; i++) {
		shmguard_pool_unref(pools[i]);
	}
	assert_int_equal(budget_mappings_in_use(), 0);
	shmguard_set_max_pool_fds(0);
	shmguard_set_max_mappings(0);
	close(fd);
}

int
main(void)
{
	struct rlimit files;
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max &&
		files.rlim_cur < 2 * MAX_POOLS) {
		files.rlim_cur = files.rlim_max < 2 * MAX_POOLS ? files.rlim_max : 2 * MAX_POOLS;
		setrlimit(RLIMIT_NOFILE, &files);
	}
	if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur < MAX_POOLS + 256) {
		printf("SKIP: RLIMIT_NOFILE must allow %u pools\n", MAX_POOLS);
		return 77;
	}
	const char *why = max_map_count_lower(LOWERED_MAX_MAP_COUNT);
	if (why != NULL) {
		printf("SKIP: %s\n", why);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(bound_filled_and_every_pool_faults),
	};
	int failed = cmocka_run_group_tests(tests, setup_warm_up, NULL);
	max_map_count_restore();
	return failed;
}

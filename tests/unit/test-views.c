/*
 * What libwayland's contract needs from the core (libshmguard-preload):
 * writable views (shared where the fd allows writes, private
 * copy-on-write where it does not), writes after a fault, the strategy
 * decided again at every resize, generation pins that outlive a resize,
 * and held regions guarded with no window open.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/access.h"
#include "src/mapping.h"
#include "src/pool.h"

#include "client-file.h"
#include "leak-check.h"
#include "shmguard-setup.h"

#define PAGES(n) (client_page() * (uint64_t)(n))

static struct shmguard_pool *
view_pool_create(int fd, uint64_t size)
{
	enum shmguard_pool_error error = SHMGUARD_POOL_ERROR_NO_MEMORY;
	struct shmguard_pool *pool = pool_create(fd, size, NULL, true, &error);
	if (pool == NULL) {
		fail_msg("pool_create: %s", shmguard_pool_error_to_str(error));
	}
	return pool;
}

/* Open a window on the pinned @p generation tagged with @p tag. */
static uint8_t *
view_begin(struct generation *generation, uint64_t length, const void *tag)
{
	void *data;
	assert_int_equal(
		access_begin_pinned(generation, 0, length, SHMGUARD_ACCESS_READ, tag, &data), 0);
	return data;
}

/* Write through a view of @p fd and say how many of those bytes reached
 * the file. */
static unsigned
bytes_written_through(int fd)
{
	struct shmguard_pool *pool = view_pool_create(fd, PAGES(2));
	struct generation *generation = pool_pin_current(pool);
	int tag;
	uint8_t *data = view_begin(generation, PAGES(2), &tag);
	assert_int_equal(data[5], client_pattern(5));
	memset(data, 0, 64);
	assert_int_equal(access_end_tagged(&tag, NULL), 0);

	uint8_t file[64];
	assert_int_equal(pread(fd, file, sizeof(file), 0), (ssize_t)sizeof(file));
	unsigned reached = 0;
	for (size_t i = 0; i < sizeof(file); i++) {
		reached += file[i] == 0;
	}
	generation_unpin(generation);
	shmguard_pool_unref(pool);
	return reached;
}

static void
shared_view_writes_reach_the_file(void **state)
{
	int fd = client_memfd_create("views-shared", PAGES(2), false);
	assert_int_equal(bytes_written_through(fd), 64);
	close(fd);
}

static void
read_only_fd_view_is_private(void **state)
{
	int fd = client_memfd_create("views-read-only", PAGES(2), false);
	int read_only = client_file_reopen(fd, O_RDONLY);
	assert_int_equal(bytes_written_through(read_only), 0);
	close(read_only);
	close(fd);
}

static void
write_sealed_view_is_private(void **state)
{
	int fd = client_memfd_create("views-sealed", PAGES(2), true);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);
	assert_int_equal(bytes_written_through(fd), 0);
	close(fd);
}

/* A private view still follows the client's changes to pages the
 * compositor has not written. */
static void
private_view_follows_the_client(void **state)
{
	int fd = client_memfd_create("views-follow", PAGES(2), false);
	int read_only = client_file_reopen(fd, O_RDONLY);
	struct shmguard_pool *pool = view_pool_create(read_only, PAGES(2));
	struct generation *generation = pool_pin_current(pool);
	int tag;
	uint8_t *data = view_begin(generation, PAGES(2), &tag);
	data[0] = 0; /* the compositor's own copy of page 0 from now on */
	uint8_t client_byte = 0x5a;
	assert_int_equal(pwrite(fd, &client_byte, 1, PAGES(1) + 3), 1);
	assert_int_equal(pwrite(fd, &client_byte, 1, 7), 1);
	assert_int_equal(data[PAGES(1) + 3], 0x5a);
	assert_int_equal(data[7], client_pattern(7));
	assert_int_equal(access_end_tagged(&tag, NULL), 0);
	generation_unpin(generation);
	shmguard_pool_unref(pool);
	close(read_only);
	close(fd);
}

/* After a fault the zero pages keep the view writable: a compositor that
 * captures into a truncated buffer writes into them and goes on. */
static void
write_after_fault_in_a_view(void **state)
{
	int fd = client_memfd_create("views-fault", PAGES(3), false);
	struct shmguard_pool *pool = view_pool_create(fd, PAGES(3));
	struct generation *generation = pool_pin_current(pool);
	int tag;
	volatile uint8_t *data = view_begin(generation, PAGES(3), &tag);
	client_file_resize(fd, PAGES(1));
	/* The fault puts zero pages over the rest of the mapping, from the
	 * faulting page on; the writes after it land in them. */
	assert_int_equal(data[PAGES(1) + 1], 0);
	data[PAGES(1) + 1] = 0x66;
	data[PAGES(2)] = 0x77;
	assert_int_equal(data[PAGES(1) + 1], 0x66);
	assert_int_equal(data[PAGES(2)], 0x77);
	assert_int_equal(data[3], client_pattern(3));
	struct shmguard_fault_report report;
	assert_int_equal(access_end_tagged(&tag, &report), 1);
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(report.file_size, PAGES(1));
	assert_int_equal(access_end_tagged(&tag, NULL), -1);
	generation_unpin(generation);
	shmguard_pool_unref(pool);
	close(fd);
}

/* The seal is looked at again for every generation: a view over a file
 * the client seals later takes the sealed path at the next resize. */
static void
seal_rechecked_at_resize(void **state)
{
	int fd = client_memfd_create("views-reseal", PAGES(2), true);
	struct shmguard_pool *pool = view_pool_create(fd, PAGES(2));
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_GUARD);
	client_file_resize(fd, PAGES(4));
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	assert_int_equal(shmguard_pool_resize(pool, PAGES(4), NULL), 0);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_SEALED);
	shmguard_pool_unref(pool);
	close(fd);
}

/* A pinned generation stays mapped, at its address, after a resize
 * replaced it and no window is open; the unpin unmaps it. */
static void
pin_outlives_resize(void **state)
{
	int fd = client_memfd_create("views-pin", PAGES(2), false);
	struct shmguard_pool *pool = view_pool_create(fd, PAGES(2));
	struct generation *generation = pool_pin_current(pool);
	const volatile uint8_t *kept = (const uint8_t *)generation->region.read_start;

	client_file_resize(fd, PAGES(6));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(6), NULL), 0);
	generation_reclaim();
	assert_int_equal(generation_retired_count(), 1);
	assert_true(leak_check_address_mapped((const void *)kept, NULL, 0));
	assert_int_equal(kept[9], client_pattern(9));

	generation_unpin(generation);
	assert_int_equal(generation_retired_count(), 0);
	assert_false(leak_check_address_mapped((const void *)kept, NULL, 0));
	shmguard_pool_unref(pool);
	close(fd);
}

/* A held region is guarded with no window: zeros, the fault recorded, the
 * eventfd written. Placed after more than a chunk of other holds, so that
 * the handler walks past the first chunk. */
static void
held_region_guarded_without_window(void **state)
{
	enum { OTHERS = 300 };
	static struct guard_region others[OTHERS]; /* contain no address */
	_Atomic(struct guard_region *) *other_slots[OTHERS];
	for (unsigned i = 0; i < OTHERS; i++) {
		other_slots[i] = guard_hold(&others[i]);
		assert_non_null(other_slots[i]);
	}

	int fd = client_memfd_create("views-held", PAGES(2), false);
	struct shmguard_pool *pool = view_pool_create(fd, PAGES(2));
	struct generation *generation = pool_pin_current(pool);
	int notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	assert_true(notify >= 0);
	atomic_store(&generation->region.notify_fd, notify);
	_Atomic(struct guard_region *) *slot = guard_hold(&generation->region);
	assert_non_null(slot);

	const volatile uint8_t *data = (const uint8_t *)generation->region.read_start;
	client_file_resize(fd, 0);
	assert_int_equal(data[PAGES(1) + 5], 0);
	uint64_t count = 0;
	assert_int_equal(read(notify, &count, sizeof(count)), (ssize_t)sizeof(count));
	assert_int_equal(count, 1);
	assert_int_equal(GUARD_FAULT_KIND(atomic_load(&generation->region.first_fault)),
		SHMGUARD_FAULT_TRUNCATED);

	guard_unhold(slot);
	for (unsigned i = 0; i < OTHERS; i++) {
		guard_unhold(other_slots[i]);
	}
	generation_unpin(generation);
	shmguard_pool_unref(pool);
	close(notify);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(shared_view_writes_reach_the_file),
		LEAK_CHECKED(read_only_fd_view_is_private),
		LEAK_CHECKED(write_sealed_view_is_private),
		LEAK_CHECKED(private_view_follows_the_client),
		LEAK_CHECKED(write_after_fault_in_a_view),
		LEAK_CHECKED(seal_rechecked_at_resize),
		LEAK_CHECKED(pin_outlives_resize),
		LEAK_CHECKED(held_region_guarded_without_window),
	};
	return cmocka_run_group_tests(tests, setup_warm_up, NULL);
}

/*
 * The MAP_NOSIGBUS strategy, on a kernel that lacks the flag: mmap is
 * wrapped at link time (-Wl,--wrap=mmap,--wrap=mmap64) to behave like a
 * kernel that has it.
 *
 * meson compiles with _FILE_OFFSET_BITS=64, and with that glibc's
 * <sys/mman.h> redirects mmap() to mmap64 (nm shows the library's objects
 * referencing mmap64, not mmap, on x86_64 Debian 12). Both names are
 * wrapped, so the emulation holds whichever one an object references.
 *
 * The emulated kernel:
 * - MAP_PRIVATE|MAP_NOSIGBUS: the file part is mapped privately as asked,
 *   and the pages wholly past the end of the file are replaced with
 *   anonymous zero pages (MAP_FIXED), so reading them (or the probe's
 *   MADV_POPULATE_READ on them) succeeds without a fault. A truncation
 *   after the mmap is not emulated: the tests below never read past the
 *   new end of a nosigbus mapping.
 * - MAP_SHARED|MAP_NOSIGBUS: EINVAL; MAP_SHARED_VALIDATE|MAP_NOSIGBUS:
 *   EOPNOTSUPP (the flag is for private mappings only); with
 *   MAP_PRIVATE|MAP_ANONYMOUS the flag is accepted and does nothing.
 * Where it differs from the real kernel (tests/kernel/, which boots one):
 * that kernel maps zeros lazily, at the first fault past EOF, so a page
 * first touched after the file grew reads the new data where the emulation
 * keeps zeros, and a page truncated after the mmap reads zeros where the
 * emulation raises SIGBUS. The library re-maps on every resize, so no test
 * here depends on either.
 * Every call is recorded, so the tests can check which flags the library
 * used for which mapping.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/guard.h"
#include "src/linux_abi.h"

#include "client-file.h"
#include "leak-check.h"
#include "shmguard-setup.h"

#define PAGES(n) (client_page() * (uint64_t)(n))

/* ------------------------------------------------------------------ */
/* The emulated kernel                                                 */
/* ------------------------------------------------------------------ */

struct mmap_call {
	size_t length;
	int prot;
	int flags;
	int fd;
	void *result;
};

#define MAX_CALLS 4096

/* Written from the guard's signal handler too: a lock-free append. */
static struct mmap_call calls[MAX_CALLS];
static atomic_uint call_count;

/* -Wl,--wrap=NAME sends the program's calls of NAME to __wrap_NAME, and
 * __real_NAME to the real one. */
void *
__real_mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset);
void *
__real_mmap64(void *address, size_t length, int prot, int flags, int fd, off_t offset);
void *
__wrap_mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset);
void *
__wrap_mmap64(void *address, size_t length, int prot, int flags, int fd, off_t offset);

static void *
emulate(void *(*real)(void *, size_t, int, int, int, off_t), void *address, size_t length, int prot,
	int flags, int fd, off_t offset)
{
	void *result;
	if (!(flags & SHMGUARD_MAP_NOSIGBUS)) {
		result = real(address, length, prot, flags, fd, offset);
		goto out;
	}
	int type = flags & MAP_TYPE;
	if (type == MAP_SHARED_VALIDATE) {
		errno = EOPNOTSUPP;
		result = MAP_FAILED;
		goto out;
	}
	if (type == MAP_SHARED) {
		errno = EINVAL;
		result = MAP_FAILED;
		goto out;
	}
	if (type != MAP_PRIVATE || (flags & MAP_ANONYMOUS)) {
		/* No end of file to fault past (or no valid type at all). */
		result = real(address, length, prot, flags & ~SHMGUARD_MAP_NOSIGBUS, fd, offset);
		goto out;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		result = MAP_FAILED;
		goto out;
	}
	result = real(address, length, prot, flags & ~SHMGUARD_MAP_NOSIGBUS, fd, offset);
	if (result == MAP_FAILED) {
		goto out;
	}
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t in_file = (uint64_t)st.st_size > (uint64_t)offset
		? (uint64_t)st.st_size - (uint64_t)offset
		: 0;
	uint64_t covered = (in_file + page - 1) / page * page;
	if (covered < length) {
		void *zeros = real((uint8_t *)result + covered, length - covered, prot,
			MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (zeros == MAP_FAILED) {
			int saved = errno;
			munmap(result, length);
			errno = saved;
			result = MAP_FAILED;
		}
	}
out:;
	unsigned index = atomic_fetch_add(&call_count, 1);
	if (index < MAX_CALLS) {
		calls[index] = (struct mmap_call){
			.length = length,
			.prot = prot,
			.flags = flags,
			.fd = fd,
			.result = result,
		};
	}
	return result;
}

void *
__wrap_mmap(void *address, size_t length, int prot, int flags, int fd, off_t offset)
{
	return emulate(__real_mmap, address, length, prot, flags, fd, offset);
}

void *
__wrap_mmap64(void *address, size_t length, int prot, int flags, int fd, off_t offset)
{
	return emulate(__real_mmap64, address, length, prot, flags, fd, offset);
}

/* The most recent call that returned @p result, or NULL. */
static const struct mmap_call *
call_returning(const void *result)
{
	unsigned count = atomic_load(&call_count);
	assert_true(count <= MAX_CALLS);
	for (unsigned i = count; i-- > 0;) {
		if (calls[i].result == result) {
			return &calls[i];
		}
	}
	return NULL;
}

static unsigned
nosigbus_calls(void)
{
	unsigned count = atomic_load(&call_count);
	unsigned found = 0;
	for (unsigned i = 0; i < count && i < MAX_CALLS; i++) {
		if (calls[i].flags == (MAP_PRIVATE | SHMGUARD_MAP_NOSIGBUS)) {
			found++;
		}
	}
	return found;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

/* The emulation itself: zeros past EOF, no fault, no handler. */
static void
emulation_reads_zeros_past_eof(void **state)
{
	int fd = client_memfd_create("emulation", PAGES(1), false);
	uint64_t entries = guard_handler_entries();
	const volatile uint8_t *p =
		mmap(NULL, PAGES(3), PROT_READ, MAP_PRIVATE | SHMGUARD_MAP_NOSIGBUS, fd, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(client_pattern_mismatch(p, 0, PAGES(1)), PAGES(1));
	assert_int_equal(client_nonzero_at(p + PAGES(1), PAGES(2)), PAGES(2));
	assert_int_equal(guard_handler_entries(), entries);
	munmap((void *)p, PAGES(3));

	errno = 0;
	assert_true(mmap(NULL, PAGES(1), PROT_READ, MAP_SHARED_VALIDATE | SHMGUARD_MAP_NOSIGBUS, fd,
			    0) == MAP_FAILED);
	assert_int_equal(errno, EOPNOTSUPP);
	errno = 0;
	assert_true(mmap(NULL, PAGES(1), PROT_READ, MAP_SHARED | SHMGUARD_MAP_NOSIGBUS, fd, 0) ==
		MAP_FAILED);
	assert_int_equal(errno, EINVAL);
	void *anonymous = mmap(NULL, PAGES(1), PROT_READ | PROT_WRITE,
		MAP_PRIVATE | MAP_ANONYMOUS | SHMGUARD_MAP_NOSIGBUS, -1, 0);
	assert_true(anonymous != MAP_FAILED);
	munmap(anonymous, PAGES(1));
	close(fd);
}

static void
probe_sees_map_nosigbus(void **state)
{
	const struct shmguard_probe_result *table = shmguard_probe();
	print_message("MAP_NOSIGBUS: %s\n", table[SHMGUARD_MECHANISM_MAP_NOSIGBUS].how);
	assert_true(table[SHMGUARD_MECHANISM_MAP_NOSIGBUS].supported);
	assert_true(table[SHMGUARD_MECHANISM_MAP_SHARED_VALIDATE].supported);
	/* Established by the behaviour: two pages over a one-page file. */
	unsigned count = atomic_load(&call_count);
	bool probed = false;
	for (unsigned i = 0; i < count && i < MAX_CALLS; i++) {
		probed = probed ||
			(calls[i].flags == (MAP_PRIVATE | SHMGUARD_MAP_NOSIGBUS) &&
				calls[i].length == PAGES(2) && calls[i].result != MAP_FAILED);
	}
	assert_true(probed);
}

static void
pool_reads_through_nosigbus(void **state)
{
	int fd = client_memfd_create("nosigbus-pool", PAGES(4), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(4));
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_NOSIGBUS);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_WRITE), SHMGUARD_STRATEGY_GUARD);
	const char *why = NULL;
	assert_int_equal(shmguard_strategy_choose(fd, PAGES(4), SHMGUARD_ACCESS_READ, &why),
		SHMGUARD_STRATEGY_NOSIGBUS);
	assert_non_null(strstr(why, "MAP_NOSIGBUS"));

	/* The read mapping: private, read-only, with the flag. */
	struct shmguard_access *access;
	void *read_data;
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(4), SHMGUARD_ACCESS_READ, &access, &read_data),
		0);
	assert_int_equal(client_pattern_mismatch(read_data, 0, PAGES(4)), PAGES(4));
	assert_false(shmguard_access_end(access, NULL));
	const struct mmap_call *call = call_returning(read_data);
	assert_non_null(call);
	assert_int_equal(call->flags, MAP_PRIVATE | SHMGUARD_MAP_NOSIGBUS);
	assert_int_equal(call->prot, PROT_READ);
	assert_int_equal(call->length, PAGES(4));

	/* Writes go through a shared mapping under the guard, no flag. */
	void *write_data;
	assert_int_equal(shmguard_access_begin(
				 pool, 0, PAGES(4), SHMGUARD_ACCESS_WRITE, &access, &write_data),
		0);
	memset(write_data, 0x6b, 8);
	assert_false(shmguard_access_end(access, NULL));
	call = call_returning(write_data);
	assert_non_null(call);
	assert_int_equal(call->flags, MAP_SHARED);
	assert_int_equal(call->prot, PROT_READ | PROT_WRITE);
	/* The private read mapping sees the write-back. */
	uint8_t bytes[8];
	assert_int_equal(shmguard_pool_read(pool, 0, bytes, sizeof(bytes), NULL), 0);
	for (size_t i = 0; i < sizeof(bytes); i++) {
		assert_int_equal(bytes[i], 0x6b);
	}

	shmguard_pool_unref(pool);
	close(fd);
}

/* No signal tells a nosigbus window about a truncation: the window asks
 * the file (fstat) when it ends. */
static void
truncation_reported_at_window_end(void **state)
{
	int fd = client_memfd_create("nosigbus-truncated", PAGES(4), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(4));
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_NOSIGBUS);
	uint64_t entries = guard_handler_entries();

	struct shmguard_access *access;
	void *data;
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(4), SHMGUARD_ACCESS_READ, &access, &data), 0);
	assert_int_equal(client_pattern_mismatch(data, 0, PAGES(1)), PAGES(1));
	client_file_resize(fd, PAGES(2));
	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(access, &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(report.offset, PAGES(2));
	assert_int_equal(report.file_size, PAGES(2));
	assert_int_equal(guard_handler_entries(), entries);

	/* The generation is poisoned: reported at once from now on. */
	assert_true(shmguard_pool_get_fault(pool, &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(1), SHMGUARD_ACCESS_READ, &access, &data), 0);
	assert_true(shmguard_access_end(access, NULL));

	/* Revalidation: refused while short, a fresh nosigbus mapping after
	 * the client grew the file back. */
	assert_int_equal(shmguard_pool_revalidate(pool), -ENXIO);
	client_file_resize(fd, PAGES(4));
	client_file_fill(fd, PAGES(2), PAGES(4));
	unsigned before = nosigbus_calls();
	assert_int_equal(shmguard_pool_revalidate(pool), 0);
	assert_int_equal(nosigbus_calls(), before + 1);
	assert_false(shmguard_pool_get_fault(pool, NULL));
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(4), SHMGUARD_ACCESS_READ, &access, &data), 0);
	assert_int_equal(client_pattern_mismatch(data, 0, PAGES(4)), PAGES(4));
	assert_false(shmguard_access_end(access, NULL));
	assert_int_equal(guard_handler_entries(), entries);

	shmguard_pool_unref(pool);
	close(fd);
}

/* A window over bytes the file still has reports nothing. */
static void
truncation_outside_window_not_reported(void **state)
{
	int fd = client_memfd_create("nosigbus-partial", PAGES(4), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(4));
	client_file_resize(fd, PAGES(2));
	struct shmguard_access *access;
	void *data;
	assert_int_equal(shmguard_access_begin(
				 pool, PAGES(1), PAGES(1), SHMGUARD_ACCESS_READ, &access, &data),
		0);
	assert_int_equal(client_pattern_mismatch(data, PAGES(1), PAGES(1)), PAGES(1));
	assert_false(shmguard_access_end(access, NULL));
	assert_int_equal(shmguard_access_begin(pool, PAGES(1), PAGES(1) + 1, SHMGUARD_ACCESS_READ,
				 &access, &data),
		0);
	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(access, &report));
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(report.offset, PAGES(2));
	shmguard_pool_unref(pool);
	close(fd);
}

/* Writes have no MAP_NOSIGBUS: the guard catches a write past the end. */
static void
write_fault_caught_by_guard(void **state)
{
	int fd = client_memfd_create("nosigbus-write", PAGES(3), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(3));
	client_file_resize(fd, PAGES(1));
	uint64_t entries = guard_handler_entries();
	uint8_t bytes[4] = {9, 9, 9, 9};
	struct shmguard_fault_report report;
	int ret = shmguard_pool_write(pool, PAGES(2), bytes, sizeof(bytes), &report);
	assert_int_equal(ret, -EFAULT);
	assert_int_equal(report.kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(report.offset, PAGES(2));
	assert_true(guard_handler_entries() > entries);
	shmguard_pool_unref(pool);
	close(fd);
}

/* Every resize maps a new generation with the flag (zero pages mapped
 * past an old end would go stale when the file grows). */
static void
resize_remaps_with_flag(void **state)
{
	int fd = client_memfd_create("nosigbus-resize", PAGES(2), false);
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	unsigned before = nosigbus_calls();
	client_file_resize(fd, PAGES(5));
	client_file_fill(fd, PAGES(2), PAGES(5));
	assert_int_equal(shmguard_pool_resize(pool, PAGES(5), NULL), 0);
	assert_int_equal(nosigbus_calls(), before + 1);
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_NOSIGBUS);

	struct shmguard_access *access;
	void *data;
	assert_int_equal(
		shmguard_access_begin(pool, 0, PAGES(5), SHMGUARD_ACCESS_READ, &access, &data), 0);
	assert_int_equal(client_pattern_mismatch(data, 0, PAGES(5)), PAGES(5));
	assert_false(shmguard_access_end(access, NULL));
	const struct mmap_call *call = call_returning(data);
	assert_non_null(call);
	assert_int_equal(call->flags, MAP_PRIVATE | SHMGUARD_MAP_NOSIGBUS);
	assert_int_equal(call->length, PAGES(5));

	shmguard_pool_unref(pool);
	close(fd);
}

/* A sealed file still takes the sealed path: no flag needed. */
static void
sealed_file_needs_no_flag(void **state)
{
	int fd = client_memfd_create("nosigbus-sealed", PAGES(2), true);
	assert_int_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	unsigned before = nosigbus_calls();
	struct shmguard_pool *pool = setup_pool_create(fd, PAGES(2));
	assert_int_equal(
		shmguard_pool_get_strategy(pool, SHMGUARD_ACCESS_READ), SHMGUARD_STRATEGY_SEALED);
	assert_int_equal(nosigbus_calls(), before);
	shmguard_pool_unref(pool);
	close(fd);
}

/* A huge-page memfd: the kernel's MAP_NOSIGBUS (the patch in tests/kernel)
 * leaves hugetlbfs faults alone, and a private hugetlb mapping would
 * reserve huge pages of its own: the guard, whatever the probe said. The
 * strategy is chosen without mapping anything, so no huge page is needed. */
static void
hugetlb_file_needs_guard(void **state)
{
	int fd = memfd_create("nosigbus-hugetlb", MFD_HUGETLB | MFD_CLOEXEC);
	if (fd < 0) {
		print_message("skipped: memfd_create(MFD_HUGETLB): %s\n", strerror(errno));
		skip();
	}
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(ftruncate(fd, st.st_blksize), 0);
	const char *why = NULL;
	assert_int_equal(
		shmguard_strategy_choose(fd, (uint64_t)st.st_blksize, SHMGUARD_ACCESS_READ, &why),
		SHMGUARD_STRATEGY_GUARD);
	assert_non_null(strstr(why, "hugetlbfs"));
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(emulation_reads_zeros_past_eof),
		LEAK_CHECKED(probe_sees_map_nosigbus),
		LEAK_CHECKED(pool_reads_through_nosigbus),
		LEAK_CHECKED(truncation_reported_at_window_end),
		LEAK_CHECKED(truncation_outside_window_not_reported),
		LEAK_CHECKED(write_fault_caught_by_guard),
		LEAK_CHECKED(resize_remaps_with_flag),
		LEAK_CHECKED(sealed_file_needs_no_flag),
		LEAK_CHECKED(hugetlb_file_needs_guard),
	};
	return cmocka_run_group_tests(tests, setup_warm_up, NULL);
}

/*
 * Pools on huge-page memfds (memfd_create(MFD_HUGETLB)), on real huge
 * pages: a truncated hugetlbfs file never kills, at any offset and size.
 *
 * A hugetlb mapping can be split only at huge page boundaries, and the
 * kernel rounds its length up to a whole huge page. So zeros put over a
 * faulting range must cover whole huge pages, the unmap must cover the
 * rounded length, and a budget counts what is really mapped. hugetlbfs
 * takes only file sizes that are multiples of the huge page; a pool may be
 * any size up to the file's.
 *
 * The binary reserves its huge pages itself (tests/hugepages: as root,
 * nr_hugepages raised for the run and always put back, the tests run in a
 * forked child) and skips, saying why, where it cannot have them.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/guard.h"
#include "src/mapping.h"
#include "src/pool.h"

#include "client-file.h"
#include "hugepages.h"
#include "leak-check.h"
#include "shmguard-setup.h"

/* Huge pages this binary reserves: its largest file is 3 huge pages, and
 * at most two files live at once. */
#define RESERVED_PAGES 8

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)

/* The huge page size of MFD_HUGETLB memfds (the default hstate). */
static uint64_t huge;

/* A huge-page memfd of @p size bytes holding the client pattern (hugetlbfs
 * has no write(): filled through a mapping). */
static int
huge_file_create(uint64_t size)
{
	int fd = memfd_create("hugetlb-pool", MFD_HUGETLB | MFD_CLOEXEC);
	if (fd < 0) {
		fail_msg("memfd_create(MFD_HUGETLB): %s", strerror(errno));
	}
	client_file_resize(fd, size);
	uint8_t *bytes = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bytes == MAP_FAILED) {
		fail_msg("mmap of %llu bytes of huge pages: %s", (unsigned long long)size,
			strerror(errno));
	}
	for (uint64_t i = 0; i < size; i++) {
		bytes[i] = client_pattern(i);
	}
	munmap(bytes, size);
	return fd;
}

static void
assert_truncated(const struct shmguard_fault_report *report, uint64_t offset, uint64_t file_size)
{
	assert_int_equal(report->kind, SHMGUARD_FAULT_TRUNCATED);
	assert_int_equal(report->offset, offset);
	assert_int_equal(report->file_size, file_size);
}

/* A guarded copy's fault: memcpy may touch the bytes of its range in any
 * order (glibc 2.41 loads the last vector first), so the fault lies
 * somewhere in [@p first, @p end), past the file's new end. */
static void
assert_copy_truncated(const struct shmguard_fault_report *report, uint64_t first, uint64_t end,
	uint64_t file_size)
{
	assert_int_equal(report->kind, SHMGUARD_FAULT_TRUNCATED);
	assert_true(report->offset >= first);
	assert_true(report->offset < end);
	assert_true(report->offset >= file_size);
	assert_int_equal(report->file_size, file_size);
}

/* Where a buffer may sit in a pool of @p size bytes: the start, 8 KiB in,
 * 1 MiB + 4 KiB in (the middle of the first huge page) and the last page. */
static uint64_t
buffer_offset(unsigned which, uint64_t size)
{
	const uint64_t offsets[] = {0, 8 * KIB, MIB + 4 * KIB};
	return which < 3 ? offsets[which] : size - client_page();
}

#define BUFFER_OFFSETS 4

/* ------------------------------------------------------------------ */

/* What hugetlbfs allows: whole huge pages only. */
static void
file_sizes_are_whole_huge_pages(void **state)
{
	int fd = memfd_create("hugetlb-sizes", MFD_HUGETLB | MFD_CLOEXEC);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal((uint64_t)st.st_blksize, huge);
	const uint64_t refused[] = {4 * KIB, huge + 4 * KIB, huge - 4 * KIB};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		errno = 0;
		assert_int_equal(ftruncate(fd, (off_t)refused[i]), -1);
		assert_int_equal(errno, EINVAL);
	}
	assert_int_equal(ftruncate(fd, (off_t)(2 * huge)), 0);
	assert_int_equal(ftruncate(fd, (off_t)huge), 0);
	assert_int_equal(ftruncate(fd, 0), 0);
	close(fd);
}

/*
 * A window over a buffer at each offset of pools of one and three huge
 * pages; the file truncated to 0 under it. The window reads zeros from the
 * buffer's first byte, reported as truncated there; the pool's fault says
 * the same.
 */
static void
window_reads_zeros_after_truncation_to_zero(void **state)
{
	const uint64_t sizes[] = {huge, 3 * huge};
	for (size_t s = 0; s < 2; s++) {
		for (unsigned which = 0; which < BUFFER_OFFSETS; which++) {
			uint64_t size = sizes[s];
			uint64_t offset = buffer_offset(which, size);
			uint64_t length = size - offset < 64 * KIB ? size - offset : 64 * KIB;
			int fd = huge_file_create(size);
			struct shmguard_pool *pool = setup_pool_create(fd, size);
			struct shmguard_access *access;
			const volatile uint8_t *data = setup_window_begin(
				pool, offset, length, SHMGUARD_ACCESS_READ, &access);
			assert_int_equal(client_pattern_mismatch(data, offset, length), length);

			client_file_resize(fd, 0);
			assert_int_equal(client_nonzero_at(data, length), length);
			struct shmguard_fault_report report;
			assert_true(shmguard_access_end(access, &report));
			assert_truncated(&report, offset, 0);
			assert_true(shmguard_pool_get_fault(pool, &report));
			assert_truncated(&report, offset, 0);

			shmguard_pool_unref(pool);
			close(fd);
		}
	}
}

/*
 * A file of three huge pages truncated to one: the first huge page stays
 * the client's (the zeros start at the faulting huge page, not before),
 * the rest reads zeros, reported at the new end or at the buffer's start
 * past it.
 */
static void
window_reads_zeros_after_truncation_to_one_huge_page(void **state)
{
	uint64_t size = 3 * huge;
	const uint64_t offsets[] = {0, huge + 8 * KIB, huge + MIB + 4 * KIB, size - client_page()};
	for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		int fd = huge_file_create(size);
		struct shmguard_pool *pool = setup_pool_create(fd, size);
		struct shmguard_access *access;
		const volatile uint8_t *data =
			setup_window_begin(pool, 0, size, SHMGUARD_ACCESS_READ, &access);

		client_file_resize(fd, huge);
		uint64_t first = offsets[i] < huge ? huge : offsets[i];
		if (offsets[i] < huge) {
			/* A scan from the start: the client's bytes up to the
			 * new end, zeros after. */
			assert_int_equal(client_pattern_mismatch(data, 0, size), huge);
		} else {
			assert_int_equal(data[first], 0);
			assert_int_equal(client_pattern_mismatch(data, 0, huge), huge);
		}
		assert_int_equal(client_nonzero_at(data + huge, size - huge), size - huge);
		struct shmguard_fault_report report;
		assert_true(shmguard_access_end(access, &report));
		assert_truncated(&report, first, huge);

		shmguard_pool_unref(pool);
		close(fd);
	}
}

/* A pool that is not a whole number of huge pages (the kernel maps the
 * whole last huge page): the fault in its last page is covered, and the
 * pool unmaps without leaving a mapping behind. */
static void
pool_of_part_of_a_huge_page(void **state)
{
	const uint64_t pool_sizes[] = {huge / 2, huge + 3 * MIB / 2 + 4 * KIB};
	for (size_t i = 0; i < 2; i++) {
		uint64_t file_size = 2 * huge;
		uint64_t size = pool_sizes[i];
		int fd = huge_file_create(file_size);
		struct shmguard_pool *pool = setup_pool_create(fd, size);
		struct shmguard_access *access;
		const volatile uint8_t *data =
			setup_window_begin(pool, 0, size, SHMGUARD_ACCESS_READ, &access);
		uint64_t last = size - client_page();
		assert_int_equal(
			client_pattern_mismatch(data + last, last, client_page()), client_page());

		uint64_t new_end = size < huge ? 0 : huge;
		client_file_resize(fd, new_end);
		assert_int_equal(data[last], 0);
		assert_int_equal(client_nonzero_at(data + new_end, size - new_end), size - new_end);
		if (new_end > 0) {
			assert_int_equal(client_pattern_mismatch(data, 0, new_end), new_end);
		}
		struct shmguard_fault_report report;
		assert_true(shmguard_access_end(access, &report));
		assert_truncated(&report, last, new_end);

		shmguard_pool_unref(pool);
		close(fd);
	}
}

/* Guarded copies out of a truncated huge-page pool: -EFAULT at once,
 * reported at the offset of the copy. */
static void
guarded_read_fails_with_efault(void **state)
{
	uint64_t size = 2 * huge;
	for (unsigned which = 0; which < BUFFER_OFFSETS; which++) {
		uint64_t offset = buffer_offset(which, size);
		uint8_t bytes[4096];
		int fd = huge_file_create(size);
		struct shmguard_pool *pool = setup_pool_create(fd, size);
		assert_int_equal(shmguard_pool_read(pool, offset, bytes, sizeof(bytes), NULL), 0);
		assert_int_equal(
			client_pattern_mismatch(bytes, offset, sizeof(bytes)), sizeof(bytes));

		client_file_resize(fd, 0);
		struct shmguard_fault_report report;
		assert_int_equal(
			shmguard_pool_read(pool, offset, bytes, sizeof(bytes), &report), -EFAULT);
		assert_copy_truncated(&report, offset, offset + sizeof(bytes), 0);

		shmguard_pool_unref(pool);
		close(fd);
	}

	/* Across the new end: fails, past it. */
	int fd = huge_file_create(size);
	struct shmguard_pool *pool = setup_pool_create(fd, size);
	client_file_resize(fd, huge);
	uint8_t bytes[8192];
	struct shmguard_fault_report report;
	assert_int_equal(
		shmguard_pool_read(pool, huge - 4096, bytes, sizeof(bytes), &report), -EFAULT);
	assert_copy_truncated(&report, huge, huge - 4096 + sizeof(bytes), huge);
	shmguard_pool_unref(pool);
	close(fd);
}

/* The write-back path: a guarded write reaches the file, and fails with
 * -EFAULT once the file is truncated; a write window (foreign code
 * writing) over the truncated range writes into zeros and reports it. */
static void
write_back_to_truncated_file(void **state)
{
	uint64_t size = 2 * huge;
	uint64_t offset = huge + MIB + 4 * KIB;
	int fd = huge_file_create(size);
	struct shmguard_pool *pool = setup_pool_create(fd, size);
	const uint8_t capture[256] = {0xa5, 0x5a};
	assert_int_equal(shmguard_pool_write(pool, offset, capture, sizeof(capture), NULL), 0);
	uint8_t *file = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(file != MAP_FAILED);
	assert_memory_equal(file + offset, capture, sizeof(capture));
	munmap(file, size);

	client_file_resize(fd, huge);
	struct shmguard_fault_report report;
	assert_int_equal(
		shmguard_pool_write(pool, offset, capture, sizeof(capture), &report), -EFAULT);
	assert_copy_truncated(&report, offset, offset + sizeof(capture), huge);

	struct shmguard_access *access;
	volatile uint8_t *data =
		setup_window_begin(pool, 8 * KIB, size - 8 * KIB, SHMGUARD_ACCESS_WRITE, &access);
	data[size - 8 * KIB - 1] = 0x77;
	assert_int_equal(data[size - 8 * KIB - 1], 0x77);
	data[0] = 0x66;
	assert_true(shmguard_access_end(access, &report));
	assert_truncated(&report, size - 1, huge);
	shmguard_pool_unref(pool);

	/* The write below the new end reached the file. */
	uint8_t byte = 0;
	file = mmap(NULL, huge, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(file != MAP_FAILED);
	byte = file[8 * KIB];
	munmap(file, huge);
	assert_int_equal(byte, 0x66);
	close(fd);
}

/* A held region (a writable view the preload hands out beyond any
 * window): a read past the new end reads zeros, records the fault and
 * writes to the eventfd, at every offset. */
static void
held_region_truncated(void **state)
{
	uint64_t size = 2 * huge;
	for (unsigned which = 0; which < BUFFER_OFFSETS; which++) {
		uint64_t offset = buffer_offset(which, size);
		int fd = huge_file_create(size);
		enum shmguard_pool_error error = SHMGUARD_POOL_ERROR_NO_MEMORY;
		struct shmguard_pool *pool = pool_create(fd, size, NULL, true, &error);
		assert_non_null(pool);
		struct generation *generation = pool_pin_current(pool);
		int notify = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		assert_true(notify >= 0);
		atomic_store(&generation->region.notify_fd, notify);
		_Atomic(struct guard_region *) *slot = guard_hold(&generation->region);
		assert_non_null(slot);

		volatile uint8_t *data = (uint8_t *)generation->region.read_start;
		assert_int_equal(data[offset], client_pattern(offset));
		client_file_resize(fd, 0);
		assert_int_equal(data[offset], 0);
		/* A writable view stays writable over the zeros. */
		data[offset] = 1;
		uint64_t count = 0;
		assert_int_equal(read(notify, &count, sizeof(count)), (ssize_t)sizeof(count));
		assert_int_equal(count, 1);
		uint64_t fault = atomic_load(&generation->region.first_fault);
		assert_int_equal(GUARD_FAULT_KIND(fault), SHMGUARD_FAULT_TRUNCATED);
		assert_int_equal(GUARD_FAULT_OFFSET(fault), offset);

		guard_unhold(slot);
		generation_unpin(generation);
		shmguard_pool_unref(pool);
		close(notify);
		close(fd);
	}
}

/* A resize of a huge-page pool: the kernel cannot grow a hugetlb mapping
 * in place (mremap: EINVAL), so it gets a new generation; the old one is
 * unmapped in full. */
static void
resize_maps_a_new_generation(void **state)
{
	int fd = huge_file_create(3 * huge);
	struct shmguard_pool *pool = setup_pool_create(fd, huge);
	enum shmguard_pool_error error;
	assert_int_equal(shmguard_pool_resize(pool, 2 * huge + 4 * KIB, &error), 0);
	uint8_t bytes[4096];
	assert_int_equal(shmguard_pool_read(pool, 2 * huge, bytes, sizeof(bytes), NULL), 0);
	assert_int_equal(client_pattern_mismatch(bytes, 2 * huge, sizeof(bytes)), sizeof(bytes));
	assert_int_equal(shmguard_pool_resize(pool, 3 * huge, &error), 0);

	client_file_resize(fd, 0);
	struct shmguard_fault_report report;
	assert_int_equal(
		shmguard_pool_read(pool, 3 * huge - 4096, bytes, sizeof(bytes), &report), -EFAULT);
	assert_truncated(&report, 3 * huge - 4096, 0);
	shmguard_pool_unref(pool);
	close(fd);
}

/* A budget counts what the kernel maps: whole huge pages. */
static void
budget_counts_whole_huge_pages(void **state)
{
	int fd = huge_file_create(2 * huge);
	struct shmguard_budget *budget = shmguard_budget_create(NULL);
	assert_non_null(budget);
	enum shmguard_pool_error error;
	struct shmguard_pool *pool = shmguard_pool_create(fd, huge + 4 * KIB, budget, &error);
	assert_non_null(pool);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), 2 * huge);
	uint8_t byte = 1;
	assert_int_equal(shmguard_pool_write(pool, 0, &byte, 1, NULL), 0);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), 4 * huge);
	shmguard_pool_unref(pool);
	assert_int_equal(shmguard_budget_get_mapped_bytes(budget), 0);
	shmguard_budget_unref(budget);
	close(fd);
}

/*
 * A tmpfs with transparent huge pages (huge=always) reports the huge page
 * size in st_blksize too, and its files answer F_GET_SEALS, yet its
 * mappings are of base pages of any length: taken for hugetlbfs, the zeros
 * would cover client bytes before the fault and memory past the mapping.
 * Mounted in this process's private mount namespace (run_hugetlb_tests()).
 */
static char thp_dir[] = "/tmp/shmguard-test-thp-XXXXXX";
static bool thp_mounted;
static char thp_why[128] = "not tried";

static void
thp_tmpfs_mount(void)
{
	if (mkdtemp(thp_dir) == NULL) {
		snprintf(thp_why, sizeof(thp_why), "mkdtemp: %s", strerror(errno));
		return;
	}
	/* The type of a propagation change is ignored; "none" rather than
	 * NULL, which valgrind takes for an unaddressable string. */
	if (unshare(CLONE_NEWNS) != 0 ||
		mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0 ||
		mount("tmpfs", thp_dir, "tmpfs", 0, "huge=always,size=8m") != 0) {
		snprintf(thp_why, sizeof(thp_why),
			"cannot mount a private tmpfs with huge=always: %s", strerror(errno));
		rmdir(thp_dir);
		return;
	}
	thp_mounted = true;
}

static void
thp_tmpfs_unmount(void)
{
	if (thp_mounted) {
		umount(thp_dir);
		rmdir(thp_dir);
	}
}

static void
thp_tmpfs_file_keeps_base_pages(void **state)
{
	if (!thp_mounted) {
		print_message("skipped: %s\n", thp_why);
		skip();
	}
	char path[sizeof(thp_dir) + 8];
	snprintf(path, sizeof(path), "%s/pool", thp_dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	unlink(path);
	uint64_t size = huge + 12 * KIB;
	client_file_resize(fd, size);
	client_file_fill(fd, 0, size);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(fcntl(fd, F_GET_SEALS) >= 0);
	if ((uint64_t)st.st_blksize != huge) {
		close(fd);
		print_message("skipped: st_blksize is %ld on this tmpfs, not the huge page\n",
			(long)st.st_blksize);
		skip();
	}

	struct shmguard_pool *pool = setup_pool_create(fd, size);
	struct shmguard_access *access;
	const volatile uint8_t *data =
		setup_window_begin(pool, 0, size, SHMGUARD_ACCESS_READ, &access);
	client_file_resize(fd, 8 * KIB);
	assert_int_equal(data[MIB + 4 * KIB], 0);
	assert_int_equal(data[size - 1], 0);
	/* The zeros began at the faulting base page: bytes before the new
	 * end are still the client's. */
	assert_int_equal(client_pattern_mismatch(data, 0, 8 * KIB), 8 * KIB);
	struct shmguard_fault_report report;
	assert_true(shmguard_access_end(access, &report));
	assert_truncated(&report, MIB + 4 * KIB, 8 * KIB);
	shmguard_pool_unref(pool);
	close(fd);
}

/* ------------------------------------------------------------------ */

/* Whether huge pages can be had here; else why not. */
static const char *
huge_pages_unavailable(void)
{
	int fd = memfd_create("hugetlb-probe", MFD_HUGETLB | MFD_CLOEXEC);
	if (fd < 0) {
		return "memfd_create(MFD_HUGETLB) fails (kernel without hugetlbfs?)";
	}
	struct stat st;
	const char *why = NULL;
	if (fstat(fd, &st) != 0 || st.st_blksize < (blksize_t)(2 * MIB)) {
		why = "the default huge page is smaller than 2 MiB";
	} else if (ftruncate(fd, st.st_blksize) != 0) {
		why = "ftruncate of a huge-page memfd fails";
	} else {
		void *map = mmap(
			NULL, (size_t)st.st_blksize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			why = "no huge page free (mmap: ENOMEM)";
		} else {
			munmap(map, (size_t)st.st_blksize);
			huge = (uint64_t)st.st_blksize;
		}
	}
	close(fd);
	return why;
}

static int
run_hugetlb_tests(const char *skip_reason, void *arg)
{
	const char *why = skip_reason != NULL ? skip_reason : huge_pages_unavailable();
	if (why != NULL) {
		printf("test-hugetlb: skipped: no huge pages: %s\n", why);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(file_sizes_are_whole_huge_pages),
		LEAK_CHECKED(window_reads_zeros_after_truncation_to_zero),
		LEAK_CHECKED(window_reads_zeros_after_truncation_to_one_huge_page),
		LEAK_CHECKED(pool_of_part_of_a_huge_page),
		LEAK_CHECKED(guarded_read_fails_with_efault),
		LEAK_CHECKED(write_back_to_truncated_file),
		LEAK_CHECKED(held_region_truncated),
		LEAK_CHECKED(resize_maps_a_new_generation),
		LEAK_CHECKED(budget_counts_whole_huge_pages),
		LEAK_CHECKED(thp_tmpfs_file_keeps_base_pages),
	};
	thp_tmpfs_mount();
	int failed = cmocka_run_group_tests(tests, setup_warm_up, NULL);
	thp_tmpfs_unmount();
	return failed;
}

int
main(void)
{
	return hugepages_run_reserved(RESERVED_PAGES, run_hugetlb_tests, NULL);
}

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "child-library.h"
#include "child-process.h"

size_t
child_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t
page_size(void)
{
	return child_page_size();
}

int
child_memfd(unsigned pages)
{
	int fd = memfd_create("chain", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(pages * page_size())) != 0) {
		child_fail("memfd");
	}
	uint8_t *bytes = mmap(NULL, pages * page_size(), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (bytes == MAP_FAILED) {
		child_fail("mmap to fill");
	}
	memset(bytes, 0x11, pages * page_size());
	munmap(bytes, pages * page_size());
	return fd;
}

/* Every pool a child makes, held on purpose until the child dies or
 * exits: reachable from here, so that valgrind's leak check at the end
 * of a child (run on _exit() and on a death by signal alike) counts
 * them as still in use, not lost. Volatile: never read, the stores would
 * otherwise be optimised away. */
static struct shmguard_pool *volatile child_pools[16];
static unsigned child_pool_count;

struct shmguard_pool *
child_pool(int fd, unsigned pages)
{
	enum shmguard_pool_error error;
	struct shmguard_pool *pool = shmguard_pool_create(fd, pages * page_size(), NULL, &error);
	if (pool == NULL) {
		child_say("child: %s\n", shmguard_pool_error_to_str(error));
		child_fail("pool");
	}
	if (child_pool_count == sizeof(child_pools) / sizeof(child_pools[0])) {
		child_fail("more pools than child_pools holds");
	}
	child_pools[child_pool_count++] = pool;
	return pool;
}

const volatile uint8_t *
child_window(struct shmguard_pool *pool, unsigned pages, struct shmguard_access **access)
{
	void *data;
	uint64_t length = pages * page_size();
	if (shmguard_access_begin(pool, 0, length, SHMGUARD_ACCESS_READ, access, &data) != 0) {
		child_fail("shmguard_access_begin");
	}
	return data;
}

struct shmguard_access *
child_library_in_use(void)
{
	int fd = child_memfd(2);
	struct shmguard_pool *pool = child_pool(fd, 2);
	struct shmguard_access *access;
	const volatile uint8_t *data = child_window(pool, 2, &access);
	if (ftruncate(fd, (off_t)page_size()) != 0) {
		child_fail("ftruncate");
	}
	struct shmguard_fault_report report;
	if (data[page_size() + 1] != 0 || !shmguard_access_end(access, &report) ||
		report.kind != SHMGUARD_FAULT_TRUNCATED || report.offset != page_size() + 1) {
		child_fail("a fault in a window was not handled as the library's");
	}
	child_say("child: window fault handled\n");

	int healthy_fd = child_memfd(1);
	struct shmguard_pool *healthy = child_pool(healthy_fd, 1);
	data = child_window(healthy, 1, &access);
	if (data[0] != 0x11) {
		child_fail("healthy window");
	}
	return access;
}

const volatile uint8_t *
child_truncated_window(struct shmguard_access **access)
{
	int fd = child_memfd(2);
	struct shmguard_pool *pool = child_pool(fd, 2);
	const volatile uint8_t *data = child_window(pool, 2, access);
	if (ftruncate(fd, (off_t)page_size()) != 0) {
		child_fail("ftruncate");
	}
	return data;
}

void
child_expect_window_fault(const volatile uint8_t *data, struct shmguard_access *access)
{
	struct shmguard_fault_report report;
	if (data[page_size() + 3] != 0 || !shmguard_access_end(access, &report) ||
		report.kind != SHMGUARD_FAULT_TRUNCATED || report.offset != page_size() + 3) {
		child_fail("a fault in a window was not handled");
	}
}

const volatile uint8_t *
child_page_past_eof(void)
{
	int fd = child_memfd(1);
	const volatile uint8_t *bytes = mmap(NULL, 2 * page_size(), PROT_READ, MAP_SHARED, fd, 0);
	if (bytes == MAP_FAILED) {
		child_fail("mmap");
	}
	return bytes + page_size();
}

/*
 * The probe: what this kernel really does, each mechanism established by
 * its behaviour. A flag that mmap() accepts proves nothing: older kernels
 * silently ignore unknown mmap flag bits (MAP_NOSIGBUS on 6.x is exactly
 * that case), so every entry exercises the behaviour itself.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "guard.h"
#include "linux_abi.h"
#include "mapping.h"

static struct shmguard_probe_result results[SHMGUARD_MECHANISM_COUNT];
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static size_t page;

static void
set(enum shmguard_mechanism mechanism, bool supported, const char *how)
{
	results[mechanism].mechanism = mechanism;
	results[mechanism].supported = supported;
	results[mechanism].how = how;
}

/* Set the probes' shared memfd to @p pages pages; false on failure. */
static bool
resize_pages(int fd, size_t pages)
{
	return fd >= 0 && ftruncate(fd, (off_t)(pages * page)) == 0;
}

static void
probe_madv_populate_read(void)
{
	void *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		set(SHMGUARD_MECHANISM_MADV_POPULATE_READ, false, "could not map a test page");
		return;
	}
	if (madvise(p, page, MADV_POPULATE_READ) == 0) {
		set(SHMGUARD_MECHANISM_MADV_POPULATE_READ, true,
			"madvise(MADV_POPULATE_READ) populated an anonymous page");
	} else {
		set(SHMGUARD_MECHANISM_MADV_POPULATE_READ, false,
			"madvise(MADV_POPULATE_READ) refused: kernel older than 5.14");
	}
	munmap(p, page);
}

static void
probe_map_nosigbus(int fd)
{
	enum shmguard_mechanism m = SHMGUARD_MECHANISM_MAP_NOSIGBUS;
	if (!resize_pages(fd, 1)) {
		set(m, false, "could not create a one-page memfd to test with");
		return;
	}
	/* Two pages over a one-page file: the second page is past EOF. */
	uint8_t *p = mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE | SHMGUARD_MAP_NOSIGBUS, fd, 0);
	if (p == MAP_FAILED) {
		set(m, false, "mmap(MAP_PRIVATE|MAP_NOSIGBUS) was refused");
		return;
	}
	if (results[SHMGUARD_MECHANISM_MADV_POPULATE_READ].supported) {
		if (madvise(p + page, page, MADV_POPULATE_READ) == 0) {
			set(m, true,
				"the flag was accepted and a page past EOF populated without a fault (MADV_POPULATE_READ)");
		} else {
			set(m, false,
				"the flag was accepted but ignored: a page past EOF still faults (MADV_POPULATE_READ: EFAULT)");
		}
	} else if (guard_probe_read(p + page, page) == 0) {
		set(m, true, "the flag was accepted and a guarded read past EOF returned zeros");
	} else {
		set(m, false,
			"the flag was accepted but ignored: a guarded read past EOF raised SIGBUS");
	}
	munmap(p, 2 * page);
}

/* Last: the seal it adds stays on the memfd. */
static void
probe_memfd_seals(int fd)
{
	enum shmguard_mechanism m = SHMGUARD_MECHANISM_MEMFD_SEALS;
	if (!resize_pages(fd, 2)) {
		set(m, false, "memfd_create(MFD_ALLOW_SEALING) failed");
		return;
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) != 0) {
		set(m, false, "F_ADD_SEALS(F_SEAL_SHRINK) failed");
	} else if (ftruncate(fd, (off_t)page) == 0 || errno != EPERM) {
		set(m, false, "F_SEAL_SHRINK was set but the memfd still shrank");
	} else {
		set(m, true, "a memfd sealed with F_SEAL_SHRINK refused to shrink (EPERM)");
	}
}

static void
probe_map_shared_validate(int fd)
{
	enum shmguard_mechanism m = SHMGUARD_MECHANISM_MAP_SHARED_VALIDATE;
	if (!resize_pages(fd, 1)) {
		set(m, false, "could not create a memfd to test with");
		return;
	}
	void *p = mmap(NULL, page, PROT_READ, MAP_SHARED_VALIDATE | SHMGUARD_MAP_NOSIGBUS, fd, 0);
	if (p != MAP_FAILED) {
		munmap(p, page);
		set(m, false, "an unknown flag (0x200000) was accepted, not validated");
	} else if (errno != EOPNOTSUPP) {
		set(m, false, "MAP_SHARED_VALIDATE itself is not understood (no EOPNOTSUPP)");
	} else {
		set(m, true, "an unknown flag (0x200000) was refused with EOPNOTSUPP");
	}
}

static void
probe_mremap_dontunmap(int fd)
{
	enum shmguard_mechanism m = SHMGUARD_MECHANISM_MREMAP_DONTUNMAP;
	if (!resize_pages(fd, 1)) {
		set(m, false, "could not create a memfd to test with");
		return;
	}
	uint8_t *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		set(m, false, "could not map the memfd");
		return;
	}
	p[0] = 0x5a;
	/* The raw call: glibc's wrapper passes no new_address unless
	 * MREMAP_FIXED, and the kernel checks it for MREMAP_DONTUNMAP. */
	uint8_t *moved = (uint8_t *)syscall(
		SYS_mremap, p, page, page, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	if (moved == MAP_FAILED) {
		set(m, false, "mremap(MREMAP_DONTUNMAP) on a shared mapping was refused");
	} else {
		/* The old range must still be mapped, to the same file. */
		bool ok = moved[0] == 0x5a && guard_probe_read(p, 1) == 0 && p[0] == 0x5a;
		set(m, ok,
			ok ? "a shared mapping moved and its old range stayed mapped to the file"
			   : "mremap(MREMAP_DONTUNMAP) succeeded but the ranges did not match");
		munmap(moved, page);
	}
	munmap(p, page);
}

static void
probe_map_droppable(int fd)
{
	enum shmguard_mechanism m = SHMGUARD_MECHANISM_MAP_DROPPABLE;
	uint8_t *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		set(m, false, "mmap(MAP_DROPPABLE|MAP_ANONYMOUS) was refused");
		return;
	}
	p[0] = 0xa5;
	bool anonymous_ok = p[0] == 0xa5;
	munmap(p, page);

	bool file_ok = false;
	if (resize_pages(fd, 1)) {
		void *f = mmap(NULL, page, PROT_READ, MAP_DROPPABLE, fd, 0);
		if (f != MAP_FAILED) {
			file_ok = true;
			munmap(f, page);
		}
	}
	if (!anonymous_ok) {
		set(m, false, "MAP_DROPPABLE memory did not keep a written byte");
	} else if (file_ok) {
		set(m, true, "anonymous and file-backed MAP_DROPPABLE mappings work");
	} else {
		set(m, true,
			"anonymous only: a droppable mapping kept a written byte; a file-backed one was refused");
	}
}

static void
probe_mlock_onfault(void)
{
	enum shmguard_mechanism m = SHMGUARD_MECHANISM_MLOCK_ONFAULT;
	uint8_t *p =
		mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		set(m, false, "could not map test pages");
		return;
	}
	unsigned char resident[2] = {1, 1};
	if (syscall(SYS_mlock2, p, 2 * page, MLOCK_ONFAULT) != 0) {
		set(m, false,
			errno == EPERM || errno == ENOMEM
				? "mlock2(MLOCK_ONFAULT) refused by RLIMIT_MEMLOCK: not established"
				: "mlock2(MLOCK_ONFAULT) was refused");
	} else if (mincore(p, 2 * page, resident) != 0 || resident[0] || resident[1]) {
		set(m, false, "mlock2(MLOCK_ONFAULT) populated the pages up front");
	} else {
		p[0] = 1;
		bool ok = mincore(p, 2 * page, resident) == 0 && resident[0] && !resident[1];
		set(m, ok,
			ok ? "mlock2(MLOCK_ONFAULT) left pages unpopulated until touched"
			   : "mlock2(MLOCK_ONFAULT) did not lock a touched page");
	}
	munmap(p, 2 * page);
}

static void
probe_process_vm_readv(int fd)
{
	enum shmguard_mechanism m = SHMGUARD_MECHANISM_PROCESS_VM_READV;
	if (!resize_pages(fd, 2)) {
		set(m, false, "could not create a memfd to test with");
		return;
	}
	uint8_t *p = mmap(NULL, 2 * page, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		set(m, false, "could not map the memfd");
		return;
	}
	static uint8_t buffer[2 * 65536];
	size_t length = 2 * page <= sizeof(buffer) ? 2 * page : sizeof(buffer);
	struct iovec local = {buffer, length};
	struct iovec remote = {p, length};
	ssize_t n = -1;
	if (ftruncate(fd, (off_t)page) == 0) {
		n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	}
	if (n >= 0 && (size_t)n < length) {
		set(m, true,
			"a read across EOF of a truncated mapping stopped short, without a signal");
	} else if (n < 0 && errno == EFAULT) {
		set(m, true,
			"a read across EOF of a truncated mapping failed with EFAULT, without a signal");
	} else if (n < 0) {
		set(m, false, "process_vm_readv on our own process was refused");
	} else {
		set(m, false, "process_vm_readv read past EOF of a truncated mapping");
	}
	munmap(p, 2 * page);
}

static void
probe_membarrier(void)
{
	long commands = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
	bool ok = commands > 0 && (commands & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
		!guard_publish_needs_fence;
	set(SHMGUARD_MECHANISM_MEMBARRIER, ok,
		ok ? "registered for MEMBARRIER_CMD_PRIVATE_EXPEDITED: windows publish without a fence"
		   : "unavailable: each access window pays a full memory fence instead");
}

static void
probe_all(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	guard_init();
	/* One memfd for every probe (creating one costs ~10 us), resized as
	 * each needs; the seal probe runs last since its seal stays. */
	int fd = memfd_create("shmguard-probe", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	probe_madv_populate_read();
	probe_map_nosigbus(fd);
	probe_map_shared_validate(fd);
	probe_mremap_dontunmap(fd);
	probe_map_droppable(fd);
	probe_process_vm_readv(fd);
	probe_memfd_seals(fd);
	probe_mlock_onfault();
	probe_membarrier();
	if (fd >= 0) {
		close(fd);
	}
}

SHMGUARD_EXPORT const struct shmguard_probe_result *
shmguard_probe(void)
{
	pthread_once(&probe_once, probe_all);
	return results;
}

/* Inspection of a client's file descriptor before anything maps it. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "file_facts.h"
#include "linux_abi.h"

enum shmguard_pool_error
file_facts_type_error(mode_t mode)
{
	if (S_ISFIFO(mode)) {
		return SHMGUARD_POOL_ERROR_PIPE;
	}
	if (S_ISSOCK(mode)) {
		return SHMGUARD_POOL_ERROR_SOCKET;
	}
	if (S_ISDIR(mode)) {
		return SHMGUARD_POOL_ERROR_DIRECTORY;
	}
	if (S_ISCHR(mode)) {
		return SHMGUARD_POOL_ERROR_CHAR_DEVICE;
	}
	if (S_ISBLK(mode)) {
		return SHMGUARD_POOL_ERROR_BLOCK_DEVICE;
	}
	return S_ISREG(mode) ? SHMGUARD_POOL_OK : SHMGUARD_POOL_ERROR_NOT_REGULAR;
}

/*
 * The page size of mappings of @p fd. Only shmem and hugetlbfs files
 * answer F_GET_SEALS (@p sealable), and of those only hugetlbfs maps with
 * huge pages; its st_blksize is the huge page size. tmpfs reports the
 * transparent huge page size in st_blksize too when shmem THP is on, yet
 * maps with base pages, so a larger st_blksize is confirmed with fstatfs():
 * an ordinary memfd (st_blksize = the system page) costs no system call,
 * and neither call can wait on user space for these two file systems.
 */
static uint64_t
mapping_page_size(int fd, bool sealable, const struct stat *st)
{
	uint64_t base = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t blksize = st->st_blksize > 0 ? (uint64_t)st->st_blksize : 0;
	if (!sealable || blksize <= base || (blksize & (blksize - 1)) != 0) {
		return base;
	}
	struct statfs fs;
	if (fstatfs(fd, &fs) != 0 || fs.f_type != HUGETLBFS_MAGIC) {
		return base;
	}
	return blksize;
}

enum shmguard_pool_error
file_facts_read(int fd, struct file_facts *facts)
{
	int flags = fcntl(fd, F_GETFL);
	if (flags < 0) {
		return SHMGUARD_POOL_ERROR_BAD_FD;
	}
	if (flags & O_PATH) {
		return SHMGUARD_POOL_ERROR_O_PATH;
	}
	struct stat st;
	if (fstat(fd, &st) != 0) {
		return SHMGUARD_POOL_ERROR_BAD_FD;
	}
	enum shmguard_pool_error error = file_facts_type_error(st.st_mode);
	if (error != SHMGUARD_POOL_OK) {
		return error;
	}
	if ((flags & O_ACCMODE) == O_WRONLY) {
		return SHMGUARD_POOL_ERROR_NOT_READABLE;
	}
	int seals = fcntl(fd, F_GET_SEALS);
	facts->seals = seals < 0 ? 0 : (unsigned)seals;
	facts->writable = (flags & O_ACCMODE) == O_RDWR;
	facts->size = st.st_size < 0 ? 0 : (uint64_t)st.st_size;
	facts->page_size = mapping_page_size(fd, seals >= 0, &st);
	return SHMGUARD_POOL_OK;
}

enum shmguard_pool_error
file_facts_write_refusal(const struct file_facts *facts)
{
	if (facts->seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
		return SHMGUARD_POOL_ERROR_WRITE_SEALED;
	}
	if (!facts->writable) {
		return SHMGUARD_POOL_ERROR_READ_ONLY_FD;
	}
	return SHMGUARD_POOL_OK;
}

bool
file_facts_sealed_cover(const struct file_facts *facts, uint64_t size)
{
	return (facts->seals & F_SEAL_SHRINK) && facts->size >= size;
}

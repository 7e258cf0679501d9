/* Strategy choice, per generation and direction (DESIGN.md's table). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "file_origin.h"
#include "strategy.h"

enum shmguard_strategy
strategy_for_read(const struct file_facts *facts, uint64_t size, const char **why)
{
	const char *reason;
	enum shmguard_strategy strategy;
	if (file_facts_sealed_cover(facts, size)) {
		strategy = SHMGUARD_STRATEGY_SEALED;
		reason = "F_SEAL_SHRINK is set and the file covers the pool: it can never fault";
	} else if (facts->page_size > (uint64_t)sysconf(_SC_PAGESIZE)) {
		/* hugetlbfs faults take their own path in the kernel, which the
		 * MAP_NOSIGBUS patch leaves alone, and a private hugetlb
		 * mapping would reserve huge pages of its own. */
		strategy = SHMGUARD_STRATEGY_GUARD;
		reason =
			"a hugetlbfs file: MAP_NOSIGBUS does not cover huge pages; the SIGBUS guard catches truncation";
	} else if (shmguard_probe()[SHMGUARD_MECHANISM_MAP_NOSIGBUS].supported) {
		strategy = SHMGUARD_STRATEGY_NOSIGBUS;
		reason =
			"the kernel showed MAP_NOSIGBUS: a private read-only mapping reads zeros past EOF";
	} else {
		strategy = SHMGUARD_STRATEGY_GUARD;
		reason = (facts->seals & F_SEAL_SHRINK)
			? "sealed against shrinking but shorter than the pool: the SIGBUS guard catches it"
			: "the file can shrink and the kernel lacks MAP_NOSIGBUS: the SIGBUS guard catches truncation";
	}
	if (why != NULL) {
		*why = reason;
	}
	return strategy;
}

enum shmguard_strategy
strategy_for_write(const struct file_facts *facts, uint64_t size, const char **why)
{
	if (file_facts_sealed_cover(facts, size)) {
		if (why != NULL) {
			*why = "F_SEAL_SHRINK is set and the file covers the pool: writes can never fault";
		}
		return SHMGUARD_STRATEGY_SEALED;
	}
	if (why != NULL) {
		*why = "a shared writable mapping can fault and MAP_NOSIGBUS is private-only: the SIGBUS guard catches it";
	}
	return SHMGUARD_STRATEGY_GUARD;
}

SHMGUARD_EXPORT int
shmguard_strategy_choose(int fd, uint64_t size, enum shmguard_access_mode mode, const char **why)
{
	struct file_facts facts;
	struct file_origin origin;
	/* Vetted first: file_facts_read() calls fstat(). */
	enum shmguard_pool_error error = file_origin_vet(fd, NULL, &origin);
	if (error == SHMGUARD_POOL_OK) {
		error = file_facts_read(fd, &facts);
	}
	if (error == SHMGUARD_POOL_OK && mode == SHMGUARD_ACCESS_WRITE) {
		error = file_facts_write_refusal(&facts);
	}
	if (error != SHMGUARD_POOL_OK) {
		if (why != NULL) {
			*why = shmguard_pool_error_to_str(error);
		}
		return error == SHMGUARD_POOL_ERROR_BAD_FD ? -EBADF : -EINVAL;
	}
	return (int)(mode == SHMGUARD_ACCESS_WRITE ? strategy_for_write(&facts, size, why)
						   : strategy_for_read(&facts, size, why));
}

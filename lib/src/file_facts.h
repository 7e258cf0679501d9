/* What a client's file descriptor is: type, access mode, seals, size. */
#ifndef SHMGUARD_FILE_FACTS_H
#define SHMGUARD_FILE_FACTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "shmguard/shmguard.h"

struct file_facts {
	bool writable; /* opened O_RDWR */
	unsigned seals; /* F_GET_SEALS, 0 for files that cannot be sealed */
	uint64_t size; /* st_size */
	/* The page size the kernel maps the file with: the huge page size
	 * on hugetlbfs (mappings split only at its boundaries and their
	 * length is rounded up to it), else the system page size. */
	uint64_t page_size;
};

/* Inspect @p fd (borrowed). SHMGUARD_POOL_OK for a readable regular file,
 * else the specific reason it cannot back a pool. Calls fstat(): only for
 * an fd that file_origin_vet() accepted (fstat() on a FUSE file is a
 * request to its daemon). */
enum shmguard_pool_error
file_facts_read(int fd, struct file_facts *facts);

/* SHMGUARD_POOL_OK for a regular file's @p mode, else its type's error. */
enum shmguard_pool_error
file_facts_type_error(mode_t mode);

/* Why @p facts forbid writing, or SHMGUARD_POOL_OK. */
enum shmguard_pool_error
file_facts_write_refusal(const struct file_facts *facts);

/* Whether a mapping of @p size bytes can never fault: the file can never
 * shrink (F_SEAL_SHRINK) and covers the whole mapping now. */
bool
file_facts_sealed_cover(const struct file_facts *facts, uint64_t size);

#endif

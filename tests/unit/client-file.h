/*
 * Files the way a client sends them: memfds and temporary files filled
 * with a known byte pattern, so a test can tell the client's bytes from
 * the zeros the guard maps in after a truncation.
 */
#ifndef SHMGUARD_TEST_CLIENT_FILE_H
#define SHMGUARD_TEST_CLIENT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The system page size. */
size_t
client_page(void);

/* The byte a client file holds at @p offset: never zero, and different
 * at the same position of neighbouring pages. */
static inline uint8_t
client_pattern(uint64_t offset)
{
	return (uint8_t)(offset % 251 + 1);
}

/* A memfd called @p name of @p size bytes holding the pattern; sealable
 * if @p allow_sealing. Fails the test if it cannot be made. */
int
client_memfd_create(const char *name, uint64_t size, bool allow_sealing);

/* An unlinked temporary file (O_RDWR) of @p size bytes with the pattern. */
int
client_tmpfile_create(uint64_t size);

/* Write the pattern into [@p from, @p to) of @p fd. */
void
client_file_fill(int fd, uint64_t from, uint64_t to);

/* Set the size of @p fd (ftruncate); fails the test on error. */
void
client_file_resize(int fd, uint64_t size);

/* Open @p fd again through /proc/self/fd with @p flags (a new open file
 * description: O_RDONLY gives a read-only fd of the same file). */
int
client_file_reopen(int fd, int flags);

/*
 * Read [@p data, @p data + @p length) byte by byte in increasing order,
 * as pool offsets from @p offset. Returns the index of the first byte
 * that is not the pattern, or @p length if all are.
 */
uint64_t
client_pattern_mismatch(const volatile uint8_t *data, uint64_t offset, uint64_t length);

/* Read the bytes byte by byte in increasing order; returns the index of
 * the first non-zero byte, or @p length if all are zero. */
uint64_t
client_nonzero_at(const volatile uint8_t *data, uint64_t length);

#endif

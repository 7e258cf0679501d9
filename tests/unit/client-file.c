/* Client files for the unit tests. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "client-file.h"

size_t
client_page(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

void
client_file_fill(int fd, uint64_t from, uint64_t to)
{
	uint8_t chunk[4096];
	for (uint64_t at = from; at < to;) {
		size_t n = to - at < sizeof(chunk) ? (size_t)(to - at) : sizeof(chunk);
		for (size_t i = 0; i < n; i++) {
			chunk[i] = client_pattern(at + i);
		}
		ssize_t written = pwrite(fd, chunk, n, (off_t)at);
		assert_int_equal(written, (ssize_t)n);
		at += n;
	}
}

void
client_file_resize(int fd, uint64_t size)
{
	if (ftruncate(fd, (off_t)size) != 0) {
		fail_msg("ftruncate(%d, %llu): %s", fd, (unsigned long long)size, strerror(errno));
	}
}

int
client_memfd_create(const char *name, uint64_t size, bool allow_sealing)
{
	int fd = memfd_create(name, MFD_CLOEXEC | (allow_sealing ? MFD_ALLOW_SEALING : 0));
	if (fd < 0) {
		fail_msg("memfd_create(%s): %s", name, strerror(errno));
	}
	client_file_resize(fd, size);
	client_file_fill(fd, 0, size);
	return fd;
}

int
client_tmpfile_create(uint64_t size)
{
	const char *dir = getenv("TMPDIR");
	if (dir == NULL || dir[0] == '\0') {
		dir = "/tmp";
	}
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		/* No O_TMPFILE on this file system: create and unlink. */
		char path[4096];
		snprintf(path, sizeof(path), "%s/shmguard-test-XXXXXX", dir);
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0) {
			fail_msg("temporary file in %s: %s", dir, strerror(errno));
		}
		unlink(path);
	}
	client_file_resize(fd, size);
	client_file_fill(fd, 0, size);
	return fd;
}

int
client_file_reopen(int fd, int flags)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int fresh = open(path, flags | O_CLOEXEC);
	if (fresh < 0) {
		fail_msg("open(%s): %s", path, strerror(errno));
	}
	return fresh;
}

uint64_t
client_pattern_mismatch(const volatile uint8_t *data, uint64_t offset, uint64_t length)
{
	for (uint64_t i = 0; i < length; i++) {
		if (data[i] != client_pattern(offset + i)) {
			return i;
		}
	}
	return length;
}

uint64_t
client_nonzero_at(const volatile uint8_t *data, uint64_t length)
{
	for (uint64_t i = 0; i < length; i++) {
		if (data[i] != 0) {
			return i;
		}
	}
	return length;
}

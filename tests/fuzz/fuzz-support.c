/* What the fuzz targets share (fuzz-support.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "src/budget.h"
#include "src/mapping.h"

#include "fuzz-support.h"

/* The page of the pattern: a fixed 4 KiB, whatever the system's. */
#define PATTERN_PAGE 4096u

void
fuzz_fail(const char *target, const char *format, ...)
{
	va_list args;
	fprintf(stderr, "%s: invariant broken: ", target);
	va_start(args, format);
	vfprintf(stderr, format, args);
	va_end(args);
	fputc('\n', stderr);
	abort();
}

uint8_t
fuzz_input_u8(struct fuzz_input *input)
{
	return input->position < input->size ? input->bytes[input->position++] : 0;
}

uint16_t
fuzz_input_u16(struct fuzz_input *input)
{
	uint16_t low = fuzz_input_u8(input);
	return (uint16_t)(low | (uint16_t)fuzz_input_u8(input) << 8);
}

uint8_t
fuzz_pattern_byte(uint64_t offset)
{
	return (uint8_t)(1 + (offset * 7 + (offset / PATTERN_PAGE) * 13) % 251);
}

static uint8_t pattern[FUZZ_PATTERN_BYTES];
static pthread_once_t pattern_once = PTHREAD_ONCE_INIT;

static void
pattern_init(void)
{
	for (uint64_t i = 0; i < FUZZ_PATTERN_BYTES; i++) {
		pattern[i] = fuzz_pattern_byte(i);
	}
}

const uint8_t *
fuzz_pattern_table(void)
{
	pthread_once(&pattern_once, pattern_init);
	return pattern;
}

int
fuzz_pattern_fill(int fd, uint64_t from, uint64_t to)
{
	const uint8_t *table = fuzz_pattern_table();
	if (to > FUZZ_PATTERN_BYTES) {
		errno = ERANGE;
		return -1;
	}
	while (from < to) {
		ssize_t n = pwrite(fd, table + from, to - from, (off_t)from);
		if (n <= 0) {
			return -1;
		}
		from += (uint64_t)n;
	}
	return 0;
}

int
fuzz_memfd_create(const char *target, uint64_t size, unsigned flags)
{
	int fd = memfd_create(target, MFD_CLOEXEC | flags);
	FUZZ_CHECK(target, fd >= 0, "memfd_create: %s", strerror(errno));
	FUZZ_CHECK(target, fuzz_pattern_fill(fd, 0, size) == 0, "filling a memfd: %s",
		strerror(errno));
	return fd;
}

int
fuzz_tmpfile_create(const char *target, uint64_t size)
{
	int fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		return fuzz_memfd_create(target, size, 0);
	}
	FUZZ_CHECK(target, fuzz_pattern_fill(fd, 0, size) == 0, "filling a tmpfile: %s",
		strerror(errno));
	return fd;
}

int
fuzz_pipe_create(const char *target)
{
	int fds[2];
	FUZZ_CHECK(target, pipe2(fds, O_CLOEXEC) == 0, "pipe2");
	close(fds[1]);
	return fds[0];
}

int
fuzz_socket_create(const char *target)
{
	int fds[2];
	FUZZ_CHECK(
		target, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair");
	close(fds[1]);
	return fds[0];
}

int
fuzz_reopen(const char *target, int fd, int flags)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int reopened = open(path, flags | O_CLOEXEC);
	FUZZ_CHECK(target, reopened >= 0, "reopening %s: %s", path, strerror(errno));
	return reopened;
}

/* Entries of /proc/self/fd, "." and ".." and the directory's own fd
 * included: the same few more each time. */
static unsigned
count_fds(const char *target)
{
	DIR *dir = opendir("/proc/self/fd");
	FUZZ_CHECK(target, dir != NULL, "opendir /proc/self/fd");
	unsigned n = 0;
	while (readdir(dir) != NULL) {
		n++;
	}
	closedir(dir);
	return n;
}

void
fuzz_resources_count(const char *target, struct fuzz_resources *resources)
{
	resources->fds = count_fds(target);
	resources->mappings = budget_mappings_in_use();
}

void
fuzz_resources_check(const char *target, const struct fuzz_resources *before)
{
	FUZZ_CHECK(target, generation_retired_count() == 0, "%u retired generations never unmapped",
		generation_retired_count());
	uint32_t mappings = budget_mappings_in_use();
	FUZZ_CHECK(target, mappings == before->mappings, "mappings in use: %u, %u before", mappings,
		before->mappings);
	unsigned fds = count_fds(target);
	FUZZ_CHECK(
		target, fds == before->fds, "fds: %u before the input, %u after", before->fds, fds);
}

/*
 * demo-client-support: the memfds behind wl_shm pools.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client.h"

int
client_shm_file_create(struct client *client, const char *file_name, uint64_t size, bool sealable)
{
	int fd = memfd_create(file_name, MFD_CLOEXEC | (sealable ? MFD_ALLOW_SEALING : 0));
	if (fd < 0) {
		fprintf(stderr, "%s: memfd_create: %s\n", client->name, strerror(errno));
		return -1;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		fprintf(stderr, "%s: ftruncate: %s\n", client->name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
client_shm_file_reopen_read_only(int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int read_only = open(path, O_RDONLY | O_CLOEXEC);
	return read_only >= 0 ? read_only : -errno;
}

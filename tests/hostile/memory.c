/*
 * hostile-client: the files handed over for pools, well-made and not.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hostile.h"

static const char *const fd_kind_names[] = {
	[HOSTILE_FD_MEMFD] = "memfd",
	[HOSTILE_FD_READ_ONLY] = "read-only",
	[HOSTILE_FD_WRITE_SEALED] = "write-sealed",
	[HOSTILE_FD_FUTURE_WRITE_SEALED] = "future-write-sealed",
	[HOSTILE_FD_SHRINK_SEALED] = "shrink-sealed",
	[HOSTILE_FD_PIPE] = "pipe",
	[HOSTILE_FD_UNIX_SOCKET] = "unix-socket",
	[HOSTILE_FD_TCP_SOCKET] = "tcp-socket",
	[HOSTILE_FD_DIRECTORY] = "directory",
	[HOSTILE_FD_DEV_NULL] = "dev-null",
	[HOSTILE_FD_DEV_ZERO] = "dev-zero",
	[HOSTILE_FD_EVENTFD] = "eventfd",
};

#define FD_KIND_COUNT (sizeof(fd_kind_names) / sizeof(fd_kind_names[0]))

bool
hostile_fd_kind_parse(const char *name, enum hostile_fd_kind *kind)
{
	for (size_t i = 0; i < FD_KIND_COUNT; i++) {
		if (strcmp(name, fd_kind_names[i]) == 0) {
			*kind = (enum hostile_fd_kind)i;
			return true;
		}
	}
	return false;
}

const char *
hostile_fd_kind_to_str(enum hostile_fd_kind kind)
{
	return (size_t)kind < FD_KIND_COUNT ? fd_kind_names[kind] : "?";
}

int
hostile_memfd_create(struct hostile *hostile, uint64_t size, uint32_t pixel)
{
	int fd = client_shm_file_create(&hostile->client, "hostile-client", size, true);
	if (fd < 0) {
		return -1;
	}
	if (pixel == 0) {
		/* A new file reads as zeros; a big one stays sparse. */
		return fd;
	}
	uint32_t *pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (pixels == MAP_FAILED) {
		perror("hostile-client: mmap");
		goto err_fd;
	}
	for (uint64_t i = 0; i < size / 4; i++) {
		pixels[i] = pixel;
	}
	/* No writable mapping may remain for F_SEAL_WRITE to succeed. */
	munmap(pixels, size);
	return fd;

err_fd:
	close(fd);
	return -1;
}

static int
reopen_read_only(int memfd)
{
	int fd = client_shm_file_reopen_read_only(memfd);
	if (fd < 0) {
		fprintf(stderr, "hostile-client: reopening the memfd read-only: %s\n",
			strerror(-fd));
		return -1;
	}
	return fd;
}

static int
sealed_duplicate(int memfd, int seals)
{
	if (fcntl(memfd, F_ADD_SEALS, seals) != 0) {
		perror("hostile-client: F_ADD_SEALS");
		return -1;
	}
	return fcntl(memfd, F_DUPFD_CLOEXEC, 0);
}

/* A TCP socket connected to a listener of our own on 127.0.0.1. */
static int
tcp_socket(void)
{
	int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0) {
		perror("hostile-client: socket");
		return -1;
	}
	struct sockaddr_in address = {
		.sin_family = AF_INET,
		.sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	};
	socklen_t length = sizeof(address);
	int fd = -1;
	if (bind(listener, (struct sockaddr *)&address, length) != 0 || listen(listener, 1) != 0 ||
		getsockname(listener, (struct sockaddr *)&address, &length) != 0) {
		perror("hostile-client: a TCP listener on 127.0.0.1");
		goto out;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&address, length) != 0) {
		perror("hostile-client: connecting to 127.0.0.1");
		if (fd >= 0) {
			close(fd);
		}
		fd = -1;
	}
out:
	/* The connection is established; the listener may go. */
	close(listener);
	return fd;
}

int
hostile_fd_open(enum hostile_fd_kind kind, int memfd)
{
	int fds[2];
	int fd = -1;
	switch (kind) {
	case HOSTILE_FD_MEMFD:
		fd = fcntl(memfd, F_DUPFD_CLOEXEC, 0);
		break;
	case HOSTILE_FD_READ_ONLY:
		return reopen_read_only(memfd);
	case HOSTILE_FD_WRITE_SEALED:
		return sealed_duplicate(memfd, F_SEAL_WRITE);
	case HOSTILE_FD_FUTURE_WRITE_SEALED:
		return sealed_duplicate(memfd, F_SEAL_FUTURE_WRITE);
	case HOSTILE_FD_SHRINK_SEALED:
		return sealed_duplicate(memfd, F_SEAL_SHRINK | F_SEAL_GROW);
	case HOSTILE_FD_PIPE:
		if (pipe2(fds, O_CLOEXEC) != 0) {
			break;
		}
		/* Keep the write end open so the read end stays a live pipe:
		 * it leaks into nothing, we exit soon. */
		return fds[0];
	case HOSTILE_FD_UNIX_SOCKET:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
			break;
		}
		return fds[0];
	case HOSTILE_FD_TCP_SOCKET:
		return tcp_socket();
	case HOSTILE_FD_DIRECTORY:
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		break;
	case HOSTILE_FD_DEV_NULL:
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	case HOSTILE_FD_DEV_ZERO:
		/* Read-write, so that a compositor mapping it PROT_WRITE can. */
		fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
		break;
	case HOSTILE_FD_EVENTFD:
		fd = eventfd(0, EFD_CLOEXEC);
		break;
	}
	if (fd < 0) {
		fprintf(stderr, "hostile-client: cannot make a %s fd: %s\n",
			hostile_fd_kind_to_str(kind), strerror(errno));
	}
	return fd;
}

/*
 * fuzz-wire: raw Wayland wire messages into libshmguard's wl_shm global.
 *
 * Each input gets an in-process wl_display with the global
 * (shmguard_shm_create()) and one client: wl_client_create() on one end of
 * a socketpair, the fuzzer's bytes written to the other end, with file
 * descriptors of prepared files passed along by SCM_RIGHTS. A fixed prefix
 * binds wl_registry (id 2) and wl_shm (id 3) first, so that the raw bytes
 * reach wl_shm, wl_shm_pool and wl_buffer requests from the start (the next
 * free id is 4). Between writes the display is served until it is idle,
 * files may be truncated or grown, and the buffers the client made are
 * read and written through access windows and guarded copies, as a
 * compositor would: also on another thread, with the display served while
 * windows are open, and after the client destroyed or disconnected them.
 *
 * What must hold, or the target aborts (libFuzzer reports a crash):
 * - nothing crashes (the sanitizers watch every access);
 * - the library never answers with wl_display.error no_memory;
 * - a read window always opens; a write window opens or is refused with
 *   -EACCES, -EPERM or -ENOSPC; a guarded copy returns -ERANGE exactly
 *   when its range leaves the buffer;
 * - a fault (end of a window, a guarded copy, the fault handler) comes
 *   only after a file was cut, is "truncated", lies past the file's end
 *   and inside the pool, and gets the action of the current policy, on
 *   the display thread;
 * - bytes read are each file's pattern or zeros;
 * - after the client, the global and the display are destroyed: no fd,
 *   mapping or retired generation left behind.
 *
 * Input format (a missing byte reads as 0):
 *   byte 0: bits 0-1 fault policy (disconnect, zeros, revalidate,
 *           disconnect); bit 2 a small client budget (3 pools, 256 KiB,
 *           2 generations); bit 3 advertise XBGR8888, RGB888 and RGB565
 *           too (and DRM's code of ARGB8888); bit 4 drop held buffer
 *           references only after the display is destroyed; bit 5 destroy
 *           the global after the display; bit 6 a process-wide bound of
 *           one more mapping than are in use (two with bit 7).
 *   byte 1: number of files (% (MAX_FILES + 1)), then per file its kind
 *           (% FILE_KIND_COUNT) and its size (file_size_of()).
 *   then operations: one opcode byte (% OP_COUNT), then its arguments, as
 *   decoded by the run_*() function of each operation below. OP_SEND
 *   carries the raw wire bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include "shmguard/shmguard.h"
#include "shmguard/wayland.h"

#include "src/budget.h"

#include "fuzz-support.h"
#include "fuzz.h"

#define PAGE 4096u
#define MAX_FILES 6
#define MAX_FILE_BYTES (32u * PAGE + 1000u)
#define MAX_OPERATIONS 64
#define MAX_SEND 4096u
#define MAX_HELD 8
#define MAX_BUFFERS 16
/* Rounds of dispatching after a write before the display must be idle. */
#define MAX_SERVE_ROUNDS 64
/* The ids the prefix binds. */
#define REGISTRY_ID 2u
#define SHM_ID 3u
/* Request opcodes (wayland.xml; the server header names only events). */
#define DISPLAY_GET_REGISTRY 1u
#define REGISTRY_BIND 0u

/* The name failures are reported with, and the memfds are given. */
#define TARGET "fuzz-wire"
#define CHECK(condition, ...) FUZZ_CHECK(TARGET, condition, __VA_ARGS__)

_Static_assert(MAX_FILE_BYTES <= FUZZ_PATTERN_BYTES, "files longer than the pattern");

enum file_kind {
	FILE_MEMFD,
	FILE_MEMFD_SHRINK_SEALED,
	FILE_MEMFD_WRITE_SEALED,
	FILE_MEMFD_READ_ONLY,
	FILE_MEMFD_WRITE_ONLY,
	FILE_TMPFILE,
	FILE_PIPE,
	FILE_DEV_NULL,
	FILE_UNIX_SOCKET,
	FILE_DIRECTORY,
	FILE_EVENTFD,
	FILE_KIND_COUNT,
};

struct wire_file {
	/* What is sent to the server. */
	int fd;
	/* Ours, to truncate and grow the file; -1 for what is no file. May
	 * equal fd. */
	int resize_fd;
};

struct wire_state {
	struct fuzz_input input;
	uint8_t config;

	struct wl_display *display;
	struct wl_event_loop *loop;
	struct shmguard_shm *shm;
	enum shmguard_fault_policy policy;
	pthread_t display_thread;
	/* A process-wide mapping bound was set for this input. */
	bool bounded_mappings;

	/* The client; NULL once the server destroyed it. */
	struct wl_client *client;
	struct wl_listener client_destroy;
	int server_fd; /* owned by the wl_client */
	int client_fd; /* our end; -1 once disconnected */
	/* Events from the server, parsed as they come. */
	uint8_t events[8192];
	size_t events_length;
	/* The last OP_SEND asked not to serve the display after it. */
	bool defer_serve;

	struct wire_file files[MAX_FILES];
	unsigned file_count;
	/* A file was cut shorter: only then may anything fault. */
	bool shrunk;

	struct shmguard_buffer *held[MAX_HELD];
	unsigned held_count;
};

/* fuzz_pattern_table(), from the first input on. */
static const uint8_t *pattern;
static uint8_t scratch[MAX_FILE_BYTES];
/* FUZZ_WIRE_TRACE=1 in the environment: print each operation. */
static bool trace;

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

/* A file size: bits 0-4 pages, bit 5 a partial page more. */
static uint64_t
file_size_of(uint8_t byte)
{
	return (uint64_t)(byte & 0x1f) * PAGE + (byte & 0x20 ? 1000u : 0u);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

static void
file_create(struct wire_file *file, enum file_kind kind, uint64_t size)
{
	*file = (struct wire_file){.fd = -1, .resize_fd = -1};
	switch (kind) {
	case FILE_MEMFD:
		file->fd = file->resize_fd = fuzz_memfd_create(TARGET, size, 0);
		break;
	case FILE_MEMFD_SHRINK_SEALED:
		/* The sealed strategy: no truncation can reach the pool. */
		file->fd = file->resize_fd = fuzz_memfd_create(TARGET, size, MFD_ALLOW_SEALING);
		CHECK(fcntl(file->fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0, "F_SEAL_SHRINK");
		break;
	case FILE_MEMFD_WRITE_SEALED:
		/* Shown, never written to. */
		file->fd = file->resize_fd = fuzz_memfd_create(TARGET, size, MFD_ALLOW_SEALING);
		CHECK(fcntl(file->fd, F_ADD_SEALS, F_SEAL_WRITE) == 0, "F_SEAL_WRITE");
		break;
	case FILE_MEMFD_READ_ONLY:
		file->resize_fd = fuzz_memfd_create(TARGET, size, 0);
		file->fd = fuzz_reopen(TARGET, file->resize_fd, O_RDONLY);
		break;
	case FILE_MEMFD_WRITE_ONLY:
		file->resize_fd = fuzz_memfd_create(TARGET, size, 0);
		file->fd = fuzz_reopen(TARGET, file->resize_fd, O_WRONLY);
		break;
	case FILE_TMPFILE:
		/* A disk file where /tmp is one. */
		file->fd = file->resize_fd = fuzz_tmpfile_create(TARGET, size);
		break;
	case FILE_PIPE:
		file->fd = fuzz_pipe_create(TARGET);
		break;
	case FILE_DEV_NULL:
		file->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		break;
	case FILE_UNIX_SOCKET:
		file->fd = fuzz_socket_create(TARGET);
		break;
	case FILE_DIRECTORY:
		file->fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		break;
	case FILE_EVENTFD:
		file->fd = eventfd(0, EFD_CLOEXEC);
		break;
	case FILE_KIND_COUNT:
		break;
	}
	CHECK(file->fd >= 0, "making a file of kind %d: %s", (int)kind, strerror(errno));
}

static void
file_close(struct wire_file *file)
{
	if (file->resize_fd >= 0 && file->resize_fd != file->fd) {
		close(file->resize_fd);
	}
	close(file->fd);
	file->fd = file->resize_fd = -1;
}

/* ------------------------------------------------------------------ */
/* The client's end of the socket                                      */
/* ------------------------------------------------------------------ */

static uint32_t
event_u32(const uint8_t *at)
{
	uint32_t value;
	memcpy(&value, at, sizeof(value));
	return value;
}

/* Check the events received so far, keep a partial one for later. */
static void
parse_events(struct wire_state *s)
{
	size_t at = 0;
	while (s->events_length - at >= 8) {
		uint32_t object = event_u32(s->events + at);
		uint32_t size = event_u32(s->events + at + 4) >> 16;
		uint32_t opcode = event_u32(s->events + at + 4) & 0xffff;
		CHECK(size >= 8 && size % 4 == 0 && size <= sizeof(s->events),
			"the server sent an event of %u bytes", size);
		if (s->events_length - at < size) {
			break;
		}
		/* wl_display.error(object, code, message) */
		if (object == 1 && opcode == WL_DISPLAY_ERROR && size >= 20) {
			uint32_t target = event_u32(s->events + at + 8);
			uint32_t code = event_u32(s->events + at + 12);
			const char *message = (const char *)s->events + at + 20;
			size_t room = size - 20;
			if (trace) {
				fprintf(stderr, "fuzz-wire: error %u on object %u: %.*s\n", code,
					target, (int)strnlen(message, room), message);
			}
			CHECK(target != 1 || code != WL_DISPLAY_ERROR_NO_MEMORY,
				"the server ran out of memory: %.*s", (int)strnlen(message, room),
				message);
		}
		at += size;
	}
	memmove(s->events, s->events + at, s->events_length - at);
	s->events_length -= at;
}

/* Read what the server sent (it must not block on a full socket). */
static void
drain_events(struct wire_state *s)
{
	while (s->client_fd >= 0) {
		char control[CMSG_SPACE(28 * sizeof(int))];
		struct iovec iov = {
			.iov_base = s->events + s->events_length,
			.iov_len = sizeof(s->events) - s->events_length,
		};
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control,
			.msg_controllen = sizeof(control),
		};
		ssize_t n = recvmsg(s->client_fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n <= 0) {
			return;
		}
		/* wl_shm's events carry no fds; close any all the same. */
		for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
			cmsg = CMSG_NXTHDR(&msg, cmsg)) {
			if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
				size_t count = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
				for (size_t i = 0; i < count; i++) {
					int fd;
					memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(fd));
					close(fd);
				}
			}
		}
		s->events_length += (size_t)n;
		parse_events(s);
	}
}

static bool
server_has_work(const struct wire_state *s)
{
	if (s->client == NULL) {
		return false;
	}
	struct pollfd pfd = {.fd = s->server_fd, .events = POLLIN};
	return poll(&pfd, 1, 0) > 0;
}

/* Dispatch until the server has read everything it can. */
static void
serve(struct wire_state *s)
{
	for (unsigned round = 0; round < MAX_SERVE_ROUNDS; round++) {
		wl_event_loop_dispatch(s->loop, 0);
		wl_display_flush_clients(s->display);
		drain_events(s);
		if (!server_has_work(s)) {
			return;
		}
	}
	CHECK(!server_has_work(s), "the display is still busy after %u rounds", MAX_SERVE_ROUNDS);
}

/* Write @p length bytes to the server, @p fds (count @p fd_count) with the
 * first of them. Gives up (the rest is lost) once the server disconnected
 * the client; while it is connected, the server must keep reading. */
static void
send_bytes(struct wire_state *s, const uint8_t *bytes, size_t length, const int *fds,
	unsigned fd_count)
{
	char control[CMSG_SPACE(4 * sizeof(int))];
	unsigned full = 0;
	while (length > 0 && s->client_fd >= 0) {
		struct iovec iov = {.iov_base = (void *)bytes, .iov_len = length};
		struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
		if (fd_count > 0) {
			memset(control, 0, sizeof(control));
			msg.msg_control = control;
			msg.msg_controllen = CMSG_SPACE(fd_count * sizeof(int));
			struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
			cmsg->cmsg_level = SOL_SOCKET;
			cmsg->cmsg_type = SCM_RIGHTS;
			cmsg->cmsg_len = CMSG_LEN(fd_count * sizeof(int));
			memcpy(CMSG_DATA(cmsg), fds, fd_count * sizeof(int));
		}
		ssize_t n = sendmsg(s->client_fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0 && errno == EAGAIN && s->client != NULL) {
			CHECK(++full < MAX_SERVE_ROUNDS, "the server stopped reading the client");
			serve(s);
			continue;
		}
		if (n <= 0) {
			return;
		}
		/* The fds went with the first byte. */
		fd_count = 0;
		bytes += n;
		length -= (size_t)n;
	}
}

static void
handle_client_destroy(struct wl_listener *listener, void *data)
{
	struct wire_state *s = wl_container_of(listener, s, client_destroy);
	wl_list_remove(&s->client_destroy.link);
	s->client = NULL;
	s->server_fd = -1;
}

/* wl_display.get_registry(2); wl_registry.bind(1, "wl_shm", 1, 3). The
 * wl_shm global is the display's only one: its name is 1. Words: object,
 * size << 16 | opcode, then the arguments; the interface name is a
 * length (with its NUL) and the string padded to 8 bytes, filled in by
 * connect_client() at PREFIX_NAME_WORD. */
#define PREFIX_NAME_WORD 7
/* One message a line. */
/* clang-format off */
static const uint32_t prefix[] = {
	1, 12u << 16 | DISPLAY_GET_REGISTRY, REGISTRY_ID,
	REGISTRY_ID, 32u << 16 | REGISTRY_BIND, 1, 7, 0, 0, 1, SHM_ID,
};
/* clang-format on */

static void
connect_client(struct wire_state *s)
{
	int fds[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0, "socketpair");
	s->client_fd = fds[0];
	s->server_fd = fds[1];
	s->client = wl_client_create(s->display, s->server_fd);
	CHECK(s->client != NULL, "wl_client_create");
	s->client_destroy.notify = handle_client_destroy;
	wl_client_add_destroy_listener(s->client, &s->client_destroy);

	uint8_t bytes[sizeof(prefix)];
	memcpy(bytes, prefix, sizeof(prefix));
	memcpy(bytes + PREFIX_NAME_WORD * 4, "wl_shm", 7);
	send_bytes(s, bytes, sizeof(bytes), NULL, 0);
	serve(s);
	struct wl_resource *shm =
		s->client != NULL ? wl_client_get_object(s->client, SHM_ID) : NULL;
	CHECK(shm != NULL && strcmp(wl_resource_get_class(shm), "wl_shm") == 0,
		"the prefix did not bind wl_shm as object %u", SHM_ID);
}

/* ------------------------------------------------------------------ */
/* Buffers, as a compositor uses them                                  */
/* ------------------------------------------------------------------ */

/* OP_ACCESS's first byte. */
enum access_how {
	ACCESS_WRITE = 1 << 0,
	ACCESS_COPY = 1 << 1, /* guarded copies, else windows */
	ACCESS_NEST = 1 << 2, /* windows open at once; copies outside */
	ACCESS_CLIENT_ONLY = 1 << 3, /* not the held buffers */
	ACCESS_SERVE = 1 << 4, /* dispatch while the windows are open */
	ACCESS_THREAD = 1 << 5, /* on another thread */
	ACCESS_NO_REPORT = 1 << 6, /* end windows without a report */
};

struct buffer_list {
	struct shmguard_buffer *buffers[MAX_BUFFERS];
	unsigned count;
};

static void
buffer_list_add(struct buffer_list *list, struct shmguard_buffer *buffer)
{
	for (unsigned i = 0; i < list->count; i++) {
		if (list->buffers[i] == buffer) {
			return;
		}
	}
	if (list->count < MAX_BUFFERS) {
		list->buffers[list->count++] = buffer;
	}
}

static enum wl_iterator_result
collect_buffer(struct wl_resource *resource, void *user_data)
{
	struct shmguard_buffer *buffer = shmguard_buffer_from_resource(resource);
	if (buffer != NULL) {
		buffer_list_add(user_data, buffer);
	}
	return WL_ITERATOR_CONTINUE;
}

/* The client's live buffers, then the ones we hold. */
static void
collect_buffers(struct wire_state *s, struct buffer_list *list, bool held_too)
{
	list->count = 0;
	if (s->client != NULL) {
		wl_client_for_each_resource(s->client, collect_buffer, list);
	}
	for (unsigned i = 0; held_too && i < s->held_count; i++) {
		buffer_list_add(list, s->held[i]);
	}
}

static uint64_t
buffer_row_bytes(const struct shmguard_buffer *buffer)
{
	const struct shmguard_format_info *info =
		shmguard_format_get_info(shmguard_buffer_get_format(buffer));
	CHECK(info != NULL, "a buffer of format %#x, not in the table",
		shmguard_buffer_get_format(buffer));
	return (uint64_t)shmguard_buffer_get_width(buffer) * info->bytes_per_pixel;
}

/* Bytes of the buffer from its first pixel to the end of its last row. */
static uint64_t
buffer_span(const struct shmguard_buffer *buffer)
{
	return (uint64_t)shmguard_buffer_get_stride(buffer) *
		(uint64_t)(shmguard_buffer_get_height(buffer) - 1) +
		buffer_row_bytes(buffer);
}

/* Bytes read at pool offset @p offset: the pattern, or zeros. */
static void
check_bytes(const uint8_t *bytes, uint64_t offset, size_t length, const char *what)
{
	CHECK(offset + length <= MAX_FILE_BYTES, "%s: %zu bytes at %llu, past any file", what,
		length, (unsigned long long)offset);
	if (memcmp(bytes, pattern + offset, length) == 0) {
		return;
	}
	for (size_t i = 0; i < length; i++) {
		CHECK(bytes[i] == 0 || bytes[i] == pattern[offset + i],
			"%s: byte at %llu is %#x, not %#x or 0", what,
			(unsigned long long)(offset + i), bytes[i], pattern[offset + i]);
	}
}

static void
check_report(const struct wire_state *s, const struct shmguard_buffer *buffer,
	const struct shmguard_fault_report *report, const char *what)
{
	uint64_t pool_size = shmguard_pool_get_size(shmguard_buffer_get_pool(buffer));
	CHECK(s->shrunk, "%s: a fault at %llu, and no file was ever cut", what,
		(unsigned long long)report->offset);
	CHECK(report->kind == SHMGUARD_FAULT_TRUNCATED, "%s: fault kind %s, expected truncated",
		what, shmguard_fault_kind_to_str(report->kind));
	CHECK(report->file_size <= report->offset,
		"%s: 'truncated' at %llu with a file of %llu bytes", what,
		(unsigned long long)report->offset, (unsigned long long)report->file_size);
	CHECK(report->offset < pool_size, "%s: fault at %llu of a pool of %llu bytes", what,
		(unsigned long long)report->offset, (unsigned long long)pool_size);
}

/* Read (and for WRITE, first write the pattern into) every row. */
static void
window_touch(struct shmguard_buffer *buffer, uint8_t *data, enum shmguard_access_mode mode)
{
	uint64_t offset = shmguard_buffer_get_offset(buffer);
	uint64_t stride = (uint64_t)shmguard_buffer_get_stride(buffer);
	size_t row_bytes = (size_t)buffer_row_bytes(buffer);
	for (int32_t row = 0; row < shmguard_buffer_get_height(buffer); row++) {
		uint64_t at = offset + (uint64_t)row * stride;
		uint8_t *pixels = data + (uint64_t)row * stride;
		CHECK(at + row_bytes <= MAX_FILE_BYTES, "row %d ends past any file", row);
		if (mode == SHMGUARD_ACCESS_WRITE) {
			memcpy(pixels, pattern + at, row_bytes);
		}
		memcpy(scratch, pixels, row_bytes);
		check_bytes(scratch, at, row_bytes, "window");
	}
}

static void
window_end(struct wire_state *s, struct shmguard_buffer *buffer, unsigned how)
{
	if (how & ACCESS_NO_REPORT) {
		shmguard_buffer_end_access(buffer, NULL);
		return;
	}
	struct shmguard_fault_report report;
	if (shmguard_buffer_end_access(buffer, &report)) {
		check_report(s, buffer, &report, "end_access");
	} else {
		CHECK(report.kind == SHMGUARD_FAULT_NONE, "no fault, but a report of kind %s",
			shmguard_fault_kind_to_str(report.kind));
	}
}

/* Open a window on each buffer (all at once with ACCESS_NEST), touch,
 * close. With ACCESS_SERVE the display is served while a window is open,
 * as when another thread renders while the display thread dispatches:
 * requests queued by a deferred OP_SEND (a resize, a destroy) then run
 * under the window, and the window's bytes must stay readable. */
static void
access_windows(struct wire_state *s, const struct buffer_list *list, enum shmguard_access_mode mode,
	unsigned how)
{
	bool nest = how & ACCESS_NEST;
	bool serve_inside = (how & ACCESS_SERVE) && !(how & ACCESS_THREAD);
	void *data[MAX_BUFFERS] = {NULL};
	bool open[MAX_BUFFERS] = {false};
	for (unsigned i = 0; i < list->count; i++) {
		struct shmguard_buffer *buffer = list->buffers[i];
		int ret = shmguard_buffer_begin_access(buffer, mode, &data[i]);
		if (mode == SHMGUARD_ACCESS_READ) {
			CHECK(ret == 0, "a read window refused: %d", ret);
		} else {
			CHECK(ret == 0 || ret == -EACCES || ret == -EPERM || ret == -ENOSPC,
				"a write window refused: %d", ret);
			enum shmguard_pool_error reason;
			bool allowed = shmguard_buffer_allows(buffer, mode, &reason);
			CHECK(ret != -EACCES ||
					(!allowed && reason == SHMGUARD_POOL_ERROR_READ_ONLY_FD),
				"-EACCES, and the buffer allows writes or says %s",
				shmguard_pool_error_to_str(reason));
			CHECK(ret != -EPERM ||
					(!allowed && reason == SHMGUARD_POOL_ERROR_WRITE_SEALED),
				"-EPERM, and the buffer allows writes or says %s",
				shmguard_pool_error_to_str(reason));
		}
		if (ret != 0) {
			continue;
		}
		window_touch(buffer, data[i], mode);
		open[i] = true;
		if (!nest) {
			if (serve_inside) {
				serve(s);
				window_touch(buffer, data[i], SHMGUARD_ACCESS_READ);
			}
			window_end(s, buffer, how);
			open[i] = false;
		}
	}
	if (nest && serve_inside) {
		serve(s);
		for (unsigned i = 0; i < list->count; i++) {
			if (open[i]) {
				window_touch(list->buffers[i], data[i], SHMGUARD_ACCESS_READ);
			}
		}
	}
	/* Other buffers' windows end in any order; oldest first here. */
	for (unsigned i = 0; i < list->count; i++) {
		if (open[i]) {
			window_end(s, list->buffers[i], how);
		}
	}
}

/* A guarded copy of a range of each buffer: @p selector picks it. */
static void
access_copies(struct wire_state *s, const struct buffer_list *list, enum shmguard_access_mode mode,
	uint16_t selector, bool outside)
{
	for (unsigned i = 0; i < list->count; i++) {
		struct shmguard_buffer *buffer = list->buffers[i];
		uint64_t span = buffer_span(buffer);
		uint64_t offset, length;
		if (outside) {
			offset = span - selector % 2;
			length = 1 + selector % 3;
		} else {
			offset = selector % (span + 1);
			length = (uint64_t)(selector * 31u) % (span - offset + 1);
		}
		bool in_range = offset <= span && length <= span - offset;
		uint64_t at = shmguard_buffer_get_offset(buffer) + offset;
		struct shmguard_fault_report report;
		int ret;
		if (mode == SHMGUARD_ACCESS_WRITE) {
			const uint8_t *source = in_range ? pattern + at : NULL;
			ret = shmguard_buffer_write(
				buffer, offset, source, (size_t)length, &report);
		} else {
			ret = shmguard_buffer_read(
				buffer, offset, scratch, (size_t)length, &report);
		}
		if (!in_range) {
			CHECK(ret == -ERANGE,
				"a copy of %llu bytes at %llu of a %llu-byte buffer: %d",
				(unsigned long long)length, (unsigned long long)offset,
				(unsigned long long)span, ret);
			continue;
		}
		if (ret == -EFAULT) {
			check_report(s, buffer, &report, "guarded copy");
			continue;
		}
		if (mode == SHMGUARD_ACCESS_WRITE) {
			CHECK(ret == 0 || ret == -EACCES || ret == -EPERM || ret == -ENOSPC,
				"a guarded write: %d", ret);
		} else {
			CHECK(ret == 0, "a guarded read: %d", ret);
			check_bytes(scratch, at, (size_t)length, "guarded read");
		}
	}
}

struct access_job {
	struct wire_state *s;
	struct buffer_list list;
	enum shmguard_access_mode mode;
	unsigned how;
	uint16_t selector;
};

static void
access_run(struct access_job *job)
{
	if (job->how & ACCESS_COPY) {
		access_copies(job->s, &job->list, job->mode, job->selector, job->how & ACCESS_NEST);
	} else {
		access_windows(job->s, &job->list, job->mode, job->how);
	}
}

static void *
access_thread(void *data)
{
	access_run(data);
	return NULL;
}

static void
record_fault(const struct shmguard_fault_event *event, void *user_data)
{
	struct wire_state *s = user_data;
	CHECK(pthread_equal(pthread_self(), s->display_thread),
		"the fault handler ran off the display thread");
	check_report(s, event->buffer, event->report, "fault handler");
	enum shmguard_fault_action expected = SHMGUARD_FAULT_ACTION_CLIENT_GONE;
	if (event->client != NULL) {
		switch (s->policy) {
		case SHMGUARD_FAULT_POLICY_ZEROS:
			expected = SHMGUARD_FAULT_ACTION_ZEROS;
			break;
		case SHMGUARD_FAULT_POLICY_REVALIDATE:
			expected = SHMGUARD_FAULT_ACTION_REVALIDATE;
			break;
		case SHMGUARD_FAULT_POLICY_DISCONNECT:
			expected = SHMGUARD_FAULT_ACTION_DISCONNECTED;
			break;
		}
	}
	CHECK(event->action == expected, "fault action %s under policy %s",
		shmguard_fault_action_to_str(event->action),
		shmguard_fault_policy_to_str(s->policy));
	CHECK(event->client == NULL || event->client == s->client,
		"a fault event for a client we do not know");
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */
/* ------------------------------------------------------------------ */

/* OP_SEND length(u16) fds(count in bits 0-1, bit 2: do not serve the
 * display after this write; then a file byte per fd) bytes...: raw wire
 * data, the fds with its first byte. */
static void
run_send(struct wire_state *s)
{
	size_t length = fuzz_input_u16(&s->input) % (MAX_SEND + 1);
	uint8_t fd_byte = fuzz_input_u8(&s->input);
	unsigned fd_count = fd_byte & 3;
	s->defer_serve = fd_byte & 4;
	int fds[4];
	for (unsigned i = 0; i < fd_count; i++) {
		uint8_t file = fuzz_input_u8(&s->input);
		if (s->file_count == 0) {
			fd_count = 0;
			break;
		}
		fds[i] = s->files[file % s->file_count].fd;
	}
	if (length > s->input.size - s->input.position) {
		length = s->input.size - s->input.position;
	}
	const uint8_t *bytes = s->input.bytes + s->input.position;
	s->input.position += length;
	/* SCM_RIGHTS needs at least one byte to travel with. */
	if (length > 0) {
		send_bytes(s, bytes, length, fds, fd_count);
	}
}

/* OP_TRUNCATE file size(bit 7: fill a grown part with the pattern) */
static void
run_truncate(struct wire_state *s)
{
	uint8_t file_byte = fuzz_input_u8(&s->input);
	uint8_t size_byte = fuzz_input_u8(&s->input);
	if (s->file_count == 0) {
		return;
	}
	struct wire_file *file = &s->files[file_byte % s->file_count];
	if (file->resize_fd < 0) {
		return;
	}
	struct stat st;
	CHECK(fstat(file->resize_fd, &st) == 0, "fstat");
	uint64_t old_size = (uint64_t)st.st_size;
	uint64_t size = file_size_of(size_byte);
	if (ftruncate(file->resize_fd, (off_t)size) != 0) {
		return; /* sealed */
	}
	if (size < old_size) {
		s->shrunk = true;
	} else if (size_byte & 0x80) {
		fuzz_pattern_fill(file->resize_fd, old_size, size); /* may be write-sealed */
	}
}

/* OP_ACCESS how selector(u16): how is a set of enum access_how; the
 * selector picks the range of guarded copies. Each buffer is referenced
 * for the duration, as a compositor must to use it off the display
 * thread or across a dispatch. */
static void
run_access(struct wire_state *s)
{
	struct access_job job = {.s = s};
	job.how = fuzz_input_u8(&s->input);
	job.selector = fuzz_input_u16(&s->input);
	job.mode = job.how & ACCESS_WRITE ? SHMGUARD_ACCESS_WRITE : SHMGUARD_ACCESS_READ;
	collect_buffers(s, &job.list, !(job.how & ACCESS_CLIENT_ONLY));
	if (trace) {
		fprintf(stderr, "fuzz-wire: %s %s on %u buffers%s\n",
			job.how & ACCESS_COPY ? "guarded copies" : "windows",
			shmguard_access_mode_to_str(job.mode), job.list.count,
			job.how & ACCESS_THREAD ? ", on another thread" : "");
	}
	for (unsigned i = 0; i < job.list.count; i++) {
		shmguard_buffer_ref(job.list.buffers[i]);
	}
	if (job.how & ACCESS_THREAD) {
		pthread_t thread;
		CHECK(pthread_create(&thread, NULL, access_thread, &job) == 0, "pthread_create");
		CHECK(pthread_join(thread, NULL) == 0, "pthread_join");
	} else {
		access_run(&job);
	}
	for (unsigned i = 0; i < job.list.count; i++) {
		shmguard_buffer_unref(job.list.buffers[i]);
	}
}

/* OP_HOLD: a reference on each of the client's buffers, as a compositor
 * keeps a buffer it shows. */
static void
run_hold(struct wire_state *s)
{
	struct buffer_list list;
	collect_buffers(s, &list, false);
	for (unsigned i = 0; i < list.count && s->held_count < MAX_HELD; i++) {
		s->held[s->held_count++] = shmguard_buffer_ref(list.buffers[i]);
	}
}

/* OP_RELEASE: wl_buffer.release for each held buffer, and drop the
 * references, newest first. */
static void
run_release(struct wire_state *s)
{
	while (s->held_count > 0) {
		struct shmguard_buffer *buffer = s->held[--s->held_count];
		struct wl_resource *resource = shmguard_buffer_get_resource(buffer);
		CHECK(resource == NULL || shmguard_buffer_from_resource(resource) == buffer,
			"a buffer's resource leads to another buffer");
		struct wl_client *client = shmguard_buffer_get_client(buffer);
		CHECK(client == NULL || client == s->client, "a buffer of an unknown client");
		CHECK(resource == NULL || client != NULL, "a resource without its client");
		if (s->display != NULL) {
			shmguard_buffer_send_release(buffer);
		}
		shmguard_buffer_unref(buffer);
	}
}

/* OP_DISCONNECT: the client closes its socket. */
static void
run_disconnect(struct wire_state *s)
{
	if (s->client_fd >= 0) {
		close(s->client_fd);
		s->client_fd = -1;
	}
}

/* OP_POLICY policy: the compositor changes the fault policy. */
static void
run_policy(struct wire_state *s)
{
	s->policy = (enum shmguard_fault_policy)(fuzz_input_u8(&s->input) % 3);
	shmguard_shm_set_fault_policy(s->shm, s->policy);
}

enum operation {
	OP_SEND,
	OP_TRUNCATE,
	OP_ACCESS,
	OP_HOLD,
	OP_RELEASE,
	OP_DISCONNECT,
	OP_POLICY,
	OP_COUNT,
};

static const char *const operation_names[OP_COUNT] = {
	[OP_SEND] = "send",
	[OP_TRUNCATE] = "truncate",
	[OP_ACCESS] = "access",
	[OP_HOLD] = "hold",
	[OP_RELEASE] = "release",
	[OP_DISCONNECT] = "disconnect",
	[OP_POLICY] = "policy",
};

static void (*const operations[OP_COUNT])(struct wire_state *s) = {
	[OP_SEND] = run_send,
	[OP_TRUNCATE] = run_truncate,
	[OP_ACCESS] = run_access,
	[OP_HOLD] = run_hold,
	[OP_RELEASE] = run_release,
	[OP_DISCONNECT] = run_disconnect,
	[OP_POLICY] = run_policy,
};

/* ------------------------------------------------------------------ */
/* One input                                                           */
/* ------------------------------------------------------------------ */

/* libwayland's own messages would only repeat the errors sent. */
static void
quiet_wayland_log(const char *format, va_list args)
{
}

static void
quiet_library_log(enum shmguard_log_level level, const char *format, va_list args, void *data)
	__attribute__((format(printf, 2, 0)));

/* The library's messages, formatted (their arguments come from the
 * client) and dropped. */
static void
quiet_library_log(enum shmguard_log_level level, const char *format, va_list args, void *data)
{
	char line[512];
	vsnprintf(line, sizeof(line), format, args);
	if (trace) {
		fprintf(stderr, "fuzz-wire: [%s] %s\n", shmguard_log_level_to_str(level), line);
	}
}

#define FORMAT_CODE(a, b, c, d)                                                                    \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

static void
configure(struct wire_state *s)
{
	static const uint32_t extra_formats[] = {
		FORMAT_CODE('X', 'B', '2', '4'),
		FORMAT_CODE('R', 'G', '2', '4'),
		FORMAT_CODE('R', 'G', '1', '6'),
		/* DRM's code for ARGB8888: accepted, the same as 0. */
		FORMAT_CODE('A', 'R', '2', '4'),
	};
	s->config = fuzz_input_u8(&s->input);
	s->policy = (enum shmguard_fault_policy)(s->config & 3);
	if (s->policy > SHMGUARD_FAULT_POLICY_REVALIDATE) {
		s->policy = SHMGUARD_FAULT_POLICY_DISCONNECT;
	}
	struct shmguard_shm_options options = {
		.fault_policy = s->policy,
		.fault_handler = record_fault,
		.fault_user_data = s,
	};
	if (s->config & 4) {
		options.client_limits = (struct shmguard_budget_limits){
			.max_pools = 3,
			.max_mapped_bytes = 256u * 1024,
			.max_generations_per_pool = 2,
		};
	}
	if (s->config & 8) {
		options.formats = extra_formats;
		options.formats_len = sizeof(extra_formats) / sizeof(extra_formats[0]);
	}
	if (s->config & 0x40) {
		/* Room for one or two more mappings in the whole process. */
		shmguard_set_max_mappings(budget_mappings_in_use() + 1 + (s->config >> 7));
		s->bounded_mappings = true;
	}
	s->display_thread = pthread_self();
	s->display = wl_display_create();
	CHECK(s->display != NULL, "wl_display_create");
	s->loop = wl_display_get_event_loop(s->display);
	s->shm = shmguard_shm_create(s->display, &options);
	CHECK(s->shm != NULL, "shmguard_shm_create: %s", strerror(errno));

	s->file_count = fuzz_input_u8(&s->input) % (MAX_FILES + 1);
	for (unsigned i = 0; i < s->file_count; i++) {
		enum file_kind kind = (enum file_kind)(fuzz_input_u8(&s->input) % FILE_KIND_COUNT);
		file_create(&s->files[i], kind, file_size_of(fuzz_input_u8(&s->input)));
	}
}

/* Tear down in the orders a compositor may: the client first, then the
 * global and the display in either order, held buffers before or after. */
static void
finish(struct wire_state *s)
{
	bool release_last = s->config & 0x10;
	bool global_last = s->config & 0x20;
	if (!release_last) {
		run_release(s);
	}
	wl_display_destroy_clients(s->display);
	CHECK(s->client == NULL, "wl_display_destroy_clients left the client");
	if (s->client_fd >= 0) {
		close(s->client_fd);
		s->client_fd = -1;
	}
	if (!global_last) {
		shmguard_shm_destroy(s->shm);
	}
	wl_display_destroy(s->display);
	if (global_last) {
		shmguard_shm_destroy(s->shm);
	}
	if (release_last) {
		s->display = NULL;
		run_release(s);
	}
	for (unsigned i = 0; i < s->file_count; i++) {
		file_close(&s->files[i]);
	}
	if (s->bounded_mappings) {
		shmguard_set_max_mappings(0); /* the library's default */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	if (!initialised) {
		pattern = fuzz_pattern_table();
		/* What the library does once per process, before counting. */
		shmguard_probe();
		wl_log_set_handler_server(quiet_wayland_log);
		shmguard_log_set_handler(quiet_library_log, NULL);
		shmguard_log_set_level(SHMGUARD_LOG_DEBUG);
		const char *env = getenv("FUZZ_WIRE_TRACE");
		trace = env != NULL && env[0] == '1';
		initialised = true;
	}

	struct fuzz_resources before;
	fuzz_resources_count(TARGET, &before);
	static struct wire_state s;
	memset(&s, 0, sizeof(s));
	s.input = (struct fuzz_input){.bytes = data, .size = size};
	s.client_fd = s.server_fd = -1;
	configure(&s);
	connect_client(&s);
	for (unsigned n = 0; n < MAX_OPERATIONS && s.input.position < s.input.size; n++) {
		size_t at = s.input.position;
		enum operation operation = (enum operation)(fuzz_input_u8(&s.input) % OP_COUNT);
		operations[operation](&s);
		if (trace) {
			fprintf(stderr, "fuzz-wire: %s (%zu bytes)%s\n", operation_names[operation],
				s.input.position - at - 1, s.client == NULL ? ", client gone" : "");
		}
		if (!s.defer_serve) {
			serve(&s);
		}
		s.defer_serve = false;
	}
	finish(&s);

	fuzz_resources_check(TARGET, &before);
	return 0;
}

/*
 * client-demo: Wayland clients that exercise a compositor's wl_shm, a
 * well-behaved one, a malicious one and a screen capture. What the modes
 * share on top of demo-client-support (client.h).
 */
#ifndef CLIENT_DEMO_DEMO_H
#define CLIENT_DEMO_DEMO_H

#include <stdbool.h>
#include <stdint.h>

#include <wayland-client.h>

#include "client.h"

/*
 * Exit statuses, stable so that tests can assert on them. The same number
 * means the same outcome in every mode.
 */
enum demo_exit {
	/* Done as asked (truncate: disconnected with wl_shm.invalid_fd). */
	DEMO_EXIT_OK = 0,
	/* A failure of our own: no compositor, a missing global, no memory. */
	DEMO_EXIT_FAILURE = 1,
	/* Bad command line. */
	DEMO_EXIT_USAGE = 2,
	/* Disconnected with a protocol error (truncate: not invalid_fd). */
	DEMO_EXIT_PROTOCOL_ERROR = 3,
	/* The connection broke without a protocol error: compositor gone. */
	DEMO_EXIT_CONNECTION_LOST = 4,
	/* truncate: the compositor kept us connected to the end. */
	DEMO_EXIT_STILL_CONNECTED = 5,
	/* capture: the compositor sent zwlr_screencopy_frame_v1.failed. */
	DEMO_EXIT_CAPTURE_FAILED = 6,
	/* fuse: the compositor stopped answering: it waits on our daemon. */
	DEMO_EXIT_NO_ANSWER = 7,
};

/* status.c: the steps of every mode, each ending in an exit status. */

/** What each exit status means, for --help and logs. */
const char *
demo_exit_to_str(enum demo_exit status);

/**
 * Connect to $WAYLAND_DISPLAY and wait for the globals and their first
 * events. Returns DEMO_EXIT_OK, or another status with a message printed.
 */
int
demo_connect(struct client *client, const char *name);

/**
 * After a failed dispatch or roundtrip: print what the compositor told us
 * (protocol error interface, object, code and message, or a lost
 * connection) and return DEMO_EXIT_PROTOCOL_ERROR, or DEMO_EXIT_OK when
 * the error is wl_shm.invalid_fd and @p invalid_fd_is_ok, or
 * DEMO_EXIT_CONNECTION_LOST.
 */
int
demo_report_disconnect(struct client *client, bool invalid_fd_is_ok);

/**
 * Create a toplevel titled @p title and wait up to 5 s for its first
 * configure. Returns DEMO_EXIT_OK, DEMO_EXIT_FAILURE when no configure
 * came, or what demo_report_disconnect() (given @p invalid_fd_is_ok)
 * makes of a failed connection.
 */
int
demo_window_open(struct client *client, struct client_window *window, const char *title,
	uint32_t width, uint32_t height, bool invalid_fd_is_ok);

/* pool.c: a wl_shm_pool over a memfd the client keeps, mapped read-write. */
struct demo_pool {
	int fd;
	uint64_t size;
	void *data; /* MAP_SHARED over the whole file, or MAP_FAILED */
	struct wl_shm_pool *wl_pool;
	bool sealed; /* F_SEAL_SHRINK set: the file can only grow */
};

/* How to create the file of a pool. */
enum demo_pool_kind {
	DEMO_POOL_UNSEALED = 0,
	/* F_SEAL_SHRINK: the compositor may skip its guard. */
	DEMO_POOL_SEALED,
	/* Sent to the compositor read-only (reopened O_RDONLY). */
	DEMO_POOL_READ_ONLY_FD,
	/* F_SEAL_WRITE: nobody may write it any more; mapped read-only. */
	DEMO_POOL_WRITE_SEALED,
};

/**
 * Create a pool of @p size bytes. Returns NULL with a message printed on
 * failure.
 */
struct demo_pool *
demo_pool_create(struct client *client, uint64_t size, enum demo_pool_kind kind);

/** Grow the file and the wl_shm_pool to @p new_size. Returns 0 or -errno. */
int
demo_pool_grow(struct demo_pool *pool, uint64_t new_size);

/** Destroy the wl_shm_pool, unmap, close. NULL is a no-op. */
void
demo_pool_destroy(struct demo_pool *pool);

/* png.c */

/** Write @p width x @p height XRGB/ARGB8888 pixels to @p path as a PNG. */
int
demo_png_write(const char *path, const void *pixels, uint32_t width, uint32_t height,
	uint32_t stride, uint32_t wl_shm_format, bool y_invert);

/* The modes; each returns an enum demo_exit. */
int
mode_good(int argc, char **argv);
int
mode_truncate(int argc, char **argv);
int
mode_capture(int argc, char **argv);
#ifdef CLIENT_DEMO_HAVE_FUSE
int
mode_fuse(int argc, char **argv);
#endif

#endif /* CLIENT_DEMO_DEMO_H */

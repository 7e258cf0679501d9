/*
 * hostile-client: a Wayland client that attacks a compositor's wl_shm, one
 * attack per run, and prints exactly what the compositor did about it.
 * It speaks only the Wayland protocol (libwayland-client).
 */
#ifndef HOSTILE_H
#define HOSTILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wayland-client.h>

#include "client.h"

/*
 * Exit statuses, stable so that tests can assert on them. Each names what
 * the client saw at the end of its attack.
 */
enum hostile_exit {
	/* The attack ran to its end; the compositor kept us connected and
	 * posted no error. */
	HOSTILE_EXIT_CONNECTED = 0,
	/* A failure on our side: no compositor, a missing global, no memory. */
	HOSTILE_EXIT_FAILURE = 1,
	/* Bad command line. */
	HOSTILE_EXIT_USAGE = 2,
	/* Disconnected with a protocol error (printed). */
	HOSTILE_EXIT_PROTOCOL_ERROR = 3,
	/* The connection broke without a protocol error: compositor gone. */
	HOSTILE_EXIT_CONNECTION_LOST = 4,
	/* No frame callback within the time limit, still connected. */
	HOSTILE_EXIT_TIMEOUT = 5,
	/* zwlr_screencopy_frame_v1.failed, and still connected after it. */
	HOSTILE_EXIT_CAPTURE_FAILED = 6,
};

/** What each exit status means ("protocol error", ...). */
const char *
hostile_exit_to_str(enum hostile_exit status);

/* The connection, with the globals an attack may use, and its time limits. */
struct hostile {
	struct client client;
	/* Every wait for the compositor is bounded by this. */
	int timeout_ms;
	/* How long hostile_finish() waits for a late error. */
	int settle_ms;
};

/* connection.c */

/** Connect to $WAYLAND_DISPLAY and bind the globals; 0 or an exit status. */
int
hostile_connect(struct hostile *hostile);

/**
 * A wl_display.sync round trip, bounded by the time limit. Returns 1, 0
 * (no answer in time) or -1 (the connection failed).
 */
int
hostile_roundtrip(struct hostile *hostile);

/**
 * After a failed dispatch: print the protocol error (interface, object id,
 * code, its name and the compositor's message) or the lost connection,
 * and return HOSTILE_EXIT_PROTOCOL_ERROR or HOSTILE_EXIT_CONNECTION_LOST.
 */
int
hostile_report_failure(struct hostile *hostile);

/**
 * The end of an attack: dispatch for the settle time; report an error if
 * one comes, else confirm with a round trip that we are still connected.
 * Returns an exit status.
 */
int
hostile_finish(struct hostile *hostile);

/** Print "created INTERFACE@ID" for @p proxy, so tests can match ids. */
void
hostile_print_created(void *proxy);

/* memory.c: the files we hand over. */

/** How the fd we send for a pool is made. */
enum hostile_fd_kind {
	/* A memfd, read-write: what every real client sends. */
	HOSTILE_FD_MEMFD = 0,
	/* The same memfd reopened O_RDONLY through /proc/self/fd. */
	HOSTILE_FD_READ_ONLY,
	/* A memfd sealed with F_SEAL_WRITE. */
	HOSTILE_FD_WRITE_SEALED,
	/* A memfd sealed with F_SEAL_FUTURE_WRITE. */
	HOSTILE_FD_FUTURE_WRITE_SEALED,
	/* A memfd sealed against shrinking and growing (safe to map). */
	HOSTILE_FD_SHRINK_SEALED,
	/* Not files at all. */
	HOSTILE_FD_PIPE,
	HOSTILE_FD_UNIX_SOCKET,
	HOSTILE_FD_TCP_SOCKET,
	HOSTILE_FD_DIRECTORY,
	HOSTILE_FD_DEV_NULL,
	HOSTILE_FD_DEV_ZERO,
	HOSTILE_FD_EVENTFD,
};

/** Parse "memfd", "read-only", "pipe", ...; false if unknown. */
bool
hostile_fd_kind_parse(const char *name, enum hostile_fd_kind *kind);

/** The name of @p kind, as parsed. */
const char *
hostile_fd_kind_to_str(enum hostile_fd_kind kind);

/**
 * A memfd of @p size bytes, every 32-bit word set to @p pixel (a pixel of
 * 0 leaves the file sparse). Returns the fd (close it), or -1 with a
 * message printed.
 */
int
hostile_memfd_create(struct hostile *hostile, uint64_t size, uint32_t pixel);

/**
 * The fd to send for a pool of kind @p kind. For the memfd kinds, @p memfd
 * is the file (borrowed) and the result is a new fd to the same file; for
 * the others @p memfd is unused. Returns -1 with a message printed.
 */
int
hostile_fd_open(enum hostile_fd_kind kind, int memfd);

/* window.c: an xdg toplevel (client.h's) that shows one buffer. */

/**
 * Create a toplevel and wait for its first configure. Returns 0, or an
 * exit status (the connection failed, or no configure came in time).
 */
int
hostile_window_create(struct hostile *hostile, struct client_window *window);

/**
 * Wait for the frame callback of the last commit: the compositor showed
 * the buffer. Returns 0, or an exit status (HOSTILE_EXIT_TIMEOUT,
 * or the connection failed).
 */
int
hostile_window_wait_frame(struct hostile *hostile, struct client_window *window);

/* capture.c: one zwlr_screencopy_frame_v1 (client.h's) of the first output. */

/**
 * Ask for a capture of the whole output and wait for the buffer the
 * compositor wants. Returns 0, or an exit status.
 */
int
hostile_capture_start(struct hostile *hostile, struct client_capture *capture);

/**
 * Copy into @p buffer and wait for ready or failed. Returns 0 (ready),
 * HOSTILE_EXIT_CAPTURE_FAILED (failed, and a round trip shows we are
 * still connected), or another exit status.
 */
int
hostile_capture_copy(
	struct hostile *hostile, struct client_capture *capture, struct wl_buffer *buffer);

/* attacks.c, capture.c, fuse.c, hugetlb.c, sealed.c */

/** One attack: its name, its arguments, and the function that runs it. */
struct hostile_attack {
	const char *name;
	const char *args; /* for usage, "" when none */
	const char *summary;
	int (*run)(struct hostile *hostile, int argc, char **argv);
};

/** The table of attacks, ended by an entry whose name is NULL. */
extern const struct hostile_attack hostile_attacks[];
extern const struct hostile_attack hostile_capture_attacks[];
extern const struct hostile_attack hostile_file_attacks[];
extern const struct hostile_attack hostile_hugetlb_attacks[];
extern const struct hostile_attack hostile_sealed_attacks[];

/* Shared by the attacks. */

/** Width and height of the buffers the attacks show, XRGB8888. */
#define HOSTILE_WIDTH 64
#define HOSTILE_HEIGHT 64
#define HOSTILE_STRIDE (HOSTILE_WIDTH * 4)
#define HOSTILE_BUFFER_SIZE (HOSTILE_STRIDE * HOSTILE_HEIGHT)

/** Parse a decimal or 0x integer that must fit in int64; false if not. */
bool
hostile_parse_int(const char *text, int64_t min, int64_t max, int64_t *value);

#endif /* HOSTILE_H */

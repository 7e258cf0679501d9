/*
 * client-demo: Wayland clients that exercise a compositor's wl_shm, a
 * well-behaved one, a malicious one and a screen capture. Shared pieces.
 */
#ifndef CLIENT_DEMO_CLIENT_H
#define CLIENT_DEMO_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pixman.h>
#include <wayland-client.h>

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
};

/** What each exit status means, for --help and logs. */
const char *demo_exit_to_str(enum demo_exit status);

/* The globals a mode may need; NULL when the compositor lacks one. */
struct client {
	const char *name; /* "good", "truncate", "capture": log prefix */
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wl_output *output;
	struct zxdg_output_manager_v1 *xdg_output_manager;
	struct zwlr_screencopy_manager_v1 *screencopy_manager;
	uint32_t screencopy_version;
	uint32_t shm_formats; /* bit n set: wl_shm format n (n < 32) seen */
};

/**
 * Connect to $WAYLAND_DISPLAY and bind the globals. Returns 0, or
 * DEMO_EXIT_FAILURE with a message printed.
 */
int client_connect(struct client *client, const char *name);

/** Destroy every bound global and disconnect. */
void client_disconnect(struct client *client);

/**
 * After a failed dispatch or roundtrip: print what the compositor told us
 * (protocol error interface, object, code and message, or a lost
 * connection) and return DEMO_EXIT_PROTOCOL_ERROR, or DEMO_EXIT_OK when
 * the error is wl_shm.invalid_fd and @p invalid_fd_is_ok, or
 * DEMO_EXIT_CONNECTION_LOST.
 */
int client_report_disconnect(struct client *client, bool invalid_fd_is_ok);

/**
 * Dispatch events for up to @p timeout_ms (negative: no limit), until
 * *@p done becomes true, or until a signal interrupts the wait. Returns 0,
 * or -1 when the connection failed (then call client_report_disconnect()).
 */
int client_dispatch_until(struct client *client, const bool *done, int timeout_ms);

/* An xdg toplevel. */
struct demo_window {
	struct client *client;
	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	uint32_t width, height; /* current size: configured, or the default */
	bool configured;
	bool closed; /* the compositor asked us to close */
};

/**
 * Create a toplevel titled @p title and wait for its first configure.
 * Returns 0, -1 when the connection failed, -2 when no configure came.
 */
int demo_window_create(struct client *client, struct demo_window *window, const char *title,
	uint32_t width, uint32_t height);

/** Destroy the window's objects. */
void demo_window_destroy(struct demo_window *window);

/* A wl_shm_pool over a memfd the client keeps, mapped read-write. */
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
struct demo_pool *demo_pool_create(struct client *client, uint64_t size, enum demo_pool_kind kind);

/** Grow the file and the wl_shm_pool to @p new_size. Returns 0 or -errno. */
int demo_pool_grow(struct demo_pool *pool, uint64_t new_size);

/** Destroy the wl_shm_pool, unmap, close. NULL is a no-op. */
void demo_pool_destroy(struct demo_pool *pool);

/** Write @p width x @p height XRGB/ARGB8888 pixels to @p path as a PNG. */
int demo_png_write(const char *path, const void *pixels, uint32_t width, uint32_t height,
	uint32_t stride, uint32_t wl_shm_format, bool y_invert);

/* The modes; each returns an enum demo_exit. */
int mode_good(int argc, char **argv);
int mode_truncate(int argc, char **argv);
int mode_capture(int argc, char **argv);

/** Parse "WxH"; returns false if malformed. */
bool demo_parse_size(const char *text, uint32_t *width, uint32_t *height);

/** Monotonic milliseconds. */
int64_t demo_now_ms(void);

#endif /* CLIENT_DEMO_CLIENT_H */

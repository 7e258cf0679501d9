/*
 * demo-client-support: what a Wayland test client needs besides its own
 * logic. The connection and its globals, bounded waits, the protocol
 * error the compositor ended it with, an xdg toplevel and its frame
 * callbacks, a screen capture's buffer negotiation, and memfds. Linked by
 * client-demo and by tests/hostile's hostile-client; it prints nothing on
 * stdout, where each program has its own report.
 */
#ifndef CLIENT_DEMO_CLIENT_H
#define CLIENT_DEMO_CLIENT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wayland-client.h>

/* connection.c: the connection and the globals a client may need. */
struct client {
	/* Prefix of the messages printed on stderr: "good", "hostile-client". */
	const char *name;
	struct wl_display *display;
	struct wl_registry *registry;
	/* The first of each global; NULL when the compositor lacks it. */
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wl_output *output;
	struct zxdg_output_manager_v1 *xdg_output_manager;
	struct zwlr_screencopy_manager_v1 *screencopy_manager;
	uint32_t shm_formats; /* bit n set: wl_shm format n (n < 32) seen */
	/* The wl_display.sync of client_roundtrip() under way, or NULL. */
	struct wl_callback *sync;
	bool synced;
};

/**
 * Connect to $WAYLAND_DISPLAY and ask for the globals, which come with
 * the first round trip. @p name is kept (not copied) as the log prefix.
 * Returns 0, or -errno when there is no compositor (nothing printed).
 */
int
client_connect(struct client *client, const char *name);

/** Destroy every bound global and disconnect. No-op when not connected. */
void
client_disconnect(struct client *client);

/* dispatch.c: waiting for the compositor, always with a bound. */

/** Monotonic milliseconds. */
int64_t
client_now_ms(void);

/**
 * Dispatch events until *@p done becomes true (@p done NULL: until the
 * time is up), for at most @p timeout_ms (negative: no limit), or until a
 * signal with a handler interrupts the wait. Returns 1 (done), 0 (time is
 * up, or a signal) or -1 (the connection failed: see
 * client_get_protocol_error()).
 */
int
client_dispatch_until(struct client *client, const bool *done, int timeout_ms);

/**
 * A wl_display.sync round trip, for at most @p timeout_ms (negative: no
 * limit; signals do not end it). Returns 1, 0 (no answer in time) or -1
 * (the connection failed).
 */
int
client_roundtrip(struct client *client, int timeout_ms);

/* protocol_error.c: how the compositor ended the connection. */

/** A protocol error, as libwayland-client received it. */
struct client_protocol_error {
	const char *interface; /* of the object, NULL when it is unknown */
	uint32_t object_id;
	uint32_t code;
	/* The code's name in its interface's error enum, "?" if unknown. */
	const char *code_name;
	/* The code is wl_shm's: wl_shm_pool and wl_buffer have no error
	 * enum of their own, shm errors are posted on them with wl_shm's. */
	bool wl_shm_code;
	/* The compositor's message, "" when it could not be recovered. */
	const char *message;
};

/**
 * After a failed dispatch: fill @p error and return true when the
 * compositor ended the connection with a protocol error; false when the
 * connection was lost otherwise (wl_display_get_error() says why).
 */
bool
client_get_protocol_error(struct client *client, struct client_protocol_error *error);

/**
 * libwayland-client's log handler, installed by client_connect(): it
 * keeps the last line, where libwayland puts a protocol error's message.
 */
void
client_log_handler(const char *format, va_list args);

/* window.c: an xdg toplevel that follows its configures. */
struct client_window {
	struct client *client;
	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	uint32_t width, height; /* current size: configured, or the default */
	bool configured;
	bool closed; /* the compositor asked us to close */
	struct wl_callback *frame; /* asked for by a commit, not yet done */
	bool frame_done; /* the last frame callback asked for came */
	uint64_t frames; /* frame callbacks received */
	/* Called after each frame callback when set, with on_frame_data. */
	void (*on_frame)(void *data);
	void *on_frame_data;
};

/**
 * Create a toplevel titled @p title, with @p app_id unless NULL, of
 * @p width x @p height until a configure says otherwise, and commit it
 * without a buffer, which asks for the first configure: wait for it with
 * client_window_wait_configure().
 */
void
client_window_init(struct client *client, struct client_window *window, const char *title,
	const char *app_id, uint32_t width, uint32_t height);

/**
 * Wait for the first configure for at most @p timeout_ms. Returns as
 * client_dispatch_until(), but only the connection or the time limit ends
 * the wait.
 */
int
client_window_wait_configure(struct client_window *window, int timeout_ms);

/**
 * Attach @p buffer, damage all of it, ask for a frame callback unless one
 * is pending (frame_done becomes false), commit.
 */
void
client_window_commit(struct client_window *window, struct wl_buffer *buffer);

/** Destroy the window's objects and its pending frame callback. */
void
client_window_finish(struct client_window *window);

/* screencopy.c: one zwlr_screencopy_frame_v1 of the client's output. */
struct client_capture {
	struct client *client;
	struct zwlr_screencopy_frame_v1 *frame;
	/* The wl_shm buffer the compositor wants. */
	uint32_t format, width, height, stride;
	bool shm_offered; /* a wl_shm buffer was described */
	bool described; /* every buffer type described, or the frame failed */
	bool y_invert;
	bool ready, failed;
	bool ended; /* ready or failed */
};

/**
 * Ask for a capture of the client's output (which, with its
 * screencopy_manager, must be bound) and wait for the description of the
 * buffer it wants for at most @p timeout_ms. Returns as
 * client_dispatch_until(); the frame is kept either way.
 */
int
client_capture_start(struct client *client, struct client_capture *capture, int timeout_ms);

/**
 * Ask for the copy into @p buffer and wait for ready or failed for at
 * most @p timeout_ms. Returns as client_dispatch_until().
 */
int
client_capture_copy(struct client_capture *capture, struct wl_buffer *buffer, int timeout_ms);

/** Destroy the frame, if any. */
void
client_capture_finish(struct client_capture *capture);

/* shm_file.c: the files behind wl_shm pools. */

/**
 * A memfd named @p file_name of @p size bytes, close-on-exec, and
 * sealable when @p sealable. Returns the fd (the caller closes it), or -1
 * with "NAME: memfd_create: ..." or "NAME: ftruncate: ..." printed on
 * stderr, NAME being the client's.
 */
int
client_shm_file_create(struct client *client, const char *file_name, uint64_t size, bool sealable);

/**
 * A new read-only fd of the file behind @p fd (borrowed), reopened
 * through /proc/self/fd. Returns it (the caller closes it) or -errno.
 */
int
client_shm_file_reopen_read_only(int fd);

#endif /* CLIENT_DEMO_CLIENT_H */

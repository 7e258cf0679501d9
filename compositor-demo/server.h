/*
 * compositor-demo: a small wlroots compositor (0.15, 0.18 to 0.20) whose
 * wl_shm comes from libshmguard. The state every part shares.
 */
#ifndef COMPOSITOR_DEMO_SERVER_H
#define COMPOSITOR_DEMO_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wayland-server-core.h>

struct wlr_allocator;
struct wlr_backend;
struct wlr_output;
struct wlr_output_layout;
struct wlr_renderer;
struct wlr_scene;
struct wlr_scene_output_layout;
struct wlr_scene_rect;
struct wlr_seat;
struct wlr_xdg_shell;

/* What to do when a client's pool faults (libshmguard's fault policies). */
enum demo_policy {
	DEMO_POLICY_DISCONNECT = 0,
	DEMO_POLICY_ZEROS,
	DEMO_POLICY_REVALIDATE,
};

struct demo_options {
	const char *socket; /* NULL: the first free wayland-N */
	uint32_t width, height;
	const char *screenshot; /* PNG path, or NULL */
	double exit_after; /* seconds; 0: run until a signal */
	enum demo_policy policy;
	bool builtin_shm; /* libwayland's wl_shm instead of libshmguard's */
	bool headless; /* never nest, even with WAYLAND_DISPLAY or DISPLAY set */
	bool verbose;
};

struct demo_shm;
struct demo_screencopy;

struct server {
	struct demo_options options;
	struct wl_display *display;
	struct wlr_backend *backend;
	struct wlr_renderer *renderer;
	struct wlr_allocator *allocator;
	struct wlr_scene *scene;
	struct wlr_scene_output_layout *scene_layout; /* NULL with wlroots 0.15 */
	struct wlr_scene_rect *background;
	struct wlr_output_layout *output_layout;
	struct wlr_xdg_shell *xdg_shell;
	struct wlr_seat *seat;
	struct demo_shm *shm;
	struct demo_screencopy *screencopy;

	struct wl_list outputs; /* struct demo_output.link */
	struct wl_list views; /* struct demo_view.link */
	uint32_t views_created;
	uint64_t frames_rendered;

	struct wl_listener new_output;
	struct wl_listener new_xdg_surface; /* new toplevels since wlroots 0.18 */
	struct wl_listener new_xdg_popup; /* since wlroots 0.18 */
};

/*
 * server.c. server_create(): the display, backend, renderer and globals,
 * from server->options; no socket, no output yet. server_start(): the
 * headless output (when headless) and the backend. server_destroy():
 * everything, clients first; also after a failed create or start.
 * Each returns false with the reason logged on failure.
 */
bool
server_create(struct server *server);
bool
server_start(struct server *server);
void
server_destroy(struct server *server);

/* output.c: outputs, and rendering them every frame. output_finish()
 * before the backend is destroyed. */
void
output_init(struct server *server);
void
output_finish(struct server *server);
/** The first output, or NULL. */
struct wlr_output *
output_first(struct server *server);

/* view.c: xdg toplevels and popups in the scene. */
void
view_init(struct server *server);
void
view_finish(struct server *server);

/*
 * capture.c: render what an output shows into memory we own. Renders
 * @p width x @p height pixels at (@p x, @p y) of @p output, as
 * XRGB8888 with @p stride, into @p pixels. Returns false on failure.
 */
bool
capture_output(struct server *server, struct wlr_output *output, int x, int y, int width,
	int height, void *pixels, uint32_t stride);

/* screenshot.c: the output as a PNG at options.screenshot. */
bool
screenshot_write(struct server *server, const char *path);

/* shm.c: the wl_shm global (libshmguard's, or libwayland's with
 * --builtin-shm) and access to a client's shm buffer. */
bool
shm_init(struct server *server);
void
shm_finish(struct server *server);

/* What a wl_buffer resource is, if it is a shm buffer. */
struct shm_buffer_info {
	uint32_t format; /* wl_shm format */
	int32_t width, height, stride;
};

bool
shm_buffer_describe(
	struct server *server, struct wl_resource *buffer, struct shm_buffer_info *info);

/**
 * Write @p height rows of @p row_bytes from @p pixels (stride
 * @p src_stride) into the client's shm buffer, through the safe
 * write-back path. On failure returns false and says why in @p why
 * (static text): read-only fd, write-sealed, truncated, I/O error.
 */
bool
shm_buffer_write(struct server *server, struct wl_resource *buffer, const void *pixels,
	uint32_t src_stride, uint32_t row_bytes, int32_t height, const char **why);

/* screencopy.c: zwlr_screencopy_manager_v1, version 3. */
struct demo_screencopy *
screencopy_create(struct server *server);
void
screencopy_destroy(struct demo_screencopy *screencopy);

/* log.c */
void
demo_log(const char *format, ...) __attribute__((format(printf, 1, 2)));
/** "pid 1234 (weston-simple-s)" for log lines about a client. */
const char *
demo_client_name(struct wl_client *client, char *buf, size_t size);

#endif /* COMPOSITOR_DEMO_SERVER_H */

/*
 * Integration-test harness for the wl_shm layer: an in-process wl_display
 * served by libshmguard, and forked libwayland-client clients connected
 * over socketpairs (wl_client_create() on the server end).
 *
 * Every test gets its own XDG_RUNTIME_DIR, a deadline on everything it
 * waits for, and a file-descriptor leak check at teardown. Each client has
 * a control socket to the test for messages both ways; the test serves
 * the display whenever it waits.
 */
#ifndef SHMGUARD_TEST_WAYLAND_HARNESS_H
#define SHMGUARD_TEST_WAYLAND_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <wayland-server-core.h>

#include <shmguard/wayland.h>

#define HARNESS_MAX_CLIENTS 8
#define HARNESS_MAX_FAULTS 16

/* A control message; kinds below, values and text free per test. */
struct ctl_msg {
	uint32_t kind;
	uint32_t values[6];
	char text[480];
};

enum ctl_kind {
	CTL_OK = 1, /* the client finished a step without an error */
	CTL_FAIL, /* a check in the client failed; text says which */
	CTL_PROTOCOL_ERROR, /* values: code, object id; text: "interface|message" */
	CTL_STEP, /* free use: values carry ids, sizes */
	CTL_GO, /* from the test to the client */
};

/* One call of the fault handler, as recorded by the harness. */
struct recorded_fault {
	bool client_alive;
	uint32_t pool_id;
	uint32_t buffer_id;
	struct shmguard_fault_report report;
	enum shmguard_fault_action action;
	bool on_display_thread;
};

struct harness;

/* The test side of one forked client. */
struct test_client {
	struct harness *harness;
	pid_t pid;
	struct wl_client *client; /* NULL once disconnected */
	struct wl_listener client_destroy;
	int ctl;
	bool reaped;
	int status;
};

struct harness {
	struct wl_display *display;
	struct wl_event_loop *loop;
	struct shmguard_shm *shm;
	char runtime_dir[64];
	char *saved_runtime_dir;
	unsigned fds_before;
	int deadline_ms; /* for each wait; default 10 s */
	struct test_client clients[HARNESS_MAX_CLIENTS];
	unsigned client_count;
	struct recorded_fault faults[HARNESS_MAX_FAULTS];
	unsigned fault_count;
	/* Set by tests: called after the clients are destroyed, before the
	 * global and the display are (for compositor objects of the test). */
	void (*teardown_hook)(struct harness *harness);
	void *test_data;
	/* Set by tests, called from the recorded fault handler. */
	void (*on_fault)(struct harness *harness, const struct shmguard_fault_event *event);
};

/* What a forked client runs, with its context. */
struct client_ctx {
	struct wl_display *display;
	struct wl_registry *registry;
	struct wl_shm *shm;
	struct wl_compositor *compositor; /* if the server offers one */
	int ctl;
	const void *arg;
	uint32_t formats[64];
	unsigned format_count;
};

typedef void (*client_body_fn)(struct client_ctx *ctx);

/* Count the open file descriptors of this process. */
unsigned
harness_count_fds(void);

/* Make a display with a libshmguard wl_shm (options may be NULL; its
 * fault handler is replaced by the recording one), a fresh runtime dir,
 * and take the fd count. Fails the test on error. */
struct harness *
harness_create(const struct shmguard_shm_options *options);

/* The same without a wl_shm global: the test makes its own (with
 * libwayland's wl_display_init_shm(), say). harness->shm is NULL. */
struct harness *
harness_create_without_shm(void);

/* Kill and reap leftover clients, destroy clients, the global and the
 * display, remove the runtime dir, and fail the test if any fd leaked. */
void
harness_destroy(struct harness *harness);

/* Fork a client running @p body; @p arg is copied by fork. */
struct test_client *
harness_spawn(struct harness *harness, client_body_fn body, const void *arg);

/* Serve the display until @p client sends a message; fail after the
 * deadline. */
void
harness_recv(struct test_client *client, struct ctl_msg *msg);

/* Send a message to @p client. */
void
harness_send(struct test_client *client, uint32_t kind, uint32_t value);

/* Serve until @p client exits; fail after the deadline or if it did not
 * exit with status 0. */
void
harness_wait_exit(struct test_client *client);

/* Serve the display for about @p ms milliseconds. */
void
harness_serve(struct harness *harness, int ms);

/* Receive a message and require it to be a protocol error with @p code on
 * an object of @p interface (and on the very object the client named, if
 * it used client_report_on()), whose message contains @p text (if not
 * NULL). Returns the object id. */
uint32_t
harness_expect_error(
	struct test_client *client, const char *interface, uint32_t code, const char *text);

/* Receive a message and require CTL_OK; returns it in @p msg (if not NULL). */
void
harness_expect_ok(struct test_client *client, struct ctl_msg *msg);

/* The server's buffer for wl_buffer @p id of @p client (NULL if none). */
struct shmguard_buffer *
harness_buffer(struct test_client *client, uint32_t id);

/* Under a preload: receive the CTL_STEP of client_pool_make() and return
 * libwayland's view of the buffer it names (wl_shm_buffer_get()), which
 * must exist. */
struct wl_shm_buffer *
harness_recv_shm_buffer(struct test_client *client);

/* ---- client side (in the forked child) ---- */

void
client_send(struct client_ctx *ctx, uint32_t kind, const uint32_t *values, unsigned count,
	const char *text);

/* Block until the test sends a message; returns its kind. */
uint32_t
client_recv(struct client_ctx *ctx, struct ctl_msg *msg);

/* Report a failed check and exit. */
__attribute__((noreturn, format(printf, 2, 3))) void
client_fail(struct client_ctx *ctx, const char *format, ...);

#define CLIENT_CHECK(ctx, cond)                                                                    \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			client_fail((ctx), "%s:%d: %s", __FILE__, __LINE__, #cond);                \
		}                                                                                  \
	} while (0)

/* Round-trip; if the display died of a protocol error, send it to the
 * test as CTL_PROTOCOL_ERROR and return false; else true. */
bool
client_roundtrip(struct client_ctx *ctx);

/* Round-trip and report CTL_OK, or the protocol error. */
void
client_report(struct client_ctx *ctx);

/* The same, and the test checks that an error went to @p expected_object
 * (a proxy). */
void
client_report_on(struct client_ctx *ctx, void *expected_object);

/* A memfd of @p size bytes filled with pattern @p seed. */
int
client_memfd(size_t size, uint32_t seed, bool allow_sealing);

/* A client's pool and the one buffer it made of it. */
struct client_pool {
	int fd;
	struct wl_shm_pool *pool;
	struct wl_buffer *buffer;
};

/* A pool of @p size bytes over @p fd (kept open; must be >= 0) and a
 * buffer at its start; after a roundtrip, the test learns the buffer's and
 * the pool's ids in a CTL_STEP. */
struct client_pool
client_pool_make(struct client_ctx *ctx, int fd, int32_t size, int32_t width, int32_t height,
	int32_t stride, uint32_t format);

/* Byte @p index of pattern @p seed. */
static inline uint8_t
pattern_byte(uint32_t seed, uint64_t index)
{
	uint64_t x = (index + 1) * 0x9e3779b97f4a7c15ull + seed;
	return (uint8_t)(x >> 56);
}

#endif

/* The wl_shm integration-test harness (see harness.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include "harness.h"

#define DEFAULT_DEADLINE_MS 10000

static pthread_t main_thread;

/* The harness of the running test; a test that failed half-way leaves it
 * behind for the next harness_create() to clean up after. */
static struct harness *live_harness;

unsigned
harness_count_fds(void)
{
	DIR *dir = opendir("/proc/self/fd");
	assert_non_null(dir);
	unsigned count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] != '.') {
			count++;
		}
	}
	closedir(dir);
	return count - 1; /* the directory's own fd */
}

static void
list_fds(const char *when)
{
	DIR *dir = opendir("/proc/self/fd");
	if (dir == NULL) {
		return;
	}
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL) {
		if (entry->d_name[0] == '.') {
			continue;
		}
		char path[300], target[300];
		snprintf(path, sizeof(path), "/proc/self/fd/%s", entry->d_name);
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		target[n > 0 ? n : 0] = '\0';
		fprintf(stderr, "  %s fd %s -> %s\n", when, entry->d_name, target);
	}
	closedir(dir);
}

static int64_t
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
record_fault(const struct shmguard_fault_event *event, void *user_data)
{
	struct harness *harness = user_data;
	if (harness->fault_count < HARNESS_MAX_FAULTS) {
		struct recorded_fault *fault = &harness->faults[harness->fault_count];
		fault->client_alive = event->client != NULL;
		fault->pool_id = event->pool_id;
		fault->buffer_id = event->buffer_id;
		fault->report = *event->report;
		fault->action = event->action;
		fault->on_display_thread = pthread_equal(pthread_self(), main_thread);
	}
	harness->fault_count++;
	if (harness->on_fault != NULL) {
		harness->on_fault(harness, event);
	}
}

/* libwayland-server's own lines ("error in client communication") would
 * only repeat what the tests assert. */
static void
server_log(const char *format, va_list args)
{
}

static void
reap(struct test_client *client, int options)
{
	if (client->reaped) {
		return;
	}
	int status;
	pid_t pid = waitpid(client->pid, &status, options);
	if (pid == client->pid) {
		client->reaped = true;
		client->status = status;
	}
}

/* Kill and reap the clients of a test that failed before its teardown.
 * Its display is left alone: the test already failed. */
static void
abandon(struct harness *harness)
{
	for (unsigned i = 0; i < harness->client_count; i++) {
		struct test_client *client = &harness->clients[i];
		if (!client->reaped) {
			kill(client->pid, SIGKILL);
			reap(client, 0);
		}
	}
}

struct harness *
harness_create_without_shm(void)
{
	if (live_harness != NULL) {
		abandon(live_harness);
		live_harness = NULL;
	}
	main_thread = pthread_self();
	struct harness *harness = calloc(1, sizeof(*harness));
	assert_non_null(harness);
	harness->deadline_ms = DEFAULT_DEADLINE_MS;

	/* Our own runtime dir, though socketpairs need none: nothing the
	 * test runs may touch the user's. */
	const char *saved = getenv("XDG_RUNTIME_DIR");
	harness->saved_runtime_dir = saved != NULL ? strdup(saved) : NULL;
	snprintf(
		harness->runtime_dir, sizeof(harness->runtime_dir), "/tmp/shmguard-wl-test-XXXXXX");
	assert_non_null(mkdtemp(harness->runtime_dir));
	assert_int_equal(chmod(harness->runtime_dir, 0700), 0);
	setenv("XDG_RUNTIME_DIR", harness->runtime_dir, 1);

	harness->fds_before = harness_count_fds();

	wl_log_set_handler_server(server_log);
	harness->display = wl_display_create();
	assert_non_null(harness->display);
	harness->loop = wl_display_get_event_loop(harness->display);
	live_harness = harness;
	return harness;
}

struct harness *
harness_create(const struct shmguard_shm_options *options)
{
	struct harness *harness = harness_create_without_shm();
	struct shmguard_shm_options opts = {0};
	if (options != NULL) {
		opts = *options;
	}
	opts.fault_handler = record_fault;
	opts.fault_user_data = harness;
	harness->shm = shmguard_shm_create(harness->display, &opts);
	assert_non_null(harness->shm);
	return harness;
}

void
harness_destroy(struct harness *harness)
{
	live_harness = NULL;
	for (unsigned i = 0; i < harness->client_count; i++) {
		struct test_client *client = &harness->clients[i];
		reap(client, WNOHANG);
		if (!client->reaped) {
			kill(client->pid, SIGKILL);
			reap(client, 0);
		}
		close(client->ctl);
		if (client->client != NULL) {
			wl_list_remove(&client->client_destroy.link);
			client->client = NULL;
		}
	}
	wl_display_destroy_clients(harness->display);
	if (harness->teardown_hook != NULL) {
		harness->teardown_hook(harness);
	}
	shmguard_shm_destroy(harness->shm);
	wl_display_destroy(harness->display);

	unsigned fds_after = harness_count_fds();
	if (fds_after != harness->fds_before) {
		fprintf(stderr, "fd leak: %u fds open before the test, %u after\n",
			harness->fds_before, fds_after);
		list_fds("after");
	}
	if (harness->saved_runtime_dir != NULL) {
		setenv("XDG_RUNTIME_DIR", harness->saved_runtime_dir, 1);
	} else {
		unsetenv("XDG_RUNTIME_DIR");
	}
	free(harness->saved_runtime_dir);
	int removed = rmdir(harness->runtime_dir);
	unsigned fds_before = harness->fds_before;
	free(harness);
	assert_int_equal(removed, 0);
	/* The fd leak check: every fd a client sent was closed. */
	assert_int_equal(fds_after, fds_before);
}

static void
handle_client_destroy(struct wl_listener *listener, void *data)
{
	struct test_client *client = wl_container_of(listener, client, client_destroy);
	wl_list_remove(&client->client_destroy.link);
	client->client = NULL;
}

/* ---- the forked client ---- */

static char last_log[400];

static void
client_log(const char *format, va_list args)
{
	vsnprintf(last_log, sizeof(last_log), format, args);
	size_t len = strlen(last_log);
	if (len > 0 && last_log[len - 1] == '\n') {
		last_log[len - 1] = '\0';
	}
}

static void
shm_format(void *data, struct wl_shm *shm, uint32_t format)
{
	struct client_ctx *ctx = data;
	if (ctx->format_count < sizeof(ctx->formats) / sizeof(ctx->formats[0])) {
		ctx->formats[ctx->format_count++] = format;
	}
}

static const struct wl_shm_listener shm_listener = {
	.format = shm_format,
};

static void
registry_global(void *data, struct wl_registry *registry, uint32_t name, const char *interface,
	uint32_t version)
{
	struct client_ctx *ctx = data;
	if (strcmp(interface, wl_shm_interface.name) == 0 && ctx->shm == NULL) {
		ctx->shm = wl_registry_bind(registry, name, &wl_shm_interface, 1);
		wl_shm_add_listener(ctx->shm, &shm_listener, ctx);
	} else if (strcmp(interface, wl_compositor_interface.name) == 0) {
		ctx->compositor = wl_registry_bind(
			registry, name, &wl_compositor_interface, version < 4 ? version : 4);
	}
}

static void
registry_global_remove(void *data, struct wl_registry *registry, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static void
close_other_fds(int keep_a, int keep_b)
{
	DIR *dir = opendir("/proc/self/fd");
	if (dir == NULL) {
		return;
	}
	int own = dirfd(dir);
	int fds[1024];
	unsigned count = 0;
	struct dirent *entry;
	while ((entry = readdir(dir)) != NULL && count < 1024) {
		int fd = atoi(entry->d_name);
		bool keep = fd <= 2 || fd == keep_a || fd == keep_b || fd == own;
		if (entry->d_name[0] != '.' && !keep) {
			fds[count++] = fd;
		}
	}
	closedir(dir);
	for (unsigned i = 0; i < count; i++) {
		close(fds[i]);
	}
}

static __attribute__((noreturn)) void
run_client(int fd, int ctl, client_body_fn body, const void *arg)
{
	/* The fork copied cmocka's crash traps (and the library's SIGBUS
	 * handler): a client that crashes must die of it, visibly. */
	const int crash_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS};
	for (size_t i = 0; i < sizeof(crash_signals) / sizeof(crash_signals[0]); i++) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(crash_signals[i], &dfl, NULL);
	}
	/* Static: what the client made stays reachable until it exits. */
	static struct client_ctx ctx;
	ctx.ctl = ctl;
	ctx.arg = arg;
	wl_log_set_handler_client(client_log);
	ctx.display = wl_display_connect_to_fd(fd);
	if (ctx.display == NULL) {
		client_fail(&ctx, "wl_display_connect_to_fd failed");
	}
	ctx.registry = wl_display_get_registry(ctx.display);
	wl_registry_add_listener(ctx.registry, &registry_listener, &ctx);
	if (wl_display_roundtrip(ctx.display) < 0 || wl_display_roundtrip(ctx.display) < 0) {
		client_fail(&ctx, "the first round-trips failed");
	}
	if (ctx.shm == NULL) {
		client_fail(&ctx, "no wl_shm global");
	}
	body(&ctx);
	/* Exit without destroying: the server cleans up after a client that
	 * disconnects, which is part of what the tests check. Closing the
	 * socket is the disconnection; wl_display_disconnect() would also
	 * free the object map and so lose every proxy still in it, which
	 * valgrind's leak check (run at _exit() in a forked child too) would
	 * report as this client's leak. */
	close(wl_display_get_fd(ctx.display));
	_exit(0);
}

struct test_client *
harness_spawn(struct harness *harness, client_body_fn body, const void *arg)
{
	assert_true(harness->client_count < HARNESS_MAX_CLIENTS);
	int wayland[2], ctl[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, wayland), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, ctl), 0);
	fflush(stdout);
	fflush(stderr);
	pid_t parent = getpid();
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A client never outlives the test process, even one that
		 * failed or crashed: it would hold meson's output pipe. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) {
			_exit(5);
		}
		close(wayland[0]);
		close(ctl[0]);
		close_other_fds(wayland[1], ctl[1]);
		run_client(wayland[1], ctl[1], body, arg);
	}
	close(wayland[1]);
	close(ctl[1]);

	struct test_client *client = &harness->clients[harness->client_count++];
	memset(client, 0, sizeof(*client));
	client->harness = harness;
	client->pid = pid;
	client->ctl = ctl[0];
	client->client = wl_client_create(harness->display, wayland[0]);
	assert_non_null(client->client);
	client->client_destroy.notify = handle_client_destroy;
	wl_client_add_destroy_listener(client->client, &client->client_destroy);
	return client;
}

/* Dispatch whatever is ready within @p timeout_ms; true if @p fd (if not
 * negative) became readable. */
static bool
serve_once(struct harness *harness, int fd, int timeout_ms)
{
	wl_display_flush_clients(harness->display);
	struct pollfd fds[2] = {
		{.fd = wl_event_loop_get_fd(harness->loop), .events = POLLIN},
		{.fd = fd, .events = POLLIN},
	};
	int ret = poll(fds, fd >= 0 ? 2 : 1, timeout_ms);
	if (ret < 0 && errno != EINTR) {
		fail_msg("poll: %s", strerror(errno));
	}
	wl_event_loop_dispatch(harness->loop, 0);
	wl_display_flush_clients(harness->display);
	return fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP)) != 0;
}

void
harness_serve(struct harness *harness, int ms)
{
	int64_t end = now_ms() + ms;
	while (now_ms() < end) {
		serve_once(harness, -1, (int)(end - now_ms()));
	}
}

static const char *
kind_name(uint32_t kind)
{
	switch (kind) {
	case CTL_OK:
		return "ok";
	case CTL_FAIL:
		return "fail";
	case CTL_PROTOCOL_ERROR:
		return "protocol error";
	case CTL_STEP:
		return "step";
	case CTL_GO:
		return "go";
	}
	return "?";
}

void
harness_recv(struct test_client *client, struct ctl_msg *msg)
{
	struct harness *harness = client->harness;
	int64_t deadline = now_ms() + harness->deadline_ms;
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			fail_msg("timed out after %d ms waiting for a message from client %d",
				harness->deadline_ms, (int)client->pid);
		}
		if (!serve_once(harness, client->ctl, left > 50 ? 50 : (int)left)) {
			continue;
		}
		memset(msg, 0, sizeof(*msg));
		ssize_t n = recv(client->ctl, msg, sizeof(*msg), MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			continue;
		}
		if (n <= 0) {
			reap(client, 0);
			fail_msg("client %d ended without a message (status 0x%x)",
				(int)client->pid, client->status);
		}
		if (msg->kind == CTL_FAIL) {
			fail_msg("client %d: %s", (int)client->pid, msg->text);
		}
		return;
	}
}

void
harness_send(struct test_client *client, uint32_t kind, uint32_t value)
{
	struct ctl_msg msg = {.kind = kind, .values = {value}};
	assert_int_equal(send(client->ctl, &msg, sizeof(msg), MSG_NOSIGNAL), sizeof(msg));
}

void
harness_wait_exit(struct test_client *client)
{
	struct harness *harness = client->harness;
	int64_t deadline = now_ms() + harness->deadline_ms;
	while (!client->reaped) {
		if (now_ms() > deadline) {
			fail_msg("timed out after %d ms waiting for client %d to exit",
				harness->deadline_ms, (int)client->pid);
		}
		serve_once(harness, -1, 20);
		reap(client, WNOHANG);
	}
	if (!WIFEXITED(client->status) || WEXITSTATUS(client->status) != 0) {
		fail_msg("client %d ended with status 0x%x (signal %d)", (int)client->pid,
			client->status, WIFSIGNALED(client->status) ? WTERMSIG(client->status) : 0);
	}
}

uint32_t
harness_expect_error(
	struct test_client *client, const char *interface, uint32_t code, const char *text)
{
	struct ctl_msg msg;
	harness_recv(client, &msg);
	if (msg.kind != CTL_PROTOCOL_ERROR) {
		fail_msg("expected %s error %u, the client reported %s (%s)", interface, code,
			kind_name(msg.kind), msg.text);
	}
	char *bar = strchr(msg.text, '|');
	assert_non_null(bar);
	*bar = '\0';
	const char *message = bar + 1;
	if (strcmp(msg.text, interface) != 0 || msg.values[0] != code) {
		fail_msg("expected %s error %u, got %s error %u: %s", interface, code, msg.text,
			msg.values[0], message);
	}
	if (msg.values[2] != 0 && msg.values[1] != msg.values[2]) {
		fail_msg("%s error %u went to object %u, not to object %u", interface, code,
			msg.values[1], msg.values[2]);
	}
	if (text != NULL && strstr(message, text) == NULL) {
		fail_msg("the error message \"%s\" lacks \"%s\"", message, text);
	}
	return msg.values[1];
}

void
harness_expect_ok(struct test_client *client, struct ctl_msg *msg)
{
	struct ctl_msg local;
	if (msg == NULL) {
		msg = &local;
	}
	harness_recv(client, msg);
	if (msg->kind != CTL_OK) {
		fail_msg("expected ok, the client reported %s: %s (code %u)", kind_name(msg->kind),
			msg->text, msg->values[0]);
	}
}

struct shmguard_buffer *
harness_buffer(struct test_client *client, uint32_t id)
{
	if (client->client == NULL) {
		return NULL;
	}
	struct wl_resource *resource = wl_client_get_object(client->client, id);
	return shmguard_buffer_from_resource(resource);
}

struct wl_shm_buffer *
harness_recv_shm_buffer(struct test_client *client)
{
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	struct wl_resource *resource = wl_client_get_object(client->client, msg.values[0]);
	assert_non_null(resource);
	struct wl_shm_buffer *buffer = wl_shm_buffer_get(resource);
	assert_non_null(buffer);
	return buffer;
}

/* ---- client side ---- */

struct client_pool
client_pool_make(struct client_ctx *ctx, int fd, int32_t size, int32_t width, int32_t height,
	int32_t stride, uint32_t format)
{
	CLIENT_CHECK(ctx, fd >= 0);
	struct client_pool made = {.fd = fd};
	made.pool = wl_shm_create_pool(ctx->shm, fd, size);
	made.buffer = wl_shm_pool_create_buffer(made.pool, 0, width, height, stride, format);
	CLIENT_CHECK(ctx, client_roundtrip(ctx));
	uint32_t values[2] = {wl_proxy_get_id((struct wl_proxy *)made.buffer),
		wl_proxy_get_id((struct wl_proxy *)made.pool)};
	client_send(ctx, CTL_STEP, values, 2, NULL);
	return made;
}

void
client_send(struct client_ctx *ctx, uint32_t kind, const uint32_t *values, unsigned count,
	const char *text)
{
	struct ctl_msg msg = {.kind = kind};
	for (unsigned i = 0; i < count && i < 6; i++) {
		msg.values[i] = values[i];
	}
	if (text != NULL) {
		snprintf(msg.text, sizeof(msg.text), "%s", text);
	}
	if (send(ctx->ctl, &msg, sizeof(msg), MSG_NOSIGNAL) != (ssize_t)sizeof(msg)) {
		_exit(3);
	}
}

uint32_t
client_recv(struct client_ctx *ctx, struct ctl_msg *msg)
{
	struct ctl_msg local;
	if (msg == NULL) {
		msg = &local;
	}
	ssize_t n = recv(ctx->ctl, msg, sizeof(*msg), 0);
	if (n != (ssize_t)sizeof(*msg)) {
		_exit(4);
	}
	return msg->kind;
}

void
client_fail(struct client_ctx *ctx, const char *format, ...)
{
	char text[400];
	va_list args;
	va_start(args, format);
	vsnprintf(text, sizeof(text), format, args);
	va_end(args);
	client_send(ctx, CTL_FAIL, NULL, 0, text);
	_exit(1);
}

static bool
roundtrip(struct client_ctx *ctx, uint32_t expected_id)
{
	if (wl_display_roundtrip(ctx->display) >= 0) {
		return true;
	}
	int error = wl_display_get_error(ctx->display);
	if (error != EPROTO) {
		client_fail(
			ctx, "display error %d (%s), not a protocol error", error, strerror(error));
	}
	const struct wl_interface *interface = NULL;
	uint32_t id = 0;
	uint32_t code = wl_display_get_protocol_error(ctx->display, &interface, &id);
	char text[480];
	snprintf(text, sizeof(text), "%s|%s", interface != NULL ? interface->name : "?", last_log);
	uint32_t values[3] = {code, id, expected_id};
	client_send(ctx, CTL_PROTOCOL_ERROR, values, 3, text);
	return false;
}

bool
client_roundtrip(struct client_ctx *ctx)
{
	return roundtrip(ctx, 0);
}

void
client_report(struct client_ctx *ctx)
{
	if (roundtrip(ctx, 0)) {
		client_send(ctx, CTL_OK, NULL, 0, NULL);
	}
}

void
client_report_on(struct client_ctx *ctx, void *expected_object)
{
	if (roundtrip(ctx, wl_proxy_get_id(expected_object))) {
		client_send(ctx, CTL_OK, NULL, 0, NULL);
	}
}

int
client_memfd(size_t size, uint32_t seed, bool allow_sealing)
{
	unsigned flags = MFD_CLOEXEC | (allow_sealing ? MFD_ALLOW_SEALING : 0);
	int fd = memfd_create("shmguard-test", flags);
	if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
		return -1;
	}
	if (size > 0) {
		uint8_t *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			close(fd);
			return -1;
		}
		for (size_t i = 0; i < size; i++) {
			map[i] = pattern_byte(seed, i);
		}
		munmap(map, size);
	}
	return fd;
}

/*
 * Per-client shares of the process-wide mapping bound add up: a client
 * that makes every pool it can stops at its share, another client still
 * gets its pools, and faults in all of them are still covered with zeros.
 *
 * Before, a client's mappings were bounded only by its pools times their
 * generations (1,024 x 64 under the preload), so one client could take
 * the whole process-wide bound (half of vm.max_map_count) and every other
 * client's create_pool failed. The test lets clients have many pools, as
 * a compositor with a raised RLIMIT_NOFILE does, and plays that client.
 *
 * Needs root: it lowers vm.max_map_count (system-wide, so briefly and to
 * a value far above what ordinary processes use) and always puts it back
 * (tests/support/max-map-count.h). Skipped, with the reason, otherwise.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>
#include <wayland-client.h>
#include <wayland-server.h>

#include <shmguard/wayland.h>

#include "harness.h"
#include "max-map-count.h"

/* Far above what the processes around a test use, low enough to fill. */
#define LOWERED_MAX_MAP_COUNT 8192u
/* What one client could take before: all of the old bound, half of it. */
#define OLD_BOUND (LOWERED_MAX_MAP_COUNT / 2)
#define OTHER_POOLS 16u
/* A pool of two pages; its buffer covers both. */
#define PAGE 4096
#define POOL_SIZE (2 * PAGE)
#define WIDTH 32
#define HEIGHT 64
#define STRIDE (WIDTH * 4)

struct pools_arg {
	uint32_t count;
};

static int pool_fds[OLD_BOUND];

/*
 * Make up to arg->count pools, each with a buffer over all of it, a
 * round-trip after each. Report CTL_STEP {made, refused} (a refusal's
 * protocol error comes first). If still connected, wait; on GO cut every
 * file to one page and report CTL_STEP; on GO report whether still
 * connected.
 */
static void
client_makes_pools(struct client_ctx *ctx)
{
	const struct pools_arg *arg = ctx->arg;
	uint32_t made = 0;
	bool refused = false;
	while (made < arg->count) {
		int fd = client_memfd(POOL_SIZE, made, false);
		CLIENT_CHECK(ctx, fd >= 0);
		struct wl_shm_pool *pool = wl_shm_create_pool(ctx->shm, fd, POOL_SIZE);
		wl_shm_pool_create_buffer(pool, 0, WIDTH, HEIGHT, STRIDE, WL_SHM_FORMAT_ARGB8888);
		if (!client_roundtrip(ctx)) {
			close(fd);
			refused = true;
			break;
		}
		pool_fds[made++] = fd;
	}
	uint32_t values[2] = {made, refused};
	client_send(ctx, CTL_STEP, values, 2, NULL);
	if (refused) {
		return;
	}
	client_recv(ctx, NULL);
	for (uint32_t i = 0; i < made; i++) {
		CLIENT_CHECK(ctx, ftruncate(pool_fds[i], PAGE) == 0);
	}
	client_send(ctx, CTL_STEP, NULL, 0, NULL);
	client_recv(ctx, NULL);
	client_report(ctx);
}

/* The pools a client made: how many, and whether it was refused. */
static struct ctl_msg
expect_pools(struct test_client *client)
{
	struct ctl_msg msg;
	harness_recv(client, &msg);
	if (msg.kind == CTL_PROTOCOL_ERROR) {
		char *bar = strchr(msg.text, '|');
		fail_msg("client %d was refused a pool: %s", (int)client->pid,
			bar != NULL ? bar + 1 : msg.text);
	}
	assert_int_equal(msg.kind, CTL_STEP);
	return msg;
}

struct read_sweep {
	unsigned buffers;
	unsigned faulted;
	unsigned bad_bytes;
};

/* Read every buffer of a client in an access window: the first page is
 * the client's, the second (cut off) reads as zeros. */
static enum wl_iterator_result
read_buffer(struct wl_resource *resource, void *data)
{
	struct read_sweep *sweep = data;
	struct shmguard_buffer *buffer = shmguard_buffer_from_resource(resource);
	if (buffer == NULL) {
		return WL_ITERATOR_CONTINUE;
	}
	void *pixels;
	if (shmguard_buffer_begin_access(buffer, SHMGUARD_ACCESS_READ, &pixels) != 0) {
		sweep->bad_bytes++;
		return WL_ITERATOR_CONTINUE;
	}
	const volatile uint8_t *bytes = pixels;
	sweep->bad_bytes += bytes[PAGE + 1] != 0;
	sweep->bad_bytes += bytes[1] == 0 && bytes[2] == 0 && bytes[3] == 0;
	struct shmguard_fault_report report;
	sweep->faulted += shmguard_buffer_end_access(buffer, &report);
	sweep->buffers++;
	return WL_ITERATOR_CONTINUE;
}

static void
cut_and_read(struct test_client *client, uint32_t pools)
{
	harness_send(client, CTL_GO, 0);
	struct ctl_msg msg;
	harness_recv(client, &msg);
	assert_int_equal(msg.kind, CTL_STEP);
	struct read_sweep sweep = {0};
	wl_client_for_each_resource(client->client, read_buffer, &sweep);
	assert_int_equal(sweep.buffers, pools);
	assert_int_equal(sweep.faulted, pools);
	assert_int_equal(sweep.bad_bytes, 0);
}

static void
test_one_client_cannot_take_every_mapping(void **state)
{
	/* Read vm.max_map_count again, as a compositor starting now would. */
	shmguard_set_max_mappings(0);
	shmguard_set_max_pool_fds(2 * OLD_BOUND);
	struct shmguard_shm_options options = {
		/* Faulted clients stay, so that every pool can fault. */
		.fault_policy = SHMGUARD_FAULT_POLICY_ZEROS,
		.client_limits = {.max_pools = 2 * OLD_BOUND},
	};
	struct harness *harness = harness_create(&options);
	harness->deadline_ms = 60000;

	/* A client makes every pool it can. */
	struct pools_arg all = {.count = OLD_BOUND};
	struct test_client *greedy = harness_spawn(harness, client_makes_pools, &all);
	struct ctl_msg msg;
	harness_recv(greedy, &msg);
	struct test_client *holder = greedy;
	uint32_t share = OLD_BOUND;
	if (msg.kind == CTL_PROTOCOL_ERROR) {
		/* Refused at its share, named in the error; the next client
		 * takes exactly that share, and stays. */
		assert_non_null(strstr(msg.text, "over budget: the client already has "));
		assert_non_null(strstr(msg.text, " mappings (limit "));
		msg = expect_pools(greedy);
		assert_int_equal(msg.values[1], 1);
		share = msg.values[0];
		harness_wait_exit(greedy);
		struct pools_arg exactly = {.count = share};
		holder = harness_spawn(harness, client_makes_pools, &exactly);
		msg = expect_pools(holder);
	}
	assert_int_equal(msg.values[0], share);
	assert_int_equal(msg.values[1], 0);
	printf("# one client holds %u pools at vm.max_map_count %u\n", share,
		LOWERED_MAX_MAP_COUNT);

	/* Another client still gets its pools. */
	struct pools_arg few = {.count = OTHER_POOLS};
	struct test_client *other = harness_spawn(harness, client_makes_pools, &few);
	msg = expect_pools(other);
	assert_int_equal(msg.values[0], OTHER_POOLS);

	/* Every pool of both faults, and each fault is covered. */
	cut_and_read(holder, share);
	cut_and_read(other, OTHER_POOLS);
	assert_int_equal(harness->fault_count, share + OTHER_POOLS);
	harness_send(holder, CTL_GO, 0);
	harness_expect_ok(holder, NULL);
	harness_send(other, CTL_GO, 0);
	harness_expect_ok(other, NULL);
	harness_wait_exit(holder);
	harness_wait_exit(other);
	harness_destroy(harness);
	shmguard_set_max_pool_fds(0);
	shmguard_set_max_mappings(0);
}

int
main(void)
{
	struct rlimit files;
	rlim_t want = 4 * OLD_BOUND;
	if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < want) {
		files.rlim_cur = files.rlim_max < want ? files.rlim_max : want;
		setrlimit(RLIMIT_NOFILE, &files);
	}
	if (getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur < 2 * OLD_BOUND + 256) {
		printf("SKIP: RLIMIT_NOFILE must allow %u pools\n", 2 * OLD_BOUND);
		return 77;
	}
	unsigned long vmas = max_map_count_process_vmas();
	if (vmas > LOWERED_MAX_MAP_COUNT / 8) {
		printf("SKIP: this process already has %lu map entries\n", vmas);
		return 77;
	}
	const char *why = max_map_count_lower(LOWERED_MAX_MAP_COUNT);
	if (why != NULL) {
		printf("SKIP: %s\n", why);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_client_cannot_take_every_mapping),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	max_map_count_restore();
	return failed;
}

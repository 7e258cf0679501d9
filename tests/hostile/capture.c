/*
 * hostile-client: screen capture (zwlr_screencopy_manager_v1) into
 * buffers the compositor cannot or should not be able to write.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <wayland-client.h>

#include "hostile.h"

int
hostile_capture_start(struct hostile *hostile, struct client_capture *capture)
{
	struct client *client = &hostile->client;
	if (client->screencopy_manager == NULL || client->output == NULL) {
		fprintf(stderr, "hostile-client: no zwlr_screencopy_manager_v1 or wl_output\n");
		return HOSTILE_EXIT_FAILURE;
	}
	int ret = client_capture_start(client, capture, hostile->timeout_ms);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0 || capture->failed || capture->width == 0 || capture->height == 0) {
		printf("capture: no usable buffer description\n");
		return HOSTILE_EXIT_FAILURE;
	}
	return 0;
}

int
hostile_capture_copy(
	struct hostile *hostile, struct client_capture *capture, struct wl_buffer *buffer)
{
	int ret = client_capture_copy(capture, buffer, hostile->timeout_ms);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0) {
		printf("capture: neither ready nor failed within %d ms\n", hostile->timeout_ms);
		return HOSTILE_EXIT_TIMEOUT;
	}
	if (capture->ready) {
		return 0;
	}
	printf("capture failed (zwlr_screencopy_frame_v1.failed)\n");
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	printf("still connected after the failed capture\n");
	return HOSTILE_EXIT_CAPTURE_FAILED;
}

/* The pool and buffer a capture is written into, over an fd of @p kind. */
struct capture_target {
	int memfd;
	struct wl_shm_pool *pool;
	struct wl_buffer *buffer;
	uint64_t size;
};

static int
capture_target_make(struct hostile *hostile, const struct client_capture *capture,
	enum hostile_fd_kind kind, struct capture_target *target)
{
	target->size = (uint64_t)capture->stride * capture->height;
	target->memfd = hostile_memfd_create(hostile, target->size, 0);
	if (target->memfd < 0) {
		return HOSTILE_EXIT_FAILURE;
	}
	int fd = hostile_fd_open(kind, target->memfd);
	if (fd < 0) {
		close(target->memfd);
		return HOSTILE_EXIT_FAILURE;
	}
	target->pool = wl_shm_create_pool(hostile->client.shm, fd, (int32_t)target->size);
	close(fd);
	hostile_print_created(target->pool);
	target->buffer = wl_shm_pool_create_buffer(target->pool, 0, (int32_t)capture->width,
		(int32_t)capture->height, (int32_t)capture->stride, capture->format);
	hostile_print_created(target->buffer);
	return 0;
}

static void
capture_target_destroy(struct capture_target *target)
{
	wl_buffer_destroy(target->buffer);
	wl_shm_pool_destroy(target->pool);
	close(target->memfd);
}

/* ------------------------------------------------------------------ */

/* capture [KIND]: one capture into a buffer of that fd kind. */
static int
attack_capture(struct hostile *hostile, int argc, char **argv)
{
	enum hostile_fd_kind kind = HOSTILE_FD_MEMFD;
	if (argc > 1 || (argc == 1 && !hostile_fd_kind_parse(argv[0], &kind))) {
		return HOSTILE_EXIT_USAGE;
	}
	struct client_capture capture;
	int ret = hostile_capture_start(hostile, &capture);
	if (ret != 0) {
		return ret;
	}
	struct capture_target target;
	ret = capture_target_make(hostile, &capture, kind, &target);
	if (ret != 0) {
		return ret;
	}
	printf("capture into a %s buffer of %ux%u\n", hostile_fd_kind_to_str(kind), capture.width,
		capture.height);
	ret = hostile_capture_copy(hostile, &capture, target.buffer);
	if (ret == 0) {
		printf("capture ready\n");
		ret = hostile_finish(hostile);
	}
	client_capture_finish(&capture);
	capture_target_destroy(&target);
	return ret;
}

static int
attack_capture_truncated(struct hostile *hostile, int argc, char **argv)
{
	struct client_capture capture;
	int ret = hostile_capture_start(hostile, &capture);
	if (ret != 0) {
		return ret;
	}
	struct capture_target target;
	ret = capture_target_make(hostile, &capture, HOSTILE_FD_MEMFD, &target);
	if (ret != 0) {
		return ret;
	}
	/* Let the pool and buffer be made while the file is whole. */
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ftruncate(target.memfd, 0) != 0) {
		perror("hostile-client: ftruncate");
		return HOSTILE_EXIT_FAILURE;
	}
	printf("truncated the capture buffer's file to 0 bytes, then asked for the copy\n");
	ret = hostile_capture_copy(hostile, &capture, target.buffer);
	if (ret == 0) {
		printf("capture ready\n");
		ret = hostile_finish(hostile);
	}
	return ret;
}

/* capture-truncate-loop: captures while another thread truncates and
 * regrows the target file as fast as it can. */
struct regrow {
	int memfd;
	off_t size;
	atomic_bool stop;
	atomic_ulong cycles;
};

static void *
regrow_loop(void *data)
{
	struct regrow *regrow = data;
	/* As long truncated as whole, so that captures meet both. */
	struct timespec delay = {.tv_nsec = 300 * 1000};
	while (!atomic_load(&regrow->stop)) {
		if (ftruncate(regrow->memfd, 0) != 0) {
			break;
		}
		nanosleep(&delay, NULL);
		if (ftruncate(regrow->memfd, regrow->size) != 0) {
			break;
		}
		atomic_fetch_add(&regrow->cycles, 1);
		nanosleep(&delay, NULL);
	}
	return NULL;
}

static int
attack_capture_truncate_loop(struct hostile *hostile, int argc, char **argv)
{
	int64_t count = 50;
	if (argc > 1 || (argc == 1 && !hostile_parse_int(argv[0], 1, 100000, &count))) {
		return HOSTILE_EXIT_USAGE;
	}
	struct client_capture capture;
	int ret = hostile_capture_start(hostile, &capture);
	if (ret != 0) {
		return ret;
	}
	struct capture_target target;
	ret = capture_target_make(hostile, &capture, HOSTILE_FD_MEMFD, &target);
	if (ret != 0) {
		return ret;
	}
	if ((ret = hostile_roundtrip(hostile)) < 0) {
		return hostile_report_failure(hostile);
	}
	struct regrow regrow = {.memfd = target.memfd, .size = (off_t)target.size};
	pthread_t thread;
	if (pthread_create(&thread, NULL, regrow_loop, &regrow) != 0) {
		return HOSTILE_EXIT_FAILURE;
	}
	unsigned ready = 0, failed = 0;
	int64_t i = 0;
	for (; i < count; i++) {
		if (i > 0) {
			client_capture_finish(&capture);
			if ((ret = hostile_capture_start(hostile, &capture)) != 0) {
				break;
			}
		}
		ret = hostile_capture_copy(hostile, &capture, target.buffer);
		if (ret == 0) {
			ready++;
		} else if (ret == HOSTILE_EXIT_CAPTURE_FAILED) {
			failed++;
		} else {
			break;
		}
		ret = 0;
	}
	atomic_store(&regrow.stop, true);
	pthread_join(thread, NULL);
	printf("captures: %u ready, %u failed, of %lld asked; %lu truncate-regrow cycles\n", ready,
		failed, (long long)count, atomic_load(&regrow.cycles));
	if (ret != 0) {
		return ret;
	}
	return hostile_finish(hostile);
}

const struct hostile_attack hostile_capture_attacks[] = {
	{"capture", "[KIND]", "one capture into a buffer over an fd of KIND (memfd)",
		attack_capture},
	{"capture-truncated", "", "a capture into a buffer whose file was truncated",
		attack_capture_truncated},
	{"capture-truncate-loop", "[COUNT]",
		"COUNT captures while a thread truncates and regrows the file",
		attack_capture_truncate_loop},
	{NULL, NULL, NULL, NULL},
};

/*
 * compositor-demo: the wl_shm global. By default libshmguard's, handed to
 * wlroots through its adapter so wlr_compositor and wlr_scene take our
 * buffers; with --builtin-shm the one wlroots would serve
 * (wlr_renderer_init_wl_display), for comparison: libwayland's with
 * wlroots 0.15, wlroots' own (wlr_shm) since 0.17. Also the one place that
 * touches a client's shm buffer directly: the write-back of a screen
 * capture.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <shmguard/shmguard.h>
#include <shmguard/wayland.h>
#include <shmguard/wlr.h>
#include <wayland-server-core.h>
#include <wayland-server-protocol.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/util/log.h>

#include "server.h"
#include "wlr-compat.h"

/* What --builtin-shm serves, as the log says it. */
#if COMPAT_WLR_AT_LEAST(18)
#define BUILTIN_SHM "wlroots' (wlr_shm, wlroots " WLR_VERSION_STR ")"
#else
#define BUILTIN_SHM "libwayland's"
#endif

/* At most this many fault lines a second; a client can fault at will. */
#define FAULT_LINES_PER_SECOND 10

struct demo_shm {
	struct shmguard_shm *shm; /* NULL with --builtin-shm */
	struct shmguard_wlr *wlr;
	time_t fault_second;
	uint32_t fault_lines; /* logged in fault_second */
	uint64_t faults_unlogged;
};

static const enum shmguard_fault_policy policies[] = {
	[DEMO_POLICY_DISCONNECT] = SHMGUARD_FAULT_POLICY_DISCONNECT,
	[DEMO_POLICY_ZEROS] = SHMGUARD_FAULT_POLICY_ZEROS,
	[DEMO_POLICY_REVALIDATE] = SHMGUARD_FAULT_POLICY_REVALIDATE,
};

/* One line per fault: who, which pool, what happened, what was done. */
static void
handle_fault(const struct shmguard_fault_event *event, void *user_data)
{
	struct demo_shm *shm = user_data;
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != shm->fault_second) {
		shm->fault_second = now.tv_sec;
		shm->fault_lines = 0;
	}
	if (shm->fault_lines++ >= FAULT_LINES_PER_SECOND) {
		shm->faults_unlogged++;
		return;
	}
	if (shm->faults_unlogged > 0) {
		demo_log("fault: %llu more faults were not logged (at most %d lines a second)",
			(unsigned long long)shm->faults_unlogged, FAULT_LINES_PER_SECOND);
		shm->faults_unlogged = 0;
	}
	char name[64];
	const struct shmguard_fault_report *report = event->report;
	demo_log("fault: %s, wl_shm_pool@%u wl_buffer@%u: %s, file %llu bytes, at byte %llu: %s",
		demo_client_name(event->client, name, sizeof(name)), event->pool_id,
		event->buffer_id, shmguard_fault_kind_to_str(report->kind),
		(unsigned long long)report->file_size, (unsigned long long)report->offset,
		event->action == SHMGUARD_FAULT_ACTION_DISCONNECTED
			? "client disconnected with wl_shm.invalid_fd"
			: shmguard_fault_action_to_str(event->action));
}

/* libshmguard's messages go through wlroots' log, at matching levels. */
static void
handle_library_log(enum shmguard_log_level level, const char *format, va_list args, void *user_data)
{
	static const enum wlr_log_importance importance[] = {
		[SHMGUARD_LOG_ERROR] = WLR_ERROR,
		[SHMGUARD_LOG_WARNING] = WLR_ERROR,
		[SHMGUARD_LOG_INFO] = WLR_INFO,
		[SHMGUARD_LOG_DEBUG] = WLR_DEBUG,
	};
	char line[512];
	vsnprintf(line, sizeof(line), format, args);
	_wlr_log(importance[level], "libshmguard: %s", line);
}

/*
 * The formats the renderer can texture from, as wl_shm codes: what
 * wlroots would advertise, less the two every wl_shm has.
 */
static size_t
renderer_shm_formats(struct wlr_renderer *renderer, uint32_t *out, size_t capacity)
{
	uint32_t drm_formats[128];
	size_t len = compat_renderer_shm_formats(renderer, drm_formats, 128);
	size_t count = 0;
	for (size_t i = 0; i < len && count < capacity; i++) {
		const struct shmguard_format_info *info = shmguard_format_from_drm(drm_formats[i]);
		if (info == NULL || info->shm_format == WL_SHM_FORMAT_ARGB8888 ||
			info->shm_format == WL_SHM_FORMAT_XRGB8888) {
			continue;
		}
		out[count++] = info->shm_format;
	}
	return count;
}

bool
shm_init(struct server *server)
{
	struct demo_shm *shm = calloc(1, sizeof(*shm));
	if (shm == NULL) {
		return false;
	}
	server->shm = shm;
	if (server->options.builtin_shm) {
		if (!wlr_renderer_init_wl_display(server->renderer, server->display)) {
			wlr_log(WLR_ERROR, "cannot create %s wl_shm", BUILTIN_SHM);
			return false;
		}
		demo_log("wl_shm: %s (--builtin-shm)", BUILTIN_SHM);
		return true;
	}

	shmguard_log_set_handler(handle_library_log, NULL);
	shmguard_log_set_level(server->options.verbose ? SHMGUARD_LOG_DEBUG : SHMGUARD_LOG_WARNING);
	uint32_t formats[64];
	struct shmguard_shm_options options = {
		.formats = formats,
		.formats_len = renderer_shm_formats(server->renderer, formats, 64),
		.fault_policy = policies[server->options.policy],
		.fault_handler = handle_fault,
		.fault_user_data = shm,
	};
	shm->shm = shmguard_shm_create(server->display, &options);
	if (shm->shm == NULL) {
		wlr_log(WLR_ERROR, "shmguard_shm_create: %s", strerror(errno));
		return false;
	}
	shm->wlr = shmguard_wlr_create(shm->shm);
	if (shm->wlr == NULL) {
		wlr_log(WLR_ERROR, "shmguard_wlr_create: %s", strerror(errno));
		return false;
	}
	demo_log("wl_shm: libshmguard %s, fault policy %s, %zu formats beyond the 2 required",
		shmguard_version(), shmguard_fault_policy_to_str(options.fault_policy),
		options.formats_len);
	return true;
}

void
shm_finish(struct server *server)
{
	struct demo_shm *shm = server->shm;
	if (shm == NULL) {
		return;
	}
	if (shm->faults_unlogged > 0) {
		demo_log("fault: %llu more faults were not logged",
			(unsigned long long)shm->faults_unlogged);
	}
	shmguard_wlr_destroy(shm->wlr);
	shmguard_shm_destroy(shm->shm);
	free(shm);
	server->shm = NULL;
	shmguard_log_set_handler(NULL, NULL);
}

#if COMPAT_WLR_AT_LEAST(18)
/* wlroots' wl_shm (wlr_shm): its buffers are wlr_buffers that offer the
 * file (get_shm) and a data pointer, under wlroots' own SIGBUS handler,
 * which maps zeros over a faulting pool and tells no one. */
static bool
builtin_describe(struct wl_resource *resource, struct shm_buffer_info *info)
{
	struct wlr_buffer *buffer = wlr_buffer_try_from_resource(resource);
	if (buffer == NULL) {
		return false;
	}
	struct wlr_shm_attributes shm;
	bool ok = wlr_buffer_get_shm(buffer, &shm);
	const struct shmguard_format_info *format =
		ok ? shmguard_format_from_drm(shm.format) : NULL;
	if (format != NULL) {
		info->format = format->shm_format;
		info->width = shm.width;
		info->height = shm.height;
		info->stride = shm.stride;
	}
	wlr_buffer_unlock(buffer);
	return format != NULL;
}

static bool
builtin_write(struct wl_resource *resource, const void *pixels, uint32_t src_stride,
	uint32_t row_bytes, int32_t height)
{
	struct wlr_buffer *buffer = wlr_buffer_try_from_resource(resource);
	if (buffer == NULL) {
		return false;
	}
	void *data = NULL;
	uint32_t format = 0;
	size_t stride = 0;
	bool ok = wlr_buffer_begin_data_ptr_access(
		buffer, WLR_BUFFER_DATA_PTR_ACCESS_WRITE, &data, &format, &stride);
	if (ok) {
		for (int32_t row = 0; row < height; row++) {
			memcpy((uint8_t *)data + (size_t)row * stride,
				(const uint8_t *)pixels + (size_t)row * src_stride, row_bytes);
		}
		wlr_buffer_end_data_ptr_access(buffer);
	}
	wlr_buffer_unlock(buffer);
	return ok;
}
#else
/* libwayland's wl_shm: its own SIGBUS handling, no way to learn of a fault. */
static bool
builtin_describe(struct wl_resource *resource, struct shm_buffer_info *info)
{
	struct wl_shm_buffer *buffer = wl_shm_buffer_get(resource);
	if (buffer == NULL) {
		return false;
	}
	info->format = wl_shm_buffer_get_format(buffer);
	info->width = wl_shm_buffer_get_width(buffer);
	info->height = wl_shm_buffer_get_height(buffer);
	info->stride = wl_shm_buffer_get_stride(buffer);
	return true;
}

static bool
builtin_write(struct wl_resource *resource, const void *pixels, uint32_t src_stride,
	uint32_t row_bytes, int32_t height)
{
	struct wl_shm_buffer *buffer = wl_shm_buffer_get(resource);
	int32_t stride = wl_shm_buffer_get_stride(buffer);
	wl_shm_buffer_begin_access(buffer);
	uint8_t *data = wl_shm_buffer_get_data(buffer);
	for (int32_t row = 0; row < height; row++) {
		memcpy(data + (size_t)row * (size_t)stride,
			(const uint8_t *)pixels + (size_t)row * src_stride, row_bytes);
	}
	wl_shm_buffer_end_access(buffer);
	return true;
}
#endif

bool
shm_buffer_describe(
	struct server *server, struct wl_resource *resource, struct shm_buffer_info *info)
{
	if (server->shm->shm == NULL) {
		return builtin_describe(resource, info);
	}
	struct shmguard_buffer *buffer = shmguard_buffer_from_resource(resource);
	if (buffer == NULL) {
		return false;
	}
	info->format = shmguard_buffer_get_format(buffer);
	info->width = shmguard_buffer_get_width(buffer);
	info->height = shmguard_buffer_get_height(buffer);
	info->stride = shmguard_buffer_get_stride(buffer);
	return true;
}

bool
shm_buffer_write(struct server *server, struct wl_resource *resource, const void *pixels,
	uint32_t src_stride, uint32_t row_bytes, int32_t height, const char **why)
{
	struct demo_shm *shm = server->shm;
	if (shm->shm == NULL) {
		return builtin_write(resource, pixels, src_stride, row_bytes, height);
	}
	struct shmguard_buffer *buffer = shmguard_buffer_from_resource(resource);
	enum shmguard_pool_error reason = SHMGUARD_POOL_OK;
	if (!shmguard_buffer_allows(buffer, SHMGUARD_ACCESS_WRITE, &reason)) {
		*why = shmguard_pool_error_to_str(reason);
		return false;
	}
	uint32_t stride = (uint32_t)shmguard_buffer_get_stride(buffer);
	if (stride != src_stride || row_bytes > stride) {
		*why = "the buffer's stride differs from the capture's";
		return false;
	}

	/*
	 * A fault here is the client truncating the buffer it asked us to
	 * fill: the frame fails, and the library applies --policy to the
	 * client as for any other fault (by default wl_shm.invalid_fd).
	 */
	struct shmguard_fault_report report;
	size_t length = (size_t)stride * (size_t)(height - 1) + row_bytes;
	int ret = shmguard_buffer_write(buffer, 0, pixels, length, &report);
	if (ret == -EFAULT) {
		*why = report.kind == SHMGUARD_FAULT_IO_ERROR ? "I/O error on the client's file"
							      : "the client truncated its file";
		return false;
	} else if (ret < 0) {
		*why = strerror(-ret);
		return false;
	}
	return true;
}

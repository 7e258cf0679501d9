/*
 * libshmguard-preload-wlroots: wlroots' wl_shm (since 0.17), served by
 * libshmguard. Preloaded into an unmodified wlroots compositor, these
 * definitions of wlr_shm_create() and wlr_shm_create_with_renderer() come
 * first in symbol lookup, and wlroots' own wlr_renderer_init_wl_shm()
 * reaches them through its PLT: the wl_shm global is libshmguard's, its
 * buffers become wlr_buffers through the wlroots adapter
 * (adapters/wlr_buffer.c), whose data pointer access is an access window,
 * read for the renderers and write for screencopy's copy into a client's
 * buffer.
 *
 * The struct wlr_shm * handed back is the head of our record: its one
 * public field, global, is our global. wlroots frees its own wlr_shm when
 * the display is destroyed, and so does this one.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wayland-server-core.h>
#include <wlr/render/drm_format_set.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/types/wlr_shm.h>
#include <wlr/version.h>

#include "shmguard/wayland.h"
#include "shmguard/wlr.h"

#include "../log.h"
#include "../wayland/shm.h"
#include "preload_name.h"
#include "preload_settings.h"
#include "wlroots_check.h"

#define PRELOAD_EXPORT __attribute__((visibility("default")))

struct preload_wlr_shm {
	/* First: the compositor holds a pointer to it. */
	struct wlr_shm base;
	struct shmguard_shm *shm;
	struct shmguard_wlr *adapter;
	struct wl_listener display_destroy;
};

__attribute__((constructor)) static void
check_at_load(void)
{
	wlroots_check_or_die();
}

static void
handle_display_destroy(struct wl_listener *listener, void *data)
{
	struct preload_wlr_shm *record = wl_container_of(listener, record, display_destroy);
	wl_list_remove(&record->display_destroy.link);
	shmguard_wlr_destroy(record->adapter);
	shmguard_shm_destroy(record->shm);
	free(record);
}

/* Turn wlroots' DRM codes into the wl_shm codes libshmguard advertises,
 * leaving out what its format table lacks (it could not check strides).
 * Returns the number kept in @p shm_formats (room for @p len). */
static size_t
shm_formats_from_drm(const uint32_t *drm_formats, size_t len, uint32_t *shm_formats)
{
	size_t kept = 0;
	for (size_t i = 0; i < len; i++) {
		const struct shmguard_format_info *info = shmguard_format_from_drm(drm_formats[i]);
		if (info == NULL) {
			log_message(SHMGUARD_LOG_DEBUG,
				"wlroots offers DRM format 0x%08x, not in libshmguard's format "
				"table: not advertised",
				drm_formats[i]);
			continue;
		}
		shm_formats[kept++] = info->shm_format;
	}
	return kept;
}

PRELOAD_EXPORT struct wlr_shm *
wlr_shm_create(
	struct wl_display *display, uint32_t version, const uint32_t *formats, size_t formats_len)
{
	struct shmguard_shm_options options = {0};
	preload_settings_read(&options);
	uint32_t *shm_formats = calloc(formats_len > 0 ? formats_len : 1, sizeof(*shm_formats));
	struct preload_wlr_shm *record = calloc(1, sizeof(*record));
	if (shm_formats == NULL || record == NULL) {
		goto err;
	}
	options.formats = shm_formats;
	options.formats_len = shm_formats_from_drm(formats, formats_len, shm_formats);
	record->shm = shm_create(display, &options, version);
	if (record->shm == NULL) {
		goto err;
	}
	record->adapter = shmguard_wlr_create(record->shm);
	if (record->adapter == NULL) {
		shmguard_shm_destroy(record->shm);
		goto err;
	}
	record->base.global = record->shm->global;
	/* Behind the wl_shm layer's own listener, added by shm_create(): the
	 * global is detached from the display before the record lets go. */
	record->display_destroy.notify = handle_display_destroy;
	wl_display_add_destroy_listener(display, &record->display_destroy);
	fprintf(stderr,
		"%s: wl_shm served by libshmguard %s for wlroots %d.%d.%d (%zu formats; fault "
		"policy: %s, file policy: %s)\n",
		preload_name, shmguard_version(), WLR_VERSION_MAJOR, WLR_VERSION_MINOR,
		WLR_VERSION_MICRO, record->shm->formats_len,
		shmguard_fault_policy_to_str(options.fault_policy), preload_settings_file_policy());
	free(shm_formats);
	return &record->base;

err:
	fprintf(stderr, "%s: creating the wl_shm global failed: %s\n", preload_name,
		strerror(errno != 0 ? errno : ENOMEM));
	free(record);
	free(shm_formats);
	return NULL;
}

PRELOAD_EXPORT struct wlr_shm *
wlr_shm_create_with_renderer(
	struct wl_display *display, uint32_t version, struct wlr_renderer *renderer)
{
	const struct wlr_drm_format_set *set =
		wlr_renderer_get_texture_formats(renderer, WLR_BUFFER_CAP_DATA_PTR);
	if (set == NULL || set->len == 0) {
		fprintf(stderr, "%s: the renderer can read no format from memory: no wl_shm\n",
			preload_name);
		return NULL;
	}
	uint32_t *drm_formats = calloc(set->len, sizeof(*drm_formats));
	if (drm_formats == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < set->len; i++) {
		drm_formats[i] = set->formats[i].format;
	}
	struct wlr_shm *shm = wlr_shm_create(display, version, drm_formats, set->len);
	free(drm_formats);
	return shm;
}

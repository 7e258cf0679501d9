/* The preload's state for one wl_display (see preload_display.h). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include <wayland-server-core.h>

#include "shmguard/wayland.h"

#include "../log.h"
#include "../wayland/shm.h"
#include "preload_display.h"

/* libwayland offers no call to remove the wl_shm global: it goes with the
 * display, and so does ours (after the layer's own listener detached it,
 * see preload_display_serve_shm()). */
static void
handle_display_destroy(struct wl_listener *listener, void *data)
{
	struct preload_display *preload = wl_container_of(listener, preload, display_destroy);
	wl_list_remove(&preload->display_destroy.link);
	shmguard_shm_destroy(preload->shm);
	free(preload);
}

struct preload_display *
preload_display_get(struct wl_display *display)
{
	struct wl_listener *listener =
		wl_display_get_destroy_listener(display, handle_display_destroy);
	if (listener != NULL) {
		struct preload_display *preload =
			wl_container_of(listener, preload, display_destroy);
		return preload;
	}
	struct preload_display *preload = calloc(1, sizeof(*preload));
	if (preload == NULL) {
		return NULL;
	}
	preload->display = display;
	preload->display_destroy.notify = handle_display_destroy;
	wl_display_add_destroy_listener(display, &preload->display_destroy);
	return preload;
}

uint32_t *
preload_display_add_format(struct preload_display *preload, uint32_t format)
{
	if (shmguard_format_get_info(format) == NULL) {
		log_message(SHMGUARD_LOG_WARNING,
			"wl_display_add_shm_format(0x%08x): not in libshmguard's format table "
			"(no bytes per pixel to check strides with): not advertised",
			format);
		return NULL;
	}
	for (size_t i = 0; i < preload->added_len; i++) {
		if (preload->added[i] == format) {
			return &preload->added[i];
		}
	}
	if (preload->added_len == PRELOAD_MAX_ADDED_FORMATS ||
		(preload->shm != NULL && !shm_add_format(preload->shm, format))) {
		return NULL;
	}
	preload->added[preload->added_len] = format;
	return &preload->added[preload->added_len++];
}

int
preload_display_serve_shm(
	struct preload_display *preload, const struct shmguard_shm_options *options)
{
	if (preload->shm != NULL) {
		return -EEXIST;
	}
	struct shmguard_shm *shm = shmguard_shm_create(preload->display, options);
	if (shm == NULL) {
		return -errno;
	}
	shm->libwayland_contract = true;
	for (size_t i = 0; i < preload->added_len; i++) {
		if (!shm_add_format(shm, preload->added[i])) {
			log_message(SHMGUARD_LOG_ERROR, "advertising format 0x%08x failed",
				preload->added[i]);
		}
	}
	preload->shm = shm;
	/* Behind the layer's own destroy listener, which shmguard_shm_create()
	 * just added: the global is detached from the display before this
	 * record lets go of it. */
	wl_list_remove(&preload->display_destroy.link);
	wl_display_add_destroy_listener(preload->display, &preload->display_destroy);
	return 0;
}

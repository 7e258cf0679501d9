/*
 * libshmguard-preload: libwayland-server's wl_shm API, served by
 * libshmguard. Preloaded (LD_PRELOAD) into an unmodified compositor, these
 * definitions come first in symbol lookup, so the compositor's calls reach
 * them instead of libwayland-server's: the wl_shm global, its pools and
 * buffers are libshmguard's, and each function keeps libwayland's
 * documented contract on top of them.
 *
 * The opaque struct wl_shm_buffer * handed to the compositor is a
 * struct shmguard_buffer *, and so is its struct wl_shm_pool *.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wayland-server-core.h>

#include "shmguard/wayland.h"

#include "../log.h"
#include "../wayland/buffer.h"
#include "../wayland/buffer_hold.h"
#include "interposition_check.h"
#include "preload_display.h"
#include "preload_name.h"
#include "preload_settings.h"

#define PRELOAD_EXPORT __attribute__((visibility("default")))

const char preload_name[] = "libshmguard-preload";

/* libwayland 1.24 made the getters take a const buffer (the ABI is the
 * same): declare them as the headers we are built with do. */
#if WAYLAND_VERSION_MAJOR > 1 || WAYLAND_VERSION_MINOR > 23 ||                                     \
	(WAYLAND_VERSION_MINOR == 23 && WAYLAND_VERSION_MICRO >= 90)
#define GETTER_CONST const
#else
#define GETTER_CONST
#endif

static inline struct shmguard_buffer *
to_buffer(struct wl_shm_buffer *buffer)
{
	return (struct shmguard_buffer *)buffer;
}

static inline const struct shmguard_buffer *
to_const_buffer(const struct wl_shm_buffer *buffer)
{
	return (const struct shmguard_buffer *)buffer;
}

PRELOAD_EXPORT int
wl_display_init_shm(struct wl_display *display)
{
	interposition_check_or_die();
	struct shmguard_shm_options options = {0};
	preload_settings_read(&options);
	struct preload_display *preload = preload_display_get(display);
	int ret = preload != NULL ? preload_display_serve_shm(preload, &options) : -ENOMEM;
	if (ret != 0) {
		fprintf(stderr, "%s: creating the wl_shm global failed: %s\n", preload_name,
			strerror(-ret));
		return -1;
	}
	fprintf(stderr, "%s: wl_shm served by libshmguard %s (fault policy: %s, file policy: %s)\n",
		preload_name, shmguard_version(),
		shmguard_fault_policy_to_str(options.fault_policy), preload_settings_file_policy());
	return 0;
}

/* Per display, as libwayland keeps them: before or after
 * wl_display_init_shm(). */
PRELOAD_EXPORT uint32_t *
wl_display_add_shm_format(struct wl_display *display, uint32_t format)
{
	struct preload_display *preload = preload_display_get(display);
	return preload != NULL ? preload_display_add_format(preload, format) : NULL;
}

PRELOAD_EXPORT struct wl_shm_buffer *
wl_shm_buffer_get(struct wl_resource *resource)
{
	return (struct wl_shm_buffer *)shmguard_buffer_from_resource(resource);
}

/* Deprecated, and a stub in libwayland 1.21 that always returns NULL: so
 * does this one. */
PRELOAD_EXPORT struct wl_shm_buffer *
wl_shm_buffer_create(struct wl_client *client, uint32_t id, int32_t width, int32_t height,
	int32_t stride, uint32_t format)
{
	return NULL;
}

PRELOAD_EXPORT void *
wl_shm_buffer_get_data(struct wl_shm_buffer *buffer)
{
	return buffer_pinned_data(to_buffer(buffer));
}

PRELOAD_EXPORT int32_t
wl_shm_buffer_get_stride(GETTER_CONST struct wl_shm_buffer *buffer)
{
	return shmguard_buffer_get_stride(to_const_buffer(buffer));
}

PRELOAD_EXPORT uint32_t
wl_shm_buffer_get_format(GETTER_CONST struct wl_shm_buffer *buffer)
{
	return shmguard_buffer_get_format(to_const_buffer(buffer));
}

PRELOAD_EXPORT int32_t
wl_shm_buffer_get_width(GETTER_CONST struct wl_shm_buffer *buffer)
{
	return shmguard_buffer_get_width(to_const_buffer(buffer));
}

PRELOAD_EXPORT int32_t
wl_shm_buffer_get_height(GETTER_CONST struct wl_shm_buffer *buffer)
{
	return shmguard_buffer_get_height(to_const_buffer(buffer));
}

/* Accesses nest, on one buffer or several pools at once (libwayland
 * allows one pool per thread). A window that cannot open (more than 32
 * nested on this thread, or no memory for the thread's window stack)
 * leaves that access unguarded, loudly; its end_access is then a no-op. */
PRELOAD_EXPORT void
wl_shm_buffer_begin_access(struct wl_shm_buffer *buffer)
{
	void *data;
	int ret = shmguard_buffer_begin_access(to_buffer(buffer), SHMGUARD_ACCESS_READ, &data);
	if (ret != 0) {
		log_message(SHMGUARD_LOG_ERROR,
			"wl_shm_buffer_begin_access: no access window (%s): this access is not "
			"guarded",
			strerror(-ret));
	}
}

/* A fault in the window applies the fault policy: by default the client
 * gets wl_shm error invalid_fd on its wl_buffer, as libwayland posts. */
PRELOAD_EXPORT void
wl_shm_buffer_end_access(struct wl_shm_buffer *buffer)
{
	buffer_end_access_if_open(to_buffer(buffer));
}

/* The handle is the buffer itself: references count per buffer, so a
 * second wl_shm_buffer_ref_pool() on it returns the same pointer, and
 * every wl_shm_pool_unref() drops one. */
PRELOAD_EXPORT struct wl_shm_pool *
wl_shm_buffer_ref_pool(struct wl_shm_buffer *buffer)
{
	buffer_hold(to_buffer(buffer));
	return (struct wl_shm_pool *)buffer;
}

PRELOAD_EXPORT void
wl_shm_pool_unref(struct wl_shm_pool *pool)
{
	buffer_hold_release((struct shmguard_buffer *)pool);
}

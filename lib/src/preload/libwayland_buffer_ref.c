/*
 * libwayland 1.24's buffer references: wl_shm_buffer_ref() and
 * wl_shm_buffer_unref(). A compositor takes one to keep a buffer past its
 * wl_buffer resource (mutter, for a commit it applies later) and may go on
 * calling get_data, the getters and begin/end_access on it.
 *
 * libwayland 1.21-1.23 have neither function, so a compositor built
 * against them never calls these; the preload defines them for 1.24 and
 * later, whose libwayland-server exports them (the start-up check refuses
 * a libwayland-server with wl_shm functions the preload lacks).
 *
 * Here a buffer reference is the same hold as wl_shm_buffer_ref_pool()'s
 * (buffer_hold.h): the buffer, its pinned mapping and its geometry stay,
 * and the mapping is guarded with no access window, because nothing says
 * the compositor will open one. A fault after the resource is gone is
 * reported on the client's pool, or on its wl_shm if the pool is gone too
 * (libwayland 1.24 means to post an implementation error there).
 */
#include "config.h"

#include <wayland-server-core.h>

#include "../wayland/buffer_hold.h"

#define PRELOAD_EXPORT __attribute__((visibility("default")))

/* Declared here: libwayland's headers before 1.24 do not. */
PRELOAD_EXPORT struct wl_shm_buffer *
wl_shm_buffer_ref(struct wl_shm_buffer *buffer);
PRELOAD_EXPORT void
wl_shm_buffer_unref(struct wl_shm_buffer *buffer);

PRELOAD_EXPORT struct wl_shm_buffer *
wl_shm_buffer_ref(struct wl_shm_buffer *buffer)
{
	buffer_hold((struct shmguard_buffer *)buffer);
	return buffer;
}

/* The last reference frees the buffer if its resource is gone. An unref
 * without a reference is compositor misuse: it asserts, as libwayland
 * aborts. */
PRELOAD_EXPORT void
wl_shm_buffer_unref(struct wl_shm_buffer *buffer)
{
	buffer_hold_release((struct shmguard_buffer *)buffer);
}

/*
 * A stand-in for a newer libwayland-server (its file name says
 * libwayland-server.so) that exports wl_shm functions libshmguard-preload
 * does not provide; test-preload-refusal dlopen()s it.
 */
#include <stddef.h>

struct wl_shm_buffer;

__attribute__((visibility("default"))) struct wl_shm_buffer *
wl_shm_buffer_ref(struct wl_shm_buffer *buffer);
__attribute__((visibility("default"))) void
wl_shm_buffer_unref(struct wl_shm_buffer *buffer);

struct wl_shm_buffer *
wl_shm_buffer_ref(struct wl_shm_buffer *buffer)
{
	return buffer;
}

void
wl_shm_buffer_unref(struct wl_shm_buffer *buffer)
{
}

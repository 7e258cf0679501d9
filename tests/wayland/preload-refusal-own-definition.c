/*
 * A compositor that defines a function of libwayland's wl_shm API itself
 * (as one with a statically linked libwayland-server does) and exports
 * it: its calls would never reach libshmguard-preload, which must refuse
 * to run at load (test-preload-refusal checks that).
 */
#include <stdint.h>

#include <wayland-server-core.h>

__attribute__((visibility("default"))) void *
wl_shm_buffer_get_data(struct wl_shm_buffer *buffer)
{
	return buffer;
}

int
main(void)
{
	/* Only reached if the preload did not refuse. */
	struct wl_display *display = wl_display_create();
	wl_display_destroy(display);
	return 0;
}

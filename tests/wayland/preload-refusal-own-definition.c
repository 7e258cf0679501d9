/*
 * A program that defines a function of libwayland's wl_shm API itself (as
 * one with a statically linked libwayland-server does), exports it, and
 * links libwayland-server. test-preload-refusal runs it under
 * libshmguard-preload in two roles:
 *   - as a compositor (no argument) it creates a wl_shm global; its calls
 *     to wl_shm_buffer_get_data() would never reach the preload, which
 *     must refuse to run;
 *   - as a client ("--client") it never creates one, like the programs
 *     that merely load libwayland-server and inherit LD_PRELOAD from the
 *     compositor that started them (Xwayland and browsers, through
 *     libgbm): it must run normally.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <wayland-server-core.h>

__attribute__((visibility("default"))) void *
wl_shm_buffer_get_data(struct wl_shm_buffer *buffer)
{
	return buffer;
}

int
main(int argc, char *argv[])
{
	bool client = argc > 1 && strcmp(argv[1], "--client") == 0;
	struct wl_display *display = wl_display_create();
	if (display == NULL) {
		return 2;
	}
	/* The compositor only gets past this if the preload did not refuse. */
	int ret = client ? 0 : wl_display_init_shm(display);
	wl_display_destroy(display);
	if (client) {
		printf("the client ran\n");
	}
	return ret == 0 ? 0 : 3;
}

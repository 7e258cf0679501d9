/*
 * A minimal wlroots compositor for test-preload-wlroots-refusal: a pixman
 * renderer and wlr_renderer_init_wl_shm(), as sway and labwc make their
 * wl_shm. Says on stderr whose wl_shm it got: libshmguard's (under the
 * preload) or wlroots' own. Exit 0 when the global was made.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include <wayland-server-core.h>
#include <wlr/render/pixman.h>
#include <wlr/render/wlr_renderer.h>
#include <wlr/types/wlr_shm.h>
#include <wlr/util/log.h>

int
main(void)
{
	wlr_log_init(WLR_ERROR, NULL);
	struct wl_display *display = wl_display_create();
	struct wlr_renderer *renderer = wlr_pixman_renderer_create();
	if (display == NULL || renderer == NULL) {
		return 2;
	}
	bool made = wlr_renderer_init_wl_shm(renderer, display);
	/* The preload defines wlr_shm_create in its own object. */
	Dl_info where;
	void *create = dlsym(RTLD_DEFAULT, "wlr_shm_create");
	if (create != NULL && dladdr(create, &where) != 0 &&
		strstr(where.dli_fname, "libwlroots") != NULL) {
		fprintf(stderr, "wlroots' own wl_shm\n");
	}
	wlr_renderer_destroy(renderer);
	wl_display_destroy(display);
	return made ? 0 : 3;
}

/*
 * libshmguard-preload refuses, loudly, where it cannot keep libwayland's
 * contract, and only there. This program runs copies of compositors under
 * LD_PRELOAD (the preload's path is argv[1]) and checks each one's exit
 * status and message:
 *   - a libwayland-server that exports a wl_shm function the preload does
 *     not provide (a stand-in for a "1.27", dlopen()ed; argv[3]), and
 *     one that exports libwayland 1.26's, which runs (argv[4]);
 *   - a compositor that defines a wl_shm function itself, so that its
 *     calls never reach the preload (argv[2]);
 *   - and, as the controls, a plain compositor, which runs, and the same
 *     program as argv[2] in the role of a client (it links
 *     libwayland-server but creates no wl_shm global), which runs with
 *     not a word from the preload.
 * Run with "--compositor MODE [FAKE_LIBWAYLAND]", it is that compositor.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wayland-server-core.h>

#include "preload-run.h"

static int
run_compositor(const char *mode, const char *fake_libwayland)
{
	if (strcmp(mode, "newer-libwayland") == 0 &&
		dlopen(fake_libwayland, RTLD_NOW | RTLD_GLOBAL) == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", fake_libwayland, dlerror());
		return 2;
	}
	struct wl_display *display = wl_display_create();
	if (display == NULL) {
		return 2;
	}
	int ret = wl_display_init_shm(display);
	wl_display_destroy(display);
	return ret == 0 ? 0 : 3;
}

int
main(int argc, char *argv[])
{
	if (argc >= 3 && strcmp(argv[1], "--compositor") == 0) {
		return run_compositor(argv[2], argc > 3 ? argv[3] : NULL);
	}
	if (argc != 5) {
		fprintf(stderr,
			"usage: %s PRELOAD OWN_DEFINITION_COMPOSITOR FAKE_LIBWAYLAND_1_27 "
			"FAKE_LIBWAYLAND_1_26\n",
			argv[0]);
		return 2;
	}
	const char *preload = argv[1];
	bool ok = true;

	char *plain[] = {argv[0], "--compositor", "plain", NULL};
	const char *const served[] = {"libshmguard-preload: wl_shm served by libshmguard", NULL};
	ok &= preload_run_expect("a plain compositor runs", plain, preload, 0, served, false);

	char *current[] = {argv[0], "--compositor", "newer-libwayland", argv[4], NULL};
	ok &= preload_run_expect(
		"libwayland-server 1.26's fifteen wl_shm functions are all provided", current,
		preload, 0, served, false);

	char *newer[] = {argv[0], "--compositor", "newer-libwayland", argv[3], NULL};
	const char *const newer_says[] = {
		"refusing to run", "wl_shm_buffer_get_pool_size,", "does not provide", NULL};
	ok &= preload_run_expect("libwayland-server with an unknown wl_shm function", newer,
		preload, 1, newer_says, false);

	char *own[] = {argv[2], NULL};
	const char *const own_says[] = {
		"refusing to run", "calls to wl_shm_buffer_get_data do not reach", NULL};
	ok &= preload_run_expect("a compositor with its own wl_shm_buffer_get_data", own, preload,
		1, own_says, false);

	/* What the compositor starts inherits LD_PRELOAD; a program that only
	 * links libwayland-server is none of the preload's business, whatever
	 * it defines. */
	char *client[] = {argv[2], "--client", NULL};
	const char *const nothing[] = {NULL};
	ok &= preload_run_expect(
		"a client that links libwayland-server and defines wl_shm_buffer_get_data", client,
		preload, 0, nothing, true);
	return ok ? 0 : 1;
}

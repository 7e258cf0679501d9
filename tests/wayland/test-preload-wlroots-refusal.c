/*
 * libshmguard-preload-wlroots refuses, loudly and at start, where it
 * cannot serve the process's wlroots, and only there. This program runs
 * itself as a compositor under LD_PRELOAD with stand-in wlroots libraries
 * (fake-wlroots.c) preloaded too, so that they are loaded at start, and
 * checks each run's exit status and message:
 *   - a wlroots of another soname (another ABI): refused;
 *   - the wlroots the preload was built for, linked -Bsymbolic-functions
 *     so that wlr_renderer_init_wl_shm() never reaches the preload:
 *     refused;
 *   - the same without: it runs, and wlr_renderer_init_wl_shm() makes
 *     libshmguard's wl_shm, with the formats the renderer reports;
 *   - the preload loaded after wlroots: refused;
 *   - and, as the control, the program as a client with no wlroots at
 *     all (what the compositor starts inherits LD_PRELOAD): it runs, and
 *     the preload says nothing.
 * The real wlroots: argv[5], a program linking it that calls
 * wlr_renderer_init_wl_shm() on a pixman renderer, runs with the preload
 * (libshmguard's wl_shm) and without (wlroots' own).
 *
 * Usage: test-preload-wlroots-refusal PRELOAD FAKE_OTHER FAKE_SYMBOLIC
 *        FAKE_SAME REAL_COMPOSITOR
 * Run with "--compositor" or "--client", it is that program.
 */
#include <dlfcn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <wayland-server-core.h>

#include "preload-run.h"

/* wlroots' wlr_renderer_init_wl_shm(), found by name: this program does
 * not link wlroots, the preloaded stand-in brings it. */
static int
run_compositor(void)
{
	bool (*init_wl_shm)(void *renderer, struct wl_display *display);
	/* dlsym(3)'s own way past ISO C's object/function pointer rule. */
	*(void **)&init_wl_shm = dlsym(RTLD_DEFAULT, "wlr_renderer_init_wl_shm");
	if (init_wl_shm == NULL) {
		fprintf(stderr, "no wlr_renderer_init_wl_shm in the process\n");
		return 2;
	}
	struct wl_display *display = wl_display_create();
	if (display == NULL) {
		return 2;
	}
	bool made = init_wl_shm(NULL, display);
	wl_display_destroy(display);
	return made ? 0 : 3;
}

static char *
two(const char *first, const char *second)
{
	char *joined;
	if (asprintf(&joined, "%s:%s", first, second) < 0) {
		abort();
	}
	return joined;
}

int
main(int argc, char *argv[])
{
	if (argc == 2 && strcmp(argv[1], "--compositor") == 0) {
		return run_compositor();
	}
	if (argc == 2 && strcmp(argv[1], "--client") == 0) {
		return 0;
	}
	if (argc != 6) {
		fprintf(stderr,
			"usage: %s PRELOAD FAKE_OTHER FAKE_SYMBOLIC FAKE_SAME REAL_COMPOSITOR\n",
			argv[0]);
		return 2;
	}
	const char *preload = argv[1];
	char *compositor[] = {argv[0], "--compositor", NULL};
	bool ok = true;

	const char *const other_says[] = {"refusing to run", "soname libwlroots-0.99.so",
		"preload the libshmguard-preload-wlroots built against", NULL};
	ok &= preload_run_expect("a wlroots of another soname", compositor, two(preload, argv[2]),
		1, other_says, false);

	const char *const symbolic_says[] = {"refusing to run",
		"calls wlr_shm_create_with_renderer without looking the name up", NULL};
	ok &= preload_run_expect("wlroots linked -Bsymbolic-functions", compositor,
		two(preload, argv[3]), 1, symbolic_says, false);

	const char *const served[] = {"wl_shm served by libshmguard", "(3 formats;", NULL};
	ok &= preload_run_expect("the wlroots it was built for", compositor, two(preload, argv[4]),
		0, served, false);

	const char *const late_says[] = {
		"refusing to run", "calls to wlr_shm_create do not reach this preload", NULL};
	ok &= preload_run_expect("the preload after wlroots", compositor, two(argv[4], preload), 1,
		late_says, false);

	char *client[] = {argv[0], "--client", NULL};
	const char *const nothing[] = {NULL};
	ok &= preload_run_expect("a client without wlroots", client, preload, 0, nothing, true);

	char *real[] = {argv[5], NULL};
	const char *const real_served[] = {"wl_shm served by libshmguard", NULL};
	ok &= preload_run_expect("the real wlroots", real, preload, 0, real_served, false);
	const char *const wlroots_own[] = {"wlroots' own wl_shm", NULL};
	ok &= preload_run_expect(
		"the real wlroots without the preload", real, "", 0, wlroots_own, true);
	return ok ? 0 : 1;
}

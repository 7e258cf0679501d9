/* Refuse to run, loudly and at start, where libshmguard-preload-wlroots
 * cannot serve the process's wlroots. */
#ifndef SHMGUARD_PRELOAD_WLROOTS_CHECK_H
#define SHMGUARD_PRELOAD_WLROOTS_CHECK_H

/*
 * Exit with a message on stderr if the process has loaded a wlroots:
 * - whose soname is not the one the preload was built against (the
 *   structs it shares with wlroots, struct wlr_buffer first, differ
 *   between wlroots releases);
 * - that lacks wlr_shm_create() or wlr_shm_create_with_renderer();
 * - whose own call to wlr_shm_create_with_renderer() (from
 *   wlr_renderer_init_wl_shm()) is bound inside it at link time, so that
 *   no preload can take it over; or
 * - where the names wlr_shm_create and wlr_shm_create_with_renderer do
 *   not resolve to the preload (it is not loaded first).
 * A process without wlroots (a client that inherited LD_PRELOAD) passes
 * and is left alone. Called once, when the preload is loaded.
 */
void
wlroots_check_or_die(void);

#endif

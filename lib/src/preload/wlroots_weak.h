/*
 * Forced into every source file of libshmguard-preload-wlroots (-include):
 * the wlroots functions it calls are weak references, and the object does
 * not list wlroots as a dependency. A compositor's wlroots satisfies them
 * when the preload is loaded into it; the clients that inherit LD_PRELOAD
 * from the compositor do not load wlroots (and all its dependencies) for
 * it, and never reach these calls (nothing calls wlr_shm_create() there).
 * wlroots_check.c makes sure the wlroots satisfying them is the one the
 * preload was built against.
 */
#ifndef SHMGUARD_PRELOAD_WLROOTS_WEAK_H
#define SHMGUARD_PRELOAD_WLROOTS_WEAK_H

#pragma weak wlr_buffer_init
#pragma weak wlr_buffer_drop
#pragma weak wlr_buffer_finish
#pragma weak wlr_buffer_register_resource_interface
#pragma weak wlr_client_buffer_get
#pragma weak wlr_renderer_get_texture_formats

#endif

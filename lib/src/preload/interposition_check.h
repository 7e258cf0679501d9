/* Refuse to run, loudly, where the preload cannot keep libwayland's wl_shm
 * contract. */
#ifndef SHMGUARD_PRELOAD_INTERPOSITION_CHECK_H
#define SHMGUARD_PRELOAD_INTERPOSITION_CHECK_H

/*
 * Exit with a message on stderr, naming the function, if:
 * - a function of the wl_shm API does not resolve to the preload's own
 *   definition (the compositor defines it itself, e.g. a statically linked
 *   libwayland-server, or the preload is not loaded first), or
 * - a loaded libwayland-server exports a wl_shm function the preload does
 *   not provide (a newer libwayland's): a compositor calling it would hand
 *   libwayland one of libshmguard's buffers.
 * Called by wl_display_init_shm(), so that it runs in a compositor only:
 * a process that merely loads libwayland-server (a client the compositor
 * started, which inherits LD_PRELOAD) never runs it.
 */
void
interposition_check_or_die(void);

#endif

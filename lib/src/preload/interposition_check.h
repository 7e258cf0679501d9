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
 * Runs at load in a process where an object other than the preload needs
 * libwayland-server (a compositor; not a client the compositor starts
 * with the same environment), and always when called.
 */
void
interposition_check_or_die(void);

#endif

/* The preload's state for one wl_display: the formats the compositor adds
 * with wl_display_add_shm_format() and the wl_shm global that
 * wl_display_init_shm() makes. libwayland keeps both on the display, so
 * two displays in one process never share them; neither does the
 * preload. */
#ifndef SHMGUARD_PRELOAD_DISPLAY_H
#define SHMGUARD_PRELOAD_DISPLAY_H

#include <stddef.h>
#include <stdint.h>

#include <wayland-server-core.h>

#include "shmguard/wayland.h"

/* Stable storage for the codes wl_display_add_shm_format() returns: the
 * format table has fewer entries than this. */
#define PRELOAD_MAX_ADDED_FORMATS 128

struct preload_display {
	/* First: the display's listener list points at the record's start,
	 * so leak checkers (valgrind, in forked test clients) see it
	 * reachable. */
	struct wl_listener display_destroy;
	struct wl_display *display;
	struct shmguard_shm *shm; /* NULL until wl_display_init_shm() */
	uint32_t added[PRELOAD_MAX_ADDED_FORMATS];
	size_t added_len;
};

/* The preload's state for @p display, made on first use and freed with
 * the display. NULL on ENOMEM. Display thread. */
struct preload_display *
preload_display_get(struct wl_display *display);

/* Record @p format for the display, and advertise it at once if its
 * wl_shm global exists (else when it is made). Returns a pointer to the
 * stored code, valid for the display's life, or NULL for a format
 * libshmguard cannot check strides for (not advertised; logged). */
uint32_t *
preload_display_add_format(struct preload_display *preload, uint32_t format);

/* Make the display's wl_shm global under libwayland's contract, with the
 * formats added so far. Returns 0, or -errno (-EEXIST: it already has
 * one). */
int
preload_display_serve_shm(
	struct preload_display *preload, const struct shmguard_shm_options *options);

#endif

/*
 * libwayland's wl_shm_buffer_ref_pool(): a pool reference keeps a buffer's
 * memory, at the address buffer_pinned_data() gave, after the client
 * destroyed the wl_buffer. Compositors (wlroots 0.15) then read it with no
 * access window around, for as long as the client's surface shows it; so
 * while a buffer has references the guard holds its mapping
 * (guard_hold()): a fault there shows zeros and wakes the display thread,
 * which applies the fault policy at once. References count per buffer,
 * and need no allocation of their own.
 */
#ifndef SHMGUARD_WAYLAND_BUFFER_HOLD_H
#define SHMGUARD_WAYLAND_BUFFER_HOLD_H

#include "shmguard/wayland.h"

/* Take a pool reference on @p buffer (pinned: libwayland's contract). Never
 * fails: without memory for the guard's table, the memory is kept but not
 * guarded (logged). Any thread. */
void
buffer_hold(struct shmguard_buffer *buffer);

/* Drop one; with the last, a fault not yet reported is. Any thread. */
void
buffer_hold_release(struct shmguard_buffer *buffer);

/* Apply the fault policy for every held buffer of @p shm that faulted
 * since the last call. Display thread. */
void
buffer_holds_report_faults(struct shmguard_shm *shm);

#endif

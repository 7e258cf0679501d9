/*
 * libwayland's wl_shm_buffer_ref_pool(): a hold keeps a buffer's memory,
 * at the address buffer_pinned_data() gave, after the client destroyed
 * the wl_buffer. Compositors (wlroots 0.15) then read it with no access
 * window around, for as long as the client's surface shows it; so the
 * hold guards the mapping with no window (guard_hold()): a fault there
 * shows zeros and wakes the display thread, which applies the fault
 * policy at once.
 */
#ifndef SHMGUARD_WAYLAND_BUFFER_HOLD_H
#define SHMGUARD_WAYLAND_BUFFER_HOLD_H

#include "shmguard/wayland.h"

struct buffer_hold;

/* Hold @p buffer (pinned: libwayland's contract). NULL on ENOMEM. Any
 * thread. */
struct buffer_hold *
buffer_hold(struct shmguard_buffer *buffer);

/* End a hold; a fault not yet reported is. NULL is a no-op. Any thread. */
void
buffer_hold_release(struct buffer_hold *hold);

/* Apply the fault policy for every hold of @p shm that faulted since the
 * last call. Display thread. */
void
buffer_holds_report_faults(struct shmguard_shm *shm);

#endif

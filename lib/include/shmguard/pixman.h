/*
 * libshmguard pixman adapter: a pixman image over a wl_shm buffer for the
 * duration of an access window. Built when Meson finds pixman-1.
 */
#ifndef SHMGUARD_PIXMAN_H
#define SHMGUARD_PIXMAN_H

#include <stdbool.h>

#include <pixman.h>

#include "shmguard/wayland.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Open an access window on @p buffer (see shmguard_buffer_begin_access())
 * and return a pixman image over its pixels, in the pixman format of the
 * buffer's wl_shm format. The image is owned by the window: pass it to
 * shmguard_pixman_image_end() on the same thread; do not keep other
 * references to it past that call, since its pixels are then unmapped.
 * A client that truncates its file during a composite makes the missing
 * part read as zeros; the fault is reported at the end.
 *
 * Returns NULL with errno set: ENOTSUP (pixman has no such format), EINVAL
 * (the stride or offset is not a multiple of 4 bytes, which pixman
 * needs), EACCES/EPERM (WRITE refused: read-only or write-sealed fd; the
 * client is not disconnected for it), EMFILE, ENOSPC, ENOMEM. Any thread
 * (with a buffer reference held). Not async-signal-safe. Images on the
 * same or other buffers nest like access windows (32 per thread) and end
 * in reverse order per buffer.
 */
SHMGUARD_EXPORT pixman_image_t *
shmguard_pixman_image_begin(struct shmguard_buffer *buffer, enum shmguard_access_mode mode);

/**
 * Release @p image (from shmguard_pixman_image_begin() on @p buffer) and
 * close its access window. Returns true if the pool faulted, with
 * @p report (if not NULL) filled and the fault policy applied, exactly as
 * shmguard_buffer_end_access(). Same thread as the begin. Not
 * async-signal-safe.
 */
SHMGUARD_EXPORT bool
shmguard_pixman_image_end(struct shmguard_buffer *buffer, pixman_image_t *image,
	struct shmguard_fault_report *report);

#ifdef __cplusplus
}
#endif

#endif /* SHMGUARD_PIXMAN_H */

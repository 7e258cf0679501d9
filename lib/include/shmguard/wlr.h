/*
 * libshmguard wlroots adapter: our wl_buffers become wlr_buffers whose
 * data pointer access opens and closes access windows, so wlr_compositor,
 * wlr_scene and wlroots' renderers read client memory safely. Built when
 * Meson finds wlroots 0.15 (pkg-config wlroots) or 0.18 to 0.20
 * (wlroots-0.18 ... wlroots-0.20); the library is built for one of them.
 *
 * The compositor creates the wl_shm global with shmguard_shm_create() and
 * must not create wlroots' or libwayland's: do not call
 * wlr_renderer_init_wl_display(), wlr_renderer_init_wl_shm(),
 * wlr_shm_create() or wlr_shm_create_with_renderer() (wlroots' own wl_shm,
 * since 0.17), or wl_display_init_shm(). (wlr_renderer_init_wl_display()
 * also creates linux-dmabuf for GPU renderers: create that one by hand if
 * you need it.)
 *
 * Display thread only; nothing here is async-signal-safe.
 */
#ifndef SHMGUARD_WLR_H
#define SHMGUARD_WLR_H

#include "shmguard/wayland.h"

#ifdef __cplusplus
extern "C" {
#endif

struct wlr_buffer;

/** The adapter between one wl_shm global and wlroots. */
struct shmguard_wlr;

/**
 * Register with wlroots (wlr_buffer_register_resource_interface()) so that
 * wlr_buffer_from_resource() (wlr_buffer_try_from_resource() since 0.17),
 * and with it wlr_compositor and wlr_scene,
 * turn the wl_buffers of @p shm (borrowed; must outlive the adapter) into
 * wlr_buffers:
 * - begin_data_ptr_access() opens an access window (READ, or WRITE when
 *   asked), end_data_ptr_access() closes it, and a fault found there gets
 *   the fault policy of @p shm (by default wl_shm error invalid_fd);
 * - WRITE on a buffer whose fd forbids writes (a read-only fd, a
 *   write-sealed memfd: a client that gave one to screencopy) posts wl_shm
 *   error invalid_fd on the wl_buffer, naming why, and hands wlroots a
 *   private scratch of the buffer's size, freed with the wlr_buffer, so
 *   that the frame ends as usual: refusing the access instead would leave
 *   the buffer locked by wlroots' screencopy (0.18 to 0.20) for good;
 * - wl_buffer.release is sent whenever the wlr_buffer is released (its
 *   last lock dropped), while the wl_buffer exists;
 * - the wlr_buffer stays readable after the client destroyed the
 *   wl_buffer or disconnected, until wlroots unlocks it.
 * The wlr_buffers offer no get_shm() (that would hand the fd to code that
 * maps it unguarded) and no get_dmabuf(), so renderers use the data
 * pointer. wlroots 0.15 re-uploads whole textures for such buffers
 * (wlr_client_buffer_apply_damage() is for libwayland's shm only; later
 * releases update the damaged part); the pixman renderer reads them in
 * place without a copy.
 *
 * Several adapters may exist (say one per display): wlroots keeps one list
 * of resource interfaces per process, and ours serves the wl_buffers of
 * every libshmguard wl_shm global while at least one adapter exists.
 * Display thread.
 *
 * Returns NULL on ENOMEM (errno set). Destroy with shmguard_wlr_destroy().
 */
SHMGUARD_EXPORT struct shmguard_wlr *
shmguard_wlr_create(struct shmguard_shm *shm);

/**
 * Stop turning new wl_buffers into wlr_buffers (wlroots cannot
 * unregister an interface: while no adapter exists, the registered one
 * claims no resource). wlr_buffers made before stay valid. NULL is a no-op.
 */
SHMGUARD_EXPORT void
shmguard_wlr_destroy(struct shmguard_wlr *wlr);

/**
 * Our buffer behind @p buffer: a wlr_buffer made by the adapter, or a
 * wlr_client_buffer whose source is one (as wlr_surface keeps them).
 * Borrowed: valid while @p buffer is locked (or, to keep it longer, take
 * shmguard_buffer_ref()); NULL if it is not ours or its source is gone.
 */
SHMGUARD_EXPORT struct shmguard_buffer *
shmguard_wlr_buffer_get(struct wlr_buffer *buffer);

#ifdef __cplusplus
}
#endif

#endif /* SHMGUARD_WLR_H */

/*
 * libwayland's wl_shm as the peer to compare with: an in-process
 * wl_display and one libwayland-client connected to it over a socketpair,
 * both driven from the calling thread. The client shares a file as a
 * wl_shm pool and makes one buffer over it; the server side then holds a
 * real wl_shm_buffer, which is what wl_shm_buffer_begin_access() needs.
 */
#ifndef BENCH_WAYLAND_PEER_H
#define BENCH_WAYLAND_PEER_H

#include <stdint.h>

struct wl_shm_buffer;

/** A display, its one client, and the buffer the client made. */
struct wayland_peer;

/**
 * Share @p fd (borrowed) through wl_shm as one pool holding one buffer of
 * @p width x @p height pixels at offset 0, in @p format (a wl_shm format of
 * 4 bytes a pixel: ARGB8888, XRGB8888), and wait until the server has made
 * the buffer. Returns NULL, with the reason on stderr, if that fails.
 */
struct wayland_peer *
wayland_peer_create(int fd, int32_t width, int32_t height, uint32_t format);

/** The server's wl_shm_buffer over the shared bytes. */
struct wl_shm_buffer *
wayland_peer_get_buffer(struct wayland_peer *peer);

/**
 * Time @p pairs of wl_shm_buffer_begin_access() + _end_access() on
 * @p buffer, back to back; returns nanoseconds a pair. Whichever
 * definition the dynamic linker binds (libwayland's, or a preload's) is
 * the one timed.
 */
double
wayland_peer_time_pairs_ns(struct wl_shm_buffer *buffer, unsigned pairs);

/** Disconnect the client and destroy the display. NULL is a no-op. */
void
wayland_peer_destroy(struct wayland_peer *peer);

#endif

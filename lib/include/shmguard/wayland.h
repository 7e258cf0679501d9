/*
 * libshmguard protocol layer: the wl_shm global on libwayland-server, with
 * pools, buffers, the exact protocol errors, per-client budgets and a
 * fault policy. What a compositor links instead of wl_display_init_shm().
 *
 * Threads. Everything here runs on the *display thread* (the thread that
 * called shmguard_shm_create() and dispatches the wl_display) unless its
 * comment says otherwise. Buffer access (begin/end, guarded copies,
 * getters) may run on any thread while the caller holds a reference taken
 * on the display thread; a fault seen on another thread is handed to the
 * display thread, which applies the fault policy on its next dispatch.
 *
 * Signals. Nothing here is async-signal-safe.
 */
#ifndef SHMGUARD_WAYLAND_H
#define SHMGUARD_WAYLAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wayland-server-core.h>

#include "shmguard/shmguard.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Formats                                                             */
/* ------------------------------------------------------------------ */

/** What the library knows about one wl_shm pixel format. */
struct shmguard_format_info {
	/** The wl_shm code (0 for ARGB8888, 1 for XRGB8888, else the fourcc). */
	uint32_t shm_format;
	/** The DRM fourcc (drm_fourcc.h) of the same layout. */
	uint32_t drm_format;
	/** Bytes per pixel; every format in the table is packed, one plane. */
	uint32_t bytes_per_pixel;
	/** The pixman_format_code_t of the same layout, 0 if pixman has none. */
	uint32_t pixman_format;
	/** Whether the format carries alpha. */
	bool has_alpha;
	/** Upper-case name as in wayland.xml ("ARGB8888"). */
	const char *name;
};

/**
 * The table entry for wl_shm format @p shm_format, or NULL if the library
 * does not know it (planar and sub-byte formats are not in the table).
 * The entry is static. Any thread.
 */
SHMGUARD_EXPORT const struct shmguard_format_info *
shmguard_format_get_info(uint32_t shm_format);

/**
 * The table entry whose DRM fourcc is @p drm_format (so DRM_FORMAT_ARGB8888
 * finds the wl_shm code 0), or NULL. Any thread.
 */
SHMGUARD_EXPORT const struct shmguard_format_info *
shmguard_format_from_drm(uint32_t drm_format);

/* ------------------------------------------------------------------ */
/* The wl_shm global                                                   */
/* ------------------------------------------------------------------ */

/** The wl_shm global and the state of every client that bound it. */
struct shmguard_shm;

/** A wl_buffer made by one of our pools. */
struct shmguard_buffer;

/** What the library does when a client's pool faults during an access. */
enum shmguard_fault_policy {
	/** Post wl_shm error invalid_fd: the client is disconnected. */
	SHMGUARD_FAULT_POLICY_DISCONNECT = 0,
	/** Keep the client; the faulting pool reads as zeros from the fault
	 * onwards until the client resizes the pool. */
	SHMGUARD_FAULT_POLICY_ZEROS,
	/** Keep the client; show zeros now, and map the file afresh at the
	 * next access once the client has grown it back to the pool size. */
	SHMGUARD_FAULT_POLICY_REVALIDATE,
};

/** Name of a fault policy ("disconnect", "zeros", "revalidate"). */
SHMGUARD_EXPORT const char *
shmguard_fault_policy_to_str(enum shmguard_fault_policy policy);

/** What was done about one fault. */
enum shmguard_fault_action {
	/** wl_shm error invalid_fd was posted; the client is disconnected. */
	SHMGUARD_FAULT_ACTION_DISCONNECTED = 0,
	/** The client was kept; the pool reads as zeros past the fault. */
	SHMGUARD_FAULT_ACTION_ZEROS,
	/** The client was kept; the pool is re-mapped once the file grew. */
	SHMGUARD_FAULT_ACTION_REVALIDATE,
	/** The client had already disconnected: nobody to tell. */
	SHMGUARD_FAULT_ACTION_CLIENT_GONE,
};

/** Name of a fault action ("disconnected", "zeros shown", ...). */
SHMGUARD_EXPORT const char *
shmguard_fault_action_to_str(enum shmguard_fault_action action);

/**
 * One fault, as told to the compositor's fault handler. The event and
 * everything it points to are valid for the duration of the call only:
 * take a buffer reference (shmguard_buffer_ref()) to keep the buffer.
 */
struct shmguard_fault_event {
	/** The client that owns the pool; NULL if it has disconnected. */
	struct wl_client *client;
	/** The buffer whose access window saw the fault. */
	struct shmguard_buffer *buffer;
	/** The core pool (borrowed for the duration of the call). */
	struct shmguard_pool *pool;
	/** Protocol id of the wl_shm_pool, 0 if the client destroyed it. */
	uint32_t pool_id;
	/** Protocol id of the wl_buffer, 0 if the client destroyed it. */
	uint32_t buffer_id;
	/** What went wrong and where. */
	const struct shmguard_fault_report *report;
	/** What the library did about it. */
	enum shmguard_fault_action action;
};

/** Settings of a wl_shm global; zero-initialise, then set what you need. */
struct shmguard_shm_options {
	/**
	 * Formats to advertise besides ARGB8888 and XRGB8888 (always
	 * advertised), as wl_shm codes; the DRM codes of ARGB8888 and
	 * XRGB8888 are accepted too. Every format must be in the library's
	 * table (shmguard_format_get_info()). Copied; may be NULL.
	 */
	const uint32_t *formats;
	/** Number of entries in @p formats. */
	size_t formats_len;
	/** What a fault does to the client (default: disconnect). */
	enum shmguard_fault_policy fault_policy;
	/**
	 * Bounds per client (pools alive, bytes mapped, generations per
	 * pool, mappings); zero fields mean 1024 pools, 4 GiB, 16
	 * generations and a quarter of the process-wide mapping bound
	 * (3,583 mappings at vm.max_map_count 65,530: see
	 * shmguard_set_max_mappings()), generous for real clients and
	 * resolved when the global is created. Bytes and mappings count
	 * every mapping: while a resize replaces a generation, both are
	 * charged until the old one is unmapped. One client at its mapping
	 * cap leaves three quarters of the bound to the others, whatever
	 * its pools and generations would allow. A create_pool or resize
	 * that would pass a bound is answered with wl_shm error invalid_fd
	 * (wl_shm has no closer code), whose message names the bound; other
	 * clients are not affected.
	 */
	struct shmguard_budget_limits client_limits;
	/**
	 * Called once per fault of a pool's mapping generation, on the
	 * display thread, after the policy was applied; NULL for none. The
	 * handler may log, take a buffer reference and call the library's
	 * getters and shmguard_shm_set_fault_policy(); it must not open
	 * access windows, destroy the display, the global or the client.
	 */
	void (*fault_handler)(const struct shmguard_fault_event *event, void *user_data);
	/** Passed to @p fault_handler. */
	void *fault_user_data;
	/**
	 * Which files clients may make pools of (zero: the default, memory
	 * and local disks; see shmguard_file_vet() for what is refused and
	 * why). Each create_pool vets the client's fd before anything else
	 * looks at it, once: a refused file gets wl_shm error invalid_fd
	 * whose message names the file system type, e.g. "file on a
	 * fuse.sshfs file system: page reads can wait on a user-space
	 * process". The type names are copied.
	 */
	struct shmguard_file_policy file_policy;
};

/**
 * Create the wl_shm global on @p display (one per display) with
 * @p options (NULL: defaults). The compositor must not also create
 * libwayland's wl_shm: do not call wl_display_init_shm(), nor wlroots'
 * wlr_renderer_init_wl_display() or wlr_renderer_init_wl_shm(). Buffers
 * of this global are not libwayland's: wl_shm_buffer_get() returns NULL
 * for them; use shmguard_buffer_from_resource().
 *
 * Returns NULL with errno set: EEXIST (this display already has one, or
 * had one whose clients still hold its objects), EINVAL (a format not in
 * the table), ENOMEM. The caller owns the result and destroys it with
 * shmguard_shm_destroy(), before or after wl_display_destroy(). Call
 * wl_display_destroy_clients() before wl_display_destroy() so that every
 * client's objects are released. Display thread: the thread that calls
 * this must be the one that dispatches @p display.
 */
SHMGUARD_EXPORT struct shmguard_shm *
shmguard_shm_create(struct wl_display *display, const struct shmguard_shm_options *options);

/**
 * Remove the global. Objects clients already made keep working until
 * they are destroyed or the clients disconnect; buffer references stay
 * valid. NULL is a no-op. Display thread.
 */
SHMGUARD_EXPORT void
shmguard_shm_destroy(struct shmguard_shm *shm);

/**
 * Change the fault policy for faults handled from now on, including faults
 * that other threads found and handed over but the display thread has not
 * dispatched yet. Display thread.
 */
SHMGUARD_EXPORT void
shmguard_shm_set_fault_policy(struct shmguard_shm *shm, enum shmguard_fault_policy policy);

/** The current fault policy. Display thread. */
SHMGUARD_EXPORT enum shmguard_fault_policy
shmguard_shm_get_fault_policy(const struct shmguard_shm *shm);

/**
 * The budget that @p client's pools are charged to (borrowed: valid while
 * the client is connected), or NULL if the client never bound wl_shm.
 * Display thread.
 */
SHMGUARD_EXPORT struct shmguard_budget *
shmguard_shm_get_client_budget(struct shmguard_shm *shm, struct wl_client *client);

/* ------------------------------------------------------------------ */
/* Buffers                                                             */
/* ------------------------------------------------------------------ */

/**
 * The buffer behind wl_buffer @p resource if one of our pools made it,
 * else NULL (another kind of wl_buffer, or NULL @p resource). Borrowed:
 * valid while the resource lives; take a reference to keep it longer.
 * Display thread.
 */
SHMGUARD_EXPORT struct shmguard_buffer *
shmguard_buffer_from_resource(struct wl_resource *resource);

/**
 * Take a reference: the buffer, its pool's file and its current mapping
 * stay usable after the client destroyed the wl_buffer, the pool or
 * disconnected, still guarded. Any thread, while holding a reference.
 */
SHMGUARD_EXPORT struct shmguard_buffer *
shmguard_buffer_ref(struct shmguard_buffer *buffer);

/**
 * Drop a reference. NULL is a no-op. The last reference must be dropped
 * on the display thread (or after the display was destroyed).
 */
SHMGUARD_EXPORT void
shmguard_buffer_unref(struct shmguard_buffer *buffer);

/** Width in pixels (> 0). Any thread. */
SHMGUARD_EXPORT int32_t
shmguard_buffer_get_width(const struct shmguard_buffer *buffer);

/** Height in pixels (> 0). Any thread. */
SHMGUARD_EXPORT int32_t
shmguard_buffer_get_height(const struct shmguard_buffer *buffer);

/**
 * Bytes from one row to the next: at least width x bytes per pixel, and a
 * multiple of the bytes per pixel, except that a 24-bit format's may
 * instead be a multiple of 4 (rows padded to 4 bytes, as pixman and GL's
 * default unpack alignment take them; libwayland accepts them too). Any
 * thread.
 */
SHMGUARD_EXPORT int32_t
shmguard_buffer_get_stride(const struct shmguard_buffer *buffer);

/** The wl_shm format code (see shmguard_format_get_info()). Any thread. */
SHMGUARD_EXPORT uint32_t
shmguard_buffer_get_format(const struct shmguard_buffer *buffer);

/** Byte offset of the first pixel in the pool. Any thread. */
SHMGUARD_EXPORT uint64_t
shmguard_buffer_get_offset(const struct shmguard_buffer *buffer);

/**
 * The core pool (borrowed, valid while the buffer is). Any thread. Windows
 * and copies made on it directly with the core API see faults in their
 * reports but bypass the fault policy: the client is not told.
 */
SHMGUARD_EXPORT struct shmguard_pool *
shmguard_buffer_get_pool(const struct shmguard_buffer *buffer);

/** The wl_buffer resource, or NULL once the client destroyed it. Display thread. */
SHMGUARD_EXPORT struct wl_resource *
shmguard_buffer_get_resource(const struct shmguard_buffer *buffer);

/** The owning client, or NULL once it disconnected. Display thread. */
SHMGUARD_EXPORT struct wl_client *
shmguard_buffer_get_client(const struct shmguard_buffer *buffer);

/**
 * Send wl_buffer.release if the resource still exists. Display thread.
 * (The wlroots adapter sends it by itself when the wlr_buffer is released.)
 */
SHMGUARD_EXPORT void
shmguard_buffer_send_release(struct shmguard_buffer *buffer);

/**
 * Whether @p mode access can work on this buffer's pool; if not, @p reason
 * (if not NULL) says why (SHMGUARD_POOL_ERROR_READ_ONLY_FD for a read-only
 * fd, SHMGUARD_POOL_ERROR_WRITE_SEALED for F_SEAL_WRITE/FUTURE_WRITE).
 * Any thread.
 */
SHMGUARD_EXPORT bool
shmguard_buffer_allows(const struct shmguard_buffer *buffer, enum shmguard_access_mode mode,
	enum shmguard_pool_error *reason);

/**
 * Open an access window over the buffer's pixels and store a pointer to
 * its first pixel in @p data, valid until shmguard_buffer_end_access().
 * Any code may read (and, for WRITE, write) rows [0, height) of
 * width x bytes-per-pixel bytes at @p data + row x stride in between: if
 * the client truncates its file meanwhile, the missing part reads as
 * zeros and the fault is reported at the end.
 *
 * Accesses nest, on any buffers, up to 32 per thread; a buffer's accesses
 * on one thread end in reverse order of their beginning. Any thread (with
 * a reference held). No system call and no lock in the steady state.
 *
 * Returns 0, or: -EACCES (WRITE on a read-only fd) or -EPERM (WRITE on a
 * write-sealed memfd), with shmguard_buffer_allows() giving the reason;
 * the client is not disconnected for that. -EMFILE (too many nested
 * windows), -ENOSPC (write mapping over budget), -ENOMEM.
 */
SHMGUARD_EXPORT int
shmguard_buffer_begin_access(
	struct shmguard_buffer *buffer, enum shmguard_access_mode mode, void **data);

/**
 * Close this thread's most recent access on @p buffer. Returns true if the
 * pool's mapping faulted (in this window or before), with @p report (if
 * not NULL) filled; false otherwise (and @p report's kind is
 * SHMGUARD_FAULT_NONE). The first fault of a mapping generation triggers
 * the fault policy: on the display thread at once (the protocol error
 * goes on the wl_buffer as libwayland does; if the client destroyed it,
 * on its wl_shm_pool; if that is gone too, on its wl_shm), on any other
 * thread at the display thread's next dispatch. Any thread.
 */
SHMGUARD_EXPORT bool
shmguard_buffer_end_access(struct shmguard_buffer *buffer, struct shmguard_fault_report *report);

/**
 * Copy @p length bytes at byte @p offset of the buffer (0 is its first
 * pixel) into @p dst, under the guard: at a fault the copy stops and
 * returns -EFAULT, with @p report filled and the fault policy applied as
 * for shmguard_buffer_end_access(). A mapping generation that faulted
 * keeps answering -EFAULT (under every policy) until it is replaced: by a
 * resize, or under the revalidate policy once the client grew its file
 * back. Returns 0, -EFAULT, -ERANGE (outside the buffer's bytes), -EMFILE
 * (32 windows already open on this thread), -ENOMEM. Any thread.
 */
SHMGUARD_EXPORT int
shmguard_buffer_read(struct shmguard_buffer *buffer, uint64_t offset, void *dst, size_t length,
	struct shmguard_fault_report *report);

/**
 * Copy @p length bytes from @p src into the buffer at byte @p offset
 * (write-back, e.g. a screen capture), under the guard. Returns 0,
 * -EFAULT (a fault: the client's bytes are undefined; policy applied;
 * as for shmguard_buffer_read(), a faulted generation keeps failing),
 * -ERANGE, -EACCES (read-only fd), -EPERM (write-sealed), -ENOSPC,
 * -EMFILE, -ENOMEM. Any thread.
 */
SHMGUARD_EXPORT int
shmguard_buffer_write(struct shmguard_buffer *buffer, uint64_t offset, const void *src,
	size_t length, struct shmguard_fault_report *report);

/* ------------------------------------------------------------------ */
/* Other client file descriptors (keymaps, ICC profiles)               */
/* ------------------------------------------------------------------ */

/**
 * Copy @p size bytes at @p offset of a client-sent file @p fd (borrowed:
 * not closed) into @p dst, safely: the fd is checked (a readable regular
 * file long enough), mapped read-only and copied under the guard, so a
 * client that truncates the file meanwhile cannot crash the compositor.
 * For a long-lived mapping, use shmguard_pool_create() and access windows.
 *
 * The file is vetted with the default policy first (see
 * shmguard_file_vet()); for another policy, call shmguard_file_vet() with
 * it before this. Close a refused fd with shmguard_fd_close(): a FUSE
 * file's close() can wait on its daemon.
 *
 * Returns 0; -EBADF (not an open fd); -EINVAL (not a readable regular
 * file: pipe, socket, device, O_PATH, write-only; a file system the
 * default policy refuses: FUSE, overlay, network, a loop device...; or
 * @p offset + @p size overflows); -ENXIO (the file is shorter than @p offset + @p size);
 * -EFAULT (the file shrank during the copy; @p report filled, @p dst
 * undefined); -ENOSPC (mapping bound reached); -EMFILE (32 windows
 * already open on this thread); -ENOMEM. A @p size of 0 copies nothing
 * and returns 0. Any thread. The first call installs the process-wide
 * SIGBUS handler (see shmguard_probe()) if nothing did before.
 */
SHMGUARD_EXPORT int
shmguard_fd_copy(
	int fd, uint64_t offset, void *dst, size_t size, struct shmguard_fault_report *report);

#ifdef __cplusplus
}
#endif

#endif /* SHMGUARD_WAYLAND_H */

/* The wl_shm global: options, the display it serves, and the hand-over of
 * faults seen on other threads to the display thread. */
#ifndef SHMGUARD_WAYLAND_SHM_H
#define SHMGUARD_WAYLAND_SHM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include <wayland-server-core.h>

#include "shmguard/wayland.h"

#include "../file_policy.h"

struct shmguard_buffer;

struct deferred_fault {
	struct shmguard_buffer *buffer; /* a reference */
	struct shmguard_fault_report report;
	struct deferred_fault *next;
};

struct shmguard_shm {
	/* The owner's reference (until shmguard_shm_destroy()) plus one per
	 * client state (struct shm_client). */
	_Atomic unsigned refs;
	struct wl_display *display; /* NULL once the display is destroyed */
	struct wl_global *global; /* NULL once removed */
	struct wl_listener display_destroy;
	pthread_t display_thread;

	uint32_t *formats; /* advertised wl_shm codes, ARGB8888 and XRGB8888 first */
	size_t formats_len;
	/* libwayland's contract (libshmguard-preload): pools are mapped as
	 * writable views and each buffer pins the generation it was made in,
	 * so its one data pointer is read and written and stays valid for
	 * the buffer's life. Set before any client binds. */
	bool libwayland_contract;
	enum shmguard_fault_policy policy;
	/* Which files pools may be made of (the options', copied). */
	struct file_policy_copy file_policy;
	struct shmguard_budget_limits client_limits;
	void (*fault_handler)(const struct shmguard_fault_event *event, void *user_data);
	void *fault_user_data;

	/* Faults seen off the display thread, applied by an eventfd source
	 * on the display thread. */
	pthread_mutex_t deferred_lock;
	struct deferred_fault *deferred_head;
	struct deferred_fault **deferred_tail;
	int deferred_fd;
	struct wl_event_source *deferred_source;
	/* Buffer holds (buffer_hold.h), under deferred_lock; the guard writes
	 * to deferred_fd when one faults. */
	struct wl_list holds;
};

/* shmguard_shm_create() advertising at most wl_shm version @p max_version
 * (at least 1; never more than we and the running libwayland serve), for
 * a caller that is told which version to offer (wlroots' wlr_shm_create()).
 * NULL with errno set, as shmguard_shm_create(). */
struct shmguard_shm *
shm_create(struct wl_display *display, const struct shmguard_shm_options *options,
	uint32_t max_version);

struct shmguard_shm *
shm_ref(struct shmguard_shm *shm);

void
shm_unref(struct shmguard_shm *shm);

/* Whether @p shm_format is advertised by @p shm. */
bool
shm_has_format(const struct shmguard_shm *shm, uint32_t shm_format);

/* Advertise @p shm_format (a wl_shm code in the format table) to clients
 * that bind from now on. Returns false for a format not in the table,
 * or ENOMEM. */
bool
shm_add_format(struct shmguard_shm *shm, uint32_t shm_format);

/* The libshmguard wl_shm of @p display, or NULL. */
struct shmguard_shm *
shm_from_display(struct wl_display *display);

/* A fault seen at the end of an access on @p buffer: apply the policy now
 * on the display thread, or hand it over from any other thread. */
void
shm_handle_fault(struct shmguard_shm *shm, struct shmguard_buffer *buffer,
	const struct shmguard_fault_report *report);

#endif

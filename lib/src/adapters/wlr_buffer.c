/*
 * The wlroots adapter (wlroots 0.15, or 0.18 to 0.20): a wlr_buffer per
 * wl_buffer resource (found again through the resource's destroy
 * listener), whose data pointer access is an access window. The producer
 * side (the client) drops the wlr_buffer when it destroys the wl_buffer;
 * wlroots' locks keep it, and our buffer reference keeps the pixels, until
 * wlroots is done.
 */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <wayland-server-core.h>
#include <wayland-server-protocol.h>
#include <wlr/types/wlr_buffer.h>
#include <wlr/version.h>
#if WLR_VERSION_MINOR >= 16
/* wlr_buffer_impl and the resource interface moved here in 0.16. */
#include <wlr/interfaces/wlr_buffer.h>
#endif

#include "shmguard/wayland.h"
#include "shmguard/wlr.h"

struct shmguard_wlr {
	struct shmguard_shm *shm;
};

struct guarded_wlr_buffer {
	struct wlr_buffer base;
	struct shmguard_buffer *buffer; /* a reference */
	struct wl_resource *resource; /* NULL once the client destroyed it */
	struct wl_listener resource_destroy;
	struct wl_listener release;
	uint32_t drm_format;
	size_t stride;
	/* Where a write wlroots asked for on an fd that forbids writes goes
	 * (see begin_unwritable()); MAP_FAILED until needed. */
	void *scratch;
	bool scratch_open;
};

/* Adapters alive; the interface registered with wlroots claims resources
 * only while there is one. Display thread. */
static unsigned live_adapters;

static const struct wlr_buffer_impl guarded_impl;

/* Bytes from the buffer's first pixel to the end of its last row. */
static size_t
guarded_size(const struct guarded_wlr_buffer *guarded)
{
	return guarded->stride * (size_t)guarded->base.height;
}

static struct guarded_wlr_buffer *
guarded_from_wlr(struct wlr_buffer *wlr_buffer)
{
	return (struct guarded_wlr_buffer *)((char *)wlr_buffer -
		offsetof(struct guarded_wlr_buffer, base));
}

static void
guarded_destroy(struct wlr_buffer *wlr_buffer)
{
	struct guarded_wlr_buffer *guarded = guarded_from_wlr(wlr_buffer);
	wl_list_remove(&guarded->resource_destroy.link);
	wl_list_remove(&guarded->release.link);
	if (guarded->scratch != MAP_FAILED) {
		munmap(guarded->scratch, guarded_size(guarded));
	}
#if WLR_VERSION_MINOR >= 19
	/* Since 0.19 the implementation emits the destroy signal. */
	wlr_buffer_finish(&guarded->base);
#endif
	shmguard_buffer_unref(guarded->buffer);
	free(guarded);
}

/*
 * wlroots asks to write into a buffer whose fd forbids writes: a
 * screencopy or image-copy-capture frame's copy into a client's read-only
 * fd or write-sealed memfd. Saying no is what wlroots cannot take: its
 * screencopy (0.18 to 0.20) then posts invalid_buffer and returns with the
 * buffer still locked, so the pool (an fd and a mapping) would stay for
 * the compositor's life, once per attempt. So the client is told here
 * (wl_shm invalid_fd on the wl_buffer, naming why), and wlroots gets a
 * private scratch to write into, freed with the wlr_buffer: the frame
 * goes its normal way to its end, which unlocks the buffer, and nothing
 * reaches the client's file.
 */
static bool
begin_unwritable(struct guarded_wlr_buffer *guarded, enum shmguard_pool_error reason, void **data)
{
	if (guarded->scratch_open) {
		return false;
	}
	if (guarded->scratch == MAP_FAILED) {
		guarded->scratch = mmap(NULL, guarded_size(guarded), PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (guarded->scratch == MAP_FAILED) {
			return false;
		}
	}
	if (guarded->resource != NULL) {
		wl_resource_post_error(guarded->resource, WL_SHM_ERROR_INVALID_FD,
			"the compositor was asked to write into this buffer (a screen capture), "
			"and its pool cannot be written: %s",
			shmguard_pool_error_to_str(reason));
	}
	guarded->scratch_open = true;
	*data = guarded->scratch;
	return true;
}

static bool
guarded_begin_data_ptr_access(struct wlr_buffer *wlr_buffer, uint32_t flags, void **data,
	uint32_t *format, size_t *stride)
{
	struct guarded_wlr_buffer *guarded = guarded_from_wlr(wlr_buffer);
	enum shmguard_access_mode mode = (flags & WLR_BUFFER_DATA_PTR_ACCESS_WRITE)
		? SHMGUARD_ACCESS_WRITE
		: SHMGUARD_ACCESS_READ;
	enum shmguard_pool_error reason;
	if (mode == SHMGUARD_ACCESS_WRITE &&
		!shmguard_buffer_allows(guarded->buffer, mode, &reason)) {
		if (!begin_unwritable(guarded, reason, data)) {
			return false;
		}
	} else if (shmguard_buffer_begin_access(guarded->buffer, mode, data) != 0) {
		return false;
	}
	*format = guarded->drm_format;
	*stride = guarded->stride;
	return true;
}

static void
guarded_end_data_ptr_access(struct wlr_buffer *wlr_buffer)
{
	struct guarded_wlr_buffer *guarded = guarded_from_wlr(wlr_buffer);
	if (guarded->scratch_open) {
		guarded->scratch_open = false;
		return;
	}
	/* A fault gets the shm's policy inside; wlroots has no way to hear
	 * of it, and needs none: the pixels it read were zeros. */
	shmguard_buffer_end_access(guarded->buffer, NULL);
}

static const struct wlr_buffer_impl guarded_impl = {
	.destroy = guarded_destroy,
	.begin_data_ptr_access = guarded_begin_data_ptr_access,
	.end_data_ptr_access = guarded_end_data_ptr_access,
};

static void
handle_resource_destroy(struct wl_listener *listener, void *data)
{
	struct guarded_wlr_buffer *guarded = wl_container_of(listener, guarded, resource_destroy);
	guarded->resource = NULL;
	wl_list_remove(&guarded->resource_destroy.link);
	wl_list_init(&guarded->resource_destroy.link);
	/* The producer lets go; wlroots' locks may keep the buffer. */
	wlr_buffer_drop(&guarded->base);
}

static void
handle_release(struct wl_listener *listener, void *data)
{
	struct guarded_wlr_buffer *guarded = wl_container_of(listener, guarded, release);
	if (guarded->resource != NULL) {
		wl_buffer_send_release(guarded->resource);
	}
}

static bool
resource_is_instance(struct wl_resource *resource)
{
	return live_adapters > 0 && shmguard_buffer_from_resource(resource) != NULL;
}

static struct wlr_buffer *
resource_to_wlr_buffer(struct wl_resource *resource)
{
	struct wl_listener *listener =
		wl_resource_get_destroy_listener(resource, handle_resource_destroy);
	if (listener != NULL) {
		struct guarded_wlr_buffer *guarded =
			wl_container_of(listener, guarded, resource_destroy);
		return &guarded->base;
	}

	struct shmguard_buffer *buffer = shmguard_buffer_from_resource(resource);
	const struct shmguard_format_info *info =
		shmguard_format_get_info(shmguard_buffer_get_format(buffer));
	struct guarded_wlr_buffer *guarded = calloc(1, sizeof(*guarded));
	if (guarded == NULL || info == NULL) {
		free(guarded);
		return NULL;
	}
	wlr_buffer_init(&guarded->base, &guarded_impl, shmguard_buffer_get_width(buffer),
		shmguard_buffer_get_height(buffer));
	guarded->buffer = shmguard_buffer_ref(buffer);
	guarded->resource = resource;
	guarded->drm_format = info->drm_format;
	guarded->stride = (size_t)shmguard_buffer_get_stride(buffer);
	guarded->scratch = MAP_FAILED;

	guarded->resource_destroy.notify = handle_resource_destroy;
	wl_resource_add_destroy_listener(resource, &guarded->resource_destroy);
	guarded->release.notify = handle_release;
	wl_signal_add(&guarded->base.events.release, &guarded->release);
	return &guarded->base;
}

static const struct wlr_buffer_resource_interface resource_interface = {
	.name = "libshmguard wl_shm",
	.is_instance = resource_is_instance,
	.from_resource = resource_to_wlr_buffer,
};

SHMGUARD_EXPORT struct shmguard_wlr *
shmguard_wlr_create(struct shmguard_shm *shm)
{
	struct shmguard_wlr *wlr = calloc(1, sizeof(*wlr));
	if (wlr == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	wlr->shm = shm;
	/* wlroots ignores a second registration of the same interface. */
	wlr_buffer_register_resource_interface(&resource_interface);
	live_adapters++;
	return wlr;
}

SHMGUARD_EXPORT void
shmguard_wlr_destroy(struct shmguard_wlr *wlr)
{
	if (wlr == NULL) {
		return;
	}
	live_adapters--;
	free(wlr);
}

SHMGUARD_EXPORT struct shmguard_buffer *
shmguard_wlr_buffer_get(struct wlr_buffer *buffer)
{
	if (buffer == NULL) {
		return NULL;
	}
	if (buffer->impl != &guarded_impl) {
		struct wlr_client_buffer *client_buffer = wlr_client_buffer_get(buffer);
		if (client_buffer == NULL || client_buffer->source == NULL ||
			client_buffer->source->impl != &guarded_impl) {
			return NULL;
		}
		buffer = client_buffer->source;
	}
	return guarded_from_wlr(buffer)->buffer;
}

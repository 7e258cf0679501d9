/*
 * wl_buffer: create_buffer validation (64-bit, each failure the exact
 * wl_shm error), buffer references that outlive the resource, and access
 * windows for the compositor with the fault policy applied at their end.
 */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include "shmguard/wayland.h"

#include "../access.h"
#include "../likely.h"
#include "../log.h"
#include "../pool.h"
#include "buffer.h"
#include "client_budget.h"
#include "shm.h"
#include "shm_pool.h"

static void
buffer_handle_destroy(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

static const struct wl_buffer_interface buffer_impl = {
	.destroy = buffer_handle_destroy,
};

static void
buffer_resource_destroy(struct wl_resource *resource)
{
	struct shmguard_buffer *buffer = wl_resource_get_user_data(resource);
	buffer->resource = NULL;
	buffer->id = 0;
	shmguard_buffer_unref(buffer);
}

/* The buffer object and its wl_buffer resource, for a validated geometry.
 * NULL (no_memory posted) on ENOMEM. */
static struct shmguard_buffer *
buffer_new(struct shm_pool *pool, struct wl_client *client, uint32_t id, uint64_t offset,
	int32_t width, int32_t height, int32_t stride, uint32_t format, uint64_t span)
{
	struct shmguard_buffer *buffer = calloc(1, sizeof(*buffer));
	if (buffer == NULL) {
		wl_client_post_no_memory(client);
		return NULL;
	}
	buffer->resource = wl_resource_create(client, &wl_buffer_interface, 1, id);
	if (buffer->resource == NULL) {
		free(buffer);
		wl_client_post_no_memory(client);
		return NULL;
	}
	atomic_init(&buffer->refs, 1);
	buffer->id = id;
	buffer->pool = shm_pool_ref(pool);
	buffer->core = pool->core;
	buffer->width = width;
	buffer->height = height;
	buffer->stride = stride;
	buffer->format = format;
	buffer->offset = offset;
	buffer->span = span;
	if (pool->owner->shm->libwayland_contract) {
		buffer->pinned = pool_pin_current(pool->core);
	}
	wl_resource_set_implementation(
		buffer->resource, &buffer_impl, buffer, buffer_resource_destroy);
	return buffer;
}

/*
 * Whether rows @p stride bytes apart keep a format's pixels whole. A
 * power-of-two pixel (1, 2, 4 or 8 bytes) needs a stride that is a
 * multiple of its size, so that every pixel stays aligned. A 24-bit pixel
 * has no alignment of its own: its rows are commonly padded to 4 bytes,
 * the row alignment pixman requires and GL's default (a width of 5 gives
 * 16, not 15), and libwayland accepts such strides. A stride that is
 * neither whole pixels nor 4-aligned fits no renderer's row description.
 */
static bool
stride_fits_pixel(int32_t stride, uint32_t bytes_per_pixel)
{
	if ((uint32_t)stride % bytes_per_pixel == 0) {
		return true;
	}
	return bytes_per_pixel == 3 && stride % 4 == 0;
}

void
buffer_create(struct shm_pool *pool, uint32_t id, int32_t offset, int32_t width, int32_t height,
	int32_t stride, uint32_t format)
{
	struct wl_resource *pool_resource = pool->resource;
	struct wl_client *client = wl_resource_get_client(pool_resource);

	const struct shmguard_format_info *info = shmguard_format_get_info(format);
	if (info == NULL || !shm_has_format(pool->owner->shm, format)) {
		wl_resource_post_error(pool_resource, WL_SHM_ERROR_INVALID_FORMAT,
			"invalid format 0x%08x", format);
		return;
	}
	if (offset < 0 || width <= 0 || height <= 0 || stride <= 0) {
		wl_resource_post_error(pool_resource, WL_SHM_ERROR_INVALID_STRIDE,
			"invalid offset %d, width %d, height %d or stride %d", offset, width,
			height, stride);
		return;
	}
	uint64_t bpp = info->bytes_per_pixel;
	if (!stride_fits_pixel(stride, info->bytes_per_pixel)) {
		wl_resource_post_error(pool_resource, WL_SHM_ERROR_INVALID_STRIDE,
			bpp == 3
				? "stride %d is neither a multiple of %s's %u bytes per pixel nor of 4"
				: "stride %d is not a multiple of %s's %u bytes per pixel",
			stride, info->name, info->bytes_per_pixel);
		return;
	}
	uint64_t row = (uint64_t)width * bpp;
	if ((uint64_t)stride < row) {
		wl_resource_post_error(pool_resource, WL_SHM_ERROR_INVALID_STRIDE,
			"stride %d is shorter than a row of %d %s pixels (%llu bytes)", stride,
			width, info->name, (unsigned long long)row);
		return;
	}
	/* At most 2^31 x 2^31 + 2^31 x 8 + 2^31: no overflow in 64 bits. The
	 * last row needs only its pixels, not a whole stride; but libwayland
	 * promises its compositors stride x height bytes (they copy that much
	 * from wl_shm_buffer_get_data()), so under its contract the buffer
	 * spans them all. */
	uint64_t span = pool->owner->shm->libwayland_contract
		? (uint64_t)stride * (uint64_t)height
		: (uint64_t)stride * (uint64_t)(height - 1) + row;
	uint64_t end = (uint64_t)offset + span;
	uint64_t pool_size = shmguard_pool_get_size(pool->core);
	if (end > pool_size) {
		wl_resource_post_error(pool_resource, WL_SHM_ERROR_INVALID_STRIDE,
			"buffer of %dx%d, stride %d at offset %d ends at byte %llu, past the pool's %llu bytes",
			width, height, stride, offset, (unsigned long long)end,
			(unsigned long long)pool_size);
		return;
	}

	buffer_new(pool, client, id, (uint64_t)offset, width, height, stride, format, span);
}

SHMGUARD_EXPORT struct shmguard_buffer *
shmguard_buffer_from_resource(struct wl_resource *resource)
{
	if (resource == NULL ||
		!wl_resource_instance_of(resource, &wl_buffer_interface, &buffer_impl)) {
		return NULL;
	}
	return wl_resource_get_user_data(resource);
}

SHMGUARD_EXPORT struct shmguard_buffer *
shmguard_buffer_ref(struct shmguard_buffer *buffer)
{
	atomic_fetch_add_explicit(&buffer->refs, 1, memory_order_relaxed);
	return buffer;
}

SHMGUARD_EXPORT void
shmguard_buffer_unref(struct shmguard_buffer *buffer)
{
	if (buffer == NULL || atomic_fetch_sub(&buffer->refs, 1) != 1) {
		return;
	}
	if (buffer->pinned != NULL) {
		generation_unpin(buffer->pinned);
	}
	shm_pool_unref(buffer->pool);
	free(buffer);
}

SHMGUARD_EXPORT int32_t
shmguard_buffer_get_width(const struct shmguard_buffer *buffer)
{
	return buffer->width;
}

SHMGUARD_EXPORT int32_t
shmguard_buffer_get_height(const struct shmguard_buffer *buffer)
{
	return buffer->height;
}

SHMGUARD_EXPORT int32_t
shmguard_buffer_get_stride(const struct shmguard_buffer *buffer)
{
	return buffer->stride;
}

SHMGUARD_EXPORT uint32_t
shmguard_buffer_get_format(const struct shmguard_buffer *buffer)
{
	return buffer->format;
}

SHMGUARD_EXPORT uint64_t
shmguard_buffer_get_offset(const struct shmguard_buffer *buffer)
{
	return buffer->offset;
}

SHMGUARD_EXPORT struct shmguard_pool *
shmguard_buffer_get_pool(const struct shmguard_buffer *buffer)
{
	return buffer->core;
}

SHMGUARD_EXPORT struct wl_resource *
shmguard_buffer_get_resource(const struct shmguard_buffer *buffer)
{
	return buffer->resource;
}

SHMGUARD_EXPORT struct wl_client *
shmguard_buffer_get_client(const struct shmguard_buffer *buffer)
{
	return buffer->pool->owner->client;
}

SHMGUARD_EXPORT void
shmguard_buffer_send_release(struct shmguard_buffer *buffer)
{
	if (buffer->resource != NULL) {
		wl_buffer_send_release(buffer->resource);
	}
}

SHMGUARD_EXPORT bool
shmguard_buffer_allows(const struct shmguard_buffer *buffer, enum shmguard_access_mode mode,
	enum shmguard_pool_error *reason)
{
	return shmguard_pool_allows(buffer->core, mode, reason);
}

/* The protocol error for a fault: on the wl_buffer as libwayland does; if
 * the client destroyed it, on its pool; if that is gone too, on wl_shm. */
static void
post_fault_error(struct shmguard_buffer *buffer, const struct shmguard_fault_report *report)
{
	struct shm_pool *pool = buffer->pool;
	struct shm_client *owner = pool->owner;
	const char *what = report->kind == SHMGUARD_FAULT_IO_ERROR ? "I/O error on the pool file"
								   : "client truncated its pool";
	struct wl_resource *target = buffer->resource;
	if (target == NULL) {
		target = pool->resource;
	}
	if (target == NULL && !wl_list_empty(&owner->shm_resources)) {
		target = wl_resource_from_link(owner->shm_resources.next);
	}
	if (target == NULL) {
		wl_client_post_implementation_error(owner->client, "%s", what);
		return;
	}
	wl_resource_post_error(target, WL_SHM_ERROR_INVALID_FD,
		"%s (fault at byte %llu of the pool; the file has %llu bytes)", what,
		(unsigned long long)report->offset, (unsigned long long)report->file_size);
}

void
buffer_apply_fault_policy(struct shmguard_shm *shm, struct shmguard_buffer *buffer,
	const struct shmguard_fault_report *report)
{
	struct shm_pool *pool = buffer->pool;
	struct shm_client *owner = pool->owner;
	enum shmguard_fault_action action;
	if (owner->client == NULL) {
		action = SHMGUARD_FAULT_ACTION_CLIENT_GONE;
	} else {
		switch (shm->policy) {
		case SHMGUARD_FAULT_POLICY_ZEROS:
			action = SHMGUARD_FAULT_ACTION_ZEROS;
			break;
		case SHMGUARD_FAULT_POLICY_REVALIDATE:
			atomic_store(&pool->revalidate_pending, true);
			action = SHMGUARD_FAULT_ACTION_REVALIDATE;
			break;
		case SHMGUARD_FAULT_POLICY_DISCONNECT:
		default:
			post_fault_error(buffer, report);
			action = SHMGUARD_FAULT_ACTION_DISCONNECTED;
			break;
		}
	}
	log_client_message(SHMGUARD_LOG_INFO,
		"wl_shm_pool@%u of a client: %s at byte %llu (file has %llu bytes): %s", pool->id,
		shmguard_fault_kind_to_str(report->kind), (unsigned long long)report->offset,
		(unsigned long long)report->file_size, shmguard_fault_action_to_str(action));
	if (shm->fault_handler != NULL) {
		struct shmguard_fault_event event = {
			.client = owner->client,
			.buffer = buffer,
			.pool = pool->core,
			.pool_id = pool->id,
			.buffer_id = buffer->id,
			.report = report,
			.action = action,
		};
		shm->fault_handler(&event, shm->fault_user_data);
	}
}

void
buffer_fault_seen(struct shmguard_buffer *buffer, const struct shmguard_fault_report *report)
{
	struct shm_pool *pool = buffer->pool;
	if (atomic_exchange(&pool->fault_handled, true)) {
		return;
	}
	shm_handle_fault(pool->owner->shm, buffer, report);
}

/* Under the revalidate policy, a pool whose file the client grew back is
 * mapped afresh before the next access. */
static inline void
revalidate_if_pending(struct shmguard_buffer *buffer)
{
	if (unlikely(atomic_load_explicit(
		    &buffer->pool->revalidate_pending, memory_order_relaxed))) {
		shm_pool_try_revalidate(buffer->pool);
	}
}

/*
 * The core window of each open access lives on the thread's window stack,
 * tagged with its buffer, so that end_access needs only the buffer and no
 * thread-local state of our own (a large initial-exec TLS block would keep
 * the library from being dlopen()ed).
 */
SHMGUARD_EXPORT int
shmguard_buffer_begin_access(
	struct shmguard_buffer *buffer, enum shmguard_access_mode mode, void **data)
{
	if (unlikely(buffer->pinned != NULL)) {
		return access_begin_pinned(
			buffer->pinned, buffer->offset, buffer->span, mode, buffer, data);
	}
	revalidate_if_pending(buffer);
	return access_begin_tagged(buffer->core, buffer->offset, buffer->span, mode, buffer, data);
}

/* End this thread's most recent access on @p buffer and apply the policy
 * on a fault: -1 if none is open, else whether it faulted. */
static inline int
end_tagged_access(struct shmguard_buffer *buffer, struct shmguard_fault_report *report)
{
	struct shmguard_fault_report local;
	if (report == NULL) {
		report = &local;
	}
	int faulted = access_end_tagged(buffer, report);
	if (unlikely(faulted > 0)) {
		buffer_fault_seen(buffer, report);
	}
	return faulted;
}

SHMGUARD_EXPORT bool
shmguard_buffer_end_access(struct shmguard_buffer *buffer, struct shmguard_fault_report *report)
{
	int faulted = end_tagged_access(buffer, report);
	assert(faulted >= 0 && "shmguard_buffer_end_access() without a begin on this thread");
	return faulted > 0;
}

void
buffer_end_access_if_open(struct shmguard_buffer *buffer)
{
	end_tagged_access(buffer, NULL);
}

void *
buffer_pinned_data(const struct shmguard_buffer *buffer)
{
	if (buffer->pinned == NULL) {
		return NULL;
	}
	return (uint8_t *)buffer->pinned->region.read_start + buffer->offset;
}

static int
check_range(const struct shmguard_buffer *buffer, uint64_t offset, size_t length)
{
	if (offset > buffer->span || length > buffer->span - offset) {
		return -ERANGE;
	}
	return 0;
}

/* A guarded copy out of (READ, into @p dst) or into (WRITE, from @p src)
 * the buffer's bytes, with the fault policy applied on a fault. */
static int
buffer_copy(struct shmguard_buffer *buffer, uint64_t offset, size_t length,
	enum shmguard_access_mode mode, void *dst, const void *src,
	struct shmguard_fault_report *report)
{
	int ret = check_range(buffer, offset, length);
	if (ret != 0) {
		return ret;
	}
	revalidate_if_pending(buffer);
	struct shmguard_fault_report local = {0};
	uint64_t pool_offset = buffer->offset + offset;
	ret = mode == SHMGUARD_ACCESS_WRITE
		? shmguard_pool_write(buffer->core, pool_offset, src, length, &local)
		: shmguard_pool_read(buffer->core, pool_offset, dst, length, &local);
	if (ret == -EFAULT) {
		buffer_fault_seen(buffer, &local);
	}
	if (report != NULL) {
		*report = local;
	}
	return ret;
}

SHMGUARD_EXPORT int
shmguard_buffer_read(struct shmguard_buffer *buffer, uint64_t offset, void *dst, size_t length,
	struct shmguard_fault_report *report)
{
	return buffer_copy(buffer, offset, length, SHMGUARD_ACCESS_READ, dst, NULL, report);
}

SHMGUARD_EXPORT int
shmguard_buffer_write(struct shmguard_buffer *buffer, uint64_t offset, const void *src,
	size_t length, struct shmguard_fault_report *report)
{
	return buffer_copy(buffer, offset, length, SHMGUARD_ACCESS_WRITE, NULL, src, report);
}

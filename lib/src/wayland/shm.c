/*
 * The wl_shm global: advertises formats, hands create_pool to the pool
 * code, and applies the fault policy on the display thread, including for
 * faults that other threads saw (through an eventfd source).
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include "shmguard/wayland.h"

#include "../budget.h"
#include "../log.h"
#include "buffer.h"
#include "buffer_hold.h"
#include "client_budget.h"
#include "shm.h"
#include "shm_pool.h"

/* The newest wl_shm served: version 2 adds release (libwayland 1.23).
 * wayland.xml 1.26 says version 3, which only adds error enums, and
 * libwayland 1.26 still serves 2. */
#define SHM_VERSION_MAX 2

SHMGUARD_EXPORT const char *
shmguard_fault_policy_to_str(enum shmguard_fault_policy policy)
{
	switch (policy) {
	case SHMGUARD_FAULT_POLICY_DISCONNECT:
		return "disconnect";
	case SHMGUARD_FAULT_POLICY_ZEROS:
		return "zeros";
	case SHMGUARD_FAULT_POLICY_REVALIDATE:
		return "revalidate";
	}
	return "unknown policy";
}

SHMGUARD_EXPORT const char *
shmguard_fault_action_to_str(enum shmguard_fault_action action)
{
	switch (action) {
	case SHMGUARD_FAULT_ACTION_DISCONNECTED:
		return "disconnected";
	case SHMGUARD_FAULT_ACTION_ZEROS:
		return "zeros shown";
	case SHMGUARD_FAULT_ACTION_REVALIDATE:
		return "zeros shown until the file grows back";
	case SHMGUARD_FAULT_ACTION_CLIENT_GONE:
		return "client already gone";
	}
	return "unknown action";
}

static void
shm_handle_create_pool(struct wl_client *client, struct wl_resource *resource, uint32_t id,
	int32_t fd, int32_t size)
{
	shm_pool_create(wl_resource_get_user_data(resource), resource, id, fd, size);
}

static void
shm_handle_release(struct wl_client *client, struct wl_resource *resource)
{
	wl_resource_destroy(resource);
}

/* wl_shm's requests in wire order, whatever libwayland's headers this was
 * built with say: a libwayland 1.21 header has no release, yet a build
 * against it may run on libwayland 1.23 or later, which dispatches it. */
static const struct {
	void (*create_pool)(struct wl_client *client, struct wl_resource *resource, uint32_t id,
		int32_t fd, int32_t size);
	void (*release)(struct wl_client *client, struct wl_resource *resource);
} shm_impl = {
	.create_pool = shm_handle_create_pool,
	.release = shm_handle_release,
};

/* The version to advertise: the newest that both we and the running
 * libwayland-server know (its wl_shm_interface is the one it dispatches
 * with; 1 before 1.23, 2 from then on), as its wl_display_init_shm()
 * does. */
static int
shm_global_version(void)
{
	return wl_shm_interface.version < SHM_VERSION_MAX ? wl_shm_interface.version
							  : SHM_VERSION_MAX;
}

static void
shm_resource_destroy(struct wl_resource *resource)
{
	struct shm_client *owner = wl_resource_get_user_data(resource);
	wl_list_remove(wl_resource_get_link(resource));
	shm_client_unref(owner);
}

static void
shm_bind(struct wl_client *client, void *data, uint32_t version, uint32_t id)
{
	struct shmguard_shm *shm = data;
	struct shm_client *owner = shm_client_get_or_create(shm, client);
	if (owner == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	struct wl_resource *resource =
		wl_resource_create(client, &wl_shm_interface, (int)version, id);
	if (resource == NULL) {
		wl_client_post_no_memory(client);
		return;
	}
	wl_resource_set_implementation(
		resource, &shm_impl, shm_client_ref(owner), shm_resource_destroy);
	wl_list_insert(&owner->shm_resources, wl_resource_get_link(resource));
	for (size_t i = 0; i < shm->formats_len; i++) {
		wl_shm_send_format(resource, shm->formats[i]);
	}
}

bool
shm_has_format(const struct shmguard_shm *shm, uint32_t shm_format)
{
	for (size_t i = 0; i < shm->formats_len; i++) {
		if (shm->formats[i] == shm_format) {
			return true;
		}
	}
	return false;
}

bool
shm_add_format(struct shmguard_shm *shm, uint32_t shm_format)
{
	if (shmguard_format_get_info(shm_format) == NULL) {
		return false;
	}
	if (shm_has_format(shm, shm_format)) {
		return true;
	}
	uint32_t *formats = realloc(shm->formats, (shm->formats_len + 1) * sizeof(*formats));
	if (formats == NULL) {
		return false;
	}
	formats[shm->formats_len++] = shm_format;
	shm->formats = formats;
	return true;
}

/* Take the queue of faults other threads saw; apply their policy here. */
static void
drain_deferred(struct shmguard_shm *shm)
{
	pthread_mutex_lock(&shm->deferred_lock);
	struct deferred_fault *fault = shm->deferred_head;
	shm->deferred_head = NULL;
	shm->deferred_tail = &shm->deferred_head;
	pthread_mutex_unlock(&shm->deferred_lock);

	while (fault != NULL) {
		struct deferred_fault *next = fault->next;
		buffer_apply_fault_policy(shm, fault->buffer, &fault->report);
		shmguard_buffer_unref(fault->buffer);
		free(fault);
		fault = next;
	}
}

static int
handle_deferred_readable(int fd, uint32_t mask, void *data)
{
	uint64_t count;
	/* Reset the counter; a short read only means nothing was pending. */
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
		log_message(SHMGUARD_LOG_DEBUG, "reading the fault eventfd failed: %s",
			strerror(errno));
	}
	/* Applying a fault may drop the last references to a client's state
	 * and, once shmguard_shm_destroy() ran, with them the last to the
	 * shm: keep it until both passes are done. */
	struct shmguard_shm *shm = shm_ref(data);
	drain_deferred(shm);
	buffer_holds_report_faults(shm);
	shm_unref(shm);
	return 0;
}

void
shm_handle_fault(struct shmguard_shm *shm, struct shmguard_buffer *buffer,
	const struct shmguard_fault_report *report)
{
	if (pthread_equal(pthread_self(), shm->display_thread)) {
		buffer_apply_fault_policy(shm, buffer, report);
		return;
	}
	struct deferred_fault *fault = calloc(1, sizeof(*fault));
	if (fault == NULL) {
		log_message(SHMGUARD_LOG_ERROR,
			"out of memory: a fault seen off the display thread is not acted on");
		return;
	}
	fault->buffer = shmguard_buffer_ref(buffer);
	fault->report = *report;

	bool queued = false;
	pthread_mutex_lock(&shm->deferred_lock);
	if (shm->deferred_source != NULL) {
		*shm->deferred_tail = fault;
		shm->deferred_tail = &fault->next;
		queued = true;
		uint64_t one = 1;
		/* Cannot fail short of a counter overflow; EAGAIN then still
		 * leaves the fd readable. */
		ssize_t written = write(shm->deferred_fd, &one, sizeof(one));
		(void)written;
	}
	pthread_mutex_unlock(&shm->deferred_lock);
	if (!queued) {
		/* The display is gone: there is no client left to tell. */
		shmguard_buffer_unref(fault->buffer);
		free(fault);
	}
}

/* Detach from the display: the global, the fault source. Display thread. */
static void
shm_detach(struct shmguard_shm *shm)
{
	if (shm->global != NULL) {
		wl_global_destroy(shm->global);
		shm->global = NULL;
	}
	if (shm->deferred_source != NULL) {
		drain_deferred(shm);
		pthread_mutex_lock(&shm->deferred_lock);
		wl_event_source_remove(shm->deferred_source);
		shm->deferred_source = NULL;
		pthread_mutex_unlock(&shm->deferred_lock);
		/* Faults queued between the drain and the removal. */
		drain_deferred(shm);
	}
}

static void
handle_display_destroy(struct wl_listener *listener, void *data)
{
	struct shmguard_shm *shm = wl_container_of(listener, shm, display_destroy);
	/* Draining the faults still queued drops their buffer references, and
	 * a buffer may be all that keeps its pool, its client's state and so
	 * the shm alive (after wl_display_destroy_clients() and
	 * shmguard_shm_destroy()): hold the shm until we are done with it. */
	shm_ref(shm);
	shm_detach(shm);
	wl_list_remove(&shm->display_destroy.link);
	wl_list_init(&shm->display_destroy.link);
	shm->display = NULL;
	shm_unref(shm);
}

struct shmguard_shm *
shm_from_display(struct wl_display *display)
{
	struct wl_listener *listener =
		wl_display_get_destroy_listener(display, handle_display_destroy);
	if (listener == NULL) {
		return NULL;
	}
	struct shmguard_shm *shm = wl_container_of(listener, shm, display_destroy);
	return shm;
}

static int
copy_formats(struct shmguard_shm *shm, const struct shmguard_shm_options *options)
{
	size_t extra = options != NULL && options->formats != NULL ? options->formats_len : 0;
	shm->formats = calloc(2 + extra, sizeof(*shm->formats));
	if (shm->formats == NULL) {
		return -ENOMEM;
	}
	shm->formats[0] = 0; /* WL_SHM_FORMAT_ARGB8888 */
	shm->formats[1] = 1; /* WL_SHM_FORMAT_XRGB8888 */
	shm->formats_len = 2;
	for (size_t i = 0; i < extra; i++) {
		const struct shmguard_format_info *info =
			shmguard_format_get_info(options->formats[i]);
		if (info == NULL) {
			/* Also accept the DRM codes of the two base formats. */
			info = shmguard_format_from_drm(options->formats[i]);
		}
		if (info == NULL) {
			log_message(SHMGUARD_LOG_ERROR,
				"wl_shm format 0x%08x is not in the format table",
				options->formats[i]);
			return -EINVAL;
		}
		if (!shm_has_format(shm, info->shm_format)) {
			shm->formats[shm->formats_len++] = info->shm_format;
		}
	}
	return 0;
}

SHMGUARD_EXPORT struct shmguard_shm *
shmguard_shm_create(struct wl_display *display, const struct shmguard_shm_options *options)
{
	return shm_create(display, options, SHM_VERSION_MAX);
}

struct shmguard_shm *
shm_create(struct wl_display *display, const struct shmguard_shm_options *options,
	uint32_t max_version)
{
	int ret;
	if (wl_display_get_destroy_listener(display, handle_display_destroy) != NULL) {
		log_message(SHMGUARD_LOG_ERROR, "this display already has a libshmguard wl_shm");
		ret = -EEXIST;
		goto err;
	}
	struct shmguard_shm *shm = calloc(1, sizeof(*shm));
	if (shm == NULL) {
		ret = -ENOMEM;
		goto err;
	}
	atomic_init(&shm->refs, 1);
	shm->display = display;
	shm->display_thread = pthread_self();
	shm->deferred_tail = &shm->deferred_head;
	shm->deferred_fd = -1;
	wl_list_init(&shm->holds);
	if (options != NULL) {
		shm->policy = options->fault_policy;
		shm->client_limits = options->client_limits;
		shm->fault_handler = options->fault_handler;
		shm->fault_user_data = options->fault_user_data;
	}
	budget_limits_resolve(&shm->client_limits);
	ret = copy_formats(shm, options);
	if (ret != 0) {
		goto err_formats;
	}
	ret = file_policy_copy_init(
		&shm->file_policy, options != NULL ? &options->file_policy : NULL);
	if (ret != 0) {
		goto err_formats;
	}
	if (pthread_mutex_init(&shm->deferred_lock, NULL) != 0) {
		ret = -ENOMEM;
		goto err_file_policy;
	}
	shm->deferred_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (shm->deferred_fd < 0) {
		ret = -errno;
		goto err_mutex;
	}
	shm->deferred_source = wl_event_loop_add_fd(wl_display_get_event_loop(display),
		shm->deferred_fd, WL_EVENT_READABLE, handle_deferred_readable, shm);
	if (shm->deferred_source == NULL) {
		ret = -ENOMEM;
		goto err_eventfd;
	}
	int version = shm_global_version();
	if (max_version < (uint32_t)version) {
		version = max_version > 0 ? (int)max_version : 1;
	}
	shm->global = wl_global_create(display, &wl_shm_interface, version, shm, shm_bind);
	if (shm->global == NULL) {
		ret = -ENOMEM;
		goto err_source;
	}
	shm->display_destroy.notify = handle_display_destroy;
	wl_display_add_destroy_listener(display, &shm->display_destroy);
	return shm;

err_source:
	wl_event_source_remove(shm->deferred_source);
err_eventfd:
	close(shm->deferred_fd);
err_mutex:
	pthread_mutex_destroy(&shm->deferred_lock);
err_file_policy:
	file_policy_copy_finish(&shm->file_policy);
err_formats:
	free(shm->formats);
	free(shm);
err:
	errno = -ret;
	return NULL;
}

struct shmguard_shm *
shm_ref(struct shmguard_shm *shm)
{
	atomic_fetch_add(&shm->refs, 1);
	return shm;
}

void
shm_unref(struct shmguard_shm *shm)
{
	if (atomic_fetch_sub(&shm->refs, 1) != 1) {
		return;
	}
	if (shm->display != NULL) {
		shm_detach(shm);
		wl_list_remove(&shm->display_destroy.link);
	}
	close(shm->deferred_fd);
	pthread_mutex_destroy(&shm->deferred_lock);
	file_policy_copy_finish(&shm->file_policy);
	free(shm->formats);
	free(shm);
}

SHMGUARD_EXPORT void
shmguard_shm_destroy(struct shmguard_shm *shm)
{
	if (shm == NULL) {
		return;
	}
	if (shm->global != NULL) {
		wl_global_destroy(shm->global);
		shm->global = NULL;
	}
	shm_unref(shm);
}

SHMGUARD_EXPORT void
shmguard_shm_set_fault_policy(struct shmguard_shm *shm, enum shmguard_fault_policy policy)
{
	shm->policy = policy;
}

SHMGUARD_EXPORT enum shmguard_fault_policy
shmguard_shm_get_fault_policy(const struct shmguard_shm *shm)
{
	return shm->policy;
}

SHMGUARD_EXPORT struct shmguard_budget *
shmguard_shm_get_client_budget(struct shmguard_shm *shm, struct wl_client *client)
{
	struct shm_client *owner = shm_client_find(shm, client);
	return owner != NULL ? owner->budget : NULL;
}

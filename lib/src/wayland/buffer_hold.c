/* Holds: buffers kept past their wl_buffer, guarded with no window. */
#include "config.h"

#include <stdlib.h>

#include <wayland-server-core.h>

#include "shmguard/wayland.h"

#include "../guard.h"
#include "../mapping.h"
#include "buffer.h"
#include "buffer_hold.h"
#include "client_budget.h"
#include "shm.h"
#include "shm_pool.h"

struct buffer_hold {
	struct shmguard_buffer *buffer; /* a reference */
	_Atomic(struct guard_region *) *slot; /* guard_hold()'s */
	struct wl_list link; /* in shm->holds, under shm->deferred_lock */
	bool reported;
};

static struct shmguard_shm *
hold_shm(const struct buffer_hold *hold)
{
	return hold->buffer->pool->owner->shm;
}

static struct guard_region *
hold_region(const struct buffer_hold *hold)
{
	return &hold->buffer->pinned->region;
}

struct buffer_hold *
buffer_hold(struct shmguard_buffer *buffer)
{
	struct buffer_hold *hold = calloc(1, sizeof(*hold));
	if (hold == NULL) {
		return NULL;
	}
	hold->buffer = shmguard_buffer_ref(buffer);
	hold->slot = guard_hold(hold_region(hold));
	if (hold->slot == NULL) {
		shmguard_buffer_unref(hold->buffer);
		free(hold);
		return NULL;
	}
	struct shmguard_shm *shm = hold_shm(hold);
	atomic_store(&hold_region(hold)->notify_fd, shm->deferred_fd);
	pthread_mutex_lock(&shm->deferred_lock);
	wl_list_insert(&shm->holds, &hold->link);
	pthread_mutex_unlock(&shm->deferred_lock);
	return hold;
}

/* The fault on the hold's region if there is one not yet reported. */
static bool
hold_take_fault(struct buffer_hold *hold, struct shmguard_fault_report *report)
{
	struct guard_region *region = hold_region(hold);
	uint64_t packed = atomic_load(&region->first_fault);
	if (hold->reported || packed == 0) {
		return false;
	}
	hold->reported = true;
	report->kind = (enum shmguard_fault_kind)GUARD_FAULT_KIND(packed);
	report->offset = GUARD_FAULT_OFFSET(packed);
	report->file_size = atomic_load(&region->fault_file_size);
	return true;
}

void
buffer_hold_release(struct buffer_hold *hold)
{
	if (hold == NULL) {
		return;
	}
	struct shmguard_shm *shm = hold_shm(hold);
	pthread_mutex_lock(&shm->deferred_lock);
	wl_list_remove(&hold->link);
	struct shmguard_fault_report report;
	bool faulted = hold_take_fault(hold, &report);
	pthread_mutex_unlock(&shm->deferred_lock);
	guard_unhold(hold->slot);
	if (faulted) {
		buffer_fault_seen(hold->buffer, &report);
	}
	/* Unpins the generation once the last reference goes: unmapped only
	 * after a reclaim scan has seen no handler looking at it. */
	shmguard_buffer_unref(hold->buffer);
	free(hold);
}

void
buffer_holds_report_faults(struct shmguard_shm *shm)
{
	/* One at a time, outside the lock: the policy may disconnect the
	 * client, and the compositor's destroy handlers may take or release
	 * holds. */
	for (;;) {
		struct shmguard_buffer *buffer = NULL;
		struct shmguard_fault_report report;
		pthread_mutex_lock(&shm->deferred_lock);
		struct buffer_hold *hold;
		wl_list_for_each (hold, &shm->holds, link) {
			if (hold_take_fault(hold, &report)) {
				buffer = shmguard_buffer_ref(hold->buffer);
				break;
			}
		}
		pthread_mutex_unlock(&shm->deferred_lock);
		if (buffer == NULL) {
			return;
		}
		buffer_fault_seen(buffer, &report);
		shmguard_buffer_unref(buffer);
	}
}

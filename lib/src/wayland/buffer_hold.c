/* Pool references: buffers kept past their wl_buffer, guarded with no
 * window. */
#include "config.h"

#include <assert.h>

#include <wayland-server-core.h>

#include "shmguard/wayland.h"

#include "../guard.h"
#include "../log.h"
#include "../mapping.h"
#include "buffer.h"
#include "buffer_hold.h"
#include "client_budget.h"
#include "shm.h"
#include "shm_pool.h"

static struct shmguard_shm *
buffer_shm(const struct shmguard_buffer *buffer)
{
	return buffer->pool->owner->shm;
}

void
buffer_hold(struct shmguard_buffer *buffer)
{
	assert(buffer->pinned != NULL && "pool references need libwayland's contract");
	struct shmguard_shm *shm = buffer_shm(buffer);
	shmguard_buffer_ref(buffer);
	pthread_mutex_lock(&shm->deferred_lock);
	if (buffer->holds++ == 0) {
		/* Reachable by the fault report before the handler can see
		 * the region: no fault goes unreported. */
		struct guard_region *region = &buffer->pinned->region;
		atomic_store(&region->notify_fd, shm->deferred_fd);
		buffer->hold_fault_reported = false;
		wl_list_insert(&shm->holds, &buffer->hold_link);
		buffer->held_slot = guard_hold(region);
		if (buffer->held_slot == NULL) {
			log_message(SHMGUARD_LOG_ERROR,
				"no memory to guard a pool reference: reads after the wl_buffer "
				"is destroyed are not guarded");
		}
	}
	pthread_mutex_unlock(&shm->deferred_lock);
}

/* The fault on the held buffer's mapping, if one is not reported yet.
 * Under deferred_lock. */
static bool
hold_take_fault(struct shmguard_buffer *buffer, struct shmguard_fault_report *report)
{
	struct guard_region *region = &buffer->pinned->region;
	uint64_t packed = atomic_load(&region->first_fault);
	if (buffer->hold_fault_reported || packed == 0) {
		return false;
	}
	buffer->hold_fault_reported = true;
	report->kind = (enum shmguard_fault_kind)GUARD_FAULT_KIND(packed);
	report->offset = GUARD_FAULT_OFFSET(packed);
	report->file_size = atomic_load(&region->fault_file_size);
	return true;
}

void
buffer_hold_release(struct shmguard_buffer *buffer)
{
	if (buffer == NULL) {
		return;
	}
	struct shmguard_shm *shm = buffer_shm(buffer);
	struct shmguard_fault_report report;
	bool faulted = false;
	pthread_mutex_lock(&shm->deferred_lock);
	assert(buffer->holds > 0 && "wl_shm_pool_unref() without a reference");
	if (--buffer->holds == 0) {
		/* Out of the handler's table first: a fault it saw is in the
		 * region's record by the time we look. */
		if (buffer->held_slot != NULL) {
			guard_unhold(buffer->held_slot);
			buffer->held_slot = NULL;
		}
		wl_list_remove(&buffer->hold_link);
		faulted = hold_take_fault(buffer, &report);
	}
	pthread_mutex_unlock(&shm->deferred_lock);
	if (faulted) {
		buffer_fault_seen(buffer, &report);
	}
	/* Unpins the generation once the last reference goes: unmapped only
	 * after a reclaim scan has seen no handler looking at it. */
	shmguard_buffer_unref(buffer);
}

void
buffer_holds_report_faults(struct shmguard_shm *shm)
{
	/* One at a time, outside the lock: the policy may disconnect the
	 * client, and the compositor's destroy handlers may take or drop
	 * references. */
	for (;;) {
		struct shmguard_buffer *faulted = NULL;
		struct shmguard_fault_report report;
		pthread_mutex_lock(&shm->deferred_lock);
		struct shmguard_buffer *buffer;
		wl_list_for_each (buffer, &shm->holds, hold_link) {
			if (hold_take_fault(buffer, &report)) {
				faulted = shmguard_buffer_ref(buffer);
				break;
			}
		}
		pthread_mutex_unlock(&shm->deferred_lock);
		if (faulted == NULL) {
			return;
		}
		buffer_fault_seen(faulted, &report);
		shmguard_buffer_unref(faulted);
	}
}

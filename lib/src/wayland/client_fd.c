/*
 * Other client file descriptors (keymaps, ICC profiles): copy a stated
 * range out of a client's file with the same checks and the same guard as
 * a wl_shm pool.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>

#include "shmguard/wayland.h"

#include "../file_origin.h"
#include "../log.h"
#include "../pool.h"

SHMGUARD_EXPORT int
shmguard_fd_copy(
	int fd, uint64_t offset, void *dst, size_t size, struct shmguard_fault_report *report)
{
	if (report != NULL) {
		*report = (struct shmguard_fault_report){0};
	}
	if (size == 0) {
		return 0;
	}
	if (offset > UINT64_MAX - size) {
		return -EINVAL;
	}
	/* Map from the start of the file: mmap offsets must be page-aligned,
	 * and the pool checks the file covers the whole range. */
	enum shmguard_pool_error error;
	struct file_origin origin;
	struct shmguard_pool *pool =
		pool_create_vetted(fd, offset + size, NULL, false, NULL, &origin, &error);
	if (pool == NULL) {
		char reason[256];
		file_origin_describe(&origin, error, reason, sizeof(reason));
		log_client_message(SHMGUARD_LOG_DEBUG, "client fd refused: %s", reason);
		return pool_error_to_errno(error);
	}
	int ret = shmguard_pool_read(pool, offset, dst, size, report);
	shmguard_pool_unref(pool);
	return ret;
}

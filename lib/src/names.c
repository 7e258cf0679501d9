/* Names of every public status enum (the _to_str functions). */
#include "config.h"

#include "shmguard/shmguard.h"

SHMGUARD_EXPORT const char *
shmguard_version(void)
{
	return SHMGUARD_VERSION;
}

SHMGUARD_EXPORT const char *
shmguard_log_level_to_str(enum shmguard_log_level level)
{
	switch (level) {
	case SHMGUARD_LOG_ERROR:
		return "error";
	case SHMGUARD_LOG_WARNING:
		return "warning";
	case SHMGUARD_LOG_INFO:
		return "info";
	case SHMGUARD_LOG_DEBUG:
		return "debug";
	}
	return "unknown level";
}

SHMGUARD_EXPORT const char *
shmguard_mechanism_to_str(enum shmguard_mechanism mechanism)
{
	switch (mechanism) {
	case SHMGUARD_MECHANISM_MAP_NOSIGBUS:
		return "MAP_NOSIGBUS";
	case SHMGUARD_MECHANISM_MEMFD_SEALS:
		return "memfd seals";
	case SHMGUARD_MECHANISM_MAP_SHARED_VALIDATE:
		return "MAP_SHARED_VALIDATE";
	case SHMGUARD_MECHANISM_MREMAP_DONTUNMAP:
		return "MREMAP_DONTUNMAP";
	case SHMGUARD_MECHANISM_MAP_DROPPABLE:
		return "MAP_DROPPABLE";
	case SHMGUARD_MECHANISM_MLOCK_ONFAULT:
		return "MLOCK_ONFAULT";
	case SHMGUARD_MECHANISM_PROCESS_VM_READV:
		return "process_vm_readv";
	case SHMGUARD_MECHANISM_MEMBARRIER:
		return "membarrier";
	case SHMGUARD_MECHANISM_MADV_POPULATE_READ:
		return "MADV_POPULATE_READ";
	case SHMGUARD_MECHANISM_COUNT:
		break;
	}
	return "unknown mechanism";
}

SHMGUARD_EXPORT const char *
shmguard_strategy_to_str(enum shmguard_strategy strategy)
{
	switch (strategy) {
	case SHMGUARD_STRATEGY_SEALED:
		return "sealed";
	case SHMGUARD_STRATEGY_NOSIGBUS:
		return "nosigbus";
	case SHMGUARD_STRATEGY_GUARD:
		return "guard";
	}
	return "unknown strategy";
}

SHMGUARD_EXPORT const char *
shmguard_access_mode_to_str(enum shmguard_access_mode mode)
{
	switch (mode) {
	case SHMGUARD_ACCESS_READ:
		return "read";
	case SHMGUARD_ACCESS_WRITE:
		return "write";
	}
	return "unknown access mode";
}

SHMGUARD_EXPORT const char *
shmguard_fault_kind_to_str(enum shmguard_fault_kind kind)
{
	switch (kind) {
	case SHMGUARD_FAULT_NONE:
		return "none";
	case SHMGUARD_FAULT_TRUNCATED:
		return "truncated";
	case SHMGUARD_FAULT_IO_ERROR:
		return "I/O error";
	}
	return "unknown fault";
}

SHMGUARD_EXPORT const char *
shmguard_file_accept_to_str(enum shmguard_file_accept accept)
{
	switch (accept) {
	case SHMGUARD_FILE_ACCEPT_LOCAL:
		return "local";
	case SHMGUARD_FILE_ACCEPT_MEMORY:
		return "memory";
	}
	return "unknown file acceptance";
}

SHMGUARD_EXPORT const char *
shmguard_pool_error_to_str(enum shmguard_pool_error error)
{
	switch (error) {
	case SHMGUARD_POOL_OK:
		return "no error";
	case SHMGUARD_POOL_ERROR_BAD_FD:
		return "not an open file descriptor";
	case SHMGUARD_POOL_ERROR_O_PATH:
		return "file descriptor was opened with O_PATH and cannot be mapped";
	case SHMGUARD_POOL_ERROR_PIPE:
		return "file descriptor is a pipe, not a regular file";
	case SHMGUARD_POOL_ERROR_SOCKET:
		return "file descriptor is a socket, not a regular file";
	case SHMGUARD_POOL_ERROR_DIRECTORY:
		return "file descriptor is a directory, not a regular file";
	case SHMGUARD_POOL_ERROR_CHAR_DEVICE:
		return "file descriptor is a character device, not a regular file";
	case SHMGUARD_POOL_ERROR_BLOCK_DEVICE:
		return "file descriptor is a block device, not a regular file";
	case SHMGUARD_POOL_ERROR_NOT_REGULAR:
		return "file descriptor is not a regular file";
	case SHMGUARD_POOL_ERROR_NOT_READABLE:
		return "file descriptor is write-only and cannot be mapped for reading";
	case SHMGUARD_POOL_ERROR_BAD_SIZE:
		return "pool size is zero or too large";
	case SHMGUARD_POOL_ERROR_FILE_TOO_SHORT:
		return "file is shorter than the pool size";
	case SHMGUARD_POOL_ERROR_SHRINK:
		return "a pool can only grow";
	case SHMGUARD_POOL_ERROR_UNMAPPABLE:
		return "the kernel refused to map the file";
	case SHMGUARD_POOL_ERROR_OVER_BUDGET:
		return "the client's budget (pools, mapped bytes or generations) is exhausted";
	case SHMGUARD_POOL_ERROR_TOO_MANY_MAPPINGS:
		return "the compositor's mapping limit is reached";
	case SHMGUARD_POOL_ERROR_READ_ONLY_FD:
		return "file descriptor is read-only: cannot write into it";
	case SHMGUARD_POOL_ERROR_WRITE_SEALED:
		return "memfd is sealed against writing: cannot write into it";
	case SHMGUARD_POOL_ERROR_NO_MEMORY:
		return "out of memory";
	case SHMGUARD_POOL_ERROR_TOO_MANY_FDS:
		return "the compositor's file-descriptor bound for pools is reached";
	case SHMGUARD_POOL_ERROR_FS_USER_SPACE:
		return "file on a FUSE (or other user-space) file system: page reads can wait on a user-space process";
	case SHMGUARD_POOL_ERROR_FS_STACKED:
		return "file on a stacked file system (overlay, ecryptfs): page reads go to another file system, which can wait on a user-space process";
	case SHMGUARD_POOL_ERROR_FS_NETWORK:
		return "file on a network file system: page reads can wait on a server";
	case SHMGUARD_POOL_ERROR_FS_DEVICE:
		return "file on a file system on a loop, nbd, ublk or other virtual block device: page reads can wait on the file or process behind it";
	case SHMGUARD_POOL_ERROR_FS_UNKNOWN:
		return "file on a file system not known to be memory or a local disk";
	case SHMGUARD_POOL_ERROR_FS_NOT_MEMORY:
		return "file not memory-backed, and the compositor accepts memory-backed files only";
	case SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED:
		return "what backs the file cannot be told (its mount or device is not visible to the compositor)";
	}
	return "unknown pool error";
}

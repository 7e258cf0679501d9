/*
 * stall-fs: a FUSE file system whose daemon stops answering, the way a
 * hostile Wayland client's own daemon would. It holds one regular file,
 * `pool`, of a chosen size, with attribute and entry caches off
 * (attr_timeout=0, entry_timeout=0) so that the kernel asks the daemon
 * every time. Depending on the mode, some requests are held: never
 * answered until stall_fs_stop(), which answers them with EIO.
 *
 * Used in-process (client-demo runs it in a thread) and by the stall-fs
 * program (tests). Needs libfuse3 and a usable /dev/fuse; as root it mounts
 * directly, otherwise libfuse goes through the setuid fusermount3, as an
 * unprivileged client would. Either way fusermount3's auto_unmount takes
 * the mount down if the process dies without unmounting.
 */
#ifndef CLIENT_DEMO_STALL_FS_H
#define CLIENT_DEMO_STALL_FS_H

#include <stdbool.h>
#include <stdint.h>

/** Which requests go unanswered. */
enum stall_fs_mode {
	/** FUSE_READ: a page of the file can never be read in. */
	STALL_FS_DATA = 0,
	/**
	 * Once the file has been opened: FUSE_READ, FUSE_GETATTR of the file
	 * and FUSE_STATFS, so fstat() and fstatfs() on its fd wait too. The
	 * root directory's attributes are still answered, so that the mount
	 * point itself can be looked at.
	 */
	STALL_FS_ALL,
	/**
	 * As STALL_FS_ALL, and FUSE_FLUSH too, which the kernel sends on
	 * every close() of an fd of the file, whoever holds it: closing a
	 * received fd of the file waits on the daemon.
	 */
	STALL_FS_FLUSH,
};

/** The mode's name on the command line: "data", "all", "flush". */
const char *
stall_fs_mode_to_str(enum stall_fs_mode mode);

/** Parse a mode name. Returns 0, or -EINVAL for an unknown name. */
int
stall_fs_mode_from_str(const char *name, enum stall_fs_mode *mode);

/** The name of the one file in the file system's root. */
#define STALL_FS_FILE_NAME "pool"

struct stall_fs;

/**
 * Mount a stall-fs of @p mode with a file of @p size bytes at
 * @p mountpoint (an existing directory; copied). Requests are served only
 * once stall_fs_run() runs. Returns NULL with errno set (libfuse prints
 * its reason on stderr).
 */
struct stall_fs *
stall_fs_create(const char *mountpoint, enum stall_fs_mode mode, uint64_t size);

/**
 * Serve requests, holding those the mode says, until stall_fs_stop() or
 * until the file system is unmounted from outside; then answer every held
 * request with EIO. Call from one thread at a time. Returns 0 or -errno.
 */
int
stall_fs_run(struct stall_fs *fs);

/**
 * Make stall_fs_run() answer what it holds and return. Callable from any
 * thread and from a signal handler (a write() to an eventfd).
 */
void
stall_fs_stop(struct stall_fs *fs);

/** "MOUNTPOINT/pool". */
const char *
stall_fs_file_path(const struct stall_fs *fs);

/** Requests held so far; callable from any thread. */
uint64_t
stall_fs_held_count(const struct stall_fs *fs);

/**
 * Unmount and free. Call when stall_fs_run() is not running (it has
 * returned, or never ran). NULL is a no-op.
 */
void
stall_fs_destroy(struct stall_fs *fs);

#endif /* CLIENT_DEMO_STALL_FS_H */

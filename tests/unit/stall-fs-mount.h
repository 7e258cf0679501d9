/*
 * The stall-fs program (client-demo/stall_fs.h) for C tests: a FUSE file
 * system whose daemon never answers reads (mode "data") or, once its file
 * is open, also the file's getattr and statfs (mode "all"), mounted in
 * this process's own mount namespace.
 *
 * Every wait is bounded and the daemon always ends: stopping it sends
 * SIGTERM (it answers what it holds with EIO, unmounts, exits); it also
 * gets SIGTERM if the test dies (PR_SET_PDEATHSIG), and SIGALRM, which
 * kills it, after a watchdog time, so that a test frozen on the file is
 * freed even if nothing else runs.
 */
#ifndef SHMGUARD_TEST_STALL_FS_MOUNT_H
#define SHMGUARD_TEST_STALL_FS_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct stall_fs_mount {
	pid_t pid;
	int out; /* the daemon's stdout */
	char dir[64]; /* the mount point */
	char file[96]; /* dir/pool */
};

/* Put this process in a mount namespace of its own with every mount
 * private, so that what the test mounts is seen by nobody else and goes
 * with the process. Call before starting threads. Returns 0 or -errno. */
int
private_mount_namespace(void);

/* Whether this process runs under valgrind. Valgrind runs one thread at a
 * time and keeps the others waiting while one is in close(): a close that
 * waits on a FUSE daemon stops the whole process, closer threads or not. */
bool
valgrind_running(void);

/* Why FUSE cannot be tested here (not root, no /dev/fuse, stall-fs not
 * built: its path comes from $SHMGUARD_STALL_FS), or NULL if it can. */
const char *
stall_fs_unusable(void);

/* Mount stall-fs in @p mode ("data" or "all") on a fresh directory, its
 * daemon killed by SIGALRM after @p watchdog_seconds at the latest.
 * Returns 0, or -1 with the reason in @p why. */
int
stall_fs_mount_start(struct stall_fs_mount *mount, const char *mode, unsigned watchdog_seconds,
	char *why, size_t why_size);

/* Stop the daemon (SIGTERM, then SIGKILL after 5 s), reap it and remove
 * the mount point. Idempotent. */
void
stall_fs_mount_stop(struct stall_fs_mount *mount);

#endif

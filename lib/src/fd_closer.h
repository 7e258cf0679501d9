/*
 * Closing a client's fd where close() may wait on a user-space process:
 * every close() of an fd of a FUSE file sends FUSE_FLUSH and waits for
 * the daemon's answer, unkillably, whoever holds the fd (an NFS file's
 * close writes back and waits on its server). So a file refused for what
 * backs it is closed on a thread of the library's own ("shmguard-close"),
 * and the caller goes on.
 */
#ifndef SHMGUARD_FD_CLOSER_H
#define SHMGUARD_FD_CLOSER_H

/* At most this many closer threads; more closes queue (their fds stay
 * open) until one is free. */
#define FD_CLOSER_THREADS_MAX 8
/* How long the caller waits for its close to be done, while no close is
 * known to be stuck: an ordinary close is done in microseconds, and the
 * fd is then closed when this returns, as with close(). Once a close took
 * longer, the next callers do not wait at all until it is done. */
#define FD_CLOSER_WAIT_MS 20

/* Close @p fd (consumed) on a closer thread, waiting as said above. If no
 * thread can be started, close() here. Any thread; not async-signal-safe. */
void
fd_close_aside(int fd);

#endif

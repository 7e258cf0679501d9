/*
 * libshmguard core: safe mappings of memory a client shares by file
 * descriptor. No Wayland types here; see shmguard/wayland.h for wl_shm.
 */
#ifndef SHMGUARD_SHMGUARD_H
#define SHMGUARD_SHMGUARD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SHMGUARD_COMPILATION)
#define SHMGUARD_EXPORT __attribute__((visibility("default")))
#else
#define SHMGUARD_EXPORT
#endif

/** Version of the library, as "MAJOR.MINOR.PATCH" (static storage). Any thread. */
SHMGUARD_EXPORT const char *
shmguard_version(void);

/* ------------------------------------------------------------------ */
/* Logging                                                            */
/* ------------------------------------------------------------------ */

/** Severity of a log message; lower is more severe. */
enum shmguard_log_level {
	SHMGUARD_LOG_ERROR = 0,
	SHMGUARD_LOG_WARNING,
	SHMGUARD_LOG_INFO,
	SHMGUARD_LOG_DEBUG,
};

/**
 * Name of a log level ("error", "warning", ...). Like every _to_str()
 * function of the library: a static string, never NULL ("unknown level"
 * for a value outside the enum); any thread.
 */
SHMGUARD_EXPORT const char *
shmguard_log_level_to_str(enum shmguard_log_level level);

/**
 * Route the library's messages to @p handler, called with @p user_data.
 * NULL restores the default: messages at or above the threshold go to
 * stderr. The handler may be called from any thread that calls into the
 * library, never from a signal handler; calls are serialised (one at a
 * time, under the library's log lock: the handler must not call
 * shmguard_log_set_handler() or shmguard_log_set_level()). The message is
 * valid only during the call. Messages a client can
 * trigger are rate-limited before they reach the handler.
 *
 * Process-wide. Thread-safe: a message being emitted while the handler is
 * replaced goes to the old or the new one, whole. Not async-signal-safe.
 */
SHMGUARD_EXPORT void
shmguard_log_set_handler(void (*handler)(enum shmguard_log_level level, const char *format,
				 va_list args, void *user_data),
	void *user_data);

/**
 * Drop messages less severe than @p level (default: SHMGUARD_LOG_ERROR).
 * Process-wide; thread-safe; not async-signal-safe.
 */
SHMGUARD_EXPORT void
shmguard_log_set_level(enum shmguard_log_level level);

/* ------------------------------------------------------------------ */
/* Probe: what this kernel really does                                */
/* ------------------------------------------------------------------ */

/** A kernel mechanism the library may rely on. */
enum shmguard_mechanism {
	/** mmap(MAP_PRIVATE | MAP_NOSIGBUS) reads zeros past EOF. */
	SHMGUARD_MECHANISM_MAP_NOSIGBUS = 0,
	/** memfd_create(MFD_ALLOW_SEALING) and F_ADD_SEALS/F_GET_SEALS. */
	SHMGUARD_MECHANISM_MEMFD_SEALS,
	/** MAP_SHARED_VALIDATE refuses unknown flags. */
	SHMGUARD_MECHANISM_MAP_SHARED_VALIDATE,
	/** mremap(MREMAP_DONTUNMAP) on a shared mapping. */
	SHMGUARD_MECHANISM_MREMAP_DONTUNMAP,
	/** MAP_DROPPABLE mappings. */
	SHMGUARD_MECHANISM_MAP_DROPPABLE,
	/** mlock2(MLOCK_ONFAULT). */
	SHMGUARD_MECHANISM_MLOCK_ONFAULT,
	/** process_vm_readv() fails with EFAULT on a truncated mapping. */
	SHMGUARD_MECHANISM_PROCESS_VM_READV,
	/** membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED). Should it fail later
	 * (a seccomp filter installed since), access windows publish with a
	 * fence from then on (logged at SHMGUARD_LOG_WARNING); this result
	 * stays what the probe found. */
	SHMGUARD_MECHANISM_MEMBARRIER,
	/** madvise(MADV_POPULATE_READ) reports EFAULT instead of SIGBUS. */
	SHMGUARD_MECHANISM_MADV_POPULATE_READ,
	/** Number of mechanisms (the length of shmguard_probe()'s table). */
	SHMGUARD_MECHANISM_COUNT,
};

/** Name of a mechanism ("MAP_NOSIGBUS", ...). */
SHMGUARD_EXPORT const char *
shmguard_mechanism_to_str(enum shmguard_mechanism mechanism);

/** What the probe established about one mechanism. */
struct shmguard_probe_result {
	/** The mechanism this entry is about. */
	enum shmguard_mechanism mechanism;
	/** True if the kernel showed the behaviour. */
	bool supported;
	/** One line saying how it was established (static storage). */
	const char *how;
};

/**
 * Probe the kernel, once per process; later calls return the same table.
 * Thread-safe. Each entry is established by behaviour (what the kernel
 * does), never by a flag being accepted. Returns an array of
 * SHMGUARD_MECHANISM_COUNT entries indexed by enum shmguard_mechanism,
 * owned by the library and valid for the life of the process.
 */
SHMGUARD_EXPORT const struct shmguard_probe_result *
shmguard_probe(void);

/* ------------------------------------------------------------------ */
/* Strategies                                                          */
/* ------------------------------------------------------------------ */

/** How one direction of one mapping generation is made safe. */
enum shmguard_strategy {
	/** F_SEAL_SHRINK and a file that covers the pool: no guard needed. */
	SHMGUARD_STRATEGY_SEALED = 0,
	/** A private read-only MAP_NOSIGBUS mapping (reads only). */
	SHMGUARD_STRATEGY_NOSIGBUS,
	/** The SIGBUS guard. */
	SHMGUARD_STRATEGY_GUARD,
};

/** Name of a strategy ("sealed", "nosigbus", "guard"). */
SHMGUARD_EXPORT const char *
shmguard_strategy_to_str(enum shmguard_strategy strategy);

/** Direction of an access. WRITE implies READ. */
enum shmguard_access_mode {
	SHMGUARD_ACCESS_READ = 1,
	SHMGUARD_ACCESS_WRITE = 2,
};

/** Name of an access mode ("read", "write"). */
SHMGUARD_EXPORT const char *
shmguard_access_mode_to_str(enum shmguard_access_mode mode);

/**
 * The strategy a pool of @p size bytes over @p fd (borrowed: not closed)
 * would use for @p mode, and why, in one static sentence stored in @p why
 * (if not NULL). Nothing is mapped; the fd is vetted with the default
 * policy (shmguard_file_vet()), then inspected with fstat() and
 * fcntl(F_GET_SEALS). Returns the strategy (>= 0), or -EBADF (not an open
 * fd) or -EINVAL (not a mappable regular file, on a file system the
 * default policy refuses, or WRITE on a read-only or write-sealed fd),
 * with the reason in @p why. Thread-safe.
 */
SHMGUARD_EXPORT int
shmguard_strategy_choose(int fd, uint64_t size, enum shmguard_access_mode mode, const char **why);

/* ------------------------------------------------------------------ */
/* Budgets                                                             */
/* ------------------------------------------------------------------ */

/** Bounds on what a group of pools (typically one client) may map. */
struct shmguard_budget_limits {
	/**
	 * Pools alive at once; 0 means the default: 1024, or a quarter of
	 * the process-wide pool fd bound if that is less (a process at
	 * RLIMIT_NOFILE 1024 gets 128 per client).
	 */
	uint32_t max_pools;
	/** Bytes mapped at once, all generations; 0: default (4 GiB). */
	uint64_t max_mapped_bytes;
	/** Generations alive per pool (current + retiring); 0: default (16). */
	uint32_t max_generations_per_pool;
	/**
	 * Mappings alive at once: the read mapping of every live generation
	 * of every pool, plus each write mapping. 0 means the default: a
	 * quarter of the process-wide mapping bound when the budget (or the
	 * wl_shm global) is created, 3,583 at vm.max_map_count 65,530 (see
	 * shmguard_set_max_mappings()). Whatever its pools and generations
	 * allow, a budget at this cap leaves three quarters of the bound to
	 * the others. Past it: SHMGUARD_POOL_ERROR_OVER_BUDGET.
	 */
	uint32_t max_mappings;
};

/** A shared account that pools charge their mappings to. */
struct shmguard_budget;

/**
 * Create a budget with @p limits (copied; NULL or zero fields: the
 * defaults). Returns NULL on ENOMEM. The caller holds one reference; each
 * pool charged to the budget holds another. Thread-safe.
 */
SHMGUARD_EXPORT struct shmguard_budget *
shmguard_budget_create(const struct shmguard_budget_limits *limits);

/** Take a reference. Thread-safe. */
SHMGUARD_EXPORT struct shmguard_budget *
shmguard_budget_ref(struct shmguard_budget *budget);

/** Drop a reference; the last one frees. NULL is a no-op. Thread-safe. */
SHMGUARD_EXPORT void
shmguard_budget_unref(struct shmguard_budget *budget);

/** Pools currently charged to @p budget (a snapshot). Thread-safe. */
SHMGUARD_EXPORT uint32_t
shmguard_budget_get_pools(const struct shmguard_budget *budget);

/**
 * Bytes currently mapped on behalf of @p budget, read and write mappings
 * of every live generation (a snapshot). Thread-safe.
 */
SHMGUARD_EXPORT uint64_t
shmguard_budget_get_mapped_bytes(const struct shmguard_budget *budget);

/**
 * Mappings currently charged to @p budget (a snapshot; at most its
 * max_mappings). Thread-safe.
 */
SHMGUARD_EXPORT uint32_t
shmguard_budget_get_mappings(const struct shmguard_budget *budget);

/**
 * Process-wide bound on the mappings the library holds, so that the
 * guard's remap always finds room below vm.max_map_count.
 *
 * A mapping may become two VMAs (kernel map entries): a fault covers it
 * with zero pages from the faulting page to its end, which splits it once
 * (later covers of the same mapping replace the first). The default
 * keeps, of vm.max_map_count M (read at the first call into the library,
 * and again when 0 is passed here):
 * - M/2 for the rest of the process;
 * - M/16 that pool creation never uses, so that a cover finds a free VMA
 *   even when the rest of the process has used its half;
 * - 7M/16 VMAs for the library: 7M/32 mappings (14,335 at M = 65,530).
 *
 * Each client's budget gets a quarter of this bound by default
 * (shmguard_budget_limits.max_mappings). An explicit @p max_mappings
 * should keep 2 x max_mappings below M minus what the rest of the
 * process uses. Applies to mappings made from now on (existing ones
 * stay); a mapping that would pass it fails with
 * SHMGUARD_POOL_ERROR_TOO_MANY_MAPPINGS (-ENOSPC). Thread-safe.
 */
SHMGUARD_EXPORT void
shmguard_set_max_mappings(uint32_t max_mappings);

/**
 * Process-wide bound on the file descriptors pools keep (one each), so
 * that clients cannot push the process to RLIMIT_NOFILE and starve its
 * accept() and every other open. The default is half of RLIMIT_NOFILE's
 * soft limit at the first call into the library. 0 restores it.
 */
SHMGUARD_EXPORT void
shmguard_set_max_pool_fds(uint32_t max_pool_fds);

/* ------------------------------------------------------------------ */
/* Pool errors                                                         */
/* ------------------------------------------------------------------ */

/** Why a pool could not be created, resized or written. */
enum shmguard_pool_error {
	SHMGUARD_POOL_OK = 0,
	/** Not an open file descriptor. */
	SHMGUARD_POOL_ERROR_BAD_FD,
	/** An O_PATH descriptor: cannot be mapped. */
	SHMGUARD_POOL_ERROR_O_PATH,
	/** A pipe or FIFO. */
	SHMGUARD_POOL_ERROR_PIPE,
	/** A socket (a TCP socket can be mapped and then raises SIGBUS). */
	SHMGUARD_POOL_ERROR_SOCKET,
	/** A directory. */
	SHMGUARD_POOL_ERROR_DIRECTORY,
	/** A character device (/dev/zero, /dev/null, ...). */
	SHMGUARD_POOL_ERROR_CHAR_DEVICE,
	/** A block device. */
	SHMGUARD_POOL_ERROR_BLOCK_DEVICE,
	/** Some other non-regular file (eventfd, signalfd, ...). */
	SHMGUARD_POOL_ERROR_NOT_REGULAR,
	/** Opened write-only: cannot be mapped for reading. */
	SHMGUARD_POOL_ERROR_NOT_READABLE,
	/** Size zero, or too large for the address space. */
	SHMGUARD_POOL_ERROR_BAD_SIZE,
	/** The file is shorter than the pool claims. */
	SHMGUARD_POOL_ERROR_FILE_TOO_SHORT,
	/** A resize that would shrink the pool. */
	SHMGUARD_POOL_ERROR_SHRINK,
	/** The kernel refused to map the file. */
	SHMGUARD_POOL_ERROR_UNMAPPABLE,
	/** The pool's budget (pools, bytes or generations) is exhausted. */
	SHMGUARD_POOL_ERROR_OVER_BUDGET,
	/** The process-wide mapping bound is reached. */
	SHMGUARD_POOL_ERROR_TOO_MANY_MAPPINGS,
	/** Write access asked on a descriptor opened read-only. */
	SHMGUARD_POOL_ERROR_READ_ONLY_FD,
	/** Write access asked on a memfd with F_SEAL_WRITE/FUTURE_WRITE. */
	SHMGUARD_POOL_ERROR_WRITE_SEALED,
	/** Out of memory. */
	SHMGUARD_POOL_ERROR_NO_MEMORY,
	/** The process-wide bound on pool file descriptors is reached. */
	SHMGUARD_POOL_ERROR_TOO_MANY_FDS,
	/**
	 * The file is on a file system served by a user-space process (FUSE:
	 * fuse, fuseblk, fuse.*; coda; orangefs): a page read waits for it.
	 */
	SHMGUARD_POOL_ERROR_FS_USER_SPACE,
	/**
	 * The file is on a stacked file system (overlay, ecryptfs): a page
	 * read goes to the file system below, which may be FUSE.
	 */
	SHMGUARD_POOL_ERROR_FS_STACKED,
	/** The file is on a network file system (nfs, cifs, 9p, ceph, ...). */
	SHMGUARD_POOL_ERROR_FS_NETWORK,
	/**
	 * The file is on a block file system whose device is a loop, nbd or
	 * ublk device (or another virtual device), possibly under
	 * device-mapper or md: its reads can wait on a file or a process.
	 */
	SHMGUARD_POOL_ERROR_FS_DEVICE,
	/** The file system type is not known to be memory or a local disk. */
	SHMGUARD_POOL_ERROR_FS_UNKNOWN,
	/** A local disk file, and the policy accepts memory-backed files only. */
	SHMGUARD_POOL_ERROR_FS_NOT_MEMORY,
	/**
	 * What backs the file could not be found out: its mount is not in
	 * this process's mount namespace, or /proc or /sys is missing.
	 */
	SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED,
};

/** One sentence saying what @p error means ("file descriptor is a pipe"). */
SHMGUARD_EXPORT const char *
shmguard_pool_error_to_str(enum shmguard_pool_error error);

/* ------------------------------------------------------------------ */
/* Which files: what may back a client's file                          */
/* ------------------------------------------------------------------ */

/*
 * Mapping a client's file hands the client a way to stop the compositor:
 * every page the compositor touches for the first time is read from
 * whatever backs the file, and the compositor thread sleeps in the kernel
 * until that read is answered, with no signal and no timeout that could
 * get it out (SIGKILL included). Memory and local disks answer; other
 * file systems may not:
 *
 * - FUSE (fuse, fuseblk, fuse.NAME): any user can mount one through
 *   fusermount3 and write a daemon that never answers. coda and orangefs
 *   also ask a user-space daemon.
 * - overlay and ecryptfs read the file from another file system, which
 *   may be a FUSE mount.
 * - network file systems (nfs, cifs/smb3, 9p, ceph, afs, virtiofs, ...)
 *   wait on a server, which may be the client's machine or gone.
 * - a block file system on a loop device reads a file (which may be on
 *   FUSE; desktop users can set up loop devices through udisks); on nbd
 *   or ublk (unprivileged since Linux 6.5) a server process answers;
 *   device-mapper and md stacks (LUKS, LVM, RAID) are followed down to
 *   the devices they are made of.
 * - anything else is refused until it is known to be safe.
 *
 * So the library looks at what backs a file before anything reads it,
 * without a call that could reach the file's own file system: fstat()
 * and fstatfs() on a FUSE file are requests to its daemon too. What it
 * uses, each measured against a FUSE daemon that never answers: fcntl()
 * F_GETFL and F_GET_SEALS (which succeeds only on shmem and hugetlbfs
 * files: every memfd and tmpfs file), /proc/self/fdinfo/N (the mount
 * id), /proc/self/mountinfo (that mount's type, source and device) and
 * /sys/dev/block (what the device is). Refused files get a
 * SHMGUARD_POOL_ERROR_FS_* error.
 */

/** Which file systems a pool's file may be on, besides the extra types. */
enum shmguard_file_accept {
	/**
	 * The default: memory-backed files (memfd, tmpfs, hugetlbfs, ramfs,
	 * devtmpfs) and files on local block-device file systems (ext2/3/4,
	 * xfs, btrfs, f2fs, jfs, reiserfs, nilfs2, vfat, msdos, exfat,
	 * ntfs3, hfsplus) whose every device is a disk on a bus or a RAM
	 * disk. Old clients make pools with mkstemp() under /tmp or
	 * $XDG_RUNTIME_DIR, which may be on disk.
	 */
	SHMGUARD_FILE_ACCEPT_LOCAL = 0,
	/** Memory-backed files only. */
	SHMGUARD_FILE_ACCEPT_MEMORY,
};

/** Name of a file acceptance ("local", "memory"). */
SHMGUARD_EXPORT const char *
shmguard_file_accept_to_str(enum shmguard_file_accept accept);

/** What files a pool may be made of; zero-initialised, the default. */
struct shmguard_file_policy {
	/** The base set of accepted files. */
	enum shmguard_file_accept accept;
	/**
	 * File system types accepted as well, as /proc/self/mountinfo names
	 * them ("overlay", "fuse.sshfs", "nfs4"): exact names, accepted
	 * whatever device they are on. Adding a type says the compositor
	 * trusts whoever serves that file system not to stall it. May be
	 * NULL; NULL and empty entries are ignored.
	 */
	const char *const *extra_fs_types;
	/** Number of entries in @p extra_fs_types. */
	size_t extra_fs_types_len;
};

/**
 * Whether @p policy (NULL: the default) accepts @p fd (borrowed) as a
 * pool's file, by what backs it. Nothing here reaches the fd's own file
 * system (no fstat(), fstatfs(), read or mapping); only objects on no
 * mount at all (pipes, sockets, anonymous inodes), whose file systems
 * are the kernel's own, are fstat()ed to name their type. Stores one
 * sentence in @p reason (if not NULL; @p reason_size bytes, always
 * terminated) saying what backs the file and why it is accepted or not,
 * e.g. "file on a fuse.sshfs file system: page reads can wait on a
 * user-space process". Returns SHMGUARD_POOL_OK, or the reason it would
 * be refused: a SHMGUARD_POOL_ERROR_FS_* value, or _BAD_FD, _O_PATH, or a
 * type (_PIPE, ...) for objects that are not files on a mount. The
 * file's type, size and access mode are checked at pool creation, not
 * here. Thread-safe. A memfd costs two fcntl() calls; a file on disk
 * reads /proc/self/fdinfo/N, /proc/self/mountinfo and a few sysfs files
 * (tens of microseconds).
 */
SHMGUARD_EXPORT enum shmguard_pool_error
shmguard_file_vet(
	int fd, const struct shmguard_file_policy *policy, char *reason, size_t reason_size);

/**
 * Close @p fd (consumed; a negative fd is ignored) without letting the
 * file's file system stop the caller: every close() of an fd of a FUSE
 * file sends a flush request and waits, unkillably, for the daemon's
 * answer, whoever holds the fd. A memfd, tmpfs or hugetlbfs file (one
 * that F_GET_SEALS answers) is closed at once on the calling thread: its
 * close() never waits on user space. Any other fd is closed on a thread
 * of the library's own, named "shmguard-close" (at most 8; further closes
 * wait in a queue, their fds open, while all 8 are stuck). The caller
 * waits up to 20 ms for it, and not at all while an earlier close is
 * known to be stuck; on a busy machine the close may still be under way
 * when this returns. Use it for a client's fd that shmguard_file_vet() refused (the
 * wl_shm global does so for create_pool). Any thread; not
 * async-signal-safe. Closer threads block every signal.
 */
SHMGUARD_EXPORT void
shmguard_fd_close(int fd);

/* ------------------------------------------------------------------ */
/* Pools                                                               */
/* ------------------------------------------------------------------ */

/** A client's file plus its current mapping generation. */
struct shmguard_pool;

/**
 * Map @p size bytes of @p fd (borrowed: the pool keeps its own duplicate,
 * so the caller may close @p fd at once) read-only, choosing the strategy
 * by what the kernel and the file allow. The mapping is charged to
 * @p budget (may be NULL), which the pool keeps a reference to.
 *
 * The fd must be a readable regular file at least @p size bytes long, on
 * a file system the default policy accepts (see shmguard_file_vet():
 * memory-backed files and local disks).
 * Returns NULL and sets @p error (if not NULL) to the reason otherwise.
 * The caller holds one reference. Thread-safe; not async-signal-safe.
 *
 * Signals: the first pool (or shmguard_probe()) installs the library's
 * SIGBUS handler for the whole process, chaining to the disposition
 * installed before. Each later call checks that it is still on top; if
 * another handler was installed over it, it goes back on top and chains
 * to that one (logged at SHMGUARD_LOG_INFO), which chains on to what it
 * replaced. A SIGBUS that is not the library's meets what it would have
 * met without the library, as the kernel would deliver it: a handler is
 * called with its sa_mask (and SIGBUS unless SA_NODEFER) blocked, once
 * only if SA_RESETHAND; SIG_IGN ignores a sent SIGBUS; SIG_DFL, and a
 * fault under SIG_IGN, kill the process with a core that records that
 * very fault (or the sent signal with its sender). The exceptions (a
 * SIGBUS the process sends to a thread with a window open over memory
 * that faults at that moment is taken for one of the library's faults
 * raised again by a handler over its own, and dropped) are listed in the
 * README's "Other SIGBUS handlers".
 */
SHMGUARD_EXPORT struct shmguard_pool *
shmguard_pool_create(
	int fd, uint64_t size, struct shmguard_budget *budget, enum shmguard_pool_error *error);

/**
 * shmguard_pool_create() with @p policy (borrowed for the call; NULL: the
 * default) deciding which files are accepted (see shmguard_file_vet()):
 * the file is vetted once, here, before anything else looks at it, and a
 * refused file gives NULL with a SHMGUARD_POOL_ERROR_FS_* error.
 * shmguard_pool_create() is this with the default policy. Thread-safe.
 */
SHMGUARD_EXPORT struct shmguard_pool *
shmguard_pool_create_with_policy(int fd, uint64_t size, struct shmguard_budget *budget,
	const struct shmguard_file_policy *policy, enum shmguard_pool_error *error);

/** Take a reference. Thread-safe. */
SHMGUARD_EXPORT struct shmguard_pool *
shmguard_pool_ref(struct shmguard_pool *pool);

/**
 * Drop a reference. The last one retires the pool: its fd is closed and its
 * mapping unmapped once the last access window on it has closed. NULL is a
 * no-op. Thread-safe.
 */
SHMGUARD_EXPORT void
shmguard_pool_unref(struct shmguard_pool *pool);

/**
 * Grow the pool to @p new_size at once: a new mapping generation, with the
 * strategy decided again (seals and file size re-checked). Windows open on
 * the old generation keep valid pointers until they close. The same size
 * is a no-op. Returns 0, or -EINVAL (shrink, bad size, unmappable),
 * -ENXIO (file too short), -ENOSPC (the budget or the process-wide
 * mapping bound), -ENOMEM, with @p error (if not NULL) saying which. On
 * failure the pool keeps its current generation. Thread-safe (resizes of
 * one pool are serialised).
 */
SHMGUARD_EXPORT int
shmguard_pool_resize(
	struct shmguard_pool *pool, uint64_t new_size, enum shmguard_pool_error *error);

/**
 * If the current generation faulted and the file is now long enough again,
 * map it afresh as a new generation (the policy of when to call this is
 * the caller's); windows open on the faulted one keep it until they close.
 * Returns 0 when the pool is healthy afterwards (also when it never
 * faulted), -ENXIO if the file is still short, other -errno as
 * shmguard_pool_resize(). Thread-safe.
 */
SHMGUARD_EXPORT int
shmguard_pool_revalidate(struct shmguard_pool *pool);

/** Size in bytes of the current generation. Thread-safe. */
SHMGUARD_EXPORT uint64_t
shmguard_pool_get_size(const struct shmguard_pool *pool);

/** Strategy of the current generation for @p mode. Thread-safe. */
SHMGUARD_EXPORT enum shmguard_strategy
shmguard_pool_get_strategy(const struct shmguard_pool *pool, enum shmguard_access_mode mode);

/**
 * Whether @p mode access can work on this pool; if not, @p error (if not
 * NULL) says why (SHMGUARD_POOL_ERROR_READ_ONLY_FD or _WRITE_SEALED).
 * READ always can. Thread-safe; no system call.
 */
SHMGUARD_EXPORT bool
shmguard_pool_allows(const struct shmguard_pool *pool, enum shmguard_access_mode mode,
	enum shmguard_pool_error *error);

/* ------------------------------------------------------------------ */
/* Faults                                                              */
/* ------------------------------------------------------------------ */

/** What went wrong on an access. */
enum shmguard_fault_kind {
	SHMGUARD_FAULT_NONE = 0,
	/** The client truncated the file: it is shorter than the access. */
	SHMGUARD_FAULT_TRUNCATED,
	/** SIGBUS on a file that is long enough: an I/O error. */
	SHMGUARD_FAULT_IO_ERROR,
};

/** Name of a fault kind ("none", "truncated", "I/O error"). */
SHMGUARD_EXPORT const char *
shmguard_fault_kind_to_str(enum shmguard_fault_kind kind);

/** What an access found. */
struct shmguard_fault_report {
	/** SHMGUARD_FAULT_NONE when nothing went wrong. */
	enum shmguard_fault_kind kind;
	/** Pool offset of the first fault seen on the generation. */
	uint64_t offset;
	/** File size (fstat) when the fault was classified. */
	uint64_t file_size;
};

/**
 * The first fault recorded on the pool's current generation, if any, as
 * classified when it happened (the file size is fstat()'s at that time).
 * Returns true and fills @p report (if not NULL) if it faulted; false,
 * with @p report's kind SHMGUARD_FAULT_NONE, otherwise. A resize or a
 * successful revalidate starts a generation without a fault.
 * Thread-safe; no system call.
 */
SHMGUARD_EXPORT bool
shmguard_pool_get_fault(struct shmguard_pool *pool, struct shmguard_fault_report *report);

/* ------------------------------------------------------------------ */
/* Access windows: for foreign code                                    */
/* ------------------------------------------------------------------ */

/** An open access window (lives on the opening thread's window stack). */
struct shmguard_access;

/**
 * Open an access window over [@p offset, @p offset + @p length) of @p pool
 * for @p mode, and store a pointer to its first byte in @p data. Any code
 * (pixman, a GL upload) may then touch those bytes until
 * shmguard_access_end(): if the client truncates the file meanwhile, the
 * faulting range reads as zeros and the fault is reported at the end.
 * A WRITE window maps the pool writable on first use (charged to the
 * pool's budget).
 *
 * Lifetime: the window keeps the generation it opened on mapped, even if
 * the pool is resized or its last reference dropped meanwhile; the
 * caller must still hold a pool reference when calling this. The window
 * itself (@p access) belongs to the library and is valid until
 * shmguard_access_end().
 *
 * Windows nest on any pools, up to 32 per thread; they must be closed on
 * the thread that opened them. No system call and no lock on this path
 * once the pool's mapping exists (the first window of a thread allocates
 * its window stack and unblocks SIGBUS in the thread: a fault in a thread
 * that blocks SIGBUS kills the process without asking any handler, so do
 * not block it again there; the first WRITE window of a generation maps
 * it). Async-signal-safe: no.
 *
 * Returns 0, -ERANGE (outside the pool), -EACCES (write on a read-only fd),
 * -EPERM (write on a write-sealed memfd, or the kernel refused a writable
 * mapping), -ENOSPC (the write mapping would pass the budget or the
 * process-wide mapping bound), -EMFILE (too many nested windows),
 * -ENOMEM.
 */
SHMGUARD_EXPORT int
shmguard_access_begin(struct shmguard_pool *pool, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, struct shmguard_access **access, void **data);

/**
 * Close @p access, on the thread that opened it (closing it elsewhere, or
 * twice, is a bug the library assert()s). Returns true if the generation
 * faulted (in this window or earlier) and fills @p report (if not NULL);
 * false otherwise, with @p report's kind SHMGUARD_FAULT_NONE. The pointer
 * from shmguard_access_begin() is invalid afterwards. No system call in
 * the steady state (on the nosigbus strategy: one fstat()).
 * Async-signal-safe: no.
 */
SHMGUARD_EXPORT bool
shmguard_access_end(struct shmguard_access *access, struct shmguard_fault_report *report);

/* ------------------------------------------------------------------ */
/* Guarded copies: the library's own                                   */
/* ------------------------------------------------------------------ */

/**
 * Copy @p length bytes at @p offset of @p pool into @p dst, under
 * sigsetjmp. At the first fault the copy stops and returns -EFAULT with
 * @p report (if not NULL) filled; @p dst then holds no promise. A
 * generation that faulted before keeps answering -EFAULT until a resize
 * or shmguard_pool_revalidate() replaces it. Returns 0, -EFAULT, -ERANGE,
 * -EMFILE (32 windows already open on this thread) or -ENOMEM. The
 * thread's signal mask is the same after a fault as before the call,
 * whichever handler the fault came through. Any thread (the first call on
 * a thread unblocks SIGBUS in it, as shmguard_access_begin() does), with a
 * pool reference held; no system call on success; async-signal-safe: no.
 */
SHMGUARD_EXPORT int
shmguard_pool_read(struct shmguard_pool *pool, uint64_t offset, void *dst, size_t length,
	struct shmguard_fault_report *report);

/**
 * Copy @p length bytes from @p src into @p pool at @p offset (write-back,
 * e.g. a screen capture), under sigsetjmp; the first write makes the
 * pool's write mapping. Returns 0, -EFAULT (a fault: the client's bytes
 * are undefined; as for shmguard_pool_read(), also when the generation
 * faulted before), -ERANGE, -EACCES (read-only fd), -EPERM (write-sealed),
 * -ENOSPC (write mapping over the budget or mapping bound), -EMFILE,
 * -ENOMEM. The signal mask and threads as for shmguard_pool_read(). Any
 * thread, with a pool reference held; async-signal-safe: no.
 */
SHMGUARD_EXPORT int
shmguard_pool_write(struct shmguard_pool *pool, uint64_t offset, const void *src, size_t length,
	struct shmguard_fault_report *report);

#ifdef __cplusplus
}
#endif

#endif /* SHMGUARD_SHMGUARD_H */

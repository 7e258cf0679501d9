/*
 * fuzz-core: structured fuzzing of the core (no Wayland).
 *
 * An input is decoded as a configuration and a sequence of operations on
 * files, pools, access windows and guarded copies, run on one thread. A
 * model of what the library must do runs alongside, and any difference
 * aborts (libFuzzer reports it as a crash):
 *
 * - every return code is the one the model expects (pool creation: the
 *   exact shmguard_pool_error for each kind of fd and size; resize,
 *   revalidate, windows and copies: the documented -errno);
 * - a fault is reported only on a pool whose file was cut shorter than
 *   the pool, is classified "truncated", and lies past the file's end;
 * - bytes read are the file's pattern (fuzz_pattern_byte(), never zero) or
 *   zeros; while a file never had a hole, a zero byte before the file's
 *   end means the access reported a fault, and a successful guarded read
 *   returns the pattern up to the file's end;
 * - at the end of every input: no fd, mapping, generation or budget
 *   charge left behind.
 *
 * Input format (a missing byte reads as 0):
 *   byte 0: bit 0 use a budget; bits 1-2 its max_pools (0: default, else
 *           1-3); bits 3-4 max_generations_per_pool (0: default, else 1-3);
 *           bits 5-6 max_mapped_bytes (default, 64 KiB, 256 KiB, 1 MiB);
 *           bit 7 set a process-wide mapping bound of 1 + byte 1 % 8.
 *   byte 1: see bit 7.
 *   then operations: one opcode byte (% OP_COUNT), then its arguments, as
 *   decoded by the run_*() function of each operation below.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "src/budget.h"
#include "src/guard.h"

#include "fuzz-support.h"
#include "fuzz.h"

#define PAGE 4096u
#define MAX_FILES 8
#define MAX_POOLS 8
#define MAX_FILE_BYTES (64u * PAGE)
#define MAX_OPERATIONS 256
#define DEFAULT_MAX_GENERATIONS 16u
#define SYSFS_FILE "/sys/kernel/mm/transparent_hugepage/enabled"

/* The name failures are reported with, and the memfds are given. */
#define TARGET "fuzz-core"
#define CHECK(condition, ...) FUZZ_CHECK(TARGET, condition, __VA_ARGS__)

_Static_assert(MAX_FILE_BYTES <= FUZZ_PATTERN_BYTES, "files longer than the pattern");

enum file_kind {
	FILE_MEMFD,
	FILE_MEMFD_SEALED,
	FILE_MEMFD_READ_ONLY,
	FILE_MEMFD_WRITE_ONLY,
	FILE_TMPFILE,
	FILE_PIPE,
	FILE_UNIX_SOCKET,
	FILE_TCP_SOCKET,
	FILE_DIRECTORY,
	FILE_DEV_NULL,
	FILE_DEV_ZERO,
	FILE_EVENTFD,
	FILE_O_PATH,
	FILE_BAD_FD,
	FILE_PROC,
	FILE_SYSFS,
	FILE_KIND_COUNT,
};

struct fuzz_file {
	bool used;
	enum file_kind kind;
	/* The fd pools are created from; -1 once the "client" closed it. */
	int fd;
	/* A writable fd of the same file, to truncate and grow it; -1 if
	 * none or closed. May equal fd. */
	int write_fd;
	/* Our own fd of the same file, for fstat and F_GET_SEALS after the
	 * client closed its fds; -1 for what is no file we made. */
	int meta_fd;
	/* What shmguard_pool_create() must refuse this fd with, by type. */
	enum shmguard_pool_error type_error;
	/* Never grown by ftruncate: no hole, every byte up to the end of
	 * the file is the pattern. (Past the end, the rest of the last page
	 * reads zeros without a fault.) */
	bool clean;
};

struct fuzz_pool {
	bool used;
	unsigned refs; /* ours; 0: released, windows may still be open */
	struct shmguard_pool *pool;
	unsigned file;
	uint64_t size;
	/* The file was cut shorter than the pool since it was created. */
	bool may_fault;
	/* The current generation has its write mapping. */
	bool write_mapped;
	/* Of the current generation: 0, -EACCES or -EPERM for writes. */
	int write_refusal;
	enum shmguard_strategy strategy;
	unsigned windows;
	/* Serial of the current generation, as windows remember it. */
	unsigned generation;
};

struct fuzz_window {
	bool open;
	unsigned pool;
	unsigned generation;
	struct shmguard_access *access;
	uint8_t *data;
	uint64_t offset;
	size_t length;
	enum shmguard_access_mode mode;
	bool saw_zero;
};

struct fuzz_state {
	struct fuzz_input input;
	struct fuzz_file files[MAX_FILES];
	struct fuzz_pool pools[MAX_POOLS];
	/* Indexed as the library's window stack: depth is the highest open
	 * window plus one. */
	struct fuzz_window windows[GUARD_MAX_WINDOWS];
	unsigned depth;
	struct shmguard_budget *budget;
	struct shmguard_budget_limits limits;
	uint32_t max_mappings; /* 0: the library's default */
	bool nosigbus;
};

/* fuzz_pattern_table(), from the first input on. */
static const uint8_t *pattern;
/* FUZZ_CORE_TRACE=1 in the environment: print each operation, to read a
 * reproducer. */
static bool trace;
static uint8_t scratch[MAX_FILE_BYTES];

/* ------------------------------------------------------------------ */
/* Decoding                                                            */
/* ------------------------------------------------------------------ */

/* A file size up to MAX_FILE_BYTES, page-aligned or not. */
static uint64_t
next_file_size(struct fuzz_state *s)
{
	uint64_t pages = fuzz_input_u8(&s->input) % 65;
	uint8_t tail = fuzz_input_u8(&s->input);
	uint64_t size = pages * PAGE + (tail < 128 ? 0 : (tail * 37u) % PAGE);
	return size > MAX_FILE_BYTES ? MAX_FILE_BYTES : size;
}

/* A pool size: usually near the file's, sometimes absurd. */
static uint64_t
next_pool_size(struct fuzz_state *s, uint64_t file_size)
{
	switch (fuzz_input_u8(&s->input) % 8) {
	case 0:
		return file_size;
	case 1:
		return (uint64_t)(fuzz_input_u8(&s->input) % 65) * PAGE;
	case 2:
		return (uint64_t)fuzz_input_u16(&s->input) + 1;
	case 3:
		return file_size + 1 + fuzz_input_u8(&s->input);
	case 4:
		return 0;
	case 5:
		return UINT64_MAX - fuzz_input_u8(&s->input);
	case 6:
		return (uint64_t)PTRDIFF_MAX + 1 + fuzz_input_u8(&s->input);
	default:
		return file_size > 0 ? 1 + fuzz_input_u16(&s->input) % file_size : 1;
	}
}

/* A byte range for an access on a pool of @p size bytes: mostly inside,
 * sometimes at or past the end, sometimes overflowing. */
static void
next_range(struct fuzz_state *s, uint64_t size, uint64_t *offset, uint64_t *length)
{
	switch (fuzz_input_u8(&s->input) % 8) {
	case 0:
		*length = fuzz_input_u16(&s->input) % (size + 1);
		*offset = fuzz_input_u16(&s->input) % (size - *length + 1);
		break;
	case 1:
		*offset = 0;
		*length = size;
		break;
	case 2:
		*offset = size;
		*length = 0;
		break;
	case 3:
		*length = 1 + fuzz_input_u8(&s->input);
		*length = *length > size ? size : *length;
		*offset = size - *length;
		break;
	case 4:
		*offset = size + fuzz_input_u8(&s->input) % 3;
		*length = fuzz_input_u8(&s->input) % 2;
		break;
	case 5:
		*offset = UINT64_MAX - fuzz_input_u8(&s->input);
		*length = fuzz_input_u8(&s->input);
		break;
	case 6:
		*offset = fuzz_input_u16(&s->input) % (size + 1);
		*length = UINT64_MAX - fuzz_input_u8(&s->input);
		break;
	default:
		*offset = fuzz_input_u16(&s->input);
		*length = fuzz_input_u16(&s->input);
	}
}

static struct fuzz_file *
next_file(struct fuzz_state *s)
{
	struct fuzz_file *file = &s->files[fuzz_input_u8(&s->input) % MAX_FILES];
	return file->used ? file : NULL;
}

static struct fuzz_pool *
next_live_pool(struct fuzz_state *s)
{
	struct fuzz_pool *pool = &s->pools[fuzz_input_u8(&s->input) % MAX_POOLS];
	return pool->used && pool->refs > 0 ? pool : NULL;
}

/* ------------------------------------------------------------------ */
/* The model                                                           */
/* ------------------------------------------------------------------ */

static uint64_t
file_size_now(const struct fuzz_file *file)
{
	struct stat st;
	CHECK(fstat(file->meta_fd, &st) == 0, "fstat of our own fd failed");
	return (uint64_t)st.st_size;
}

static int
file_seals_now(const struct fuzz_file *file)
{
	int seals = fcntl(file->meta_fd, F_GET_SEALS);
	return seals < 0 ? 0 : seals;
}

/* Whether the fd pools are made from was opened for writing. */
static bool
file_writable(const struct fuzz_file *file)
{
	return file->kind != FILE_MEMFD_READ_ONLY && file->kind != FILE_PROC &&
		file->kind != FILE_SYSFS;
}

/* Decide a new generation's write refusal and strategy as the design
 * says, from the file as it is now. */
static void
model_new_generation(struct fuzz_state *s, struct fuzz_pool *pool)
{
	const struct fuzz_file *file = &s->files[pool->file];
	int seals = file_seals_now(file);
	bool writable = file_writable(file);
	if (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
		pool->write_refusal = -EPERM;
	} else {
		pool->write_refusal = writable ? 0 : -EACCES;
	}
	pool->strategy = (seals & F_SEAL_SHRINK) && file_size_now(file) >= pool->size
		? SHMGUARD_STRATEGY_SEALED
		: SHMGUARD_STRATEGY_GUARD;
	pool->write_mapped = false;
	pool->generation++;
}

static uint32_t
max_generations(const struct fuzz_state *s)
{
	if (s->budget == NULL || s->limits.max_generations_per_pool == 0) {
		return DEFAULT_MAX_GENERATIONS;
	}
	return s->limits.max_generations_per_pool;
}

/* Whether charging one more mapping of @p bytes must fail. */
static bool
mapping_over_budget(const struct fuzz_state *s, uint64_t bytes)
{
	if (s->max_mappings != 0 && budget_mappings_in_use() >= s->max_mappings) {
		return true;
	}
	if (s->budget == NULL || s->limits.max_mapped_bytes == 0) {
		return false;
	}
	uint64_t mapped = shmguard_budget_get_mapped_bytes(s->budget);
	return mapped + bytes > s->limits.max_mapped_bytes;
}

/* A new generation of the pool may be refused for its count: every open
 * window may hold a retired one. */
static bool
generations_may_run_out(const struct fuzz_state *s, const struct fuzz_pool *pool)
{
	return 1 + pool->windows >= max_generations(s);
}

static void
check_report(
	const struct fuzz_pool *pool, const struct shmguard_fault_report *report, const char *what)
{
	CHECK(pool->may_fault, "%s: fault at %llu on a pool whose file never got shorter than it",
		what, (unsigned long long)report->offset);
	/* One thread: the file cannot grow back between the fault and the
	 * handler's fstat(), so it is never taken for an I/O error. */
	CHECK(report->kind == SHMGUARD_FAULT_TRUNCATED, "%s: fault kind %s, expected truncated",
		what, shmguard_fault_kind_to_str(report->kind));
	CHECK(report->file_size <= report->offset,
		"%s: 'truncated' at %llu with a file of %llu bytes", what,
		(unsigned long long)report->offset, (unsigned long long)report->file_size);
	CHECK(report->offset < pool->size, "%s: fault offset %llu past the pool's %llu bytes", what,
		(unsigned long long)report->offset, (unsigned long long)pool->size);
}

/* Bytes read from a pool: the pattern or zeros. Returns whether a zero
 * was seen before @p file_size, where only a hole or the guard's zero
 * pages can put one (past it, the tail of the file's last page reads
 * zeros without a fault). */
static bool
check_bytes(
	const uint8_t *bytes, uint64_t offset, size_t length, uint64_t file_size, const char *what)
{
	if (memcmp(bytes, pattern + offset, length) == 0) {
		return false;
	}
	bool zero = false;
	for (size_t i = 0; i < length; i++) {
		if (bytes[i] == 0) {
			zero = zero || offset + i < file_size;
			continue;
		}
		CHECK(bytes[i] == pattern[offset + i], "%s: byte at %llu is %#x, not %#x or 0",
			what, (unsigned long long)(offset + i), bytes[i], pattern[offset + i]);
	}
	return zero;
}

static bool
range_ok(uint64_t size, uint64_t offset, uint64_t length)
{
	return offset <= size && length <= size - offset;
}

/* What an access of @p mode on @p pool must return at begin. */
static int
expected_access(const struct fuzz_state *s, const struct fuzz_pool *pool, uint64_t offset,
	uint64_t length, enum shmguard_access_mode mode)
{
	if (s->depth >= GUARD_MAX_WINDOWS) {
		return -EMFILE;
	}
	if (!range_ok(pool->size, offset, length)) {
		return -ERANGE;
	}
	if (mode != SHMGUARD_ACCESS_WRITE || pool->write_mapped) {
		return 0;
	}
	if (pool->write_refusal != 0) {
		return pool->write_refusal;
	}
	/* The write mapping is charged first, then made. */
	if (mapping_over_budget(s, pool->size)) {
		return -ENOSPC;
	}
	/* Sealed after the generation was made: mmap refuses. */
	if (file_seals_now(&s->files[pool->file]) & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) {
		return -EPERM;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

static void
close_if_open(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
	}
	*fd = -1;
}

/* OP_FILE_CREATE kind size seals */
static void
run_file_create(struct fuzz_state *s)
{
	enum file_kind kind = (enum file_kind)(fuzz_input_u8(&s->input) % FILE_KIND_COUNT);
	uint64_t size = next_file_size(s);
	uint8_t seals = fuzz_input_u8(&s->input);
	struct fuzz_file *file = NULL;
	for (unsigned i = 0; i < MAX_FILES && file == NULL; i++) {
		if (!s->files[i].used) {
			file = &s->files[i];
		}
	}
	if (file == NULL) {
		return;
	}
	*file = (struct fuzz_file){
		.used = true, .kind = kind, .fd = -1, .write_fd = -1, .meta_fd = -1, .clean = true};
	switch (kind) {
	case FILE_MEMFD:
		file->fd = file->write_fd = fuzz_memfd_create(TARGET, size, 0);
		break;
	case FILE_MEMFD_SEALED:
		file->fd = file->write_fd = fuzz_memfd_create(TARGET, size, MFD_ALLOW_SEALING);
		/* Any of SHRINK, GROW, WRITE, FUTURE_WRITE, SEAL. */
		fcntl(file->fd, F_ADD_SEALS, seals & 0x1f);
		break;
	case FILE_MEMFD_READ_ONLY:
		file->write_fd = fuzz_memfd_create(TARGET, size, MFD_ALLOW_SEALING);
		fcntl(file->write_fd, F_ADD_SEALS, seals & 0x1f);
		file->fd = fuzz_reopen(TARGET, file->write_fd, O_RDONLY);
		break;
	case FILE_MEMFD_WRITE_ONLY:
		file->write_fd = fuzz_memfd_create(TARGET, size, 0);
		file->fd = fuzz_reopen(TARGET, file->write_fd, O_WRONLY);
		file->type_error = SHMGUARD_POOL_ERROR_NOT_READABLE;
		break;
	case FILE_TMPFILE:
		/* Any file, not only shm: a disk file where /tmp is one. What
		 * backs /tmp is the machine's (tmpfs, a disk, overlay in a
		 * container): the verdict on it is test-file-origin's to
		 * check, and taken as it is here. */
		file->fd = file->write_fd = fuzz_tmpfile_create(TARGET, size);
		file->type_error = shmguard_file_vet(file->fd, NULL, NULL, 0);
		break;
	case FILE_PIPE:
		file->fd = fuzz_pipe_create(TARGET);
		file->type_error = SHMGUARD_POOL_ERROR_PIPE;
		break;
	case FILE_UNIX_SOCKET:
		file->fd = fuzz_socket_create(TARGET);
		file->type_error = SHMGUARD_POOL_ERROR_SOCKET;
		break;
	case FILE_TCP_SOCKET:
		file->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		file->type_error = SHMGUARD_POOL_ERROR_SOCKET;
		break;
	case FILE_DIRECTORY:
		file->fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		file->type_error = SHMGUARD_POOL_ERROR_DIRECTORY;
		break;
	case FILE_DEV_NULL:
	case FILE_DEV_ZERO:
		file->fd =
			open(kind == FILE_DEV_NULL ? "/dev/null" : "/dev/zero", O_RDWR | O_CLOEXEC);
		file->type_error = SHMGUARD_POOL_ERROR_CHAR_DEVICE;
		break;
	case FILE_EVENTFD:
		file->fd = eventfd(0, EFD_CLOEXEC);
		file->type_error = SHMGUARD_POOL_ERROR_NOT_REGULAR;
		break;
	case FILE_O_PATH: {
		int memfd = fuzz_memfd_create(TARGET, size, 0);
		file->fd = fuzz_reopen(TARGET, memfd, O_PATH);
		close(memfd);
		file->type_error = SHMGUARD_POOL_ERROR_O_PATH;
		break;
	}
	case FILE_BAD_FD:
		/* Never a number that a later open could be given. */
		file->fd = seals & 1 ? -1 : INT_MAX;
		file->type_error = SHMGUARD_POOL_ERROR_BAD_FD;
		break;
	case FILE_PROC:
		/* Regular, but st_size is 0; refused for its file system
		 * (neither memory nor a disk) before that matters. */
		file->fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
		file->type_error = SHMGUARD_POOL_ERROR_FS_UNKNOWN;
		break;
	case FILE_SYSFS:
		/* Regular, 4096 bytes, mmap() would say ENODEV; refused for
		 * its file system first. */
		file->fd = open(SYSFS_FILE, O_RDONLY | O_CLOEXEC);
		file->type_error = SHMGUARD_POOL_ERROR_FS_UNKNOWN;
		if (file->fd < 0) {
			file->kind = FILE_DEV_NULL;
			file->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
			file->type_error = SHMGUARD_POOL_ERROR_CHAR_DEVICE;
		}
		break;
	case FILE_KIND_COUNT:
		break;
	}
	CHECK(file->kind == FILE_BAD_FD || file->fd >= 0, "making a file of kind %d: %s", (int)kind,
		strerror(errno));
	if (file->write_fd >= 0 || file->type_error == SHMGUARD_POOL_OK) {
		file->meta_fd =
			fcntl(file->write_fd >= 0 ? file->write_fd : file->fd, F_DUPFD_CLOEXEC, 0);
		CHECK(file->meta_fd >= 0, "dup");
	}
}

/* OP_FILE_TRUNCATE file size: ftruncate, either way. */
static void
run_file_truncate(struct fuzz_state *s)
{
	struct fuzz_file *file = next_file(s);
	uint64_t size = next_file_size(s);
	if (file == NULL || file->write_fd < 0) {
		return;
	}
	uint64_t old_size = file_size_now(file);
	if (ftruncate(file->write_fd, (off_t)size) != 0) {
		return; /* sealed */
	}
	if (size > old_size) {
		file->clean = false;
	}
	for (unsigned i = 0; i < MAX_POOLS; i++) {
		struct fuzz_pool *pool = &s->pools[i];
		if (pool->used && &s->files[pool->file] == file && size < pool->size) {
			pool->may_fault = true;
		}
	}
}

/* OP_FILE_GROW file size: write the pattern up to size. */
static void
run_file_grow(struct fuzz_state *s)
{
	struct fuzz_file *file = next_file(s);
	uint64_t size = next_file_size(s);
	if (file == NULL || file->write_fd < 0) {
		return;
	}
	uint64_t old_size = file_size_now(file);
	if (size > old_size) {
		fuzz_pattern_fill(file->write_fd, old_size, size); /* may be sealed */
	}
}

/* OP_FILE_SEAL file seals */
static void
run_file_seal(struct fuzz_state *s)
{
	struct fuzz_file *file = next_file(s);
	uint8_t seals = fuzz_input_u8(&s->input);
	/* Adding seals needs a writable fd. */
	if (file != NULL && file->write_fd >= 0) {
		fcntl(file->write_fd, F_ADD_SEALS, seals & 0x1f);
	}
}

/* OP_FILE_CLOSE file: the client closes its fds; pools keep theirs. */
static void
run_file_close(struct fuzz_state *s)
{
	struct fuzz_file *file = next_file(s);
	if (file == NULL) {
		return;
	}
	if (file->write_fd != file->fd) {
		close_if_open(&file->write_fd);
	}
	file->write_fd = -1;
	if (file->kind != FILE_BAD_FD) {
		close_if_open(&file->fd);
	}
}

/* ------------------------------------------------------------------ */
/* Pools                                                               */
/* ------------------------------------------------------------------ */

/* What shmguard_strategy_choose() says of the fd, before any pool. */
static void
check_strategy_choose(
	struct fuzz_state *s, const struct fuzz_file *file, uint64_t size, uint64_t file_size)
{
	for (int mode = SHMGUARD_ACCESS_READ; mode <= SHMGUARD_ACCESS_WRITE; mode++) {
		const char *why = NULL;
		int ret = shmguard_strategy_choose(file->fd, size, mode, &why);
		CHECK(why != NULL && why[0] != '\0', "strategy_choose gave no reason");
		int expected;
		if (file->type_error != SHMGUARD_POOL_OK) {
			expected =
				file->type_error == SHMGUARD_POOL_ERROR_BAD_FD ? -EBADF : -EINVAL;
		} else {
			int seals = file_seals_now(file);
			bool writable = file_writable(file);
			bool refused = (seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE)) || !writable;
			if (mode == SHMGUARD_ACCESS_WRITE && refused) {
				expected = -EINVAL;
			} else if ((seals & F_SEAL_SHRINK) && file_size >= size) {
				expected = SHMGUARD_STRATEGY_SEALED;
			} else if (mode == SHMGUARD_ACCESS_READ && s->nosigbus) {
				expected = SHMGUARD_STRATEGY_NOSIGBUS;
			} else {
				expected = SHMGUARD_STRATEGY_GUARD;
			}
		}
		CHECK(ret == expected, "strategy_choose(kind %d, %llu, %s): %d (%s), expected %d",
			(int)file->kind, (unsigned long long)size,
			shmguard_access_mode_to_str((enum shmguard_access_mode)mode), ret, why,
			expected);
	}
}

/* OP_POOL_CREATE file size */
static void
run_pool_create(struct fuzz_state *s)
{
	unsigned file_index = fuzz_input_u8(&s->input) % MAX_FILES;
	struct fuzz_file *file = &s->files[file_index];
	uint64_t file_size = file->used && file->meta_fd >= 0 ? file_size_now(file) : 0;
	uint64_t size = next_pool_size(s, file_size);
	struct fuzz_pool *pool = NULL;
	for (unsigned i = 0; i < MAX_POOLS && pool == NULL; i++) {
		if (!s->pools[i].used) {
			pool = &s->pools[i];
		}
	}
	if (!file->used || (file->fd < 0 && file->kind != FILE_BAD_FD) || pool == NULL) {
		return;
	}

	enum shmguard_pool_error expected = file->type_error;
	if (expected != SHMGUARD_POOL_OK) {
		/* refused by type */
	} else if (s->budget != NULL &&
		shmguard_budget_get_pools(s->budget) >= s->budget->limits.max_pools) {
		expected = SHMGUARD_POOL_ERROR_OVER_BUDGET;
	} else if (size == 0 || size > (uint64_t)PTRDIFF_MAX) {
		expected = SHMGUARD_POOL_ERROR_BAD_SIZE;
	} else if (file_size < size) {
		expected = SHMGUARD_POOL_ERROR_FILE_TOO_SHORT;
	} else if (s->max_mappings != 0 && budget_mappings_in_use() >= s->max_mappings) {
		expected = SHMGUARD_POOL_ERROR_TOO_MANY_MAPPINGS;
	} else if (mapping_over_budget(s, size)) {
		expected = SHMGUARD_POOL_ERROR_OVER_BUDGET;
	}

	check_strategy_choose(s, file, size, file_size);

	enum shmguard_pool_error error = SHMGUARD_POOL_ERROR_NO_MEMORY;
	struct shmguard_pool *created = shmguard_pool_create(file->fd, size, s->budget, &error);
	CHECK(error == expected, "pool_create(kind %d, %llu bytes of %llu): %s, expected %s",
		(int)file->kind, (unsigned long long)size, (unsigned long long)file_size,
		shmguard_pool_error_to_str(error), shmguard_pool_error_to_str(expected));
	CHECK((created != NULL) == (expected == SHMGUARD_POOL_OK),
		"pool_create returned %p with %s", (void *)created,
		shmguard_pool_error_to_str(error));
	if (created == NULL) {
		return;
	}
	*pool = (struct fuzz_pool){
		.used = true, .refs = 1, .pool = created, .file = file_index, .size = size};
	model_new_generation(s, pool);
}

/* OP_POOL_REF pool */
static void
run_pool_ref(struct fuzz_state *s)
{
	struct fuzz_pool *pool = next_live_pool(s);
	if (pool != NULL && pool->refs < 8) {
		CHECK(shmguard_pool_ref(pool->pool) == pool->pool,
			"pool_ref returned another pool");
		pool->refs++;
	}
}

static void
pool_forget_if_unused(struct fuzz_pool *pool)
{
	if (pool->refs == 0 && pool->windows == 0) {
		pool->used = false;
	}
}

/* OP_POOL_UNREF pool: the last one may leave windows open on it. */
static void
run_pool_unref(struct fuzz_state *s)
{
	struct fuzz_pool *pool = next_live_pool(s);
	if (pool == NULL) {
		return;
	}
	shmguard_pool_unref(pool->pool);
	if (--pool->refs == 0) {
		pool->pool = NULL;
		pool_forget_if_unused(pool);
	}
}

/* Whether a resize of @p pool to @p size may grow its current generation
 * in place instead of making a new one (an optimisation the library may
 * take when no window can be on the generation: one thread here). Then
 * only the extra bytes are charged, and no generation is added. */
static bool
may_grow_in_place(struct fuzz_state *s, struct fuzz_pool *pool, uint64_t size, uint64_t file_size)
{
	if (size <= pool->size || size > (uint64_t)PTRDIFF_MAX || file_size < size ||
		pool->write_mapped || shmguard_pool_get_fault(pool->pool, NULL)) {
		return false;
	}
	for (unsigned i = 0; i < s->depth; i++) {
		const struct fuzz_window *window = &s->windows[i];
		if (window->open && &s->pools[window->pool] == pool &&
			window->generation == pool->generation) {
			return false;
		}
	}
	if (s->budget == NULL || s->limits.max_mapped_bytes == 0) {
		return true;
	}
	uint64_t mapped = shmguard_budget_get_mapped_bytes(s->budget);
	return mapped + (size - pool->size) <= s->limits.max_mapped_bytes;
}

/* OP_POOL_RESIZE pool how size: how & 1 grows the file first. */
static void
run_pool_resize(struct fuzz_state *s)
{
	struct fuzz_pool *pool = next_live_pool(s);
	uint8_t how = fuzz_input_u8(&s->input);
	uint64_t size;
	if (pool == NULL) {
		next_pool_size(s, 0);
		return;
	}
	struct fuzz_file *file = &s->files[pool->file];
	if (how & 1) {
		/* Pages, then bytes: in input order. */
		uint64_t pages = fuzz_input_u8(&s->input) % 5;
		uint64_t bytes = fuzz_input_u8(&s->input) % 3;
		size = pool->size + pages * PAGE + bytes;
		if (size > MAX_FILE_BYTES) {
			size = MAX_FILE_BYTES;
		}
		if (file->write_fd >= 0 && file_size_now(file) < size) {
			fuzz_pattern_fill(file->write_fd, file_size_now(file), size);
		}
	} else {
		size = next_pool_size(s, file_size_now(file));
	}
	uint64_t file_size = file_size_now(file);

	int expected;
	bool may_run_out = false;
	bool in_place = may_grow_in_place(s, pool, size, file_size);
	if (size < pool->size) {
		expected = -EINVAL;
	} else if (size == pool->size) {
		expected = 0;
	} else {
		may_run_out = generations_may_run_out(s, pool);
		if (size > (uint64_t)PTRDIFF_MAX) {
			expected = -EINVAL;
		} else if (file_size < size) {
			expected = -ENXIO;
		} else {
			expected = mapping_over_budget(s, size) ? -ENOSPC : 0;
		}
	}
	enum shmguard_pool_error error;
	int ret = shmguard_pool_resize(pool->pool, size, &error);
	CHECK(ret == expected || (may_run_out && ret == -ENOSPC) || (in_place && ret == 0),
		"resize %llu -> %llu (file %llu): %d (%s), expected %d",
		(unsigned long long)pool->size, (unsigned long long)size,
		(unsigned long long)file_size, ret, shmguard_pool_error_to_str(error), expected);
	CHECK((ret == 0) == (error == SHMGUARD_POOL_OK), "resize returned %d with %s", ret,
		shmguard_pool_error_to_str(error));
	if (ret == 0 && size > pool->size) {
		pool->size = size;
		model_new_generation(s, pool);
	}
}

/* OP_POOL_REVALIDATE pool */
static void
run_pool_revalidate(struct fuzz_state *s)
{
	struct fuzz_pool *pool = next_live_pool(s);
	if (pool == NULL) {
		return;
	}
	struct shmguard_fault_report report;
	bool faulted = shmguard_pool_get_fault(pool->pool, &report);
	int expected = 0;
	bool may_run_out = false;
	if (faulted) {
		check_report(pool, &report, "get_fault before revalidate");
		may_run_out = generations_may_run_out(s, pool);
		if (file_size_now(&s->files[pool->file]) < pool->size) {
			expected = -ENXIO;
		} else if (mapping_over_budget(s, pool->size)) {
			expected = -ENOSPC;
		}
	}
	int ret = shmguard_pool_revalidate(pool->pool);
	CHECK(ret == expected || (may_run_out && ret == -ENOSPC),
		"revalidate (faulted %d): %d, expected %d", faulted, ret, expected);
	if (faulted && ret == 0) {
		model_new_generation(s, pool);
		CHECK(!shmguard_pool_get_fault(pool->pool, NULL),
			"a revalidated pool still reports its fault");
	}
}

/* OP_POOL_QUERY pool */
static void
run_pool_query(struct fuzz_state *s)
{
	struct fuzz_pool *pool = next_live_pool(s);
	if (pool == NULL) {
		return;
	}
	CHECK(shmguard_pool_get_size(pool->pool) == pool->size, "get_size %llu, expected %llu",
		(unsigned long long)shmguard_pool_get_size(pool->pool),
		(unsigned long long)pool->size);
	if (!s->nosigbus) {
		enum shmguard_strategy read_strategy =
			shmguard_pool_get_strategy(pool->pool, SHMGUARD_ACCESS_READ);
		CHECK(read_strategy == pool->strategy, "read strategy %s, expected %s",
			shmguard_strategy_to_str(read_strategy),
			shmguard_strategy_to_str(pool->strategy));
	}
	enum shmguard_strategy write_strategy =
		shmguard_pool_get_strategy(pool->pool, SHMGUARD_ACCESS_WRITE);
	CHECK(write_strategy ==
			(pool->strategy == SHMGUARD_STRATEGY_SEALED ? SHMGUARD_STRATEGY_SEALED
								    : SHMGUARD_STRATEGY_GUARD),
		"write strategy %s", shmguard_strategy_to_str(write_strategy));
	enum shmguard_pool_error refusal;
	bool allows = shmguard_pool_allows(pool->pool, SHMGUARD_ACCESS_WRITE, &refusal);
	CHECK(allows == (pool->write_refusal == 0), "allows(write) %d, expected refusal %d", allows,
		pool->write_refusal);
	CHECK(pool->write_refusal != -EPERM || refusal == SHMGUARD_POOL_ERROR_WRITE_SEALED,
		"write refusal %s, expected write-sealed", shmguard_pool_error_to_str(refusal));
	CHECK(pool->write_refusal != -EACCES || refusal == SHMGUARD_POOL_ERROR_READ_ONLY_FD,
		"write refusal %s, expected read-only", shmguard_pool_error_to_str(refusal));
	CHECK(shmguard_pool_allows(pool->pool, SHMGUARD_ACCESS_READ, NULL), "reads refused");
	struct shmguard_fault_report report;
	if (shmguard_pool_get_fault(pool->pool, &report)) {
		check_report(pool, &report, "get_fault");
	}
}

/* ------------------------------------------------------------------ */
/* Windows and copies                                                  */
/* ------------------------------------------------------------------ */

/* Touch a window's bytes as foreign code would: read them all (after
 * writing the pattern, for a write window). */
static void
window_touch(struct fuzz_state *s, struct fuzz_window *window)
{
	if (window->mode == SHMGUARD_ACCESS_WRITE) {
		memcpy(window->data, pattern + window->offset, window->length);
	}
	memcpy(scratch, window->data, window->length);
	const struct fuzz_file *file = &s->files[s->pools[window->pool].file];
	if (check_bytes(scratch, window->offset, window->length, file_size_now(file), "window")) {
		window->saw_zero = true;
	}
}

/* OP_WINDOW_OPEN pool mode range */
static void
run_window_open(struct fuzz_state *s)
{
	struct fuzz_pool *pool = next_live_pool(s);
	enum shmguard_access_mode mode =
		fuzz_input_u8(&s->input) & 1 ? SHMGUARD_ACCESS_WRITE : SHMGUARD_ACCESS_READ;
	uint64_t offset, length;
	next_range(s, pool != NULL ? pool->size : 0, &offset, &length);
	if (pool == NULL) {
		return;
	}
	int expected = expected_access(s, pool, offset, length, mode);
	struct shmguard_access *access = NULL;
	void *data = NULL;
	int ret = shmguard_access_begin(pool->pool, offset, length, mode, &access, &data);
	CHECK(ret == expected, "access_begin(%s, %llu, %llu) on %llu bytes: %d, expected %d",
		shmguard_access_mode_to_str(mode), (unsigned long long)offset,
		(unsigned long long)length, (unsigned long long)pool->size, ret, expected);
	if (ret != 0) {
		return;
	}
	struct fuzz_window *window = &s->windows[s->depth++];
	*window = (struct fuzz_window){
		.open = true,
		.pool = (unsigned)(pool - s->pools),
		.generation = pool->generation,
		.access = access,
		.data = data,
		.offset = offset,
		.length = (size_t)length,
		.mode = mode,
	};
	pool->windows++;
	if (mode == SHMGUARD_ACCESS_WRITE) {
		pool->write_mapped = true;
	}
	window_touch(s, window);
}

static struct fuzz_window *
next_open_window(struct fuzz_state *s)
{
	unsigned open = 0;
	for (unsigned i = 0; i < s->depth; i++) {
		open += s->windows[i].open;
	}
	if (open == 0) {
		fuzz_input_u8(&s->input);
		return NULL;
	}
	unsigned pick = fuzz_input_u8(&s->input) % open;
	for (unsigned i = 0; i < s->depth; i++) {
		if (s->windows[i].open && pick-- == 0) {
			return &s->windows[i];
		}
	}
	return NULL;
}

/* OP_WINDOW_TOUCH window: touch an open window again (the file may have
 * been cut since). */
static void
run_window_touch(struct fuzz_state *s)
{
	struct fuzz_window *window = next_open_window(s);
	if (window != NULL) {
		window_touch(s, window);
	}
}

static void
window_close(struct fuzz_state *s, struct fuzz_window *window)
{
	struct fuzz_pool *pool = &s->pools[window->pool];
	struct shmguard_fault_report report;
	bool faulted = shmguard_access_end(window->access, &report);
	if (faulted) {
		check_report(pool, &report, "access_end");
	} else {
		CHECK(report.kind == SHMGUARD_FAULT_NONE, "no fault but report kind %s",
			shmguard_fault_kind_to_str(report.kind));
	}
	CHECK(!window->saw_zero || faulted || !s->files[pool->file].clean || s->nosigbus,
		"a window read zeros from a file without holes and reported no fault");
	window->open = false;
	while (s->depth > 0 && !s->windows[s->depth - 1].open) {
		s->depth--;
	}
	pool->windows--;
	pool_forget_if_unused(pool);
}

/* OP_WINDOW_CLOSE window: in any order. */
static void
run_window_close(struct fuzz_state *s)
{
	struct fuzz_window *window = next_open_window(s);
	if (window != NULL) {
		window_close(s, window);
	}
}

/* OP_COPY_READ pool range */
static void
run_copy_read(struct fuzz_state *s)
{
	struct fuzz_pool *pool = next_live_pool(s);
	uint64_t offset, length;
	next_range(s, pool != NULL ? pool->size : 0, &offset, &length);
	if (pool == NULL) {
		return;
	}
	int expected = expected_access(s, pool, offset, length, SHMGUARD_ACCESS_READ);
	struct shmguard_fault_report report;
	int ret = shmguard_pool_read(pool->pool, offset, scratch, (size_t)length, &report);
	if (ret == -EFAULT && expected == 0) {
		check_report(pool, &report, "pool_read");
		return;
	}
	CHECK(ret == expected, "pool_read(%llu, %llu) on %llu bytes: %d, expected %d",
		(unsigned long long)offset, (unsigned long long)length,
		(unsigned long long)pool->size, ret, expected);
	if (ret == 0) {
		bool zero = check_bytes(scratch, offset, (size_t)length,
			file_size_now(&s->files[pool->file]), "pool_read");
		CHECK(!zero || !s->files[pool->file].clean || s->nosigbus,
			"pool_read succeeded with zeros from a file without holes");
	}
}

/* OP_COPY_WRITE pool range */
static void
run_copy_write(struct fuzz_state *s)
{
	struct fuzz_pool *pool = next_live_pool(s);
	uint64_t offset, length;
	next_range(s, pool != NULL ? pool->size : 0, &offset, &length);
	if (pool == NULL) {
		return;
	}
	int expected = expected_access(s, pool, offset, length, SHMGUARD_ACCESS_WRITE);
	struct shmguard_fault_report report;
	/* In range, the source is the pattern; out of range, nothing may be
	 * read from it. */
	const uint8_t *source = range_ok(pool->size, offset, length) ? pattern + offset : NULL;
	int ret = shmguard_pool_write(pool->pool, offset, source, (size_t)length, &report);
	if (ret == 0 || ret == -EFAULT) {
		pool->write_mapped = true;
	}
	if (ret == -EFAULT && expected == 0) {
		check_report(pool, &report, "pool_write");
		return;
	}
	CHECK(ret == expected, "pool_write(%llu, %llu) on %llu bytes: %d, expected %d",
		(unsigned long long)offset, (unsigned long long)length,
		(unsigned long long)pool->size, ret, expected);
}

/* ------------------------------------------------------------------ */
/* One input                                                           */
/* ------------------------------------------------------------------ */

enum operation {
	OP_FILE_CREATE,
	OP_FILE_TRUNCATE,
	OP_FILE_GROW,
	OP_FILE_SEAL,
	OP_FILE_CLOSE,
	OP_POOL_CREATE,
	OP_POOL_REF,
	OP_POOL_UNREF,
	OP_POOL_RESIZE,
	OP_POOL_REVALIDATE,
	OP_POOL_QUERY,
	OP_WINDOW_OPEN,
	OP_WINDOW_TOUCH,
	OP_WINDOW_CLOSE,
	OP_COPY_READ,
	OP_COPY_WRITE,
	OP_COUNT,
};

static const char *const operation_names[OP_COUNT] = {
	[OP_FILE_CREATE] = "file_create",
	[OP_FILE_TRUNCATE] = "file_truncate",
	[OP_FILE_GROW] = "file_grow",
	[OP_FILE_SEAL] = "file_seal",
	[OP_FILE_CLOSE] = "file_close",
	[OP_POOL_CREATE] = "pool_create",
	[OP_POOL_REF] = "pool_ref",
	[OP_POOL_UNREF] = "pool_unref",
	[OP_POOL_RESIZE] = "pool_resize",
	[OP_POOL_REVALIDATE] = "pool_revalidate",
	[OP_POOL_QUERY] = "pool_query",
	[OP_WINDOW_OPEN] = "window_open",
	[OP_WINDOW_TOUCH] = "window_touch",
	[OP_WINDOW_CLOSE] = "window_close",
	[OP_COPY_READ] = "copy_read",
	[OP_COPY_WRITE] = "copy_write",
};

static void (*const operations[OP_COUNT])(struct fuzz_state *s) = {
	[OP_FILE_CREATE] = run_file_create,
	[OP_FILE_TRUNCATE] = run_file_truncate,
	[OP_FILE_GROW] = run_file_grow,
	[OP_FILE_SEAL] = run_file_seal,
	[OP_FILE_CLOSE] = run_file_close,
	[OP_POOL_CREATE] = run_pool_create,
	[OP_POOL_REF] = run_pool_ref,
	[OP_POOL_UNREF] = run_pool_unref,
	[OP_POOL_RESIZE] = run_pool_resize,
	[OP_POOL_REVALIDATE] = run_pool_revalidate,
	[OP_POOL_QUERY] = run_pool_query,
	[OP_WINDOW_OPEN] = run_window_open,
	[OP_WINDOW_TOUCH] = run_window_touch,
	[OP_WINDOW_CLOSE] = run_window_close,
	[OP_COPY_READ] = run_copy_read,
	[OP_COPY_WRITE] = run_copy_write,
};

static void
configure(struct fuzz_state *s)
{
	uint8_t config = fuzz_input_u8(&s->input);
	uint8_t bound = fuzz_input_u8(&s->input);
	static const uint64_t max_bytes[] = {0, 64u * 1024, 256u * 1024, 1024u * 1024};
	if (config & 1) {
		s->limits.max_pools = (config >> 1) & 3;
		s->limits.max_generations_per_pool = (config >> 3) & 3;
		s->limits.max_mapped_bytes = max_bytes[(config >> 5) & 3];
		s->budget = shmguard_budget_create(&s->limits);
		CHECK(s->budget != NULL, "budget_create");
	}
	if (config & 0x80) {
		s->max_mappings = 1 + bound % 8;
		shmguard_set_max_mappings(s->max_mappings);
	}
}

/* Close what the input left open, in an order that still tests
 * something: windows top-down, then our references, then the files. */
static void
finish(struct fuzz_state *s)
{
	while (s->depth > 0) {
		struct fuzz_window *window = &s->windows[s->depth - 1];
		if (window->open) {
			window_close(s, window);
		} else {
			s->depth--;
		}
	}
	for (unsigned i = 0; i < MAX_POOLS; i++) {
		struct fuzz_pool *pool = &s->pools[i];
		while (pool->used && pool->refs > 0) {
			shmguard_pool_unref(pool->pool);
			pool->refs--;
		}
		pool->used = false;
	}
	for (unsigned i = 0; i < MAX_FILES; i++) {
		struct fuzz_file *file = &s->files[i];
		if (!file->used) {
			continue;
		}
		if (file->write_fd != file->fd) {
			close_if_open(&file->write_fd);
		}
		if (file->kind != FILE_BAD_FD) {
			close_if_open(&file->fd);
		}
		close_if_open(&file->meta_fd);
	}
	if (s->budget != NULL) {
		CHECK(shmguard_budget_get_pools(s->budget) == 0, "%u pools still charged",
			shmguard_budget_get_pools(s->budget));
		CHECK(shmguard_budget_get_mapped_bytes(s->budget) == 0, "%llu bytes still charged",
			(unsigned long long)shmguard_budget_get_mapped_bytes(s->budget));
		shmguard_budget_unref(s->budget);
	}
	if (s->max_mappings != 0) {
		shmguard_set_max_mappings(0);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool initialised;
	static bool nosigbus;
	if (!initialised) {
		pattern = fuzz_pattern_table();
		nosigbus = shmguard_probe()[SHMGUARD_MECHANISM_MAP_NOSIGBUS].supported;
		const char *env = getenv("FUZZ_CORE_TRACE");
		trace = env != NULL && env[0] == '1';
		initialised = true;
	}

	struct fuzz_resources before;
	fuzz_resources_count(TARGET, &before);
	struct fuzz_state s = {.input = {.bytes = data, .size = size}, .nosigbus = nosigbus};
	configure(&s);
	for (unsigned n = 0; n < MAX_OPERATIONS && s.input.position < s.input.size; n++) {
		size_t at = s.input.position;
		enum operation operation = (enum operation)(fuzz_input_u8(&s.input) % OP_COUNT);
		operations[operation](&s);
		if (trace) {
			fprintf(stderr, "fuzz-core: %s", operation_names[operation]);
			for (size_t i = at + 1; i < s.input.position; i++) {
				fprintf(stderr, " %u", s.input.bytes[i]);
			}
			fprintf(stderr, " (depth %u)\n", s.depth);
		}
	}
	finish(&s);

	fuzz_resources_check(TARGET, &before);
	return 0;
}

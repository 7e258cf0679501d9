/*
 * What the fuzz targets share: their check, reading an input byte by
 * byte, the byte pattern of the files they make, the files themselves,
 * and the count of what an input must give back.
 *
 * A function that makes something an input needs fails the input itself
 * if it cannot, as the target's CHECK() does: it prints "@p target:
 * invariant broken: ..." and aborts. fuzz_pattern_fill() is the exception:
 * a seal may refuse it, and the target decides what that means.
 */
#ifndef SHMGUARD_FUZZ_SUPPORT_H
#define SHMGUARD_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

/* Print "@p target: invariant broken: ", then the message as printf()
 * formats it, then a newline, and abort: libFuzzer reports a crash, the
 * replay a failed test. */
void
fuzz_fail(const char *target, const char *format, ...)
	__attribute__((noreturn, format(printf, 2, 3)));

/* A target's check of what must hold: fuzz_fail() unless @p condition. */
#define FUZZ_CHECK(target, condition, ...)                                                         \
	do {                                                                                       \
		if (!(condition)) {                                                                \
			fuzz_fail(target, __VA_ARGS__);                                            \
		}                                                                                  \
	} while (0)

/* The bytes of one input, read from the front. */
struct fuzz_input {
	const uint8_t *bytes;
	size_t size;
	size_t position;
};

/* The next byte of @p input; 0 once it is used up. */
uint8_t
fuzz_input_u8(struct fuzz_input *input);

/* The next two bytes of @p input, low byte first; missing ones read 0. */
uint16_t
fuzz_input_u16(struct fuzz_input *input);

/* How many bytes of the pattern fuzz_pattern_table() holds: a target's
 * files are no longer. */
#define FUZZ_PATTERN_BYTES (64u * 4096u)

/* The byte a target's file holds at @p offset: never zero, so that the
 * zeros the guard maps in after a truncation tell themselves apart, and
 * different at the same position of neighbouring pages. */
uint8_t
fuzz_pattern_byte(uint64_t offset);

/* fuzz_pattern_byte() of every offset below FUZZ_PATTERN_BYTES. Filled on
 * the first call, from whichever thread. */
const uint8_t *
fuzz_pattern_table(void);

/* Write the pattern over [@p from, @p to) of @p fd (borrowed). Returns 0,
 * or -1 with errno set: the file refuses (a seal), or @p to is past
 * FUZZ_PATTERN_BYTES (ERANGE). What was written before a failure stays. */
int
fuzz_pattern_fill(int fd, uint64_t from, uint64_t to);

/* A memfd called @p target of @p size bytes of the pattern, created with
 * MFD_CLOEXEC | @p flags (MFD_ALLOW_SEALING). */
int
fuzz_memfd_create(const char *target, uint64_t size, unsigned flags);

/* An unlinked O_RDWR file in /tmp (a disk file where /tmp is one) of
 * @p size bytes of the pattern; fuzz_memfd_create() where /tmp cannot
 * hold one (no O_TMPFILE). */
int
fuzz_tmpfile_create(const char *target, uint64_t size);

/* The read end of a new pipe, its write end closed. */
int
fuzz_pipe_create(const char *target);

/* One end of a new AF_UNIX stream socketpair, the other end closed. */
int
fuzz_socket_create(const char *target);

/* Open the file of @p fd (borrowed) again through /proc/self/fd, with
 * @p flags | O_CLOEXEC: a new open file description, so O_RDONLY gives a
 * read-only fd of a writable file, O_PATH one that reads nothing. */
int
fuzz_reopen(const char *target, int fd, int flags);

/* What one input must give back before the next: open fds and mappings
 * (the library's count, all pools together). */
struct fuzz_resources {
	unsigned fds;
	uint32_t mappings;
};

/* Count what the process holds now, before an input. */
void
fuzz_resources_count(const char *target, struct fuzz_resources *resources);

/* After an input: check that the process holds what @p before counted,
 * and that no retired generation is left mapped. */
void
fuzz_resources_check(const char *target, const struct fuzz_resources *before);

#endif

/*
 * The library as a forked child (child-process.h) uses it: memfds filled
 * with 0x11, pools kept until the child ends, windows, and a first fault
 * that shows the library's handler is in place. Failures end the child
 * with child_fail().
 */
#ifndef SHMGUARD_TEST_CHILD_LIBRARY_H
#define SHMGUARD_TEST_CHILD_LIBRARY_H

#include <stddef.h>
#include <stdint.h>

#include <shmguard/shmguard.h>

/* The system page size. */
size_t
child_page_size(void);

/* A memfd of @p pages pages, each byte 0x11. */
int
child_memfd(unsigned pages);

/* A pool over the first @p pages pages of @p fd, held until the child
 * ends (reachable, so valgrind's leak check in the child is quiet). */
struct shmguard_pool *
child_pool(int fd, unsigned pages);

/* A READ window over the first @p pages pages of @p pool. */
const volatile uint8_t *
child_window(struct shmguard_pool *pool, unsigned pages, struct shmguard_access **access);

/* The library works in this child: a fault inside a window is its own,
 * handled, and reported ("child: window fault handled" on stderr).
 * Leaves a window open on a healthy pool and returns it. */
struct shmguard_access *
child_library_in_use(void);

/* A window open over two pages of a pool whose file was then cut to one:
 * returns the window's first byte. */
const volatile uint8_t *
child_truncated_window(struct shmguard_access **access);

/* Read page 2 of such a window: zeros, and the fault reported at its end. */
void
child_expect_window_fault(const volatile uint8_t *data, struct shmguard_access *access);

/* The second page of a two-page mapping of a one-page memfd the library
 * never saw: touching it is a fault that is not the library's. */
const volatile uint8_t *
child_page_past_eof(void);

#endif

/*
 * membarrier() failing after the library registered for it (a seccomp
 * filter the compositor installs once it is set up, ENOMEM): the reclaim
 * scan that finds it failing switches every access window to the fence
 * path, and unmaps nothing it cannot be sure of; windows already open,
 * published without a fence, keep their generation mapped until they
 * close.
 *
 * The scenario runs in a forked child, which installs the seccomp filter
 * (a filter cannot be removed) after the library's first use.
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/guard.h"
#include "src/mapping.h"

#include "child-library.h"
#include "child-process.h"
#include "leak-check.h"

/* ------------------------------------------------------------------ */
/* Child side: no cmocka here                                          */
/* ------------------------------------------------------------------ */

/* From now on membarrier() fails with EPERM in every thread, or in this
 * one where the filter cannot be applied to all at once (valgrind): the
 * reclaim scans of this test run here. x86-64 and other single-ABI
 * builds: the filter does not check the architecture. Returns false if
 * no filter can be installed. */
static bool
forbid_membarrier(void)
{
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_membarrier, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog program = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
		return false;
	}
	long all =
		syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &program);
	if (all != 0 && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) {
		return false;
	}
	if (syscall(SYS_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0, 0) != -1 || errno != EPERM) {
		child_fail("membarrier still works under the filter");
	}
	return true;
}

static struct shmguard_pool *pool;
static const volatile uint8_t *held_data;
static pthread_barrier_t window_open;
static pthread_barrier_t may_close;

/* A window opened while membarrier works: published without a fence. */
static void *
window_across_failure(void *arg)
{
	struct shmguard_access *access;
	held_data = child_window(pool, 2, &access);
	pthread_barrier_wait(&window_open);
	pthread_barrier_wait(&may_close);
	for (size_t i = 0; i < 2 * child_page_size(); i++) {
		if (held_data[i] != 0x11) {
			child_fail("the window's bytes changed under it");
		}
	}
	if (shmguard_access_end(access, NULL)) {
		child_fail("a fault in the held window");
	}
	/* A new window on this thread, now fenced. */
	const volatile uint8_t *data = child_window(pool, 3, &access);
	if (data[3 * child_page_size() - 1] != 0x11) {
		child_fail("a window after the switch");
	}
	shmguard_access_end(access, NULL);
	return NULL;
}

static int
membarrier_fails_after_registration(void)
{
	shmguard_probe();
	if (guard_publish_needs_fence) {
		child_skip("membarrier is not available here: windows fence from the start");
	}
	int fd = child_memfd(3);
	pool = child_pool(fd, 2);
	pthread_barrier_init(&window_open, NULL, 2);
	pthread_barrier_init(&may_close, NULL, 2);
	pthread_t reader;
	if (pthread_create(&reader, NULL, window_across_failure, NULL) != 0) {
		child_fail("pthread_create");
	}
	pthread_barrier_wait(&window_open);

	if (!forbid_membarrier()) {
		pthread_barrier_wait(&may_close);
		pthread_join(reader, NULL);
		child_skip("cannot install a seccomp filter");
	}
	child_say("child: membarrier forbidden; resizing the pool under an open window\n");
	if (shmguard_pool_resize(pool, 3 * child_page_size(), NULL) != 0) {
		child_fail("resize");
	}
	if (!guard_publish_needs_fence) {
		child_fail("windows still publish without a fence after membarrier failed");
	}
	char line[512];
	if (generation_retired_count() != 1 ||
		!leak_check_address_mapped((const void *)held_data, line, sizeof(line))) {
		child_fail("the generation under the open window was unmapped");
	}
	pthread_barrier_wait(&may_close);
	pthread_join(reader, NULL);
	if (generation_retired_count() != 0 ||
		leak_check_address_mapped((const void *)held_data, line, sizeof(line))) {
		child_fail("the old generation outlived the last window on it");
	}
	child_say("child: switched to fences; the old generation was unmapped when its window "
		  "closed\n");
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parent side                                                         */
/* ------------------------------------------------------------------ */

static struct child_outcome outcome;

static void
membarrier_failure_falls_back_to_fences(void **state)
{
	child_run(membarrier_fails_after_registration, &outcome);
	child_skip_if_skipped(&outcome);
	assert_true(child_exited_with(&outcome, 0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(membarrier_failure_falls_back_to_fences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

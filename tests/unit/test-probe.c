/*
 * The probe: one table per process, the same from every thread, and each
 * answer in agreement with what this test finds the kernel doing by its
 * own, independent experiment.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/linux_abi.h"

#include "client-file.h"
#include "leak-check.h"
#include "shmguard-setup.h"

#define PROBE_THREADS SETUP_CREW_SIZE

static pthread_barrier_t barrier;

static void *
probe_from_thread(void *arg)
{
	pthread_barrier_wait(&barrier);
	return (void *)shmguard_probe();
}

/* The first call races from many threads: one table for all. */
static void
probe_once_from_many_threads(void **state)
{
	struct crew_job jobs[PROBE_THREADS];
	for (int i = 0; i < PROBE_THREADS; i++) {
		jobs[i] = (struct crew_job){.start = probe_from_thread};
	}
	assert_int_equal(pthread_barrier_init(&barrier, NULL, PROBE_THREADS), 0);
	setup_crew_run(jobs, PROBE_THREADS);
	pthread_barrier_destroy(&barrier);
	const struct shmguard_probe_result *table = shmguard_probe();
	for (int i = 0; i < PROBE_THREADS; i++) {
		assert_ptr_equal(jobs[i].result, table);
	}
}

static void
probe_table_is_complete(void **state)
{
	const struct shmguard_probe_result *table = shmguard_probe();
	assert_non_null(table);
	assert_ptr_equal(shmguard_probe(), table);
	for (int i = 0; i < SHMGUARD_MECHANISM_COUNT; i++) {
		assert_int_equal(table[i].mechanism, i);
		assert_non_null(table[i].how);
		assert_true(strlen(table[i].how) > 10);
		print_message("%-20s %-3s %s\n", shmguard_mechanism_to_str(table[i].mechanism),
			table[i].supported ? "yes" : "no", table[i].how);
	}
}

/* Run @p experiment in a child with SIGBUS at its default action; true if
 * the child exited 0, false if it died of SIGBUS; fails otherwise. */
static bool
survives_in_child(int (*experiment)(void))
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGBUS, &dfl, NULL);
		_exit(experiment());
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS) {
		return false;
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fail_msg("experiment child: status %#x", status);
	}
	return true;
}

/* Read a page past EOF of a MAP_PRIVATE|MAP_NOSIGBUS mapping. */
static int
read_past_eof_with_nosigbus(void)
{
	size_t page = client_page();
	int fd = memfd_create("nosigbus-experiment", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)page) != 0) {
		return 3;
	}
	volatile uint8_t *p =
		mmap(NULL, 2 * page, PROT_READ, MAP_PRIVATE | SHMGUARD_MAP_NOSIGBUS, fd, 0);
	if (p == MAP_FAILED) {
		/* Refused outright: report it like a fault, not supported. */
		raise(SIGBUS);
	}
	return p[page] == 0 ? 0 : 4;
}

static void
probe_map_nosigbus_agrees(void **state)
{
	bool works = survives_in_child(read_past_eof_with_nosigbus);
	print_message("experiment: MAP_NOSIGBUS %s\n", works ? "reads zeros" : "raises SIGBUS");
	assert_int_equal(shmguard_probe()[SHMGUARD_MECHANISM_MAP_NOSIGBUS].supported, works);
}

static void
probe_madv_populate_read_agrees(void **state)
{
	size_t page = client_page();
	void *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	bool works = madvise(p, page, MADV_POPULATE_READ) == 0;
	munmap(p, page);
	assert_int_equal(shmguard_probe()[SHMGUARD_MECHANISM_MADV_POPULATE_READ].supported, works);
}

static void
probe_memfd_seals_agrees(void **state)
{
	size_t page = client_page();
	int fd = memfd_create("seal-experiment", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)(2 * page)), 0);
	bool works = fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) == 0 &&
		ftruncate(fd, (off_t)page) != 0 && errno == EPERM;
	close(fd);
	assert_int_equal(shmguard_probe()[SHMGUARD_MECHANISM_MEMFD_SEALS].supported, works);
}

static void
probe_map_shared_validate_agrees(void **state)
{
	size_t page = client_page();
	int fd = client_memfd_create("validate-experiment", page, false);
	void *p = mmap(NULL, page, PROT_READ, MAP_SHARED_VALIDATE | SHMGUARD_MAP_NOSIGBUS, fd, 0);
	bool works = p == MAP_FAILED && errno == EOPNOTSUPP;
	if (p != MAP_FAILED) {
		munmap(p, page);
	}
	close(fd);
	assert_int_equal(shmguard_probe()[SHMGUARD_MECHANISM_MAP_SHARED_VALIDATE].supported, works);
}

static void
probe_mremap_dontunmap_agrees(void **state)
{
	size_t page = client_page();
	int fd = client_memfd_create("dontunmap-experiment", page, false);
	uint8_t *p = mmap(NULL, page, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	uint8_t *moved = (uint8_t *)syscall(
		SYS_mremap, p, page, page, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, NULL);
	bool works = moved != MAP_FAILED && moved != p && moved[0] == client_pattern(0) &&
		p[0] == client_pattern(0);
	if (moved != MAP_FAILED) {
		munmap(moved, page);
	}
	munmap(p, page);
	close(fd);
	assert_int_equal(shmguard_probe()[SHMGUARD_MECHANISM_MREMAP_DONTUNMAP].supported, works);
}

static void
probe_map_droppable_agrees(void **state)
{
	size_t page = client_page();
	void *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_DROPPABLE | MAP_ANONYMOUS, -1, 0);
	bool anonymous = p != MAP_FAILED;
	if (anonymous) {
		munmap(p, page);
	}
	int fd = client_memfd_create("droppable-experiment", page, false);
	p = mmap(NULL, page, PROT_READ, MAP_DROPPABLE, fd, 0);
	bool file_backed = p != MAP_FAILED;
	if (file_backed) {
		munmap(p, page);
	}
	close(fd);
	const struct shmguard_probe_result *result =
		&shmguard_probe()[SHMGUARD_MECHANISM_MAP_DROPPABLE];
	assert_int_equal(result->supported, anonymous);
	/* The table says whether files can be droppable too. */
	if (anonymous) {
		assert_int_equal(strstr(result->how, "anonymous only") != NULL, !file_backed);
	}
}

static void
probe_membarrier_agrees(void **state)
{
	long commands = syscall(SYS_membarrier, 0 /* MEMBARRIER_CMD_QUERY */, 0, 0);
	bool available = commands > 0 && (commands & (1 << 3) /* PRIVATE_EXPEDITED */);
	assert_int_equal(shmguard_probe()[SHMGUARD_MECHANISM_MEMBARRIER].supported, available);
}

/* The probe leaves nothing behind and is not repeated. */
static void
probe_is_cached(void **state)
{
	const struct shmguard_probe_result *first = shmguard_probe();
	struct shmguard_probe_result copy[SHMGUARD_MECHANISM_COUNT];
	memcpy(copy, first, sizeof(copy));
	for (int i = 0; i < 100; i++) {
		assert_ptr_equal(shmguard_probe(), first);
	}
	assert_memory_equal(copy, first, sizeof(copy));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		LEAK_CHECKED(probe_once_from_many_threads),
		LEAK_CHECKED(probe_table_is_complete),
		LEAK_CHECKED(probe_map_nosigbus_agrees),
		LEAK_CHECKED(probe_madv_populate_read_agrees),
		LEAK_CHECKED(probe_memfd_seals_agrees),
		LEAK_CHECKED(probe_map_shared_validate_agrees),
		LEAK_CHECKED(probe_mremap_dontunmap_agrees),
		LEAK_CHECKED(probe_map_droppable_agrees),
		LEAK_CHECKED(probe_membarrier_agrees),
		LEAK_CHECKED(probe_is_cached),
	};
	/* Not setup_warm_up(): the first probe is the first test. */
	return cmocka_run_group_tests(tests, setup_crew_start, setup_crew_stop);
}

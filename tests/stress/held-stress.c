/*
 * Race stress of held regions (guard_hold(): a pool reference that
 * libshmguard-preload guards with no window). Reader threads read held
 * mappings whose files are truncated, so that every fresh mapping faults
 * and the SIGBUS handler walks the held table; meanwhile the main thread
 * keeps releasing held mappings (unhold, unpin, unmap) and holding new
 * ones. Half the readers once opened a window (they have a hazard slot of
 * their own), half never did (they claim a spare one). Every read must
 * see zeros, and nothing may be left mapped.
 *
 * What it proves is the held path under churn: with the held walk taken
 * out, the first read kills the process with SIGBUS. It does not prove the
 * hazard slots: a release lands inside a handler's look at that very
 * region only a few instructions wide, and with the hazards taken out two
 * 10 s runs under AddressSanitizer saw nothing. The hazard protocol is the
 * window slots' (publish, re-read, scan after a barrier), which the main
 * stress test exercises.
 *
 *   held-stress [--seconds=N]      (SHMGUARD_STRESS_SECONDS overrides it)
 *
 * Exit status 0, or 1 with the reason on stderr.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <shmguard/shmguard.h>

#include "src/guard.h"
#include "src/mapping.h"
#include "src/pool.h"

#define ENTRIES 8
#define READERS 4
#define PAGES 4

/* One held mapping; readers take the lock for reading, the main thread
 * for replacing it. */
struct entry {
	pthread_rwlock_t lock;
	int fd;
	struct shmguard_pool *pool;
	struct generation *generation;
	_Atomic(struct guard_region *) *slot;
	const volatile uint8_t *data;
};

static struct entry entries[ENTRIES];
static size_t page;
static int notify_fd;
static atomic_bool stop;
static _Atomic uint64_t reads;
static _Atomic unsigned wrong_bytes;

static void
die(const char *what)
{
	fprintf(stderr, "held-stress: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A held mapping of a file already truncated to nothing. */
static void
entry_hold(struct entry *entry)
{
	entry->fd = memfd_create("held-stress", MFD_CLOEXEC);
	if (entry->fd < 0 || ftruncate(entry->fd, (off_t)(PAGES * page)) != 0) {
		die("memfd");
	}
	enum shmguard_pool_error error;
	entry->pool = pool_create(entry->fd, PAGES * page, NULL, true, &error);
	if (entry->pool == NULL) {
		fprintf(stderr, "held-stress: pool_create: %s\n",
			shmguard_pool_error_to_str(error));
		exit(1);
	}
	entry->generation = pool_pin_current(entry->pool);
	atomic_store(&entry->generation->region.notify_fd, notify_fd);
	entry->slot = guard_hold(&entry->generation->region);
	if (entry->slot == NULL) {
		die("guard_hold");
	}
	entry->data = (const uint8_t *)entry->generation->region.read_start;
	if (ftruncate(entry->fd, 0) != 0) {
		die("ftruncate");
	}
}

static void
entry_release(struct entry *entry)
{
	guard_unhold(entry->slot);
	generation_unpin(entry->generation);
	shmguard_pool_unref(entry->pool);
	close(entry->fd);
}

struct reader {
	pthread_t thread;
	bool registered;
	unsigned seed;
};

static void *
read_held(void *arg)
{
	struct reader *reader = arg;
	if (reader->registered) {
		/* A window once: the thread gets a window stack and with it
		 * a hazard slot of its own. */
		int fd = memfd_create("held-stress-window", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, (off_t)page) != 0) {
			die("memfd");
		}
		struct shmguard_pool *pool = shmguard_pool_create(fd, page, NULL, NULL);
		uint8_t byte;
		if (pool == NULL || shmguard_pool_read(pool, 0, &byte, 1, NULL) != 0) {
			die("registering a reader");
		}
		shmguard_pool_unref(pool);
		close(fd);
	}
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		struct entry *entry = &entries[rand_r(&reader->seed) % ENTRIES];
		size_t offset = (size_t)rand_r(&reader->seed) % (PAGES * page);
		pthread_rwlock_rdlock(&entry->lock);
		if (entry->data[offset] != 0) {
			atomic_fetch_add(&wrong_bytes, 1);
		}
		pthread_rwlock_unlock(&entry->lock);
		atomic_fetch_add_explicit(&reads, 1, memory_order_relaxed);
	}
	return NULL;
}

static unsigned
stress_seconds(int argc, char **argv)
{
	const char *env = getenv("SHMGUARD_STRESS_SECONDS");
	if (env != NULL) {
		return (unsigned)atoi(env);
	}
	if (argc > 1 && strncmp(argv[1], "--seconds=", 10) == 0) {
		return (unsigned)atoi(argv[1] + 10);
	}
	return 5;
}

int
main(int argc, char **argv)
{
	unsigned seconds = stress_seconds(argc, argv);
	page = (size_t)sysconf(_SC_PAGESIZE);
	notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (notify_fd < 0) {
		die("eventfd");
	}
	for (unsigned i = 0; i < ENTRIES; i++) {
		pthread_rwlock_init(&entries[i].lock, NULL);
		entry_hold(&entries[i]);
	}
	uint64_t entries_before = guard_handler_entries();

	struct reader readers[READERS];
	for (unsigned i = 0; i < READERS; i++) {
		readers[i].registered = i % 2 == 0;
		readers[i].seed = i + 1;
		if (pthread_create(&readers[i].thread, NULL, read_held, &readers[i]) != 0) {
			die("pthread_create");
		}
	}

	uint64_t replaced = 0;
	time_t end = time(NULL) + (time_t)seconds;
	while (time(NULL) < end) {
		struct entry *entry = &entries[replaced % ENTRIES];
		pthread_rwlock_wrlock(&entry->lock);
		entry_release(entry);
		entry_hold(entry);
		pthread_rwlock_unlock(&entry->lock);
		replaced++;
		uint64_t count;
		if (read(notify_fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
			die("reading the eventfd");
		}
	}
	atomic_store(&stop, true);
	for (unsigned i = 0; i < READERS; i++) {
		pthread_join(readers[i].thread, NULL);
	}
	for (unsigned i = 0; i < ENTRIES; i++) {
		entry_release(&entries[i]);
		pthread_rwlock_destroy(&entries[i].lock);
	}
	generation_reclaim();
	close(notify_fd);

	uint64_t faults = guard_handler_entries() - entries_before;
	unsigned retired = generation_retired_count();
	printf("held-stress: %u s, %llu mappings held and released, %llu reads, %llu faults "
	       "handled, %u retired generations left, %u wrong bytes\n",
		seconds, (unsigned long long)replaced, (unsigned long long)atomic_load(&reads),
		(unsigned long long)faults, retired, atomic_load(&wrong_bytes));
	if (atomic_load(&wrong_bytes) != 0 || retired != 0 || faults == 0) {
		fprintf(stderr, "held-stress: FAILED\n");
		return 1;
	}
	return 0;
}

/* Library-side set-up shared by the unit tests. */
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client-file.h"
#include "shmguard-setup.h"

struct shmguard_pool *
setup_pool_create(int fd, uint64_t size)
{
	enum shmguard_pool_error error = SHMGUARD_POOL_ERROR_NO_MEMORY;
	struct shmguard_pool *pool = shmguard_pool_create(fd, size, NULL, &error);
	if (pool == NULL) {
		fail_msg("pool of %llu bytes over fd %d: %s", (unsigned long long)size, fd,
			shmguard_pool_error_to_str(error));
	}
	assert_int_equal(error, SHMGUARD_POOL_OK);
	return pool;
}

void *
setup_window_begin(struct shmguard_pool *pool, uint64_t offset, uint64_t length,
	enum shmguard_access_mode mode, struct shmguard_access **access)
{
	void *data = NULL;
	int ret = shmguard_access_begin(pool, offset, length, mode, access, &data);
	if (ret != 0) {
		fail_msg("shmguard_access_begin(%llu, %llu): %s", (unsigned long long)offset,
			(unsigned long long)length, strerror(-ret));
	}
	assert_non_null(data);
	return data;
}

int
setup_warm_up(void **state)
{
	size_t page = client_page();
	uint8_t bytes[16];
	shmguard_probe();
	int fd = client_memfd_create("warm-up", 2 * page, false);
	struct shmguard_pool *pool = setup_pool_create(fd, page);
	struct shmguard_access *access;
	void *data;
	assert_int_equal(
		shmguard_access_begin(pool, 0, page, SHMGUARD_ACCESS_READ, &access, &data), 0);
	shmguard_access_end(access, NULL);
	assert_int_equal(shmguard_pool_read(pool, 0, bytes, sizeof(bytes), NULL), 0);
	assert_int_equal(shmguard_pool_write(pool, 0, bytes, sizeof(bytes), NULL), 0);
	assert_int_equal(shmguard_pool_resize(pool, 2 * page, NULL), 0);
	shmguard_pool_unref(pool);
	close(fd);
	return 0;
}

struct crew_member {
	pthread_t thread;
	struct crew_job *job; /* NULL while idle */
};

static struct crew_member crew[SETUP_CREW_SIZE];
static pthread_mutex_t crew_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t crew_wake = PTHREAD_COND_INITIALIZER;
static pthread_cond_t crew_done = PTHREAD_COND_INITIALIZER;
static unsigned crew_busy;
static bool crew_quit;

static void *
crew_member_main(void *arg)
{
	struct crew_member *member = arg;
	free(malloc(64));
	pthread_mutex_lock(&crew_lock);
	for (;;) {
		while (member->job == NULL && !crew_quit) {
			pthread_cond_wait(&crew_wake, &crew_lock);
		}
		if (member->job == NULL) {
			break;
		}
		struct crew_job *job = member->job;
		pthread_mutex_unlock(&crew_lock);
		job->result = job->start(job->arg);
		pthread_mutex_lock(&crew_lock);
		member->job = NULL;
		crew_busy--;
		pthread_cond_broadcast(&crew_done);
	}
	pthread_mutex_unlock(&crew_lock);
	return NULL;
}

static void *
no_job(void *arg)
{
	return arg;
}

void
setup_crew_run(struct crew_job *jobs, unsigned count)
{
	assert_true(count <= SETUP_CREW_SIZE);
	pthread_mutex_lock(&crew_lock);
	assert_int_equal(crew_busy, 0);
	for (unsigned i = 0; i < count; i++) {
		crew[i].job = &jobs[i];
	}
	crew_busy = count;
	pthread_cond_broadcast(&crew_wake);
	while (crew_busy > 0) {
		pthread_cond_wait(&crew_done, &crew_lock);
	}
	pthread_mutex_unlock(&crew_lock);
}

int
setup_crew_start(void **state)
{
	/* One arena: threads allocate without mapping arenas of their own. */
	mallopt(M_ARENA_MAX, 1);
	pthread_attr_t attr;
	assert_int_equal(pthread_attr_init(&attr), 0);
	assert_int_equal(pthread_attr_setstacksize(&attr, 256u * 1024u), 0);
	for (unsigned i = 0; i < SETUP_CREW_SIZE; i++) {
		int ret = pthread_create(&crew[i].thread, &attr, crew_member_main, &crew[i]);
		if (ret != 0) {
			fail_msg("pthread_create: %s", strerror(ret));
		}
	}
	pthread_attr_destroy(&attr);
	/* Every member has run (and allocated) before the first test. */
	struct crew_job jobs[SETUP_CREW_SIZE];
	for (unsigned i = 0; i < SETUP_CREW_SIZE; i++) {
		jobs[i] = (struct crew_job){.start = no_job};
	}
	setup_crew_run(jobs, SETUP_CREW_SIZE);
	return 0;
}

int
setup_crew_stop(void **state)
{
	pthread_mutex_lock(&crew_lock);
	crew_quit = true;
	pthread_cond_broadcast(&crew_wake);
	pthread_mutex_unlock(&crew_lock);
	for (unsigned i = 0; i < SETUP_CREW_SIZE; i++) {
		pthread_join(crew[i].thread, NULL);
	}
	return 0;
}

/*
 * Closer threads (fd_closer.h): a queue of fds under a mutex, served by
 * up to FD_CLOSER_THREADS_MAX detached threads that block every signal
 * and end after a while without work. A caller waits for its own close
 * to be done for FD_CLOSER_WAIT_MS at most, and not at all while a close
 * that outlasted that wait is still in the kernel: one stuck daemon costs
 * the caller one wait, not one per fd.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "shmguard/shmguard.h"

#include "fd_closer.h"
#include "linux_abi.h"
#include "log.h"

/* An idle closer thread ends after this long without work. */
#define IDLE_EXIT_S 10
/* Closer threads only call close(): a small stack. */
#define CLOSER_STACK_SIZE (64 * 1024)

struct close_job {
	int fd;
	bool done;
	/* The caller stopped waiting: the closer frees the job. */
	bool abandoned;
	struct close_job *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work = PTHREAD_COND_INITIALIZER;
static pthread_cond_t finished = PTHREAD_COND_INITIALIZER;
static struct close_job *queue_head;
static struct close_job **queue_tail = &queue_head;
static unsigned threads;
static unsigned idle;
/* Abandoned jobs whose close() has not returned yet. */
static unsigned stuck;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
deadline_in(struct timespec *deadline, long ms)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += ms / 1000;
	deadline->tv_nsec += (ms % 1000) * 1000000;
	if (deadline->tv_nsec >= 1000000000) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000;
	}
}

/* Wait on @p cond with a CLOCK_MONOTONIC deadline. */
static int
cond_wait_until(pthread_cond_t *cond, const struct timespec *deadline)
{
	return pthread_cond_clockwait(cond, &lock, CLOCK_MONOTONIC, deadline);
}

static void *
closer_main(void *arg)
{
	pthread_mutex_lock(&lock);
	for (;;) {
		while (queue_head == NULL) {
			struct timespec deadline;
			deadline_in(&deadline, IDLE_EXIT_S * 1000L);
			idle++;
			int ret = cond_wait_until(&work, &deadline);
			idle--;
			if (queue_head == NULL && ret == ETIMEDOUT) {
				threads--;
				pthread_mutex_unlock(&lock);
				return NULL;
			}
		}
		struct close_job *job = queue_head;
		queue_head = job->next;
		if (queue_head == NULL) {
			queue_tail = &queue_head;
		}
		pthread_mutex_unlock(&lock);
		/* May wait on a FUSE daemon for as long as it likes. */
		close(job->fd);
		pthread_mutex_lock(&lock);
		if (job->abandoned) {
			stuck--;
			free(job);
		} else {
			job->done = true;
			pthread_cond_broadcast(&finished);
		}
	}
}

/* Start a closer thread, with every signal blocked (a process-directed
 * signal must never be delivered to it). Called with the lock held. */
static bool
closer_start(void)
{
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) != 0) {
		return false;
	}
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, CLOSER_STACK_SIZE);
	sigset_t all;
	sigset_t old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_t thread;
	int ret = pthread_create(&thread, &attr, closer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&attr);
	if (ret != 0) {
		return false;
	}
	pthread_setname_np(thread, "shmguard-close");
	threads++;
	return true;
}

/* A forked child has none of the parent's threads, and the lock may
 * have been held at the fork: start afresh (the queued jobs, copies of
 * the parent's, are dropped with their fds open). */
static void
atfork_child(void)
{
	pthread_mutex_init(&lock, NULL);
	pthread_cond_init(&work, NULL);
	pthread_cond_init(&finished, NULL);
	queue_head = NULL;
	queue_tail = &queue_head;
	threads = 0;
	idle = 0;
	stuck = 0;
}

static void
atfork_register(void)
{
	pthread_atfork(NULL, NULL, atfork_child);
}

void
fd_close_aside(int fd)
{
	if (fcntl(fd, F_GET_SEALS) >= 0) {
		/* shmem or hugetlbfs: its close() never waits on user space,
		 * so it is done here and now, whatever the load. */
		close(fd);
		return;
	}
	pthread_once(&atfork_once, atfork_register);
	struct close_job *job = calloc(1, sizeof(*job));
	if (job == NULL) {
		close(fd);
		return;
	}
	job->fd = fd;
	pthread_mutex_lock(&lock);
	if (idle == 0 && threads < FD_CLOSER_THREADS_MAX) {
		closer_start();
	}
	if (threads == 0) {
		pthread_mutex_unlock(&lock);
		free(job);
		log_message(SHMGUARD_LOG_WARNING, "no closer thread: closing a refused fd here");
		close(fd);
		return;
	}
	*queue_tail = job;
	queue_tail = &job->next;
	pthread_cond_signal(&work);
	if (stuck == 0) {
		struct timespec deadline;
		deadline_in(&deadline, FD_CLOSER_WAIT_MS);
		while (!job->done && cond_wait_until(&finished, &deadline) != ETIMEDOUT) {
		}
	}
	if (job->done) {
		free(job);
	} else {
		job->abandoned = true;
		stuck++;
	}
	pthread_mutex_unlock(&lock);
}

SHMGUARD_EXPORT void
shmguard_fd_close(int fd)
{
	if (fd >= 0) {
		fd_close_aside(fd);
	}
}

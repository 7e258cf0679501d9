/* Logging: a callback the compositor sets, with levels and a rate limit
 * for messages that a client can trigger. */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "shmguard/shmguard.h"

#include "log.h"

#define CLIENT_BURST 20u

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*log_handler)(enum shmguard_log_level, const char *, va_list, void *);
static void *log_user_data;
static enum shmguard_log_level log_threshold = SHMGUARD_LOG_ERROR;

static time_t window_second;
static unsigned window_count;
static unsigned dropped;

SHMGUARD_EXPORT void
shmguard_log_set_handler(void (*handler)(enum shmguard_log_level level, const char *format,
				 va_list args, void *user_data),
	void *user_data)
{
	pthread_mutex_lock(&log_lock);
	log_handler = handler;
	log_user_data = user_data;
	pthread_mutex_unlock(&log_lock);
}

SHMGUARD_EXPORT void
shmguard_log_set_level(enum shmguard_log_level level)
{
	pthread_mutex_lock(&log_lock);
	log_threshold = level;
	pthread_mutex_unlock(&log_lock);
}

static void
emit_locked(enum shmguard_log_level level, const char *format, va_list args)
	__attribute__((format(printf, 2, 0)));

static void
emit_with(enum shmguard_log_level level, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

static void
emit_locked(enum shmguard_log_level level, const char *format, va_list args)
{
	if (log_handler != NULL) {
		log_handler(level, format, args, log_user_data);
		return;
	}
	fprintf(stderr, "shmguard %s: ", shmguard_log_level_to_str(level));
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

static void
emit_with(enum shmguard_log_level level, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	emit_locked(level, format, args);
	va_end(args);
}

void
log_message(enum shmguard_log_level level, const char *format, ...)
{
	pthread_mutex_lock(&log_lock);
	if (level <= log_threshold) {
		va_list args;
		va_start(args, format);
		emit_locked(level, format, args);
		va_end(args);
	}
	pthread_mutex_unlock(&log_lock);
}

void
log_client_message(enum shmguard_log_level level, const char *format, ...)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);

	pthread_mutex_lock(&log_lock);
	if (level > log_threshold) {
		goto out;
	}
	if (now.tv_sec != window_second) {
		if (dropped > 0) {
			emit_with(SHMGUARD_LOG_WARNING, "%u client messages dropped by rate limit",
				dropped);
		}
		window_second = now.tv_sec;
		window_count = 0;
		dropped = 0;
	}
	if (window_count >= CLIENT_BURST) {
		dropped++;
		goto out;
	}
	window_count++;
	va_list args;
	va_start(args, format);
	emit_locked(level, format, args);
	va_end(args);
out:
	pthread_mutex_unlock(&log_lock);
}

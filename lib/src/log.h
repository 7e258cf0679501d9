/* Logging through the compositor's callback. Never from a signal handler. */
#ifndef SHMGUARD_LOG_H
#define SHMGUARD_LOG_H

#include "shmguard/shmguard.h"

void
log_message(enum shmguard_log_level level, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

/* For messages a client can trigger: at most a burst per second, then one
 * line saying how many were dropped. */
void
log_client_message(enum shmguard_log_level level, const char *format, ...)
	__attribute__((format(printf, 2, 3)));

#endif

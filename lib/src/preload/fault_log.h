/* The preload's log: the library's messages on stderr under its name, and
 * one line per fault naming the client (the preload has no compositor code
 * to tell). */
#ifndef SHMGUARD_PRELOAD_FAULT_LOG_H
#define SHMGUARD_PRELOAD_FAULT_LOG_H

#include "shmguard/wayland.h"

/* Send the library's log to stderr, each line starting with the
 * preload's name (preload_name.h). */
void
fault_log_install(void);

/* A shmguard_shm_options.fault_handler: one line at WARNING, rate-limited
 * with the library's other client messages. */
void
fault_log(const struct shmguard_fault_event *event, void *user_data);

#endif

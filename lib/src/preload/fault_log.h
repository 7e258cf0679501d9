/* One line on stderr per fault, naming the client, for the compositor's
 * log (the preload has no compositor code to tell). */
#ifndef SHMGUARD_PRELOAD_FAULT_LOG_H
#define SHMGUARD_PRELOAD_FAULT_LOG_H

#include "shmguard/wayland.h"

/* A shmguard_shm_options.fault_handler. */
void
fault_log(const struct shmguard_fault_event *event, void *user_data);

#endif

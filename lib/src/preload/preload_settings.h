/* The preload's settings, from the environment. */
#ifndef SHMGUARD_PRELOAD_SETTINGS_H
#define SHMGUARD_PRELOAD_SETTINGS_H

#include "shmguard/wayland.h"

/* Fill @p options from SHMGUARD_FAULT_POLICY (disconnect, the default, or
 * zeros) and SHMGUARD_LOG (error, warning: the default, info, debug). */
void
preload_settings_read(struct shmguard_shm_options *options);

#endif

/* The preload's settings, from the environment. */
#ifndef SHMGUARD_PRELOAD_SETTINGS_H
#define SHMGUARD_PRELOAD_SETTINGS_H

#include "shmguard/wayland.h"

/* Fill @p options from SHMGUARD_FAULT_POLICY (disconnect, the default, or
 * zeros), SHMGUARD_FILE_POLICY (memory, default, or either followed by
 * +TYPE,TYPE...: file_policy_copy_parse()) and SHMGUARD_LOG (error,
 * warning: the default, info, debug). */
void
preload_settings_read(struct shmguard_shm_options *options);

/* The file policy preload_settings_read() found, as its setting says it
 * ("default" when unset or refused). */
const char *
preload_settings_file_policy(void);

#endif

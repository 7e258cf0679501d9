/* The preload's settings (environment) and the formats a compositor adds
 * with wl_display_add_shm_format(), before or after wl_display_init_shm(). */
#ifndef SHMGUARD_PRELOAD_SETTINGS_H
#define SHMGUARD_PRELOAD_SETTINGS_H

#include <stdint.h>

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

/* Record @p format for @p shm (NULL: wl_display_init_shm() not called yet;
 * kept until it is). Returns a pointer to the stored code, or NULL for a
 * format libshmguard cannot check strides for (not advertised; logged). */
uint32_t *
preload_formats_add(struct shmguard_shm *shm, uint32_t format);

/* Advertise on @p shm the formats added before it existed. */
void
preload_formats_apply(struct shmguard_shm *shm);

#endif

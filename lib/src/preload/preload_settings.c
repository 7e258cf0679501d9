/* The preload's settings, from the environment. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "../log.h"
#include "fault_log.h"
#include "preload_settings.h"

/* Generations a pool may keep at once: each buffer pins the one it was made
 * in (libwayland's data pointers stay valid for a buffer's life), so a
 * client that grows its pool between buffers keeps several. */
#define PRELOAD_MAX_GENERATIONS_PER_POOL 64

static enum shmguard_fault_policy
policy_from_env(void)
{
	const char *value = getenv("SHMGUARD_FAULT_POLICY");
	if (value == NULL || *value == '\0' || strcmp(value, "disconnect") == 0) {
		return SHMGUARD_FAULT_POLICY_DISCONNECT;
	}
	if (strcmp(value, "zeros") == 0) {
		return SHMGUARD_FAULT_POLICY_ZEROS;
	}
	/* revalidate maps a pool afresh, but a buffer here keeps the
	 * generation it was made in: it would never see the new one. */
	log_message(SHMGUARD_LOG_ERROR,
		"SHMGUARD_FAULT_POLICY=%s: the preload offers disconnect or zeros; using disconnect",
		value);
	return SHMGUARD_FAULT_POLICY_DISCONNECT;
}

static void
log_level_from_env(void)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	const char *value = getenv("SHMGUARD_LOG");
	/* By default warnings and errors: one line per fault (fault_log()),
	 * none for the refusals the client is told about. */
	fault_log_install();
	shmguard_log_set_level(SHMGUARD_LOG_WARNING);
	if (value == NULL) {
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(value, names[i]) == 0) {
			shmguard_log_set_level((enum shmguard_log_level)i);
			return;
		}
	}
}

void
preload_settings_read(struct shmguard_shm_options *options)
{
	log_level_from_env();
	options->fault_policy = policy_from_env();
	options->fault_handler = fault_log;
	options->client_limits.max_generations_per_pool = PRELOAD_MAX_GENERATIONS_PER_POOL;
}

/* The preload's settings, from the environment. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../file_policy.h"
#include "../log.h"
#include "fault_log.h"
#include "preload_settings.h"

/* Generations a pool may keep at once: each buffer pins the one it was made
 * in (libwayland's data pointers stay valid for a buffer's life), so a
 * client that grows its pool between buffers keeps several. Pools times
 * generations may pass what a client can map: its mapping share
 * (shmguard_budget_limits.max_mappings, a quarter of the process-wide
 * bound) binds first. */
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

/* SHMGUARD_FILE_POLICY, parsed once; its names live as long as the
 * process (shmguard_shm_create() copies them again). */
static struct file_policy_copy file_policy;
static const char *file_policy_text = "default";

static void
file_policy_from_env(void)
{
	const char *value = getenv("SHMGUARD_FILE_POLICY");
	file_policy_copy_finish(&file_policy);
	file_policy_text = "default";
	if (value == NULL) {
		return;
	}
	int ret = file_policy_copy_parse(&file_policy, value);
	if (ret == 0 && *value != '\0') {
		file_policy_text = value;
	} else if (ret == -EINVAL) {
		log_message(SHMGUARD_LOG_ERROR,
			"SHMGUARD_FILE_POLICY=%s: expected memory, default, or either with +TYPE,TYPE...; using default",
			value);
	} else if (ret != 0) {
		log_message(SHMGUARD_LOG_ERROR,
			"SHMGUARD_FILE_POLICY=%s: out of memory; using default", value);
	}
}

const char *
preload_settings_file_policy(void)
{
	return file_policy_text;
}

void
preload_settings_read(struct shmguard_shm_options *options)
{
	log_level_from_env();
	file_policy_from_env();
	options->file_policy = file_policy.policy;
	options->fault_policy = policy_from_env();
	options->fault_handler = fault_log;
	options->client_limits.max_generations_per_pool = PRELOAD_MAX_GENERATIONS_PER_POOL;
}

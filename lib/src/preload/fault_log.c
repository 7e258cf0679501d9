/* The preload's fault handler: who faulted, where, and what was done. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <wayland-server-core.h>

#include "../log.h"
#include "fault_log.h"
#include "preload_name.h"

/* The client's process name from /proc, or "?". */
static void
client_name(pid_t pid, char *name, size_t size)
{
	snprintf(name, size, "?");
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *comm = fopen(path, "re");
	if (comm == NULL) {
		return;
	}
	if (fgets(name, (int)size, comm) != NULL) {
		name[strcspn(name, "\n")] = '\0';
	}
	fclose(comm);
}

static void
log_to_stderr(enum shmguard_log_level level, const char *format, va_list args, void *user_data)
{
	fputs(preload_name, stderr);
	fputs(": ", stderr);
	if (level == SHMGUARD_LOG_ERROR) {
		fputs("error: ", stderr);
	}
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

void
fault_log_install(void)
{
	shmguard_log_set_handler(log_to_stderr, NULL);
}

void
fault_log(const struct shmguard_fault_event *event, void *user_data)
{
	pid_t pid = 0;
	char name[32] = "gone";
	if (event->client != NULL) {
		wl_client_get_credentials(event->client, &pid, NULL, NULL);
		client_name(pid, name, sizeof(name));
	}
	/* Rate-limited with the library's other client messages. */
	log_client_message(SHMGUARD_LOG_WARNING,
		"client pid %d (%s): %s at byte %llu of its pool (file has %llu bytes): %s",
		(int)pid, name, shmguard_fault_kind_to_str(event->report->kind),
		(unsigned long long)event->report->offset,
		(unsigned long long)event->report->file_size,
		shmguard_fault_action_to_str(event->action));
}

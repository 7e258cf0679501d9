/*
 * compositor-demo: log lines a person or a test reads (stderr), and how a
 * client is named in them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <wayland-server-core.h>

#include "server.h"

void
demo_log(const char *format, ...)
{
	char line[512];
	va_list args;
	va_start(args, format);
	vsnprintf(line, sizeof(line), format, args);
	va_end(args);
	fprintf(stderr, "compositor-demo: %s\n", line);
}

const char *
demo_client_name(struct wl_client *client, char *buf, size_t size)
{
	if (client == NULL) {
		snprintf(buf, size, "a disconnected client");
		return buf;
	}
	pid_t pid = 0;
	wl_client_get_credentials(client, &pid, NULL, NULL);
	char path[64], comm[32] = "";
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	FILE *file = fopen(path, "re");
	if (file != NULL) {
		if (fgets(comm, sizeof(comm), file) != NULL) {
			comm[strcspn(comm, "\n")] = '\0';
		}
		fclose(file);
	}
	snprintf(buf, size, "client pid %d (%s)", (int)pid, comm[0] != '\0' ? comm : "?");
	return buf;
}

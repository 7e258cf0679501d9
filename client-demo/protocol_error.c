/*
 * demo-client-support: the protocol error the compositor ended the
 * connection with, its code's name and its message.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <wayland-client.h>

#include "client.h"

/*
 * libwayland-client hands a protocol error's message only to its log
 * handler ("wl_shm@4: error 2: ..."), so the last log line is kept to
 * recover the message exactly as the compositor sent it.
 */
static char last_log_line[512];

void
client_log_handler(const char *format, va_list args)
{
	vsnprintf(last_log_line, sizeof(last_log_line), format, args);
	last_log_line[strcspn(last_log_line, "\n")] = '\0';
}

/* The text after "<interface>@<id>: error <code>: " in the last log line. */
static const char *
logged_message(void)
{
	const char *marker = strstr(last_log_line, ": error ");
	if (marker == NULL) {
		return "";
	}
	const char *colon = strchr(marker + strlen(": error "), ':');
	return colon != NULL ? colon + 2 : "";
}

static bool
has_wl_shm_errors(const char *interface)
{
	return strcmp(interface, "wl_shm") == 0 || strcmp(interface, "wl_shm_pool") == 0 ||
		strcmp(interface, "wl_buffer") == 0;
}

static const char *
code_name(const char *interface, uint32_t code)
{
	static const char *const shm[] = {"invalid_format", "invalid_stride", "invalid_fd"};
	static const char *const display[] = {
		"invalid_object", "invalid_method", "no_memory", "implementation"};
	static const char *const frame[] = {"already_used", "invalid_buffer"};
	if (has_wl_shm_errors(interface) && code < 3) {
		return shm[code];
	}
	if (strcmp(interface, "wl_display") == 0 && code < 4) {
		return display[code];
	}
	if (strcmp(interface, "zwlr_screencopy_frame_v1") == 0 && code < 2) {
		return frame[code];
	}
	return "?";
}

bool
client_get_protocol_error(struct client *client, struct client_protocol_error *error)
{
	if (wl_display_get_error(client->display) != EPROTO) {
		return false;
	}
	const struct wl_interface *interface = NULL;
	uint32_t id = 0;
	uint32_t code = wl_display_get_protocol_error(client->display, &interface, &id);
	const char *name = interface != NULL ? interface->name : "";
	*error = (struct client_protocol_error){
		.interface = interface != NULL ? interface->name : NULL,
		.object_id = id,
		.code = code,
		.code_name = code_name(name, code),
		.wl_shm_code = has_wl_shm_errors(name) && code < 3,
		.message = logged_message(),
	};
	return true;
}

/*
 * hostile-client: command line. One attack per run; the exit status and
 * the printed lines say what the compositor did about it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostile.h"

/* Every table of attacks, one per source file. */
static const struct hostile_attack *const attack_tables[] = {
	hostile_attacks,
	hostile_capture_attacks,
	hostile_file_attacks,
	hostile_hugetlb_attacks,
	hostile_sealed_attacks,
};

#define ATTACK_TABLES (sizeof(attack_tables) / sizeof(attack_tables[0]))

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: hostile-client [--timeout MS] [--settle MS] ATTACK [ARGS...]\n"
		"Attacks the wl_shm of the compositor at $WAYLAND_DISPLAY. Attacks:\n");
	for (size_t t = 0; t < ATTACK_TABLES; t++) {
		for (const struct hostile_attack *attack = attack_tables[t]; attack->name != NULL;
			attack++) {
			fprintf(out, "  %s %s\n      %s\n", attack->name, attack->args,
				attack->summary);
		}
	}
	fprintf(out,
		"fd KINDs: memfd read-only write-sealed future-write-sealed shrink-sealed\n"
		"  pipe unix-socket tcp-socket directory dev-null dev-zero eventfd\n"
		"Exit status:\n");
	for (int status = HOSTILE_EXIT_CONNECTED; status <= HOSTILE_EXIT_CAPTURE_FAILED; status++) {
		fprintf(out, "  %d  %s\n", status, hostile_exit_to_str(status));
	}
}

bool
hostile_parse_int(const char *text, int64_t min, int64_t max, int64_t *value)
{
	char *end = NULL;
	errno = 0;
	long long parsed = strtoll(text, &end, 0);
	if (errno != 0 || end == text || *end != '\0' || parsed < min || parsed > max) {
		return false;
	}
	*value = parsed;
	return true;
}

static const struct hostile_attack *
find_attack(const char *name)
{
	for (size_t t = 0; t < ATTACK_TABLES; t++) {
		for (const struct hostile_attack *attack = attack_tables[t]; attack->name != NULL;
			attack++) {
			if (strcmp(attack->name, name) == 0) {
				return attack;
			}
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct hostile hostile = {.timeout_ms = 3000, .settle_ms = 300};
	int i = 1;
	for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
		int64_t value;
		if (!hostile_parse_int(argv[i + 1], 1, 600000, &value)) {
			usage(stderr);
			return HOSTILE_EXIT_USAGE;
		}
		if (strcmp(argv[i], "--timeout") == 0) {
			hostile.timeout_ms = (int)value;
		} else if (strcmp(argv[i], "--settle") == 0) {
			hostile.settle_ms = (int)value;
		} else {
			usage(stderr);
			return HOSTILE_EXIT_USAGE;
		}
	}
	if (i < argc && strcmp(argv[i], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	const struct hostile_attack *attack = i < argc ? find_attack(argv[i]) : NULL;
	if (attack == NULL) {
		usage(stderr);
		return HOSTILE_EXIT_USAGE;
	}
	/* Lines go out as they happen, so a test sees them even if we hang. */
	setvbuf(stdout, NULL, _IOLBF, 0);

	int status = hostile_connect(&hostile);
	if (status == 0) {
		status = attack->run(&hostile, argc - i - 1, argv + i + 1);
		if (status == HOSTILE_EXIT_USAGE) {
			usage(stderr);
		}
	}
	client_disconnect(&hostile.client);
	printf("exit %d: %s\n", status, hostile_exit_to_str(status));
	return status;
}

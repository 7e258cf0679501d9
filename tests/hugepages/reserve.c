/*
 * hugepages-reserve PAGES COMMAND [ARGS...]: run COMMAND with PAGES more
 * huge pages reserved (hugepages.h) and put nr_hugepages back when it has
 * ended, however it ended. When the pages cannot be had, COMMAND runs all
 * the same with SHMGUARD_TEST_HUGEPAGES_SKIP set to the reason, for it to
 * skip with. The exit status is COMMAND's; a COMMAND killed by a signal
 * kills this process with the same signal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hugepages.h"

static int
run_command(const char *skip_reason, void *arg)
{
	char **argv = arg;
	if (skip_reason != NULL) {
		setenv("SHMGUARD_TEST_HUGEPAGES_SKIP", skip_reason, 1);
	} else {
		unsetenv("SHMGUARD_TEST_HUGEPAGES_SKIP");
	}
	execvp(argv[0], argv);
	fprintf(stderr, "hugepages-reserve: %s: %s\n", argv[0], strerror(errno));
	return 127;
}

int
main(int argc, char **argv)
{
	char *end = NULL;
	unsigned long pages = argc >= 3 ? strtoul(argv[1], &end, 10) : 0;
	if (argc < 3 || end == argv[1] || *end != '\0' || pages == 0 ||
		pages > HUGEPAGES_MAX_ADDED) {
		fprintf(stderr,
			"usage: hugepages-reserve PAGES COMMAND [ARGS...] (PAGES 1 to %d)\n",
			HUGEPAGES_MAX_ADDED);
		return 2;
	}
	return hugepages_run_reserved((unsigned)pages, run_command, argv + 2);
}

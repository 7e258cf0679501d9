/*
 * client-demo: Wayland clients for trying a compositor's wl_shm.
 */
#include <stdio.h>
#include <string.h>

#include "demo.h"

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: client-demo MODE [OPTIONS]\n"
		"  good                 an animated window over several shm pools\n"
		"  truncate [--when W]  a malicious client that truncates its pool\n"
		"  capture FILE.png     a screen capture through wlr-screencopy\n"
#ifdef CLIENT_DEMO_HAVE_FUSE
		"  fuse [--stall S]     a pool over a file on our own FUSE mount that stalls\n"
#endif
		"Run client-demo MODE --help for a mode's options.\n"
		"Exit status: 0 ok, 1 client-side failure, 2 usage, 3 protocol error,\n"
		"4 connection lost, 5 still connected (truncate), 6 capture failed,\n"
		"7 no answer from the compositor (fuse).\n");
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*run)(int argc, char **argv);
	} modes[] = {
		{"good", mode_good},
		{"truncate", mode_truncate},
		{"capture", mode_capture},
#ifdef CLIENT_DEMO_HAVE_FUSE
		{"fuse", mode_fuse},
#endif
	};
	/* Line-buffered, so that logs read by tests are complete at any time. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2) {
		usage(stderr);
		return DEMO_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return DEMO_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(argv[1], modes[i].name) == 0) {
			return modes[i].run(argc - 1, argv + 1);
		}
	}
	usage(stderr);
	return DEMO_EXIT_USAGE;
}

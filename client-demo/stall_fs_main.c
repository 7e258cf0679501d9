/*
 * stall-fs: mount a FUSE file system whose daemon stops answering, for
 * tests of what a compositor does with a file on it. See stall_fs.h.
 *
 *   stall-fs [--stall=data|all|flush] [--size BYTES] MOUNTPOINT
 *
 * Prints "ready" on stdout once mounted. On SIGTERM or SIGINT it answers
 * the requests it holds with EIO, unmounts and exits 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stall_fs.h"

static struct stall_fs *volatile running_fs;
static volatile sig_atomic_t stop_asked;

static void
on_stop_signal(int signo)
{
	stop_asked = 1;
	/* Async-signal-safe: stall_fs_stop() is one write() to an eventfd. */
	struct stall_fs *fs = running_fs;
	if (fs != NULL) {
		stall_fs_stop(fs);
	}
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: stall-fs [--stall=data|all|flush] [--size BYTES] MOUNTPOINT\n"
		"  Mount a FUSE file system with one file, MOUNTPOINT/" STALL_FS_FILE_NAME
		", of BYTES\n"
		"  (default 4194304), whose daemon never answers reads (data) or,\n"
		"  once the file is opened, reads, its getattr and statfs (all),\n"
		"  and also the flush that every close() of the file sends (flush).\n"
		"  Prints \"ready\" once mounted; SIGTERM/SIGINT answers the held\n"
		"  requests with EIO, unmounts and exits 0.\n");
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{"stall", required_argument, NULL, 's'},
		{"size", required_argument, NULL, 'z'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	enum stall_fs_mode mode = STALL_FS_DATA;
	uint64_t size = 4u << 20;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		char *end;
		switch (opt) {
		case 's':
			if (stall_fs_mode_from_str(optarg, &mode) < 0) {
				fprintf(stderr, "stall-fs: unknown --stall %s\n", optarg);
				return 2;
			}
			break;
		case 'z':
			errno = 0;
			size = strtoull(optarg, &end, 0);
			if (errno != 0 || end == optarg || *end != '\0') {
				fprintf(stderr, "stall-fs: bad --size %s\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}

	/* Installed before the mount, so that a signal during it is not
	 * lost (nor kills us with the mount made): the loop sees it. */
	struct sigaction sa = {.sa_handler = on_stop_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	struct stall_fs *fs = stall_fs_create(argv[optind], mode, size);
	if (fs == NULL) {
		fprintf(stderr, "stall-fs: cannot mount at %s: %s\n", argv[optind],
			strerror(errno));
		return 1;
	}
	running_fs = fs;
	if (stop_asked) {
		stall_fs_stop(fs);
	}

	printf("ready\n");
	fflush(stdout);
	int ret = stall_fs_run(fs);
	uint64_t held = stall_fs_held_count(fs);
	running_fs = NULL;
	stall_fs_destroy(fs);
	fprintf(stderr, "stall-fs: %s stall, %llu requests held, unmounted\n",
		stall_fs_mode_to_str(mode), (unsigned long long)held);
	if (ret < 0) {
		fprintf(stderr, "stall-fs: %s\n", strerror(-ret));
		return 1;
	}
	return 0;
}

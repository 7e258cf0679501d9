/*
 * shmguard-info: what this kernel really does, and, for a file, what backs
 * it, whether the library would accept it and which strategy it would
 * pick. The first thing to run on a new kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <shmguard/shmguard.h>

static void
print_probe(void)
{
	struct utsname uts;
	if (uname(&uts) == 0) {
		printf("kernel: %s %s %s\n\n", uts.sysname, uts.release, uts.machine);
	}
	const struct shmguard_probe_result *results = shmguard_probe();
	printf("%-20s %-9s %s\n", "mechanism", "supported", "how it was established");
	for (int i = 0; i < SHMGUARD_MECHANISM_COUNT; i++) {
		printf("%-20s %-9s %s\n", shmguard_mechanism_to_str(results[i].mechanism),
			results[i].supported ? "yes" : "no", results[i].how);
	}
}

/* What backs the file and whether each base policy accepts it. Returns
 * whether the default policy does: only then is the file looked at any
 * further (fstat() on a FUSE file is already a request to its daemon). */
static bool
print_verdicts(int fd)
{
	static const enum shmguard_file_accept accepts[] = {
		SHMGUARD_FILE_ACCEPT_LOCAL, SHMGUARD_FILE_ACCEPT_MEMORY};
	bool accepted = false;
	for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
		struct shmguard_file_policy policy = {.accept = accepts[i]};
		char reason[256];
		enum shmguard_pool_error verdict =
			shmguard_file_vet(fd, &policy, reason, sizeof(reason));
		printf("files: %-6s %-8s %s\n", shmguard_file_accept_to_str(accepts[i]),
			verdict == SHMGUARD_POOL_OK ? "accepted" : "refused", reason);
		if (i == 0) {
			accepted = verdict == SHMGUARD_POOL_OK;
		}
	}
	return accepted;
}

static int
print_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "shmguard-info: %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("\nfile: %s (opened read-only as a client's fd might be)\n", path);
	if (!print_verdicts(fd)) {
		printf("(refused by the default policy: not looked at further)\n");
		close(fd);
		return 0;
	}
	struct stat st;
	uint64_t size = fstat(fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
	printf("size: %llu bytes\n", (unsigned long long)size);
	static const enum shmguard_access_mode modes[] = {
		SHMGUARD_ACCESS_READ, SHMGUARD_ACCESS_WRITE};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		const char *why = NULL;
		int strategy = shmguard_strategy_choose(fd, size, modes[i], &why);
		printf("%-6s %-9s %s\n", shmguard_access_mode_to_str(modes[i]),
			strategy < 0 ? "refused" : shmguard_strategy_to_str(strategy), why);
	}
	close(fd);
	return 0;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: shmguard-info [--version] [FILE...]\n"
		"Print what this kernel does for safe shared-memory mappings and,\n"
		"for each FILE, what backs it, whether libshmguard would accept it\n"
		"as a pool's file and why, and the strategy it would use for it.\n");
}

int
main(int argc, char **argv)
{
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	int opt;
	while ((opt = getopt_long(argc, argv, "hV", options, NULL)) != -1) {
		switch (opt) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("shmguard-info %s\n", shmguard_version());
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	print_probe();
	int status = 0;
	for (int i = optind; i < argc; i++) {
		status |= print_file(argv[i]);
	}
	return status;
}

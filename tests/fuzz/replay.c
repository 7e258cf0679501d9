/*
 * Replays fuzz inputs without libFuzzer: every file named on the command
 * line, and every file in every directory named, in name order, is fed
 * once to LLVMFuzzerTestOneInput(). A target that finds a broken invariant
 * aborts, so a plain `meson test` fails on any seed that regressed.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int
replay_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	uint8_t *data = NULL;
	size_t size = 0;
	size_t capacity = 0;
	for (;;) {
		if (size == capacity) {
			capacity = capacity == 0 ? 4096 : capacity * 2;
			uint8_t *grown = realloc(data, capacity);
			if (grown == NULL) {
				free(data);
				fclose(f);
				return -1;
			}
			data = grown;
		}
		size_t n = fread(data + size, 1, capacity - size, f);
		if (n == 0) {
			break;
		}
		size += n;
	}
	fclose(f);
	printf("replaying %s (%zu bytes)\n", path, size);
	fflush(stdout);
	LLVMFuzzerTestOneInput(data, size);
	free(data);
	return 0;
}

static int
by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int
replay_path(const char *path, unsigned *count)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path);
	}
	struct dirent **entries;
	int n = scandir(path, &entries, NULL, by_name);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	int ret = 0;
	for (int i = 0; i < n; i++) {
		if (entries[i]->d_name[0] != '.') {
			char child[4096];
			snprintf(child, sizeof(child), "%s/%s", path, entries[i]->d_name);
			if (replay_path(child, count) != 0) {
				ret = -1;
			}
		}
		free(entries[i]);
	}
	free(entries);
	return ret;
}

int
main(int argc, char **argv)
{
	unsigned count = 0;
	int status = 0;
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIRECTORY...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (replay_path(argv[i], &count) != 0) {
			status = 1;
		}
	}
	if (count == 0) {
		fprintf(stderr, "no inputs found: an empty corpus proves nothing\n");
		return 1;
	}
	printf("%u inputs replayed\n", count);
	return status;
}

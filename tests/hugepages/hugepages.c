/*
 * Huge pages for the tests: the state file protocol (hugepages.h).
 *
 * State file, one line each:
 *     original N          nr_hugepages before the first holder came
 *     holder PID START    a holder: its pid and start time (field 22 of
 *                         /proc/PID/stat), so a reused pid is not taken
 *                         for the holder
 * An empty file means no reservation is in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hugepages.h"

#define STATE_DIR "/run/shmguard-tests"
#define STATE_FILE STATE_DIR "/nr_hugepages"
#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"
#define MAX_HOLDERS 64

struct holder {
	pid_t pid;
	unsigned long long start;
};

struct state {
	long original; /* -1: no reservation in place */
	unsigned count;
	struct holder holders[MAX_HOLDERS];
};

static const char *
state_path(void)
{
	const char *path = getenv("SHMGUARD_TEST_HUGEPAGES_STATE");
	return path != NULL && path[0] != '\0' ? path : STATE_FILE;
}

static const char *
nr_path(void)
{
	const char *path = getenv("SHMGUARD_TEST_NR_HUGEPAGES");
	return path != NULL && path[0] != '\0' ? path : NR_HUGEPAGES;
}

/* Whether the real nr_hugepages is in use (not the helper's own test). */
static bool
real_pages(void)
{
	return strcmp(nr_path(), NR_HUGEPAGES) == 0;
}

static void
say(char *why, size_t why_size, const char *format, ...)
{
	va_list args;
	va_start(args, format);
	vsnprintf(why, why_size, format, args);
	va_end(args);
}

static long
read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	long value = -1;
	if (f != NULL) {
		if (fscanf(f, "%ld", &value) != 1) {
			value = -1;
		}
		fclose(f);
	}
	return value;
}

static bool
write_long(const char *path, long value)
{
	int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0) {
		return false;
	}
	char text[32];
	int length = snprintf(text, sizeof(text), "%ld\n", value);
	bool ok = write(fd, text, (size_t)length) == length;
	return close(fd) == 0 && ok;
}

long
hugepages_nr(void)
{
	return read_long(nr_path());
}

/* A field of /proc/meminfo ("HugePages_Free"), or -1. */
static long
meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "re");
	if (f == NULL) {
		return -1;
	}
	char line[256];
	long value = -1;
	size_t length = strlen(key);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, length) == 0 && line[length] == ':') {
			value = strtol(line + length + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return value;
}

/* Start time of @p pid (clock ticks after boot), or 0 if it is gone. */
static unsigned long long
process_start(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "re");
	if (f == NULL) {
		return 0;
	}
	char line[1024];
	unsigned long long start = 0;
	if (fgets(line, sizeof(line), f) != NULL) {
		/* The name may hold spaces and parentheses: fields count from
		 * the last ')'. Field 22 is the 20th after it. */
		char *p = strrchr(line, ')');
		for (int field = 2; p != NULL && field < 22; field++) {
			p = strchr(p + 1, ' ');
		}
		if (p != NULL) {
			start = strtoull(p + 1, NULL, 10);
		}
	}
	fclose(f);
	return start;
}

static bool
holder_alive(const struct holder *holder)
{
	return holder->start != 0 && process_start(holder->pid) == holder->start;
}

static void
state_load(int fd, struct state *state)
{
	*state = (struct state){.original = -1};
	char text[4096];
	ssize_t length = pread(fd, text, sizeof(text) - 1, 0);
	if (length <= 0) {
		return;
	}
	text[length] = '\0';
	for (char *line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		long original;
		int pid;
		unsigned long long start;
		if (sscanf(line, "original %ld", &original) == 1) {
			state->original = original;
		} else if (sscanf(line, "holder %d %llu", &pid, &start) == 2 &&
			state->count < MAX_HOLDERS) {
			state->holders[state->count++] = (struct holder){pid, start};
		}
	}
}

static bool
state_store(int fd, const struct state *state)
{
	char text[4096];
	size_t length = 0;
	if (state->original >= 0) {
		length += (size_t)snprintf(
			text + length, sizeof(text) - length, "original %ld\n", state->original);
		for (unsigned i = 0; i < state->count; i++) {
			length += (size_t)snprintf(text + length, sizeof(text) - length,
				"holder %d %llu\n", (int)state->holders[i].pid,
				state->holders[i].start);
		}
	}
	return ftruncate(fd, 0) == 0 && pwrite(fd, text, length, 0) == (ssize_t)length &&
		fsync(fd) == 0;
}

/* Drop the holders that are gone (and @p leaving); with none left, put
 * the saved value back. */
static void
state_prune(struct state *state, pid_t leaving)
{
	unsigned kept = 0;
	for (unsigned i = 0; i < state->count; i++) {
		if (state->holders[i].pid != leaving && holder_alive(&state->holders[i])) {
			state->holders[kept++] = state->holders[i];
		}
	}
	state->count = kept;
	if (kept == 0 && state->original >= 0) {
		if (write_long(nr_path(), state->original)) {
			state->original = -1;
		} else {
			fprintf(stderr, "hugepages: cannot put %s back to %ld: %s\n", nr_path(),
				state->original, strerror(errno));
		}
	}
}

/* The state file, open and locked; -1 if it cannot be (not root). */
static int
state_lock(void)
{
	if (strcmp(state_path(), STATE_FILE) == 0 && mkdir(STATE_DIR, 0755) != 0 &&
		errno != EEXIST) {
		return -1;
	}
	int fd = open(state_path(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		return -1;
	}
	while (flock(fd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void
state_unlock(int fd)
{
	/* Closing the file drops the lock. */
	close(fd);
}

int
hugepages_reserve(unsigned pages, pid_t holder, char *why, size_t why_size)
{
	unsigned long long start = process_start(holder);
	int fd = state_lock();
	if (fd < 0) {
		long free_pages = real_pages() ? meminfo("HugePages_Free") : -1;
		if (free_pages >= (long)pages) {
			return 0;
		}
		say(why, why_size,
			"cannot reserve huge pages (%s: %s) and only %ld are free, %u needed",
			state_path(), strerror(errno), free_pages < 0 ? 0 : free_pages, pages);
		return -1;
	}
	struct state state;
	state_load(fd, &state);
	/* A crashed run's reservation goes back before anything else. */
	state_prune(&state, 0);

	int ret = -1;
	long nr = hugepages_nr();
	if (nr < 0 || start == 0) {
		say(why, why_size, "cannot read %s", nr_path());
		goto out;
	}
	long original = state.original >= 0 ? state.original : nr;
	if (nr - original + (long)pages > HUGEPAGES_MAX_ADDED) {
		say(why, why_size,
			"%ld huge pages already added by other tests, the limit is %d in all",
			nr - original, HUGEPAGES_MAX_ADDED);
		goto out;
	}
	if (state.count == MAX_HOLDERS) {
		say(why, why_size, "%d tests hold huge pages already", MAX_HOLDERS);
		goto out;
	}
	if (!write_long(nr_path(), nr + (long)pages)) {
		say(why, why_size, "cannot write %s: %s", nr_path(), strerror(errno));
		goto out;
	}
	/* The kernel gives what it can find: read back what it gave. */
	long now = hugepages_nr();
	long free_pages = real_pages() ? meminfo("HugePages_Free") : (long)pages;
	if (now < nr + (long)pages || free_pages < (long)pages) {
		say(why, why_size, "the kernel gave %ld of %u huge pages (%ld free)", now - nr,
			pages, free_pages);
		write_long(nr_path(), nr);
		goto out;
	}
	state.original = original;
	state.holders[state.count++] = (struct holder){holder, start};
	ret = 0;
out:
	if (!state_store(fd, &state) && ret == 0) {
		say(why, why_size, "cannot write %s: %s", state_path(), strerror(errno));
		state.count--;
		state_prune(&state, 0);
		ret = -1;
	}
	state_unlock(fd);
	return ret;
}

void
hugepages_release(pid_t holder)
{
	int fd = state_lock();
	if (fd < 0) {
		return;
	}
	struct state state;
	state_load(fd, &state);
	state_prune(&state, holder);
	state_store(fd, &state);
	state_unlock(fd);
}

static volatile pid_t running_child;

static void
pass_signal_on(int signo)
{
	if (running_child > 0) {
		kill(running_child, signo);
	}
}

int
hugepages_run_reserved(unsigned pages, int (*body)(const char *skip_reason, void *arg), void *arg)
{
	char why[256];
	bool reserved = hugepages_reserve(pages, getpid(), why, sizeof(why)) == 0;
	fflush(NULL);
	pid_t child = fork();
	if (child < 0) {
		perror("hugepages: fork");
		if (reserved) {
			hugepages_release(getpid());
		}
		return 1;
	}
	if (child == 0) {
		_exit(body(reserved ? NULL : why, arg));
	}
	running_child = child;
	struct sigaction pass = {.sa_handler = pass_signal_on};
	sigemptyset(&pass.sa_mask);
	int signals[] = {SIGTERM, SIGINT, SIGHUP};
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		sigaction(signals[i], &pass, NULL);
	}
	int status;
	while (waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("hugepages: waitpid");
			status = 1 << 8;
			break;
		}
	}
	running_child = 0;
	if (reserved) {
		hugepages_release(getpid());
	}
	if (WIFSIGNALED(status)) {
		int signo = WTERMSIG(status);
		fprintf(stderr, "hugepages: the test died of signal %d (%s); huge pages put back\n",
			signo, strsignal(signo));
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		sigemptyset(&dfl.sa_mask);
		sigaction(signo, &dfl, NULL);
		raise(signo);
		return 128 + signo;
	}
	return WEXITSTATUS(status);
}

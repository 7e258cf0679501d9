/*
 * bench-preload: what libshmguard-preload costs a compositor that calls
 * libwayland-server's wl_shm API, against libwayland's own wl_shm, in one
 * run.
 *
 * Only libwayland's public API is called, as a compositor calls it: a
 * wl_display with wl_display_init_shm(), a client (libwayland-client, in
 * process, over a socketpair: wayland-peer.c) that shares a memfd as a pool
 * and makes one 1920x1080 XRGB8888 buffer, and then, on the server's
 * wl_shm_buffer:
 *
 * 1. wl_shm_buffer_begin_access() + wl_shm_buffer_end_access(), ns a pair;
 * 2. begin, wl_shm_buffer_get_data(), a memcpy of the whole buffer into a
 *    compositor-side copy, end;
 * 3. begin, a pixman image over wl_shm_buffer_get_data(), composited OVER
 *    a 1920x1080 a8r8g8b8 destination, end (when built with pixman);
 * 4. for reference, a memcpy of the same bytes from a plain mapping of the
 *    memfd, made once: the same code in both processes, so its ratio shows
 *    how much the two processes differ for nothing.
 *
 * The same binary runs as two kinds of worker process: one as it is
 * (libwayland serves wl_shm) and one with LD_PRELOAD=libshmguard-preload.so
 * (the preload serves it). This process starts a pair, checks which library
 * each one's wl_shm_buffer_begin_access() resolves to, and has them measure
 * in turn, round after round in ABBA order, one idle while the other works;
 * then the next pair. Fresh processes matter: where a process's memory
 * lies moves its figures by up to a quarter here, so one pair alone says
 * little. Each figure is the median of all samples of a variant; the ratio
 * (preload / libwayland) is the median of the ratios each pair measured,
 * with their quartiles for the spread. A second table divides, in each
 * process, the copy and the composite by that process's own memcpy: what
 * is left is what the wl_shm implementation adds. Every round also checks
 * that the copy and the composite saw the client's bytes.
 *
 * Usage: bench-preload PRELOAD.so [--processes N] [--rounds N] [--quick]
 * Exit status: 0 measured, 1 a worker failed or read wrong bytes, 2 usage,
 * 77 skipped (no preload at that path).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef BENCH_HAVE_PIXMAN
#include <pixman.h>
#endif
#include <wayland-server-core.h>
#include <wayland-server-protocol.h>

#include "sample.h"
#include "wayland-peer.h"

#define WIDTH 1920
#define HEIGHT 1080
#define STRIDE (WIDTH * 4)
#define SIZE ((size_t)STRIDE * HEIGHT)

/* Per round and worker: blocks of begin+end pairs, and samples of each
 * whole-buffer kind. */
#define PAIR_BLOCKS 8
#define PAIRS_PER_BLOCK 100000u
#define FRAME_SAMPLES 18
#define PROCESSES_DEFAULT 10u
#define PROCESSES_QUICK 4u
#define PROCESSES_MAX 100u
#define ROUNDS_DEFAULT 4u
#define ROUNDS_QUICK 2u
#define ROUNDS_MAX 1000u

enum variant {
	VARIANT_LIBWAYLAND,
	VARIANT_PRELOAD,
	VARIANT_COUNT,
};

static const char *const variant_names[VARIANT_COUNT] = {"libwayland", "preload"};

enum frame_kind {
	FRAME_COPY,
	FRAME_COMPOSITE,
	FRAME_MEMCPY,
	FRAME_KIND_COUNT,
};

/* The orders of the three kinds. */
#define FRAME_ORDER_COUNT 6

/* A worker's first message. */
struct worker_hello {
	int32_t failed;
	char served_by[PATH_MAX]; /* the file wl_shm_buffer_begin_access is in */
	char message[256];
};

/* A worker's answer to a round. */
struct round_result {
	int32_t failed;
	char message[256];
	double pair_ns[PAIR_BLOCKS];
	double frame_us[FRAME_KIND_COUNT][FRAME_SAMPLES];
};

/* Keep the compiler from dropping a copy whose result is never read. */
static inline void
clobber(void *pointer)
{
	__asm__ volatile("" : : "r"(pointer) : "memory");
}

/* Move all @p length bytes through @p fd: read when @p into is true, else
 * write. 0, or -1 at end of file or on an error. */
static int
transfer_all(int fd, void *bytes, size_t length, bool into)
{
	char *at = bytes;
	while (length > 0) {
		ssize_t done = into ? read(fd, at, length) : write(fd, at, length);
		if (done < 0 && errno == EINTR) {
			continue;
		}
		if (done <= 0) {
			return -1;
		}
		at += done;
		length -= (size_t)done;
	}
	return 0;
}

static int
write_all(int fd, const void *bytes, size_t length)
{
	return transfer_all(fd, (void *)bytes, length, false);
}

/* 0, or -1 at end of file or on an error. */
static int
read_all(int fd, void *bytes, size_t length)
{
	return transfer_all(fd, bytes, length, true);
}

/* ---- a worker: one display, one client, one buffer ---- */

struct worker {
	struct wayland_peer *peer;
	struct wl_shm_buffer *buffer;
	int memfd;
	const uint8_t *plain; /* the memfd mapped once, read-only */
	uint8_t *copy; /* the compositor-side copy */
#ifdef BENCH_HAVE_PIXMAN
	uint32_t *target_bits;
	pixman_image_t *target;
#endif
};

static void
copy_in_window(struct worker *worker)
{
	wl_shm_buffer_begin_access(worker->buffer);
	memcpy(worker->copy, wl_shm_buffer_get_data(worker->buffer), SIZE);
	clobber(worker->copy);
	wl_shm_buffer_end_access(worker->buffer);
}

#ifdef BENCH_HAVE_PIXMAN
/* As a pixman compositor renders a surface: an image over the buffer's
 * data, composited, inside one access window. */
static void
composite_in_window(struct worker *worker)
{
	struct wl_shm_buffer *buffer = worker->buffer;
	wl_shm_buffer_begin_access(buffer);
	pixman_image_t *source = pixman_image_create_bits_no_clear(PIXMAN_x8r8g8b8,
		wl_shm_buffer_get_width(buffer), wl_shm_buffer_get_height(buffer),
		wl_shm_buffer_get_data(buffer), wl_shm_buffer_get_stride(buffer));
	pixman_image_composite32(
		PIXMAN_OP_OVER, source, NULL, worker->target, 0, 0, 0, 0, 0, 0, WIDTH, HEIGHT);
	pixman_image_unref(source);
	wl_shm_buffer_end_access(buffer);
}
#endif

static double
time_frame_us(struct worker *worker, enum frame_kind kind)
{
	uint64_t start = sample_now_ns();
	switch (kind) {
	case FRAME_COPY:
		copy_in_window(worker);
		break;
	case FRAME_COMPOSITE:
#ifdef BENCH_HAVE_PIXMAN
		composite_in_window(worker);
#endif
		break;
	case FRAME_MEMCPY:
		memcpy(worker->copy, worker->plain, SIZE);
		clobber(worker->copy);
		break;
	case FRAME_KIND_COUNT:
		break;
	}
	return (double)(sample_now_ns() - start) / 1000.0;
}

/* Whether the copy and the composite saw the client's bytes; NULL if so. */
static const char *
check_results(struct worker *worker)
{
	memset(worker->copy, 0, SIZE);
	copy_in_window(worker);
	if (memcmp(worker->copy, worker->plain, SIZE) != 0) {
		return "the copy made inside an access window differs from the client's bytes";
	}
#ifdef BENCH_HAVE_PIXMAN
	memset(worker->target_bits, 0, SIZE);
	composite_in_window(worker);
	const uint32_t *source = (const uint32_t *)(const void *)worker->plain;
	for (size_t i = 0; i < SIZE / 4; i++) {
		if (worker->target_bits[i] != (source[i] | 0xff000000u)) {
			return "the composite made inside an access window differs from the "
			       "client's pixels";
		}
	}
#endif
	return NULL;
}

static void
run_round(struct worker *worker, struct round_result *result)
{
	memset(result, 0, sizeof(*result));
	for (unsigned b = 0; b < PAIR_BLOCKS; b++) {
		result->pair_ns[b] = wayland_peer_time_pairs_ns(worker->buffer, PAIRS_PER_BLOCK);
	}
	/* What one kind leaves in the cache helps or hinders the next: the
	 * samples go through every order of the kinds in turn, so that each
	 * kind comes first, second and last, after each other kind, as often. */
	static const enum frame_kind orders[FRAME_ORDER_COUNT][FRAME_KIND_COUNT] = {
		{FRAME_COPY, FRAME_COMPOSITE, FRAME_MEMCPY},
		{FRAME_COPY, FRAME_MEMCPY, FRAME_COMPOSITE},
		{FRAME_COMPOSITE, FRAME_COPY, FRAME_MEMCPY},
		{FRAME_COMPOSITE, FRAME_MEMCPY, FRAME_COPY},
		{FRAME_MEMCPY, FRAME_COPY, FRAME_COMPOSITE},
		{FRAME_MEMCPY, FRAME_COMPOSITE, FRAME_COPY},
	};
	for (unsigned s = 0; s < FRAME_SAMPLES; s++) {
		for (unsigned k = 0; k < FRAME_KIND_COUNT; k++) {
			enum frame_kind kind = orders[s % FRAME_ORDER_COUNT][k];
			result->frame_us[kind][s] = time_frame_us(worker, kind);
		}
	}
	const char *wrong = check_results(worker);
	if (wrong != NULL) {
		result->failed = 1;
		snprintf(result->message, sizeof(result->message), "%s", wrong);
	}
}

/* Set up, say hello on @p out, then run a round per 'r' read from @p in
 * until 'q' or end of file. */
static int
worker_main(int in, int out)
{
	struct worker worker = {.memfd = -1};
	struct worker_hello hello = {0};
	Dl_info info;
	void *begin_access = (void *)(uintptr_t)&wl_shm_buffer_begin_access;
	if (dladdr(begin_access, &info) != 0 && info.dli_fname != NULL) {
		snprintf(hello.served_by, sizeof(hello.served_by), "%s", info.dli_fname);
	} else {
		snprintf(hello.served_by, sizeof(hello.served_by), "(unknown)");
	}

	worker.memfd = sample_pattern_memfd("bench-preload", SIZE);
	if (worker.memfd < 0) {
		snprintf(hello.message, sizeof(hello.message), "memfd: %s", strerror(errno));
		goto err_hello;
	}
	worker.peer = wayland_peer_create(worker.memfd, WIDTH, HEIGHT, WL_SHM_FORMAT_XRGB8888);
	if (worker.peer == NULL) {
		snprintf(hello.message, sizeof(hello.message),
			"no wl_shm buffer (the reason is on stderr)");
		goto err_hello;
	}
	worker.buffer = wayland_peer_get_buffer(worker.peer);
	if (wl_shm_buffer_get_width(worker.buffer) != WIDTH ||
		wl_shm_buffer_get_height(worker.buffer) != HEIGHT ||
		wl_shm_buffer_get_stride(worker.buffer) != STRIDE ||
		wl_shm_buffer_get_format(worker.buffer) != WL_SHM_FORMAT_XRGB8888) {
		snprintf(hello.message, sizeof(hello.message),
			"wl_shm_buffer_get_width/height/stride/format say %dx%d stride %d "
			"format %u, not %dx%d stride %d format %u",
			wl_shm_buffer_get_width(worker.buffer),
			wl_shm_buffer_get_height(worker.buffer),
			wl_shm_buffer_get_stride(worker.buffer),
			wl_shm_buffer_get_format(worker.buffer), WIDTH, HEIGHT, STRIDE,
			WL_SHM_FORMAT_XRGB8888);
		goto err_hello;
	}
	worker.plain = mmap(NULL, SIZE, PROT_READ, MAP_SHARED, worker.memfd, 0);
	worker.copy = aligned_alloc(64, SIZE);
	if (worker.plain == MAP_FAILED || worker.copy == NULL) {
		snprintf(hello.message, sizeof(hello.message), "mmap/aligned_alloc: %s",
			strerror(errno));
		goto err_hello;
	}
	memset(worker.copy, 0x40, SIZE);
#ifdef BENCH_HAVE_PIXMAN
	worker.target_bits = aligned_alloc(64, SIZE);
	if (worker.target_bits == NULL) {
		snprintf(
			hello.message, sizeof(hello.message), "aligned_alloc: %s", strerror(errno));
		goto err_hello;
	}
	memset(worker.target_bits, 0x40, SIZE);
	worker.target = pixman_image_create_bits(
		PIXMAN_a8r8g8b8, WIDTH, HEIGHT, worker.target_bits, STRIDE);
#endif
	if (write_all(out, &hello, sizeof(hello)) != 0) {
		return 1;
	}

	static struct round_result result;
	char command;
	while (read_all(in, &command, 1) == 0 && command == 'r') {
		run_round(&worker, &result);
		if (write_all(out, &result, sizeof(result)) != 0) {
			return 1;
		}
	}
	/* Tear down as a compositor would; a crash here is a finding too. */
#ifdef BENCH_HAVE_PIXMAN
	pixman_image_unref(worker.target);
	free(worker.target_bits);
#endif
	free(worker.copy);
	munmap((void *)(uintptr_t)worker.plain, SIZE);
	wayland_peer_destroy(worker.peer);
	close(worker.memfd);
	return 0;

err_hello:
	hello.failed = 1;
	write_all(out, &hello, sizeof(hello));
	return 1;
}

/* ---- the coordinator ---- */

struct worker_process {
	enum variant variant;
	pid_t pid;
	int commands; /* write end: the worker's stdin */
	int answers; /* read end: the worker's stdout */
	struct worker_hello hello;
};

/* The environment of a worker: this one's, with LD_PRELOAD naming the
 * preload first for the preload's worker. */
static char **
worker_environment(enum variant variant, const char *preload)
{
	size_t count = 0;
	while (environ[count] != NULL) {
		count++;
	}
	char **env = calloc(count + 3, sizeof(*env));
	if (env == NULL) {
		return NULL;
	}
	const char *outer_preload = getenv("LD_PRELOAD");
	size_t used = 0;
	for (size_t i = 0; i < count; i++) {
		if (strncmp(environ[i], "LD_PRELOAD=", 11) != 0 &&
			strncmp(environ[i], "ASAN_OPTIONS=", 13) != 0) {
			env[used++] = environ[i];
		}
	}
	char *value = NULL;
	if (variant == VARIANT_PRELOAD) {
		if (asprintf(&value, "LD_PRELOAD=%s%s%s", preload, outer_preload ? " " : "",
			    outer_preload ? outer_preload : "") < 0) {
			free(env);
			return NULL;
		}
	} else if (outer_preload != NULL) {
		if (asprintf(&value, "LD_PRELOAD=%s", outer_preload) < 0) {
			free(env);
			return NULL;
		}
	}
	if (value != NULL) {
		env[used++] = value;
	}
	/* In a sanitizer build the preload comes before libasan (as in the
	 * preload's own tests); ASAN_OPTIONS means nothing to other builds. */
	const char *asan = getenv("ASAN_OPTIONS");
	char *asan_value = NULL;
	if (asprintf(&asan_value, "ASAN_OPTIONS=%s%sverify_asan_link_order=0", asan ? asan : "",
		    asan ? ":" : "") >= 0) {
		env[used++] = asan_value;
	}
	return env;
}

static int
worker_start(struct worker_process *process, const char *preload)
{
	int commands[2], answers[2];
	if (pipe2(commands, O_CLOEXEC) != 0) {
		return -1;
	}
	if (pipe2(answers, O_CLOEXEC) != 0) {
		close(commands[0]);
		close(commands[1]);
		return -1;
	}
	char **env = worker_environment(process->variant, preload);
	char *const argv[] = {
		"bench-preload", "--worker", (char *)variant_names[process->variant], NULL};
	process->pid = env != NULL ? fork() : -1;
	if (process->pid == 0) {
		/* This process ignores SIGPIPE (below); the worker need not. */
		signal(SIGPIPE, SIG_DFL);
		if (dup2(commands[0], STDIN_FILENO) < 0 || dup2(answers[1], STDOUT_FILENO) < 0) {
			_exit(127);
		}
		execve("/proc/self/exe", argv, env);
		fprintf(stderr, "bench-preload: exec /proc/self/exe: %s\n", strerror(errno));
		_exit(127);
	}
	/* Only the strings this function made are freed: the rest are environ's. */
	if (env != NULL) {
		for (size_t i = 0; env[i] != NULL; i++) {
			if (strncmp(env[i], "LD_PRELOAD=", 11) == 0 ||
				strncmp(env[i], "ASAN_OPTIONS=", 13) == 0) {
				free(env[i]);
			}
		}
		free(env);
	}
	close(commands[0]);
	close(answers[1]);
	process->commands = commands[1];
	process->answers = answers[0];
	if (process->pid < 0) {
		close(process->commands);
		close(process->answers);
		return -1;
	}
	return 0;
}

/* How a worker that stopped answering ended, for the report. */
static void
worker_report_death(struct worker_process *process)
{
	int status = 0;
	close(process->commands);
	close(process->answers);
	if (waitpid(process->pid, &status, 0) != process->pid) {
		fprintf(stderr, "bench-preload: the %s worker stopped answering\n",
			variant_names[process->variant]);
	} else if (WIFSIGNALED(status)) {
		fprintf(stderr, "bench-preload: the %s worker was killed by signal %d (%s)\n",
			variant_names[process->variant], WTERMSIG(status),
			strsignal(WTERMSIG(status)));
	} else {
		fprintf(stderr, "bench-preload: the %s worker exited with status %d\n",
			variant_names[process->variant], WEXITSTATUS(status));
	}
	process->pid = -1;
}

static int
worker_round(struct worker_process *process, struct round_result *result)
{
	if (write_all(process->commands, "r", 1) != 0 ||
		read_all(process->answers, result, sizeof(*result)) != 0) {
		worker_report_death(process);
		return -1;
	}
	if (result->failed) {
		fprintf(stderr, "bench-preload: the %s worker: %s\n",
			variant_names[process->variant], result->message);
		return -1;
	}
	return 0;
}

/* Ask a worker to finish; 0 if it exited cleanly. */
static int
worker_stop(struct worker_process *process)
{
	if (process->pid <= 0) {
		return -1;
	}
	int ret = 0;
	if (write_all(process->commands, "q", 1) != 0) {
		ret = -1;
	}
	close(process->commands);
	close(process->answers);
	int status = 0;
	if (waitpid(process->pid, &status, 0) != process->pid || !WIFEXITED(status) ||
		WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench-preload: the %s worker did not exit cleanly (%s %d)\n",
			variant_names[process->variant], WIFSIGNALED(status) ? "signal" : "status",
			WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		ret = -1;
	}
	return ret;
}

/* All samples of one measurement, per variant, in the order of the
 * process pairs that took them. */
struct measurement {
	const char *title;
	const char *unit;
	size_t per_round;
	unsigned processes;
	unsigned rounds; /* per pair of processes */
	double *samples[VARIANT_COUNT];
};

static int
measurement_init(struct measurement *m, const char *title, const char *unit, size_t per_round,
	unsigned processes, unsigned rounds)
{
	*m = (struct measurement){
		.title = title,
		.unit = unit,
		.per_round = per_round,
		.processes = processes,
		.rounds = rounds,
	};
	for (int v = 0; v < VARIANT_COUNT; v++) {
		m->samples[v] = calloc(per_round * rounds * processes, sizeof(double));
		if (m->samples[v] == NULL) {
			return -1;
		}
	}
	return 0;
}

static void
measurement_add(struct measurement *m, enum variant variant, unsigned pair, unsigned round,
	const double *values)
{
	size_t at = ((size_t)pair * m->rounds + round) * m->per_round;
	memcpy(&m->samples[variant][at], values, m->per_round * sizeof(double));
}

/* Print one line: the medians over all samples, the median of the ratios
 * each pair of processes measured (the two saw the same machine) and
 * their quartiles. */
static void
measurement_print(struct measurement *m)
{
	size_t per_pair = m->per_round * m->rounds;
	double *ratios = calloc(m->processes, sizeof(double));
	struct sample_stats ratio = {0};
	if (ratios != NULL) {
		for (unsigned p = 0; p < m->processes; p++) {
			double pair_median[VARIANT_COUNT];
			for (int v = 0; v < VARIANT_COUNT; v++) {
				pair_median[v] =
					sample_stats_of(&m->samples[v][p * per_pair], per_pair)
						.median;
			}
			ratios[p] = pair_median[VARIANT_PRELOAD] / pair_median[VARIANT_LIBWAYLAND];
		}
		ratio = sample_stats_of(ratios, m->processes);
		free(ratios);
	}
	/* On a copy: the samples stay in the order of the pairs. */
	double medians[VARIANT_COUNT] = {0};
	double *all = calloc(per_pair * m->processes, sizeof(double));
	for (int v = 0; v < VARIANT_COUNT && all != NULL; v++) {
		memcpy(all, m->samples[v], per_pair * m->processes * sizeof(double));
		medians[v] = sample_stats_of(all, per_pair * m->processes).median;
	}
	free(all);
	int decimals = strcmp(m->unit, "ns") == 0 ? 2 : 1;
	printf("%-46s %9.*f %s %9.*f %s %7.3f  %.3f-%.3f\n", m->title, decimals,
		medians[VARIANT_LIBWAYLAND], m->unit, decimals, medians[VARIANT_PRELOAD], m->unit,
		ratio.median, ratio.q1, ratio.q3);
}

/* Print one line for @p m in units of @p reference, both measured by the
 * same process: where a process's memory lies weighs on both alike. Per
 * pair of processes, each variant's median of @p m over its median of
 * @p reference; printed: the medians of those over the pairs, and the
 * median and quartiles of their ratios preload / libwayland. */
static void
measurement_print_relative(struct measurement *m, struct measurement *reference, const char *title)
{
	size_t per_pair = m->per_round * m->rounds;
	double *relative[VARIANT_COUNT], *ratios = calloc(m->processes, sizeof(double));
	for (int v = 0; v < VARIANT_COUNT; v++) {
		relative[v] = calloc(m->processes, sizeof(double));
	}
	if (ratios == NULL || relative[VARIANT_LIBWAYLAND] == NULL ||
		relative[VARIANT_PRELOAD] == NULL) {
		goto err_alloc;
	}
	for (unsigned p = 0; p < m->processes; p++) {
		for (int v = 0; v < VARIANT_COUNT; v++) {
			double ours =
				sample_stats_of(&m->samples[v][p * per_pair], per_pair).median;
			double base =
				sample_stats_of(&reference->samples[v][p * per_pair], per_pair)
					.median;
			relative[v][p] = ours / base;
		}
		ratios[p] = relative[VARIANT_PRELOAD][p] / relative[VARIANT_LIBWAYLAND][p];
	}
	struct sample_stats ratio = sample_stats_of(ratios, m->processes);
	printf("%-46s %12.3f %12.3f %7.3f  %.3f-%.3f\n", title,
		sample_stats_of(relative[VARIANT_LIBWAYLAND], m->processes).median,
		sample_stats_of(relative[VARIANT_PRELOAD], m->processes).median, ratio.median,
		ratio.q1, ratio.q3);
err_alloc:
	free(ratios);
	for (int v = 0; v < VARIANT_COUNT; v++) {
		free(relative[v]);
	}
}

static void
measurement_finish(struct measurement *m)
{
	for (int v = 0; v < VARIANT_COUNT; v++) {
		free(m->samples[v]);
	}
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: bench-preload PRELOAD.so [--processes N] [--rounds N] [--quick]\n"
		"libwayland-server's wl_shm against libshmguard-preload's, each in a\n"
		"process of its own, alternating; medians and ratios preload/libwayland.\n"
		"  --processes N  pairs of worker processes, one pair after the other\n"
		"                 (default %u)\n"
		"  --rounds N     measured rounds per pair, after a warm-up (default %u)\n"
		"  --quick        %u pairs of %u rounds\n",
		PROCESSES_DEFAULT, ROUNDS_DEFAULT, PROCESSES_QUICK, ROUNDS_QUICK);
}

struct bench {
	const char *preload;
	unsigned processes;
	unsigned rounds; /* per pair of processes */
	struct measurement pairs;
	struct measurement frames[FRAME_KIND_COUNT];
};

/* Start both workers and check that each is served by what it is named
 * after. */
static int
workers_start(struct worker_process workers[VARIANT_COUNT], const char *preload)
{
	for (int v = 0; v < VARIANT_COUNT; v++) {
		if (worker_start(&workers[v], preload) != 0) {
			fprintf(stderr, "bench-preload: starting the %s worker: %s\n",
				variant_names[v], strerror(errno));
			return -1;
		}
		if (read_all(workers[v].answers, &workers[v].hello, sizeof(workers[v].hello)) !=
			0) {
			worker_report_death(&workers[v]);
			return -1;
		}
		if (workers[v].hello.failed) {
			fprintf(stderr, "bench-preload: the %s worker: %s\n", variant_names[v],
				workers[v].hello.message);
			return -1;
		}
	}
	bool preload_serves =
		strstr(workers[VARIANT_PRELOAD].hello.served_by, "shmguard-preload") != NULL;
	bool libwayland_serves =
		strstr(workers[VARIANT_LIBWAYLAND].hello.served_by, "libwayland-server") != NULL;
	if (!preload_serves || !libwayland_serves) {
		fprintf(stderr,
			"bench-preload: wl_shm_buffer_begin_access resolves to %s (libwayland "
			"worker) and %s (preload worker), not to libwayland-server and the "
			"preload\n",
			workers[VARIANT_LIBWAYLAND].hello.served_by,
			workers[VARIANT_PRELOAD].hello.served_by);
		return -1;
	}
	return 0;
}

/* One pair of worker processes: a warm-up round, then the rounds, the
 * two taking turns in ABBA order. */
static int
run_process_pair(struct bench *bench, unsigned pair)
{
	struct worker_process workers[VARIANT_COUNT] = {
		{.variant = VARIANT_LIBWAYLAND, .pid = -1},
		{.variant = VARIANT_PRELOAD, .pid = -1},
	};
	int ret = -1;
	if (workers_start(workers, bench->preload) != 0) {
		goto err_workers;
	}
	if (pair == 0) {
		for (int v = 0; v < VARIANT_COUNT; v++) {
			printf("  %-10s  wl_shm_buffer_begin_access is in %s\n", variant_names[v],
				workers[v].hello.served_by);
		}
		printf("\n");
	}
	static struct round_result result;
	for (unsigned r = 0; r <= bench->rounds; r++) {
		for (int turn = 0; turn < VARIANT_COUNT; turn++) {
			/* ABBA, each pair starting with the other side. */
			bool forward = (r + pair) % 2 == 0;
			enum variant v = (enum variant)(forward ? turn : VARIANT_COUNT - 1 - turn);
			if (worker_round(&workers[v], &result) != 0) {
				goto err_workers;
			}
			if (r == 0) {
				continue; /* the warm-up */
			}
			measurement_add(&bench->pairs, v, pair, r - 1, result.pair_ns);
			for (int k = 0; k < FRAME_KIND_COUNT; k++) {
				measurement_add(
					&bench->frames[k], v, pair, r - 1, result.frame_us[k]);
			}
		}
	}
	ret = 0;

err_workers:
	for (int v = 0; v < VARIANT_COUNT; v++) {
		if (workers[v].pid > 0 && worker_stop(&workers[v]) != 0) {
			ret = -1;
		}
	}
	return ret;
}

static int
parse_count(const char *option, const char *text, unsigned min, unsigned max, unsigned *count)
{
	char *end;
	errno = 0;
	unsigned long value = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || value < min || value > max) {
		fprintf(stderr, "bench-preload: %s needs %u..%u, not '%s'\n", option, min, max,
			text);
		return -1;
	}
	*count = (unsigned)value;
	return 0;
}

static int
coordinator_main(int argc, char **argv)
{
	struct bench bench = {.processes = PROCESSES_DEFAULT, .rounds = ROUNDS_DEFAULT};
	static const struct option options[] = {
		{"processes", required_argument, NULL, 'p'},
		{"rounds", required_argument, NULL, 'r'},
		{"quick", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int option;
	while ((option = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (option) {
		case 'p':
			if (parse_count("--processes", optarg, 1, PROCESSES_MAX,
				    &bench.processes) != 0) {
				return 2;
			}
			break;
		case 'r':
			if (parse_count("--rounds", optarg, 1, ROUNDS_MAX, &bench.rounds) != 0) {
				return 2;
			}
			break;
		case 'q':
			bench.processes = PROCESSES_QUICK;
			bench.rounds = ROUNDS_QUICK;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return 2;
	}
	bench.preload = argv[optind];
	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A worker that died is reported from waitpid(), not by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (access(bench.preload, R_OK) != 0) {
		printf("bench-preload: skipped: no preload at %s (%s)\n", bench.preload,
			strerror(errno));
		return 77;
	}

	char copy_title[64], memcpy_title[64];
	snprintf(copy_title, sizeof(copy_title), "begin, memcpy %zu KiB from get_data, end",
		SIZE / 1024);
	snprintf(memcpy_title, sizeof(memcpy_title), "memcpy %zu KiB, plain mapping (reference)",
		SIZE / 1024);
	const char *frame_titles[FRAME_KIND_COUNT] = {
		[FRAME_COPY] = copy_title,
		[FRAME_COMPOSITE] = "begin, pixman OVER 1920x1080 from get_data, end",
		[FRAME_MEMCPY] = memcpy_title,
	};
	int failed = measurement_init(&bench.pairs, "begin_access + end_access pair", "ns",
		PAIR_BLOCKS, bench.processes, bench.rounds);
	for (int k = 0; k < FRAME_KIND_COUNT; k++) {
		failed |= measurement_init(&bench.frames[k], frame_titles[k], "us", FRAME_SAMPLES,
			bench.processes, bench.rounds);
	}
	if (failed) {
		fprintf(stderr, "bench-preload: out of memory\n");
		return 1;
	}

	printf("bench-preload: a %dx%d XRGB8888 buffer (%zu bytes) in a memfd pool, made by an\n"
	       "in-process libwayland-client, read through libwayland-server's wl_shm API as a\n"
	       "compositor does, in two kinds of worker process that take turns:\n",
		WIDTH, HEIGHT, SIZE);
	printf("%u pairs of processes, one pair after the other (a process's layout in memory\n"
	       "weighs on its figures); each pair does a warm-up round, then %u rounds in ABBA\n"
	       "order; a round is %u blocks of %u begin+end pairs and %u samples of each\n"
	       "whole-buffer kind; %ld CPUs online, nothing pinned\n",
		bench.processes, bench.rounds, PAIR_BLOCKS, PAIRS_PER_BLOCK, FRAME_SAMPLES,
		sysconf(_SC_NPROCESSORS_ONLN));

	int status = 1;
	uint64_t started = sample_now_ns();
	for (unsigned pair = 0; pair < bench.processes; pair++) {
		if (run_process_pair(&bench, pair) != 0) {
			goto err_measurements;
		}
	}
	double elapsed_s = (double)(sample_now_ns() - started) / 1e9;

	printf("%-46s %12s %12s %7s  %s\n", "measurement (median)", "libwayland", "preload",
		"ratio", "q1-q3");
	measurement_print(&bench.pairs);
	measurement_print(&bench.frames[FRAME_COPY]);
#ifdef BENCH_HAVE_PIXMAN
	measurement_print(&bench.frames[FRAME_COMPOSITE]);
#else
	printf("%-46s %12s %12s\n", "begin, pixman composite, end", "not built", "(no pixman)");
#endif
	measurement_print(&bench.frames[FRAME_MEMCPY]);
	printf("\n%-46s %12s %12s %7s  %s\n", "in units of the same process's plain memcpy",
		"libwayland", "preload", "ratio", "q1-q3");
	measurement_print_relative(&bench.frames[FRAME_COPY], &bench.frames[FRAME_MEMCPY],
		"begin, memcpy from get_data, end");
#ifdef BENCH_HAVE_PIXMAN
	measurement_print_relative(&bench.frames[FRAME_COMPOSITE], &bench.frames[FRAME_MEMCPY],
		"begin, pixman OVER from get_data, end");
#endif
	printf("\n(libwayland, preload: medians over all samples; ratio: preload / libwayland, the\n"
	       "median of the ratios of the medians each pair of processes measured, q1-q3 their\n"
	       "quartiles. The reference runs the same code in both processes: its ratio is the\n"
	       "noise between processes, which the second table takes out by dividing, in each\n"
	       "process, by its own memcpy. Every round checked the copy and the composite\n"
	       "against the client's bytes. %.1f s)\n",
		elapsed_s);
	status = 0;

err_measurements:
	measurement_finish(&bench.pairs);
	for (int k = 0; k < FRAME_KIND_COUNT; k++) {
		measurement_finish(&bench.frames[k]);
	}
	return status;
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--worker") == 0) {
		return worker_main(STDIN_FILENO, STDOUT_FILENO);
	}
	return coordinator_main(argc, argv);
}

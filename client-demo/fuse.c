/*
 * client-demo fuse: the client that hands over a file on its own FUSE
 * mount, whose daemon (a thread of this client) never answers a read, or
 * with --stall all, once the file is open, neither its attributes nor
 * statfs. A compositor that maps the file and reads it, or only fstat()s
 * it, sleeps in the kernel until the daemon answers; one that vets the
 * file first refuses it with wl_shm.invalid_fd. The mode reports which.
 *
 * As root the file system is mounted directly; otherwise libfuse mounts
 * it through the setuid fusermount3, as any user may.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wayland-client.h>

#include "demo.h"
#include "stall_fs.h"

/* The file's size, given to create_pool without asking the file. */
#define FILE_SIZE (4u << 20)
#define WINDOW_WIDTH 200
#define WINDOW_HEIGHT 150

struct fuse_demo {
	struct client client;
	struct client_window window;
	struct stall_fs *fs;
	pthread_t daemon;
	bool daemon_running;
	char mountpoint[PATH_MAX];
	int timeout_ms;
};

static void *
run_daemon(void *data)
{
	struct stall_fs *fs = data;
	int ret = stall_fs_run(fs);
	if (ret < 0) {
		fprintf(stderr, "fuse: the FUSE daemon stopped: %s\n", strerror(-ret));
	}
	return NULL;
}

/* Mount the file system in a new directory and start its daemon thread. */
static bool
mount_stall_fs(struct fuse_demo *demo, enum stall_fs_mode mode)
{
	const char *parent = getenv("XDG_RUNTIME_DIR");
	snprintf(demo->mountpoint, sizeof(demo->mountpoint), "%s/client-demo-fuse-XXXXXX",
		parent != NULL ? parent : "/tmp");
	if (mkdtemp(demo->mountpoint) == NULL) {
		fprintf(stderr, "fuse: mkdtemp %s: %s\n", demo->mountpoint, strerror(errno));
		demo->mountpoint[0] = '\0';
		return false;
	}
	demo->fs = stall_fs_create(demo->mountpoint, mode, FILE_SIZE);
	if (demo->fs == NULL) {
		fprintf(stderr, "fuse: cannot mount a FUSE file system at %s: %s\n",
			demo->mountpoint, strerror(errno));
		return false;
	}
	int ret = pthread_create(&demo->daemon, NULL, run_daemon, demo->fs);
	if (ret != 0) {
		fprintf(stderr, "fuse: cannot start the daemon thread: %s\n", strerror(ret));
		return false;
	}
	demo->daemon_running = true;
	printf("fuse: our FUSE daemon (type fuse.stall-fs, %s stall) serves %s\n",
		stall_fs_mode_to_str(mode), stall_fs_file_path(demo->fs));
	return true;
}

/* Answer what the daemon holds with EIO (which frees a compositor waiting
 * on it), unmount, remove the directory. */
static void
unmount_stall_fs(struct fuse_demo *demo)
{
	if (demo->daemon_running) {
		stall_fs_stop(demo->fs);
		pthread_join(demo->daemon, NULL);
		printf("fuse: daemon stopped: %llu requests held until now, answered EIO\n",
			(unsigned long long)stall_fs_held_count(demo->fs));
	}
	stall_fs_destroy(demo->fs);
	if (demo->mountpoint[0] != '\0') {
		rmdir(demo->mountpoint);
	}
}

/* The pool over our FUSE file, a buffer of it committed to the window. */
static int
send_file(struct fuse_demo *demo)
{
	const char *path = stall_fs_file_path(demo->fs);
	/* Opening is answered in every mode; nothing here reads the file or
	 * asks its attributes, which would stop this thread too. */
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "fuse: open %s: %s\n", path, strerror(errno));
		return DEMO_EXIT_FAILURE;
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(demo->client.shm, fd, (int32_t)FILE_SIZE);
	close(fd);
	uint32_t stride = WINDOW_WIDTH * 4;
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(
		pool, 0, WINDOW_WIDTH, WINDOW_HEIGHT, (int32_t)stride, WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	client_window_commit(&demo->window, buffer);
	printf("fuse: sent it to wl_shm.create_pool (%u bytes) and committed a buffer of it\n",
		FILE_SIZE);
	fflush(stdout);

	int64_t start = client_now_ms();
	int ret = client_dispatch_until(&demo->client, &demo->window.frame_done, demo->timeout_ms);
	int status;
	if (ret < 0) {
		status = demo_report_disconnect(&demo->client, true);
		if (status == DEMO_EXIT_OK) {
			printf("fuse: refused after %lld ms, without a wait on our daemon\n",
				(long long)(client_now_ms() - start));
		}
	} else if (ret == 1) {
		printf("fuse: the compositor showed the buffer (%llu requests held)\n",
			(unsigned long long)stall_fs_held_count(demo->fs));
		status = DEMO_EXIT_STILL_CONNECTED;
	} else if ((ret = client_roundtrip(&demo->client, 1000)) == 0) {
		printf("fuse: no answer from the compositor for %d ms: it waits on our FUSE "
		       "daemon (%llu requests held)\n",
			demo->timeout_ms + 1000, (unsigned long long)stall_fs_held_count(demo->fs));
		status = DEMO_EXIT_NO_ANSWER;
	} else if (ret < 0) {
		status = demo_report_disconnect(&demo->client, true);
	} else {
		printf("fuse: still connected, buffer not shown after %d ms\n", demo->timeout_ms);
		status = DEMO_EXIT_STILL_CONNECTED;
	}
	wl_buffer_destroy(buffer);
	return status;
}

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: client-demo fuse [--stall data|all] [--timeout SECONDS]\n"
		"Hand the compositor a 4 MiB file on our own FUSE mount whose daemon never\n"
		"answers reads (data) or, once the file is open, also getattr and statfs\n"
		"(all), and report what the compositor did (waits at most SECONDS, 3).\n"
		"Exit status: 0 refused with wl_shm.invalid_fd, 1 no FUSE here or another\n"
		"failure, 3 another protocol error, 4 connection lost, 5 still connected,\n"
		"7 no answer from the compositor: it waits on our daemon (released at exit).\n");
}

int
mode_fuse(int argc, char **argv)
{
	static const struct option options[] = {
		{"stall", required_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	enum stall_fs_mode mode = STALL_FS_DATA;
	double timeout = 3.0;
	int opt;
	while ((opt = getopt_long(argc, argv, "s:t:h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			/* A flush stall would stop this client's own close(). */
			if (stall_fs_mode_from_str(optarg, &mode) < 0 || mode == STALL_FS_FLUSH) {
				usage(stderr);
				return DEMO_EXIT_USAGE;
			}
			break;
		case 't':
			timeout = strtod(optarg, NULL);
			break;
		case 'h':
			usage(stdout);
			return DEMO_EXIT_OK;
		default:
			usage(stderr);
			return DEMO_EXIT_USAGE;
		}
	}
	if (timeout <= 0 || timeout > 600 || optind != argc) {
		usage(stderr);
		return DEMO_EXIT_USAGE;
	}

	static struct fuse_demo demo;
	demo.timeout_ms = (int)(timeout * 1000);
	int status = demo_connect(&demo.client, "fuse");
	if (status != DEMO_EXIT_OK) {
		return status;
	}
	if (demo.client.shm == NULL || demo.client.compositor == NULL ||
		demo.client.wm_base == NULL) {
		fprintf(stderr,
			"fuse: the compositor lacks wl_shm, wl_compositor or xdg_wm_base\n");
		client_disconnect(&demo.client);
		return DEMO_EXIT_FAILURE;
	}
	if (!mount_stall_fs(&demo, mode)) {
		status = DEMO_EXIT_FAILURE;
		goto out;
	}
	status = demo_window_open(
		&demo.client, &demo.window, "client-demo fuse", WINDOW_WIDTH, WINDOW_HEIGHT, true);
	if (status == DEMO_EXIT_OK) {
		status = send_file(&demo);
	}
	printf("fuse: result: %s (exit %d)\n",
		status == DEMO_EXIT_OK ? "refused with wl_shm.invalid_fd"
				       : demo_exit_to_str(status),
		status);
	fflush(stdout);
	client_window_finish(&demo.window);
out:
	unmount_stall_fs(&demo);
	client_disconnect(&demo.client);
	return status;
}

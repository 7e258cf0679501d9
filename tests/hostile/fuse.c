/*
 * hostile-client: pools over files that are not memory, such as a file on
 * a FUSE mount whose daemon (the client's own, in real life; the test's
 * stall-fs here) never answers. The compositor must refuse such a file
 * without touching it; one that reads a page, or only fstat()s it, waits
 * in the kernel for as long as the daemon likes.
 *
 * The file is named by its path: this client speaks Wayland only and
 * leaves the FUSE daemon to the test. With --overlay it first stacks an
 * overlayfs over the file's directory in a mount namespace of its own, as
 * an unprivileged client can (in a user namespace), and hands over the
 * overlay's file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wayland-client.h>

#include "hostile.h"

/* The file's size is given, never asked for: fstat() on a stalling
 * FUSE file would stop this client too. */
#define DEFAULT_FILE_SIZE (4 << 20)

static int
write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		return -errno;
	}
	ssize_t n = write(fd, text, strlen(text));
	int ret = n == (ssize_t)strlen(text) ? 0 : -errno;
	close(fd);
	return ret;
}

/*
 * A mount namespace of our own whose mounts do not propagate back. Not
 * root: in a new user namespace, mapped to root in it, as any user can
 * (where the kernel allows unprivileged user namespaces).
 */
static int
enter_private_mount_namespace(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	if (unshare(CLONE_NEWNS | (uid != 0 ? CLONE_NEWUSER : 0)) != 0) {
		perror("hostile-client: unshare");
		return -1;
	}
	if (uid != 0) {
		char map[64];
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
		int ret = write_text("/proc/self/uid_map", map);
		if (ret == 0) {
			ret = write_text("/proc/self/setgroups", "deny");
		}
		snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
		if (ret == 0) {
			ret = write_text("/proc/self/gid_map", map);
		}
		if (ret != 0) {
			fprintf(stderr, "hostile-client: user namespace maps: %s\n",
				strerror(-ret));
			return -1;
		}
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		perror("hostile-client: mount --make-rprivate /");
		return -1;
	}
	return 0;
}

/*
 * Open @p path through a read-only overlayfs whose lower layers are the
 * file's directory and an empty one, in our own mount namespace. The
 * overlay is detached again once the file is open (the fd keeps it), and
 * its directories removed, so nothing is left behind. Read-only: opening
 * for writing would copy the file up, which reads it in this client.
 */
static int
open_through_overlay(const char *path)
{
	char lower[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (slash == NULL || (size_t)(slash - path) >= sizeof(lower)) {
		fprintf(stderr, "hostile-client: --overlay needs a path with a directory\n");
		return -1;
	}
	memcpy(lower, path, (size_t)(slash - path));
	lower[slash - path] = '\0';

	if (enter_private_mount_namespace() != 0) {
		return -1;
	}
	char base[] = "/tmp/hostile-overlay-XXXXXX";
	if (mkdtemp(base) == NULL) {
		perror("hostile-client: mkdtemp");
		return -1;
	}
	char empty[sizeof(base) + 8], merged[sizeof(base) + 8], file[PATH_MAX];
	char options[2 * PATH_MAX + 32];
	snprintf(empty, sizeof(empty), "%s/empty", base);
	snprintf(merged, sizeof(merged), "%s/merged", base);
	snprintf(file, sizeof(file), "%s%s", merged, slash);
	snprintf(options, sizeof(options), "lowerdir=%s:%s", lower, empty);
	int fd = -1;
	if (mkdir(empty, 0700) != 0 || mkdir(merged, 0700) != 0) {
		perror("hostile-client: mkdir");
		goto out;
	}
	if (mount("overlay", merged, "overlay", MS_RDONLY, options) != 0) {
		fprintf(stderr, "hostile-client: mount -t overlay -o %s %s: %s\n", options, merged,
			strerror(errno));
		goto out;
	}
	printf("overlay mounted over %s in a private mount namespace\n", lower);
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "hostile-client: open %s: %s\n", file, strerror(errno));
	}
	umount2(merged, MNT_DETACH);
out:
	rmdir(merged);
	rmdir(empty);
	rmdir(base);
	return fd;
}

/*
 * file-pool PATH [--size BYTES] [--read-only] [--overlay] [--keep-fd]: a
 * pool over the file at PATH (opened read-write unless told otherwise),
 * then a buffer from it shown. --keep-fd: our fd stays open to the end,
 * for a daemon that holds the flush every close() sends (our exit then
 * waits for the daemon, not our attack).
 */
static int
attack_file_pool(struct hostile *hostile, int argc, char **argv)
{
	int64_t size = DEFAULT_FILE_SIZE;
	bool read_only = false, overlay = false, keep_fd = false;
	if (argc < 1) {
		return HOSTILE_EXIT_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--size") == 0 && i + 1 < argc &&
			hostile_parse_int(argv[i + 1], HOSTILE_BUFFER_SIZE, INT32_MAX, &size)) {
			i++;
		} else if (strcmp(argv[i], "--read-only") == 0) {
			read_only = true;
		} else if (strcmp(argv[i], "--overlay") == 0) {
			overlay = true;
		} else if (strcmp(argv[i], "--keep-fd") == 0) {
			keep_fd = true;
		} else {
			return HOSTILE_EXIT_USAGE;
		}
	}
	/* The window first: its configure must not wait behind the pool. */
	struct client_window window;
	int ret = hostile_window_create(hostile, &window);
	if (ret != 0) {
		return ret;
	}
	int fd = overlay ? open_through_overlay(argv[0])
			 : open(argv[0], (read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
	if (fd < 0) {
		if (!overlay) {
			fprintf(stderr, "hostile-client: open %s: %s\n", argv[0], strerror(errno));
		}
		return HOSTILE_EXIT_FAILURE;
	}
	struct wl_shm_pool *pool = wl_shm_create_pool(hostile->client.shm, fd, (int32_t)size);
	/* Closing a FUSE file sends a flush, which stall-fs answers unless
	 * it stalls flushes; the kept fd is closed by our exit. */
	if (!keep_fd) {
		close(fd);
	}
	hostile_print_created(pool);
	printf("sent %s%s for a pool of %lld bytes\n", argv[0],
		overlay ? " through an overlay" : "", (long long)size);
	ret = hostile_roundtrip(hostile);
	if (ret < 0) {
		return hostile_report_failure(hostile);
	}
	if (ret == 0) {
		printf("no answer to create_pool within %d ms\n", hostile->timeout_ms);
		return HOSTILE_EXIT_TIMEOUT;
	}
	printf("create_pool accepted; showing a buffer from it\n");
	struct wl_buffer *buffer = wl_shm_pool_create_buffer(
		pool, 0, HOSTILE_WIDTH, HOSTILE_HEIGHT, HOSTILE_STRIDE, WL_SHM_FORMAT_XRGB8888);
	hostile_print_created(buffer);
	client_window_commit(&window, buffer);
	ret = hostile_window_wait_frame(hostile, &window);
	if (ret != 0 && ret != HOSTILE_EXIT_TIMEOUT) {
		return ret;
	}
	return hostile_finish(hostile);
}

const struct hostile_attack hostile_file_attacks[] = {
	{"file-pool", "PATH [--size BYTES] [--read-only] [--overlay] [--keep-fd]",
		"a pool over the file at PATH (4 MiB; --overlay: through an overlayfs of our own)",
		attack_file_pool},
	{NULL, NULL, NULL, NULL},
};

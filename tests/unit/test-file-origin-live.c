/*
 * What backs a client's file, on real mounts: as root, in a mount
 * namespace of the test's own, a memfd, tmpfs and ramfs files, a file on
 * the disk the build directory is on, overlayfs, ext4 on a loop device,
 * a mount of another namespace, and FUSE files whose daemon never answers
 * reads (and, in the second variant, getattr and statfs), directly and
 * under overlayfs. Each verdict is asked for in a child process that the
 * test waits for only so long: a check that reaches the FUSE daemon
 * freezes the child (no signal frees it), and the test fails instead of
 * hanging, then frees it by stopping the daemon.
 *
 * Skipped, with the reason, when not root or /dev/fuse is unusable (the
 * FUSE cases), or when mkfs.ext4 is missing (the loop case).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <shmguard/shmguard.h>

#include "src/file_origin.h"

#include "stall-fs-mount.h"

/* How long a verdict may take, and how long the test waits for one. A
 * verdict that reaches a FUSE daemon never comes. */
#define VERDICT_LIMIT_MS 2000
#define VERDICT_WAIT_MS 5000
/* stall-fs ends by itself after this, whatever happens to the test. */
#define STALL_FS_WATCHDOG_S 50

struct verdict {
	enum shmguard_pool_error vet;
	enum shmguard_pool_error create;
	enum file_backing backing;
	bool sealable;
	char fs_type[64];
	char reason[256];
	long elapsed_ms;
};

struct child {
	pid_t pid;
	int pipe;
};

static long
ms_since(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

/* In a child: vet @p fd, then make a pool of it (the public path), as
 * uid 65534 if @p other_user; write the verdict to the parent. */
static struct child
vet_start(int fd, const struct shmguard_file_policy *policy, bool other_user)
{
	int pipe_fds[2];
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(pipe_fds[0]);
		if (other_user && (setgid(65534) != 0 || setuid(65534) != 0)) {
			_exit(3);
		}
		struct verdict v = {0};
		struct timespec start;
		clock_gettime(CLOCK_MONOTONIC, &start);
		struct file_origin origin;
		v.vet = file_origin_vet(fd, policy, &origin);
		v.backing = origin.backing;
		v.sealable = origin.sealable;
		snprintf(v.fs_type, sizeof(v.fs_type), "%s", origin.fs_type);
		file_origin_describe(&origin, v.vet, v.reason, sizeof(v.reason));
		struct shmguard_pool *pool =
			shmguard_pool_create_with_policy(fd, 4096, NULL, policy, &v.create);
		shmguard_pool_unref(pool);
		v.elapsed_ms = ms_since(&start);
		_exit(write(pipe_fds[1], &v, sizeof(v)) == (ssize_t)sizeof(v) ? 0 : 4);
	}
	close(pipe_fds[1]);
	return (struct child){pid, pipe_fds[0]};
}

/* Wait for the child's verdict. Returns false if none came in time (the
 * child is left running: the caller frees it, then reaps it). */
static bool
vet_wait(struct child *child, struct verdict *v)
{
	struct pollfd pfd = {.fd = child->pipe, .events = POLLIN};
	bool answered = poll(&pfd, 1, VERDICT_WAIT_MS) == 1 &&
		read(child->pipe, v, sizeof(*v)) == (ssize_t)sizeof(*v);
	close(child->pipe);
	child->pipe = -1;
	return answered;
}

static void
child_reap(struct child *child)
{
	if (child->pid > 0) {
		kill(child->pid, SIGKILL);
		waitpid(child->pid, NULL, 0);
		child->pid = -1;
	}
}

/* The verdict on @p fd, failing the test if it did not come in time. */
static void
vet(int fd, const struct shmguard_file_policy *policy, bool other_user, struct verdict *v)
{
	struct child child = vet_start(fd, policy, other_user);
	bool answered = vet_wait(&child, v);
	child_reap(&child);
	if (!answered) {
		fail_msg("no verdict within %d ms", VERDICT_WAIT_MS);
	}
	print_message("    %s: %s (%ld ms)\n", shmguard_pool_error_to_str(v->vet), v->reason,
		v->elapsed_ms);
	assert_true(v->elapsed_ms < VERDICT_LIMIT_MS);
}

static void
assert_refused(const struct verdict *v, enum shmguard_pool_error error)
{
	if (v->vet != error || v->create != error) {
		fail_msg("vetted \"%s\", pool \"%s\"; expected \"%s\"",
			shmguard_pool_error_to_str(v->vet), shmguard_pool_error_to_str(v->create),
			shmguard_pool_error_to_str(error));
	}
}

static void
assert_accepted(const struct verdict *v)
{
	if (v->vet != SHMGUARD_POOL_OK || v->create != SHMGUARD_POOL_OK) {
		fail_msg("vetted \"%s\" (%s), pool \"%s\"", shmguard_pool_error_to_str(v->vet),
			v->reason, shmguard_pool_error_to_str(v->create));
	}
}

/* ------------------------------------------------------------------ */
/* Mounts of the test's own                                            */
/* ------------------------------------------------------------------ */

static char scratch[64];

static void
skip_unless_root(void)
{
	if (geteuid() != 0) {
		print_message("skipped: not root (mounting needs it)\n");
		skip();
	}
}

/* A directory @p name under the scratch tmpfs. */
static char *
scratch_dir(const char *name)
{
	char *path;
	assert_true(asprintf(&path, "%s/%s", scratch, name) > 0);
	mkdir(path, 0755);
	return path;
}

/* A 64 KiB file at @p path, opened read-write. */
static int
file_create(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 65536), 0);
	return fd;
}

static int
group_setup(void **state)
{
	if (geteuid() != 0) {
		return 0;
	}
	int ret = private_mount_namespace();
	if (ret != 0) {
		print_message("no private mount namespace: %s\n", strerror(-ret));
		return -1;
	}
	snprintf(scratch, sizeof(scratch), "/tmp/shmguard-live-XXXXXX");
	if (mkdtemp(scratch) == NULL || mount("scratch", scratch, "tmpfs", 0, "size=64m") != 0) {
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	if (scratch[0] != '\0') {
		umount2(scratch, MNT_DETACH);
		rmdir(scratch);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Memory, disk, overlay, loop                                         */
/* ------------------------------------------------------------------ */

static void
memfd_is_memory(void **state)
{
	int fd = memfd_create("live", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 65536), 0);
	struct verdict v;
	vet(fd, NULL, false, &v);
	assert_accepted(&v);
	assert_int_equal(v.backing, FILE_BACKING_MEMORY);
	assert_true(v.sealable);
	/* Memory-only accepts it too. */
	struct shmguard_file_policy memory = {.accept = SHMGUARD_FILE_ACCEPT_MEMORY};
	vet(fd, &memory, false, &v);
	assert_accepted(&v);
	close(fd);
}

static void
tmpfs_and_ramfs_are_memory(void **state)
{
	skip_unless_root();
	char *path;
	assert_true(asprintf(&path, "%s/file", scratch) > 0);
	int fd = file_create(path);
	struct verdict v;
	vet(fd, NULL, false, &v);
	assert_accepted(&v);
	/* A tmpfs file has seals (F_SEAL_SEAL): stopped there. */
	assert_true(v.sealable);
	close(fd);
	free(path);

	/* ramfs has no seals: found by its mount. */
	char *dir = scratch_dir("ramfs");
	assert_int_equal(mount("live-ramfs", dir, "ramfs", 0, NULL), 0);
	assert_true(asprintf(&path, "%s/file", dir) > 0);
	fd = file_create(path);
	vet(fd, NULL, false, &v);
	assert_accepted(&v);
	assert_false(v.sealable);
	assert_string_equal(v.reason, "file on a ramfs file system: memory-backed");
	struct shmguard_file_policy memory = {.accept = SHMGUARD_FILE_ACCEPT_MEMORY};
	vet(fd, &memory, false, &v);
	assert_accepted(&v);
	close(fd);
	umount2(dir, MNT_DETACH);
	free(path);
	free(dir);
}

/* The build directory's disk (meson runs tests there), whatever this
 * machine has there: the verdict must match what statfs() (safe on our own
 * disk) says it is. Not the directory of /proc/self/exe: in a chroot that
 * link shows the path outside it. */
static void
disk_file(void **state)
{
	char cwd[512];
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	char *path;
	assert_true(asprintf(&path, "%s/file-origin-live-XXXXXX", cwd) > 0);
	int fd = mkstemp(path);
	if (fd < 0) {
		print_message("skipped: cannot make a file in the working directory (%s): %s\n",
			path, strerror(errno));
		free(path);
		skip();
	}
	unlink(path);
	free(path);
	assert_int_equal(ftruncate(fd, 65536), 0);
	struct statfs sfs;
	struct stat st;
	assert_int_equal(fstatfs(fd, &sfs), 0);
	assert_int_equal(fstat(fd, &st), 0);

	struct verdict v;
	vet(fd, NULL, false, &v);
	switch ((unsigned long)sfs.f_type) {
	case 0xef53: /* ext2, ext3, ext4 */
	case 0x58465342: /* xfs */
		assert_true(strcmp(v.fs_type, "ext4") == 0 || strcmp(v.fs_type, "ext3") == 0 ||
			strcmp(v.fs_type, "ext2") == 0 || strcmp(v.fs_type, "xfs") == 0);
		if (major(st.st_dev) == 7) {
			assert_refused(&v, SHMGUARD_POOL_ERROR_FS_DEVICE);
		} else {
			/* Not a loop device: a disk (a VM's virtio disk, NVMe,
			 * SATA, or dm on them). */
			assert_accepted(&v);
			assert_int_equal(v.backing, FILE_BACKING_LOCAL_DISK);
		}
		break;
	case 0x9123683e: /* btrfs */
		assert_string_equal(v.fs_type, "btrfs");
		assert_true(v.vet != SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED);
		break;
	case 0x01021994: /* tmpfs */
		assert_accepted(&v);
		break;
	case 0x794c7630: /* overlayfs, as in a container */
		assert_refused(&v, SHMGUARD_POOL_ERROR_FS_STACKED);
		break;
	default:
		print_message(
			"    (file system 0x%lx: no expectation)\n", (unsigned long)sfs.f_type);
		break;
	}
	if (v.vet == SHMGUARD_POOL_OK) {
		struct shmguard_file_policy memory = {.accept = SHMGUARD_FILE_ACCEPT_MEMORY};
		vet(fd, &memory, false, &v);
		assert_refused(&v, SHMGUARD_POOL_ERROR_FS_NOT_MEMORY);
	}
	close(fd);
}

static void
overlay_is_refused(void **state)
{
	skip_unless_root();
	char *lower = scratch_dir("lower");
	char *upper = scratch_dir("upper");
	char *work = scratch_dir("work");
	char *merged = scratch_dir("merged");
	char *path;
	assert_true(asprintf(&path, "%s/file", lower) > 0);
	close(file_create(path));
	free(path);
	char *options;
	assert_true(
		asprintf(&options, "lowerdir=%s,upperdir=%s,workdir=%s", lower, upper, work) > 0);
	if (mount("live-overlay", merged, "overlay", 0, options) != 0) {
		print_message("skipped: overlayfs: %s\n", strerror(errno));
		skip();
	}
	assert_true(asprintf(&path, "%s/file", merged) > 0);
	/* Read-only, so that nothing is copied up to tmpfs. */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct verdict v;
	vet(fd, NULL, false, &v);
	assert_refused(&v, SHMGUARD_POOL_ERROR_FS_STACKED);
	assert_string_equal(v.fs_type, "overlay");
	/* Named by the policy: accepted. */
	const char *const types[] = {"overlay"};
	struct shmguard_file_policy named = {.extra_fs_types = types, .extra_fs_types_len = 1};
	vet(fd, &named, false, &v);
	assert_accepted(&v);
	close(fd);
	umount2(merged, MNT_DETACH);
	free(path);
	free(options);
	free(lower);
	free(upper);
	free(work);
	free(merged);
}

/* A free loop device set up over @p image; returns its fd (or -errno).
 * It is cleared when the last user lets go: keep the fd open until the
 * device is mounted. */
static int
loop_attach(int image, char *device, size_t size)
{
	int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (control < 0) {
		return -errno;
	}
	int ret = -EBUSY;
	/* Other processes may take the free device first: try again. */
	for (int attempt = 0; attempt < 10 && ret == -EBUSY; attempt++) {
		int number = ioctl(control, LOOP_CTL_GET_FREE);
		if (number < 0) {
			ret = -errno;
			break;
		}
		snprintf(device, size, "/dev/loop%d", number);
		int loop = open(device, O_RDWR | O_CLOEXEC);
		if (loop < 0) {
			ret = -errno;
			break;
		}
		struct loop_config config = {.fd = (unsigned)image};
		config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		if (ioctl(loop, LOOP_CONFIGURE, &config) == 0) {
			ret = loop;
		} else {
			ret = -errno;
			close(loop);
		}
	}
	close(control);
	return ret;
}

static void
ext4_on_loop_is_refused(void **state)
{
	skip_unless_root();
	if (system("command -v mkfs.ext4 >/dev/null 2>&1") != 0) {
		print_message("skipped: no mkfs.ext4 (Debian package e2fsprogs)\n");
		skip();
	}
	char *image;
	assert_true(asprintf(&image, "%s/ext4.img", scratch) > 0);
	int image_fd = file_create(image);
	assert_int_equal(ftruncate(image_fd, 8 << 20), 0);
	char *command;
	assert_true(asprintf(&command, "mkfs.ext4 -q -F '%s' >/dev/null 2>&1", image) > 0);
	assert_int_equal(system(command), 0);
	free(command);
	char device[32];
	int loop = loop_attach(image_fd, device, sizeof(device));
	close(image_fd);
	if (loop < 0) {
		print_message("skipped: no loop device: %s\n", strerror(-loop));
		skip();
	}
	char *dir = scratch_dir("ext4");
	int ret = mount(device, dir, "ext4", 0, NULL);
	int err = errno;
	close(loop);
	if (ret != 0) {
		fail_msg("mount %s: %s", device, strerror(err));
	}
	char *path;
	assert_true(asprintf(&path, "%s/file", dir) > 0);
	int fd = file_create(path);
	struct verdict v;
	vet(fd, NULL, false, &v);
	assert_refused(&v, SHMGUARD_POOL_ERROR_FS_DEVICE);
	assert_string_equal(v.fs_type, "ext4");
	assert_non_null(strstr(v.reason, "a loop device"));
	assert_non_null(strstr(v.reason, device + strlen("/dev/")));
	close(fd);
	/* Unmounting detaches the loop device (autoclear). */
	umount2(dir, 0);
	free(path);
	free(dir);
	free(image);
}

/* A ramfs mounted in a namespace of a child's own, its file sent back:
 * the mount is not in ours, so what backs the file cannot be told. */
static void
other_namespace_is_unidentified(void **state)
{
	skip_unless_root();
	int pair[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	char dir[96];
	snprintf(dir, sizeof(dir), "%s/elsewhere", scratch);
	assert_int_equal(mkdir(dir, 0755), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* No heap here: the child ends with _exit(). */
		char path[128];
		snprintf(path, sizeof(path), "%s/file", dir);
		if (private_mount_namespace() != 0 ||
			mount("elsewhere", dir, "ramfs", 0, NULL) != 0) {
			_exit(1);
		}
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		char byte = 0;
		struct iovec iov = {.iov_base = &byte, .iov_len = 1};
		char control[CMSG_SPACE(sizeof(int))] = {0};
		struct msghdr msg = {.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = control,
			.msg_controllen = sizeof(control)};
		struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
		_exit(fd >= 0 && sendmsg(pair[1], &msg, 0) == 1 ? 0 : 1);
	}
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	char control[CMSG_SPACE(sizeof(int))] = {0};
	struct msghdr msg = {.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = control,
		.msg_controllen = sizeof(control)};
	assert_int_equal(recvmsg(pair[0], &msg, MSG_CMSG_CLOEXEC), 1);
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	int fd;
	memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(int));
	struct verdict v;
	vet(fd, NULL, false, &v);
	assert_refused(&v, SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED);
	assert_non_null(strstr(v.reason, "not in the compositor's mount namespace"));
	close(fd);
	close(pair[0]);
	close(pair[1]);
	rmdir(dir);
}

struct leaderless {
	int fd;
	int pipe;
};

static void *
vet_on_thread(void *arg)
{
	const struct leaderless *job = arg;
	/* Let the main thread be gone first. */
	usleep(50000);
	enum shmguard_pool_error verdict = shmguard_file_vet(job->fd, NULL, NULL, 0);
	_exit(write(job->pipe, &verdict, sizeof(verdict)) == (ssize_t)sizeof(verdict) ? 0 : 1);
}

/* A compositor whose main thread has exited (pthread_exit()) still vets
 * files from its other threads: /proc/self is the main thread's view, and
 * gone with it. */
static void
vet_after_main_thread_exits(void **state)
{
	char path[] = "/var/tmp/shmguard-leaderless-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		print_message("skipped: no file in /var/tmp: %s\n", strerror(errno));
		skip();
	}
	unlink(path);
	enum shmguard_pool_error expected = shmguard_file_vet(fd, NULL, NULL, 0);
	assert_true(expected != SHMGUARD_POOL_ERROR_FS_UNIDENTIFIED);
	int pipe_fds[2];
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static struct leaderless job;
		job = (struct leaderless){fd, pipe_fds[1]};
		pthread_t thread;
		if (pthread_create(&thread, NULL, vet_on_thread, &job) != 0) {
			_exit(2);
		}
		pthread_exit(NULL);
	}
	close(pipe_fds[1]);
	enum shmguard_pool_error verdict = SHMGUARD_POOL_ERROR_NO_MEMORY;
	struct pollfd pfd = {.fd = pipe_fds[0], .events = POLLIN};
	bool answered = poll(&pfd, 1, VERDICT_WAIT_MS) == 1 &&
		read(pipe_fds[0], &verdict, sizeof(verdict)) == (ssize_t)sizeof(verdict);
	close(pipe_fds[0]);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	close(fd);
	assert_true(answered);
	if (verdict != expected) {
		fail_msg(
			"from a thread of a process without its main thread: \"%s\", expected \"%s\"",
			shmguard_pool_error_to_str(verdict), shmguard_pool_error_to_str(expected));
	}
}

/* Pipes and sockets are on no visible mount either: their own errors. */
static void
kernel_objects_keep_their_errors(void **state)
{
	int pair[2];
	assert_int_equal(pipe2(pair, O_CLOEXEC), 0);
	struct verdict v;
	vet(pair[0], NULL, false, &v);
	assert_refused(&v, SHMGUARD_POOL_ERROR_PIPE);
	close(pair[0]);
	close(pair[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
	vet(pair[0], NULL, false, &v);
	assert_refused(&v, SHMGUARD_POOL_ERROR_SOCKET);
	close(pair[0]);
	close(pair[1]);
}

/* ------------------------------------------------------------------ */
/* FUSE                                                                */
/* ------------------------------------------------------------------ */

static void
skip_unless_fuse(void)
{
	const char *why = stall_fs_unusable();
	if (why != NULL) {
		print_message("skipped: %s\n", why);
		skip();
	}
}

/* Vet the file the stall-fs daemon serves (opened, so that with "all"
 * its getattr and statfs stall), in time, as root and as another user;
 * through overlayfs too if @p overlay. The daemon is stopped before the
 * test can fail, which frees a child frozen on the file. */
static void
fuse_case(const char *mode, bool overlay)
{
	skip_unless_fuse();
	struct stall_fs_mount fuse;
	char why[256];
	if (stall_fs_mount_start(&fuse, mode, STALL_FS_WATCHDOG_S, why, sizeof(why)) != 0) {
		print_message("skipped: %s\n", why);
		skip();
	}
	char *merged = NULL;
	const char *path = fuse.file;
	if (overlay) {
		char *upper = scratch_dir("fuse-upper");
		char *work = scratch_dir("fuse-work");
		merged = scratch_dir("fuse-merged");
		char *options;
		assert_true(asprintf(&options, "lowerdir=%s,upperdir=%s,workdir=%s", fuse.dir,
				    upper, work) > 0);
		int ret = mount("live-overlay-fuse", merged, "overlay", 0, options);
		free(options);
		free(upper);
		free(work);
		if (ret != 0) {
			stall_fs_mount_stop(&fuse);
			print_message("skipped: overlayfs over FUSE: %s\n", strerror(errno));
			skip();
		}
		char *file;
		assert_true(asprintf(&file, "%s/pool", merged) > 0);
		path = file;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		stall_fs_mount_stop(&fuse);
		fail_msg("open %s: %s", path, strerror(errno));
	}

	struct verdict v[2];
	bool answered[2];
	for (int other_user = 0; other_user < 2; other_user++) {
		struct child child = vet_start(fd, NULL, other_user);
		answered[other_user] = vet_wait(&child, &v[other_user]);
		if (!answered[other_user]) {
			/* Frozen: free it by stopping the daemon, then fail. */
			stall_fs_mount_stop(&fuse);
		}
		child_reap(&child);
		if (!answered[other_user]) {
			break;
		}
	}
	close(fd);
	if (merged != NULL) {
		umount2(merged, MNT_DETACH);
		free((char *)path);
		free(merged);
	}
	stall_fs_mount_stop(&fuse);

	for (int other_user = 0; other_user < 2; other_user++) {
		if (!answered[other_user]) {
			fail_msg("no verdict within %d ms%s: vetting waited on the FUSE daemon",
				VERDICT_WAIT_MS, other_user ? " as another user" : "");
		}
		print_message("    %s: %s (%ld ms)\n",
			shmguard_pool_error_to_str(v[other_user].vet), v[other_user].reason,
			v[other_user].elapsed_ms);
		assert_true(v[other_user].elapsed_ms < VERDICT_LIMIT_MS);
		if (overlay) {
			assert_refused(&v[other_user], SHMGUARD_POOL_ERROR_FS_STACKED);
			assert_string_equal(v[other_user].reason,
				"file on an overlay file system: page reads go to another file "
				"system, which can wait on a user-space process");
		} else {
			assert_refused(&v[other_user], SHMGUARD_POOL_ERROR_FS_USER_SPACE);
			assert_string_equal(v[other_user].reason,
				"file on a fuse.stall-fs file system: page reads can wait on a "
				"user-space process");
		}
	}
}

/* The calls the vetting relies on, and those it must not make, each on
 * a stalled FUSE file in a child given VERDICT_WAIT_MS: what DESIGN.md
 * and file_origin.h record, measured again on this kernel. */
enum probe_call {
	PROBE_GETFL,
	PROBE_GET_SEALS,
	PROBE_FDINFO,
	PROBE_MOUNTINFO,
	PROBE_READLINK,
	PROBE_STATX_DONT_SYNC,
	PROBE_FSTAT,
	PROBE_FSTATFS,
	PROBE_COUNT,
};

static const char *const probe_names[PROBE_COUNT] = {
	"fcntl(F_GETFL)",
	"fcntl(F_GET_SEALS)",
	"read /proc/thread-self/fdinfo/N",
	"read /proc/thread-self/mountinfo",
	"readlink /proc/thread-self/fd/N",
	"statx(AT_STATX_DONT_SYNC, STATX_MNT_ID)",
	"fstat",
	"fstatfs",
};

/* Returns 0 or the errno of the call. */
static int
probe_call(int fd, enum probe_call call)
{
	char path[64];
	char text[4096];
	struct stat st;
	struct statfs sfs;
	struct statx stx;
	int file;
	switch (call) {
	case PROBE_GETFL:
		return fcntl(fd, F_GETFL) < 0 ? errno : 0;
	case PROBE_GET_SEALS:
		return fcntl(fd, F_GET_SEALS) < 0 ? errno : 0;
	case PROBE_FDINFO:
	case PROBE_MOUNTINFO:
		if (call == PROBE_FDINFO) {
			snprintf(path, sizeof(path), "/proc/thread-self/fdinfo/%d", fd);
		} else {
			snprintf(path, sizeof(path), "/proc/thread-self/mountinfo");
		}
		file = open(path, O_RDONLY | O_CLOEXEC);
		if (file < 0) {
			return errno;
		}
		while (read(file, text, sizeof(text)) > 0) {
		}
		close(file);
		return 0;
	case PROBE_READLINK:
		snprintf(path, sizeof(path), "/proc/thread-self/fd/%d", fd);
		return readlink(path, text, sizeof(text)) < 0 ? errno : 0;
	case PROBE_STATX_DONT_SYNC:
		return statx(fd, "", AT_EMPTY_PATH | AT_STATX_DONT_SYNC, STATX_MNT_ID, &stx) != 0
			? errno
			: 0;
	case PROBE_FSTAT:
		return fstat(fd, &st) != 0 ? errno : 0;
	case PROBE_FSTATFS:
		return fstatfs(fd, &sfs) != 0 ? errno : 0;
	case PROBE_COUNT:
		break;
	}
	return ENOSYS;
}

/* Whether @p call on @p fd was answered in time, and how (@p result). A
 * child that is not answered is left frozen: @p fuse is stopped then,
 * which frees it, and the test goes on without FUSE. */
static bool
probe_in_child(int fd, enum probe_call call, bool other_user, int *result)
{
	int pipe_fds[2];
	assert_int_equal(pipe2(pipe_fds, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (other_user && (setgid(65534) != 0 || setuid(65534) != 0)) {
			_exit(3);
		}
		int ret = probe_call(fd, call);
		_exit(write(pipe_fds[1], &ret, sizeof(ret)) == (ssize_t)sizeof(ret) ? 0 : 4);
	}
	close(pipe_fds[1]);
	struct pollfd pfd = {.fd = pipe_fds[0], .events = POLLIN};
	bool answered = poll(&pfd, 1, VERDICT_WAIT_MS / 5) == 1 &&
		read(pipe_fds[0], result, sizeof(*result)) == (ssize_t)sizeof(*result);
	close(pipe_fds[0]);
	struct child child = {pid, -1};
	if (answered) {
		child_reap(&child);
	} else {
		/* Reaped once the daemon has ended. */
		kill(pid, SIGKILL);
	}
	return answered;
}

static void
calls_on_a_stalled_fuse_file(void **state)
{
	skip_unless_fuse();
	struct stall_fs_mount fuse;
	char why[256];
	if (stall_fs_mount_start(&fuse, "all", STALL_FS_WATCHDOG_S, why, sizeof(why)) != 0) {
		print_message("skipped: %s\n", why);
		skip();
	}
	int fd = open(fuse.file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		stall_fs_mount_stop(&fuse);
		fail_msg("open %s: %s", fuse.file, strerror(errno));
	}
	bool answered[2][PROBE_COUNT];
	int result[2][PROBE_COUNT];
	for (int other_user = 0; other_user < 2; other_user++) {
		for (int call = 0; call < PROBE_COUNT; call++) {
			answered[other_user][call] =
				probe_in_child(fd, call, other_user, &result[other_user][call]);
		}
	}
	close(fd);
	stall_fs_mount_stop(&fuse);
	/* The children left frozen are free now: reap them. */
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	while (waitpid(-1, NULL, WNOHANG) >= 0 && ms_since(&start) < 2000) {
		usleep(10000);
	}
	for (int other_user = 0; other_user < 2; other_user++) {
		print_message("    as %s:\n", other_user ? "uid 65534" : "the mounter (root)");
		for (int call = 0; call < PROBE_COUNT; call++) {
			print_message("      %-42s %s%s\n", probe_names[call],
				answered[other_user][call] ? "answered: " : "no answer in 1 s",
				answered[other_user][call]
					? (result[other_user][call] == 0
							  ? "ok"
							  : strerror(result[other_user][call]))
					: "");
		}
	}
	/* What the vetting uses must be answered without the daemon. */
	for (int other_user = 0; other_user < 2; other_user++) {
		for (int call = PROBE_GETFL; call <= PROBE_READLINK; call++) {
			if (!answered[other_user][call]) {
				fail_msg("%s waited on the FUSE daemon", probe_names[call]);
			}
		}
		assert_int_equal(result[other_user][PROBE_GET_SEALS], EINVAL);
	}
}

static void
fuse_data_stall(void **state)
{
	fuse_case("data", false);
}

static void
fuse_metadata_stall(void **state)
{
	fuse_case("all", false);
}

static void
overlay_over_fuse(void **state)
{
	fuse_case("all", true);
}

/* ------------------------------------------------------------------ */
/* Closing aside                                                       */
/* ------------------------------------------------------------------ */

/* Threads of this process named "shmguard-close" that wait in the kernel
 * on a FUSE request (wchan request_wait_answer). */
static unsigned
closers_waiting_on_fuse(void)
{
	unsigned waiting = 0;
	char path[320];
	DIR *tasks = opendir("/proc/self/task");
	assert_non_null(tasks);
	struct dirent *task;
	while ((task = readdir(tasks)) != NULL) {
		if (task->d_name[0] == '.') {
			continue;
		}
		char comm[32] = "";
		char wchan[64] = "";
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", task->d_name);
		FILE *file = fopen(path, "re");
		if (file != NULL) {
			if (fgets(comm, sizeof(comm), file) == NULL) {
				comm[0] = '\0';
			}
			fclose(file);
		}
		snprintf(path, sizeof(path), "/proc/self/task/%s/wchan", task->d_name);
		file = fopen(path, "re");
		if (file != NULL) {
			if (fgets(wchan, sizeof(wchan), file) == NULL) {
				wchan[0] = '\0';
			}
			fclose(file);
		}
		if (strncmp(comm, "shmguard-close", 14) == 0 &&
			strstr(wchan, "request_wait_answer") != NULL) {
			waiting++;
		}
	}
	closedir(tasks);
	return waiting;
}

/* A memfd: closed on the calling thread, before shmguard_fd_close() returns. */
static void
close_aside_ordinary(void **state)
{
	for (int i = 0; i < 100; i++) {
		int fd = memfd_create("aside", MFD_CLOEXEC);
		assert_true(fd >= 0);
		shmguard_fd_close(fd);
		assert_int_equal(fcntl(fd, F_GETFD), -1);
		assert_int_equal(errno, EBADF);
	}
	shmguard_fd_close(-1);
}

/* A FUSE file whose daemon holds every flush: close() of any fd of it
 * waits on the daemon. shmguard_fd_close() returns after its short wait,
 * the next at once; the closer threads wait instead, and are freed when
 * the daemon answers. */
static void
close_aside_fuse_flush(void **state)
{
	skip_unless_fuse();
	if (valgrind_running()) {
		print_message("skipped: under valgrind a close() that waits stops every thread\n");
		skip();
	}
	struct stall_fs_mount fuse;
	char why[256];
	if (stall_fs_mount_start(&fuse, "flush", STALL_FS_WATCHDOG_S, why, sizeof(why)) != 0) {
		print_message("skipped: %s\n", why);
		skip();
	}
	int first = open(fuse.file, O_RDONLY | O_CLOEXEC);
	int second = open(fuse.file, O_RDONLY | O_CLOEXEC);
	if (first < 0 || second < 0) {
		stall_fs_mount_stop(&fuse);
		fail_msg("open %s: %s", fuse.file, strerror(errno));
	}
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	shmguard_fd_close(first);
	long first_ms = ms_since(&start);
	clock_gettime(CLOCK_MONOTONIC, &start);
	shmguard_fd_close(second);
	long second_ms = ms_since(&start);
	usleep(100000);
	/* The fd numbers are free although the closes wait: close() takes
	 * the fd out of the table before it flushes. */
	bool closed = fcntl(first, F_GETFD) == -1 && fcntl(second, F_GETFD) == -1;
	unsigned waiting = closers_waiting_on_fuse();
	stall_fs_mount_stop(&fuse);
	unsigned after = 0;
	for (int i = 0; i < 100; i++) {
		after = closers_waiting_on_fuse();
		if (after == 0) {
			break;
		}
		usleep(20000);
	}
	print_message("    closes returned in %ld and %ld ms; %u closer threads waited on "
		      "the daemon, %u after it ended\n",
		first_ms, second_ms, waiting, after);
	assert_true(closed);
	assert_true(first_ms < 500);
	assert_true(second_ms < 100);
	assert_int_equal(waiting, 2);
	assert_int_equal(after, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(memfd_is_memory),
		cmocka_unit_test(tmpfs_and_ramfs_are_memory),
		cmocka_unit_test(disk_file),
		cmocka_unit_test(overlay_is_refused),
		cmocka_unit_test(ext4_on_loop_is_refused),
		cmocka_unit_test(other_namespace_is_unidentified),
		cmocka_unit_test(kernel_objects_keep_their_errors),
		cmocka_unit_test(vet_after_main_thread_exits),
		cmocka_unit_test(calls_on_a_stalled_fuse_file),
		cmocka_unit_test(fuse_data_stall),
		cmocka_unit_test(fuse_metadata_stall),
		cmocka_unit_test(overlay_over_fuse),
		cmocka_unit_test(close_aside_ordinary),
		cmocka_unit_test(close_aside_fuse_flush),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

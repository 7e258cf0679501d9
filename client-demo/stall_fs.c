/*
 * stall-fs: a FUSE file system that holds requests unanswered. Built on
 * libfuse3's low-level API, whose requests (fuse_req_t) may be answered
 * at any later time: a held request is kept in a list and answered with
 * EIO when the file system stops. The loop is our own (poll on the FUSE
 * device and an eventfd) so that stopping needs no signal to the thread.
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "stall_fs.h"

#define FILE_INO 2

struct stall_fs {
	struct fuse_session *se;
	enum stall_fs_mode mode;
	uint64_t size;
	char *file_path;
	int stop_fd; /* eventfd: stall_fs_stop() writes, stall_fs_run() polls */
	bool mounted;
	bool opened; /* the file has been opened (STALL_FS_ALL starts holding) */
	/* Held requests, answered with EIO when the loop ends. */
	fuse_req_t *held;
	size_t held_len, held_cap;
	atomic_uint_fast64_t held_count;
};

const char *
stall_fs_mode_to_str(enum stall_fs_mode mode)
{
	switch (mode) {
	case STALL_FS_DATA:
		return "data";
	case STALL_FS_ALL:
		return "all";
	case STALL_FS_FLUSH:
		return "flush";
	}
	return "?";
}

int
stall_fs_mode_from_str(const char *name, enum stall_fs_mode *mode)
{
	for (enum stall_fs_mode m = STALL_FS_DATA; m <= STALL_FS_FLUSH; m++) {
		if (strcmp(name, stall_fs_mode_to_str(m)) == 0) {
			*mode = m;
			return 0;
		}
	}
	return -EINVAL;
}

/* Keep @p req unanswered. With no room to keep it, answer EIO at once:
 * a request we cannot hold must not be lost, or the caller would wait
 * forever even after stall_fs_stop(). */
static void
hold(struct stall_fs *fs, fuse_req_t req)
{
	if (fs->held_len == fs->held_cap) {
		size_t cap = fs->held_cap != 0 ? fs->held_cap * 2 : 16;
		fuse_req_t *held = realloc(fs->held, cap * sizeof(*held));
		if (held == NULL) {
			fuse_reply_err(req, EIO);
			return;
		}
		fs->held = held;
		fs->held_cap = cap;
	}
	fs->held[fs->held_len++] = req;
	atomic_fetch_add(&fs->held_count, 1);
}

static void
release_held(struct stall_fs *fs)
{
	for (size_t i = 0; i < fs->held_len; i++) {
		fuse_reply_err(fs->held[i], EIO);
	}
	fs->held_len = 0;
}

static void
fill_attr(const struct stall_fs *fs, fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = getuid();
	st->st_gid = getgid();
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0666;
		st->st_nlink = 1;
		st->st_size = (off_t)fs->size;
		st->st_blksize = 4096;
		st->st_blocks = (blkcnt_t)((fs->size + 511) / 512);
	}
}

static void
op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct stall_fs *fs = fuse_req_userdata(req);
	if (parent != FUSE_ROOT_ID || strcmp(name, STALL_FS_FILE_NAME) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* Timeouts 0: every lookup and every stat asks the daemon again. */
	struct fuse_entry_param entry = {
		.ino = FILE_INO,
		.generation = 1,
		.attr_timeout = 0.0,
		.entry_timeout = 0.0,
	};
	fill_attr(fs, FILE_INO, &entry.attr);
	fuse_reply_entry(req, &entry);
}

static void
op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stall_fs *fs = fuse_req_userdata(req);
	if (ino != FUSE_ROOT_ID && ino != FILE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (fs->mode != STALL_FS_DATA && fs->opened && ino == FILE_INO) {
		hold(fs, req);
		return;
	}
	struct stat st;
	fill_attr(fs, ino, &st);
	fuse_reply_attr(req, &st, 0.0);
}

static void
op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stall_fs *fs = fuse_req_userdata(req);
	if (ino != FILE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	/* Through the page cache (no direct_io), so that the file can be
	 * mapped and a mapped page is read in by a FUSE_READ. */
	fi->direct_io = 0;
	fi->keep_cache = 0;
	fs->opened = true;
	fuse_reply_open(req, fi);
}

static void
op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	/* Both modes: a page of the file is never read in. */
	hold(fuse_req_userdata(req), req);
}

static void
op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct stall_fs *fs = fuse_req_userdata(req);
	if (fs->mode != STALL_FS_DATA && fs->opened) {
		hold(fs, req);
		return;
	}
	struct statvfs st = {
		.f_bsize = 4096,
		.f_frsize = 4096,
		.f_blocks = (fs->size + 4095) / 4096,
		.f_files = 2,
		.f_namemax = 255,
	};
	fuse_reply_statfs(req, &st);
}

static void
op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stall_fs *fs = fuse_req_userdata(req);
	if (fs->mode == STALL_FS_FLUSH) {
		hold(fs, req);
		return;
	}
	/* Nothing to write back: the file's bytes are never stored. */
	fuse_reply_err(req, 0);
}

static const struct fuse_lowlevel_ops stall_fs_ops = {
	.lookup = op_lookup,
	.getattr = op_getattr,
	.open = op_open,
	.read = op_read,
	.statfs = op_statfs,
	.flush = op_flush,
};

struct stall_fs *
stall_fs_create(const char *mountpoint, enum stall_fs_mode mode, uint64_t size)
{
	struct stall_fs *fs = calloc(1, sizeof(*fs));
	if (fs == NULL) {
		return NULL;
	}
	fs->mode = mode;
	fs->size = size;
	fs->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fs->stop_fd < 0) {
		goto err_free;
	}
	if (asprintf(&fs->file_path, "%s/%s", mountpoint, STALL_FS_FILE_NAME) < 0) {
		fs->file_path = NULL;
		errno = ENOMEM;
		goto err_eventfd;
	}
	/* auto_unmount: fusermount3 stays beside us and unmounts when the
	 * FUSE device closes, so that a process killed without unmounting
	 * leaves no dead mount behind. The type becomes fuse.stall-fs. */
	char *argv[] = {
		"stall-fs",
		"-o",
		"fsname=stall-fs,subtype=stall-fs,auto_unmount",
		NULL,
	};
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	fs->se = fuse_session_new(&args, &stall_fs_ops, sizeof(stall_fs_ops), fs);
	fuse_opt_free_args(&args);
	if (fs->se == NULL) {
		errno = EINVAL;
		goto err_path;
	}
	if (fuse_session_mount(fs->se, mountpoint) != 0) {
		errno = EIO;
		goto err_session;
	}
	fs->mounted = true;
	return fs;

err_session:
	fuse_session_destroy(fs->se);
err_path:
	free(fs->file_path);
err_eventfd:
	close(fs->stop_fd);
err_free:
	free(fs);
	return NULL;
}

int
stall_fs_run(struct stall_fs *fs)
{
	struct fuse_buf buf = {.mem = NULL};
	int ret = 0;
	for (;;) {
		struct pollfd fds[] = {
			{.fd = fuse_session_fd(fs->se), .events = POLLIN},
			{.fd = fs->stop_fd, .events = POLLIN},
		};
		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			ret = -errno;
			break;
		}
		if (fds[1].revents != 0) {
			break;
		}
		if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			break; /* unmounted from outside */
		}
		if (fds[0].revents == 0) {
			continue;
		}
		int n = fuse_session_receive_buf(fs->se, &buf);
		if (n == -EINTR || n == -EAGAIN) {
			continue;
		}
		if (n <= 0) {
			/* 0 or -ENODEV: the file system was unmounted. */
			ret = n == 0 || n == -ENODEV ? 0 : n;
			break;
		}
		fuse_session_process_buf(fs->se, &buf);
	}
	free(buf.mem);
	release_held(fs);
	return ret;
}

void
stall_fs_stop(struct stall_fs *fs)
{
	uint64_t one = 1;
	/* A full counter already means "stop". */
	ssize_t n = write(fs->stop_fd, &one, sizeof(one));
	(void)n;
}

const char *
stall_fs_file_path(const struct stall_fs *fs)
{
	return fs->file_path;
}

uint64_t
stall_fs_held_count(const struct stall_fs *fs)
{
	return atomic_load(&fs->held_count);
}

void
stall_fs_destroy(struct stall_fs *fs)
{
	if (fs == NULL) {
		return;
	}
	release_held(fs);
	if (fs->mounted) {
		fuse_session_unmount(fs->se);
	}
	fuse_session_destroy(fs->se);
	free(fs->held);
	free(fs->file_path);
	close(fs->stop_fd);
	free(fs);
}

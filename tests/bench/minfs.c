/*
 * Benchmark baseline: the smallest libfuse3 low-level filesystem that
 * serves one file from memory, mounted and cached the way secprofd mounts
 * its version files, so the difference to secprofd is secprofd's own work.
 *
 * usage: minfs SOURCE MOUNTPOINT   (serves SOURCE's bytes as /profile.json)
 */
#define FUSE_USE_VERSION 312

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_INO 2
#define FILE_NAME "profile.json"
#define TIMEOUT 86400.0

static char *content;
static size_t content_len;
static struct timespec content_mtime;

static void fill_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mtim = content_mtime;
	st->st_ctim = content_mtime;
	st->st_atim = content_mtime;
	if (ino == FUSE_ROOT_ID) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = (off_t)content_len;
	}
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e;

	if (parent != FUSE_ROOT_ID || strcmp(name, FILE_NAME) != 0) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = FILE_INO;
	e.attr_timeout = TIMEOUT;
	e.entry_timeout = TIMEOUT;
	fill_stat(FILE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	struct stat st;

	if (ino != FUSE_ROOT_ID && ino != FILE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_stat(ino, &st);
	fuse_reply_attr(req, &st, TIMEOUT);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != FILE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	if ((size_t)off >= content_len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > content_len - (size_t)off)
		size = content_len - (size_t)off;
	fuse_reply_buf(req, content + off, size);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
	static const char *const names[] = {".", "..", FILE_NAME};
	char buf[512];
	size_t used = 0;
	struct stat st;
	off_t i;

	if (ino != FUSE_ROOT_ID) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	for (i = off; i < 3; i++) {
		size_t n;

		fill_stat(i == 2 ? FILE_INO : FUSE_ROOT_ID, &st);
		n = fuse_add_direntry(req, buf + used, sizeof(buf) - used,
		                      names[i], &st, i + 1);
		if (n > sizeof(buf) - used || used + n > size)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static const struct fuse_lowlevel_ops ops = {
        .lookup = op_lookup,
        .getattr = op_getattr,
        .open = op_open,
        .read = op_read,
        .readdir = op_readdir,
};

static int load(const char *path)
{
	struct stat st;
	FILE *f = fopen(path, "rb");

	if (f == NULL || fstat(fileno(f), &st) < 0) {
		fprintf(stderr, "minfs: '%s': %s\n", path, strerror(errno));
		return -1;
	}
	content_len = (size_t)st.st_size;
	content_mtime = st.st_mtim;
	content = malloc(content_len ? content_len : 1);
	if (content == NULL ||
	    fread(content, 1, content_len, f) != content_len) {
		fprintf(stderr, "minfs: cannot read '%s'\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	char *fuse_argv[] = {argv[0], "-o",
	                     "ro,default_permissions,allow_other,"
	                     "fsname=minfs,subtype=minfs",
	                     NULL};
	struct fuse_args args = FUSE_ARGS_INIT(3, fuse_argv);
	struct fuse_loop_config *loop;
	struct fuse_session *se;
	int rc = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: minfs SOURCE MOUNTPOINT\n");
		return 2;
	}
	if (load(argv[1]) < 0)
		return 1;

	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (se == NULL)
		goto out;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, argv[2]) != 0)
		goto out_signals;

	/* The same worker-thread limits as secprofd. */
	loop = fuse_loop_cfg_create();
	if (loop == NULL)
		goto out_unmount;
	fuse_loop_cfg_set_max_threads(loop, 16);
	fuse_loop_cfg_set_idle_threads(loop, 4);
	rc = fuse_session_loop_mt(se, loop) < 0;
	fuse_loop_cfg_destroy(loop);

out_unmount:
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out:
	fuse_opt_free_args(&args);
	free(content);
	return rc;
}

/* secprofd FUSE operations: the read-only tree and audited opens. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"
#include "log.h"
#include "opener.h"

static struct fs_daemon *daemon_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

struct store_index *fs_index_get(struct fs_daemon *d)
{
	struct store_index *idx;

	pthread_mutex_lock(&d->index_lock);
	idx = store_index_ref(d->index);
	pthread_mutex_unlock(&d->index_lock);
	return idx;
}

struct store_index *fs_index_swap(struct fs_daemon *d, struct store_index *idx)
{
	struct store_index *old;

	pthread_mutex_lock(&d->index_lock);
	old = d->index;
	d->index = idx;
	pthread_mutex_unlock(&d->index_lock);
	return old;
}

static struct fs_handle *handle_new(struct fs_daemon *d)
{
	struct fs_handle *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	pthread_mutex_lock(&d->handles_lock);
	h->next = d->handles;
	if (h->next != NULL)
		h->next->prev = h;
	d->handles = h;
	pthread_mutex_unlock(&d->handles_lock);
	return h;
}

static void handle_free(struct fs_daemon *d, struct fs_handle *h)
{
	pthread_mutex_lock(&d->handles_lock);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		d->handles = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&d->handles_lock);

	fs_content_unref(h->ct);
	if (h->idx != NULL)
		store_index_unref(h->idx);
	free(h);
}

void fs_handles_release_all(struct fs_daemon *d)
{
	while (d->handles != NULL)
		handle_free(d, d->handles);
}

static struct fs_handle *handle_of(const struct fuse_file_info *fi)
{
	return (struct fs_handle *)(uintptr_t)fi->fh;
}

static void index_unrefp(struct store_index **idx)
{
	if (*idx != NULL)
		store_index_unref(*idx);
}
#define _cleanup_index_ __attribute__((cleanup(index_unrefp)))

static void node_attr(struct fs_daemon *d, const struct store_node *n,
                      struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = n->ino;
	st->st_uid = 0;
	st->st_gid = 0;
	st->st_blksize = 4096;
	st->st_mtim.tv_sec = n->mtime;
	st->st_ctim.tv_sec = n->mtime;
	st->st_atim.tv_sec = n->mtime;

	switch (n->kind) {
	case STORE_NODE_DIR: {
		size_t i, subdirs = 0;

		for (i = 0; i < n->n_children; i++)
			subdirs += n->children[i]->kind == STORE_NODE_DIR;
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2 + subdirs;
		break;
	}
	case STORE_NODE_LINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = (off_t)strlen(n->target);
		break;
	case STORE_NODE_PROFILE:
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		if (n->format == STORE_FORMAT_JSON) {
			st->st_size = (off_t)n->promotion->size;
		} else {
			/* A .bpf file's size is its compiled length. */
			struct fs_content *ct = fs_content_for(d, n);

			if (ct != NULL && ct->err == 0)
				st->st_size = (off_t)ct->len;
			fs_content_unref(ct);
		}
		break;
	}
	st->st_blocks = (st->st_size + 511) / 512;
}

static void node_entry(struct fs_daemon *d, const struct store_node *n,
                       struct fuse_entry_param *e)
{
	double t = n->kind == STORE_NODE_PROFILE ? d->profile_timeout
	                                         : d->dir_timeout;

	memset(e, 0, sizeof(*e));
	e->ino = n->ino;
	e->generation = 1;
	e->attr_timeout = t;
	e->entry_timeout = t;
	node_attr(d, n, &e->attr);
}

/*
 * Absolute path of rel (below the mount point) and optionally of name
 * inside it, as an opener spelled it.
 */
static char *mount_path(struct fs_daemon *d, const char *rel, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s%s%s%s%s", d->mountpoint, rel[0] ? "/" : "", rel,
	             name ? "/" : "", name ? name : "") < 0)
		return NULL;
	return p;
}

static const char *format_name(enum store_format f)
{
	return f == STORE_FORMAT_BPF ? "bpf" : "json";
}

static void set_str(json_t *o, const char *key, const char *value)
{
	json_object_set_new(o, key, value ? json_string(value) : json_null());
}

static void add_opener(fuse_req_t req, json_t *body)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct opener o;

	opener_identify(&o, ctx->pid, ctx->uid, ctx->gid);
	opener_to_json(&o, body);
}

/* A pending reply: the request waits for its access record. */
struct pending {
	fuse_req_t req;
	struct fs_daemon *d;
	struct fuse_file_info fi;
	struct fs_content *ct; /* delivered on success, else NULL */
	int err;               /* errno to answer with when ct is NULL */
};

static void open_done(void *arg, int err)
{
	struct pending *p = arg;
	struct fs_handle *h = NULL;

	if (err == 0 && p->ct != NULL)
		h = handle_new(p->d);
	if (h != NULL) {
		h->ct = p->ct;
		p->fi.fh = (uintptr_t)h;
		p->fi.keep_cache = 1;
		p->fi.noflush = 1;
		if (fuse_reply_open(p->req, &p->fi) != 0)
			handle_free(p->d, h); /* the opener went away */
	} else {
		/* No durable record, or nothing to deliver: no bytes. */
		fs_content_unref(p->ct);
		fuse_reply_err(p->req,
		               err != 0 || p->ct != NULL ? EIO : p->err);
	}
	free(p);
}

static void submit(struct fs_daemon *d, struct pending *p, json_t *body)
{
	if (audit_log_submit(d->log, "open", body, open_done, p) != 0)
		open_done(p, -EIO);
}

/*
 * Service, version and format as a missing name spells them, for the
 * record of a failed lookup: "api@2.1.json" under "prod/payments" is
 * service payments/api, version 2.1, format json.
 */
static void describe_missing(const struct store_node *dir, const char *name,
                             json_t *body)
{
	const char *env = dir->env != NULL ? dir->env : name;
	const char *rel = "", *dot, *at;
	char *service = NULL;
	char *base;

	set_str(body, "env", env);
	if (dir->env == NULL) {
		json_object_set_new(body, "service", json_null());
		json_object_set_new(body, "version", json_null());
		json_object_set_new(body, "format", json_null());
		return;
	}

	/* dir->path is "<env>" or "<env>/<namespace>". */
	if (strlen(dir->path) > strlen(env))
		rel = dir->path + strlen(env) + 1;
	base = strdup(name);
	if (base == NULL)
		return;
	dot = strrchr(base, '.');
	if (dot != NULL && (!strcmp(dot, ".json") || !strcmp(dot, ".bpf"))) {
		set_str(body, "format", dot + 1);
		base[dot - base] = '\0';
	} else {
		json_object_set_new(body, "format", json_null());
	}
	at = strchr(base, '@');
	if (at != NULL)
		base[at - base] = '\0';
	if (asprintf(&service, "%s%s%s", rel, rel[0] ? "/" : "", base) < 0)
		service = NULL;
	set_str(body, "service", service);
	set_str(body, "version", at != NULL ? at + 1 : NULL);
	free(service);
	free(base);
}

static void lookup_missing(fuse_req_t req, struct fs_daemon *d,
                           const struct store_node *dir, const char *name)
{
	struct pending *p = calloc(1, sizeof(*p));
	json_t *body = json_object();
	char *path = mount_path(d, dir->path, name);

	if (p == NULL || body == NULL || path == NULL) {
		free(p);
		free(path);
		json_decref(body);
		fuse_reply_err(req, ENOENT);
		return;
	}
	p->req = req;
	p->d = d;
	p->err = ENOENT;

	set_str(body, "path", path);
	describe_missing(dir, name, body);
	json_object_set_new(body, "result", json_string("ENOENT"));
	json_object_set_new(body, "error", json_string("no such promotion"));
	add_opener(req, body);
	free(path);
	submit(d, p, body);
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fs_daemon *d = daemon_of(req);
	_cleanup_index_ struct store_index *idx = fs_index_get(d);
	const struct store_node *dir = store_index_find(idx, parent);
	const struct store_node *n;
	struct fuse_entry_param e;

	if (dir == NULL) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (dir->kind != STORE_NODE_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}

	n = store_node_child(dir, name);
	if (n == NULL) {
		lookup_missing(req, d, dir, name);
		return;
	}
	node_entry(d, n, &e);
	fuse_reply_entry(req, &e);
}

/*
 * An inode number that is not in the current snapshot belongs to a
 * promotion that vanished or moved to other content since the kernel looked
 * it up. ESTALE makes the kernel walk the path again, and so find the
 * current version or learn that none exists, rather than fail the call.
 */
static void op_getattr(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	struct fs_daemon *d = daemon_of(req);
	_cleanup_index_ struct store_index *idx = fs_index_get(d);
	const struct store_node *n = store_index_find(idx, ino);
	struct stat st;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	node_attr(d, n, &st);
	fuse_reply_attr(req, &st,
	                n->kind == STORE_NODE_PROFILE ? d->profile_timeout
	                                              : d->dir_timeout);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_daemon *d = daemon_of(req);
	_cleanup_index_ struct store_index *idx = fs_index_get(d);
	const struct store_node *n = store_index_find(idx, ino);

	if (n == NULL)
		fuse_reply_err(req, ENOENT);
	else if (n->kind != STORE_NODE_LINK)
		fuse_reply_err(req, EINVAL);
	else
		fuse_reply_readlink(req, n->target);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	struct fs_daemon *d = daemon_of(req);
	struct store_index *idx = fs_index_get(d);
	const struct store_node *n = store_index_find(idx, ino);
	struct fs_handle *h;

	/* An open directory lists the snapshot it was opened in. */
	if (n == NULL || n->kind != STORE_NODE_DIR) {
		store_index_unref(idx);
		fuse_reply_err(req, n == NULL ? ENOENT : ENOTDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		store_index_unref(idx);
		fuse_reply_err(req, EROFS);
		return;
	}
	h = handle_new(d);
	if (h == NULL) {
		store_index_unref(idx);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	h->idx = idx;
	h->dir = n;
	fi->fh = (uintptr_t)h;
	fi->cache_readdir = 0;
	fuse_reply_open(req, fi);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
                          struct fuse_file_info *fi)
{
	handle_free(daemon_of(req), handle_of(fi));
	fuse_reply_err(req, 0);
}

/*
 * Offsets: 1 is ".", 2 is "..", 3 + i is child i. An offset names the
 * entry after which to continue, so a resumed read never repeats one.
 */
static void readdir_common(fuse_req_t req, size_t size, off_t off,
                           struct fuse_file_info *fi, bool plus)
{
	struct fs_daemon *d = daemon_of(req);
	const struct store_node *dir = handle_of(fi)->dir;
	char *buf = malloc(size);
	size_t used = 0;
	off_t i;

	if (buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (i = off; i < (off_t)dir->n_children + 2; i++) {
		const struct store_node *n = NULL;
		const char *name;
		struct fuse_entry_param e;
		size_t len;

		if (i == 0) {
			name = ".";
		} else if (i == 1) {
			name = "..";
		} else {
			n = dir->children[i - 2];
			name = n->name;
		}

		if (n != NULL) {
			node_entry(d, n, &e);
		} else {
			memset(&e, 0, sizeof(e));
			e.attr.st_ino = i == 0 ? dir->ino : dir->parent;
			e.attr.st_mode = S_IFDIR;
		}

		if (plus) {
			/* "." and ".." carry no lookup reference. */
			if (n == NULL)
				e.ino = 0;
			len = fuse_add_direntry_plus(
			        req, buf + used, size - used, name, &e, i + 1);
		} else {
			len = fuse_add_direntry(req, buf + used, size - used,
			                        name, &e.attr, i + 1);
		}
		if (len > size - used)
			break;
		used += len;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
	readdir_common(req, size, off, fi, false);
}

static void op_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
                           off_t off, struct fuse_file_info *fi)
{
	readdir_common(req, size, off, fi, true);
}

static void open_record(fuse_req_t req, struct fs_daemon *d,
                        const struct store_node *n, struct fs_content *ct,
                        json_t *body)
{
	const struct store_promotion *pr = n->promotion;
	char *path = mount_path(d, n->path, NULL);

	set_str(body, "path", path);
	free(path);
	set_str(body, "env", pr->env);
	set_str(body, "service", pr->service);
	set_str(body, "version", pr->version);
	set_str(body, "format", format_name(n->format));
	set_str(body, "tag", pr->tag);
	set_str(body, "commit", pr->commit);
	set_str(body, "blob", pr->blob);
	if (ct != NULL && ct->err == 0) {
		set_str(body, "sha256", ct->sha256);
		json_object_set_new(body, "size",
		                    json_integer((json_int_t)ct->len));
		json_object_set_new(body, "result", json_string("ok"));
	} else {
		json_object_set_new(body, "sha256", json_null());
		json_object_set_new(body, "size", json_null());
		json_object_set_new(body, "result", json_string("EIO"));
		set_str(body, "error",
		        ct != NULL ? ct->error : "out of memory");
	}
	if (ct != NULL && ct->fields != NULL)
		json_object_update(body, ct->fields);
	add_opener(req, body);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fs_daemon *d = daemon_of(req);
	_cleanup_index_ struct store_index *idx = fs_index_get(d);
	const struct store_node *n = store_index_find(idx, ino);
	struct fs_content *ct;
	struct pending *p;
	json_t *body;

	if (n == NULL) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->kind == STORE_NODE_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if ((fi->flags & O_ACCMODE) != O_RDONLY ||
	    (fi->flags & (O_TRUNC | O_CREAT))) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (n->kind != STORE_NODE_PROFILE) {
		fuse_reply_err(req, ELOOP);
		return;
	}

	p = calloc(1, sizeof(*p));
	body = json_object();
	if (p == NULL || body == NULL) {
		free(p);
		json_decref(body);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	ct = fs_content_for(d, n);
	p->req = req;
	p->d = d;
	p->fi = *fi;
	p->err = EIO;
	open_record(req, d, n, ct, body);
	if (ct != NULL && ct->err == 0)
		p->ct = ct;
	else
		fs_content_unref(ct);
	submit(d, p, body);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	const struct fs_content *ct = handle_of(fi)->ct;

	if (off < 0 || (size_t)off >= ct->len) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (size > ct->len - (size_t)off)
		size = ct->len - (size_t)off;
	fuse_reply_buf(req, (const char *)ct->data + off, size);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
                       struct fuse_file_info *fi)
{
	handle_free(daemon_of(req), handle_of(fi));
	fuse_reply_err(req, 0);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct fs_daemon *d = daemon_of(req);
	_cleanup_index_ struct store_index *idx = fs_index_get(d);
	struct statvfs sv;

	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_files = store_index_promotions(idx);
	sv.f_namemax = NAME_MAX;
	sv.f_flag = ST_RDONLY;
	fuse_reply_statfs(req, &sv);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	/* Link targets change only on refresh, which invalidates them. */
	if (conn->capable & FUSE_CAP_CACHE_SYMLINKS)
		conn->want |= FUSE_CAP_CACHE_SYMLINKS;
	/* Every open must reach the daemon to be recorded. */
	conn->want &= ~FUSE_CAP_NO_OPEN_SUPPORT;
	conn->want &= ~FUSE_CAP_NO_OPENDIR_SUPPORT;
}

/*
 * The mount is read-only (MS_RDONLY, so the kernel refuses most changes
 * itself); these answer any modifying request that still arrives.
 */
static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
                       int to_set, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
                     mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EROFS);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
                     mode_t mode)
{
	fuse_reply_err(req, EROFS);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
                       const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                      fuse_ino_t newparent, const char *newname,
                      unsigned int flags)
{
	fuse_reply_err(req, EROFS);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
                    const char *newname)
{
	fuse_reply_err(req, EROFS);
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
                      mode_t mode, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
                     size_t size, off_t off, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
                        const char *value, size_t size, int flags)
{
	fuse_reply_err(req, EROFS);
}

static void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset,
                         off_t length, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

const struct fuse_lowlevel_ops fs_ops = {
        .init = op_init,
        .lookup = op_lookup,
        .getattr = op_getattr,
        .readlink = op_readlink,
        .opendir = op_opendir,
        .readdir = op_readdir,
        .readdirplus = op_readdirplus,
        .releasedir = op_releasedir,
        .open = op_open,
        .read = op_read,
        .release = op_release,
        .statfs = op_statfs,
        .setattr = op_setattr,
        .mknod = op_mknod,
        .mkdir = op_mkdir,
        .unlink = op_unlink,
        .rmdir = op_unlink,
        .symlink = op_symlink,
        .rename = op_rename,
        .link = op_link,
        .create = op_create,
        .write = op_write,
        .setxattr = op_setxattr,
        .removexattr = op_removexattr,
        .fallocate = op_fallocate,
};

/* secprof tag listing: the promotion tags of a repository, read from its
 * loose refs and packed-refs without keeping either in memory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index_impl.h"
#include "log.h"

#define QUOTE_MAX 128
/* Longer or deeper loose ref paths are not followed: no valid tag is. */
#define NAME_BUF 1024
#define DEPTH_MAX (1 + STORE_SERVICE_MAX / 2 + 1)

/* A growing list of refs whose names live in a shared arena. */
struct ref_vec {
	struct store_ref *v;
	size_t n, cap;
	struct store_arena *strings;
};

struct reader {
	struct store *st;
	struct ref_vec *list;
	char name[NAME_BUF]; /* tag name being walked, below refs/tags/ */
	unsigned depth;
};

static bool env_configured(const struct store *st, const char *env, size_t len)
{
	for (size_t i = 0; i < st->n_envs; i++) {
		if (strlen(st->envs[i]) == len &&
		    memcmp(st->envs[i], env, len) == 0)
			return true;
	}
	return false;
}

/* Warnings about a tag's name are keyed by the name alone. */
static void warn_name(struct store *st, const char *tag, const char *why)
{
	char q[QUOTE_MAX];

	store_quote(tag, q, sizeof(q));
	store_warn_once(st, 'n', tag, strlen(tag), "tag '%s': %s, ignored", q,
	                why);
}

/* Whether a tag is a promotion by its name; warns (once) when not. */
static bool is_promotion(struct store *st, const char *tag)
{
	struct store_tag_parts parts;

	if (store_split_tag(tag, &parts) < 0) {
		warn_name(st, tag, "not <env>/<service>@<version>");
		return false;
	}
	if (!env_configured(st, tag, parts.env_len)) {
		warn_name(st, tag, "environment not configured");
		return false;
	}
	return true;
}

static int push(struct ref_vec *l, const char *tag, const git_oid *target)
{
	struct store_ref *r;

	if (l->n == l->cap) {
		size_t cap = l->cap != 0 ? l->cap * 2 : 256;

		r = realloc(l->v, cap * sizeof(*r));
		if (r == NULL)
			return -ENOMEM;
		l->v = r;
		l->cap = cap;
	}
	r = &l->v[l->n];
	r->tag = store_arena_strndup(l->strings, tag, strlen(tag));
	if (r->tag == NULL)
		return -ENOMEM;
	git_oid_cpy(&r->target, target);
	l->n++;
	return 0;
}

static bool is_lock_file(const char *name)
{
	size_t n = strlen(name);

	return n >= 5 && strcmp(name + n - 5, ".lock") == 0;
}

/* "<40 hex>" and optional trailing whitespace, as git writes loose refs. */
static int parse_loose(const char *buf, size_t len, git_oid *out)
{
	if (len < GIT_OID_HEXSZ ||
	    git_oid_fromstrn(out, buf, GIT_OID_HEXSZ) < 0)
		return -EINVAL;
	for (size_t i = GIT_OID_HEXSZ; i < len; i++) {
		if (buf[i] != '\n' && buf[i] != '\r' && buf[i] != ' ' &&
		    buf[i] != '\t')
			return -EINVAL;
	}
	return 0;
}

static int read_loose(struct reader *rd, int dirfd, const char *file)
{
	char buf[128], q[QUOTE_MAX];
	struct stat sb;
	git_oid id;
	ssize_t n;
	int fd;

	/* A symlink among loose refs is an old-style symbolic ref; git
	 * never makes a tag one, so it is refused, not followed. */
	fd = openat(dirfd, file,
	            O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* deleted or packed meanwhile */
		store_quote(rd->name, q, sizeof(q));
		store_warn_once(rd->st, 'o', rd->name, strlen(rd->name),
		                "tag '%s': %s, ignored", q,
		                errno == ELOOP ? "a symbolic link"
		                               : strerror(errno));
		return 0;
	}
	/* Only regular files: a FIFO or device planted here must not block
	 * or feed the build. */
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		close(fd);
		warn_name(rd->st, rd->name, "not a regular file");
		return 0;
	}
	n = read(fd, buf, sizeof(buf));
	close(fd);

	if (n >= 5 && memcmp(buf, "ref: ", 5) == 0) {
		warn_name(rd->st, rd->name, "a symbolic ref");
		return 0;
	}
	if (n < 0 || parse_loose(buf, (size_t)n, &id) < 0) {
		warn_name(rd->st, rd->name, "not a valid loose ref");
		return 0;
	}
	if (!is_promotion(rd->st, rd->name))
		return 0;
	return push(rd->list, rd->name, &id);
}

static int walk(struct reader *rd, int dirfd, size_t len);

static int walk_entry(struct reader *rd, int dirfd, size_t len,
                      const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	struct stat sb;
	unsigned type = d->d_type;
	int r;

	if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
		return 0;
	/* Lock files are refs being written; the rename that ends the
	 * write is seen by the next build. */
	if (is_lock_file(d->d_name))
		return 0;
	if (len + 1 + n >= sizeof(rd->name)) {
		rd->name[len] = '\0';
		warn_name(rd->st, rd->name, "too deep below it");
		return 0;
	}
	if (len > 0)
		rd->name[len++] = '/';
	memcpy(rd->name + len, d->d_name, n + 1);

	if (type == DT_UNKNOWN) {
		if (fstatat(dirfd, d->d_name, &sb, AT_SYMLINK_NOFOLLOW) < 0)
			return 0;
		type = S_ISDIR(sb.st_mode) ? DT_DIR : DT_REG;
	}
	if (type != DT_DIR)
		return read_loose(rd, dirfd, d->d_name);

	if (rd->depth >= DEPTH_MAX) {
		warn_name(rd->st, rd->name, "too deep below it");
		return 0;
	}
	r = openat(dirfd, d->d_name,
	           O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r < 0)
		return 0;
	rd->depth++;
	r = walk(rd, r, len + n);
	rd->depth--;
	return r;
}

/* Walk one directory of loose refs; takes ownership of dirfd. */
static int walk(struct reader *rd, int dirfd, size_t len)
{
	struct dirent *d;
	DIR *dir = fdopendir(dirfd);
	int r = 0;

	if (dir == NULL) {
		close(dirfd);
		return 0;
	}
	while (r == 0 && (d = readdir(dir)) != NULL)
		r = walk_entry(rd, dirfd, len, d);
	closedir(dir);
	return r;
}

static int read_loose_refs(struct store *st, struct ref_vec *l)
{
	struct reader *rd;
	char path[PATH_MAX];
	int fd, r;

	if (snprintf(path, sizeof(path), "%s/refs/tags", st->git_dir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;

	rd = calloc(1, sizeof(*rd));
	if (rd == NULL) {
		close(fd);
		return -ENOMEM;
	}
	rd->st = st;
	rd->list = l;
	r = walk(rd, fd, 0);
	free(rd);
	return r;
}

/* The shortest line naming a promotion: "<40 hex> refs/tags/e/s@1\n". */
#define PACKED_LINE_MIN (GIT_OID_HEXSZ + 1 + 10 + 5 + 1)

/*
 * Size the list for every tag the file can hold, so that it is never
 * copied while it grows (a doubling copy of 100,000 refs is megabytes at
 * the build's peak). Without the size, the list grows as usual.
 */
static void presize(struct ref_vec *l, FILE *f)
{
	struct stat sb;
	struct store_ref *v;
	size_t cap;

	if (fstat(fileno(f), &sb) < 0 || sb.st_size <= 0)
		return;
	cap = (size_t)sb.st_size / PACKED_LINE_MIN + 1;
	if (cap <= l->cap)
		return;
	v = realloc(l->v, cap * sizeof(*v));
	if (v == NULL)
		return;
	l->v = v;
	l->cap = cap;
}

/*
 * packed-refs: an optional "# pack-refs with: ..." header, then lines
 * "<40 hex> <refname>", each tag optionally followed by "^<40 hex>" (its
 * peeled commit, not needed here: the tag object is read for its date).
 */
static int read_packed_refs(struct store *st, struct ref_vec *l,
                            struct sp_error **err)
{
	char path[PATH_MAX];
	size_t cap = 0, lineno = 0;
	char *line = NULL;
	ssize_t n;
	FILE *f;
	int r = 0;

	snprintf(path, sizeof(path), "%s/packed-refs", st->git_dir);
	f = fopen(path, "re");
	if (f == NULL)
		return errno == ENOENT
		               ? 0
		               : sp_error_errno(err, errno, "read '%s'", path);

	presize(l, f);
	while (r == 0 && (n = getline(&line, &cap, f)) > 0) {
		git_oid id;

		lineno++;
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#' || line[0] == '^')
			continue;
		if (n < GIT_OID_HEXSZ + 2 || line[GIT_OID_HEXSZ] != ' ' ||
		    git_oid_fromstrn(&id, line, GIT_OID_HEXSZ) < 0) {
			r = sp_error_set(err, EIO,
			                 "read '%s': line %zu is "
			                 "malformed",
			                 path, lineno);
			break;
		}
		if (strncmp(line + GIT_OID_HEXSZ + 1, "refs/tags/", 10) != 0)
			continue;
		if (!is_promotion(st, line + GIT_OID_HEXSZ + 11))
			continue;
		r = push(l, line + GIT_OID_HEXSZ + 11, &id);
		if (r < 0)
			r = sp_error_errno(err, -r, "read '%s'", path);
	}
	if (r == 0 && ferror(f))
		r = sp_error_errno(err, errno ? errno : EIO, "read '%s'", path);
	free(line);
	fclose(f);
	return r;
}

static int ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_ref *)a)->tag,
	              ((const struct store_ref *)b)->tag);
}

static void sort_list(struct ref_vec *l)
{
	for (size_t i = 1; i < l->n; i++) {
		if (strcmp(l->v[i - 1].tag, l->v[i].tag) > 0) {
			qsort(l->v, l->n, sizeof(*l->v), ref_cmp);
			return;
		}
	}
}

/*
 * Merge two sorted lists into out; a loose ref shadows a packed one of its
 * name. The packed list, by far the larger, becomes the result in place:
 * a second array of every tag would double the listing's peak.
 */
static int merge(struct ref_vec *loose, struct ref_vec *packed,
                 struct store_ref_list *out)
{
	size_t total = loose->n + packed->n, i = loose->n, j = packed->n;
	size_t k = total;
	struct store_ref *v = packed->v;

	if (total == 0 || (loose->n > 0 && packed->cap < total)) {
		v = realloc(packed->v, (total + 1) * sizeof(*v));
		if (v == NULL)
			return -ENOMEM;
		packed->v = v;
		packed->cap = total + 1;
	}
	/* From the back: slot k is always at or past the packed ref j - 1
	 * still to be read, so nothing is overwritten before it is moved. */
	while (i > 0) {
		int c = j == 0 ? 1 : strcmp(loose->v[i - 1].tag, v[j - 1].tag);

		if (c >= 0) {
			v[--k] = loose->v[--i];
			j -= c == 0;
		} else {
			v[--k] = v[--j];
		}
	}
	/* The packed refs left, v[0, j), come first: close the gap. */
	if (k > j)
		memmove(v + j, v + k, (total - k) * sizeof(*v));
	out->v = v;
	out->n = j + (total - k);
	packed->v = NULL;
	packed->n = packed->cap = 0;
	return 0;
}

int store_read_tags(struct store *st, struct store_ref_list *out,
                    struct sp_error **err)
{
	struct ref_vec loose = {0}, packed = {0};
	int r;

	memset(out, 0, sizeof(*out));
	loose.strings = packed.strings = &out->strings;

	/* Loose refs first: "git pack-refs" writes packed-refs before it
	 * deletes the loose files, so a tag is always in one of the two. */
	r = read_loose_refs(st, &loose);
	if (r < 0)
		r = sp_error_errno(err, -r, "read loose refs of '%s'",
		                   st->path);
	if (r == 0)
		r = read_packed_refs(st, &packed, err);
	if (r == 0) {
		sort_list(&loose);
		sort_list(&packed);
		if (merge(&loose, &packed, out) < 0)
			r = sp_error_errno(err, ENOMEM, "list tags of '%s'",
			                   st->path);
	}
	free(loose.v);
	free(packed.v);
	if (r < 0)
		store_ref_list_free(out);
	return r;
}

void store_ref_list_free(struct store_ref_list *l)
{
	free(l->v);
	store_arena_release(&l->strings);
	memset(l, 0, sizeof(*l));
}

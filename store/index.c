/* secprof profile index: the repository handle, snapshots and their
 * lookups, differences between snapshots, and blob reads. */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "index_impl.h"
#include "log.h"

/* libgit2's caches are sized for interactive tools; the daemon must stay
 * small with large repositories, and reads few objects more than once. */
#define GIT_CACHE_BYTES (2u << 20)
#define GIT_TREE_CACHE_LIMIT (256u << 10)
#define GIT_MWINDOW_BYTES (4u << 20)
#define GIT_MWINDOW_LIMIT (8u << 20)

static const char *const default_envs[] = {"dev", "staging", "prod", NULL};

static pthread_once_t git_once = PTHREAD_ONCE_INIT;
static int git_init_result;

static void git_setup(void)
{
	git_init_result = git_libgit2_init();
	if (git_init_result < 0)
		return;
	git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, (ssize_t)GIT_CACHE_BYTES);
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE,
	                 (size_t)GIT_TREE_CACHE_LIMIT);
	/* A tag object is read once per build that sees it new. */
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TAG,
	                 (size_t)0);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)GIT_MWINDOW_BYTES);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT,
	                 (size_t)GIT_MWINDOW_LIMIT);
}

static const char *git_message(void)
{
	const git_error *e = git_error_last();

	return e != NULL && e->message != NULL ? e->message : "unknown error";
}

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; v != NULL && i < n; i++)
		free(v[i]);
	free(v);
}

static int copy_envs(struct store *st, const char *const *envs,
                     struct sp_error **err)
{
	size_t n = 0;

	if (envs == NULL)
		envs = default_envs;
	while (envs[n] != NULL)
		n++;
	if (n == 0)
		return sp_error_set(err, EINVAL, "environments: none given");

	st->envs = calloc(n, sizeof(*st->envs));
	if (st->envs == NULL)
		return sp_error_errno(err, ENOMEM, "environments");
	for (size_t i = 0; i < n; i++) {
		char q[96];

		store_quote(envs[i], q, sizeof(q));
		if (!store_valid_env(envs[i]))
			return sp_error_set(err, EINVAL,
			                    "environment '%s': invalid name",
			                    q);
		for (size_t j = 0; j < i; j++) {
			if (strcmp(envs[i], envs[j]) == 0)
				return sp_error_set(
				        err, EINVAL,
				        "environment '%s': given twice", q);
		}
		st->envs[i] = strdup(envs[i]);
		if (st->envs[i] == NULL)
			return sp_error_errno(err, ENOMEM, "environments");
		st->n_envs = i + 1;
	}
	return 0;
}

/*
 * The profiles directory as a clean relative path: no empty, "." or ".."
 * segments, so the profile path is always inside the commit's tree.
 */
static int copy_profiles_dir(struct store *st, const char *dir,
                             struct sp_error **err)
{
	size_t len = dir != NULL ? strlen(dir) : 0;
	char *out = malloc(len + 1);
	size_t o = 0;
	char q[160];

	if (out == NULL)
		return sp_error_errno(err, ENOMEM, "profiles directory");
	st->profiles_dir = out;
	for (size_t i = 0; i < len;) {
		size_t n = strcspn(dir + i, "/");

		if (n == 0 || (n == 1 && dir[i] == '.')) {
			i += n + 1;
			continue;
		}
		if (n == 2 && dir[i] == '.' && dir[i + 1] == '.') {
			store_quote(dir, q, sizeof(q));
			return sp_error_set(err, EINVAL,
			                    "profiles directory '%s': must not "
			                    "contain '..'",
			                    q);
		}
		for (size_t j = i; j < i + n; j++) {
			if ((unsigned char)dir[j] < 0x20 || dir[j] == 0x7f) {
				store_quote(dir, q, sizeof(q));
				return sp_error_set(err, EINVAL,
				                    "profiles directory '%s': "
				                    "control character in name",
				                    q);
			}
		}
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, dir + i, n);
		o += n;
		i += n + 1;
	}
	out[o] = '\0';
	return 0;
}

static int open_repository(struct store *st, const char *path,
                           struct sp_error **err)
{
	git_repository *repo = NULL;
	struct stat sb;
	const char *dir;
	size_t len;
	int r;

	if (stat(path, &sb) < 0)
		return sp_error_errno(err, errno, "open repository '%s'", path);
	if (!S_ISDIR(sb.st_mode))
		return sp_error_errno(err, ENOTDIR, "open repository '%s'",
		                      path);

	/* NO_SEARCH: the path given is the repository, never a parent. */
	r = git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH,
	                            NULL);
	if (r == GIT_ENOTFOUND)
		return sp_error_set(
		        err, EINVAL,
		        "open repository '%s': not a git repository", path);
	if (r == GIT_EOWNER)
		return sp_error_set(err, EACCES,
		                    "open repository '%s': owned by another "
		                    "user (see git's safe.directory)",
		                    path);
	if (r < 0)
		return sp_error_set(err, EIO, "open repository '%s': %s", path,
		                    git_message());
	st->repo = repo;

	if (git_repository_odb(&st->odb, repo) < 0)
		return sp_error_set(err, EIO, "open repository '%s': %s", path,
		                    git_message());

	/* Refs live in the common directory, also for linked worktrees. */
	dir = git_repository_commondir(repo);
	len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	st->git_dir = strndup(dir, len);
	st->path = strdup(path);
	if (st->git_dir == NULL || st->path == NULL)
		return sp_error_errno(err, ENOMEM, "open repository '%s'",
		                      path);
	return 0;
}

static int init_hashing(struct store *st, struct sp_error **err)
{
	st->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	st->md_ctx = EVP_MD_CTX_new();
	if (st->sha256 == NULL || st->md_ctx == NULL)
		return sp_error_set(err, EIO, "open repository: no sha-256");
	return 0;
}

int store_open(struct store **out, const char *path,
               const struct store_options *opts, struct sp_error **err)
{
	struct store_options none = {0};
	struct store *st;
	int r;

	pthread_once(&git_once, git_setup);
	if (git_init_result < 0)
		return sp_error_set(err, EIO, "initialize libgit2: %s",
		                    git_message());
	if (opts == NULL)
		opts = &none;

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return sp_error_errno(err, ENOMEM, "open repository '%s'",
		                      path);
	pthread_mutex_init(&st->build_lock, NULL);
	st->with_bpf = opts->with_bpf;
	st->opened = (int64_t)time(NULL);

	r = copy_envs(st, opts->envs, err);
	if (r == 0)
		r = copy_profiles_dir(st, opts->profiles_dir, err);
	if (r == 0)
		r = init_hashing(st, err);
	if (r == 0)
		r = open_repository(st, path, err);
	if (r < 0) {
		store_close(st);
		return r;
	}
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (st == NULL)
		return;
	store_index_unref(st->last);
	git_odb_free(st->odb);
	git_repository_free(st->repo);
	free(st->path);
	free(st->git_dir);
	free(st->profiles_dir);
	free_strv(st->envs, st->n_envs);
	store_u64set_free(&st->warned);
	store_ptable_free(&st->commits);
	store_ptable_free(&st->profiles);
	/* Entries of snapshots that outlive the store keep their ids: the
	 * pool only gives up its own references. */
	for (size_t i = 0; st->hexes.slots != NULL && i <= st->hexes.mask;
	     i++) {
		const struct store_hex *h = st->hexes.slots[i];

		if (h != NULL)
			store_hex_unref(h->hex);
	}
	free(st->hexes.slots);
	free(st->hexes.hashes);
	EVP_MD_CTX_free(st->md_ctx);
	EVP_MD_free(st->sha256);
	pthread_mutex_destroy(&st->build_lock);
	free(st);
}

const char *store_git_dir(const struct store *st)
{
	return st->git_dir;
}

void store_warn_once(struct store *st, char kind, const void *key,
                     size_t key_len, const char *fmt, ...)
{
	uint64_t h =
	        store_hash64(st->md_ctx, st->sha256, &kind, 1, key, key_len);
	va_list ap;

	if (store_u64set_add(&st->warned, h) == 0)
		return;
	va_start(ap, fmt);
	sp_vlog(LOG_WARNING, fmt, ap);
	va_end(ap);
}

void store_hex_unref(const char *hex)
{
	struct store_hex *h =
	        (struct store_hex *)(hex - offsetof(struct store_hex, hex));

	if (atomic_fetch_sub(&h->refs, 1) == 1)
		free(h);
}

void store_entry_unref(struct store_entry *e)
{
	if (e == NULL || atomic_fetch_sub(&e->refs, 1) != 1)
		return;
	store_hex_unref(e->prom.commit);
	store_hex_unref(e->prom.blob);
	free(e);
}

struct store_index *store_index_ref(struct store_index *idx)
{
	if (idx != NULL)
		atomic_fetch_add(&idx->refs, 1);
	return idx;
}

void store_index_unref(struct store_index *idx)
{
	if (idx == NULL || atomic_fetch_sub(&idx->refs, 1) != 1)
		return;
	for (size_t i = 0; i < idx->n_entries; i++)
		store_entry_unref(idx->entries[i]);
	store_arena_release(&idx->arena);
	free(idx);
}

const struct store_node *store_index_root(const struct store_index *idx)
{
	return idx->root;
}

const struct store_node *store_index_find(const struct store_index *idx,
                                          uint64_t ino)
{
	if (idx->slots == NULL)
		return NULL;
	for (size_t i = store_ino_slot(ino, idx->mask); idx->slots[i] != NULL;
	     i = (i + 1) & idx->mask) {
		if (idx->slots[i]->ino == ino)
			return idx->slots[i];
	}
	return NULL;
}

const struct store_node *store_node_child(const struct store_node *dir,
                                          const char *name)
{
	size_t lo = 0, hi = dir->kind == STORE_NODE_DIR ? dir->n_children : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, dir->children[mid]->name);

		if (r == 0)
			return dir->children[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t store_index_promotions(const struct store_index *idx)
{
	return idx->n_entries;
}

const struct store_promotion *store_index_promotion(
        const struct store_index *idx, const char *tag)
{
	size_t lo = 0, hi = idx->n_entries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(tag, idx->entries[mid]->prom.tag);

		if (r == 0)
			return &idx->entries[mid]->prom;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool report(enum store_change_kind kind, const struct store_entry *o,
                   const struct store_entry *n,
                   void (*fn)(const struct store_change *, void *), void *arg)
{
	struct store_change c = {
	        .kind = kind,
	        .old = o != NULL ? &o->prom : NULL,
	        .new = n != NULL ? &n->prom : NULL,
	};

	if (fn != NULL)
		fn(&c, arg);
	return true;
}

size_t store_index_diff(const struct store_index *old,
                        const struct store_index *new,
                        void (*fn)(const struct store_change *, void *),
                        void *arg)
{
	size_t no = old != NULL ? old->n_entries : 0;
	size_t nn = new != NULL ? new->n_entries : 0;
	size_t i = 0, j = 0, changes = 0;

	while (i < no || j < nn) {
		const struct store_entry *o = i < no ? old->entries[i] : NULL;
		const struct store_entry *n = j < nn ? new->entries[j] : NULL;
		int r = o == NULL   ? 1
		        : n == NULL ? -1
		                    : strcmp(o->prom.tag, n->prom.tag);

		if (r < 0) {
			changes +=
			        report(STORE_CHANGE_VANISHED, o, NULL, fn, arg);
			i++;
			continue;
		}
		if (r > 0) {
			changes +=
			        report(STORE_CHANGE_APPEARED, NULL, n, fn, arg);
			j++;
			continue;
		}
		/* The same entry is shared when nothing about the tag changed. */
		if (o != n && strcmp(o->prom.blob, n->prom.blob) != 0)
			changes += report(STORE_CHANGE_MOVED, o, n, fn, arg);
		else if (o != n && !git_oid_equal(&o->target, &n->target))
			changes +=
			        report(STORE_CHANGE_RETARGETED, o, n, fn, arg);
		i++;
		j++;
	}
	return changes;
}

int store_read_blob(struct store *st, const char *blob_hex, void **buf,
                    size_t *len, struct sp_error **err)
{
	git_odb_object *obj = NULL;
	git_oid id;
	size_t size;
	void *copy;
	int r;

	if (strlen(blob_hex) != GIT_OID_HEXSZ ||
	    git_oid_fromstr(&id, blob_hex) < 0)
		return sp_error_set(err, ENOENT, "read blob '%.40s': bad id",
		                    blob_hex);

	r = git_odb_read(&obj, st->odb, &id);
	if (r == GIT_ENOTFOUND)
		return sp_error_set(err, ENOENT, "read blob %s: not found",
		                    blob_hex);
	if (r < 0)
		return sp_error_set(err, EIO, "read blob %s: %s", blob_hex,
		                    git_message());
	if (git_odb_object_type(obj) != GIT_OBJECT_BLOB) {
		git_odb_object_free(obj);
		return sp_error_set(err, ENOENT, "read blob %s: not a blob",
		                    blob_hex);
	}

	size = git_odb_object_size(obj);
	copy = malloc(size > 0 ? size : 1);
	if (copy == NULL) {
		git_odb_object_free(obj);
		return sp_error_errno(err, ENOMEM, "read blob %s", blob_hex);
	}
	memcpy(copy, git_odb_object_data(obj), size);
	git_odb_object_free(obj);
	*buf = copy;
	*len = size;
	return 0;
}

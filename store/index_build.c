/* secprof index build: promotion tags resolved to profiles, with the work
 * of earlier builds reused. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_impl.h"
#include "log.h"

/* Cache items unused for this many builds are dropped. */
#define CACHE_KEEP_BUILDS 16
/* Annotated tags pointing at annotated tags: a loop guard. */
#define TAG_DEPTH_MAX 16

struct build {
	struct store *st;
	struct store_ref_list refs;
};

/* What a tag resolves to. */
struct resolved {
	const struct commit_item *commit;
	const struct profile_item *profile;
	int64_t mtime;
};

static const char *git_message(void)
{
	const git_error *e = git_error_last();

	return e != NULL && e->message != NULL ? e->message : "unknown error";
}

/*
 * Warnings about what a tag points at are keyed by name and target, so a
 * tag moved to another broken commit is reported again.
 */
static void warn_target(struct store *st, const char *tag,
                        const git_oid *target, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void warn_target(struct store *st, const char *tag,
                        const git_oid *target, const char *fmt, ...)
{
	char key[GIT_OID_RAWSZ + STORE_TAG_MAX];
	size_t len = strlen(tag);
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);

	/* Only tags that passed the name rules get here: len is bounded and
	 * the name needs no quoting. */
	memcpy(key, target->id, GIT_OID_RAWSZ);
	memcpy(key + GIT_OID_RAWSZ, tag, len);
	store_warn_once(st, 't', key, GIT_OID_RAWSZ + len,
	                "tag '%s': %s, ignored", tag, why);
}

static uint64_t oid_hash(const git_oid *id)
{
	uint64_t v;

	memcpy(&v, id->id, sizeof(v));
	return v;
}

static bool commit_eq(const void *item, const void *key)
{
	return git_oid_equal(&((const struct commit_item *)item)->id, key);
}

struct profile_key {
	const git_oid *tree;
	const char *service;
	size_t service_len;
};

static uint64_t profile_hash(const struct profile_key *k)
{
	uint64_t h = oid_hash(k->tree);

	/* FNV-1a over the service, folded into the tree's id. */
	for (size_t i = 0; i < k->service_len; i++)
		h = (h ^ (unsigned char)k->service[i]) * 0x100000001b3ULL;
	return h;
}

static bool profile_eq(const void *item, const void *key)
{
	const struct profile_item *p = item;
	const struct profile_key *k = key;

	return git_oid_equal(&p->tree, k->tree) &&
	       strncmp(p->service, k->service, k->service_len) == 0 &&
	       p->service[k->service_len] == '\0';
}

static bool hex_eq(const void *item, const void *key)
{
	return git_oid_equal(&((const struct store_hex *)item)->id, key);
}

/* The shared hex form of id with a reference for the caller, or NULL. */
static const char *hex_get(struct store *st, const git_oid *id)
{
	struct store_hex *h =
	        store_ptable_find(&st->hexes, oid_hash(id), hex_eq, id);

	if (h == NULL) {
		h = malloc(sizeof(*h));
		if (h == NULL)
			return NULL;
		atomic_init(&h->refs, 1); /* the pool's */
		git_oid_cpy(&h->id, id);
		git_oid_tostr(h->hex, sizeof(h->hex), id);
		if (store_ptable_insert(&st->hexes, oid_hash(id), h) < 0) {
			free(h);
			return NULL;
		}
	}
	atomic_fetch_add(&h->refs, 1);
	return h->hex;
}

static bool same_item(const void *item, const void *key)
{
	return item == key;
}

/*
 * Drop ids no entry names any more. Only the builder takes references, so
 * an id whose one reference is the pool's stays unused; entries of other
 * threads' snapshots only ever drop theirs. On failure nothing is dropped.
 */
static void prune_hexes(struct store *st)
{
	struct store_ptable *t = &st->hexes, kept = {0};

	for (size_t i = 0; t->slots != NULL && i <= t->mask; i++) {
		struct store_hex *h = t->slots[i];

		if (h == NULL || atomic_load(&h->refs) == 1)
			continue;
		if (store_ptable_insert(&kept, t->hashes[i], h) < 0) {
			free(kept.slots);
			free(kept.hashes);
			return;
		}
	}
	for (size_t i = 0; t->slots != NULL && i <= t->mask; i++) {
		struct store_hex *h = t->slots[i];

		if (h != NULL && store_ptable_find(&kept, t->hashes[i],
		                                   same_item, h) == NULL)
			free(h);
	}
	free(t->slots);
	free(t->hashes);
	*t = kept;
}

static int commit_item_add(struct build *b, git_commit *c,
                           struct commit_item **out)
{
	struct commit_item *item = malloc(sizeof(*item));

	if (item == NULL)
		return -ENOMEM;
	item->used = b->st->generation;
	git_oid_cpy(&item->id, git_commit_id(c));
	git_oid_cpy(&item->tree, git_commit_tree_id(c));
	item->time = (int64_t)git_commit_time(c);
	if (store_ptable_insert(&b->st->commits, oid_hash(&item->id), item) <
	    0) {
		free(item);
		return -ENOMEM;
	}
	*out = item;
	return 0;
}

/*
 * Follow a tag's target through annotated tags to its commit. Returns 0,
 * 1 when the tag is skipped (warned), or -ENOMEM.
 */
static int peel(struct build *b, const struct store_ref *p,
                struct commit_item **out, int64_t *tag_time)
{
	struct store *st = b->st;
	git_oid id = p->target;
	char hex[GIT_OID_HEXSZ + 1];

	*tag_time = INT64_MIN;
	for (int depth = 0; depth < TAG_DEPTH_MAX; depth++) {
		_cleanup_git_object_ git_object *obj = NULL;
		struct commit_item *c;
		git_object_t type;

		c = store_ptable_find(&st->commits, oid_hash(&id), commit_eq,
		                      &id);
		if (c != NULL) {
			c->used = st->generation;
			*out = c;
			return 0;
		}

		if (git_object_lookup(&obj, st->repo, &id, GIT_OBJECT_ANY) <
		    0) {
			git_oid_tostr(hex, sizeof(hex), &id);
			warn_target(st, p->tag, &p->target,
			            "object %s cannot be read: %s", hex,
			            git_message());
			return 1;
		}
		type = git_object_type(obj);
		if (type == GIT_OBJECT_COMMIT)
			return commit_item_add(b, (git_commit *)obj, out);
		if (type != GIT_OBJECT_TAG) {
			warn_target(st, p->tag, &p->target,
			            "points at a %s, not a commit",
			            git_object_type2string(type));
			return 1;
		}

		/* The outermost annotated tag dates the promotion. */
		if (*tag_time == INT64_MIN) {
			const git_signature *sig =
			        git_tag_tagger((git_tag *)obj);

			if (sig != NULL)
				*tag_time = (int64_t)sig->when.time;
		}
		git_oid_cpy(&id, git_tag_target_id((git_tag *)obj));
	}
	warn_target(st, p->tag, &p->target, "chain of annotated tags too long");
	return 1;
}

static enum profile_status entry_status(const git_tree_entry *e)
{
	switch (git_tree_entry_type(e)) {
	case GIT_OBJECT_TREE:
		return PROFILE_DIRECTORY;
	case GIT_OBJECT_COMMIT:
		return PROFILE_SUBMODULE;
	case GIT_OBJECT_BLOB:
		break;
	default:
		return PROFILE_NOT_REGULAR;
	}
	switch (git_tree_entry_filemode(e)) {
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		return PROFILE_OK;
	case GIT_FILEMODE_LINK:
		return PROFILE_SYMLINK;
	default:
		return PROFILE_NOT_REGULAR;
	}
}

/*
 * Look the profile up in a tree. Only git objects are read: a symlink in
 * the tree is reported, never followed, and no path can leave the tree.
 */
static void lookup_profile(struct build *b, const char *path,
                           struct profile_item *item)
{
	_cleanup_git_tree_entry_ git_tree_entry *e = NULL;
	_cleanup_git_tree_ git_tree *tree = NULL;
	git_object_t type;
	size_t size;
	int r;

	if (git_tree_lookup(&tree, b->st->repo, &item->tree) < 0) {
		item->status = PROFILE_UNREADABLE;
		return;
	}
	r = git_tree_entry_bypath(&e, tree, path);
	if (r < 0) {
		item->status = r == GIT_ENOTFOUND ? PROFILE_MISSING
		                                  : PROFILE_UNREADABLE;
		return;
	}
	item->status = entry_status(e);
	if (item->status != PROFILE_OK)
		return;

	/* The header gives the size without inflating the blob. */
	git_oid_cpy(&item->blob, git_tree_entry_id(e));
	if (git_odb_read_header(&size, &type, b->st->odb, &item->blob) < 0 ||
	    type != GIT_OBJECT_BLOB) {
		item->status = PROFILE_UNREADABLE;
		return;
	}
	item->size = size;
}

static int profile_path(const struct store *st, const char *service, size_t len,
                        char *out, size_t out_size)
{
	int n;

	if (st->profiles_dir[0] != '\0')
		n = snprintf(out, out_size, "%s/%.*s.json", st->profiles_dir,
		             (int)len, service);
	else
		n = snprintf(out, out_size, "%.*s.json", (int)len, service);
	return n > 0 && (size_t)n < out_size ? 0 : -ENAMETOOLONG;
}

static int find_profile(struct build *b, const struct commit_item *c,
                        const struct store_tag_parts *parts,
                        struct profile_item **out)
{
	struct store *st = b->st;
	struct profile_key key = {&c->tree, parts->service, parts->service_len};
	uint64_t h = profile_hash(&key);
	struct profile_item *item;
	char path[PATH_MAX];

	item = store_ptable_find(&st->profiles, h, profile_eq, &key);
	if (item != NULL) {
		item->used = st->generation;
		*out = item;
		return 0;
	}

	item = calloc(1, sizeof(*item) + parts->service_len + 1);
	if (item == NULL)
		return -ENOMEM;
	item->used = st->generation;
	git_oid_cpy(&item->tree, &c->tree);
	memcpy(item->service, parts->service, parts->service_len);
	if (profile_path(st, parts->service, parts->service_len, path,
	                 sizeof(path)) < 0)
		item->status = PROFILE_MISSING;
	else
		lookup_profile(b, path, item);

	/* A read failure may pass; only settled answers are remembered. */
	if (item->status == PROFILE_UNREADABLE) {
		*out = item;
		return 1;
	}
	if (store_ptable_insert(&st->profiles, h, item) < 0) {
		free(item);
		return -ENOMEM;
	}
	*out = item;
	return 0;
}

static const char *status_text(enum profile_status s)
{
	switch (s) {
	case PROFILE_MISSING:
		return "has no file";
	case PROFILE_DIRECTORY:
		return "is a directory";
	case PROFILE_SYMLINK:
		return "is a symbolic link (not followed)";
	case PROFILE_SUBMODULE:
		return "is a submodule";
	case PROFILE_NOT_REGULAR:
		return "is not a regular file";
	default:
		return "cannot be read";
	}
}

static void warn_profile(struct build *b, const struct store_ref *p,
                         const struct store_tag_parts *parts,
                         const struct commit_item *c, enum profile_status s)
{
	char hex[GIT_OID_HEXSZ + 1], path[PATH_MAX];

	git_oid_tostr(hex, sizeof(hex), &c->id);
	if (profile_path(b->st, parts->service, parts->service_len, path,
	                 sizeof(path)) < 0)
		snprintf(path, sizeof(path), "%.*s.json",
		         (int)parts->service_len, parts->service);
	if (s == PROFILE_MISSING)
		warn_target(b->st, p->tag, &p->target,
		            "commit %.12s has no '%s'", hex, path);
	else
		warn_target(b->st, p->tag, &p->target,
		            "'%s' in commit %.12s %s", path, hex,
		            status_text(s));
}

/* Returns 0 with *res set, 1 when the tag is skipped (warned), -ENOMEM. */
static int resolve(struct build *b, const struct store_ref *p,
                   const struct store_tag_parts *parts, struct resolved *res)
{
	struct commit_item *c;
	struct profile_item *prof;
	int64_t tag_time;
	int r;

	r = peel(b, p, &c, &tag_time);
	if (r != 0)
		return r;
	r = find_profile(b, c, parts, &prof);
	if (r < 0)
		return r;
	if (prof->status != PROFILE_OK) {
		warn_profile(b, p, parts, c, prof->status);
		if (r == 1)
			free(prof);
		return 1;
	}
	res->commit = c;
	res->profile = prof;
	res->mtime = tag_time != INT64_MIN ? tag_time : c->time;
	return 0;
}

static void init_node(struct store_node *n, const struct store_entry *e,
                      const char *path, enum store_format format)
{
	const char *slash = strrchr(path, '/');

	memset(n, 0, sizeof(*n));
	n->name = slash != NULL ? slash + 1 : path;
	n->path = path;
	n->kind = STORE_NODE_PROFILE;
	n->format = format;
	n->promotion = &e->prom;
	n->mtime = e->prom.mtime;
	n->env = e->prom.env;
}

static struct store_entry *entry_new(struct store *st,
                                     const struct store_ref *p,
                                     const struct store_tag_parts *parts,
                                     const struct resolved *res)
{
	size_t tl = strlen(p->tag), nn = st->with_bpf ? 2 : 1;
	size_t strings = (tl + 1) + (parts->env_len + 1) +
	                 (parts->service_len + 1) + (tl + 6) +
	                 (nn == 2 ? tl + 5 : 0);
	struct store_entry *e;
	struct store_promotion *pr;
	char *s, *json, *bpf;

	e = malloc(sizeof(*e) + nn * sizeof(e->nodes[0]) + strings);
	if (e == NULL)
		return NULL;
	e->prom.commit = hex_get(st, &res->commit->id);
	e->prom.blob = hex_get(st, &res->profile->blob);
	if (e->prom.commit == NULL || e->prom.blob == NULL) {
		if (e->prom.commit != NULL)
			store_hex_unref(e->prom.commit);
		if (e->prom.blob != NULL)
			store_hex_unref(e->prom.blob);
		free(e);
		return NULL;
	}
	atomic_init(&e->refs, 1);
	e->born = st->generation;
	e->target = p->target;
	e->n_nodes = nn;

	/* Strings after the nodes: tag (the version is its tail), env,
	 * service, then the .json and .bpf paths. */
	pr = &e->prom;
	s = (char *)(e->nodes + nn);
	pr->tag = memcpy(s, p->tag, tl + 1);
	pr->version = pr->tag + (parts->version - p->tag);
	s += tl + 1;
	pr->env = memcpy(s, p->tag, parts->env_len);
	s[parts->env_len] = '\0';
	s += parts->env_len + 1;
	pr->service = memcpy(s, parts->service, parts->service_len);
	s[parts->service_len] = '\0';
	s += parts->service_len + 1;
	json = s;
	snprintf(json, tl + 6, "%s.json", p->tag);
	s += tl + 6;
	bpf = s;
	if (nn == 2)
		snprintf(bpf, tl + 5, "%s.bpf", p->tag);

	pr->size = res->profile->size;
	pr->mtime = res->mtime;

	init_node(&e->nodes[0], e, json, STORE_FORMAT_JSON);
	e->nodes[0].ino = store_node_ino(st, 'f', json, pr->blob, 0);
	if (nn == 2) {
		init_node(&e->nodes[1], e, bpf, STORE_FORMAT_BPF);
		e->nodes[1].ino = store_node_ino(st, 'f', bpf, pr->blob, 0);
	}
	return e;
}

/*
 * Turn the listed tags into entries: a tag with the same target as in the
 * previous snapshot shares its entry, so an unchanged repository costs no
 * object reads at all.
 */
static int resolve_all(struct build *b, struct store_index *idx,
                       struct sp_error **err)
{
	const struct store_index *old = b->st->last;
	size_t no = old != NULL ? old->n_entries : 0, oi = 0;

	for (size_t i = 0; i < b->refs.n; i++) {
		const struct store_ref *p = &b->refs.v[i];
		struct store_tag_parts parts;
		struct store_entry *e;
		struct resolved res;
		int r;

		while (oi < no &&
		       strcmp(old->entries[oi]->prom.tag, p->tag) < 0)
			oi++;
		if (oi < no &&
		    strcmp(old->entries[oi]->prom.tag, p->tag) == 0 &&
		    git_oid_equal(&old->entries[oi]->target, &p->target)) {
			e = old->entries[oi];
			atomic_fetch_add(&e->refs, 1);
			idx->entries[idx->n_entries++] = e;
			continue;
		}

		store_split_tag(p->tag, &parts);
		r = resolve(b, p, &parts, &res);
		if (r < 0)
			return sp_error_errno(err, -r, "index tags");
		if (r > 0)
			continue;
		e = entry_new(b->st, p, &parts, &res);
		if (e == NULL)
			return sp_error_errno(err, ENOMEM, "index tags");
		idx->entries[idx->n_entries++] = e;
	}
	return 0;
}

static bool cache_keep(const void *item, void *arg)
{
	/* Both item types start with their generation. */
	uint32_t used = *(const uint32_t *)item;
	uint32_t now = *(const uint32_t *)arg;

	return used + CACHE_KEEP_BUILDS > now;
}

static int build_locked(struct store *st, struct store_index **out,
                        struct sp_error **err)
{
	struct build b = {.st = st};
	struct store_index *idx;
	int r;

	st->generation++;
	r = store_read_tags(st, &b.refs, err);
	if (r < 0)
		goto out;

	idx = calloc(1, sizeof(*idx));
	if (idx == NULL) {
		r = sp_error_errno(err, ENOMEM, "index tags");
		goto out;
	}
	atomic_init(&idx->refs, 1);
	idx->entries = store_arena_alloc(
	        &idx->arena, (b.refs.n + 1) * sizeof(*idx->entries));
	if (idx->entries == NULL) {
		r = sp_error_errno(err, ENOMEM, "index tags");
		store_index_unref(idx);
		goto out;
	}

	r = resolve_all(&b, idx, err);
	/* Entries have their own copies of the names: the listing need not
	 * wait for the tree, the build's other large allocation. */
	store_ref_list_free(&b.refs);
	if (r == 0 && store_tree_build(st, idx, st->last) < 0)
		r = sp_error_errno(err, ENOMEM, "index tags");
	if (r < 0) {
		store_index_unref(idx);
		goto out;
	}

	store_ptable_filter(&st->commits, cache_keep, &st->generation);
	store_ptable_filter(&st->profiles, cache_keep, &st->generation);
	store_index_unref(st->last);
	st->last = store_index_ref(idx);
	prune_hexes(st);
	*out = idx;
out:
	store_ref_list_free(&b.refs);
	/* Entries of vanished tags and the listing were freed in small
	 * pieces; give whole free pages back so the daemon's RSS follows
	 * the index it holds. */
	malloc_trim(0);
	return r;
}

int store_index_build(struct store *st, struct store_index **out,
                      struct sp_error **err)
{
	int r;

	pthread_mutex_lock(&st->build_lock);
	r = build_locked(st, out, err);
	pthread_mutex_unlock(&st->build_lock);
	return r;
}

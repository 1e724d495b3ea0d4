/* secprof index tree: directories, floating links and inode numbers of a
 * snapshot. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index_impl.h"
#include "log.h"

/* A service has at most this many segments (each takes two bytes). */
#define SEGMENTS_MAX (STORE_SERVICE_MAX / 2 + 1)

/* A directory whose entries are still being collected. */
struct tdir {
	struct store_node *node;
	struct store_node **kids;
	size_t n, cap;
};

struct tree {
	struct store *st;
	struct store_index *idx;
	const struct store_index *old;
	struct tdir root;
	struct tdir *envs;
	/* Open service directories, outermost first. */
	struct tdir stack[SEGMENTS_MAX];
	size_t depth;
	struct tdir *env; /* directory of the entries being placed */
};

uint64_t store_node_ino(struct store *st, char kind, const char *path,
                        const char *blob, unsigned k)
{
	char buf[2 + STORE_TAG_MAX + 8 + 1 + GIT_OID_HEXSZ + 16];
	size_t plen = strnlen(path, STORE_TAG_MAX + 8), n = 0;

	/* kind ':' path ['\0' blob] ['#' k]; the NUL keeps path and blob
	 * apart. */
	buf[n++] = kind;
	buf[n++] = ':';
	memcpy(buf + n, path, plen);
	n += plen;
	if (blob != NULL) {
		buf[n++] = '\0';
		memcpy(buf + n, blob, GIT_OID_HEXSZ);
		n += GIT_OID_HEXSZ;
	}
	if (k > 0)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "#%u", k);
	return store_hash64(st->md_ctx, st->sha256, buf, n, NULL, 0);
}

static int push_kid(struct tdir *d, struct store_node *n)
{
	if (d->n == d->cap) {
		size_t cap = d->cap != 0 ? d->cap * 2 : 8;
		struct store_node **k = realloc(d->kids, cap * sizeof(*k));

		if (k == NULL)
			return -ENOMEM;
		d->kids = k;
		d->cap = cap;
	}
	d->kids[d->n++] = n;
	return 0;
}

static struct store_node *new_node(struct tree *t, const char *path,
                                   size_t plen, enum store_node_kind kind,
                                   const char *env)
{
	struct store_node *n = store_arena_alloc(&t->idx->arena, sizeof(*n));
	const char *slash;

	if (n == NULL)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->path = store_arena_strndup(&t->idx->arena, path, plen);
	if (n->path == NULL)
		return NULL;
	slash = strrchr(n->path, '/');
	n->name = slash != NULL ? slash + 1 : n->path;
	n->kind = kind;
	n->env = env;
	t->idx->n_nodes++;
	return n;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(struct store_node *const *)a)->name,
	              (*(struct store_node *const *)b)->name);
}

/*
 * A link "x.json" and a directory "x.json" (of a service "x.json/y") would
 * share a name: the directory stays, the link is left out.
 */
static size_t drop_collisions(struct tree *t, struct tdir *d)
{
	size_t out = 0;

	for (size_t i = 0; i < d->n; i++) {
		struct store_node *n = d->kids[i];
		struct store_node *keep, *lost;
		char q[160];

		if (out == 0 || strcmp(d->kids[out - 1]->name, n->name) != 0) {
			d->kids[out++] = n;
			continue;
		}
		keep = d->kids[out - 1];
		lost = n;
		if (n->kind == STORE_NODE_DIR) {
			keep = n;
			lost = d->kids[out - 1];
		}
		d->kids[out - 1] = keep;
		t->idx->n_nodes--;
		store_quote(lost->path, q, sizeof(q));
		store_warn_once(t->st, 'c', lost->path, strlen(lost->path),
		                "'%s': name taken twice (a directory and a "
		                "link), the link is left out",
		                q);
	}
	return out;
}

static int finish_dir(struct tree *t, struct tdir *d)
{
	struct store_node *dir = d->node;

	if (d->n > 1)
		qsort(d->kids, d->n, sizeof(*d->kids), name_cmp);
	d->n = drop_collisions(t, d);

	dir->n_children = d->n;
	dir->children = store_arena_alloc(&t->idx->arena,
	                                  (d->n + 1) * sizeof(*dir->children));
	if (dir->children == NULL)
		return -ENOMEM;
	if (d->n > 0)
		memcpy(dir->children, d->kids, d->n * sizeof(*d->kids));
	for (size_t i = 0; i < d->n; i++) {
		if (d->kids[i]->mtime > dir->mtime)
			dir->mtime = d->kids[i]->mtime;
	}
	free(d->kids);
	d->kids = NULL;
	d->n = d->cap = 0;
	return 0;
}

static int pop_to(struct tree *t, size_t depth)
{
	while (t->depth > depth) {
		int r = finish_dir(t, &t->stack[--t->depth]);

		if (r < 0)
			return r;
	}
	return 0;
}

static struct tdir *top(struct tree *t)
{
	return t->depth > 0 ? &t->stack[t->depth - 1] : t->env;
}

/* Make the stack hold the directories of service, e.g. "payments" for
 * "payments/api", reusing the ones already open. */
static int open_dirs(struct tree *t, const struct store_promotion *p)
{
	const char *s = p->service, *slash;
	size_t depth = 0;
	int r;

	while ((slash = strchr(s, '/')) != NULL) {
		size_t len = (size_t)(slash - s);
		struct store_node *n;

		if (depth < t->depth) {
			n = t->stack[depth].node;
			if (strlen(n->name) == len &&
			    memcmp(n->name, s, len) == 0) {
				depth++;
				s = slash + 1;
				continue;
			}
			r = pop_to(t, depth);
			if (r < 0)
				return r;
		}

		/* Path "<env>/<service up to this segment>" is a tag prefix. */
		n = new_node(t, p->tag,
		             strlen(p->env) + 1 + (size_t)(slash - p->service),
		             STORE_NODE_DIR, t->env->node->env);
		if (n == NULL || push_kid(top(t), n) < 0)
			return -ENOMEM;
		memset(&t->stack[depth], 0, sizeof(t->stack[depth]));
		t->stack[depth].node = n;
		t->depth = ++depth;
		s = slash + 1;
	}
	return pop_to(t, depth);
}

static int add_link(struct tree *t, const struct store_promotion *newest,
                    enum store_format format)
{
	const char *ext = format == STORE_FORMAT_BPF ? "bpf" : "json";
	const char *last = strrchr(newest->service, '/');
	struct tdir *d = top(t);
	struct store_node *n;
	char path[STORE_TAG_MAX + 8], target[STORE_TAG_MAX + 8];
	int len;

	last = last != NULL ? last + 1 : newest->service;
	len = snprintf(path, sizeof(path), "%s/%s.%s", d->node->path, last,
	               ext);
	n = new_node(t, path, (size_t)len, STORE_NODE_LINK, d->node->env);
	if (n == NULL)
		return -ENOMEM;
	len = snprintf(target, sizeof(target), "%s@%s.%s", last,
	               newest->version, ext);
	n->target = store_arena_strndup(&t->idx->arena, target, (size_t)len);
	if (n->target == NULL)
		return -ENOMEM;
	n->format = format;
	n->promotion = newest;
	n->mtime = newest->mtime;
	return push_kid(d, n);
}

/* Place the entries [i, j) of one service and its floating links. */
static int place_service(struct tree *t, size_t i, size_t j)
{
	struct store_entry **e = t->idx->entries;
	const struct store_promotion *newest = &e[i]->prom;
	int r;

	r = open_dirs(t, newest);
	if (r < 0)
		return r;
	for (size_t k = i; k < j; k++) {
		for (size_t m = 0; m < e[k]->n_nodes; m++) {
			r = push_kid(top(t), &e[k]->nodes[m]);
			if (r < 0)
				return r;
			t->idx->n_nodes++;
		}
		if (store_version_cmp(e[k]->prom.version, newest->version) > 0)
			newest = &e[k]->prom;
	}
	r = add_link(t, newest, STORE_FORMAT_JSON);
	if (r == 0 && t->st->with_bpf)
		r = add_link(t, newest, STORE_FORMAT_BPF);
	return r;
}

static bool same_service(const struct store_entry *a,
                         const struct store_entry *b)
{
	return strcmp(a->prom.env, b->prom.env) == 0 &&
	       strcmp(a->prom.service, b->prom.service) == 0;
}

static struct tdir *env_dir(struct tree *t, const char *env)
{
	for (size_t i = 0; i < t->st->n_envs; i++) {
		if (strcmp(t->envs[i].node->path, env) == 0)
			return &t->envs[i];
	}
	return NULL;
}

/* Entries sorted by tag keep each environment, each service and each
 * service directory contiguous: one pass with a stack of open
 * directories builds the tree. */
static int place_entries(struct tree *t)
{
	struct store_entry **e = t->idx->entries;
	size_t n = t->idx->n_entries;
	int r;

	for (size_t i = 0, j; i < n; i = j) {
		for (j = i + 1; j < n && same_service(e[i], e[j]);)
			j++;
		if (t->env == NULL ||
		    strcmp(t->env->node->env, e[i]->prom.env) != 0) {
			r = pop_to(t, 0);
			if (r < 0)
				return r;
			t->env = env_dir(t, e[i]->prom.env);
			if (t->env == NULL)
				return -EINVAL;
		}
		r = place_service(t, i, j);
		if (r < 0)
			return r;
	}
	return pop_to(t, 0);
}

static int make_top(struct tree *t)
{
	struct store *st = t->st;

	t->root.node = new_node(t, "", 0, STORE_NODE_DIR, NULL);
	t->envs = calloc(st->n_envs, sizeof(*t->envs));
	if (t->root.node == NULL || t->envs == NULL)
		return -ENOMEM;
	t->root.node->ino = STORE_ROOT_INO;
	t->root.node->parent = STORE_ROOT_INO;
	t->idx->root = t->root.node;

	/* Every configured environment is a directory, even when empty. */
	for (size_t i = 0; i < st->n_envs; i++) {
		struct store_node *n;

		n = new_node(t, st->envs[i], strlen(st->envs[i]),
		             STORE_NODE_DIR, NULL);
		if (n == NULL || push_kid(&t->root, n) < 0)
			return -ENOMEM;
		n->env = n->path;
		t->envs[i].node = n;
	}
	return 0;
}

static int finish_top(struct tree *t)
{
	struct store_node *root = t->root.node;
	int r;

	for (size_t i = 0; i < t->st->n_envs; i++) {
		r = finish_dir(t, &t->envs[i]);
		if (r < 0)
			return r;
	}
	r = finish_dir(t, &t->root);
	if (r < 0)
		return r;

	/* Empty directories take the newest time of the tree. */
	if (root->mtime == 0)
		root->mtime = t->st->opened;
	for (size_t i = 0; i < root->n_children; i++) {
		if (root->children[i]->mtime == 0)
			root->children[i]->mtime = root->mtime;
	}
	return 0;
}

static bool table_put(struct store_index *idx, struct store_node *n)
{
	size_t i = store_ino_slot(n->ino, idx->mask);

	for (; idx->slots[i] != NULL; i = (i + 1) & idx->mask) {
		if (idx->slots[i]->ino == n->ino)
			return false;
	}
	idx->slots[i] = n;
	return true;
}

static bool same_node(const struct store_node *a, const struct store_node *b)
{
	if (a->kind != b->kind || a->format != b->format ||
	    strcmp(a->path, b->path) != 0)
		return false;
	return a->kind != STORE_NODE_PROFILE ||
	       strcmp(a->promotion->blob, b->promotion->blob) == 0;
}

static const struct store_node *old_by_path(const struct store_index *old,
                                            const char *path)
{
	const struct store_node *n = old->root;
	char seg[STORE_TAG_MAX + 8];

	while (n != NULL && *path != '\0') {
		size_t len = strcspn(path, "/");

		if (len >= sizeof(seg))
			return NULL;
		memcpy(seg, path, len);
		seg[len] = '\0';
		n = store_node_child(n, seg);
		path += len + (path[len] == '/');
	}
	return n;
}

static char node_tag(const struct store_node *n)
{
	return n->kind == STORE_NODE_DIR ? 'd' : 'l';
}

/*
 * Inode number of a directory or link: the one it had in the previous
 * snapshot, so numbers never move while the path exists. Returns true when
 * that number is kept, false for a new node (candidate 0 set).
 */
static bool dir_link_ino(struct tree *t, struct store_node *n)
{
	const struct store_node *o;

	n->ino = store_node_ino(t->st, node_tag(n), n->path, NULL, 0);
	if (t->old == NULL)
		return false;
	o = store_index_find(t->old, n->ino);
	if (o == NULL || !same_node(o, n))
		o = old_by_path(t->old, n->path);
	if (o == NULL || !same_node(o, n))
		return false;
	n->ino = o->ino;
	return true;
}

static bool is_new(struct tree *t, struct store_node *n)
{
	if (n->kind == STORE_NODE_PROFILE) {
		const struct store_entry *e =
		        (const struct store_entry
		                 *)((const char *)n->promotion -
		                    offsetof(struct store_entry, prom));

		return e->born == t->st->generation;
	}
	return !dir_link_ino(t, n);
}

/*
 * Give a new node a free number: its candidate unless a node of this
 * snapshot has it, or a different node of the previous one (which the
 * kernel may still know), else the next candidate.
 */
static void place_new(struct tree *t, struct store_node *n)
{
	const char *blob =
	        n->kind == STORE_NODE_PROFILE ? n->promotion->blob : NULL;
	char tag = n->kind == STORE_NODE_PROFILE ? 'f' : node_tag(n);

	for (unsigned k = 1;; k++) {
		const struct store_node *o = NULL;

		if (n->ino > STORE_ROOT_INO && t->old != NULL)
			o = store_index_find(t->old, n->ino);
		if (n->ino > STORE_ROOT_INO && (o == NULL || same_node(o, n)) &&
		    table_put(t->idx, n))
			return;
		n->ino = store_node_ino(t->st, tag, n->path, blob, k);
	}
}

/* Nodes that keep their numbers go into the table first. */
static void number_kept(struct tree *t, struct store_node *dir)
{
	for (size_t i = 0; i < dir->n_children; i++) {
		struct store_node *n = dir->children[i];

		if (!is_new(t, n))
			table_put(t->idx, n);
		if (n->kind == STORE_NODE_DIR)
			number_kept(t, n);
	}
}

/*
 * Then new ones, in tree order, so that the outcome is deterministic. A
 * node is new when the table does not hold it: nothing else marks it, so
 * the walk costs no memory however many nodes are new.
 */
static void number_new(struct tree *t, struct store_node *dir)
{
	for (size_t i = 0; i < dir->n_children; i++) {
		struct store_node *n = dir->children[i];

		if (store_index_find(t->idx, n->ino) != n)
			place_new(t, n);
		if (n->kind == STORE_NODE_DIR)
			number_new(t, n);
	}
}

/*
 * Parents are known once every number is. A shared entry's parent was set
 * when it was new and its directory kept its number since, so this writes
 * only to nodes no other thread can see yet.
 */
static void set_parents(struct store_node *dir)
{
	for (size_t i = 0; i < dir->n_children; i++) {
		struct store_node *n = dir->children[i];

		if (n->parent != dir->ino)
			n->parent = dir->ino;
		if (n->kind == STORE_NODE_DIR)
			set_parents(n);
	}
}

static int number_nodes(struct tree *t)
{
	struct store_index *idx = t->idx;
	size_t cap = 16;

	/* Load at most 0.8: lookups are by numbers the kernel was given, so
	 * nearly all of them hit, and short probes stay short. */
	while (cap * 4 < idx->n_nodes * 5)
		cap *= 2;
	idx->slots = store_arena_alloc(&idx->arena, cap * sizeof(*idx->slots));
	if (idx->slots == NULL)
		return -ENOMEM;
	memset(idx->slots, 0, cap * sizeof(*idx->slots));
	idx->mask = cap - 1;

	table_put(idx, idx->root);
	number_kept(t, idx->root);
	number_new(t, idx->root);
	set_parents(idx->root);
	return 0;
}

int store_tree_build(struct store *st, struct store_index *idx,
                     const struct store_index *old)
{
	struct tree t = {.st = st, .idx = idx, .old = old};
	int r;

	r = make_top(&t);
	if (r == 0)
		r = place_entries(&t);
	if (r == 0)
		r = finish_top(&t);
	if (r == 0)
		r = number_nodes(&t);

	/* On failure, free what is still being collected. */
	free(t.root.kids);
	for (size_t i = 0; t.envs != NULL && i < st->n_envs; i++)
		free(t.envs[i].kids);
	for (size_t i = 0; i < t.depth; i++)
		free(t.stack[i].kids);
	free(t.envs);
	return r;
}

/* secprofd refresh: rebuild, swap, record and invalidate on tag changes. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "refresh.h"

/* A refresh record lists at most this many tags per kind of change. */
#define REFRESH_LIST_MAX 1000

struct fs_refresh {
	struct fs_daemon *d;
	struct store_watch *watch;
	pthread_t thread;
};

struct change_set {
	struct fs_daemon *d;
	const struct store_index *old;
	const struct store_index *new;
	json_t *appeared, *vanished, *moved, *retargeted;
	size_t n_appeared, n_vanished, n_moved, n_retargeted;
};

static json_t *promotion_json(const struct store_promotion *p)
{
	return json_pack("{s:s, s:s, s:s}", "tag", p->tag, "commit", p->commit,
	                 "blob", p->blob);
}

static void list_add(json_t *list, size_t *count, json_t *item)
{
	if ((*count)++ < REFRESH_LIST_MAX)
		json_array_append_new(list, item);
	else
		json_decref(item);
}

static void collect(const struct store_change *c, void *arg)
{
	struct change_set *cs = arg;

	switch (c->kind) {
	case STORE_CHANGE_APPEARED:
		sp_log(LOG_INFO, "promotion appeared: %s", c->new->tag);
		list_add(cs->appeared, &cs->n_appeared, promotion_json(c->new));
		break;
	case STORE_CHANGE_VANISHED:
		sp_log(LOG_INFO, "promotion vanished: %s", c->old->tag);
		list_add(cs->vanished, &cs->n_vanished, promotion_json(c->old));
		break;
	case STORE_CHANGE_MOVED:
		sp_log(LOG_WARNING,
		       "tag '%s' moved to different content (blob %s -> %s); "
		       "a released version should never change",
		       c->new->tag, c->old->blob, c->new->blob);
		list_add(cs->moved, &cs->n_moved,
		         json_pack("{s:s, s:s, s:s, s:s, s:s}", "tag",
		                   c->new->tag, "old_commit", c->old->commit,
		                   "new_commit", c->new->commit, "old_blob",
		                   c->old->blob, "new_blob", c->new->blob));
		break;
	case STORE_CHANGE_RETARGETED:
		sp_log(LOG_INFO, "tag '%s' now points at commit %s",
		       c->new->tag, c->new->commit);
		list_add(cs->retargeted, &cs->n_retargeted,
		         json_pack("{s:s, s:s, s:s}", "tag", c->new->tag,
		                   "old_commit", c->old->commit, "new_commit",
		                   c->new->commit));
		break;
	}
}

static void inval_entry(struct fs_daemon *d, uint64_t parent, const char *name)
{
	/* -ENOENT only means the kernel had nothing cached. */
	fuse_lowlevel_notify_inval_entry(d->se, parent, name, strlen(name));
}

static void inval_node(struct fs_daemon *d, const struct store_node *n)
{
	if (n != NULL)
		fuse_lowlevel_notify_inval_inode(d->se, n->ino, 0, 0);
}

/*
 * Walk from the root to the directory that holds a service's files,
 * invalidating every directory on the way (its listing may have changed)
 * and, where the walk ends early, the entry of the first missing one (it
 * may have vanished with the promotion). Returns that directory or NULL.
 */
static const struct store_node *invalidate_path(struct fs_daemon *d,
                                                const struct store_index *idx,
                                                const struct store_promotion *p)
{
	const struct store_node *n = store_index_root(idx);
	char path[STORE_TAG_MAX + 2];
	char *seg, *slash;

	snprintf(path, sizeof(path), "%s/%s", p->env, p->service);
	for (seg = path; (slash = strchr(seg, '/')) != NULL; seg = slash + 1) {
		const struct store_node *child;

		*slash = '\0';
		inval_node(d, n);
		child = store_node_child(n, seg);
		if (child == NULL) {
			inval_entry(d, n->ino, seg);
			return NULL;
		}
		n = child;
	}
	inval_node(d, n);
	return n;
}

/*
 * Make the kernel forget what it cached about one promotion in one
 * snapshot's tree: its version files, the floating links (whose target
 * may have moved) and the directories on the way.
 */
static void invalidate(struct fs_daemon *d, const struct store_index *idx,
                       const struct store_promotion *p)
{
	static const char *const suffixes[] = {".json", ".bpf"};
	const struct store_node *dir = invalidate_path(d, idx, p);
	const char *base = strrchr(p->service, '/');
	char name[NAME_MAX + 1];
	size_t i;

	if (dir == NULL)
		return;
	base = base != NULL ? base + 1 : p->service;
	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s@%s%s", base, p->version,
		         suffixes[i]);
		inval_entry(d, dir->ino, name);
		snprintf(name, sizeof(name), "%s%s", base, suffixes[i]);
		inval_node(d, store_node_child(dir, name));
		inval_entry(d, dir->ino, name);
	}
}

static void invalidate_change(const struct store_change *c, void *arg)
{
	struct change_set *cs = arg;

	if (c->old != NULL)
		invalidate(cs->d, cs->old, c->old);
	if (c->new != NULL)
		invalidate(cs->d, cs->new, c->new);
}

static json_t *refresh_body(struct change_set *cs)
{
	json_t *body = json_object();

	json_object_set_new(
	        body, "promotions",
	        json_integer((json_int_t)store_index_promotions(cs->new)));
	json_object_set_new(body, "appeared", cs->appeared);
	json_object_set_new(body, "vanished", cs->vanished);
	json_object_set_new(body, "moved", cs->moved);
	json_object_set_new(body, "retargeted", cs->retargeted);
	json_object_set_new(body, "counts",
	                    json_pack("{s:I, s:I, s:I, s:I}", "appeared",
	                              (json_int_t)cs->n_appeared, "vanished",
	                              (json_int_t)cs->n_vanished, "moved",
	                              (json_int_t)cs->n_moved, "retargeted",
	                              (json_int_t)cs->n_retargeted));
	json_object_set_new(body, "truncated",
	                    json_boolean(cs->n_appeared > REFRESH_LIST_MAX ||
	                                 cs->n_vanished > REFRESH_LIST_MAX ||
	                                 cs->n_moved > REFRESH_LIST_MAX ||
	                                 cs->n_retargeted > REFRESH_LIST_MAX));
	return body;
}

size_t fs_refresh_once(struct fs_daemon *d)
{
	_cleanup_error_ struct sp_error *err = NULL;
	struct store_index *next = NULL, *old;
	struct change_set cs = {.d = d};
	size_t n;

	if (store_index_build(d->store, &next, &err) != 0) {
		sp_log(LOG_ERR,
		       "refresh '%s': %s; still serving the previous "
		       "index",
		       d->repo, err->msg);
		return 0;
	}

	old = fs_index_get(d);
	cs.old = old;
	cs.new = next;
	cs.appeared = json_array();
	cs.vanished = json_array();
	cs.moved = json_array();
	cs.retargeted = json_array();
	n = store_index_diff(old, next, collect, &cs);
	if (n == 0) {
		json_decref(cs.appeared);
		json_decref(cs.vanished);
		json_decref(cs.moved);
		json_decref(cs.retargeted);
		store_index_unref(next);
		store_index_unref(old);
		return 0;
	}

	store_index_unref(fs_index_swap(d, store_index_ref(next)));
	if (audit_log_write(d->log, "refresh", refresh_body(&cs)) != 0)
		sp_log(LOG_ERR, "refresh record could not be written to the "
		                "access log");
	store_index_diff(old, next, invalidate_change, &cs);
	store_index_unref(next);
	store_index_unref(old);
	return n;
}

static void *refresh_main(void *arg)
{
	struct fs_refresh *r = arg;

	for (;;) {
		int rc = store_watch_wait(r->watch, 1000);

		if (rc < 0)
			break;
		if (rc > 0)
			fs_refresh_once(r->d);
	}
	return NULL;
}

int fs_refresh_start(struct fs_daemon *d, struct fs_refresh **out,
                     struct sp_error **err)
{
	struct fs_refresh *r = calloc(1, sizeof(*r));
	int rc;

	if (r == NULL)
		return sp_error_set(err, ENOMEM,
		                    "start refresh: out of memory");
	r->d = d;
	rc = store_watch_start(d->store, &r->watch, err);
	if (rc != 0) {
		free(r);
		return rc;
	}
	rc = pthread_create(&r->thread, NULL, refresh_main, r);
	if (rc != 0) {
		store_watch_free(r->watch);
		free(r);
		return sp_error_errno(err, rc, "start refresh thread");
	}
	*out = r;
	return 0;
}

void fs_refresh_stop(struct fs_refresh *r)
{
	if (r == NULL)
		return;
	store_watch_stop(r->watch);
	pthread_join(r->thread, NULL);
	store_watch_free(r->watch);
	free(r);
}

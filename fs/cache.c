/* secprofd content cache: a mutex-guarded chained hash table. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

struct cache_slot {
	struct cache_slot *next;
	struct fs_content *ct;
};

struct fs_cache {
	pthread_mutex_t lock;
	struct cache_slot **buckets;
	size_t n_buckets;
	size_t n_entries;
	size_t bytes;
	size_t max_bytes;
};

static size_t key_hash(const char *key)
{
	size_t h = 1469598103934665603ULL;

	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 1099511628211ULL;
	return h;
}

struct fs_cache *fs_cache_new(size_t max_bytes)
{
	struct fs_cache *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->n_buckets = 1024;
	c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
	if (c->buckets == NULL) {
		free(c);
		return NULL;
	}
	c->max_bytes = max_bytes;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void fs_cache_free(struct fs_cache *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n_buckets; i++) {
		struct cache_slot *s = c->buckets[i], *next;

		for (; s != NULL; s = next) {
			next = s->next;
			fs_content_unref(s->ct);
			free(s);
		}
	}
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
}

static struct fs_content *content_alloc(const char *key)
{
	size_t klen = strlen(key);
	struct fs_content *ct = calloc(1, sizeof(*ct) + klen + 1);

	if (ct == NULL)
		return NULL;
	memcpy(ct->key, key, klen + 1);
	ct->refs = 1;
	return ct;
}

struct fs_content *fs_content_new(const char *key, const void *data, size_t len)
{
	struct fs_content *ct = content_alloc(key);

	if (ct == NULL)
		return NULL;
	ct->data = malloc(len > 0 ? len : 1);
	if (ct->data == NULL) {
		free(ct);
		return NULL;
	}
	memcpy(ct->data, data, len);
	ct->len = len;
	record_hash((const char *)data, len, ct->sha256);
	return ct;
}

struct fs_content *fs_content_failed(const char *key, int err,
                                     const char *error)
{
	struct fs_content *ct = content_alloc(key);

	if (ct == NULL)
		return NULL;
	ct->err = err > 0 ? err : EIO;
	ct->error = strdup(error != NULL ? error : "unknown error");
	return ct;
}

struct fs_content *fs_content_ref(struct fs_content *ct)
{
	__atomic_add_fetch(&ct->refs, 1, __ATOMIC_RELAXED);
	return ct;
}

void fs_content_unref(struct fs_content *ct)
{
	if (ct == NULL || __atomic_sub_fetch(&ct->refs, 1, __ATOMIC_ACQ_REL))
		return;
	json_decref(ct->fields);
	free(ct->data);
	free(ct->error);
	free(ct);
}

struct fs_content *fs_cache_get(struct fs_cache *c, const char *key)
{
	struct cache_slot *s;
	struct fs_content *found = NULL;

	pthread_mutex_lock(&c->lock);
	for (s = c->buckets[key_hash(key) % c->n_buckets]; s; s = s->next) {
		if (!strcmp(s->ct->key, key)) {
			found = fs_content_ref(s->ct);
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

static void cache_grow(struct fs_cache *c)
{
	size_t n = c->n_buckets * 2, i;
	struct cache_slot **b = calloc(n, sizeof(*b));

	if (b == NULL)
		return;
	for (i = 0; i < c->n_buckets; i++) {
		struct cache_slot *s = c->buckets[i], *next;

		for (; s != NULL; s = next) {
			size_t h = key_hash(s->ct->key) % n;

			next = s->next;
			s->next = b[h];
			b[h] = s;
		}
	}
	free(c->buckets);
	c->buckets = b;
	c->n_buckets = n;
}

struct fs_content *fs_cache_put(struct fs_cache *c, struct fs_content *ct)
{
	struct cache_slot *s, **head;
	size_t cost = ct->len + sizeof(*ct) + strlen(ct->key);

	pthread_mutex_lock(&c->lock);
	head = &c->buckets[key_hash(ct->key) % c->n_buckets];
	for (s = *head; s != NULL; s = s->next) {
		if (!strcmp(s->ct->key, ct->key)) {
			struct fs_content *winner = fs_content_ref(s->ct);

			pthread_mutex_unlock(&c->lock);
			fs_content_unref(ct);
			return winner;
		}
	}

	if (c->bytes + cost <= c->max_bytes) {
		s = malloc(sizeof(*s));
		if (s != NULL) {
			s->ct = fs_content_ref(ct);
			s->next = *head;
			*head = s;
			c->bytes += cost;
			if (++c->n_entries > c->n_buckets)
				cache_grow(c);
		}
	}
	pthread_mutex_unlock(&c->lock);
	return ct;
}

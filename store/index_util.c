/* secprof index building blocks: arena, hash sets and tables, hashing. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "index_impl.h"

#define ARENA_CHUNK (1u << 20)

struct store_arena_chunk {
	struct store_arena_chunk *next;
	size_t size, used;
	max_align_t data[];
};

void *store_arena_alloc(struct store_arena *a, size_t size)
{
	struct store_arena_chunk *c = a->head;
	size_t need = (size + 15) & ~(size_t)15;
	size_t map;
	void *p;

	if (c != NULL && c->size - c->used >= need) {
		p = (char *)c->data + c->used;
		c->used += need;
		return p;
	}

	map = sizeof(*c) + need;
	if (map < ARENA_CHUNK)
		map = ARENA_CHUNK;
	c = mmap(NULL, map, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
	         -1, 0);
	if (c == MAP_FAILED)
		return NULL;
	c->size = map - sizeof(*c);
	c->used = need;

	/* A dedicated large chunk goes behind the current one, so the rest of
	 * the current chunk is still used for small allocations. */
	if (a->head != NULL && need > ARENA_CHUNK / 4) {
		c->next = a->head->next;
		a->head->next = c;
	} else {
		c->next = a->head;
		a->head = c;
	}
	return c->data;
}

char *store_arena_strndup(struct store_arena *a, const char *s, size_t len)
{
	char *p = store_arena_alloc(a, len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

void store_arena_release(struct store_arena *a)
{
	struct store_arena_chunk *c = a->head;

	while (c != NULL) {
		struct store_arena_chunk *next = c->next;

		munmap(c, sizeof(*c) + c->size);
		c = next;
	}
	a->head = NULL;
}

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static int set_grow(struct store_u64set *s)
{
	size_t cap = s->slots != NULL ? (s->mask + 1) * 2 : 64;
	uint64_t *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -ENOMEM;
	for (size_t i = 0; s->slots != NULL && i <= s->mask; i++) {
		uint64_t k = s->slots[i];
		size_t j;

		if (k == 0)
			continue;
		for (j = mix64(k) & (cap - 1); slots[j] != 0;)
			j = (j + 1) & (cap - 1);
		slots[j] = k;
	}
	free(s->slots);
	s->slots = slots;
	s->mask = cap - 1;
	return 0;
}

int store_u64set_add(struct store_u64set *s, uint64_t key)
{
	size_t i;

	if (key == 0)
		key = 1;
	if (s->slots == NULL || (s->count + 1) * 4 > (s->mask + 1) * 3) {
		if (set_grow(s) < 0)
			return -ENOMEM;
	}
	for (i = mix64(key) & s->mask; s->slots[i] != 0;
	     i = (i + 1) & s->mask) {
		if (s->slots[i] == key)
			return 0;
	}
	s->slots[i] = key;
	s->count++;
	return 1;
}

void store_u64set_free(struct store_u64set *s)
{
	free(s->slots);
	memset(s, 0, sizeof(*s));
}

void *store_ptable_find(const struct store_ptable *t, uint64_t hash,
                        bool (*eq)(const void *item, const void *key),
                        const void *key)
{
	if (t->slots == NULL)
		return NULL;
	for (size_t i = mix64(hash) & t->mask; t->slots[i] != NULL;
	     i = (i + 1) & t->mask) {
		if (t->hashes[i] == hash && eq(t->slots[i], key))
			return t->slots[i];
	}
	return NULL;
}

static void table_place(void **slots, uint64_t *hashes, size_t mask,
                        uint64_t hash, void *item)
{
	size_t i = mix64(hash) & mask;

	while (slots[i] != NULL)
		i = (i + 1) & mask;
	slots[i] = item;
	hashes[i] = hash;
}

static int table_resize(struct store_ptable *t, size_t cap)
{
	void **slots = calloc(cap, sizeof(*slots));
	uint64_t *hashes = calloc(cap, sizeof(*hashes));

	if (slots == NULL || hashes == NULL) {
		free(slots);
		free(hashes);
		return -ENOMEM;
	}
	for (size_t i = 0; t->slots != NULL && i <= t->mask; i++) {
		if (t->slots[i] != NULL)
			table_place(slots, hashes, cap - 1, t->hashes[i],
			            t->slots[i]);
	}
	free(t->slots);
	free(t->hashes);
	t->slots = slots;
	t->hashes = hashes;
	t->mask = cap - 1;
	return 0;
}

int store_ptable_insert(struct store_ptable *t, uint64_t hash, void *item)
{
	if (t->slots == NULL || (t->count + 1) * 4 > (t->mask + 1) * 3) {
		size_t cap = t->slots != NULL ? (t->mask + 1) * 2 : 64;

		if (table_resize(t, cap) < 0)
			return -ENOMEM;
	}
	table_place(t->slots, t->hashes, t->mask, hash, item);
	t->count++;
	return 0;
}

void store_ptable_filter(struct store_ptable *t,
                         bool (*keep)(const void *item, void *arg), void *arg)
{
	size_t cap = 64;
	struct store_ptable old = *t;

	if (t->slots == NULL)
		return;
	for (size_t i = 0; i <= old.mask; i++) {
		if (old.slots[i] != NULL && !keep(old.slots[i], arg)) {
			free(old.slots[i]);
			old.slots[i] = NULL;
			t->count--;
		}
	}
	while (cap * 3 < t->count * 4 + 4)
		cap *= 2;

	/* Rebuild: removing from a linear-probing table in place would break
	 * the probe chains of the items that remain. */
	t->slots = NULL;
	t->hashes = NULL;
	if (table_resize(t, cap) < 0) {
		/* Out of memory: drop everything, it is only a cache. */
		for (size_t i = 0; i <= old.mask; i++)
			free(old.slots[i]);
		t->count = 0;
		t->mask = 0;
	} else {
		for (size_t i = 0; i <= old.mask; i++) {
			if (old.slots[i] != NULL)
				table_place(t->slots, t->hashes, t->mask,
				            old.hashes[i], old.slots[i]);
		}
	}
	free(old.slots);
	free(old.hashes);
}

void store_ptable_free(struct store_ptable *t)
{
	for (size_t i = 0; t->slots != NULL && i <= t->mask; i++)
		free(t->slots[i]);
	free(t->slots);
	free(t->hashes);
	memset(t, 0, sizeof(*t));
}

uint64_t store_hash64(EVP_MD_CTX *ctx, const EVP_MD *md, const void *a,
                      size_t la, const void *b, size_t lb)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	uint64_t v = 0;

	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, la) != 1 ||
	    (lb > 0 && EVP_DigestUpdate(ctx, b, lb) != 1) ||
	    EVP_DigestFinal_ex(ctx, digest, NULL) != 1)
		return 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | digest[i];
	return v;
}

void store_quote(const char *s, char *out, size_t out_size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (o + 8 >= out_size) {
			memcpy(out + o, "...", 4);
			return;
		}
		if (c >= 0x20 && c < 0x7f && c != '\'' && c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		out[o++] = 'x';
		out[o++] = hex[c >> 4];
		out[o++] = hex[c & 15];
	}
	out[o] = '\0';
}

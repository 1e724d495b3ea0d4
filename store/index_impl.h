/* secprof profile index internals shared by the store's index_*.c files. */
#ifndef SECPROF_INDEX_IMPL_H
#define SECPROF_INDEX_IMPL_H

#include <pthread.h>
#include <stdatomic.h>

#include <git2.h>
#include <openssl/evp.h>

#include "index.h"

/* Offsets into a tag "<env>/<service>@<version>"; env starts at the tag. */
struct store_tag_parts {
	size_t env_len;
	const char *service;
	size_t service_len;
	const char *version;
	size_t version_len;
};

/*
 * Split and validate a tag name without allocating. Returns 0, or -EINVAL
 * when it does not fit the pattern (including the length limits).
 */
int store_split_tag(const char *tag, struct store_tag_parts *parts);

/* Bump allocator over anonymous mappings, released as a whole (munmap gives
 * the memory back to the system, which the daemon's RSS budget needs). */
struct store_arena_chunk;
struct store_arena {
	struct store_arena_chunk *head;
};

/* size bytes aligned to 16, or NULL when out of memory. */
void *store_arena_alloc(struct store_arena *a, size_t size);
/* A NUL-terminated copy of s[0..len), or NULL. */
char *store_arena_strndup(struct store_arena *a, const char *s, size_t len);
/* Unmap everything; the arena is empty and reusable after. */
void store_arena_release(struct store_arena *a);

/* Open-addressing set of 64-bit keys (0 is not a valid key). */
struct store_u64set {
	uint64_t *slots;
	size_t mask, count;
};

/* Returns 1 when added, 0 when present, -ENOMEM. */
int store_u64set_add(struct store_u64set *s, uint64_t key);
void store_u64set_free(struct store_u64set *s);

/*
 * Open-addressing table of items keyed by a 64-bit hash; items are compared
 * by the caller's function. Used for the resolution caches.
 */
struct store_ptable {
	void **slots;
	uint64_t *hashes;
	size_t mask, count;
};

/* The item with this hash for which eq(item, key) holds, or NULL. */
void *store_ptable_find(const struct store_ptable *t, uint64_t hash,
                        bool (*eq)(const void *item, const void *key),
                        const void *key);
/* Add an item (not checked for duplicates); the table owns it and frees
 * it with free(). Returns 0 or -ENOMEM. */
int store_ptable_insert(struct store_ptable *t, uint64_t hash, void *item);
/* Keep items for which keep() is true, free() the others. */
void store_ptable_filter(struct store_ptable *t,
                         bool (*keep)(const void *item, void *arg), void *arg);
/* Free every item and the table. */
void store_ptable_free(struct store_ptable *t);

/* A tag as listed, before resolution. */
struct store_ref {
	const char *tag; /* without refs/tags/ */
	git_oid target;  /* what the ref names: tag object or commit */
};

struct store_ref_list {
	struct store_ref *v; /* sorted by tag (strcmp), names unique */
	size_t n;
	struct store_arena strings;
};

/*
 * List the promotion tags: loose refs under refs/tags/ and packed-refs,
 * a loose ref shadowing a packed one. Names that break the conventions,
 * or name an environment not configured, are left out with one warning
 * each. Returns 0, or -errno with *err (packed-refs unreadable or
 * malformed: the build fails rather than lose every packed tag).
 */
int store_read_tags(struct store *st, struct store_ref_list *out,
                    struct sp_error **err);
/* Free the list and its names; l is empty after. */
void store_ref_list_free(struct store_ref_list *l);

/* Slot of an inode number in a snapshot's table (inode numbers of the root
 * and of hashed paths alike spread over the table). */
static inline size_t store_ino_slot(uint64_t ino, size_t mask)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 24) & mask;
}

static inline void free_git_object(git_object **o)
{
	git_object_free(*o);
}
#define _cleanup_git_object_ __attribute__((cleanup(free_git_object)))

static inline void free_git_tree(git_tree **t)
{
	git_tree_free(*t);
}
#define _cleanup_git_tree_ __attribute__((cleanup(free_git_tree)))

static inline void free_git_tree_entry(git_tree_entry **e)
{
	git_tree_entry_free(*e);
}
#define _cleanup_git_tree_entry_ __attribute__((cleanup(free_git_tree_entry)))

/* The first 8 bytes of SHA-256 over a then b (b may be NULL when lb is 0),
 * big-endian, as an integer; 0 if the digest fails. */
uint64_t store_hash64(EVP_MD_CTX *ctx, const EVP_MD *md, const void *a,
                      size_t la, const void *b, size_t lb);

/* A commit's tree and time, remembered across builds. */
struct commit_item {
	uint32_t used; /* build generation that last needed it */
	git_oid id;
	git_oid tree;
	int64_t time;
};

enum profile_status {
	PROFILE_OK,
	PROFILE_MISSING,
	PROFILE_DIRECTORY,
	PROFILE_SYMLINK,
	PROFILE_SUBMODULE,
	PROFILE_NOT_REGULAR,
	PROFILE_UNREADABLE,
};

/* The profile file of one service in one tree, remembered across builds. */
struct profile_item {
	uint32_t used;
	git_oid tree;
	enum profile_status status;
	git_oid blob;
	uint64_t size;
	char service[];
};

/*
 * A commit or blob id in hex, shared by every promotion that names it: a
 * large index has far fewer distinct commits and blobs than promotions.
 * The store's pool holds one reference while the id is in use; each entry
 * holds one per id it names.
 */
struct store_hex {
	atomic_uint refs;
	git_oid id;
	char hex[STORE_OID_HEX];
};

/* Drop the reference an entry holds on its hex id (a promotion's commit or
 * blob string); the last frees it. */
void store_hex_unref(const char *hex);

/*
 * One promotion with its file nodes. Entries are immutable once published
 * and shared by every snapshot that holds the same tag at the same target;
 * each snapshot holds one reference.
 */
struct store_entry {
	atomic_uint refs;
	uint32_t born;  /* build generation that created it */
	git_oid target; /* what the ref names directly: tag object or commit */
	uint32_t n_nodes; /* the .json file, and its .bpf twin when enabled */
	struct store_promotion prom;
	struct store_node nodes[];
};

/* Drop one reference; the last frees the entry. NULL is accepted. */
void store_entry_unref(struct store_entry *e);

/* A snapshot: entries by tag, the tree, and nodes by inode number. */
struct store_index {
	atomic_size_t refs;
	struct store_entry **entries; /* sorted by tag (strcmp) */
	size_t n_entries;
	struct store_node *root;
	const struct store_node **slots; /* by inode number */
	size_t mask;
	size_t n_nodes;
	struct store_arena arena; /* directories, links, arrays */
};

/* An open repository with what builds carry from one to the next. */
struct store {
	git_repository *repo;
	git_odb *odb; /* thread-safe; store_read_blob uses it unlocked */
	char *path;
	char *git_dir;
	char *profiles_dir; /* normalized, "" for the tree root */
	char **envs;
	size_t n_envs;
	bool with_bpf;
	int64_t opened;

	/* Everything below belongs to the thread that holds build_lock. */
	pthread_mutex_t build_lock;
	struct store_index *last; /* previous snapshot, for reuse */
	uint32_t generation;
	struct store_u64set warned;
	struct store_ptable commits;
	struct store_ptable profiles;
	struct store_ptable hexes; /* struct store_hex by id */
	EVP_MD_CTX *md_ctx;
	EVP_MD *sha256;
};

/*
 * Log a warning unless one with the same kind and key was logged by this
 * store. Only a hash of the key is kept, so hostile names cost 8 bytes.
 */
void store_warn_once(struct store *st, char kind, const void *key,
                     size_t key_len, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* Render a name from the repository for a log line: non-printable bytes
 * escaped, long names shortened. */
void store_quote(const char *s, char *out, size_t out_size);

/*
 * Build directories, links and the inode table of idx, whose sorted entries
 * are set. Entries born in the current generation are new: their inode
 * numbers may still move on collision. old is the previous snapshot or
 * NULL. Returns 0 or -ENOMEM.
 */
int store_tree_build(struct store *st, struct store_index *idx,
                     const struct store_index *old);

/*
 * store_watch_start, optionally without inotify: the stat poll alone, as
 * on file systems where inotify sees no changes (network mounts). For
 * tests of the fallback.
 */
int store_watch_start_mode(struct store *st, bool use_inotify,
                           struct store_watch **out, struct sp_error **err);

/*
 * Inode number candidate k (k = 0 first) of a node: the first 8 bytes of
 * SHA-256 over kind ('d' directory, 'l' link, 'f' profile file), ':', the
 * path, for a profile a NUL and its blob id, and "#k" when k > 0. Changing
 * this changes every inode number an upgraded daemon hands out.
 */
uint64_t store_node_ino(struct store *st, char kind, const char *path,
                        const char *blob, unsigned k);

#endif

/* secprof profile index: promotions found in a git repository's tags. */
#ifndef SECPROF_INDEX_H
#define SECPROF_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define STORE_OID_HEX 41 /* 40 hex digits and a NUL */

/* Root directory inode, as FUSE requires. */
#define STORE_ROOT_INO 1

/* One promotion tag <env>/<service>@<version> resolved to its profile. */
struct store_promotion {
	const char *env;
	const char *service; /* "nginx", "payments/api" */
	const char *version; /* "1.4.2" */
	const char *tag;     /* "prod/nginx@1.4.2" (without refs/tags/) */
	/* 40 hex digits; shared by the promotions of one commit or blob */
	const char *commit; /* peeled commit */
	const char *blob;   /* <service>.json blob in that commit */
	uint64_t size;      /* blob size in bytes */
	int64_t mtime;      /* annotated tag time, else commit time */
};

enum __attribute__((packed)) store_node_kind {
	STORE_NODE_DIR,     /* root, environment, or service namespace */
	STORE_NODE_PROFILE, /* <service>@<version>.json or .bpf */
	STORE_NODE_LINK,    /* <service>.json -> newest version */
};

enum __attribute__((packed)) store_format {
	STORE_FORMAT_NONE, /* directories */
	STORE_FORMAT_JSON,
	STORE_FORMAT_BPF,
};

/*
 * A node of the mounted tree. Nodes belong to one index snapshot and are
 * immutable; they stay valid while the caller holds a reference to it.
 *
 * Inode numbers are stable: a directory or link keeps its number across
 * refreshes and restarts (derived from its path); a profile file's number
 * also covers its content (path and blob), so a tag moved to other content
 * is a new inode and the kernel never mixes the old bytes with the new.
 */
struct store_node {
	uint64_t ino;
	uint64_t parent;  /* parent inode; the root is its own parent */
	const char *name; /* entry name in the parent; "" for the root */
	const char *path; /* path below the mount point, "" for the root */
	/* PROFILE: its promotion. LINK: the newest version it points at. */
	const struct store_promotion *promotion;
	/* A node is either a link or a directory (or neither): the two
	 * share their place, since a large index is mostly profile nodes
	 * and every byte of a node counts twice per promotion. */
	union {
		const char
		        *target; /* LINK: relative target, "nginx@1.4.2.json" */
		struct store_node **children; /* DIR: sorted by name (strcmp) */
	};
	int64_t mtime;
	const char *env;     /* environment the node is under, NULL for root */
	uint32_t n_children; /* DIR only; 0 for the other kinds */
	enum store_node_kind kind;
	enum store_format format;
};

struct store_options {
	const char *profiles_dir; /* NULL or "" for the tree root */
	const char *const *envs;  /* ordered environments, NULL-terminated */
	bool with_bpf;            /* add .bpf twins of profiles and links */
};

struct store;
struct store_index;

/*
 * Open the repository at path (bare or with a work tree) with libgit2.
 * Returns 0 and sets *out, or -errno with *err describing the failure.
 */
int store_open(struct store **out, const char *path,
               const struct store_options *opts, struct sp_error **err);
void store_close(struct store *st);

/* Path of the git directory (for watching), owned by the store. */
const char *store_git_dir(const struct store *st);

/*
 * Build a fresh index snapshot from the repository's current tags.
 * Tags that do not fit the pattern, or whose commit has no profile, are
 * skipped with one warning each (logged once per tag name for the life of
 * the store). Returns 0 and a snapshot holding one reference, or -errno.
 * Safe to call from one thread while other threads read older snapshots.
 */
int store_index_build(struct store *st, struct store_index **out,
                      struct sp_error **err);

/*
 * Snapshot references are atomic. A thread may take a reference only from
 * one it already holds or under the lock that guards the published
 * snapshot, never race it against the last unref. A snapshot owns all its
 * nodes and promotions and may outlive the store.
 */
struct store_index *store_index_ref(struct store_index *idx);
void store_index_unref(struct store_index *idx);

const struct store_node *store_index_root(const struct store_index *idx);
/* Node by inode number, or NULL. O(1). */
const struct store_node *store_index_find(const struct store_index *idx,
                                          uint64_t ino);
/* Child of a directory by entry name, or NULL. O(log n). */
const struct store_node *store_node_child(const struct store_node *dir,
                                          const char *name);
/* Number of promotions in the snapshot. */
size_t store_index_promotions(const struct store_index *idx);
/* Promotion by tag name, or NULL. */
const struct store_promotion *store_index_promotion(
        const struct store_index *idx, const char *tag);

/* Differences between two snapshots, for refresh records and invalidation. */
enum store_change_kind {
	STORE_CHANGE_APPEARED,
	STORE_CHANGE_VANISHED,
	STORE_CHANGE_MOVED, /* same tag, different content (blob) */
	/* same tag and content, different commit, or the same commit through
	 * another tag object (re-tagged: the mtime may differ) */
	STORE_CHANGE_RETARGETED,
};

struct store_change {
	enum store_change_kind kind;
	const struct store_promotion *old; /* NULL when appeared */
	const struct store_promotion *new; /* NULL when vanished */
};

/*
 * Compare two snapshots (old may be NULL). Calls fn once per changed tag in
 * tag-name order. Returns the number of changes.
 */
size_t store_index_diff(const struct store_index *old,
                        const struct store_index *new,
                        void (*fn)(const struct store_change *, void *),
                        void *arg);

/*
 * Read a blob's bytes. Returns 0 and a malloc'd buffer in *buf (caller
 * frees) with its length in *len, or -ENOENT / -EIO. Thread-safe.
 */
int store_read_blob(struct store *st, const char *blob_hex, void **buf,
                    size_t *len, struct sp_error **err);

/*
 * Watch the repository's refs (loose refs and packed-refs) for change.
 * store_watch_wait blocks until something changed, timeout_ms passed, or
 * store_watch_stop was called; returns 1 on change, 0 on timeout, -1 when
 * stopped. The watcher coalesces bursts of events.
 */
struct store_watch;
int store_watch_start(struct store *st, struct store_watch **out,
                      struct sp_error **err);
int store_watch_wait(struct store_watch *w, int timeout_ms);
void store_watch_stop(struct store_watch *w);
void store_watch_free(struct store_watch *w);

/*
 * Length limits of names (bytes). They keep every entry name of the mount,
 * "<last segment>@<version>.json", within NAME_MAX; longer names are
 * invalid like any other name that breaks the conventions.
 */
#define STORE_ENV_MAX 64
#define STORE_SEGMENT_MAX 100
#define STORE_SERVICE_MAX 255
#define STORE_VERSION_MAX 128
#define STORE_TAG_MAX                                                          \
	(STORE_ENV_MAX + 1 + STORE_SERVICE_MAX + 1 + STORE_VERSION_MAX)

/* Service, environment and version name rules from the repository
 * conventions. */
bool store_valid_service(const char *s);
bool store_valid_env(const char *s);
bool store_valid_version(const char *s);

/*
 * Split a tag name "<env>/<service>@<version>" (without refs/tags/) into
 * malloc'd parts. Returns 0, or -EINVAL when it does not fit the pattern.
 */
int store_parse_tag(const char *tag, char **env, char **service,
                    char **version);

/* Version precedence: <0, 0, >0. Semver where both parse, else natural. */
int store_version_cmp(const char *a, const char *b);

#endif

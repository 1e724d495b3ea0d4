/* secprofd content cache: delivered bytes by content key, refcounted. */
#ifndef SECPROF_CACHE_H
#define SECPROF_CACHE_H

#include <stddef.h>

#include <jansson.h>

#include "record.h"

/*
 * Bytes that an open delivers, with their SHA-256. A failed compile is
 * cached too (err != 0, error set), since it fails the same way every time
 * for the same source and settings.
 */
struct fs_content {
	unsigned long refs; /* atomic */
	unsigned char *data;
	size_t len;
	char sha256[RECORD_HASH_HEX];
	int err;        /* 0, or the positive errno an open fails with */
	char *error;    /* text for the access record when err != 0 */
	json_t *fields; /* extra record members (compile settings), or NULL */
	char key[];
};

struct fs_cache;

/* A cache that holds at most max_bytes of content. */
struct fs_cache *fs_cache_new(size_t max_bytes);
void fs_cache_free(struct fs_cache *c);

/* Content by key with a new reference, or NULL. */
struct fs_content *fs_cache_get(struct fs_cache *c, const char *key);

/*
 * Make content from data (copied), computing its SHA-256. Returns a new
 * object with one reference, or NULL on allocation failure.
 */
struct fs_content *fs_content_new(const char *key, const void *data,
                                  size_t len);
/* Content that records a failure instead of bytes. */
struct fs_content *fs_content_failed(const char *key, int err,
                                     const char *error);

/*
 * Insert content, returning the cached object with a new reference: the
 * given one, or an equal one another thread inserted first (the given
 * reference is then dropped). Content beyond the size limit is returned
 * as is, uncached.
 */
struct fs_content *fs_cache_put(struct fs_cache *c, struct fs_content *ct);

struct fs_content *fs_content_ref(struct fs_content *ct);
void fs_content_unref(struct fs_content *ct);

#endif

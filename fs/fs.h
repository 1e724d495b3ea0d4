/* secprofd: the daemon state shared by the FUSE operations and threads. */
#ifndef SECPROF_FS_H
#define SECPROF_FS_H

#define FUSE_USE_VERSION 312

#include <pthread.h>
#include <stdbool.h>

#include <fuse_lowlevel.h>

#include "auditlog.h"
#include "bpf.h"
#include "cache.h"
#include "index.h"

struct fs_daemon {
	struct store *store;
	struct audit_log *log;
	struct fuse_session *se;
	struct fs_cache *cache;
	/* What .bpf files are compiled for; fixed for the daemon's life. */
	struct bpf_settings bpf;
	char bpf_fingerprint[256];

	/* Open files and directories, so that shutdown can release the ones
	 * the kernel had no chance to. */
	pthread_mutex_t handles_lock;
	struct fs_handle *handles;

	pthread_mutex_t index_lock;
	struct store_index *index; /* current snapshot; swapped on refresh */

	const char *repo;
	const char *mountpoint; /* absolute, for access-record paths */

	/* Kernel cache lifetimes, seconds. */
	double profile_timeout; /* immutable version files */
	double dir_timeout;     /* directories and floating links */
};

/* What an open file or directory holds; fi->fh points at one. */
struct fs_handle {
	struct fs_handle *prev, *next;
	struct fs_content *ct;   /* file: the bytes it delivers */
	struct store_index *idx; /* directory: the snapshot it lists */
	const struct store_node *dir;
};

/* Release every handle still open (at shutdown, after the session). */
void fs_handles_release_all(struct fs_daemon *d);

/* The low-level operations table of the mount. */
extern const struct fuse_lowlevel_ops fs_ops;

/* The current index snapshot with a new reference; never NULL once the
 * daemon is running. */
struct store_index *fs_index_get(struct fs_daemon *d);

/*
 * Install a new snapshot (the reference is taken over) and return the old
 * one, whose reference passes to the caller.
 */
struct store_index *fs_index_swap(struct fs_daemon *d, struct store_index *idx);

/*
 * The bytes an open of node delivers: the blob for a .json file, the
 * compiled filter for a .bpf file, from the content cache when present.
 * Returns content with a reference (possibly a cached failure with err set),
 * or NULL when out of memory.
 */
struct fs_content *fs_content_for(struct fs_daemon *d,
                                  const struct store_node *node);

#endif

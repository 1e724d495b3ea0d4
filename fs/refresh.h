/* secprofd refresh: follow the repository's tags while mounted. */
#ifndef SECPROF_REFRESH_H
#define SECPROF_REFRESH_H

#include "fs.h"

struct fs_refresh;

/*
 * Start the thread that rebuilds the index when refs change, installs the
 * new snapshot, writes a refresh record and invalidates what the kernel
 * cached of changed entries. Returns 0 or -errno with *err set.
 */
int fs_refresh_start(struct fs_daemon *d, struct fs_refresh **out,
                     struct sp_error **err);

/* Rebuild now, from the calling thread. Returns the number of changes. */
size_t fs_refresh_once(struct fs_daemon *d);

/* Stop and join the thread; NULL is accepted. */
void fs_refresh_stop(struct fs_refresh *r);

#endif

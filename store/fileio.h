/* secprof file helpers shared by the daemon and the tool. */
#ifndef SECPROF_FILEIO_H
#define SECPROF_FILEIO_H

#include <stddef.h>

/*
 * Write all len bytes of buf to fd, retrying short writes and EINTR.
 * Returns 0, or -errno of the failed write (-EIO if write returned 0).
 * After a failure an unknown prefix of buf may have been written.
 */
int sp_write_all(int fd, const void *buf, size_t len);

#endif

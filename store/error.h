/* secprof error objects: an errno plus a message that callers extend. */
#ifndef SECPROF_ERROR_H
#define SECPROF_ERROR_H

#include <stdarg.h>

/*
 * A failure on a slow path (parsing, compiling, repository refresh).
 * Messages are lowercase: the operation, the object quoted, then the cause,
 * e.g. "open repository '/srv/profiles': not a git repository".
 */
struct sp_error {
	int errnum; /* positive errno value describing the class of failure */
	char *msg;  /* heap string, never NULL */
};

/*
 * Set *err (when err is not NULL and *err is still NULL) to a new error.
 * Returns -errnum so that callers can write "return sp_error_set(...)".
 */
int sp_error_set(struct sp_error **err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* As sp_error_set, appending ": strerror(errnum)" to the message. */
int sp_error_errno(struct sp_error **err, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/*
 * Prepend context to an existing error: "ctx: old message".
 * Returns -(*err)->errnum, or -EIO when there is no error to extend.
 */
int sp_error_prefix(struct sp_error **err, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Free an error; NULL is accepted. */
void sp_error_free(struct sp_error *err);

/* Cleanup helper for __attribute__((cleanup)). */
void sp_error_freep(struct sp_error **err);
#define _cleanup_error_ __attribute__((cleanup(sp_error_freep)))

#endif

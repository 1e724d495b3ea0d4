/* secprof error objects: construction, context and release. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"

static int error_setv(struct sp_error **err, int errnum, const char *suffix,
                      const char *fmt, va_list ap)
{
	struct sp_error *e;
	char *msg = NULL;

	if (errnum <= 0)
		errnum = EIO;
	if (err == NULL || *err != NULL)
		return -errnum;

	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg != NULL && suffix != NULL) {
		char *joined = NULL;

		if (asprintf(&joined, "%s: %s", msg, suffix) < 0)
			joined = NULL;
		free(msg);
		msg = joined;
	}

	e = calloc(1, sizeof(*e));
	if (e == NULL) {
		free(msg);
		return -errnum;
	}
	e->errnum = errnum;
	e->msg = msg != NULL ? msg : strdup("out of memory");
	*err = e;
	return -errnum;
}

int sp_error_set(struct sp_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = error_setv(err, errnum, NULL, fmt, ap);
	va_end(ap);
	return ret;
}

int sp_error_errno(struct sp_error **err, int errnum, const char *fmt, ...)
{
	va_list ap;
	int ret;

	va_start(ap, fmt);
	ret = error_setv(err, errnum, strerror(errnum), fmt, ap);
	va_end(ap);
	return ret;
}

int sp_error_prefix(struct sp_error **err, const char *fmt, ...)
{
	char *ctx = NULL, *joined = NULL;
	va_list ap;
	int r;

	if (err == NULL || *err == NULL)
		return -EIO;

	va_start(ap, fmt);
	r = vasprintf(&ctx, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -(*err)->errnum;

	if (asprintf(&joined, "%s: %s", ctx, (*err)->msg) >= 0) {
		free((*err)->msg);
		(*err)->msg = joined;
	}
	free(ctx);
	return -(*err)->errnum;
}

void sp_error_free(struct sp_error *err)
{
	if (err == NULL)
		return;
	free(err->msg);
	free(err);
}

void sp_error_freep(struct sp_error **err)
{
	sp_error_free(*err);
	*err = NULL;
}

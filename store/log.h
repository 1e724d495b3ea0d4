/* secprof diagnostics: one logging function with syslog levels. */
#ifndef SECPROF_LOG_H
#define SECPROF_LOG_H

#include <stdarg.h>
#include <syslog.h>

/*
 * Diagnostics are for operators and are separate from the access log,
 * which is data. Messages at or below the current level go to the sink:
 * stderr by default ("secprofd: warning: ..."), or syslog.
 */
void sp_log(int level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void sp_vlog(int level, const char *fmt, va_list ap);

/* Program name used as the stderr prefix and the syslog ident. */
void sp_log_init(const char *progname);

/* Highest level that is emitted (LOG_ERR .. LOG_DEBUG); default LOG_INFO. */
void sp_log_set_level(int level);

/* Route messages to syslog instead of stderr. */
void sp_log_use_syslog(void);

#endif

/* secprof diagnostics: level filter and stderr/syslog sinks. */
#include <pthread.h>
#include <stdio.h>

#include "log.h"

static const char *log_progname = "secprof";
static int log_level = LOG_INFO;
static int log_syslog;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *level_name(int level)
{
	switch (level) {
	case LOG_EMERG:
	case LOG_ALERT:
	case LOG_CRIT:
	case LOG_ERR:
		return "error: ";
	case LOG_WARNING:
		return "warning: ";
	case LOG_DEBUG:
		return "debug: ";
	default:
		return "";
	}
}

void sp_log_init(const char *progname)
{
	log_progname = progname;
}

void sp_log_set_level(int level)
{
	log_level = level;
}

void sp_log_use_syslog(void)
{
	openlog(log_progname, LOG_PID, LOG_DAEMON);
	log_syslog = 1;
}

void sp_vlog(int level, const char *fmt, va_list ap)
{
	if (level > log_level)
		return;
	if (log_syslog) {
		vsyslog(level, fmt, ap);
		return;
	}

	/* One lock so that lines from concurrent threads do not interleave. */
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s: %s", log_progname, level_name(level));
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&log_lock);
}

void sp_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sp_vlog(level, fmt, ap);
	va_end(ap);
}

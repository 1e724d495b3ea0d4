/* secprofd access-log writer: durable, hash-chained, group-committed. */
#ifndef SECPROF_AUDITLOG_H
#define SECPROF_AUDITLOG_H

#include <stdbool.h>

#include <jansson.h>

#include "error.h"

struct audit_log;

/*
 * Called once the record is on disk (err == 0) or could not be made
 * durable (err == -EIO), in seq order. It runs on the writer thread, its
 * completion thread, or — when the log was idle and the submitter wrote
 * the record itself — inside audit_log_submit, so the caller must not
 * hold a lock the callback takes. The callback may reply to a FUSE
 * request; it must not block.
 */
typedef void (*audit_done_fn)(void *arg, int err);

/*
 * Open (creating if needed, mode 0640) the log at path, read its last record
 * so that seq and the chain continue, and start the writer thread. A torn
 * tail from a crash is cut off with a warning. sync=false skips fdatasync.
 */
int audit_log_open(struct audit_log **out, const char *path, bool sync,
                   const char *host, struct sp_error **err);

/*
 * Queue a record. body holds the event fields (the writer adds seq, time,
 * event, host and prev); the reference is stolen, always. done is called
 * exactly once (possibly before this returns). Returns 0, or -EIO when the log
 * is closed, body is NULL or memory ran out (done is then not called).
 */
int audit_log_submit(struct audit_log *log, const char *event, json_t *body,
                     audit_done_fn done, void *arg);

/* Queue a record and wait until it is durable. Returns 0 or -EIO. */
int audit_log_write(struct audit_log *log, const char *event, json_t *body);

/*
 * Ask the writer to reopen the file at the same path (after logrotate).
 * Async-signal-safe. The chain continues into the new file.
 */
void audit_log_request_reopen(struct audit_log *log);

/* Records written since open. */
unsigned long audit_log_count(const struct audit_log *log);

/*
 * Batches written since open (one write and one fdatasync each); with
 * audit_log_count it shows how well group commit is grouping.
 */
unsigned long audit_log_batches(const struct audit_log *log);

/* Flush what is queued, stop the writer and close the file. */
void audit_log_close(struct audit_log *log);

#endif

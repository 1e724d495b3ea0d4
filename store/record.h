/* secprof access records: the JSON Lines format, its hash chain, and its
 * verification. */
#ifndef SECPROF_RECORD_H
#define SECPROF_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <jansson.h>

#include "error.h"

#define RECORD_HASH_HEX 65 /* 64 hex digits and a NUL */

/* The prev of the first record of an empty log. */
extern const char record_zero_hash[RECORD_HASH_HEX];

/*
 * Render one record as a line without its newline, keys in schema order:
 * seq, time, event, host, then the members of body in their order, then
 * prev. body is borrowed; its members must not use the reserved keys.
 * Returns a malloc'd NUL-terminated string, or NULL with errno ENOMEM on
 * allocation failure, EINVAL when body is not an object (NULL is an empty
 * body), carries a reserved key, or a string is not valid UTF-8.
 */
char *record_format(uint64_t seq, const struct timespec *when,
                    const char *event, const char *host, const json_t *body,
                    const char *prev);

/* True for the keys the writer sets itself: seq, time, event, host, prev. */
bool record_key_reserved(const char *key);

/* What chain checks need from one line. */
struct record_info {
	uint64_t seq;
	char prev[RECORD_HASH_HEX];
	char hash[RECORD_HASH_HEX]; /* of the line itself */
};

/*
 * Parse line[0..len) (no newline) as a record: a JSON object with a
 * positive integer seq and a 64-hex-digit prev. Returns 0, or -EBADMSG
 * with a short reason in why[0..whylen).
 */
int record_parse(const char *line, size_t len, struct record_info *info,
                 char *why, size_t whylen);

/*
 * The members of body (an object without reserved keys) as they appear in
 * a record: compact JSON without the enclosing braces, "" for an empty
 * object. Serialising the body apart from the rest lets a busy writer
 * spend its time only on what must be serial: seq, time and the chain.
 * Returns a malloc'd string, or NULL with errno EINVAL (not an object, a
 * reserved key) or ENOMEM.
 */
char *record_members(const json_t *body);

/*
 * Render a record line from members made by record_members, exactly as
 * record_format renders the same body. Returns a malloc'd string, or NULL
 * with errno EINVAL (event or host not valid UTF-8, prev not a hash) or
 * ENOMEM.
 */
char *record_line(uint64_t seq, const struct timespec *when, const char *event,
                  const char *host, const char *members, const char *prev);

/* SHA-256 of line[0..len) as lowercase hex into out. */
void record_hash(const char *line, size_t len, char out[RECORD_HASH_HEX]);

/* RFC 3339 UTC with microseconds: 2026-12-03T08:40:32.123456Z. */
void record_time(const struct timespec *when, char out[32]);

/*
 * State needed to continue a chain: the seq and hash of the last record.
 * An empty log gives seq 0 and record_zero_hash.
 */
struct record_tail {
	uint64_t seq;
	char hash[RECORD_HASH_HEX];
	off_t good_size; /* file size up to the last complete line */
	bool torn;       /* bytes after the last newline were found */
};

/*
 * Read the last complete record of the log at fd. Fails with -EBADMSG and
 * *err when that record is not a valid record (no continuation is possible
 * without trusting garbage).
 */
int record_read_tail(int fd, struct record_tail *tail, struct sp_error **err);

/*
 * Verify seq and chain over the files in order, as one log. Problems are
 * printed to out one per line, naming file:line and the seq involved.
 * Returns 0 when the chain is intact, 1 when broken, -errno when a file
 * could not be read. A one-line summary is printed on success.
 */
int record_verify(const char *const *files, size_t n, FILE *out,
                  struct sp_error **err);

#endif

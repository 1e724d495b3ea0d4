/* secprof access records: line format, hashing, and the tail of a log. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "record.h"

const char record_zero_hash[RECORD_HASH_HEX] =
        "0000000000000000000000000000000000000000000000000000000000000000";

/* Members the writer owns; a body carrying one could forge the chain. */
static const char *const reserved_keys[] = {"seq", "time", "event", "host",
                                            "prev"};

/* Backwards scan step, and the longest last record we accept. */
#define TAIL_CHUNK 65536
#define TAIL_MAX_LINE (64L << 20)

/* Every line the writer produces starts with this. */
static const char record_prefix[] = "{\"seq\":";

bool record_key_reserved(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(reserved_keys) / sizeof(reserved_keys[0]); i++)
		if (!strcmp(key, reserved_keys[i]))
			return true;
	return false;
}

void record_time(const struct timespec *when, char out[32])
{
	struct tm tm;
	time_t secs = when->tv_sec;
	size_t n;

	if (gmtime_r(&secs, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%06ldZ", (long)(when->tv_nsec / 1000));
}

void record_hash(const char *line, size_t len, char out[RECORD_HASH_HEX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;

	if (!EVP_Digest(line, len, md, &mdlen, EVP_sha256(), NULL) ||
	    mdlen != 32) {
		/* Never seen in practice; a hash nobody can match is safe. */
		memset(out, 'x', RECORD_HASH_HEX - 1);
		out[RECORD_HASH_HEX - 1] = '\0';
		return;
	}
	for (i = 0; i < mdlen; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * mdlen] = '\0';
}

static bool hash_valid(const char *hash)
{
	size_t i;

	for (i = 0; i < RECORD_HASH_HEX - 1; i++)
		if (!((hash[i] >= '0' && hash[i] <= '9') ||
		      (hash[i] >= 'a' && hash[i] <= 'f')))
			return false;
	return hash[i] == '\0';
}

char *record_members(const json_t *body)
{
	const char *key;
	json_t *value;
	char *text;
	size_t n;

	if (body == NULL || !json_is_object(body)) {
		errno = EINVAL;
		return NULL;
	}
	/* The cast only drops const: iteration does not modify body. */
	json_object_foreach((json_t *)body, key, value)
	{
		if (record_key_reserved(key)) {
			errno = EINVAL;
			return NULL;
		}
	}

	/* Compact output escapes control characters: never a raw newline. */
	text = json_dumps(body, JSON_COMPACT);
	if (text == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	n = strlen(text);
	if (n < 2 || text[0] != '{' || text[n - 1] != '}') {
		free(text);
		errno = EINVAL;
		return NULL;
	}
	memmove(text, text + 1, n - 2);
	text[n - 2] = '\0';
	return text;
}

/* A JSON string literal for s, or NULL (invalid UTF-8, out of memory). */
static char *json_literal(const char *s)
{
	json_auto_t *v = json_string(s);

	return v != NULL ? json_dumps(v, JSON_ENCODE_ANY) : NULL;
}

char *record_line(uint64_t seq, const struct timespec *when, const char *event,
                  const char *host, const char *members, const char *prev)
{
	char *ev = json_literal(event), *ho = json_literal(host);
	char *line = NULL;
	char stamp[32];

	if (ev == NULL || ho == NULL || seq > (uint64_t)LLONG_MAX ||
	    !hash_valid(prev)) {
		errno = EINVAL;
		goto out;
	}
	record_time(when, stamp);
	if (asprintf(
	            &line,
	            "{\"seq\":%llu,\"time\":\"%s\",\"event\":%s,\"host\":%s%s%s"
	            ",\"prev\":\"%s\"}",
	            (unsigned long long)seq, stamp, ev, ho,
	            members[0] != '\0' ? "," : "", members, prev) < 0) {
		line = NULL;
		errno = ENOMEM;
	}
out:
	free(ev);
	free(ho);
	return line;
}

char *record_format(uint64_t seq, const struct timespec *when,
                    const char *event, const char *host, const json_t *body,
                    const char *prev)
{
	json_auto_t *empty = json_object();
	char *members, *line;

	members = record_members(body != NULL ? body : empty);
	if (members == NULL)
		return NULL;
	line = record_line(seq, when, event, host, members, prev);
	free(members);
	return line;
}

int record_parse(const char *line, size_t len, struct record_info *info,
                 char *why, size_t whylen)
{
	json_auto_t *rec = NULL;
	json_error_t jerr;
	json_t *seq, *prev;

	rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (rec == NULL) {
		snprintf(why, whylen, "not valid JSON (%s at column %d)",
		         jerr.text, jerr.column);
		return -EBADMSG;
	}
	if (!json_is_object(rec)) {
		snprintf(why, whylen, "not a JSON object");
		return -EBADMSG;
	}
	seq = json_object_get(rec, "seq");
	if (!json_is_integer(seq) || json_integer_value(seq) < 1) {
		snprintf(why, whylen, "no positive integer seq");
		return -EBADMSG;
	}
	prev = json_object_get(rec, "prev");
	if (!json_is_string(prev) ||
	    json_string_length(prev) != RECORD_HASH_HEX - 1 ||
	    !hash_valid(json_string_value(prev))) {
		snprintf(why, whylen, "seq %lld: no valid prev hash",
		         (long long)json_integer_value(seq));
		return -EBADMSG;
	}

	info->seq = (uint64_t)json_integer_value(seq);
	memcpy(info->prev, json_string_value(prev), RECORD_HASH_HEX);
	record_hash(line, len, info->hash);
	return 0;
}

/*
 * Offset of the last '\n' in fd[floor..end), or -1 when there is none.
 * Reads backwards in chunks so that a multi-gigabyte log costs one chunk.
 */
static int scan_back(int fd, off_t floor, off_t end, off_t *found)
{
	char buf[TAIL_CHUNK];

	while (end > floor) {
		size_t want = end - floor < TAIL_CHUNK ? (size_t)(end - floor)
		                                       : TAIL_CHUNK;
		off_t at = end - (off_t)want;
		ssize_t n = pread(fd, buf, want, at);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((size_t)n != want)
			return -EIO; /* the file shrank under us */
		nl = memrchr(buf, '\n', want);
		if (nl != NULL) {
			*found = at + (nl - buf);
			return 0;
		}
		end = at;
	}
	*found = -1;
	return 0;
}

static int read_exact(int fd, char *buf, size_t len, off_t at)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, at + done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		done += n;
	}
	return 0;
}

/*
 * Bytes after the last newline are only cut when they look like what a
 * crash leaves: the start of a record, possibly after NUL bytes (blocks
 * allocated but never written). Anything else means the path names some
 * other file, which must not be truncated.
 */
static int check_torn(int fd, off_t at, off_t end, struct sp_error **err)
{
	char buf[4096];
	size_t len = end - at < (off_t)sizeof(buf) ? (size_t)(end - at)
	                                           : sizeof(buf);
	size_t i = 0;
	int r;

	r = read_exact(fd, buf, len, at);
	if (r < 0)
		return sp_error_errno(err, -r, "read the end");
	while (i < len && buf[i] == '\0')
		i++;
	if (i == len)
		return 0;
	if (memcmp(buf + i, record_prefix,
	           len - i < sizeof(record_prefix) - 1
	                   ? len - i
	                   : sizeof(record_prefix) - 1))
		return sp_error_set(err, EBADMSG,
		                    "ends in %lld bytes that are not part "
		                    "of a record",
		                    (long long)(end - at));
	return 0;
}

int record_read_tail(int fd, struct record_tail *tail, struct sp_error **err)
{
	struct record_info info;
	off_t last_nl, prev_nl, floor;
	struct stat st;
	char why[160];
	char *line;
	size_t len;
	int r;

	memset(tail, 0, sizeof(*tail));
	memcpy(tail->hash, record_zero_hash, RECORD_HASH_HEX);
	if (fstat(fd, &st) < 0)
		return sp_error_errno(err, errno, "stat");

	r = scan_back(fd, 0, st.st_size, &last_nl);
	if (r < 0)
		return sp_error_errno(err, -r, "read the last record");
	tail->good_size = last_nl + 1;
	tail->torn = tail->good_size < st.st_size;
	if (tail->torn) {
		r = check_torn(fd, tail->good_size, st.st_size, err);
		if (r < 0)
			return r;
	}
	if (last_nl < 0)
		return 0;

	floor = last_nl > TAIL_MAX_LINE ? last_nl - TAIL_MAX_LINE : 0;
	r = scan_back(fd, floor, last_nl, &prev_nl);
	if (r < 0)
		return sp_error_errno(err, -r, "read the last record");
	if (prev_nl < 0 && floor > 0)
		return sp_error_set(err, EBADMSG,
		                    "last record is longer than %ld bytes",
		                    TAIL_MAX_LINE);

	len = last_nl - (prev_nl + 1);
	line = malloc(len ? len : 1);
	if (line == NULL)
		return sp_error_errno(err, ENOMEM, "read the last record");
	r = read_exact(fd, line, len, prev_nl + 1);
	if (r == 0)
		r = record_parse(line, len, &info, why, sizeof(why));
	free(line);
	if (r == -EBADMSG)
		return sp_error_set(err, EBADMSG,
		                    "last record (at byte %lld) is not a "
		                    "valid record: %s",
		                    (long long)(prev_nl + 1), why);
	if (r < 0)
		return sp_error_errno(err, -r, "read the last record");

	tail->seq = info.seq;
	memcpy(tail->hash, info.hash, RECORD_HASH_HEX);
	return 0;
}

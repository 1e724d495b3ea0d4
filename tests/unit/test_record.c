/* Unit tests of access records: format, hashing, tail reading, verify. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "record.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/secprof-record.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *path_of(const char *name)
{
	static char buf[4][128];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, 128, "%s/%s", dir, name);
	return p;
}

/* A log in memory: n lines of records seq first.., chained from prev. */
struct lines {
	char *line[64];
	size_t n;
};

static void gen(struct lines *l, uint64_t first, size_t n, const char *prev)
{
	char hash[RECORD_HASH_HEX];
	struct timespec t = {1796287232, 0};
	size_t i;

	memcpy(hash, prev, RECORD_HASH_HEX);
	for (i = 0; i < n; i++) {
		json_t *body = json_pack("{s:s, s:i}", "path", "/p/x.json",
		                         "pid", (int)(100 + i));

		t.tv_nsec = (long)i * 1000;
		l->line[l->n] = record_format(first + i, &t, "open", "host1",
		                              body, hash);
		assert_non_null(l->line[l->n]);
		record_hash(l->line[l->n], strlen(l->line[l->n]), hash);
		l->n++;
		json_decref(body);
	}
}

static void last_hash(const struct lines *l, char out[RECORD_HASH_HEX])
{
	record_hash(l->line[l->n - 1], strlen(l->line[l->n - 1]), out);
}

static void put(const char *path, const struct lines *l)
{
	FILE *f = fopen(path, "w");
	size_t i;

	assert_non_null(f);
	for (i = 0; i < l->n; i++)
		fprintf(f, "%s\n", l->line[i]);
	fclose(f);
}

static void drop(struct lines *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->line[i]);
	l->n = 0;
}

/* Run record_verify; returns its result, output in *out (caller frees). */
static int verify(char **out, size_t n, ...)
{
	const char *files[8];
	struct sp_error *err = NULL;
	size_t len, i;
	va_list ap;
	FILE *f;
	int r;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		files[i] = va_arg(ap, const char *);
	va_end(ap);
	f = open_memstream(out, &len);
	r = record_verify(files, n, f, &err);
	fclose(f);
	if (r < 0) {
		assert_non_null(err);
		free(*out);
		*out = strdup(err->msg);
		sp_error_free(err);
	}
	return r;
}

static void expect_in(const char *out, const char *needle)
{
	if (strstr(out, needle) == NULL)
		fail_msg("expected \"%s\" in:\n%s", needle, out);
}

static void test_format_layout(void **state)
{
	struct timespec t = {1796287232, 123456789};
	json_t *body = json_pack("{s:s, s:s, s:n}", "path", "/run/a\"b",
	                         "result", "ok", "error");
	char *line =
	        record_format(7, &t, "open", "node-1", body, record_zero_hash);

	assert_non_null(line);
	assert_string_equal(
	        line, "{\"seq\":7,\"time\":\"2026-12-03T08:40:32.123456Z\","
	              "\"event\":\"open\",\"host\":\"node-1\",\"path\":"
	              "\"/run/a\\\"b\",\"result\":\"ok\",\"error\":null,"
	              "\"prev\":\"0000000000000000000000000000000000000000"
	              "000000000000000000000000\"}");
	free(line);
	json_decref(body);
}

static void test_format_newline_escaped(void **state)
{
	struct timespec t = {0, 0};
	json_t *body = json_pack("{s:s}", "cmdline", "a\nb\rc");
	char *line = record_format(1, &t, "open", "h", body, record_zero_hash);

	assert_non_null(line);
	assert_null(strchr(line, '\n'));
	assert_null(strchr(line, '\r'));
	expect_in(line, "\"time\":\"1970-01-01T00:00:00.000000Z\"");
	free(line);
	json_decref(body);
}

static void test_format_rejects_reserved(void **state)
{
	static const char *const keys[] = {"seq", "time", "event", "host",
	                                   "prev"};
	struct timespec t = {0, 0};
	json_t *arr = json_array();
	size_t i;
	char *line;

	for (i = 0; i < 5; i++) {
		json_t *body = json_pack("{s:s, s:s}", "path", "/x", keys[i],
		                         "forged");

		errno = 0;
		assert_null(record_format(1, &t, "open", "h", body,
		                          record_zero_hash));
		assert_int_equal(errno, EINVAL);
		json_decref(body);
	}
	errno = 0;
	assert_null(record_format(1, &t, "open", "h", arr, record_zero_hash));
	assert_int_equal(errno, EINVAL);
	json_decref(arr);

	line = record_format(1, &t, "stop", "h", NULL, record_zero_hash);
	assert_non_null(line);
	expect_in(line, "\"host\":\"h\",\"prev\"");
	free(line);
}

static void test_hash_vector(void **state)
{
	char out[RECORD_HASH_HEX];

	record_hash("abc", 3, out);
	assert_string_equal(out, "ba7816bf8f01cfea414140de5dae2223b00361a3"
	                         "96177a9cb410ff61f20015ad");
}

static void test_parse(void **state)
{
	struct record_info info;
	char why[160], *line;
	struct timespec t = {0, 0};

	line = record_format(42, &t, "open", "h", NULL, record_zero_hash);
	assert_int_equal(
	        record_parse(line, strlen(line), &info, why, sizeof(why)), 0);
	assert_int_equal(info.seq, 42);
	assert_string_equal(info.prev, record_zero_hash);
	free(line);

	assert_int_equal(record_parse("{\"seq\":1", 8, &info, why, sizeof(why)),
	                 -EBADMSG);
	expect_in(why, "not valid JSON");
	assert_int_equal(
	        record_parse("{\"seq\":\"1\"}", 11, &info, why, sizeof(why)),
	        -EBADMSG);
	expect_in(why, "no positive integer seq");
	assert_int_equal(record_parse("{\"seq\":3,\"prev\":\"ab\"}", 21, &info,
	                              why, sizeof(why)),
	                 -EBADMSG);
	expect_in(why, "seq 3: no valid prev");
}

static int tail_of(const char *path, struct record_tail *tail, char **msg)
{
	struct sp_error *err = NULL;
	int fd = open(path, O_RDONLY);
	int r;

	assert_true(fd >= 0);
	r = record_read_tail(fd, tail, &err);
	close(fd);
	*msg = NULL;
	if (err != NULL) {
		*msg = strdup(err->msg);
		sp_error_free(err);
	}
	return r;
}

static void append_raw(const char *path, const char *bytes, size_t len)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, len), (ssize_t)len);
	close(fd);
}

static void test_tail_empty_and_intact(void **state)
{
	struct lines l = {0};
	struct record_tail tail;
	char hash[RECORD_HASH_HEX], *msg;
	const char *p = path_of("tail1");

	append_raw(p, "", 0);
	assert_int_equal(tail_of(p, &tail, &msg), 0);
	assert_int_equal(tail.seq, 0);
	assert_string_equal(tail.hash, record_zero_hash);
	assert_false(tail.torn);

	gen(&l, 1, 5, record_zero_hash);
	put(p, &l);
	last_hash(&l, hash);
	assert_int_equal(tail_of(p, &tail, &msg), 0);
	assert_int_equal(tail.seq, 5);
	assert_string_equal(tail.hash, hash);
	assert_false(tail.torn);
	drop(&l);
}

static void test_tail_torn(void **state)
{
	struct lines l = {0};
	struct record_tail tail;
	char hash[RECORD_HASH_HEX], *msg;
	const char *p = path_of("tail2");
	struct stat st;
	static const char nuls[100];

	gen(&l, 1, 3, record_zero_hash);
	put(p, &l);
	last_hash(&l, hash);
	assert_int_equal(stat(p, &st), 0);

	append_raw(p, "{\"seq\":4,\"ti", 12);
	assert_int_equal(tail_of(p, &tail, &msg), 0);
	assert_true(tail.torn);
	assert_int_equal(tail.good_size, st.st_size);
	assert_int_equal(tail.seq, 3);
	assert_string_equal(tail.hash, hash);

	/* Blocks allocated by a crash but never written read as NULs. */
	assert_int_equal(truncate(p, st.st_size), 0);
	append_raw(p, nuls, sizeof(nuls));
	assert_int_equal(tail_of(p, &tail, &msg), 0);
	assert_true(tail.torn);
	assert_int_equal(tail.seq, 3);

	/* Not a crash remnant: refuse to treat it as cuttable. */
	assert_int_equal(truncate(p, st.st_size), 0);
	append_raw(p, "hello world", 11);
	assert_int_equal(tail_of(p, &tail, &msg), -EBADMSG);
	expect_in(msg, "not part of a record");
	free(msg);

	/* Only a partial first record: an empty log. */
	p = path_of("tail3");
	append_raw(p, "{\"se", 4);
	assert_int_equal(tail_of(p, &tail, &msg), 0);
	assert_true(tail.torn);
	assert_int_equal(tail.good_size, 0);
	assert_int_equal(tail.seq, 0);
	drop(&l);
}

static void test_tail_invalid_last_line(void **state)
{
	struct lines l = {0};
	struct record_tail tail;
	char *msg;
	const char *p = path_of("tail4");

	gen(&l, 1, 2, record_zero_hash);
	put(p, &l);
	append_raw(p, "root:x:0:0:root:/root:/bin/bash\n", 32);
	assert_int_equal(tail_of(p, &tail, &msg), -EBADMSG);
	expect_in(msg, "last record (at byte");
	expect_in(msg, "is not a valid record: not valid JSON");
	free(msg);

	p = path_of("tail5");
	append_raw(p, "{\"seq\":0,\"prev\":\"x\"}\n", 21);
	assert_int_equal(tail_of(p, &tail, &msg), -EBADMSG);
	expect_in(msg, "no positive integer seq");
	free(msg);
	drop(&l);
}

/* A last record longer than the backward-read chunk, and a big file. */
static void test_tail_long_lines(void **state)
{
	struct timespec t = {0, 0};
	char hash[RECORD_HASH_HEX], *big, *line, *msg;
	struct record_tail tail;
	const char *p = path_of("tail6");
	json_t *body;
	int i, fd;

	big = malloc(300001);
	memset(big, 'a', 300000);
	big[300000] = '\0';
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	memcpy(hash, record_zero_hash, RECORD_HASH_HEX);
	for (i = 1; i <= 4; i++) {
		body = json_pack("{s:s}", "cmdline", big);
		line = record_format(i, &t, "open", "h", body, hash);
		record_hash(line, strlen(line), hash);
		assert_int_equal(write(fd, line, strlen(line)),
		                 (ssize_t)strlen(line));
		assert_int_equal(write(fd, "\n", 1), 1);
		free(line);
		json_decref(body);
	}
	close(fd);
	assert_int_equal(tail_of(p, &tail, &msg), 0);
	assert_int_equal(tail.seq, 4);
	assert_string_equal(tail.hash, hash);
	free(big);
}

static void test_verify_intact(void **state)
{
	struct lines l = {0};
	char hash[RECORD_HASH_HEX], *out;
	const char *p = path_of("v-intact");

	gen(&l, 1, 10, record_zero_hash);
	put(p, &l);
	last_hash(&l, hash);
	assert_int_equal(verify(&out, 1, p), 0);
	expect_in(out, "intact: 10 records, 1 file, seq 1..10, last hash ");
	expect_in(out, hash);
	assert_null(strstr(out, "chain starts"));
	free(out);
	drop(&l);

	p = path_of("v-empty");
	append_raw(p, "", 0);
	assert_int_equal(verify(&out, 1, p), 0);
	expect_in(out, "intact: 0 records");
	free(out);
}

static void test_verify_edited_value(void **state)
{
	struct lines l = {0};
	const char *p = path_of("v-edit");
	char *out, *at;

	gen(&l, 1, 10, record_zero_hash);
	at = strstr(l.line[4], "\"pid\":104");
	at[8] = '5'; /* seq 5 now claims pid 105 */
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-edit:5: record seq 5 was modified (its hash does not "
	               "match the prev of seq 6 at ");
	expect_in(out, "broken: 1 problem in 10 records");
	free(out);
	drop(&l);
}

static void test_verify_edited_json(void **state)
{
	struct lines l = {0};
	const char *p = path_of("v-edit-json");
	char *out;

	gen(&l, 1, 10, record_zero_hash);
	l.line[6][0] = '['; /* seq 7 is no longer JSON */
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out,
	          "v-edit-json:7: record seq 7 is damaged: not valid JSON");
	expect_in(out, "(record modified)");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);
}

static void test_verify_edited_prev_and_seq(void **state)
{
	struct lines l = {0};
	const char *p = path_of("v-edit-prev");
	char *out, *at;

	gen(&l, 1, 10, record_zero_hash);
	at = strstr(l.line[3], "\"prev\":\"") + 8;
	*at = *at == 'a' ? 'b' : 'a'; /* seq 4's prev */
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-edit-prev:4: record seq 4 was modified (it links to "
	               "neither neighbour)");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);

	p = path_of("v-edit-seq");
	gen(&l, 1, 10, record_zero_hash);
	memcpy(l.line[2], "{\"seq\":9", 8); /* seq 3 -> 9 */
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-edit-seq:3: seq 9 where 3 was expected (record seq 3 "
	               "modified)");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);
}

static void remove_line(struct lines *l, size_t i)
{
	free(l->line[i]);
	memmove(&l->line[i], &l->line[i + 1],
	        (l->n - i - 1) * sizeof(l->line[0]));
	l->n--;
}

static void insert_line(struct lines *l, size_t i, char *line)
{
	memmove(&l->line[i + 1], &l->line[i], (l->n - i) * sizeof(l->line[0]));
	l->line[i] = line;
	l->n++;
}

static void test_verify_deleted(void **state)
{
	struct lines l = {0};
	const char *p = path_of("v-del");
	char *out;

	gen(&l, 1, 10, record_zero_hash);
	remove_line(&l, 6); /* seq 7 */
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-del:7: seq jumps from 6 to 8 (record seq 7 deleted)");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);

	p = path_of("v-del3");
	gen(&l, 1, 10, record_zero_hash);
	remove_line(&l, 2);
	remove_line(&l, 2);
	remove_line(&l, 2); /* seq 3..5 */
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-del3:3: seq jumps from 2 to 6 (records seq 3..5 "
	               "deleted)");
	free(out);
	drop(&l);
}

static void test_verify_swapped(void **state)
{
	struct lines l = {0};
	const char *p = path_of("v-swap");
	char *out, *t;

	gen(&l, 1, 10, record_zero_hash);
	t = l.line[4];
	l.line[4] = l.line[5];
	l.line[5] = t; /* seq 6 on line 5, seq 5 on line 6 */
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-swap:6: seq 5 after seq 6 (records reordered: this "
	               "line and ");
	expect_in(out, "v-swap:5 are swapped)");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);
}

static void test_verify_moved(void **state)
{
	struct lines l = {0};
	const char *p = path_of("v-move");
	char *out, *t;

	gen(&l, 1, 12, record_zero_hash);
	t = l.line[2]; /* seq 3 moves to after seq 8 */
	memmove(&l.line[2], &l.line[3], 6 * sizeof(l.line[0]));
	l.line[8] = t;
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-move:9: seq 3 after seq 9 (records reordered: its "
	               "place is before seq 4 at ");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);

	p = path_of("v-move-fwd");
	gen(&l, 1, 12, record_zero_hash);
	t = l.line[8]; /* seq 9 moves to after seq 2 */
	memmove(&l.line[3], &l.line[2], 6 * sizeof(l.line[0]));
	l.line[2] = t;
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-move-fwd:3: seq 9 is out of order: its place is "
	               "between seq 8 and seq 10 at ");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);
}

static void test_verify_inserted(void **state)
{
	struct timespec t = {0, 0};
	char hash[RECORD_HASH_HEX], *out;
	struct lines l = {0};
	const char *p = path_of("v-ins");

	/* A copy of an earlier record. */
	gen(&l, 1, 10, record_zero_hash);
	insert_line(&l, 7, strdup(l.line[2]));
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-ins:8: seq 3 after seq 7: a record with this seq is "
	               "already in the chain (record inserted)");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);

	/* A forged record that links correctly, before the real seq 5. */
	p = path_of("v-forge");
	gen(&l, 1, 10, record_zero_hash);
	record_hash(l.line[3], strlen(l.line[3]), hash);
	insert_line(&l, 4, record_format(5, &t, "open", "evil", NULL, hash));
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-forge:5: seq 5 does not belong here: the record at "
	               "");
	expect_in(out, "v-forge:6 has the same seq and continues the chain "
	               "(record inserted)");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);

	/* A line that is not a record at all. */
	p = path_of("v-junk");
	gen(&l, 1, 10, record_zero_hash);
	insert_line(&l, 4, strdup("hello"));
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-junk:5: not a record: not valid JSON");
	expect_in(out, "(line inserted)");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);

	/* A record with a seq far beyond the log. */
	p = path_of("v-far");
	gen(&l, 1, 10, record_zero_hash);
	insert_line(&l, 4, record_format(99, &t, "open", "evil", NULL, hash));
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-far:5: seq 99 does not fit the chain (record "
	               "inserted)");
	expect_in(out, "broken: 1 problem");
	free(out);
	drop(&l);
}

static void test_verify_files(void **state)
{
	struct lines a = {0}, b = {0}, c = {0};
	char hash[RECORD_HASH_HEX], *out;
	const char *pa = path_of("log.2"), *pb = path_of("log.1");
	const char *pc = path_of("log");

	gen(&a, 1, 5, record_zero_hash);
	last_hash(&a, hash);
	gen(&b, 6, 5, hash);
	last_hash(&b, hash);
	gen(&c, 11, 5, hash);
	put(pa, &a);
	put(pb, &b);
	put(pc, &c);

	assert_int_equal(verify(&out, 3, pa, pb, pc), 0);
	expect_in(out, "intact: 15 records, 3 files, seq 1..15");
	free(out);

	assert_int_equal(verify(&out, 2, pb, pc), 0);
	expect_in(out, "intact: 10 records, 2 files, seq 6..15");
	expect_in(out, "chain starts at seq 6; earlier files not given");
	free(out);

	/* The middle file is missing: the gap falls between two files. */
	assert_int_equal(verify(&out, 2, pa, pc), 1);
	expect_in(out, "/log:1: seq jumps from 5 to 11 (records seq 6..10 "
	               "deleted; is a rotated file missing?)");
	free(out);

	assert_int_equal(verify(&out, 2, pb, pa), 1);
	expect_in(out, "log.2:1: seq 1 after seq 10: a new log starts here");
	free(out);

	/* A file that ends in an incomplete line is reported. */
	append_raw(pb, "{\"seq\":11", 9);
	assert_int_equal(verify(&out, 3, pa, pb, pc), 1);
	expect_in(out, "log.1:6: incomplete last line: not valid JSON");
	expect_in(out, "(a write was cut short)");
	free(out);

	assert_int_equal(verify(&out, 2, pa, path_of("nonexistent")), -ENOENT);
	expect_in(out, "open '");
	expect_in(out, "nonexistent': No such file or directory");
	free(out);
	drop(&a);
	drop(&b);
	drop(&c);
}

static void test_verify_start(void **state)
{
	struct lines l = {0};
	const char *p = path_of("v-zero");
	char *out;

	gen(&l, 3, 4, record_zero_hash);
	put(p, &l);
	assert_int_equal(verify(&out, 1, p), 1);
	expect_in(out, "v-zero:1: seq 3: prev is zero, which only the first "
	               "record (seq 1) of a log may have");
	free(out);
	drop(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_format_layout),
	        cmocka_unit_test(test_format_newline_escaped),
	        cmocka_unit_test(test_format_rejects_reserved),
	        cmocka_unit_test(test_hash_vector),
	        cmocka_unit_test(test_parse),
	        cmocka_unit_test(test_tail_empty_and_intact),
	        cmocka_unit_test(test_tail_torn),
	        cmocka_unit_test(test_tail_invalid_last_line),
	        cmocka_unit_test(test_tail_long_lines),
	        cmocka_unit_test(test_verify_intact),
	        cmocka_unit_test(test_verify_edited_value),
	        cmocka_unit_test(test_verify_edited_json),
	        cmocka_unit_test(test_verify_edited_prev_and_seq),
	        cmocka_unit_test(test_verify_deleted),
	        cmocka_unit_test(test_verify_swapped),
	        cmocka_unit_test(test_verify_moved),
	        cmocka_unit_test(test_verify_inserted),
	        cmocka_unit_test(test_verify_files),
	        cmocka_unit_test(test_verify_start),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

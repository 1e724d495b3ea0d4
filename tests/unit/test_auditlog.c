/* Unit tests of the access-log writer: chain, group commit, failures. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "auditlog.h"
#include "record.h"

static char dir[64];

static int setup(void **state)
{
	strcpy(dir, "/tmp/secprof-auditlog.XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	char cmd[128], mnt[128];

	/* A failed assertion in the disk-full test leaves its tmpfs behind. */
	snprintf(mnt, sizeof(mnt), "%s/tiny", dir);
	umount2(mnt, MNT_DETACH);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static char *path_of(const char *name)
{
	static char buf[8][160];
	static int next;
	char *p = buf[next++ % 8];

	snprintf(p, 160, "%s/%s", dir, name);
	return p;
}

static struct audit_log *open_log(const char *path, bool sync)
{
	struct sp_error *err = NULL;
	struct audit_log *log = NULL;

	if (audit_log_open(&log, path, sync, "unit-host", &err) != 0)
		fail_msg("audit_log_open: %s", err ? err->msg : "?");
	return log;
}

static json_t *body(int i)
{
	return json_pack("{s:s, s:i}", "path", "/run/secprof/prod/x.json",
	                 "pid", i);
}

/* record_verify over files; the output must contain want. */
static int verify_files(const char *want, size_t n, ...)
{
	const char *files[4];
	struct sp_error *err = NULL;
	char *out = NULL;
	size_t len, i;
	va_list ap;
	FILE *f;
	int r;

	va_start(ap, n);
	for (i = 0; i < n; i++)
		files[i] = va_arg(ap, const char *);
	va_end(ap);
	f = open_memstream(&out, &len);
	r = record_verify(files, n, f, &err);
	fclose(f);
	if (r < 0)
		fail_msg("record_verify: %s", err->msg);
	if (want != NULL && strstr(out, want) == NULL)
		fail_msg("expected \"%s\" in:\n%s", want, out);
	free(out);
	return r;
}

static size_t count_lines(const char *path, bool *ends_in_newline)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c, last = '\n';

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF) {
		if (c == '\n')
			n++;
		last = c;
	}
	fclose(f);
	if (ends_in_newline != NULL)
		*ends_in_newline = last == '\n';
	return n;
}

static void test_chain_across_restart(void **state)
{
	const char *p = path_of("sub/dir/restart.log");
	struct audit_log *log;
	struct stat st;
	mode_t mask;
	int i;

	log = open_log(p, true);
	for (i = 0; i < 3; i++)
		assert_int_equal(audit_log_write(log, "open", body(i)), 0);
	assert_int_equal(audit_log_count(log), 3);
	audit_log_close(log);

	mask = umask(0);
	umask(mask);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640 & ~mask);
	assert_int_equal(stat(path_of("sub/dir"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0750 & ~mask);

	log = open_log(p, false);
	assert_int_equal(audit_log_write(log, "start", json_object()), 0);
	assert_int_equal(audit_log_write(log, "open", body(9)), 0);
	audit_log_close(log);

	assert_int_equal(
	        verify_files("intact: 5 records, 1 file, seq 1..5", 1, p), 0);
}

struct worker {
	struct audit_log *log;
	int n;
	int failures;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	int i;

	for (i = 0; i < w->n; i++)
		if (audit_log_write(w->log, "open", body(i)) != 0)
			w->failures++;
	return NULL;
}

static void run_workers(struct audit_log *log, int threads, int each)
{
	pthread_t tid[64];
	struct worker w[64];
	int i;

	for (i = 0; i < threads; i++) {
		w[i] = (struct worker){log, each, 0};
		assert_int_equal(
		        pthread_create(&tid[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		assert_int_equal(w[i].failures, 0);
	}
}

/* Times are taken by the writer, so they never decrease along seq. */
static void check_times_monotone(const char *path)
{
	FILE *f = fopen(path, "r");
	char last[40] = "", *line = NULL;
	size_t cap = 0;

	assert_non_null(f);
	while (getline(&line, &cap, f) > 0) {
		json_t *rec = json_loads(line, 0, NULL);
		const char *t = json_string_value(json_object_get(rec, "time"));

		assert_non_null(t);
		assert_true(strcmp(last, t) <= 0);
		snprintf(last, sizeof(last), "%s", t);
		json_decref(rec);
	}
	free(line);
	fclose(f);
}

static void test_concurrent_chain(void **state)
{
	const char *p = path_of("concurrent.log");
	struct audit_log *log = open_log(p, true);

	run_workers(log, 16, 25);
	assert_int_equal(audit_log_count(log), 400);
	audit_log_close(log);
	assert_int_equal(count_lines(p, NULL), 400);
	assert_int_equal(verify_files("intact: 400 records, 1 file, seq "
	                              "1..400",
	                              1, p),
	                 0);
	check_times_monotone(p);
}

static void test_group_commit(void **state)
{
	const char *p = path_of("group.log");
	struct audit_log *log = open_log(p, true);
	unsigned long records, batches;

	run_workers(log, 64, 20);
	records = audit_log_count(log);
	batches = audit_log_batches(log);
	audit_log_close(log);

	print_message("group commit: %lu records in %lu batches\n", records,
	              batches);
	assert_int_equal(records, 1280);
	/* Sixty-four waiting writers must share syncs, not take turns. */
	assert_true(batches * 2 <= records);
	assert_int_equal(verify_files("intact: 1280 records", 1, p), 0);
}

static void append_raw(const char *path, const char *bytes)
{
	int fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, bytes, strlen(bytes)),
	                 (ssize_t)strlen(bytes));
	close(fd);
}

static void test_torn_tail_cut(void **state)
{
	const char *p = path_of("torn.log");
	struct audit_log *log = open_log(p, true);
	struct stat before, after;
	bool nl;

	assert_int_equal(audit_log_write(log, "open", body(1)), 0);
	assert_int_equal(audit_log_write(log, "open", body(2)), 0);
	audit_log_close(log);
	assert_int_equal(stat(p, &before), 0);
	append_raw(p, "{\"seq\":3,\"time\":\"2026-");

	log = open_log(p, true);
	assert_int_equal(stat(p, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	assert_int_equal(audit_log_write(log, "open", body(3)), 0);
	audit_log_close(log);
	assert_int_equal(count_lines(p, &nl), 3);
	assert_true(nl);
	assert_int_equal(verify_files("intact: 3 records", 1, p), 0);
}

static void test_open_errors(void **state)
{
	struct audit_log *log = NULL, *other = NULL;
	struct sp_error *err = NULL;
	const char *p = path_of("garbage.log");
	FILE *f;

	/* A file that is not an access log is neither cut nor appended to. */
	f = fopen(p, "w");
	fputs("root:x:0:0:root:/root:/bin/bash\n", f);
	fclose(f);
	assert_int_equal(audit_log_open(&log, p, true, "h", &err), -EBADMSG);
	assert_null(log);
	assert_non_null(strstr(err->msg, "garbage.log': last record (at byte "
	                                 "0) is not a valid record"));
	sp_error_free(err);
	err = NULL;

	/* A parent that is a regular file. */
	assert_int_equal(audit_log_open(&log, path_of("garbage.log/x/a.log"),
	                                true, "h", &err),
	                 -ENOTDIR);
	assert_non_null(strstr(err->msg, "create directory '"));
	assert_non_null(strstr(err->msg, "Not a directory"));
	sp_error_free(err);
	err = NULL;

	assert_int_equal(audit_log_open(&log, dir, true, "h", &err), -EISDIR);
	assert_non_null(strstr(err->msg, "open access log '"));
	sp_error_free(err);
	err = NULL;

	/* A second writer on the same file is refused. */
	log = open_log(path_of("locked.log"), true);
	assert_int_equal(
	        audit_log_open(&other, path_of("locked.log"), true, "h", &err),
	        -EBUSY);
	assert_non_null(strstr(err->msg, "in use by another process"));
	sp_error_free(err);
	audit_log_close(log);
}

static void test_reserved_body_refused(void **state)
{
	const char *p = path_of("reserved.log");
	struct audit_log *log = open_log(p, true);

	assert_int_equal(audit_log_write(log, "open", body(1)), 0);
	assert_int_equal(
	        audit_log_write(log, "open", json_pack("{s:i}", "seq", 99)),
	        -EIO);
	assert_int_equal(audit_log_write(log, "open", NULL), -EIO);
	assert_int_equal(audit_log_write(log, "open", body(2)), 0);
	assert_int_equal(audit_log_count(log), 2);
	audit_log_close(log);
	assert_int_equal(verify_files("intact: 2 records", 1, p), 0);
}

static int stderr_to(const char *path)
{
	int saved = dup(STDERR_FILENO);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return saved;
}

static size_t count_in(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	fclose(f);
	return n;
}

static void test_reopen_after_rename(void **state)
{
	const char *p = path_of("rot/access.log");
	const char *p1 = path_of("rot/access.log.1");
	const char *moved = path_of("rot2");
	const char *errlog = path_of("reopen-stderr.txt");
	struct audit_log *log = open_log(p, true);
	char moved_log[200];
	int i, saved;

	for (i = 0; i < 2; i++)
		assert_int_equal(audit_log_write(log, "open", body(i)), 0);
	/* A reopen without rotation keeps writing to the same file. */
	saved = stderr_to(errlog);
	audit_log_request_reopen(log);
	assert_int_equal(audit_log_write(log, "open", body(2)), 0);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(count_in(errlog, "error"), 0);
	assert_int_equal(count_lines(p, NULL), 3);

	assert_int_equal(rename(p, p1), 0);
	audit_log_request_reopen(log);
	for (i = 0; i < 2; i++)
		assert_int_equal(audit_log_write(log, "open", body(i)), 0);

	assert_int_equal(count_lines(p1, NULL), 3);
	assert_int_equal(count_lines(p, NULL), 2);
	assert_int_equal(
	        verify_files("intact: 5 records, 2 files, seq 1..5", 2, p1, p),
	        0);
	assert_int_equal(verify_files("chain starts at seq 4", 1, p), 0);

	/* A reopen that fails keeps writing to the file it has. */
	assert_int_equal(rename(path_of("rot"), moved), 0);
	assert_int_equal(close(open(path_of("rot"), O_CREAT | O_WRONLY, 0600)),
	                 0);
	audit_log_request_reopen(log);
	assert_int_equal(audit_log_write(log, "open", body(7)), 0);
	audit_log_close(log);
	snprintf(moved_log, sizeof(moved_log), "%s/access.log", moved);
	assert_int_equal(count_lines(moved_log, NULL), 3);
}

/* A restart after logrotate moved the log away while the daemon was down. */
static void test_restart_after_rotation(void **state)
{
	const char *p = path_of("lr/access.log");
	const char *p1 = path_of("lr/access.log.1");
	struct audit_log *log = open_log(p, true);
	FILE *f;
	int i;

	for (i = 0; i < 3; i++)
		assert_int_equal(audit_log_write(log, "open", body(i)), 0);
	audit_log_close(log);
	assert_int_equal(rename(p, p1), 0);
	/* Older and compressed rotations are not candidates. */
	f = fopen(path_of("lr/access.log.2.gz"), "w");
	fputs("\x1f\x8b garbage", f);
	fclose(f);

	log = open_log(p, true);
	assert_int_equal(audit_log_write(log, "start", json_object()), 0);
	audit_log_close(log);
	assert_int_equal(
	        verify_files("intact: 4 records, 2 files, seq 1..4", 2, p1, p),
	        0);
}

/* The failure test needs a tiny filesystem of its own: root only. */
static void fill(const char *path)
{
	static const char block[4096];
	int fd = open(path, O_WRONLY | O_CREAT, 0600);

	assert_true(fd >= 0);
	while (write(fd, block, sizeof(block)) > 0)
		;
	while (write(fd, block, 1) > 0)
		;
	close(fd);
}

static void test_disk_full(void **state)
{
	const char *mnt = path_of("tiny");
	const char *p = path_of("tiny/access.log");
	const char *filler = path_of("tiny/filler");
	const char *errlog = path_of("stderr.txt");
	struct audit_log *log;
	int i, saved, failed = 0;
	unsigned long written;
	bool nl;

	if (geteuid() != 0) {
		skip();
	}
	assert_int_equal(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
		print_message("cannot mount tmpfs: %s\n", strerror(errno));
		skip();
	}

	log = open_log(p, true);
	assert_int_equal(audit_log_write(log, "open", body(0)), 0);
	fill(filler);

	saved = stderr_to(errlog);
	/* The page the log ends in may still take a few records. */
	for (i = 0; i < 200 && !failed; i++)
		failed = audit_log_write(log, "open", body(i)) == -EIO;
	for (i = 0; i < 5; i++)
		assert_int_equal(audit_log_write(log, "open", body(i)), -EIO);
	assert_true(failed);
	assert_int_equal(count_lines(p, &nl), audit_log_count(log));
	assert_true(nl);
	assert_int_equal(verify_files("intact", 1, p), 0);

	assert_int_equal(unlink(filler), 0);
	assert_int_equal(audit_log_write(log, "open", body(1)), 0);
	assert_int_equal(audit_log_write(log, "open", body(2)), 0);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);

	/* One message when it breaks, one when it recovers. */
	assert_int_equal(count_in(errlog, "error: write access log"), 1);
	assert_int_equal(count_in(errlog, "No space left on device"), 1);
	assert_int_equal(count_in(errlog, "is written again; 6 records were "
	                                  "refused"),
	                 1);

	written = audit_log_count(log);
	audit_log_close(log);
	assert_int_equal(verify_files("intact", 1, p), 0);
	assert_int_equal(count_lines(p, &nl), written);
	assert_true(nl);
	assert_int_equal(umount(mnt), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_chain_across_restart),
	        cmocka_unit_test(test_concurrent_chain),
	        cmocka_unit_test(test_group_commit),
	        cmocka_unit_test(test_torn_tail_cut),
	        cmocka_unit_test(test_open_errors),
	        cmocka_unit_test(test_reserved_body_refused),
	        cmocka_unit_test(test_reopen_after_rename),
	        cmocka_unit_test(test_restart_after_rotation),
	        cmocka_unit_test(test_disk_full),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

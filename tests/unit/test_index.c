/* Unit tests of the profile index over real git repositories made with the
 * git command line: tags, tree, inode numbers, diffs, blob reads, the ref
 * watcher, and scale. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "index_impl.h"
#include "log.h"

#define T1 1700000000   /* first commit */
#define T2 1700003600   /* second commit */
#define TTAG 1700009999 /* the annotated tag */

static char top[64];
static char repo[128];
static char srcdir[1024]; /* the source tree: tests run from its top */

/* Run a shell command in the repository; returns its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char *cmd = NULL, *full = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	assert_true(r > 0);
	assert_true(asprintf(&full, "cd '%s' && { %s\n}", repo, cmd) > 0);
	r = system(full);
	free(cmd);
	free(full);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

#define SH(...) assert_int_equal(sh(__VA_ARGS__), 0)

/* First line of a command's output, without its newline. */
static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *sh_out(const char *fmt, ...)
{
	char *cmd = NULL, *full = NULL, *line = NULL;
	size_t cap = 0;
	va_list ap;
	FILE *p;
	ssize_t n;

	va_start(ap, fmt);
	assert_true(vasprintf(&cmd, fmt, ap) > 0);
	va_end(ap);
	assert_true(asprintf(&full, "cd '%s' && %s", repo, cmd) > 0);
	p = popen(full, "r");
	assert_non_null(p);
	n = getline(&line, &cap, p);
	assert_int_equal(pclose(p), 0);
	assert_true(n > 0);
	if (line[n - 1] == '\n')
		line[n - 1] = '\0';
	free(cmd);
	free(full);
	return line;
}

/* Warnings go to stderr: capture them around a call. */
static int saved_stderr = -1;
static char capture_path[128];

static void capture_begin(void)
{
	int fd;

	fflush(stderr);
	snprintf(capture_path, sizeof(capture_path), "%s/stderr", top);
	fd = open(capture_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static char *capture_end(void)
{
	char *buf = calloc(1, 1 << 20);
	ssize_t n;
	int fd;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	fd = open(capture_path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, (1 << 20) - 1);
	close(fd);
	assert_true(n >= 0);
	return buf;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

static int setup(void **state)
{
	(void)state;
	if (getcwd(srcdir, sizeof(srcdir)) == NULL)
		return -1;
	strcpy(top, "/tmp/secprof-index.XXXXXX");
	if (mkdtemp(top) == NULL)
		return -1;
	snprintf(repo, sizeof(repo), "%s/repo", top);
	setenv("HOME", top, 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_AUTHOR_NAME", "secprof-test", 1);
	setenv("GIT_AUTHOR_EMAIL", "test@example.invalid", 1);
	setenv("GIT_COMMITTER_NAME", "secprof-test", 1);
	setenv("GIT_COMMITTER_EMAIL", "test@example.invalid", 1);
	sp_log_init("secprof");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

/* Each test starts from an empty directory for its repository. */
static int fresh_repo(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", repo, repo);
	return system(cmd) == 0 ? 0 : -1;
}

/* The shell helpers of the repositories below. */
#define PRELUDE                                                                \
	"set -e; "                                                             \
	"mkprof() { mkdir -p \"$(dirname \"$2\")\"; printf "                   \
	"'{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"comment\": \"%%s\"}\\n' "  \
	"\"$1\" > \"$2\"; }; "                                                 \
	"commit() { GIT_AUTHOR_DATE=\"@$1 +0000\" "                            \
	"GIT_COMMITTER_DATE=\"@$1 +0000\" git commit -q -m \"$2\"; }; "

/*
 * The main fixture: nginx at two versions in prod (one lightweight, one
 * annotated), a release candidate in staging, a nested service, and tags
 * that must be skipped for every reason there is.
 */
static void make_main_repo(void)
{
	SH(PRELUDE
	   "git init -q -b main . && "
	   "mkprof nginx-1 nginx.json && "
	   "mkprof api-1 payments/api.json && "
	   "mkprof redis-1 redis.json && "
	   "ln -s nginx.json linked.json && "
	   "mkprof inner dirsvc.json/x && "
	   "git add -A && commit %d one && "
	   "git tag prod/nginx@1.9.0 && "
	   "git tag dev/payments/api@2.0.0 && "
	   "git tag prod/payments/api@2.0.0 && "
	   "git tag prod/linked@1 && "
	   "git tag prod/dirsvc@1 && "
	   "git tag prod/nohave@1 && "
	   "git tag qa/nginx@1.0.0 && "
	   "git tag prod/treeish@1 'HEAD^{tree}' && "
	   "git tag not-a-promotion && "
	   "git pack-refs --all && "
	   "mkprof nginx-2 nginx.json && git add -A && commit %d two && "
	   "GIT_COMMITTER_DATE='@%d +0000' "
	   "git tag -a -m promoted prod/nginx@1.10.0 && "
	   "git tag staging/nginx@2.0.0-rc1 && "
	   "git branch feature",
	   T1, T2, TTAG);
}

static struct store *open_store(const char *path,
                                const struct store_options *opts)
{
	struct sp_error *err = NULL;
	struct store *st = NULL;
	int r = store_open(&st, path, opts, &err);

	if (r != 0)
		fail_msg("store_open '%s': %s", path, err->msg);
	return st;
}

static struct store_index *build(struct store *st)
{
	struct sp_error *err = NULL;
	struct store_index *idx = NULL;
	int r = store_index_build(st, &idx, &err);

	if (r != 0)
		fail_msg("store_index_build: %s", err->msg);
	return idx;
}

static const struct store_node *lookup(const struct store_index *idx,
                                       const char *path)
{
	const struct store_node *n = store_index_root(idx);
	char buf[512];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *seg = strtok_r(buf, "/", &save); n != NULL && seg != NULL;
	     seg = strtok_r(NULL, "/", &save))
		n = store_node_child(n, seg);
	return n;
}

static const struct store_node *must(const struct store_index *idx,
                                     const char *path)
{
	const struct store_node *n = lookup(idx, path);

	if (n == NULL)
		fail_msg("no node '%s'", path);
	assert_string_equal(n->path, path);
	return n;
}

/* Every node: found by its number, numbers unique and above 1, children
 * sorted and pointing back at their parent. Returns the node count. */
static size_t check_tree(const struct store_index *idx,
                         const struct store_node *dir, uint64_t *seen,
                         size_t n_seen)
{
	assert_ptr_equal(store_index_find(idx, dir->ino), dir);
	for (size_t i = 0; i < n_seen; i++)
		assert_true(seen[i] != dir->ino);
	seen[n_seen++] = dir->ino;
	for (size_t i = 0; i < dir->n_children; i++) {
		const struct store_node *c = dir->children[i];

		assert_true(c->ino > STORE_ROOT_INO);
		assert_int_equal(c->parent, dir->ino);
		assert_non_null(c->env);
		if (i > 0)
			assert_true(strcmp(dir->children[i - 1]->name,
			                   c->name) < 0);
		if (c->kind == STORE_NODE_DIR) {
			n_seen = check_tree(idx, c, seen, n_seen);
		} else {
			assert_ptr_equal(store_index_find(idx, c->ino), c);
			for (size_t j = 0; j < n_seen; j++)
				assert_true(seen[j] != c->ino);
			seen[n_seen++] = c->ino;
			assert_non_null(c->promotion);
		}
	}
	return n_seen;
}

static size_t check_all(const struct store_index *idx)
{
	uint64_t *seen = calloc(4096, sizeof(*seen));
	size_t n;

	assert_int_equal(store_index_root(idx)->ino, STORE_ROOT_INO);
	assert_int_equal(store_index_root(idx)->parent, STORE_ROOT_INO);
	n = check_tree(idx, store_index_root(idx), seen, 0);
	assert_null(store_index_find(idx, 0));
	free(seen);
	return n;
}

static void test_open_errors(void **state)
{
	static const char *const dup_envs[] = {"prod", "prod", NULL};
	static const char *const bad_envs[] = {"prod", "a/b", NULL};
	struct store_options opts = {0};
	struct sp_error *err = NULL;
	struct store *st = NULL;
	char path[256];

	(void)state;
	snprintf(path, sizeof(path), "%s/missing", top);
	assert_int_equal(store_open(&st, path, NULL, &err), -ENOENT);
	assert_non_null(strstr(err->msg, "missing"));
	sp_error_freep(&err);

	SH("echo x > file && mkdir empty && git init -q -b main work && "
	   "mkdir work/sub && git init -q --bare bare.git");
	snprintf(path, sizeof(path), "%s/file", repo);
	assert_int_equal(store_open(&st, path, NULL, &err), -ENOTDIR);
	sp_error_freep(&err);

	snprintf(path, sizeof(path), "%s/empty", repo);
	assert_int_equal(store_open(&st, path, NULL, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "not a git repository"));
	sp_error_freep(&err);

	/* A directory inside a work tree is not the repository. */
	snprintf(path, sizeof(path), "%s/work/sub", repo);
	assert_int_equal(store_open(&st, path, NULL, &err), -EINVAL);
	assert_non_null(strstr(err->msg, "not a git repository"));
	sp_error_freep(&err);

	snprintf(path, sizeof(path), "%s/work", repo);
	opts.envs = dup_envs;
	assert_int_equal(store_open(&st, path, &opts, &err), -EINVAL);
	sp_error_freep(&err);
	opts.envs = bad_envs;
	assert_int_equal(store_open(&st, path, &opts, &err), -EINVAL);
	sp_error_freep(&err);
	opts.envs = NULL;
	opts.profiles_dir = "a/../../etc";
	assert_int_equal(store_open(&st, path, &opts, &err), -EINVAL);
	sp_error_freep(&err);

	/* Work tree, its .git directory, and a bare repository all open. */
	st = open_store(path, NULL);
	assert_non_null(strstr(store_git_dir(st), "work/.git"));
	store_close(st);
	snprintf(path, sizeof(path), "%s/work/.git", repo);
	store_close(open_store(path, NULL));
	snprintf(path, sizeof(path), "%s/bare.git", repo);
	st = open_store(path, NULL);
	{
		struct store_index *idx = build(st);

		assert_int_equal(store_index_promotions(idx), 0);
		/* Every configured environment shows, even empty. */
		assert_int_equal(store_index_root(idx)->n_children, 3);
		must(idx, "dev");
		must(idx, "staging");
		must(idx, "prod");
		store_index_unref(idx);
	}
	store_close(st);
}

static void check_promotion(const struct store_index *idx, const char *tag,
                            const char *file, int64_t mtime)
{
	const struct store_promotion *p = store_index_promotion(idx, tag);
	char *commit, *blob, *size;

	if (p == NULL)
		fail_msg("no promotion '%s'", tag);
	commit = sh_out("git rev-parse '%s^{commit}'", tag);
	blob = sh_out("git rev-parse '%s:%s'", tag, file);
	size = sh_out("git cat-file -s '%s:%s'", tag, file);
	assert_string_equal(p->tag, tag);
	assert_string_equal(p->commit, commit);
	assert_string_equal(p->blob, blob);
	assert_int_equal(p->size, strtoull(size, NULL, 10));
	assert_int_equal(p->mtime, mtime);
	free(commit);
	free(blob);
	free(size);
}

static void test_build_main(void **state)
{
	struct store_index *idx, *again;
	const struct store_node *n, *dir;
	const struct store_promotion *p;
	struct store *st;
	char *log;
	void *buf;
	size_t len;
	struct sp_error *err = NULL;

	(void)state;
	make_main_repo();
	st = open_store(repo, NULL);
	capture_begin();
	idx = build(st);
	log = capture_end();

	assert_int_equal(store_index_promotions(idx), 5);
	check_promotion(idx, "prod/nginx@1.9.0", "nginx.json", T1);
	check_promotion(idx, "prod/nginx@1.10.0", "nginx.json", TTAG);
	check_promotion(idx, "staging/nginx@2.0.0-rc1", "nginx.json", T2);
	check_promotion(idx, "dev/payments/api@2.0.0", "payments/api.json", T1);
	check_promotion(idx, "prod/payments/api@2.0.0", "payments/api.json",
	                T1);
	p = store_index_promotion(idx, "prod/payments/api@2.0.0");
	assert_string_equal(p->env, "prod");
	assert_string_equal(p->service, "payments/api");
	assert_string_equal(p->version, "2.0.0");
	assert_null(store_index_promotion(idx, "prod/nohave@1"));

	/* One warning for each tag that is not a promotion. */
	assert_int_equal(count(log, "warning: "), 6);
	assert_int_equal(count(log, "'prod/linked@1'"), 1);
	assert_non_null(strstr(log, "symbolic link"));
	assert_int_equal(count(log, "'prod/dirsvc@1'"), 1);
	assert_non_null(strstr(log, "is a directory"));
	assert_int_equal(count(log, "'prod/nohave@1'"), 1);
	assert_int_equal(count(log, "'qa/nginx@1.0.0'"), 1);
	assert_int_equal(count(log, "'prod/treeish@1'"), 1);
	assert_non_null(strstr(log, "points at a tree"));
	assert_int_equal(count(log, "'not-a-promotion'"), 1);
	free(log);

	/* The tree. */
	/* root, 3 environments, 2 payments directories, 9 files and links */
	assert_int_equal(check_all(idx), 1 + 3 + 2 + 9);
	dir = must(idx, "prod");
	assert_int_equal(dir->kind, STORE_NODE_DIR);
	assert_string_equal(dir->env, "prod");
	assert_int_equal(dir->n_children, 4);
	assert_string_equal(dir->children[0]->name, "nginx.json");
	assert_string_equal(dir->children[1]->name, "nginx@1.10.0.json");
	assert_string_equal(dir->children[2]->name, "nginx@1.9.0.json");
	assert_string_equal(dir->children[3]->name, "payments");
	assert_int_equal(dir->mtime, TTAG);

	n = must(idx, "prod/nginx.json");
	assert_int_equal(n->kind, STORE_NODE_LINK);
	assert_int_equal(n->format, STORE_FORMAT_JSON);
	assert_string_equal(n->target, "nginx@1.10.0.json");
	assert_string_equal(n->promotion->tag, "prod/nginx@1.10.0");
	assert_int_equal(n->mtime, TTAG);

	n = must(idx, "staging/nginx.json");
	assert_string_equal(n->target, "nginx@2.0.0-rc1.json");

	n = must(idx, "prod/payments/api@2.0.0.json");
	assert_int_equal(n->kind, STORE_NODE_PROFILE);
	assert_int_equal(n->format, STORE_FORMAT_JSON);
	assert_string_equal(n->name, "api@2.0.0.json");
	assert_string_equal(n->env, "prod");
	assert_int_equal(n->parent, must(idx, "prod/payments")->ino);
	assert_int_equal(n->mtime, T1);
	assert_string_equal(must(idx, "prod/payments/api.json")->target,
	                    "api@2.0.0.json");
	assert_null(lookup(idx, "prod/nginx@1.9.0.bpf"));
	assert_null(lookup(idx, "prod/redis.json"));

	/* Blob bytes equal git's. */
	n = must(idx, "prod/nginx@1.9.0.json");
	assert_int_equal(
	        store_read_blob(st, n->promotion->blob, &buf, &len, &err), 0);
	assert_int_equal(len, n->promotion->size);
	assert_memory_equal(buf,
	                    "{\"defaultAction\": \"SCMP_ACT_ERRNO\", "
	                    "\"comment\": \"nginx-1\"}\n",
	                    len);
	free(buf);
	assert_int_equal(
	        store_read_blob(st, "0123456789012345678901234567890123456789",
	                        &buf, &len, &err),
	        -ENOENT);
	sp_error_freep(&err);
	assert_int_equal(
	        store_read_blob(st, "../../etc/passwd", &buf, &len, &err),
	        -ENOENT);
	sp_error_freep(&err);
	assert_int_equal(
	        store_read_blob(st, n->promotion->commit, &buf, &len, &err),
	        -ENOENT);
	sp_error_freep(&err);

	/* A second build warns about nothing new and changes nothing. */
	capture_begin();
	again = build(st);
	log = capture_end();
	assert_int_equal(count(log, "warning: "), 0);
	free(log);
	assert_int_equal(store_index_diff(idx, again, NULL, NULL), 0);
	assert_int_equal(must(again, "prod/nginx.json")->ino,
	                 must(idx, "prod/nginx.json")->ino);

	store_index_unref(idx);
	store_index_unref(again);
	store_close(st);
}

/* Loose refs shadow packed ones; a broken profile of one tag leaves the
 * others alone; the profiles directory option. */
static void test_profiles_dir(void **state)
{
	struct store_options opts = {.profiles_dir = "./profiles/"};
	struct store_index *idx;
	struct store *st;
	char *c2, *log;

	(void)state;
	SH(PRELUDE "git init -q -b main . && "
	           "mkprof root-nginx nginx.json && "
	           "mkprof nginx profiles/nginx.json && "
	           "mkprof api profiles/payments/api.json && "
	           "git add -A && commit %d one && "
	           "git tag prod/nginx@1 && git tag prod/payments/api@1 && "
	           "git pack-refs --all && "
	           "mkprof nginx-2 profiles/nginx.json && git add -A && "
	           "commit %d two && "
	           "git update-ref refs/tags/prod/nginx@1 HEAD && "
	           "git rm -q -r profiles && ln -s . profiles && git add -A && "
	           "commit %d three && git tag prod/nginx@2",
	   T1, T2, T2 + 1);
	c2 = sh_out("git rev-parse HEAD~1");

	st = open_store(repo, &opts);
	capture_begin();
	idx = build(st);
	log = capture_end();
	assert_int_equal(store_index_promotions(idx), 2);
	check_promotion(idx, "prod/nginx@1", "profiles/nginx.json", T2);
	assert_string_equal(store_index_promotion(idx, "prod/nginx@1")->commit,
	                    c2);
	check_promotion(idx, "prod/payments/api@1",
	                "profiles/payments/api.json", T1);
	/* profiles is a symlink in the last commit: not followed. */
	assert_int_equal(count(log, "'prod/nginx@2'"), 1);
	assert_non_null(strstr(log, "has no 'profiles/nginx.json'"));
	free(log);
	store_index_unref(idx);
	store_close(st);
	free(c2);
}

/* Hostile ref names, written straight into the refs directory and into
 * packed-refs: skipped with one warning each, never fatal. */
static void test_hostile_refs(void **state)
{
	struct store_index *idx;
	struct store *st;
	char *log;

	(void)state;
	SH(PRELUDE
	   "git init -q -b main . && mkprof n nginx.json && "
	   "git add -A && commit %d one && git tag prod/nginx@1 && "
	   "git pack-refs --all && C=$(git rev-parse HEAD) && "
	   "L=$(printf 'a%%.0s' $(seq 200)) && "
	   "cd .git/refs/tags && mkdir -p prod/$L && "
	   "echo $C > \"prod/ctl$(printf '\\001')x@1\" && "
	   "echo $C > \"prod/esc$(printf '\\033')[31m@1\" && "
	   "echo $C > prod/$L/$L@1 && "
	   "echo $C > prod/nginx@2.lock && "
	   "echo 'ref: refs/heads/main' > prod/sym@1 && "
	   "echo garbage > prod/garbage@1 && "
	   "ln -s ../../../HEAD prod/link@1 && "
	   "echo $C > \"prod/unicod$(printf '\\303\\251')@1\" && "
	   "echo $C > prod/nginx@3 && "
	   "cd ../.. && "
	   "printf '%%s refs/tags/prod/../../etc@1\\n' $C >> packed-refs && "
	   "printf '%%s refs/tags/prod/x\\177@1\\n' $C >> packed-refs && "
	   "printf '%%s refs/tags/prod/%%s@1\\n' $C $L$L >> packed-refs && "
	   "printf '%%s refs/tags/prod/nginx@1.0/x\\n' $C >> packed-refs && "
	   "printf '%%s refs/tags/prod/a//b@1\\n' $C >> packed-refs && "
	   "printf '%%s refs/tags/prod/nginx@\\n' $C >> packed-refs",
	   T1);

	st = open_store(repo, NULL);
	capture_begin();
	idx = build(st);
	log = capture_end();
	assert_int_equal(store_index_promotions(idx), 2);
	assert_non_null(store_index_promotion(idx, "prod/nginx@1"));
	assert_non_null(store_index_promotion(idx, "prod/nginx@3"));
	/* 7 loose and 6 packed bad names; the lock file is not a ref. */
	assert_int_equal(count(log, "warning: "), 13);
	assert_null(strstr(log, "nginx@2.lock"));
	/* Control characters reach the log escaped. */
	assert_null(strchr(log, '\033'));
	assert_null(strchr(log, '\001'));
	assert_non_null(strstr(log, "\\x1b"));
	free(log);
	check_all(idx);
	store_index_unref(idx);

	capture_begin();
	idx = build(st);
	log = capture_end();
	assert_int_equal(count(log, "warning: "), 0);
	free(log);
	store_index_unref(idx);

	/* A corrupt packed-refs fails the build instead of losing tags. */
	SH("echo 'not a ref line' >> .git/packed-refs");
	{
		struct sp_error *err = NULL;
		struct store_index *bad = NULL;

		assert_true(store_index_build(st, &bad, &err) < 0);
		assert_non_null(strstr(err->msg, "packed-refs"));
		sp_error_free(err);
	}
	store_close(st);
}

struct change_log {
	char text[2048];
	size_t n;
};

static void on_change(const struct store_change *c, void *arg)
{
	static const char *const kinds[] = {"appeared", "vanished", "moved",
	                                    "retargeted"};
	struct change_log *l = arg;
	const char *tag = c->new != NULL ? c->new->tag : c->old->tag;
	size_t used = strlen(l->text);

	snprintf(l->text + used, sizeof(l->text) - used, "%s %s;",
	         kinds[c->kind], tag);
	l->n++;
}

static void test_inodes_and_diff(void **state)
{
	struct store_index *a, *b, *c;
	struct change_log changes = {{0}, 0};
	uint64_t v19, v110, link, dir, api;
	struct store *st;

	(void)state;
	make_main_repo();
	st = open_store(repo, NULL);
	capture_begin();
	a = build(st);
	free(capture_end());
	v19 = must(a, "prod/nginx@1.9.0.json")->ino;
	v110 = must(a, "prod/nginx@1.10.0.json")->ino;
	link = must(a, "prod/nginx.json")->ino;
	dir = must(a, "prod/payments")->ino;
	api = must(a, "prod/payments/api@2.0.0.json")->ino;
	assert_int_equal(store_index_diff(NULL, a, on_change, &changes), 5);
	store_close(st);

	/* The same numbers after a restart. */
	st = open_store(repo, NULL);
	capture_begin();
	b = build(st);
	free(capture_end());
	assert_int_equal(must(b, "prod/nginx@1.9.0.json")->ino, v19);
	assert_int_equal(must(b, "prod/nginx.json")->ino, link);
	assert_int_equal(must(b, "prod/payments")->ino, dir);
	assert_int_equal(store_index_diff(a, b, NULL, NULL), 0);

	/*
	 * 1.9.0 moves to other content, 1.10.0 to another commit with the
	 * same content, api vanishes, 3.0.0 appears and becomes the link.
	 */
	SH(PRELUDE "mkprof redis-3 redis.json && git add -A && "
	           "commit %d three && "
	           "git tag -f prod/nginx@1.9.0 HEAD~1 >/dev/null && "
	           "git tag -f prod/nginx@1.10.0 HEAD >/dev/null && "
	           "git tag -d prod/payments/api@2.0.0 >/dev/null && "
	           "git tag prod/nginx@3.0.0",
	   T2 + 100);
	capture_begin();
	c = build(st);
	free(capture_end());
	changes.text[0] = '\0';
	changes.n = 0;
	assert_int_equal(store_index_diff(b, c, on_change, &changes), 4);
	assert_string_equal(changes.text, "retargeted prod/nginx@1.10.0;"
	                                  "moved prod/nginx@1.9.0;"
	                                  "appeared prod/nginx@3.0.0;"
	                                  "vanished prod/payments/api@2.0.0;");

	assert_true(must(c, "prod/nginx@1.9.0.json")->ino != v19);
	assert_int_equal(must(c, "prod/nginx@1.10.0.json")->ino, v110);
	assert_int_equal(must(c, "prod/nginx@1.10.0.json")->mtime, T2 + 100);
	assert_int_equal(must(c, "prod/nginx.json")->ino, link);
	assert_string_equal(must(c, "prod/nginx.json")->target,
	                    "nginx@3.0.0.json");
	assert_null(lookup(c, "prod/payments/api@2.0.0.json"));
	assert_null(store_index_find(c, api));
	assert_null(lookup(c, "prod/payments")); /* nothing left under it */
	must(c, "dev/payments/api@2.0.0.json");
	check_all(c);

	/* The older snapshots are untouched. */
	assert_int_equal(must(b, "prod/nginx@1.9.0.json")->ino, v19);
	assert_string_equal(must(b, "prod/nginx.json")->target,
	                    "nginx@1.10.0.json");
	assert_ptr_equal(store_index_find(b, api),
	                 must(b, "prod/payments/api@2.0.0.json"));

	store_index_unref(a);
	store_index_unref(b);
	store_index_unref(c);
	store_close(st);
}

static void test_bpf_twins(void **state)
{
	struct store_options opts = {.with_bpf = true};
	const struct store_node *json, *bpf, *link;
	struct store_index *idx;
	struct store *st;

	(void)state;
	make_main_repo();
	st = open_store(repo, &opts);
	capture_begin();
	idx = build(st);
	free(capture_end());
	assert_int_equal(check_all(idx), 1 + 3 + 2 + 2 * 9);
	json = must(idx, "prod/nginx@1.9.0.json");
	bpf = must(idx, "prod/nginx@1.9.0.bpf");
	assert_int_equal(bpf->kind, STORE_NODE_PROFILE);
	assert_int_equal(bpf->format, STORE_FORMAT_BPF);
	assert_ptr_equal(bpf->promotion, json->promotion);
	assert_true(bpf->ino != json->ino);
	link = must(idx, "prod/nginx.bpf");
	assert_int_equal(link->kind, STORE_NODE_LINK);
	assert_int_equal(link->format, STORE_FORMAT_BPF);
	assert_string_equal(link->target, "nginx@1.10.0.bpf");
	must(idx, "prod/payments/api.bpf");

	/* A snapshot owns everything it points at: it outlives the store. */
	store_close(st);
	assert_string_equal(must(idx, "prod/payments/api.bpf")->target,
	                    "api@2.0.0.bpf");
	assert_string_equal(must(idx, "prod")->env, "prod");
	check_all(idx);
	store_index_unref(idx);
}

/* A link "x.json" of service x and the directory of service x.json/y. */
static void test_name_collision(void **state)
{
	struct store_index *idx;
	struct store *st;
	char *log;

	(void)state;
	SH(PRELUDE "git init -q -b main . && mkprof x x.json && git add -A && "
	           "commit %d one && git tag prod/x@1 && git rm -q x.json && "
	           "mkprof y x.json/y.json && git add -A && commit %d two && "
	           "git tag prod/x.json/y@1",
	   T1, T2);
	st = open_store(repo, NULL);
	capture_begin();
	idx = build(st);
	log = capture_end();
	assert_int_equal(store_index_promotions(idx), 2);
	assert_int_equal(must(idx, "prod/x.json")->kind, STORE_NODE_DIR);
	must(idx, "prod/x@1.json");
	assert_string_equal(must(idx, "prod/x.json/y.json")->target,
	                    "y@1.json");
	assert_int_equal(count(log, "warning: "), 1);
	assert_non_null(strstr(log, "'prod/x.json'"));
	free(log);
	check_all(idx);
	store_index_unref(idx);
	store_close(st);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Let earlier changes settle so that the next wait sees only new ones. */
static void quiesce(struct store_watch *w)
{
	while (store_watch_wait(w, 150) == 1)
		;
}

static void expect_change(struct store_watch *w, const char *what)
{
	int64_t start = now_ms();
	int r = store_watch_wait(w, 1000);
	int64_t took = now_ms() - start;

	if (r != 1)
		fail_msg("%s: not noticed within 1 s (%d)", what, r);
	print_message("watch: %s noticed in %lld ms\n", what, (long long)took);
}

struct stopper {
	struct store_watch *w;
	int result;
};

static void *wait_thread(void *arg)
{
	struct stopper *s = arg;

	s->result = store_watch_wait(s->w, 10000);
	return NULL;
}

static void test_watch(void **state)
{
	struct sp_error *err = NULL;
	struct store_watch *w = NULL;
	struct stopper stop;
	pthread_t th;
	struct store *st;

	(void)state;
	make_main_repo();
	st = open_store(repo, NULL);
	assert_int_equal(store_watch_start(st, &w, &err), 0);
	assert_int_equal(store_watch_wait(w, 100), 0);

	SH("git tag prod/nginx@4.0.0");
	expect_change(w, "new tag");
	quiesce(w);
	SH("git tag -d prod/nginx@4.0.0 >/dev/null");
	expect_change(w, "deleted tag");
	quiesce(w);
	SH("git tag prod/brand/new/svc@1");
	expect_change(w, "tag in new directories");
	quiesce(w);
	SH("git tag prod/brand/new/svc@2");
	expect_change(w, "tag in a directory made meanwhile");
	quiesce(w);
	SH("git pack-refs --all");
	expect_change(w, "pack-refs");
	quiesce(w);
	SH("git tag -d prod/nginx@1.9.0 >/dev/null");
	expect_change(w, "deleted packed tag");
	quiesce(w);
	/* Commits, branches and other files of the git dir are not. */
	SH("git commit -q --allow-empty -m nothing && git branch other && "
	   "echo x > .git/description");
	assert_int_equal(store_watch_wait(w, 300), 0);

	stop.w = w;
	stop.result = 0;
	assert_int_equal(pthread_create(&th, NULL, wait_thread, &stop), 0);
	usleep(50000);
	store_watch_stop(w);
	pthread_join(th, NULL);
	assert_int_equal(stop.result, -1);
	store_watch_free(w);
	store_close(st);
}

/* The fallback poll alone, as without inotify, still notices in time. */
static void test_watch_poll(void **state)
{
	struct sp_error *err = NULL;
	struct store_watch *w = NULL;
	struct store *st;

	(void)state;
	make_main_repo();
	st = open_store(repo, NULL);
	assert_int_equal(store_watch_start_mode(st, false, &w, &err), 0);
	assert_int_equal(store_watch_wait(w, 700), 0);
	SH("git tag prod/nginx@5.0.0");
	expect_change(w, "poll: new tag");
	SH("git tag prod/other/deep@1");
	expect_change(w, "poll: tag in new directories");
	SH("git tag prod/other/deep@2");
	expect_change(w, "poll: tag in a directory made meanwhile");
	SH("git pack-refs --all");
	expect_change(w, "poll: pack-refs");
	SH("git tag -d prod/nginx@5.0.0 >/dev/null");
	expect_change(w, "poll: deleted packed tag");
	store_watch_free(w);
	store_close(st);
}

struct reader_arg {
	struct store *st;
	pthread_mutex_t *lock;
	struct store_index **current;
	int rounds;
	int failures;
};

/* What a FUSE thread does: take the current snapshot, read a profile. */
static void *reader(void *arg)
{
	struct reader_arg *a = arg;

	for (int i = 0; i < a->rounds; i++) {
		const struct store_node *n;
		struct store_index *idx;
		struct sp_error *err = NULL;
		void *buf = NULL;
		size_t len = 0;

		pthread_mutex_lock(a->lock);
		idx = store_index_ref(*a->current);
		pthread_mutex_unlock(a->lock);

		n = lookup(idx, "prod/nginx.json");
		n = n != NULL
		            ? store_node_child(store_index_find(idx, n->parent),
		                               n->target)
		            : NULL;
		if (n == NULL ||
		    store_read_blob(a->st, n->promotion->blob, &buf, &len,
		                    &err) != 0 ||
		    len != n->promotion->size)
			a->failures++;
		sp_error_free(err);
		free(buf);
		store_index_unref(idx);
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct reader_arg args[4];
	pthread_t th[4];
	struct store_index *cur;
	struct store *st;

	(void)state;
	make_main_repo();
	st = open_store(repo, NULL);
	capture_begin();
	cur = build(st);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct reader_arg){st, &lock, &cur, 300, 0};
		assert_int_equal(pthread_create(&th[i], NULL, reader, &args[i]),
		                 0);
	}
	for (int i = 0; i < 30; i++) {
		struct store_index *next, *old;

		if (i % 3 == 0)
			SH("git tag -f prod/nginx@1.9.0 HEAD%s >/dev/null",
			   i % 2 ? "~1" : "");
		next = build(st);
		pthread_mutex_lock(&lock);
		old = cur;
		cur = next;
		pthread_mutex_unlock(&lock);
		store_index_unref(old);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	free(capture_end());
	store_index_unref(cur);
	store_close(st);
}

static long status_kb(const char *key)
{
	char line[256];
	long v = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f != NULL && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, strlen(key)) == 0)
			v = atol(line + strlen(key));
	}
	if (f != NULL)
		fclose(f);
	return v;
}

static double seconds(void)
{
	return (double)now_ms() / 1000.0;
}

/*
 * A generated repository: every tag indexed, a rebuild shares everything.
 * SECPROF_INDEX_BENCH=N makes it a benchmark over N tags that prints the
 * build times and the memory figures.
 */
static void test_scale(void **state)
{
	const char *bench = getenv("SECPROF_INDEX_BENCH");
	long n = bench != NULL ? atol(bench) : 20000;
	struct store_options opts = {.with_bpf = getenv("SECPROF_INDEX_BPF")};
	struct store_index *a, *b;
	struct store *st;
	double t0, t1, t2;
	char *big = NULL;
	FILE *f;

	(void)state;
	assert_true(asprintf(&big, "%s/big.git", top) > 0);
	SH("'%s/tests/bench/mkrepo_big.sh' '%s' %ld", srcdir, big, n);
	st = open_store(big, &opts);
	t0 = seconds();
	a = build(st);
	t1 = seconds();
	assert_int_equal(store_index_promotions(a), n);
	f = fopen("/proc/self/clear_refs", "w");
	if (f != NULL) {
		fputs("5", f); /* reset the peak for the rebuild */
		fclose(f);
	}
	b = build(st);
	t2 = seconds();
	assert_int_equal(store_index_diff(a, b, NULL, NULL), 0);
	assert_ptr_equal(must(b, "prod/svc001.json")->promotion,
	                 must(a, "prod/svc001.json")->promotion);
	print_message("index of %ld tags: build %.3f s, rebuild %.3f s, "
	              "RSS %ld kB, rebuild peak %ld kB\n",
	              n, t1 - t0, t2 - t1, status_kb("VmRSS:"),
	              status_kb("VmHWM:"));
	store_index_unref(a);
	store_index_unref(b);
	store_close(st);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup(test_open_errors, fresh_repo),
	        cmocka_unit_test_setup(test_build_main, fresh_repo),
	        cmocka_unit_test_setup(test_profiles_dir, fresh_repo),
	        cmocka_unit_test_setup(test_hostile_refs, fresh_repo),
	        cmocka_unit_test_setup(test_inodes_and_diff, fresh_repo),
	        cmocka_unit_test_setup(test_bpf_twins, fresh_repo),
	        cmocka_unit_test_setup(test_name_collision, fresh_repo),
	        cmocka_unit_test_setup(test_watch, fresh_repo),
	        cmocka_unit_test_setup(test_watch_poll, fresh_repo),
	        cmocka_unit_test_setup(test_concurrent, fresh_repo),
	        cmocka_unit_test_setup(test_scale, fresh_repo),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

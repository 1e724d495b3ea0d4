/* secprof ref watcher: inotify on packed-refs and the loose tags tree, with
 * a stat fingerprint poll as a fallback so that no change is missed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index_impl.h"
#include "log.h"

/* A burst (a push of many tags, pack-refs) ends after this much quiet... */
#define QUIET_MS 30
/* ...or is cut off after this long, so that a steady stream still shows. */
#define BURST_MAX_MS 200
/* The fallback poll covers lost events and file systems without inotify. */
#define POLL_MS 500
/* Beyond this many directories, or this deep, changes go unseen: no
 * valid tag lives there. */
#define DIRS_MAX 16384
#define DEPTH_MAX (1 + STORE_SERVICE_MAX / 2 + 1)

#define DIR_MASK                                                               \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |                 \
	 IN_CLOSE_WRITE | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF |          \
	 IN_ONLYDIR | IN_DONT_FOLLOW | IN_EXCL_UNLINK)
#define GIT_DIR_MASK                                                           \
	(IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |                 \
	 IN_CLOSE_WRITE | IN_ONLYDIR | IN_DONT_FOLLOW)

struct store_watch {
	int ifd;    /* inotify, or -1 when unavailable */
	int stopfd; /* eventfd written by store_watch_stop */
	atomic_bool stopped;
	char *git_dir;
	char *refs_dir; /* refs/, watched for refs/tags coming and going */
	char *tags_dir; /* refs/tags/, watched with all its directories */
	char *packed_refs;
	int git_wd, refs_wd;
	char **dirs; /* refs/tags and the directories below, for the poll */
	size_t n_dirs, cap_dirs;
	uint64_t fingerprint;
	int64_t next_poll;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void free_dirs(struct store_watch *w)
{
	for (size_t i = 0; i < w->n_dirs; i++)
		free(w->dirs[i]);
	w->n_dirs = 0;
}

static int add_dir(struct store_watch *w, const char *path)
{
	char *copy;

	if (w->n_dirs >= DIRS_MAX)
		return 0;
	if (w->n_dirs == w->cap_dirs) {
		size_t cap = w->cap_dirs ? w->cap_dirs * 2 : 32;
		char **v = realloc(w->dirs, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		w->dirs = v;
		w->cap_dirs = cap;
	}
	copy = strdup(path);
	if (copy == NULL)
		return -ENOMEM;
	w->dirs[w->n_dirs++] = copy;

	/* Watches already present are kept by the kernel under the same wd.
	 * Failures (watch limit) leave the directory to the poll. */
	if (w->ifd >= 0)
		inotify_add_watch(w->ifd, path, DIR_MASK);
	return 0;
}

static bool is_dir_entry(const char *parent, const struct dirent *d)
{
	char path[PATH_MAX];
	struct stat sb;

	if (d->d_type == DT_DIR)
		return true;
	if (d->d_type != DT_UNKNOWN)
		return false;
	if (snprintf(path, sizeof(path), "%s/%s", parent, d->d_name) >=
	    (int)sizeof(path))
		return false;
	return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Walk the tags tree (never through symlinks), watch every directory. */
static int scan(struct store_watch *w, const char *path, unsigned depth)
{
	struct dirent *d;
	DIR *dir;
	int r = add_dir(w, path);

	if (r < 0 || depth >= DEPTH_MAX)
		return r;
	dir = opendir(path);
	if (dir == NULL)
		return 0;
	while ((d = readdir(dir)) != NULL) {
		char sub[PATH_MAX];

		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		if (!is_dir_entry(path, d))
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", path, d->d_name) >=
		    (int)sizeof(sub))
			continue;
		r = scan(w, sub, depth + 1);
		if (r < 0)
			break;
	}
	closedir(dir);
	return r;
}

static int rescan(struct store_watch *w)
{
	free_dirs(w);
	return scan(w, w->tags_dir, 0);
}

static uint64_t fold(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static uint64_t fold_stat(uint64_t h, const char *path)
{
	struct stat sb;
	int64_t v[6] = {-1, -1, -1, -1, -1, -1};

	if (stat(path, &sb) == 0) {
		v[0] = (int64_t)sb.st_ino;
		v[1] = (int64_t)sb.st_size;
		v[2] = (int64_t)sb.st_mtim.tv_sec;
		v[3] = sb.st_mtim.tv_nsec;
		v[4] = (int64_t)sb.st_ctim.tv_sec;
		v[5] = sb.st_ctim.tv_nsec;
	}
	return fold(h, v, sizeof(v));
}

/*
 * A cheap summary of the tags: packed-refs and every directory of loose
 * tags. Git replaces refs by renaming lock files, which changes the
 * directory; a new directory changes its parent.
 */
static uint64_t fingerprint(const struct store_watch *w)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	h = fold_stat(h, w->packed_refs);
	for (size_t i = 0; i < w->n_dirs; i++)
		h = fold_stat(h, w->dirs[i]);
	return h;
}

static bool is_lock_file(const char *name)
{
	size_t n = strlen(name);

	return n >= 5 && strcmp(name + n - 5, ".lock") == 0;
}

/*
 * Read what inotify has. Returns 1 when a ref may have changed, 0 when
 * only unrelated events came (lock files, other files of the git dir).
 */
static int drain(struct store_watch *w)
{
	char buf[16384]
	        __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false, new_dirs = false;
	ssize_t n;

	while ((n = read(w->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const void *)p;
			const char *name = ev->len > 0 ? ev->name : "";

			p += sizeof(*ev) + ev->len;
			if (ev->mask & IN_Q_OVERFLOW) {
				changed = new_dirs = true;
				continue;
			}
			if (ev->wd == w->git_wd) {
				if (strcmp(name, "packed-refs") == 0)
					changed = true;
				continue;
			}
			if (ev->wd == w->refs_wd) {
				/* Branches and other refs are no promotions. */
				if (strcmp(name, "tags") == 0)
					changed = new_dirs = true;
				continue;
			}
			if (ev->mask &
			    (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				changed = new_dirs = true;
				continue;
			}
			if (is_lock_file(name))
				continue;
			changed = true;
			if ((ev->mask & IN_ISDIR) &&
			    (ev->mask & (IN_CREATE | IN_MOVED_TO)))
				new_dirs = true;
		}
	}
	if (new_dirs && rescan(w) < 0)
		sp_log(LOG_WARNING, "watch '%s': out of memory, polling",
		       w->tags_dir);
	return changed;
}

/* Wait for fd or stopfd; returns 1 when fd is readable, 0 on timeout, -1
 * when stopped. */
static int wait_fd(struct store_watch *w, int fd, int ms)
{
	struct pollfd p[2] = {{w->stopfd, POLLIN, 0}, {fd, POLLIN, 0}};
	int r;

	if (atomic_load(&w->stopped))
		return -1;
	r = poll(p, fd >= 0 ? 2 : 1, ms);
	if (atomic_load(&w->stopped) || (r > 0 && p[0].revents != 0))
		return -1;
	return r > 0 && p[1].revents != 0;
}

/* After a change: let the burst finish, then take the new baseline. */
static int settle(struct store_watch *w)
{
	int64_t end = now_ms() + BURST_MAX_MS;

	while (w->ifd >= 0) {
		int64_t left = end - now_ms();
		int r;

		if (left <= 0)
			break;
		r = wait_fd(w, w->ifd, left < QUIET_MS ? (int)left : QUIET_MS);
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		drain(w);
	}
	w->fingerprint = fingerprint(w);
	w->next_poll = now_ms() + POLL_MS;
	return 1;
}

int store_watch_wait(struct store_watch *w, int timeout_ms)
{
	int64_t deadline = timeout_ms >= 0 ? now_ms() + timeout_ms : INT64_MAX;

	for (;;) {
		int64_t now = now_ms(), until = w->next_poll;
		int r;

		if (deadline < until)
			until = deadline;
		r = wait_fd(w, w->ifd, until > now ? (int)(until - now) : 0);
		if (r < 0)
			return -1;
		if (r > 0 && drain(w))
			return settle(w);

		now = now_ms();
		if (now >= w->next_poll) {
			w->next_poll = now + POLL_MS;
			if (fingerprint(w) != w->fingerprint) {
				/* New directories show as a changed parent. */
				if (rescan(w) < 0)
					sp_log(LOG_WARNING,
					       "watch '%s': out of memory",
					       w->tags_dir);
				return settle(w);
			}
		}
		if (now >= deadline)
			return 0;
	}
}

static int watch_paths(struct store_watch *w, const char *git_dir)
{
	w->git_dir = strdup(git_dir);
	if (asprintf(&w->refs_dir, "%s/refs", git_dir) < 0)
		w->refs_dir = NULL;
	if (asprintf(&w->tags_dir, "%s/refs/tags", git_dir) < 0)
		w->tags_dir = NULL;
	if (asprintf(&w->packed_refs, "%s/packed-refs", git_dir) < 0)
		w->packed_refs = NULL;
	return w->git_dir && w->refs_dir && w->tags_dir && w->packed_refs
	               ? 0
	               : -ENOMEM;
}

static int add_top_watches(struct store_watch *w, struct sp_error **err)
{
	w->git_wd = inotify_add_watch(w->ifd, w->git_dir, GIT_DIR_MASK);
	if (w->git_wd < 0)
		return sp_error_errno(err, errno, "watch '%s'", w->git_dir);
	w->refs_wd = inotify_add_watch(w->ifd, w->refs_dir, GIT_DIR_MASK);
	if (w->refs_wd < 0)
		return sp_error_errno(err, errno, "watch '%s'", w->refs_dir);
	return 0;
}

int store_watch_start_mode(struct store *st, bool use_inotify,
                           struct store_watch **out, struct sp_error **err)
{
	const char *git_dir = store_git_dir(st);
	struct store_watch *w = calloc(1, sizeof(*w));
	int r = 0;

	if (w == NULL)
		return sp_error_errno(err, ENOMEM, "watch '%s'", git_dir);
	w->git_wd = w->refs_wd = -1;
	w->ifd = -1;
	w->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->stopfd < 0)
		r = sp_error_errno(err, errno, "watch '%s'", git_dir);
	if (r == 0 && watch_paths(w, git_dir) < 0)
		r = sp_error_errno(err, ENOMEM, "watch '%s'", git_dir);
	if (r == 0 && use_inotify) {
		w->ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
		if (w->ifd < 0)
			sp_log(LOG_WARNING,
			       "watch '%s': inotify: %s; polling every %d ms",
			       git_dir, strerror(errno), POLL_MS);
		else
			r = add_top_watches(w, err);
	}
	if (r == 0 && rescan(w) < 0)
		r = sp_error_errno(err, ENOMEM, "watch '%s'", git_dir);
	if (r < 0) {
		store_watch_free(w);
		return r;
	}
	w->fingerprint = fingerprint(w);
	w->next_poll = now_ms() + POLL_MS;
	*out = w;
	return 0;
}

int store_watch_start(struct store *st, struct store_watch **out,
                      struct sp_error **err)
{
	return store_watch_start_mode(st, true, out, err);
}

void store_watch_stop(struct store_watch *w)
{
	uint64_t one = 1;

	atomic_store(&w->stopped, true);
	if (write(w->stopfd, &one, sizeof(one)) < 0)
		sp_log(LOG_DEBUG, "watch: wake-up: %s", strerror(errno));
}

void store_watch_free(struct store_watch *w)
{
	if (w == NULL)
		return;
	if (w->ifd >= 0)
		close(w->ifd);
	if (w->stopfd >= 0)
		close(w->stopfd);
	free_dirs(w);
	free(w->dirs);
	free(w->git_dir);
	free(w->refs_dir);
	free(w->tags_dir);
	free(w->packed_refs);
	free(w);
}

/* secprofd access-log writer: one thread, group commit, durable records. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auditlog.h"
#include "fileio.h"
#include "log.h"
#include "record.h"

/*
 * Submitters only append to a queue; one writer thread owns the file and
 * the chain state (seq, prev). Whatever has queued up while the writer
 * was busy becomes the next batch: one write(), one fdatasync(), then one
 * done() per record, from the writer or, under load, from a completion
 * thread so that the next batch need not wait for the answers. A failed
 * batch is cut off the file again, so the log never holds a torn line and
 * the chain never advances over records that were refused.
 */

struct audit_item {
	struct audit_item *next;
	char *members; /* the body, serialised by the submitter */
	audit_done_fn done;
	void *arg;
	int status; /* -EIO when the record could not be formatted */
	char event[];
};

struct audit_log {
	char *path;
	char *host;
	bool sync;

	pthread_mutex_t lock; /* the queue, closing, idle and writing */
	struct audit_item *head, **tailp;
	bool closing;
	bool idle;    /* the writer waits on wake_fd */
	bool writing; /* a thread owns the file and the chain state */
	int wake_fd;  /* eventfd: new records, close, reopen requests */
	atomic_int reopen;
	atomic_bool queued; /* head != NULL, readable without the lock */
	pthread_t thread;

	/* Owned by whichever thread has set writing. */
	int fd;
	uint64_t seq;
	char prev[RECORD_HASH_HEX];
	struct timespec last_time;
	bool failing;          /* a failure episode is going on */
	unsigned long refused; /* records refused in this episode */
	bool broken;           /* a failed batch could not be cut off */
	off_t good_size;       /* where to cut back to while broken */
	char *buf;
	size_t cap;

	/* Batches waiting to be answered (see hand_over). */
	pthread_mutex_t comp_lock;
	pthread_cond_t comp_cond;
	struct audit_item *comp_head, **comp_tailp;
	bool comp_busy, comp_stop;
	pthread_t completer;

	atomic_ulong count;
	atomic_ulong batches;
};

/* Create the missing directories above path, mode 0750. */
static int make_parents(const char *path, struct sp_error **err)
{
	char *dir = strdup(path), *p;
	int r = 0;

	if (dir == NULL)
		return sp_error_errno(err, ENOMEM, "open access log '%s'",
		                      path);
	for (p = strchr(dir + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
			r = sp_error_errno(err, errno,
			                   "create directory '%s' for the "
			                   "access log",
			                   dir);
			break;
		}
		*p = '/';
	}
	free(dir);
	return r;
}

/*
 * Open path for appending. The exclusive flock keeps a second daemon from
 * interleaving its own chain into the same file.
 */
static int open_append(const char *path, struct sp_error **err)
{
	struct stat st;
	int fd;

	if (make_parents(path, err) < 0)
		return -1;
	/* O_NONBLOCK: a FIFO at path must not hang the daemon. */
	fd = open(path,
	          O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
	                  O_NONBLOCK,
	          0640);
	if (fd < 0) {
		sp_error_errno(err, errno, "open access log '%s'", path);
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		sp_error_set(err, EINVAL,
		             "open access log '%s': not a regular file", path);
		goto fail;
	}
	if (fcntl(fd, F_SETFL, O_APPEND) < 0) {
		sp_error_errno(err, errno, "open access log '%s'", path);
		goto fail;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			sp_error_set(err, EBUSY,
			             "open access log '%s': in use by another "
			             "process",
			             path);
		else
			sp_error_errno(err, errno, "lock access log '%s'",
			               path);
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

/*
 * Read the last record of the file behind fd (through its path, since fd
 * is write-only) and cut a torn tail off.
 */
static int load_tail(const char *path, int fd, struct record_tail *tail,
                     struct sp_error **err)
{
	int rfd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int r;

	if (rfd < 0)
		return sp_error_errno(err, errno, "read access log '%s'", path);
	r = record_read_tail(rfd, tail, err);
	close(rfd);
	if (r < 0)
		return sp_error_prefix(err, "access log '%s'", path);
	if (!tail->torn)
		return 0;

	if (ftruncate(fd, tail->good_size) < 0)
		return sp_error_errno(err, errno,
		                      "cut the incomplete last line of access "
		                      "log '%s'",
		                      path);
	sp_log(LOG_WARNING,
	       "access log '%s': cut an incomplete record after byte %lld "
	       "(left by a crash)",
	       path, (long long)tail->good_size);
	return 0;
}

/*
 * Names logrotate gives the file at base: base.1 (numbered) or
 * base-20261203 (dateext). Compressed ones (.gz) cannot be read here.
 */
static bool rotated_name(const char *base, const char *name)
{
	size_t n = strlen(base);
	const char *s = name + n + 1;

	if (strncmp(name, base, n) || (name[n] != '.' && name[n] != '-') ||
	    *s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

/* The most recently modified rotated sibling of path, or NULL. */
static char *newest_rotated(const char *path)
{
	char *dir = strdup(path), *slash, *best = NULL;
	const char *base;
	struct timespec newest = {0, 0};
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (dir == NULL)
		return NULL;
	slash = strrchr(dir, '/');
	base = slash != NULL ? slash + 1 : dir;
	if (slash != NULL)
		*slash = '\0';
	d = opendir(slash == NULL ? "." : slash == dir ? "/" : dir);
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (!rotated_name(base, e->d_name) ||
		    fstatat(dirfd(d), e->d_name, &st, 0) < 0 ||
		    !S_ISREG(st.st_mode) || st.st_size == 0)
			continue;
		if (best != NULL && (st.st_mtim.tv_sec < newest.tv_sec ||
		                     (st.st_mtim.tv_sec == newest.tv_sec &&
		                      st.st_mtim.tv_nsec <= newest.tv_nsec)))
			continue;
		free(best);
		if (asprintf(&best, "%s/%s", slash == NULL ? "." : dir,
		             e->d_name) < 0)
			best = NULL;
		newest = st.st_mtim;
	}
	if (d != NULL)
		closedir(d);
	free(dir);
	return best;
}

/*
 * The log is empty. When logrotate moved its predecessor away while the
 * daemon was not running (so no reopen carried the chain over), continue
 * the chain of the newest rotated file instead of starting a new one.
 */
static void continue_rotated(const char *path, struct record_tail *tail)
{
	_cleanup_error_ struct sp_error *err = NULL;
	char *prev = newest_rotated(path);
	struct record_tail t;
	int fd;

	if (prev == NULL)
		return;
	fd = open(prev, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || record_read_tail(fd, &t, &err) < 0 || t.seq == 0) {
		sp_log(LOG_WARNING,
		       "access log '%s' is empty and its rotated predecessor "
		       "'%s' has no readable last record (%s); starting a new "
		       "chain",
		       path, prev,
		       err != NULL ? err->msg
		       : fd < 0    ? strerror(errno)
		                   : "no records");
	} else {
		*tail = t;
		tail->good_size = 0;
		tail->torn = false;
		sp_log(LOG_INFO,
		       "access log '%s' is empty: continuing the chain of '%s' "
		       "at seq %llu",
		       path, prev, (unsigned long long)t.seq + 1);
	}
	if (fd >= 0)
		close(fd);
	free(prev);
}

static void wake_writer(struct audit_log *log)
{
	uint64_t one = 1;
	ssize_t n;

	n = write(log->wake_fd, &one, sizeof(one));
	(void)n; /* a full counter already means "wake up" */
}

static void wait_for_wake(struct audit_log *log)
{
	uint64_t v;

	while (read(log->wake_fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

static void reopen_file(struct audit_log *log)
{
	_cleanup_error_ struct sp_error *err = NULL;
	struct record_tail tail;
	struct stat a, b;
	int fd;

	/* Not rotated: keep the file (our own lock would refuse a 2nd fd). */
	if (stat(log->path, &a) == 0 && fstat(log->fd, &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return;

	fd = open_append(log->path, &err);
	if (fd < 0) {
		sp_log(LOG_ERR, "%s; still writing to the previous file",
		       err->msg);
		return;
	}
	if (load_tail(log->path, fd, &tail, &err) < 0) {
		sp_log(LOG_ERR,
		       "reopen: %s; still writing to the previous file",
		       err->msg);
		close(fd);
		return;
	}
	if (tail.seq != 0 &&
	    (tail.seq != log->seq || strcmp(tail.hash, log->prev)))
		sp_log(LOG_WARNING,
		       "access log '%s' already holds records of another chain "
		       "(last seq %llu); this log continues at seq %llu",
		       log->path, (unsigned long long)tail.seq,
		       (unsigned long long)log->seq + 1);

	if (log->broken)
		sp_log(LOG_WARNING,
		       "the rotated access log ends in a failed write that "
		       "could not be cut off; verify will report it");
	close(log->fd);
	log->fd = fd;
	log->broken = false;
	sp_log(LOG_INFO, "reopened access log '%s' at seq %llu", log->path,
	       (unsigned long long)log->seq + 1);
}

/*
 * The writer thread's next batch: everything queued, once no submitter is
 * writing; NULL once closed and drained. Sets writing.
 */
static struct audit_item *take_batch(struct audit_log *log)
{
	struct audit_item *batch;

	pthread_mutex_lock(&log->lock);
	for (;;) {
		if (!log->writing && atomic_exchange(&log->reopen, 0)) {
			log->writing = true;
			pthread_mutex_unlock(&log->lock);
			reopen_file(log);
			pthread_mutex_lock(&log->lock);
			log->writing = false;
			continue;
		}
		if (!log->writing && (log->head != NULL || log->closing))
			break;
		log->idle = true;
		pthread_mutex_unlock(&log->lock);
		wait_for_wake(log);
		pthread_mutex_lock(&log->lock);
		log->idle = false;
	}
	batch = log->head;
	log->head = NULL;
	log->tailp = &log->head;
	atomic_store(&log->queued, false);
	log->writing = batch != NULL;
	pthread_mutex_unlock(&log->lock);
	return batch;
}

/*
 * Give up the file after a batch. Work that arrived meanwhile goes to the
 * writer thread, so a submitter that led one batch returns to its caller.
 */
static void end_writing(struct audit_log *log)
{
	bool wake;

	pthread_mutex_lock(&log->lock);
	log->writing = false;
	wake = log->idle &&
	       (log->head != NULL || log->closing || atomic_load(&log->reopen));
	if (wake)
		log->idle = false;
	pthread_mutex_unlock(&log->lock);
	if (wake)
		wake_writer(log);
}

/* Record times never go backwards, even when the clock is stepped. */
static void record_now(struct audit_log *log, struct timespec *now)
{
	clock_gettime(CLOCK_REALTIME, now);
	if (now->tv_sec < log->last_time.tv_sec ||
	    (now->tv_sec == log->last_time.tv_sec &&
	     now->tv_nsec < log->last_time.tv_nsec))
		*now = log->last_time;
	log->last_time = *now;
}

static int buf_append(struct audit_log *log, size_t *len, const char *line,
                      size_t n)
{
	if (*len + n + 1 > log->cap) {
		size_t cap = log->cap ? log->cap : 65536;
		char *p;

		while (cap < *len + n + 1)
			cap *= 2;
		p = realloc(log->buf, cap);
		if (p == NULL)
			return -ENOMEM;
		log->buf = p;
		log->cap = cap;
	}
	memcpy(log->buf + *len, line, n);
	log->buf[*len + n] = '\n';
	*len += n + 1;
	return 0;
}

/*
 * Format the batch into log->buf, chaining from the log's state into
 * *seq and prev. A record that cannot be formatted is refused alone.
 */
static size_t format_batch(struct audit_log *log, struct audit_item *batch,
                           uint64_t *seq, char prev[RECORD_HASH_HEX])
{
	struct audit_item *it;
	struct timespec now;
	size_t len = 0;

	*seq = log->seq;
	memcpy(prev, log->prev, RECORD_HASH_HEX);
	for (it = batch; it != NULL; it = it->next) {
		char *line;
		size_t n;

		record_now(log, &now);
		line = record_line(*seq + 1, &now, it->event, log->host,
		                   it->members, prev);
		free(it->members);
		it->members = NULL;
		if (line == NULL) {
			sp_log(LOG_ERR,
			       "cannot format an access record of event "
			       "'%s': %s",
			       it->event, strerror(errno));
			it->status = -EIO;
			continue;
		}
		n = strlen(line);
		if (buf_append(log, &len, line, n) < 0) {
			sp_log(LOG_ERR, "cannot buffer a '%s' access record",
			       it->event);
			it->status = -EIO;
			free(line);
			continue;
		}
		record_hash(line, n, prev);
		free(line);
		(*seq)++;
	}
	return len;
}

static void episode_fail(struct audit_log *log, const char *what, int errnum,
                         unsigned long records)
{
	if (!log->failing)
		sp_log(LOG_ERR,
		       "%s access log '%s': %s; opens fail with EIO until it "
		       "can be written",
		       what, log->path, strerror(errnum));
	log->failing = true;
	log->refused += records;
}

static void episode_ok(struct audit_log *log)
{
	if (!log->failing)
		return;
	sp_log(LOG_NOTICE,
	       "access log '%s' is written again; %lu records were refused",
	       log->path, log->refused);
	log->failing = false;
	log->refused = 0;
}

/* After a failed write: leave the file as it was before the batch. */
static void cut_back(struct audit_log *log, off_t size)
{
	if (ftruncate(log->fd, size) == 0)
		return;
	if (!log->broken)
		sp_log(LOG_ERR,
		       "cannot cut a failed write off access log '%s': %s; "
		       "retrying before every write",
		       log->path, strerror(errno));
	log->broken = true;
	log->good_size = size;
}

/* Write the formatted batch; 0 when durable, else -errno (already cut). */
static int commit_bytes(struct audit_log *log, size_t len,
                        unsigned long records)
{
	struct stat st;
	int r;

	if (log->broken) {
		if (ftruncate(log->fd, log->good_size) < 0) {
			episode_fail(log, "repair", errno, records);
			return -EIO;
		}
		log->broken = false;
	}
	if (len == 0)
		return 0;
	if (fstat(log->fd, &st) < 0) {
		episode_fail(log, "stat", errno, records);
		return -EIO;
	}

	r = sp_write_all(log->fd, log->buf, len);
	if (r == 0 && log->sync && fdatasync(log->fd) < 0)
		r = -errno;
	if (r < 0) {
		episode_fail(log, "write", -r, records);
		cut_back(log, st.st_size);
		return -EIO;
	}
	return 0;
}

static void answer(struct audit_item *batch)
{
	struct audit_item *it;

	while ((it = batch) != NULL) {
		batch = it->next;
		it->done(it->arg, it->status);
		free(it);
	}
}

/*
 * Answering a batch costs a system call and a wake-up per record. When
 * more records are already waiting, the completion thread answers while
 * the writer starts the next write and sync; otherwise the writer answers
 * itself, which saves a thread hop on a lightly loaded log. Batches are
 * answered in order either way.
 */
static void hand_over(struct audit_log *log, struct audit_item *batch)
{
	bool now;

	pthread_mutex_lock(&log->comp_lock);
	now = log->comp_head == NULL && !log->comp_busy &&
	      !atomic_load(&log->queued);
	if (!now) {
		*log->comp_tailp = batch;
		while (batch->next != NULL)
			batch = batch->next;
		log->comp_tailp = &batch->next;
		pthread_cond_signal(&log->comp_cond);
	}
	pthread_mutex_unlock(&log->comp_lock);
	if (now)
		answer(batch);
}

static void *completer_main(void *arg)
{
	struct audit_log *log = arg;
	struct audit_item *batch;

	pthread_mutex_lock(&log->comp_lock);
	for (;;) {
		while (log->comp_head == NULL && !log->comp_stop)
			pthread_cond_wait(&log->comp_cond, &log->comp_lock);
		if (log->comp_head == NULL)
			break;
		batch = log->comp_head;
		log->comp_head = NULL;
		log->comp_tailp = &log->comp_head;
		log->comp_busy = true;
		pthread_mutex_unlock(&log->comp_lock);
		answer(batch);
		pthread_mutex_lock(&log->comp_lock);
		log->comp_busy = false;
	}
	pthread_mutex_unlock(&log->comp_lock);
	return NULL;
}

static void commit(struct audit_log *log, struct audit_item *batch)
{
	char prev[RECORD_HASH_HEX];
	unsigned long n = 0;
	struct audit_item *it;
	uint64_t seq;
	size_t len;
	int r;

	len = format_batch(log, batch, &seq, prev);
	n = seq - log->seq;
	r = commit_bytes(log, len, n);
	if (r == 0 && len > 0) {
		log->seq = seq;
		memcpy(log->prev, prev, RECORD_HASH_HEX);
		atomic_fetch_add(&log->count, n);
		atomic_fetch_add(&log->batches, 1);
		episode_ok(log);
	}

	for (it = batch; it != NULL; it = it->next)
		if (r < 0)
			it->status = -EIO;
	hand_over(log, batch);
}

static void *writer_main(void *arg)
{
	struct audit_log *log = arg;
	struct audit_item *batch;

	while ((batch = take_batch(log)) != NULL) {
		commit(log, batch);
		end_writing(log);
	}
	return NULL;
}

static void free_log(struct audit_log *log)
{
	if (log->fd >= 0)
		close(log->fd);
	if (log->wake_fd >= 0)
		close(log->wake_fd);
	pthread_mutex_destroy(&log->lock);
	pthread_mutex_destroy(&log->comp_lock);
	pthread_cond_destroy(&log->comp_cond);
	free(log->buf);
	free(log->path);
	free(log->host);
	free(log);
}

/*
 * The path as an absolute one: the daemon changes to / once it runs in
 * the background, and a reopen must still find the same file.
 */
static char *absolute(const char *path)
{
	char cwd[PATH_MAX], *abs = NULL;

	if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(path);
	if (asprintf(&abs, "%s/%s", cwd, path) < 0)
		return NULL;
	return abs;
}

static void stop_completer(struct audit_log *log)
{
	pthread_mutex_lock(&log->comp_lock);
	log->comp_stop = true;
	pthread_cond_signal(&log->comp_cond);
	pthread_mutex_unlock(&log->comp_lock);
	pthread_join(log->completer, NULL);
}

/* Start the threads with every signal blocked: they belong to the daemon. */
static int start_threads(struct audit_log *log)
{
	sigset_t all, old;
	int r;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	r = pthread_create(&log->completer, NULL, completer_main, log);
	if (r == 0) {
		r = pthread_create(&log->thread, NULL, writer_main, log);
		if (r != 0)
			stop_completer(log);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return -r;
}

int audit_log_open(struct audit_log **out, const char *path, bool sync,
                   const char *host, struct sp_error **err)
{
	struct audit_log *log = calloc(1, sizeof(*log));
	struct record_tail tail;
	int r;

	*out = NULL;
	if (log == NULL)
		return sp_error_errno(err, ENOMEM, "open access log '%s'",
		                      path);
	pthread_mutex_init(&log->lock, NULL);
	pthread_mutex_init(&log->comp_lock, NULL);
	pthread_cond_init(&log->comp_cond, NULL);
	log->tailp = &log->head;
	log->comp_tailp = &log->comp_head;
	log->sync = sync;
	log->wake_fd = -1;
	log->path = absolute(path);
	log->host = strdup(host != NULL ? host : "");
	log->fd = open_append(path, err);
	if (log->fd < 0) {
		free_log(log);
		return err != NULL && *err != NULL ? -(*err)->errnum : -EIO;
	}

	r = load_tail(path, log->fd, &tail, err);
	if (r < 0) {
		free_log(log);
		return r;
	}
	if (tail.seq == 0)
		continue_rotated(path, &tail);
	log->seq = tail.seq;
	memcpy(log->prev, tail.hash, RECORD_HASH_HEX);

	log->wake_fd = eventfd(0, EFD_CLOEXEC);
	r = log->wake_fd < 0 || log->path == NULL || log->host == NULL
	            ? -errno
	            : start_threads(log);
	if (r < 0) {
		free_log(log);
		return sp_error_errno(err, -r, "start the access-log writer");
	}
	*out = log;
	return 0;
}

int audit_log_submit(struct audit_log *log, const char *event, json_t *body,
                     audit_done_fn done, void *arg)
{
	size_t elen = strlen(event) + 1;
	struct audit_item *it, *batch = NULL;
	bool wake = false, lead;
	char *members;

	if (body == NULL)
		return -EIO; /* the caller ran out of memory building it */
	/* Serialised here, in parallel, rather than in the one writer. */
	members = record_members(body);
	json_decref(body);
	if (members == NULL) {
		sp_log(LOG_ERR,
		       "cannot format an access record of event '%s': %s",
		       event, strerror(errno));
		return -EIO;
	}
	it = malloc(sizeof(*it) + elen);
	if (it == NULL) {
		free(members);
		return -EIO;
	}
	*it = (struct audit_item){.members = members, .done = done, .arg = arg};
	memcpy(it->event, event, elen);

	pthread_mutex_lock(&log->lock);
	if (log->closing) {
		pthread_mutex_unlock(&log->lock);
		free(members);
		free(it);
		return -EIO;
	}
	*log->tailp = it;
	log->tailp = &it->next;

	/*
	 * An idle log is written by the submitter itself: handing one record
	 * to the writer thread would cost a thread wake-up, which on a
	 * virtual machine is a good part of an open's latency. Under load
	 * the writer thread is busy, records queue up behind its batch, and
	 * group commit takes over.
	 */
	lead = !log->writing && !atomic_load(&log->reopen);
	if (lead) {
		batch = log->head;
		log->head = NULL;
		log->tailp = &log->head;
		log->writing = true;
	} else {
		atomic_store(&log->queued, true);
		wake = log->idle;
		log->idle = false; /* one wake-up is enough */
	}
	pthread_mutex_unlock(&log->lock);

	if (lead) {
		commit(log, batch);
		end_writing(log);
	} else if (wake) {
		wake_writer(log);
	}
	return 0;
}

/*
 * A synchronous writer sleeps on a lock and condition variable of its own
 * thread, which live as long as the thread: a pair on the caller's stack
 * could be destroyed while the writer thread is still inside the unlock,
 * and the log's lock would make the writer queue up behind submitters
 * while it answers a batch.
 */
static _Thread_local pthread_mutex_t waiter_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local pthread_cond_t waiter_cond = PTHREAD_COND_INITIALIZER;

struct waiter {
	pthread_mutex_t *lock;
	pthread_cond_t *cond;
	bool done;
	int err;
};

static void waiter_done(void *arg, int err)
{
	struct waiter *w = arg;
	pthread_mutex_t *lock = w->lock;

	pthread_mutex_lock(lock);
	w->done = true;
	w->err = err;
	pthread_cond_signal(w->cond);
	pthread_mutex_unlock(lock);
}

int audit_log_write(struct audit_log *log, const char *event, json_t *body)
{
	struct waiter w = {.lock = &waiter_lock, .cond = &waiter_cond};
	int r;

	r = audit_log_submit(log, event, body, waiter_done, &w);
	if (r != 0)
		return r;
	pthread_mutex_lock(w.lock);
	while (!w.done)
		pthread_cond_wait(w.cond, w.lock);
	pthread_mutex_unlock(w.lock);
	return w.err;
}

void audit_log_request_reopen(struct audit_log *log)
{
	int saved = errno;

	atomic_store(&log->reopen, 1);
	wake_writer(log);
	errno = saved;
}

unsigned long audit_log_count(const struct audit_log *log)
{
	return atomic_load(&log->count);
}

unsigned long audit_log_batches(const struct audit_log *log)
{
	return atomic_load(&log->batches);
}

void audit_log_close(struct audit_log *log)
{
	if (log == NULL)
		return;
	pthread_mutex_lock(&log->lock);
	log->closing = true;
	pthread_mutex_unlock(&log->lock);
	wake_writer(log);
	pthread_join(log->thread, NULL);
	stop_completer(log);
	free_log(log);
}

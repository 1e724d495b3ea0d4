/* secprofd: start-up, signals and shutdown of the profile mount. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"
#include "refresh.h"

#define DEFAULT_AUDIT_LOG "/var/log/secprof/access.log"
#define DEFAULT_ENVS "dev,staging,prod"
#define CACHE_BYTES (64u << 20)

struct options {
	const char *repo;
	const char *mountpoint;
	const char *audit_log;
	const char *profiles_dir;
	const char *caps;
	const char *kernel;
	char *envs;
	bool sync;
	bool foreground;
	bool debug;
	bool single_thread;
	struct fuse_args fuse_args;
};

static struct audit_log *signal_log;

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: secprofd [options] REPO MOUNTPOINT\n"
	        "\n"
	        "Serve the seccomp profiles promoted by REPO's tags as a\n"
	        "read-only tree at MOUNTPOINT; every open is an access "
	        "record.\n"
	        "\n"
	        "options:\n"
	        "  -f, --foreground        stay in the foreground\n"
	        "  -d, --debug             foreground, with FUSE request "
	        "tracing\n"
	        "  -s                      serve requests on a single thread\n"
	        "  --audit-log FILE        access log (default %s)\n"
	        "  --audit-sync=MODE       always (default): fdatasync each\n"
	        "                          batch before answering; none: skip\n"
	        "                          the sync (development only)\n"
	        "  --profiles-dir DIR      profiles live under DIR in the "
	        "tree\n"
	        "  --envs LIST             ordered environments (default %s)\n"
	        "  --caps LIST             capabilities .bpf filters are\n"
	        "                          compiled for (default: Docker's\n"
	        "                          default set; +CAP/-CAP edit it)\n"
	        "  --kernel X.Y            kernel version for minKernel\n"
	        "                          (default: the running kernel)\n"
	        "  -o OPT[,OPT...]         mount options passed to libfuse\n"
	        "  -h, --help              show this help\n"
	        "  -V, --version           show the version\n"
	        "\n"
	        "SIGHUP reopens the access log; SIGTERM unmounts and exits.\n",
	        DEFAULT_AUDIT_LOG, DEFAULT_ENVS);
}

static int bad_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "secprofd: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see secprofd --help)\n");
	return 2;
}

/* Returns -1 to continue, or an exit status. */
static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_AUDIT_LOG = 256,
		OPT_AUDIT_SYNC,
		OPT_PROFILES,
		OPT_ENVS,
		OPT_CAPS,
		OPT_KERNEL,
	};
	static const struct option longopts[] = {
	        {"foreground", no_argument, NULL, 'f'},
	        {"debug", no_argument, NULL, 'd'},
	        {"help", no_argument, NULL, 'h'},
	        {"version", no_argument, NULL, 'V'},
	        {"audit-log", required_argument, NULL, OPT_AUDIT_LOG},
	        {"audit-sync", required_argument, NULL, OPT_AUDIT_SYNC},
	        {"profiles-dir", required_argument, NULL, OPT_PROFILES},
	        {"envs", required_argument, NULL, OPT_ENVS},
	        {"caps", required_argument, NULL, OPT_CAPS},
	        {"kernel", required_argument, NULL, OPT_KERNEL},
	        {NULL, 0, NULL, 0},
	};
	int c;

	o->audit_log = DEFAULT_AUDIT_LOG;
	o->sync = true;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":fdhsVo:", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 'f':
			o->foreground = true;
			break;
		case 'd':
			o->foreground = true;
			o->debug = true;
			break;
		case 's':
			o->single_thread = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("secprofd %s (libfuse %d, libgit2)\n",
			       SECPROF_VERSION, fuse_version());
			return 0;
		case 'o':
			if (fuse_opt_add_arg(&o->fuse_args, "-o") ||
			    fuse_opt_add_arg(&o->fuse_args, optarg))
				return bad_usage("%s", "out of memory");
			break;
		case OPT_AUDIT_LOG:
			o->audit_log = optarg;
			break;
		case OPT_AUDIT_SYNC:
			if (!strcmp(optarg, "always"))
				o->sync = true;
			else if (!strcmp(optarg, "none"))
				o->sync = false;
			else
				return bad_usage("--audit-sync: unknown mode "
				                 "'%s' (always or none)",
				                 optarg);
			break;
		case OPT_PROFILES:
			o->profiles_dir = optarg;
			break;
		case OPT_ENVS:
			o->envs = optarg;
			break;
		case OPT_CAPS:
			o->caps = optarg;
			break;
		case OPT_KERNEL:
			o->kernel = optarg;
			break;
		case ':':
			return bad_usage("option '%s' needs an argument",
			                 argv[optind - 1]);
		default:
			return bad_usage("unknown option '%s'",
			                 argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		return bad_usage("%s", argc - optind < 2
		                               ? "expected REPO and MOUNTPOINT"
		                               : "too many arguments");
	o->repo = argv[optind];
	o->mountpoint = argv[optind + 1];
	return -1;
}

/* Split and check the environment list; returns a NULL-terminated array. */
static char **parse_envs(char *list)
{
	size_t n = 1, i = 0;
	char **envs, *p, *save = NULL;

	for (p = list; *p; p++)
		n += *p == ',';
	envs = calloc(n + 1, sizeof(*envs));
	if (envs == NULL)
		return NULL;
	for (p = strtok_r(list, ",", &save); p;
	     p = strtok_r(NULL, ",", &save)) {
		size_t j;

		if (!store_valid_env(p)) {
			fprintf(stderr,
			        "secprofd: --envs: invalid environment "
			        "name '%s'\n",
			        p);
			free(envs);
			return NULL;
		}
		for (j = 0; j < i; j++) {
			if (!strcmp(envs[j], p)) {
				fprintf(stderr,
				        "secprofd: --envs: '%s' is "
				        "listed twice\n",
				        p);
				free(envs);
				return NULL;
			}
		}
		envs[i++] = p;
	}
	if (i == 0) {
		fprintf(stderr, "secprofd: --envs: no environment given\n");
		free(envs);
		return NULL;
	}
	return envs;
}

static int setup_bpf(struct fs_daemon *d, const struct options *o)
{
	_cleanup_error_ struct sp_error *err = NULL;

	if (bpf_settings_default(&d->bpf) != 0) {
		fprintf(stderr, "secprofd: cannot read the kernel version\n");
		return -1;
	}
	if (o->caps != NULL &&
	    bpf_settings_set_caps(&d->bpf, o->caps, &err) != 0) {
		fprintf(stderr, "secprofd: --caps: %s\n", err->msg);
		return -1;
	}
	if (o->kernel != NULL &&
	    bpf_settings_set_kernel(&d->bpf, o->kernel, &err) != 0) {
		fprintf(stderr, "secprofd: --kernel: %s\n", err->msg);
		return -1;
	}
	bpf_settings_fingerprint(&d->bpf, d->bpf_fingerprint,
	                         sizeof(d->bpf_fingerprint));
	return 0;
}

static int check_mountpoint(const char *path, char *abs)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "secprofd: mount point '%s': %s\n", path,
		        strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "secprofd: mount point '%s': not a directory\n",
		        path);
		return -1;
	}
	if (realpath(path, abs) == NULL) {
		fprintf(stderr, "secprofd: mount point '%s': %s\n", path,
		        strerror(errno));
		return -1;
	}
	return 0;
}

/* The FUSE device is character device 10:229 on every Linux system. */
static int check_fuse_device(void)
{
	struct stat st;
	int fd;

	if (stat("/dev/fuse", &st) == 0 &&
	    (!S_ISCHR(st.st_mode) || major(st.st_rdev) != 10 ||
	     minor(st.st_rdev) != 229)) {
		fprintf(stderr, "secprofd: /dev/fuse: not the FUSE device\n");
		return -1;
	}
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "secprofd: cannot open /dev/fuse: %s\n",
		        strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

/*
 * Background mode: the parent waits until the child has mounted and
 * written its start record (or failed), so that the exit status of the
 * command says whether the mount is up, and nothing is half-mounted.
 */
static int daemon_fork(int *notify_fd)
{
	int pipefd[2];
	pid_t pid;
	char status = 1;

	if (pipe2(pipefd, O_CLOEXEC) != 0) {
		fprintf(stderr, "secprofd: pipe: %s\n", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "secprofd: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid > 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &status, 1) != 1)
			status = 1;
		_exit(status);
	}
	close(pipefd[0]);
	setsid();
	*notify_fd = pipefd[1];
	return 0;
}

static void daemon_ready(int notify_fd)
{
	char ok = 0;
	int null;

	if (notify_fd < 0)
		return;
	if (chdir("/") != 0)
		sp_log(LOG_WARNING, "chdir /: %s", strerror(errno));
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		if (null > STDERR_FILENO)
			close(null);
	}
	sp_log_use_syslog();
	if (write(notify_fd, &ok, 1) != 1)
		sp_log(LOG_WARNING, "could not notify the starting process");
	close(notify_fd);
}

static void on_sighup(int sig)
{
	if (signal_log != NULL)
		audit_log_request_reopen(signal_log);
}

static void fuse_log_to_sp(enum fuse_log_level level, const char *fmt,
                           va_list ap)
{
	char buf[1024];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	sp_log((int)level, "%s", buf);
}

static json_t *lifecycle_body(struct fs_daemon *d, const struct options *o)
{
	struct store_index *idx = fs_index_get(d);
	json_t *body = json_pack(
	        "{s:s, s:s, s:s, s:I, s:s, s:s}", "version", SECPROF_VERSION,
	        "repository", d->repo, "mountpoint", d->mountpoint,
	        "promotions", (json_int_t)store_index_promotions(idx),
	        "audit_sync", o->sync ? "always" : "none", "profiles_dir",
	        o->profiles_dir != NULL ? o->profiles_dir : "");

	store_index_unref(idx);
	return body;
}

/* Threads other than libfuse's must not take the termination signals. */
static void block_signals(sigset_t *old)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, old);
}

static int serve(struct fs_daemon *d, struct options *o, int notify_fd)
{
	struct fs_refresh *refresh = NULL;
	struct fuse_loop_config *loop = NULL;
	_cleanup_error_ struct sp_error *err = NULL;
	struct sigaction sa;
	sigset_t oldmask;
	char host[256] = "";
	int rc = 1, loop_rc;

	gethostname(host, sizeof(host) - 1);
	block_signals(&oldmask);
	if (audit_log_open(&d->log, o->audit_log, o->sync, host, &err) != 0) {
		pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
		fprintf(stderr, "secprofd: %s\n", err->msg);
		return 1;
	}
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);

	d->se = fuse_session_new(&o->fuse_args, &fs_ops, sizeof(fs_ops), d);
	if (d->se == NULL) {
		fprintf(stderr, "secprofd: cannot create the FUSE session "
		                "(bad -o option?)\n");
		goto out_log;
	}
	if (fuse_set_signal_handlers(d->se) != 0)
		goto out_session;
	signal_log = d->log;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sighup;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGHUP, &sa, NULL);

	if (fuse_session_mount(d->se, d->mountpoint) != 0) {
		fprintf(stderr, "secprofd: mount '%s' failed\n", d->mountpoint);
		goto out_signals;
	}
	if (audit_log_write(d->log, "start", lifecycle_body(d, o)) != 0) {
		fprintf(stderr,
		        "secprofd: cannot write the start record to "
		        "'%s'\n",
		        o->audit_log);
		goto out_unmount;
	}

	block_signals(&oldmask);
	rc = fs_refresh_start(d, &refresh, &err);
	pthread_sigmask(SIG_SETMASK, &oldmask, NULL);
	if (rc != 0) {
		fprintf(stderr, "secprofd: %s\n", err->msg);
		rc = 1;
		goto out_unmount;
	}

	{
		struct store_index *idx = fs_index_get(d);

		sp_log(LOG_INFO, "serving %zu promotions of '%s' at '%s'",
		       store_index_promotions(idx), d->repo, d->mountpoint);
		store_index_unref(idx);
	}
	daemon_ready(notify_fd);

	if (o->single_thread) {
		loop_rc = fuse_session_loop(d->se);
	} else {
		loop = fuse_loop_cfg_create();
		/*
		 * Opens do not hold a thread while their record is written,
		 * so a few threads serve many clients. Idle threads are kept:
		 * letting them exit makes libfuse start a new thread for
		 * nearly every request under load.
		 */
		fuse_loop_cfg_set_max_threads(loop, 16);
		fuse_loop_cfg_set_idle_threads(loop, 16);
		loop_rc = fuse_session_loop_mt(d->se, loop);
		fuse_loop_cfg_destroy(loop);
	}
	rc = loop_rc < 0 ? 1 : 0;
	if (rc != 0)
		sp_log(LOG_ERR, "request loop failed: %s", strerror(-loop_rc));

	fs_refresh_stop(refresh);
	if (audit_log_write(d->log, "stop", lifecycle_body(d, o)) != 0) {
		sp_log(LOG_ERR, "cannot write the stop record");
		rc = 1;
	}
out_unmount:
	fuse_session_unmount(d->se);
out_signals:
	signal_log = NULL;
	fuse_remove_signal_handlers(d->se);
out_session:
	fuse_session_destroy(d->se);
	fs_handles_release_all(d);
out_log:
	audit_log_close(d->log);
	return rc;
}

int main(int argc, char **argv)
{
	struct options o = {.fuse_args = FUSE_ARGS_INIT(0, NULL)};
	struct store_options sopts = {0};
	_cleanup_error_ struct sp_error *err = NULL;
	struct fs_daemon d = {0};
	char envbuf[] = DEFAULT_ENVS;
	char mnt[PATH_MAX], repo[PATH_MAX];
	char **envs = NULL;
	int rc, notify_fd = -1;

	sp_log_init("secprofd");
	fuse_set_log_func(fuse_log_to_sp);
	if (fuse_opt_add_arg(&o.fuse_args, "secprofd") ||
	    fuse_opt_add_arg(&o.fuse_args, "-o") ||
	    fuse_opt_add_arg(&o.fuse_args, "ro,default_permissions,allow_other,"
	                                   "fsname=secprof,subtype=secprof"))
		return 1;

	rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		goto out;
	rc = 1;
	if (o.debug) {
		sp_log_set_level(LOG_DEBUG);
		if (fuse_opt_add_arg(&o.fuse_args, "-d"))
			goto out;
	}
	envs = parse_envs(o.envs != NULL ? o.envs : envbuf);
	if (envs == NULL)
		goto out;
	if (setup_bpf(&d, &o) != 0 ||
	    check_mountpoint(o.mountpoint, mnt) != 0 ||
	    check_fuse_device() != 0)
		goto out;

	sopts.profiles_dir = o.profiles_dir;
	sopts.envs = (const char *const *)envs;
	sopts.with_bpf = true;
	if (store_open(&d.store, o.repo, &sopts, &err) != 0 ||
	    store_index_build(d.store, &d.index, &err) != 0) {
		fprintf(stderr, "secprofd: %s\n", err->msg);
		goto out_store;
	}

	pthread_mutex_init(&d.index_lock, NULL);
	pthread_mutex_init(&d.handles_lock, NULL);
	d.repo = realpath(o.repo, repo) != NULL ? repo : o.repo;
	d.mountpoint = mnt;
	d.profile_timeout = 86400.0;
	d.dir_timeout = 1.0;
	d.cache = fs_cache_new(CACHE_BYTES);
	if (d.cache == NULL)
		goto out_store;

	if (!o.foreground && daemon_fork(&notify_fd) != 0)
		goto out_cache;
	rc = serve(&d, &o, notify_fd);
	if (rc != 0 && notify_fd >= 0) {
		char bad = 1;

		if (write(notify_fd, &bad, 1) != 1)
			rc = 1;
	}

out_cache:
	fs_cache_free(d.cache);
	store_index_unref(d.index);
	pthread_mutex_destroy(&d.index_lock);
	pthread_mutex_destroy(&d.handles_lock);
out_store:
	store_close(d.store);
out:
	free(envs);
	fuse_opt_free_args(&o.fuse_args);
	return rc;
}

/* secprof compile and lint: the filter compiler on the command line. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bpf.h"
#include "cmd.h"
#include "fileio.h"
#include "log.h"

/* Profiles are small; a bigger file is a mistake, not a profile. */
#define PROFILE_MAX_BYTES (16u << 20)

static void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))

static int read_all(int fd, char **out, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t got;

		if (n == cap) {
			char *nb;

			if (cap >= PROFILE_MAX_BYTES) {
				free(buf);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 16384;
			nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;

			free(buf);
			return -e;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Read a profile file, "-" for standard input. */
static int read_profile(const char *path, char **buf, size_t *len,
                        struct sp_error **err)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	int r;

	if (fd < 0)
		return sp_error_errno(err, errno, "open profile '%s'", path);
	r = read_all(fd, buf, len);
	if (fd != 0)
		close(fd);
	if (r < 0)
		return sp_error_errno(err, -r, "read profile '%s'", path);
	return 0;
}

/*
 * Write the filter to path through a temporary file and rename, so that
 * a reader never sees half a filter; "-" or NULL is standard output. A
 * path that exists and is not a regular file (/dev/null, a FIFO) is
 * written in place: renaming over it would replace the device node.
 */
static int write_filter(const char *path, const struct bpf_program *prog,
                        struct sp_error **err)
{
	_cleanup_free_ char *tmp = NULL;
	struct stat st;
	int fd, r;

	if (path == NULL || !strcmp(path, "-")) {
		if (isatty(1))
			return sp_error_set(err, EINVAL,
			                    "refusing to write a binary filter "
			                    "to a terminal; use -o FILE");
		r = sp_write_all(1, prog->insns, prog->size);
		return r < 0 ? sp_error_errno(err, -r, "write filter") : 0;
	}

	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return sp_error_errno(err, errno, "open '%s'", path);
		r = sp_write_all(fd, prog->insns, prog->size);
		if (close(fd) < 0 && r == 0)
			r = -errno;
		return r < 0 ? sp_error_errno(err, -r, "write filter '%s'",
		                              path)
		             : 0;
	}

	if (asprintf(&tmp, "%s.tmp.%ld", path, (long)getpid()) < 0)
		return sp_error_set(err, ENOMEM, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return sp_error_errno(err, errno, "create '%s'", tmp);
	r = sp_write_all(fd, prog->insns, prog->size);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return sp_error_errno(err, -r, "write filter '%s'", path);
	}
	return 0;
}

/* Options common to compile and lint. */
struct opts {
	struct bpf_settings settings;
	const char *output;
	bool explain;
	bool help;
};

enum { OPT_ARCH = 256, OPT_CAPS, OPT_KERNEL, OPT_STRICT, OPT_EXPLAIN };

static const struct option long_opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"arch", required_argument, NULL, OPT_ARCH},
        {"caps", required_argument, NULL, OPT_CAPS},
        {"kernel", required_argument, NULL, OPT_KERNEL},
        {"strict", no_argument, NULL, OPT_STRICT},
        {"explain", no_argument, NULL, OPT_EXPLAIN},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* Parse options; returns the index of the first operand, or -1. */
static int parse_opts(int argc, char **argv, bool compile, struct opts *o)
{
	_cleanup_error_ struct sp_error *err = NULL;
	int c, r = 0;

	memset(o, 0, sizeof(*o));
	if (bpf_settings_default(&o->settings) < 0) {
		sp_log(LOG_ERR, "read kernel version: uname failed");
		return -1;
	}
	optind = 0;
	opterr = 0;
	while (r == 0 && (c = getopt_long(argc, argv, compile ? "o:h" : "h",
	                                  long_opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output = optarg;
			break;
		case OPT_ARCH:
			r = bpf_settings_set_arch(&o->settings, optarg, &err);
			break;
		case OPT_CAPS:
			r = bpf_settings_set_caps(&o->settings, optarg, &err);
			break;
		case OPT_KERNEL:
			r = bpf_settings_set_kernel(&o->settings, optarg, &err);
			break;
		case OPT_STRICT:
			o->settings.strict = true;
			break;
		case OPT_EXPLAIN:
			if (compile)
				o->explain = true;
			else
				r = sp_error_set(&err, EINVAL,
				                 "option '--explain' is for "
				                 "compile");
			break;
		case 'h':
			o->help = true;
			return optind;
		default:
			r = sp_error_set(&err, EINVAL, "unknown option '%s'",
			                 argv[optind - 1]);
			break;
		}
	}
	if (r < 0) {
		sp_log(LOG_ERR, "%s (see secprof %s --help)", err->msg,
		       argv[0]);
		return -1;
	}
	return optind;
}

static void compile_usage(FILE *out)
{
	fprintf(out,
	        "usage: secprof compile PROFILE.json [-o OUT.bpf] [--arch A] "
	        "[--caps LIST]\n"
	        "                       [--kernel X.Y] [--strict] [--explain]\n"
	        "\n"
	        "Compile a Docker/OCI seccomp profile into the raw BPF filter "
	        "that\n"
	        "'bwrap --seccomp FD' loads, with Docker's and runc's "
	        "semantics.\n"
	        "\n"
	        "  -o, --output FILE  write the filter to FILE (default: "
	        "standard output)\n"
	        "  --arch A           target architecture (default: this "
	        "host), e.g. amd64,\n"
	        "                     arm64, x86, SCMP_ARCH_S390X\n"
	        "  --caps LIST        capability set for includes/excludes "
	        "(default: Docker's);\n"
	        "                     names, 'all', 'none', or +CAP/-CAP "
	        "edits of the default\n"
	        "  --kernel X.Y       kernel version for minKernel (default: "
	        "running kernel)\n"
	        "  --strict           unknown syscall names are errors\n"
	        "  --explain          describe the settings and every "
	        "decision taken\n"
	        "\n"
	        "PROFILE '-' reads standard input. Exit status: 0 compiled, "
	        "1 the profile\n"
	        "cannot be compiled, 2 bad usage or I/O error.\n");
}

static void lint_usage(FILE *out)
{
	fprintf(out,
	        "usage: secprof lint [--strict] [--arch A] [--caps LIST] "
	        "[--kernel X.Y]\n"
	        "                    PROFILE.json...\n"
	        "\n"
	        "Check profiles: every error that stops a compile, and "
	        "warnings for\n"
	        "constructs that do not mean what they seem (unknown syscall "
	        "names, filter\n"
	        "flags a raw BPF cannot carry, unknown keys, capabilities "
	        "or architectures).\n"
	        "\n"
	        "  --strict     unknown syscall names are errors\n"
	        "  (other options as for 'secprof compile')\n"
	        "\n"
	        "Exit status: 0 no errors, 1 some profile has errors, 2 bad "
	        "usage.\n");
}

int cmd_compile(int argc, char **argv)
{
	_cleanup_bpf_program_ struct bpf_program *prog = NULL;
	_cleanup_error_ struct sp_error *err = NULL;
	_cleanup_free_ char *buf = NULL;
	const char *path;
	struct opts o;
	size_t len, i;
	int first;

	first = parse_opts(argc, argv, true, &o);
	if (first < 0)
		return 2;
	if (o.help) {
		compile_usage(stdout);
		return 0;
	}
	if (argc - first != 1) {
		sp_log(LOG_ERR, "compile: expected one PROFILE.json (see "
		                "secprof compile --help)");
		return 2;
	}
	path = argv[first];

	if (read_profile(path, &buf, &len, &err) < 0) {
		sp_log(LOG_ERR, "%s", err->msg);
		return 2;
	}
	if (bpf_compile(buf, len, &o.settings, &prog, &err) < 0) {
		sp_log(LOG_ERR, "compile '%s': %s", path, err->msg);
		return err->errnum == EINVAL ? 1 : 2;
	}
	for (i = 0; i < prog->warnings.n; i++)
		sp_log(LOG_WARNING, "%s: %s", path, prog->warnings.v[i]);

	if (write_filter(o.output, prog, &err) < 0) {
		sp_log(LOG_ERR, "%s", err->msg);
		return 2;
	}
	if (o.explain) {
		/* Standard output may be carrying the filter itself. */
		FILE *out = o.output && strcmp(o.output, "-") ? stdout : stderr;
		char fp[256];

		bpf_settings_fingerprint(&o.settings, fp, sizeof(fp));
		fprintf(out, "%s: settings %s\n", path, fp);
		for (i = 0; i < prog->explain.n; i++)
			fprintf(out, "%s: %s\n", path, prog->explain.v[i]);
	}
	return 0;
}

/* Lint one profile; returns 1 when it has errors, 0 otherwise. */
static int lint_one(const char *path, const struct bpf_settings *s,
                    size_t *n_warnings)
{
	_cleanup_bpf_program_ struct bpf_program *prog = NULL;
	_cleanup_profile_ struct profile *p = NULL;
	_cleanup_error_ struct sp_error *err = NULL;
	_cleanup_free_ char *buf = NULL;
	const struct profile_notes *warnings;
	size_t len, i;
	int r;

	if (read_profile(path, &buf, &len, &err) < 0 ||
	    profile_parse(buf, len, &p, &err) < 0) {
		printf("%s: error: %s\n", path, err->msg);
		return 1;
	}
	r = bpf_compile_profile(p, s, &prog, &err);

	/* On failure, what the parser found still helps to fix it. */
	warnings = r < 0 ? &p->warnings : &prog->warnings;
	for (i = 0; i < warnings->n; i++)
		printf("%s: warning: %s\n", path, warnings->v[i]);
	*n_warnings += warnings->n;
	if (r < 0) {
		printf("%s: error: %s\n", path, err->msg);
		return 1;
	}
	printf("%s: ok, %zu instructions\n", path, prog->n_insns);
	return 0;
}

int cmd_lint(int argc, char **argv)
{
	size_t n_errors = 0, n_warnings = 0;
	struct opts o;
	int first, i;

	first = parse_opts(argc, argv, false, &o);
	if (first < 0)
		return 2;
	if (o.help) {
		lint_usage(stdout);
		return 0;
	}
	if (first >= argc) {
		sp_log(LOG_ERR, "lint: expected PROFILE.json... (see secprof "
		                "lint --help)");
		return 2;
	}
	for (i = first; i < argc; i++)
		n_errors += (size_t)lint_one(argv[i], &o.settings, &n_warnings);
	printf("%d profile(s), %zu with errors, %zu warning(s)\n", argc - first,
	       n_errors, n_warnings);
	return n_errors ? 1 : 0;
}

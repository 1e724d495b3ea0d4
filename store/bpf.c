/* secprof filter compiler: rule model to libseccomp, export, ENOSYS stub. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/seccomp.h>

#include "bpf.h"

/* Bumped whenever the compiler's output changes for the same input. */
#define BPF_COMPILER_REVISION 1

/* The kernel refuses longer classic BPF programs (BPF_MAXINSNS). */
#define BPF_MAX_INSNS 4096

/* Set in the syscall number by x32 processes. */
#define X32_SYSCALL_BIT 0x40000000u

#define MAX_ARCHES 24

static void ctx_releasep(scmp_filter_ctx *ctx)
{
	if (*ctx != NULL)
		seccomp_release(*ctx);
}
#define _cleanup_ctx_ __attribute__((cleanup(ctx_releasep)))

static void closep(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
#define _cleanup_close_ __attribute__((cleanup(closep)))

/* ---- architectures ---- */

static const struct arch_info {
	uint32_t token;
	const char *scmp;   /* profile spelling */
	const char *native; /* Docker's name, used by includes.arches */
	const char *lib;    /* libseccomp's name */
} arches[] = {
        {SCMP_ARCH_X86, "SCMP_ARCH_X86", "x86", "x86"},
        {SCMP_ARCH_X86_64, "SCMP_ARCH_X86_64", "amd64", "x86_64"},
        {SCMP_ARCH_X32, "SCMP_ARCH_X32", "x32", "x32"},
        {SCMP_ARCH_ARM, "SCMP_ARCH_ARM", "arm", "arm"},
        {SCMP_ARCH_AARCH64, "SCMP_ARCH_AARCH64", "arm64", "aarch64"},
        {SCMP_ARCH_MIPS, "SCMP_ARCH_MIPS", "mips", "mips"},
        {SCMP_ARCH_MIPS64, "SCMP_ARCH_MIPS64", "mips64", "mips64"},
        {SCMP_ARCH_MIPS64N32, "SCMP_ARCH_MIPS64N32", "mips64n32", "mips64n32"},
        {SCMP_ARCH_MIPSEL, "SCMP_ARCH_MIPSEL", "mipsel", "mipsel"},
        {SCMP_ARCH_MIPSEL64, "SCMP_ARCH_MIPSEL64", "mipsel64", "mipsel64"},
        {SCMP_ARCH_MIPSEL64N32, "SCMP_ARCH_MIPSEL64N32", "mipsel64n32",
         "mipsel64n32"},
        {SCMP_ARCH_PPC, "SCMP_ARCH_PPC", "ppc", "ppc"},
        {SCMP_ARCH_PPC64, "SCMP_ARCH_PPC64", "ppc64", "ppc64"},
        {SCMP_ARCH_PPC64LE, "SCMP_ARCH_PPC64LE", "ppc64le", "ppc64le"},
        {SCMP_ARCH_S390, "SCMP_ARCH_S390", "s390", "s390"},
        {SCMP_ARCH_S390X, "SCMP_ARCH_S390X", "s390x", "s390x"},
        {SCMP_ARCH_PARISC, "SCMP_ARCH_PARISC", "parisc", "parisc"},
        {SCMP_ARCH_PARISC64, "SCMP_ARCH_PARISC64", "parisc64", "parisc64"},
        {SCMP_ARCH_RISCV64, "SCMP_ARCH_RISCV64", "riscv64", "riscv64"},
};

#define N_ARCHES (sizeof(arches) / sizeof(arches[0]))

static const struct arch_info *arch_by_token(uint32_t token)
{
	size_t i;

	for (i = 0; i < N_ARCHES; i++)
		if (arches[i].token == token)
			return &arches[i];
	return NULL;
}

static const struct arch_info *arch_by_scmp(const char *name)
{
	size_t i;

	for (i = 0; i < N_ARCHES; i++)
		if (!strcmp(arches[i].scmp, name))
			return &arches[i];
	return NULL;
}

const char *bpf_arch_name(uint32_t arch)
{
	const struct arch_info *a = arch_by_token(arch);

	return a ? a->lib : "unknown";
}

/* The AUDIT_ARCH_* value the kernel puts in seccomp_data.arch. */
static uint32_t audit_arch(uint32_t token)
{
	/* x32 has a token of its own but runs as x86_64 with a flag bit. */
	return token == SCMP_ARCH_X32 ? AUDIT_ARCH_X86_64 : token;
}

/* ---- capabilities ---- */

static const char *const cap_names[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_DAC_READ_SEARCH",
        "CAP_FOWNER",
        "CAP_FSETID",
        "CAP_KILL",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETPCAP",
        "CAP_LINUX_IMMUTABLE",
        "CAP_NET_BIND_SERVICE",
        "CAP_NET_BROADCAST",
        "CAP_NET_ADMIN",
        "CAP_NET_RAW",
        "CAP_IPC_LOCK",
        "CAP_IPC_OWNER",
        "CAP_SYS_MODULE",
        "CAP_SYS_RAWIO",
        "CAP_SYS_CHROOT",
        "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT",
        "CAP_SYS_ADMIN",
        "CAP_SYS_BOOT",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG",
        "CAP_MKNOD",
        "CAP_LEASE",
        "CAP_AUDIT_WRITE",
        "CAP_AUDIT_CONTROL",
        "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE",
        "CAP_MAC_ADMIN",
        "CAP_SYSLOG",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_AUDIT_READ",
        "CAP_PERFMON",
        "CAP_BPF",
        "CAP_CHECKPOINT_RESTORE",
};

#define N_CAPS (sizeof(cap_names) / sizeof(cap_names[0]))
#define CAPS_ALL ((UINT64_C(1) << N_CAPS) - 1)

/* Docker's default capability set (moby oci/caps), secprof's default. */
static const char *const docker_caps[] = {
        "CAP_CHOWN",
        "CAP_DAC_OVERRIDE",
        "CAP_FSETID",
        "CAP_FOWNER",
        "CAP_MKNOD",
        "CAP_NET_RAW",
        "CAP_SETGID",
        "CAP_SETUID",
        "CAP_SETFCAP",
        "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE",
        "CAP_SYS_CHROOT",
        "CAP_KILL",
        "CAP_AUDIT_WRITE",
};

/* Capability number of an exact profile spelling, or -1. */
static int cap_exact(const char *name)
{
	size_t i;

	for (i = 0; i < N_CAPS; i++)
		if (!strcmp(cap_names[i], name))
			return (int)i;
	return -1;
}

/* Capability number of a command-line spelling, "sys_admin", or -1. */
static int cap_lenient(const char *name, size_t len)
{
	size_t i;

	if (len > 4 && !strncasecmp(name, "CAP_", 4)) {
		name += 4;
		len -= 4;
	}
	for (i = 0; i < N_CAPS; i++)
		if (strlen(cap_names[i] + 4) == len &&
		    !strncasecmp(cap_names[i] + 4, name, len))
			return (int)i;
	return -1;
}

/* ---- settings ---- */

int bpf_settings_default(struct bpf_settings *s)
{
	struct utsname u;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->arch = seccomp_arch_native();
	for (i = 0; i < sizeof(docker_caps) / sizeof(docker_caps[0]); i++)
		s->caps |= UINT64_C(1) << cap_exact(docker_caps[i]);
	if (uname(&u) < 0 ||
	    sscanf(u.release, "%u.%u", &s->kernel_major, &s->kernel_minor) != 2)
		return -EIO;
	return 0;
}

int bpf_settings_set_arch(struct bpf_settings *s, const char *name,
                          struct sp_error **err)
{
	size_t i;

	for (i = 0; i < N_ARCHES; i++) {
		if (!strcasecmp(name, arches[i].scmp) ||
		    !strcasecmp(name, arches[i].native) ||
		    !strcasecmp(name, arches[i].lib)) {
			s->arch = arches[i].token;
			return 0;
		}
	}
	return sp_error_set(err, EINVAL, "architecture '%s': unknown", name);
}

int bpf_settings_set_caps(struct bpf_settings *s, const char *list,
                          struct sp_error **err)
{
	bool relative = list[0] == '+' || list[0] == '-';
	uint64_t caps = relative ? s->caps : 0;
	const char *p = list;

	while (*p != '\0') {
		size_t len = strcspn(p, ",");
		char sign = 0;
		int cap;

		if (*p == '+' || *p == '-') {
			sign = *p++;
			len--;
		}
		if (relative != (sign != 0))
			return sp_error_set(
			        err, EINVAL,
			        "capabilities '%s': mix of absolute "
			        "names and +/- edits",
			        list);
		if ((len == 3 && !strncasecmp(p, "all", 3)) ||
		    (len == 4 && !strncasecmp(p, "none", 4))) {
			uint64_t set = len == 3 ? CAPS_ALL : 0;

			caps = sign == '-' ? caps & ~set : caps | set;
		} else if (len > 0) {
			cap = cap_lenient(p, len);
			if (cap < 0)
				return sp_error_set(
				        err, EINVAL,
				        "capability '%.*s': unknown", (int)len,
				        p);
			if (sign == '-')
				caps &= ~(UINT64_C(1) << cap);
			else
				caps |= UINT64_C(1) << cap;
		}
		p += len;
		if (*p == ',')
			p++;
	}
	s->caps = caps;
	return 0;
}

int bpf_settings_set_kernel(struct bpf_settings *s, const char *version,
                            struct sp_error **err)
{
	unsigned int maj, min;
	int end = 0;

	/* "6.1", or a release such as "6.1.0-18-amd64". */
	if (sscanf(version, "%u.%u%n", &maj, &min, &end) != 2 ||
	    (version[end] != '\0' && version[end] != '.' &&
	     version[end] != '-'))
		return sp_error_set(err, EINVAL,
		                    "kernel version '%s': expected X.Y",
		                    version);
	s->kernel_major = maj;
	s->kernel_minor = min;
	return 0;
}

int bpf_settings_fingerprint(const struct bpf_settings *s, char *buf,
                             size_t size)
{
	const struct scmp_version *v = seccomp_version();

	return snprintf(buf, size,
	                "arch=%s caps=%016" PRIx64
	                " kernel=%u.%u strict=%d libseccomp=%u.%u.%u "
	                "secprof-bpf=%d",
	                bpf_arch_name(s->arch), s->caps, s->kernel_major,
	                s->kernel_minor, s->strict ? 1 : 0, v->major, v->minor,
	                v->micro, BPF_COMPILER_REVISION);
}

json_t *bpf_settings_json(const struct bpf_settings *s)
{
	const struct scmp_version *v = seccomp_version();
	json_t *obj = json_object(), *caps = json_array();
	char buf[48];
	size_t i;
	int r = 0;

	if (obj == NULL || caps == NULL) {
		json_decref(obj);
		json_decref(caps);
		return NULL;
	}
	for (i = 0; i < N_CAPS; i++)
		if (s->caps & (UINT64_C(1) << i))
			r |= json_array_append_new(caps,
			                           json_string(cap_names[i]));
	r |= json_object_set_new(obj, "arch",
	                         json_string(bpf_arch_name(s->arch)));
	r |= json_object_set_new(obj, "caps", caps);
	snprintf(buf, sizeof(buf), "%u.%u", s->kernel_major, s->kernel_minor);
	r |= json_object_set_new(obj, "kernel", json_string(buf));
	snprintf(buf, sizeof(buf), "%u.%u.%u", v->major, v->minor, v->micro);
	r |= json_object_set_new(obj, "libseccomp", json_string(buf));
	if (s->strict)
		r |= json_object_set_new(obj, "strict", json_true());
	if (r != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

/* ---- the compiler ---- */

/* An architecture of the filter and the largest syscall the profile names
 * on it, for the ENOSYS stub. */
struct filter_arch {
	uint32_t token;
	int max_nr; /* -1 when the profile names none on this architecture */
};

struct compiler {
	const struct profile *p;
	const struct bpf_settings *s;
	const struct arch_info *target;
	struct bpf_program *prog;
	struct sp_error **err;
	scmp_filter_ctx ctx;
	uint32_t def_action;
	struct filter_arch fa[MAX_ARCHES];
	size_t n_fa;
	size_t n_rules, n_dropped, n_unknown, n_skipped;
};

static int oom(struct compiler *c)
{
	return sp_error_set(c->err, ENOMEM, "out of memory");
}

static int note(struct profile_notes *n, struct compiler *c, const char *fmt,
                ...) __attribute__((format(printf, 3, 4)));

static int note(struct profile_notes *n, struct compiler *c, const char *fmt,
                ...)
{
	char *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0 || profile_notes_add(n, "%s", s) < 0) {
		free(s);
		return oom(c);
	}
	free(s);
	return 0;
}

#define explain(c, ...) note(&(c)->prog->explain, (c), __VA_ARGS__)
#define warning(c, ...) note(&(c)->prog->warnings, (c), __VA_ARGS__)

/*
 * The libseccomp action for a profile action, as runc maps them: KILL is
 * KILL_THREAD, and ERRNO and TRACE default to EPERM as their data.
 */
static uint32_t scmp_action(enum profile_action act, bool has_ret, uint32_t ret)
{
	switch (act) {
	case PROFILE_ACT_KILL:
	case PROFILE_ACT_KILL_THREAD:
		return SCMP_ACT_KILL_THREAD;
	case PROFILE_ACT_KILL_PROCESS:
		return SCMP_ACT_KILL_PROCESS;
	case PROFILE_ACT_TRAP:
		return SCMP_ACT_TRAP;
	case PROFILE_ACT_ERRNO:
		return SCMP_ACT_ERRNO(has_ret ? ret : EPERM);
	case PROFILE_ACT_TRACE:
		return SCMP_ACT_TRACE(has_ret ? ret : EPERM);
	case PROFILE_ACT_LOG:
		return SCMP_ACT_LOG;
	case PROFILE_ACT_NOTIFY:
		return SCMP_ACT_NOTIFY;
	case PROFILE_ACT_ALLOW:
	case PROFILE_ACT_NONE:
		break;
	}
	return SCMP_ACT_ALLOW;
}

static void action_str(uint32_t act, char *buf, size_t size)
{
	switch (act & SECCOMP_RET_ACTION_FULL) {
	case SCMP_ACT_KILL_PROCESS:
		snprintf(buf, size, "KILL_PROCESS");
		break;
	case SCMP_ACT_KILL_THREAD:
		snprintf(buf, size, "KILL_THREAD");
		break;
	case SCMP_ACT_TRAP:
		snprintf(buf, size, "TRAP");
		break;
	case SCMP_ACT_ERRNO(0): {
		const char *n = strerrorname_np((int)(act & 0xffff));

		snprintf(buf, size, "ERRNO(%s)", n ? n : "?");
		break;
	}
	case SCMP_ACT_TRACE(0):
		snprintf(buf, size, "TRACE(%u)", act & 0xffff);
		break;
	case SCMP_ACT_LOG:
		snprintf(buf, size, "LOG");
		break;
	case SCMP_ACT_NOTIFY:
		snprintf(buf, size, "NOTIFY");
		break;
	default:
		snprintf(buf, size, "ALLOW");
		break;
	}
}

/*
 * libseccomp caches what the kernel supports in process globals the first
 * time it needs to know. Probe everything once, before any compile, so
 * that concurrent compiles only ever read that state.
 */
static void prime_libseccomp(void)
{
	static const uint32_t probe[] = {SCMP_ACT_KILL_PROCESS, SCMP_ACT_LOG,
	                                 SCMP_ACT_NOTIFY};
	size_t i;

	seccomp_api_get();
	for (i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
		scmp_filter_ctx ctx = seccomp_init(probe[i]);

		if (ctx != NULL)
			seccomp_release(ctx);
	}
}

static pthread_once_t prime_once = PTHREAD_ONCE_INIT;

/* ---- architectures of the filter ---- */

static int add_arch(struct compiler *c, uint32_t token)
{
	size_t i;
	int r;

	for (i = 0; i < c->n_fa; i++)
		if (c->fa[i].token == token)
			return 0;
	if (c->n_fa == MAX_ARCHES)
		return sp_error_set(c->err, EINVAL, "too many architectures");
	r = seccomp_arch_add(c->ctx, token);
	if (r < 0 && r != -EEXIST)
		return sp_error_errno(c->err, -r, "add architecture '%s'",
		                      bpf_arch_name(token));
	c->fa[c->n_fa].token = token;
	c->fa[c->n_fa].max_nr = -1;
	c->n_fa++;
	return 0;
}

/* Add an architecture named in the profile at path; unknown is an error. */
static int add_arch_named(struct compiler *c, const char *name,
                          const char *path)
{
	const struct arch_info *a = arch_by_scmp(name);

	if (a == NULL)
		return sp_error_set(c->err, EINVAL,
		                    "%s: unknown architecture '%s'", path,
		                    name);
	return add_arch(c, a->token);
}

static int setup_arches(struct compiler *c)
{
	const struct profile *p = c->p;
	char path[96];
	size_t i, j;
	int r;

	/* The target replaces libseccomp's native architecture. */
	c->fa[0].token = c->s->arch;
	c->fa[0].max_nr = -1;
	c->n_fa = 1;
	if (c->s->arch != seccomp_arch_native()) {
		r = seccomp_arch_add(c->ctx, c->s->arch);
		if (r == 0)
			r = seccomp_arch_remove(c->ctx, SCMP_ARCH_NATIVE);
		if (r < 0)
			return sp_error_errno(c->err, -r,
			                      "set architecture '%s'",
			                      c->target->lib);
	}

	for (i = 0; i < p->n_architectures; i++) {
		snprintf(path, sizeof(path), "architectures[%zu]", i);
		r = add_arch_named(c, p->architectures[i], path);
		if (r < 0)
			return r;
	}

	for (i = 0; i < p->n_arch_map; i++) {
		const struct profile_arch_entry *e = &p->arch_map[i];

		if (strcmp(e->arch, c->target->scmp) != 0) {
			/* Entries for other hosts only need to be readable. */
			if (arch_by_scmp(e->arch) == NULL)
				r = warning(
				        c,
				        "archMap[%zu].architecture: '%s' is "
				        "unknown to this libseccomp; entry "
				        "ignored",
				        i, e->arch);
			else
				r = 0;
			if (r < 0)
				return r;
			continue;
		}
		for (j = 0; j < e->n_subs; j++) {
			snprintf(path, sizeof(path),
			         "archMap[%zu].subArchitectures[%zu]", i, j);
			r = add_arch_named(c, e->subs[j], path);
			if (r < 0)
				return r;
		}
		break;
	}
	if (p->n_arch_map > 0 && i == p->n_arch_map) {
		r = warning(c,
		            "archMap: no entry for %s; the filter covers %s "
		            "only",
		            c->target->scmp, c->target->lib);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- includes / excludes ---- */

static bool strv_has(char **v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i], s))
			return true;
	return false;
}

static bool cap_held(const struct compiler *c, const char *name)
{
	int cap = cap_exact(name);

	return cap >= 0 && (c->s->caps & (UINT64_C(1) << cap));
}

static bool kernel_at_least(const struct compiler *c,
                            const struct profile_cond *k)
{
	if (c->s->kernel_major != k->kernel_major)
		return c->s->kernel_major > k->kernel_major;
	return c->s->kernel_minor >= k->kernel_minor;
}

/* Warn about names in a condition that can never match. */
static int check_cond(struct compiler *c, size_t i, const char *what,
                      const struct profile_cond *k)
{
	size_t j, a;
	int r = 0;

	for (j = 0; j < k->n_caps && r == 0; j++)
		if (cap_exact(k->caps[j]) < 0)
			r = warning(c,
			            "syscalls[%zu].%s.caps[%zu]: unknown "
			            "capability '%s' is never held",
			            i, what, j, k->caps[j]);
	for (j = 0; j < k->n_arches && r == 0; j++) {
		for (a = 0; a < N_ARCHES; a++)
			if (!strcmp(arches[a].native, k->arches[j]))
				break;
		if (a == N_ARCHES)
			r = warning(c,
			            "syscalls[%zu].%s.arches[%zu]: unknown "
			            "architecture '%s' (expected names such "
			            "as amd64, x86, arm64)",
			            i, what, j, k->arches[j]);
	}
	return r;
}

/*
 * Whether a syscall entry applies under the settings, in Docker's order:
 * any excluded arch, held cap or reached kernel drops it; then every
 * included arch, cap and kernel must match. *why says what dropped it.
 */
static bool entry_applies(const struct compiler *c,
                          const struct profile_syscall *sc, char *why,
                          size_t size)
{
	const struct profile_cond *ex = &sc->excludes, *in = &sc->includes;
	const char *native = c->target->native;
	size_t j;

	if (strv_has(ex->arches, ex->n_arches, native)) {
		snprintf(why, size, "excludes.arches has %s", native);
		return false;
	}
	for (j = 0; j < ex->n_caps; j++) {
		if (cap_held(c, ex->caps[j])) {
			snprintf(why, size, "excludes.caps: %s is held",
			         ex->caps[j]);
			return false;
		}
	}
	if (ex->has_min_kernel && kernel_at_least(c, ex)) {
		snprintf(why, size, "excludes.minKernel %u.%u reached",
		         ex->kernel_major, ex->kernel_minor);
		return false;
	}
	if (in->n_arches > 0 && !strv_has(in->arches, in->n_arches, native)) {
		snprintf(why, size, "includes.arches lacks %s", native);
		return false;
	}
	for (j = 0; j < in->n_caps; j++) {
		if (!cap_held(c, in->caps[j])) {
			snprintf(why, size, "includes.caps: %s is not held",
			         in->caps[j]);
			return false;
		}
	}
	if (in->has_min_kernel && !kernel_at_least(c, in)) {
		snprintf(why, size, "includes.minKernel %u.%u not reached",
		         in->kernel_major, in->kernel_minor);
		return false;
	}
	return true;
}

/* ---- rules ---- */

static struct scmp_arg_cmp arg_cmp(const struct profile_arg *a)
{
	struct scmp_arg_cmp cmp = {
	        .arg = a->index,
	        .op = a->op,
	        .datum_a = a->value,
	        .datum_b = a->value_two,
	};

	return cmp;
}

static bool index_repeats(const struct profile_syscall *sc)
{
	unsigned int seen = 0;
	size_t i;

	for (i = 0; i < sc->n_args; i++) {
		if (seen & (1u << sc->args[i].index))
			return true;
		seen |= 1u << sc->args[i].index;
	}
	return false;
}

static int add_rule(struct compiler *c, size_t i, size_t j, uint32_t action,
                    int nr)
{
	const struct profile_syscall *sc = &c->p->syscalls[i];
	struct scmp_arg_cmp cmp[6];
	size_t k;
	int r = 0;

	if (sc->n_args > 0 && index_repeats(sc)) {
		/*
		 * Conditions on one argument cannot all hold at once, and
		 * libseccomp refuses them in one rule; runc adds each as a
		 * rule of its own, so that any one of them matches.
		 */
		for (k = 0; k < sc->n_args && r == 0; k++) {
			cmp[0] = arg_cmp(&sc->args[k]);
			r = seccomp_rule_add_array(c->ctx, action, nr, 1, cmp);
			c->n_rules++;
		}
	} else {
		for (k = 0; k < sc->n_args; k++)
			cmp[k] = arg_cmp(&sc->args[k]);
		r = seccomp_rule_add_array(c->ctx, action, nr,
		                           (unsigned int)sc->n_args, cmp);
		c->n_rules++;
	}
	if (r < 0)
		return sp_error_errno(c->err, -r,
		                      "syscalls[%zu].names[%zu]: add rule for "
		                      "'%s'",
		                      i, j, sc->names[j]);
	return 0;
}

/* Track the largest number each filter architecture gives name. */
static void track_max(struct compiler *c, const char *name)
{
	size_t a;

	for (a = 0; a < c->n_fa; a++) {
		int nr =
		        seccomp_syscall_resolve_name_arch(c->fa[a].token, name);

		/* Negative numbers are libseccomp's pseudo-syscalls. */
		if (nr >= 0 && nr > c->fa[a].max_nr)
			c->fa[a].max_nr = nr;
	}
}

static int add_entry(struct compiler *c, size_t i)
{
	const struct profile_syscall *sc = &c->p->syscalls[i];
	uint32_t action =
	        scmp_action(sc->action, sc->has_errno_ret, sc->errno_ret);
	size_t j, added = 0, dropped = 0;
	char act[32];
	int r;

	if (sc->action == PROFILE_ACT_NOTIFY)
		return sp_error_set(c->err, EINVAL,
		                    "syscalls[%zu].action: SCMP_ACT_NOTIFY "
		                    "needs a user-space agent and cannot work "
		                    "in a raw BPF filter",
		                    i);

	for (j = 0; j < sc->n_names; j++) {
		int nr = seccomp_syscall_resolve_name(sc->names[j]);

		if (nr == __NR_SCMP_ERROR) {
			c->n_unknown++;
			if (c->s->strict)
				return sp_error_set(c->err, EINVAL,
				                    "syscalls[%zu].names[%zu]: "
				                    "unknown syscall '%s'",
				                    i, j, sc->names[j]);
			r = warning(c,
			            "syscalls[%zu].names[%zu]: unknown syscall "
			            "'%s' skipped",
			            i, j, sc->names[j]);
			if (r < 0)
				return r;
			continue;
		}
		track_max(c, sc->names[j]);
		if (action == c->def_action) {
			dropped++;
			continue;
		}
		r = add_rule(c, i, j, action, nr);
		if (r < 0)
			return r;
		added++;
	}
	c->n_dropped += dropped;

	action_str(action, act, sizeof(act));
	if (dropped > 0)
		return explain(
		        c,
		        "syscalls[%zu]: %s for %zu name(s); %zu dropped, "
		        "their action is the default",
		        i, act, added, dropped);
	return explain(c, "syscalls[%zu]: %s for %zu name(s)", i, act, added);
}

static int add_entries(struct compiler *c)
{
	size_t i;
	int r;

	for (i = 0; i < c->p->n_syscalls; i++) {
		const struct profile_syscall *sc = &c->p->syscalls[i];
		char why[96];

		r = check_cond(c, i, "includes", &sc->includes);
		if (r == 0)
			r = check_cond(c, i, "excludes", &sc->excludes);
		if (r < 0)
			return r;
		if (!entry_applies(c, sc, why, sizeof(why))) {
			c->n_skipped++;
			r = explain(c, "syscalls[%zu]: skipped, %s", i, why);
		} else {
			r = add_entry(c, i);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- export ---- */

static int export_program(struct compiler *c, struct sock_filter **insns,
                          size_t *n)
{
	_cleanup_close_ int fd = memfd_create("secprof-bpf", MFD_CLOEXEC);
	struct stat st;
	ssize_t got;
	int r;

	if (fd < 0)
		return sp_error_errno(c->err, errno, "create memfd");
	r = seccomp_export_bpf(c->ctx, fd);
	if (r < 0)
		return sp_error_errno(c->err, -r, "generate filter");
	if (fstat(fd, &st) < 0)
		return sp_error_errno(c->err, errno, "stat memfd");
	if (st.st_size <= 0 || st.st_size % sizeof(struct sock_filter))
		return sp_error_set(c->err, EIO,
		                    "generate filter: %jd bytes is not a "
		                    "whole program",
		                    (intmax_t)st.st_size);
	*insns = malloc((size_t)st.st_size);
	if (*insns == NULL)
		return oom(c);
	got = pread(fd, *insns, (size_t)st.st_size, 0);
	if (got != st.st_size) {
		free(*insns);
		*insns = NULL;
		return sp_error_errno(c->err, got < 0 ? errno : EIO,
		                      "read generated filter");
	}
	*n = (size_t)st.st_size / sizeof(struct sock_filter);
	return 0;
}

/* ---- the ENOSYS stub ---- */

/*
 * A group of filter architectures sharing one AUDIT_ARCH value: one
 * architecture, or x86_64 and x32 together.
 */
struct stub_group {
	uint32_t audit;
	int max;     /* largest number for the plain architecture, or -1 */
	int max_x32; /* x86_64 only: largest x32 number, or -1 */
	bool s390;
};

static size_t group_len(const struct stub_group *g)
{
	size_t n = 2; /* load the number; compare with the largest */

	if (g->s390)
		n++;
	if (g->audit == AUDIT_ARCH_X86_64)
		n += (g->max >= 0 && g->max_x32 >= 0) ? 2 : 1;
	return n;
}

static struct sock_filter insn(uint16_t code, uint32_t k, size_t jt, size_t jf)
{
	struct sock_filter f = {code, (uint8_t)jt, (uint8_t)jf, k};

	return f;
}

/* Conditional jump at pc to targets given as absolute positions. */
static struct sock_filter jump(uint16_t op, uint32_t k, size_t pc, size_t t,
                               size_t f)
{
	return insn(BPF_JMP | op | BPF_K, k, t - pc - 1, f - pc - 1);
}

/* Emit one group's body at out[pc...]; returns the next pc. */
static size_t emit_group(struct sock_filter *out, size_t pc,
                         const struct stub_group *g, size_t enosys,
                         size_t filter)
{
	out[pc] = insn(BPF_LD | BPF_W | BPF_ABS,
	               offsetof(struct seccomp_data, nr), 0, 0);
	pc++;
	if (g->s390) {
		/*
		 * s390 multiplexes syscall numbers it does not know onto
		 * number 0, which nothing else uses any more.
		 */
		out[pc] = jump(BPF_JEQ, 0, pc, enosys, pc + 1);
		pc++;
	}
	if (g->audit != AUDIT_ARCH_X86_64) {
		out[pc] = jump(BPF_JGT, (uint32_t)g->max, pc, enosys, filter);
		return pc + 1;
	}
	if (g->max >= 0 && g->max_x32 >= 0) {
		out[pc] = jump(BPF_JSET, X32_SYSCALL_BIT, pc, pc + 2, pc + 1);
		out[pc + 1] =
		        jump(BPF_JGT, (uint32_t)g->max, pc + 1, enosys, filter);
		out[pc + 2] = jump(BPF_JGT, (uint32_t)g->max_x32, pc + 2,
		                   enosys, filter);
		return pc + 3;
	}
	if (g->max >= 0) {
		/* x32 calls are not this group's to judge. */
		out[pc] = jump(BPF_JSET, X32_SYSCALL_BIT, pc, filter, pc + 1);
		out[pc + 1] =
		        jump(BPF_JGT, (uint32_t)g->max, pc + 1, enosys, filter);
	} else {
		out[pc] = jump(BPF_JSET, X32_SYSCALL_BIT, pc, pc + 1, filter);
		out[pc + 1] = jump(BPF_JGT, (uint32_t)g->max_x32, pc + 1,
		                   enosys, filter);
	}
	return pc + 2;
}

static size_t make_groups(const struct compiler *c, struct stub_group *g)
{
	size_t i, k, n = 0;

	for (i = 0; i < c->n_fa; i++) {
		const struct filter_arch *fa = &c->fa[i];
		uint32_t audit = audit_arch(fa->token);

		if (fa->max_nr < 0)
			continue;
		for (k = 0; k < n && g[k].audit != audit; k++)
			;
		if (k == n) {
			g[n].audit = audit;
			g[n].max = g[n].max_x32 = -1;
			g[n].s390 = fa->token == SCMP_ARCH_S390 ||
			            fa->token == SCMP_ARCH_S390X;
			n++;
		}
		if (fa->token == SCMP_ARCH_X32)
			g[k].max_x32 = fa->max_nr;
		else
			g[k].max = fa->max_nr;
	}
	return n;
}

/*
 * Syscalls numbered above every syscall the profile names are newer than
 * the profile. runc answers them with ENOSYS instead of the default action
 * so that C libraries fall back to older calls (glibc tries clone3 before
 * clone, fchmodat2 before fchmodat, only on ENOSYS). Build that stub: per
 * architecture, "number > largest named" returns ENOSYS; everything else,
 * and every architecture without a group, falls through to libseccomp's
 * filter, which follows the stub. Returns the number of instructions
 * written to out (at most cap).
 */
static size_t build_stub(const struct compiler *c, struct sock_filter *out,
                         size_t cap)
{
	struct stub_group g[MAX_ARCHES];
	size_t n = make_groups(c, g), i, len, pc, start[MAX_ARCHES];
	size_t enosys, filter;

	if (n == 0)
		return 0;
	/* load arch; one jeq per group; ja filter; bodies; ret ENOSYS */
	len = 1 + n + 1;
	for (i = 0; i < n; i++) {
		start[i] = len;
		len += group_len(&g[i]);
	}
	enosys = len++;
	filter = len;
	/* Every jump offset is then well below the 8-bit limit. */
	if (len > cap || len > 255)
		return 0;

	out[0] = insn(BPF_LD | BPF_W | BPF_ABS,
	              offsetof(struct seccomp_data, arch), 0, 0);
	for (i = 0; i < n; i++)
		out[1 + i] = jump(BPF_JEQ, g[i].audit, 1 + i, start[i], 2 + i);
	out[1 + n] = insn(BPF_JMP | BPF_JA, (uint32_t)(filter - (n + 2)), 0, 0);
	for (i = 0, pc = start[0]; i < n; i++)
		pc = emit_group(out, pc, &g[i], enosys, filter);
	out[enosys] = insn(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS, 0, 0);
	return len;
}

/* Whether the default action denies, so that new syscalls need ENOSYS. */
static bool wants_stub(const struct compiler *c)
{
	switch (c->p->default_action) {
	case PROFILE_ACT_ALLOW:
	case PROFILE_ACT_LOG:
	case PROFILE_ACT_TRACE:
		/* Permissive defaults already let new syscalls through; a
		 * tracer handles them itself. */
		return false;
	default:
		/* ENOSYS as the default already is what the stub gives. */
		return c->def_action != SCMP_ACT_ERRNO(ENOSYS);
	}
}

static int explain_stub(struct compiler *c, size_t n_stub)
{
	size_t i;
	int r = 0;

	if (!wants_stub(c))
		return explain(c, "enosys stub: none, the default action %s",
		               c->def_action == SCMP_ACT_ERRNO(ENOSYS)
		                       ? "is ERRNO(ENOSYS) already"
		                       : "lets new syscalls through");
	for (i = 0; i < c->n_fa && r == 0; i++) {
		if (c->fa[i].max_nr < 0)
			r = explain(c, "enosys stub: %s names no syscall, none",
			            bpf_arch_name(c->fa[i].token));
		else
			r = explain(c,
			            "enosys stub: %s syscalls above %d return "
			            "ENOSYS",
			            bpf_arch_name(c->fa[i].token),
			            c->fa[i].max_nr);
	}
	if (r == 0)
		r = explain(c, "enosys stub: %zu instructions", n_stub);
	return r;
}

static int assemble(struct compiler *c)
{
	struct sock_filter *body = NULL, stub[256], *all;
	size_t n_body = 0, n_stub = 0;
	int r;

	r = export_program(c, &body, &n_body);
	if (r < 0)
		return r;
	if (wants_stub(c))
		n_stub = build_stub(c, stub, sizeof(stub) / sizeof(stub[0]));
	r = explain_stub(c, n_stub);
	if (r < 0) {
		free(body);
		return r;
	}
	if (n_stub + n_body > BPF_MAX_INSNS) {
		free(body);
		return sp_error_set(c->err, EINVAL,
		                    "filter of %zu instructions exceeds the "
		                    "kernel's limit of %d",
		                    n_stub + n_body, BPF_MAX_INSNS);
	}
	all = malloc((n_stub + n_body) * sizeof(*all));
	if (all == NULL) {
		free(body);
		return oom(c);
	}
	memcpy(all, stub, n_stub * sizeof(*all));
	memcpy(all + n_stub, body, n_body * sizeof(*all));
	free(body);
	c->prog->insns = all;
	c->prog->n_insns = n_stub + n_body;
	c->prog->size = c->prog->n_insns * sizeof(*all);
	return 0;
}

/* ---- entry points ---- */

static int check_default(struct compiler *c)
{
	const struct profile *p = c->p;

	if (p->default_action == PROFILE_ACT_NONE && p->n_syscalls == 0)
		return sp_error_set(c->err, EINVAL,
		                    "profile has no defaultAction and no "
		                    "syscalls, which Docker runs unconfined; "
		                    "refusing to produce a filter");
	if (p->default_action == PROFILE_ACT_NONE)
		return sp_error_set(c->err, EINVAL, "defaultAction: missing");
	if (p->default_action == PROFILE_ACT_NOTIFY)
		return sp_error_set(c->err, EINVAL,
		                    "defaultAction: SCMP_ACT_NOTIFY needs a "
		                    "user-space agent and cannot work in a raw "
		                    "BPF filter");
	c->def_action = scmp_action(p->default_action, p->has_default_errno_ret,
	                            p->default_errno_ret);
	return 0;
}

static int explain_settings(struct compiler *c)
{
	char caps[1024] = "", act[32];
	size_t i, o = 0;
	int r;

	for (i = 0; i < N_CAPS; i++)
		if (c->s->caps & (UINT64_C(1) << i) && o < sizeof(caps))
			o += (size_t)snprintf(caps + o, sizeof(caps) - o,
			                      "%s%s", o ? "," : "",
			                      cap_names[i]);
	action_str(c->def_action, act, sizeof(act));
	r = explain(c, "target: %s (%s), kernel %u.%u, libseccomp %u.%u.%u",
	            c->target->lib, c->target->native, c->s->kernel_major,
	            c->s->kernel_minor, seccomp_version()->major,
	            seccomp_version()->minor, seccomp_version()->micro);
	if (r == 0)
		r = explain(c, "capabilities: %s", o ? caps : "(none)");
	if (r == 0)
		r = explain(c, "default action: %s", act);
	return r;
}

static int explain_summary(struct compiler *c)
{
	char list[256] = "";
	size_t i, o = 0;

	for (i = 0; i < c->n_fa && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s",
		                      i ? "," : "",
		                      bpf_arch_name(c->fa[i].token));
	return explain(c,
	               "filter: architectures %s; %zu rules, %zu dropped as "
	               "the default, %zu unknown names, %zu entries skipped; "
	               "%zu instructions",
	               list, c->n_rules, c->n_dropped, c->n_unknown,
	               c->n_skipped, c->prog->n_insns);
}

static int compile(struct compiler *c)
{
	int r;

	r = check_default(c);
	if (r < 0)
		return r;
	c->ctx = seccomp_init(c->def_action);
	if (c->ctx == NULL)
		return sp_error_set(c->err, EINVAL,
		                    "defaultAction: libseccomp refuses it on "
		                    "this system");
	/*
	 * The runtime sets no_new_privs itself (bwrap does, runc does
	 * unless told otherwise); the filter must not imply it. The other
	 * attributes keep libseccomp's defaults, as runc does: a foreign
	 * architecture is killed, and rules on syscall -1 are not allowed.
	 */
	r = seccomp_attr_set(c->ctx, SCMP_FLTATR_CTL_NNP, 0);
	if (r < 0)
		return sp_error_errno(c->err, -r, "set filter attribute");

	r = explain_settings(c);
	if (r == 0)
		r = setup_arches(c);
	if (r == 0)
		r = add_entries(c);
	if (r == 0)
		r = assemble(c);
	if (r == 0)
		r = explain_summary(c);
	return r;
}

int bpf_compile_profile(const struct profile *p, const struct bpf_settings *s,
                        struct bpf_program **out, struct sp_error **err)
{
	_cleanup_bpf_program_ struct bpf_program *prog = NULL;
	_cleanup_ctx_ scmp_filter_ctx ctx = NULL;
	struct compiler c = {.p = p, .s = s, .err = err};
	size_t i;
	int r;

	pthread_once(&prime_once, prime_libseccomp);
	c.target = arch_by_token(s->arch);
	if (c.target == NULL)
		return sp_error_set(err, EINVAL,
		                    "architecture %#x: not supported", s->arch);

	prog = calloc(1, sizeof(*prog));
	if (prog == NULL)
		return sp_error_set(err, ENOMEM, "out of memory");
	prog->settings = *s;
	c.prog = prog;
	for (i = 0; i < p->warnings.n; i++)
		if (profile_notes_add(&prog->warnings, "%s", p->warnings.v[i]))
			return sp_error_set(err, ENOMEM, "out of memory");
	r = compile(&c);
	ctx = c.ctx;
	if (r < 0)
		return r;
	*out = prog;
	prog = NULL;
	return 0;
}

int bpf_compile(const void *json, size_t len, const struct bpf_settings *s,
                struct bpf_program **out, struct sp_error **err)
{
	_cleanup_profile_ struct profile *p = NULL;
	int r;

	r = profile_parse(json, len, &p, err);
	if (r < 0)
		return r;
	return bpf_compile_profile(p, s, out, err);
}

void bpf_program_free(struct bpf_program *prog)
{
	if (prog == NULL)
		return;
	free(prog->insns);
	profile_notes_clear(&prog->warnings);
	profile_notes_clear(&prog->explain);
	free(prog);
}

void bpf_program_freep(struct bpf_program **prog)
{
	bpf_program_free(*prog);
	*prog = NULL;
}

/* Unit tests of the profile compiler: filters run in children, errors. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/seccomp.h>

#include <cmocka.h>

#include "bpf.h"

/* Table rows leave trailing fields at their zero defaults. */
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

/*
 * Profiles are written with single quotes to keep the tables readable;
 * quoted() turns them into JSON. KEEP lets a child of a denying profile
 * still exit; it names exit_group (231), so syscalls numbered above 231
 * are "newer than the profile" unless a case names a larger one.
 */
#define KEEP "{'names':['exit_group','exit'],'action':'SCMP_ACT_ALLOW'}"
#define DENY(rules)                                                            \
	"{'defaultAction':'SCMP_ACT_ERRNO','syscalls':[" KEEP rules "]}"
#define PERMIT(rules)                                                          \
	"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[" rules "]}"
#define RULE(names, action, extra)                                             \
	"{'names':[" names "],'action':'" action "'" extra "}"
#define ARG(i, op, v) "{'index':" #i ",'value':" #v ",'op':'SCMP_CMP_" op "'}"
#define ARG2(i, op, v, v2)                                                     \
	"{'index':" #i ",'value':" #v ",'valueTwo':" #v2 ",'op':'SCMP_CMP_" op \
	"'}"

static char *quoted(const char *s)
{
	char *q = strdup(s), *p;

	assert_non_null(q);
	for (p = q; *p; p++)
		if (*p == '\'')
			*p = '"';
	return q;
}

enum mode {
	PLAIN,  /* the syscall from the only thread */
	THREAD, /* from a second thread; "thread-killed" if only it dies */
	TRACED, /* under ptrace; "trace:N" gives SCMP_ACT_TRACE's data */
	IA32,   /* through int $0x80, as a 32-bit x86 process would */
};

#define EXIT_TRAPPED 254
#define EXIT_INTERNAL 253
#define EXIT_THREAD_KILLED 252

/*
 * Children end with a raw exit_group the compiler does not know to be
 * final: the sanitizers wrap _exit and instrument calls that do not return,
 * and both make system calls the filter under test may deny.
 */
static void child_exit(int code)
{
	syscall(SYS_exit_group, code);
}

static void on_sigsys(int sig)
{
	(void)sig;
	child_exit(EXIT_TRAPPED);
}

static int load_filter(const struct bpf_program *prog, bool tsync)
{
	struct sock_fprog fp = {
	        .len = (unsigned short)prog->n_insns,
	        .filter = prog->insns,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	if (tsync)
		return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		                    SECCOMP_FILTER_FLAG_TSYNC, &fp);
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fp);
}

static long int80(long nr, long a, long b, long c)
{
	long ret;

	__asm__ volatile("int $0x80"
	                 : "=a"(ret)
	                 : "a"(nr), "b"(a), "c"(b), "d"(c)
	                 : "memory", "r8", "r9", "r10", "r11");
	return ret;
}

static int exit_code(long r)
{
	if (r >= 0)
		return 0;
	return errno > 0 && errno < EXIT_THREAD_KILLED ? errno : EXIT_INTERNAL;
}

struct call {
	long nr;
	long a[6];
	int pipe_go[2], pipe_done[2];
};

static void *thread_main(void *arg)
{
	struct call *c = arg;
	char b;
	int code;

	if (read(c->pipe_go[0], &b, 1) != 1)
		child_exit(EXIT_INTERNAL);
	code = exit_code(syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3],
	                         c->a[4], c->a[5]));
	b = (char)code;
	if (write(c->pipe_done[1], &b, 1) != 1)
		child_exit(EXIT_INTERNAL);
	return NULL;
}

static void child_thread(const struct bpf_program *prog, struct call *c)
{
	struct pollfd pfd;
	pthread_t t;
	char b = 0;

	if (pipe(c->pipe_go) < 0 || pipe(c->pipe_done) < 0 ||
	    pthread_create(&t, NULL, thread_main, c) != 0)
		child_exit(EXIT_INTERNAL);
	if (load_filter(prog, true) < 0)
		child_exit(EXIT_INTERNAL);
	if (write(c->pipe_go[1], &b, 1) != 1)
		child_exit(EXIT_INTERNAL);
	pfd.fd = c->pipe_done[0];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 500) != 1)
		child_exit(EXIT_THREAD_KILLED);
	if (read(c->pipe_done[0], &b, 1) != 1)
		child_exit(EXIT_INTERNAL);
	child_exit((unsigned char)b);
}

static void child(const struct bpf_program *prog, enum mode mode,
                  struct call *c)
{
	struct sigaction sa;
	long r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigsys;
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		child_exit(EXIT_INTERNAL);
	if (mode == THREAD)
		child_thread(prog, c);
	if (mode == TRACED &&
	    (ptrace(PTRACE_TRACEME, 0, 0, 0) < 0 || raise(SIGSTOP) != 0))
		child_exit(EXIT_INTERNAL);
	if (load_filter(prog, false) < 0)
		child_exit(EXIT_INTERNAL);
	if (mode == IA32) {
		r = int80(c->nr, c->a[0], c->a[1], c->a[2]);
		child_exit(r >= 0 ? 0 : (int)-r);
	}
	r = syscall(c->nr, c->a[0], c->a[1], c->a[2], c->a[3], c->a[4],
	            c->a[5]);
	child_exit(exit_code(r));
}

/* Follow a traced child; returns its final status, *msg the event data. */
static int trace_child(pid_t pid, long *msg)
{
	unsigned long m;
	int status;

	*msg = -1;
	if (waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status))
		return -1;
	if (ptrace(PTRACE_SETOPTIONS, pid, 0,
	           PTRACE_O_TRACESECCOMP | PTRACE_O_EXITKILL) < 0)
		return -1;
	for (;;) {
		if (ptrace(PTRACE_CONT, pid, 0, 0) < 0)
			return -1;
		if (waitpid(pid, &status, 0) != pid)
			return -1;
		if (!WIFSTOPPED(status))
			return status;
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_SECCOMP << 8)) &&
		    ptrace(PTRACE_GETEVENTMSG, pid, 0, &m) == 0)
			*msg = (long)m;
	}
}

static void outcome(int status, long msg, char *buf, size_t size)
{
	if (msg >= 0) {
		snprintf(buf, size, "trace:%ld", msg);
	} else if (WIFSIGNALED(status)) {
		snprintf(buf, size, "SIG%s", sigabbrev_np(WTERMSIG(status)));
	} else {
		int code = WEXITSTATUS(status);

		if (code == 0)
			snprintf(buf, size, "OK");
		else if (code == EXIT_TRAPPED)
			snprintf(buf, size, "trapped");
		else if (code == EXIT_THREAD_KILLED)
			snprintf(buf, size, "thread-killed");
		else if (code == EXIT_INTERNAL)
			snprintf(buf, size, "internal-error");
		else
			snprintf(buf, size, "%s", strerrorname_np(code));
	}
}

/* Run the syscall under prog in a child; writes the outcome to buf. */
static void run_filter(const struct bpf_program *prog, enum mode mode, long nr,
                       const long a[6], char *buf, size_t size)
{
	struct call c = {.nr = nr};
	long msg = -1;
	int status;
	pid_t pid;

	memcpy(c.a, a, sizeof(c.a));
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child(prog, mode, &c);
	if (mode == TRACED)
		status = trace_child(pid, &msg);
	else
		assert_int_equal(waitpid(pid, &status, 0), pid);
	outcome(status, msg, buf, size);
}

static struct bpf_program *compile_ok(const char *profile, const char *caps,
                                      const char *kernel)
{
	struct bpf_program *prog = NULL;
	struct sp_error *err = NULL;
	struct bpf_settings s;
	char *json = quoted(profile);

	assert_int_equal(bpf_settings_default(&s), 0);
	if (caps != NULL)
		assert_int_equal(bpf_settings_set_caps(&s, caps, &err), 0);
	if (kernel != NULL)
		assert_int_equal(bpf_settings_set_kernel(&s, kernel, &err), 0);
	if (bpf_compile(json, strlen(json), &s, &prog, &err) < 0)
		fail_msg("compile failed: %s\nprofile: %s", err->msg, json);
	free(json);
	return prog;
}

/* ---- runtime cases ---- */

struct run_case {
	const char *what;
	const char *profile;
	long nr;
	long a[6];
	const char *expect;
	enum mode mode;
	const char *caps;   /* NULL: Docker's default set */
	const char *kernel; /* NULL: the running kernel */
};

/* getppid ignores its arguments, so the filter may judge any of them. */
#define PPID SYS_getppid

static const struct run_case run_cases[] = {
        /* default action and defaultErrnoRet */
        {"default errno is EPERM", DENY(""), PPID, {0}, "EPERM"},
        {"defaultErrnoRet",
         "{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':13,"
         "'syscalls':[" KEEP "]}",
         PPID,
         {0},
         "EACCES"},
        {"default allow", PERMIT(""), PPID, {0}, "OK"},
        {"default kill process",
         "{'defaultAction':'SCMP_ACT_KILL_PROCESS','syscalls':[" KEEP "]}",
         PPID,
         {0},
         "SIGSYS"},
        {"default trap",
         "{'defaultAction':'SCMP_ACT_TRAP','syscalls':[" KEEP "]}",
         PPID,
         {0},
         "trapped"},
        {"default log", "{'defaultAction':'SCMP_ACT_LOG'}", PPID, {0}, "OK"},

        /* every action in a rule */
        {"allow rule",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW", "")),
         PPID,
         {0},
         "OK"},
        {"errno rule without errnoRet is EPERM",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO", "")),
         PPID,
         {0},
         "EPERM"},
        {"errno rule with errnoRet",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO", ",'errnoRet':42")),
         PPID,
         {0},
         "ENOMSG"},
        {"kill is kill-thread",
         PERMIT(RULE("'getppid'", "SCMP_ACT_KILL", "")),
         PPID,
         {0},
         "thread-killed",
         THREAD},
        {"kill-thread",
         PERMIT(RULE("'getppid'", "SCMP_ACT_KILL_THREAD", "")),
         PPID,
         {0},
         "thread-killed",
         THREAD},
        {"kill-process",
         PERMIT(RULE("'getppid'", "SCMP_ACT_KILL_PROCESS", "")),
         PPID,
         {0},
         "SIGSYS",
         THREAD},
        {"trap rule",
         PERMIT(RULE("'getppid'", "SCMP_ACT_TRAP", "")),
         PPID,
         {0},
         "trapped"},
        {"trace without a tracer is ENOSYS",
         PERMIT(RULE("'getppid'", "SCMP_ACT_TRACE", "")),
         PPID,
         {0},
         "ENOSYS"},
        {"trace data defaults to EPERM as in runc",
         PERMIT(RULE("'getppid'", "SCMP_ACT_TRACE", "")),
         PPID,
         {0},
         "trace:1",
         TRACED},
        {"trace data is errnoRet",
         PERMIT(RULE("'getppid'", "SCMP_ACT_TRACE", ",'errnoRet':77")),
         PPID,
         {0},
         "trace:77",
         TRACED},
        {"log rule",
         DENY("," RULE("'getppid'", "SCMP_ACT_LOG", "")),
         PPID,
         {0},
         "OK"},

        /* names, name, unknown names */
        {"deprecated name",
         DENY(",{'name':'getppid','action':'SCMP_ACT_ALLOW'}"),
         PPID,
         {0},
         "OK"},
        {"unknown name skipped, the others kept",
         DENY("," RULE("'no_such_syscall','getppid'", "SCMP_ACT_ALLOW", "")),
         PPID,
         {0},
         "OK"},

        /* operators, each matching and not */
        {"EQ match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 5) "]")),
         PPID,
         {5},
         "EPERM"},
        {"EQ no match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 5) "]")),
         PPID,
         {6},
         "OK"},
        {"EQ compares all 64 bits",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 4294967301) "]")),
         PPID,
         {5},
         "OK"},
        {"EQ above 2^63",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 18446744073709551615) "]")),
         PPID,
         {-1},
         "EPERM"},
        {"NE match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(1, "NE", 5) "]")),
         PPID,
         {0, 6},
         "EPERM"},
        {"NE no match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(1, "NE", 5) "]")),
         PPID,
         {0, 5},
         "OK"},
        {"LT match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(2, "LT", 5) "]")),
         PPID,
         {0, 0, 4},
         "EPERM"},
        {"LT no match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(2, "LT", 5) "]")),
         PPID,
         {0, 0, 5},
         "OK"},
        {"LE match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(3, "LE", 5) "]")),
         PPID,
         {0, 0, 0, 5},
         "EPERM"},
        {"LE no match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(3, "LE", 5) "]")),
         PPID,
         {0, 0, 0, 6},
         "OK"},
        {"GE match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(4, "GE", 5) "]")),
         PPID,
         {0, 0, 0, 0, 5},
         "EPERM"},
        {"GE no match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(4, "GE", 5) "]")),
         PPID,
         {0, 0, 0, 0, 4},
         "OK"},
        {"GT match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(5, "GT", 5) "]")),
         PPID,
         {0, 0, 0, 0, 0, 6},
         "EPERM"},
        {"GT no match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(5, "GT", 5) "]")),
         PPID,
         {0, 0, 0, 0, 0, 5},
         "OK"},
        {"MASKED_EQ: value is the mask, valueTwo the datum",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG2(0, "MASKED_EQ", 240, 32) "]")),
         PPID,
         {0x2f},
         "EPERM"},
        {"MASKED_EQ no match",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG2(0, "MASKED_EQ", 240, 32) "]")),
         PPID,
         {0x12},
         "OK"},
        {"MASKED_EQ with a mask above 2^63",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG2(0, "MASKED_EQ", 18446744069414584320,
                                      0) "]")),
         PPID,
         {0x7fffffff},
         "EPERM"},

        /* combining conditions */
        {"different indexes AND: both hold",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 1) "," ARG(1, "EQ", 2) "]")),
         PPID,
         {1, 2},
         "EPERM"},
        {"different indexes AND: one fails",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 1) "," ARG(1, "EQ", 2) "]")),
         PPID,
         {1, 3},
         "OK"},
        {"repeated index OR: first",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 1) "," ARG(0, "EQ", 2) "]")),
         PPID,
         {1},
         "EPERM"},
        {"repeated index OR: second",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 1) "," ARG(0, "EQ", 2) "]")),
         PPID,
         {2},
         "EPERM"},
        {"repeated index OR: neither",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 1) "," ARG(0, "EQ", 2) "]")),
         PPID,
         {3},
         "OK"},

        /* includes and excludes */
        {"includes.caps not held: rule skipped",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'includes':{'caps':['CAP_SYS_ADMIN']}")),
         PPID,
         {0},
         "EPERM"},
        {"includes.caps held",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'includes':{'caps':['CAP_SYS_ADMIN']}")),
         PPID,
         {0},
         "OK",
         PLAIN,
         "+SYS_ADMIN"},
        {"includes.caps needs every cap",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'includes':{'caps':['CAP_SYS_ADMIN','CAP_BPF']}")),
         PPID,
         {0},
         "EPERM",
         PLAIN,
         "+SYS_ADMIN"},
        {"includes.caps of the default set",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'includes':{'caps':['CAP_NET_RAW','CAP_MKNOD']}")),
         PPID,
         {0},
         "OK"},
        {"excludes.caps held: rule skipped",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'excludes':{'caps':['CAP_BPF','CAP_KILL']}")),
         PPID,
         {0},
         "EPERM"},
        {"excludes.caps not held",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'excludes':{'caps':['CAP_KILL']}")),
         PPID,
         {0},
         "OK",
         PLAIN,
         "-KILL"},
        {"includes.arches has amd64",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'includes':{'arches':['x86','amd64']}")),
         PPID,
         {0},
         "OK"},
        {"includes.arches lacks amd64",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'includes':{'arches':['arm64']}")),
         PPID,
         {0},
         "EPERM"},
        {"excludes.arches has amd64",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'excludes':{'arches':['amd64']}")),
         PPID,
         {0},
         "EPERM"},
        {"includes.minKernel reached",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'includes':{'minKernel':'4.8'}")),
         PPID,
         {0},
         "OK",
         PLAIN,
         NULL,
         "4.8"},
        {"includes.minKernel not reached",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'includes':{'minKernel':'4.8'}")),
         PPID,
         {0},
         "EPERM",
         PLAIN,
         NULL,
         "4.7"},
        {"excludes.minKernel reached",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'excludes':{'minKernel':'5.10'}")),
         PPID,
         {0},
         "EPERM",
         PLAIN,
         NULL,
         "6.1"},
        {"excludes.minKernel not reached",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'excludes':{'minKernel':'5.10'}")),
         PPID,
         {0},
         "OK",
         PLAIN,
         NULL,
         "5.4"},

        /* syscalls newer than the profile */
        {"above the largest named: ENOSYS",
         DENY(""),
         SYS_getrandom,
         {0, 0, 0},
         "ENOSYS"},
        {"above the largest named under a trapping default",
         "{'defaultAction':'SCMP_ACT_TRAP','syscalls':[" KEEP "]}",
         SYS_getrandom,
         {0, 0, 0},
         "ENOSYS"},
        {"above the largest named, killing default",
         "{'defaultAction':'SCMP_ACT_KILL','syscalls':[" KEEP "]}",
         SYS_getrandom,
         {0, 0, 0},
         "ENOSYS"},
        {"a number no libseccomp knows", DENY(""), 460, {0}, "ENOSYS"},
        {"not above once a larger one is named",
         DENY("," RULE("'rseq'", "SCMP_ACT_ALLOW", "")),
         SYS_getrandom,
         {0, 0, 0},
         "EPERM"},
        {"named with the default action still counts",
         DENY("," RULE("'rseq'", "SCMP_ACT_ERRNO", "")),
         SYS_getrandom,
         {0, 0, 0},
         "EPERM"},
        {"skipped entries do not count",
         DENY("," RULE("'rseq'", "SCMP_ACT_ALLOW",
                       ",'includes':{'caps':['CAP_BPF']}")),
         SYS_getrandom,
         {0, 0, 0},
         "ENOSYS"},
        {"no stub under a permissive default",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO", "")),
         SYS_getrandom,
         {0, 0, 0},
         "OK"},

        /* architectures */
        {"native only: ia32 call killed",
         DENY("," RULE("'getpid'", "SCMP_ACT_ALLOW", "")),
         20 /* i386 getpid */,
         {0},
         "SIGSYS",
         IA32},
        {"architectures adds x86",
         "{'defaultAction':'SCMP_ACT_ERRNO','architectures':['SCMP_ARCH_X86_64'"
         ","
         "'SCMP_ARCH_X86'],'syscalls':[" KEEP
         "," RULE("'getpid'", "SCMP_ACT_ALLOW", "") "]}",
         20,
         {0},
         "OK",
         IA32},
        {"architectures: x86 denies by name",
         "{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86'],"
         "'syscalls':[" RULE("'getpid'", "SCMP_ACT_ERRNO", "") "]}",
         20,
         {0},
         "EPERM",
         IA32},
        {"archMap: native entry's subArchitectures",
         "{'defaultAction':'SCMP_ACT_ERRNO','archMap':[{'architecture':"
         "'SCMP_ARCH_AARCH64','subArchitectures':['SCMP_ARCH_ARM']},"
         "{'architecture':'SCMP_ARCH_X86_64','subArchitectures':"
         "['SCMP_ARCH_X86','SCMP_ARCH_X32']}],'syscalls':[" KEEP
         "," RULE("'getpid'", "SCMP_ACT_ALLOW", "") "]}",
         20,
         {0},
         "OK",
         IA32},
        {"archMap: other entries do not count",
         "{'defaultAction':'SCMP_ACT_ERRNO','archMap':[{'architecture':"
         "'SCMP_ARCH_AARCH64','subArchitectures':['SCMP_ARCH_X86']}],"
         "'syscalls':[" KEEP "," RULE("'getpid'", "SCMP_ACT_ALLOW", "") "]}",
         20,
         {0},
         "SIGSYS",
         IA32},
        {"ENOSYS for ia32 too",
         "{'defaultAction':'SCMP_ACT_ERRNO','architectures':['SCMP_ARCH_X86'],"
         "'syscalls':[" KEEP "]}",
         400 /* above i386 exit_group */,
         {0},
         "ENOSYS",
         IA32},
};

/* Whether this kernel runs 32-bit x86 calls from a 64-bit process. */
static bool have_ia32(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		child_exit(int80(20, 0, 0, 0) > 0 ? 0 : 1);
	return pid > 0 && waitpid(pid, &status, 0) == pid &&
	       WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_runtime_cases(void **state)
{
	bool ia32 = have_ia32();
	size_t i, failures = 0;

	for (i = 0; i < sizeof(run_cases) / sizeof(run_cases[0]); i++) {
		const struct run_case *rc = &run_cases[i];
		struct bpf_program *prog;
		char got[64];

		if (rc->mode == IA32 && !ia32) {
			print_message("skip (no ia32 emulation): %s\n",
			              rc->what);
			continue;
		}
		prog = compile_ok(rc->profile, rc->caps, rc->kernel);
		run_filter(prog, rc->mode, rc->nr, rc->a, got, sizeof(got));
		if (strcmp(got, rc->expect) != 0) {
			print_error("case '%s': expected %s, got %s\n",
			            rc->what, rc->expect, got);
			failures++;
		}
		bpf_program_free(prog);
	}
	assert_int_equal(failures, 0);
}

/* ---- compile-time findings ---- */

static bool notes_have(const struct profile_notes *n, const char *needle)
{
	size_t i;

	for (i = 0; i < n->n; i++)
		if (strstr(n->v[i], needle) != NULL)
			return true;
	return false;
}

struct note_case {
	const char *what;
	const char *profile;
	bool explain; /* look in the explanation, not the warnings */
	const char *needle;
};

static const struct note_case note_cases[] = {
        {"unknown syscall warned",
         DENY("," RULE("'no_such_syscall'", "SCMP_ACT_ALLOW", "")), false,
         "syscalls[1].names[0]: unknown syscall 'no_such_syscall' skipped"},
        {"flags warned",
         "{'defaultAction':'SCMP_ACT_ALLOW','flags':['SECCOMP_FILTER_FLAG_LOG']"
         "}",
         false, "flags: filter flags cannot travel"},
        {"unknown key warned", "{'defaultAction':'SCMP_ACT_ALLOW','comment':1}",
         false, "comment: unknown key ignored"},
        {"deprecated name warned",
         PERMIT("{'name':'getppid','action':'SCMP_ACT_ERRNO'}"), false,
         "syscalls[0]: 'name' is deprecated"},
        {"unknown capability warned",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'includes':{'caps':['CAP_FLY']}")),
         false, "syscalls[0].includes.caps[0]: unknown capability 'CAP_FLY'"},
        {"listenerPath warned",
         "{'defaultAction':'SCMP_ACT_ALLOW','listenerPath':'/run/agent'}",
         false, "listenerPath: a notify agent"},
        {"errno name checked",
         PERMIT(RULE("'getppid'", "SCMP_ACT_ERRNO",
                     ",'errnoRet':1,'errno':'EACCES'")),
         false, "syscalls[0].errno: says EACCES but errnoRet is 1 (EPERM)"},
        {"rule equal to the default dropped",
         DENY("," RULE("'getppid'", "SCMP_ACT_ERRNO", ",'errnoRet':1")), true,
         "syscalls[1]: ERRNO(EPERM) for 0 name(s); 1 dropped"},
        {"kill equals kill-thread",
         "{'defaultAction':'SCMP_ACT_KILL_THREAD','syscalls':[" RULE(
                 "'getppid'", "SCMP_ACT_KILL", "") "]}",
         true, "1 dropped"},
        {"stub explained", DENY(""), true,
         "enosys stub: x86_64 syscalls above 231 return ENOSYS"},
        {"no stub for ERRNO(ENOSYS)",
         "{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':38}", true,
         "enosys stub: none, the default action is ERRNO(ENOSYS) already"},
        {"archMap without a native entry",
         "{'defaultAction':'SCMP_ACT_ALLOW','archMap':[{'architecture':"
         "'SCMP_ARCH_AARCH64'}]}",
         false, "archMap: no entry for SCMP_ARCH_X86_64"},
        {"skip reason explained",
         DENY("," RULE("'getppid'", "SCMP_ACT_ALLOW",
                       ",'includes':{'caps':['CAP_SYS_ADMIN']}")),
         true,
         "syscalls[1]: skipped, includes.caps: CAP_SYS_ADMIN is not held"},
};

static void test_notes(void **state)
{
	size_t i, failures = 0;

	for (i = 0; i < sizeof(note_cases) / sizeof(note_cases[0]); i++) {
		const struct note_case *nc = &note_cases[i];
		struct bpf_program *prog = compile_ok(nc->profile, NULL, NULL);
		const struct profile_notes *n =
		        nc->explain ? &prog->explain : &prog->warnings;

		if (!notes_have(n, nc->needle)) {
			size_t j;

			print_error("case '%s': no note with '%s'; got:\n",
			            nc->what, nc->needle);
			for (j = 0; j < n->n; j++)
				print_error("  %s\n", n->v[j]);
			failures++;
		}
		bpf_program_free(prog);
	}
	assert_int_equal(failures, 0);
}

/* ---- errors ---- */

struct error_case {
	const char *profile; /* single-quoted JSON, or raw bytes */
	const char *needle;
	bool strict;
};

static const struct error_case error_cases[] = {
        {"", "invalid JSON at line 1"},
        {"{'defaultAction':'SCMP_ACT_ALLOW'", "invalid JSON"},
        {"{'defaultAction':'SCMP_ACT_ALLOW'} x", "invalid JSON"},
        {"[]", "profile: expected an object, got an array"},
        {"{}", "no defaultAction and no syscalls"},
        {"{'defaultAction':''}", "no defaultAction and no syscalls"},
        {"{'syscalls':[" KEEP "]}", "defaultAction: missing"},
        {"{'defaultAction':1}",
         "defaultAction: expected a string, got an integer"},
        {"{'defaultAction':'SCMP_ACT_FOO'}",
         "defaultAction: unknown action 'SCMP_ACT_FOO'"},
        {"{'defaultAction':'SCMP_ACT_NOTIFY'}",
         "defaultAction: SCMP_ACT_NOTIFY needs a user-space agent"},
        {"{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':-1}",
         "defaultErrnoRet: expected a non-negative integer, got -1"},
        {"{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':65536}",
         "defaultErrnoRet: value 65536 out of range"},
        {"{'defaultAction':'SCMP_ACT_ERRNO','defaultErrnoRet':'EPERM'}",
         "defaultErrnoRet: expected a non-negative integer, got a string"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':{}}",
         "syscalls: expected an array, got an object"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[1]}",
         "syscalls[0]: expected an object, got an integer"},
        {PERMIT("{'action':'SCMP_ACT_ERRNO'}"),
         "syscalls[0]: no syscall names"},
        {PERMIT("{'names':[],'action':'SCMP_ACT_ERRNO'}"),
         "syscalls[0]: no syscall names"},
        {PERMIT("{'names':[''],'action':'SCMP_ACT_ERRNO'}"),
         "syscalls[0].names[0]: empty string"},
        {PERMIT("{'names':['read',2],'action':'SCMP_ACT_ERRNO'}"),
         "syscalls[0].names[1]: expected a string, got an integer"},
        {PERMIT("{'names':'read','action':'SCMP_ACT_ERRNO'}"),
         "syscalls[0].names: expected an array of strings, got a string"},
        {PERMIT("{'name':'','action':'SCMP_ACT_ERRNO'}"),
         "syscalls[0].name: empty syscall name"},
        {PERMIT("{'name':'read','names':['write'],'action':'SCMP_ACT_ERRNO'}"),
         "syscalls[0].name: both 'name' and 'names' are set"},
        {PERMIT("{'names':['read']}"), "syscalls[0].action: missing action"},
        {PERMIT(KEEP ",{'names':['read'],'action':'SCMP_ACT_NOPE'}"),
         "syscalls[1].action: unknown action 'SCMP_ACT_NOPE'"},
        {PERMIT(KEEP ",{'names':['read'],'action':'SCMP_ACT_NOTIFY'}"),
         "syscalls[1].action: SCMP_ACT_NOTIFY needs a user-space agent"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO", ",'errnoRet':1.5")),
         "syscalls[0].errnoRet: expected a non-negative integer, got a "
         "fractional number"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO", ",'args':{}")),
         "syscalls[0].args: expected an array, got an object"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO", ",'args':[7]")),
         "syscalls[0].args[0]: expected an object, got an integer"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 1) "," ARG(0, "FOO", 1) "]")),
         "syscalls[0].args[1].op: unknown operator 'SCMP_CMP_FOO'"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO", ",'args':[{'index':0}]")),
         "syscalls[0].args[0].op: missing operator"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(6, "EQ", 1) "]")),
         "syscalls[0].args[0].index: argument index 6 out of range"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(18446744073709551615, "EQ", 1) "]")),
         "syscalls[0].args[0].index: argument index 18446744073709551615 out "
         "of range"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'args':[{'index':0,'value':'1','op':'SCMP_CMP_EQ'}]")),
         "syscalls[0].args[0].value: expected a non-negative integer, got a "
         "string"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", -1) "]")),
         "syscalls[0].args[0].value: expected a non-negative integer, got -1"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 18446744073709551616) "]")),
         "invalid JSON"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'args':[" ARG(0, "EQ", 18446744073709551615) "," ARG(
                             1, "EQ", -1) "]")),
         "negative number in a profile that also has integers above 2^63"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO", ",'includes':[]")),
         "syscalls[0].includes: expected an object, got an array"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO", ",'includes':{'caps':'x'}")),
         "syscalls[0].includes.caps: expected an array of strings"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'excludes':{'minKernel':'5'}")),
         "syscalls[0].excludes.minKernel: invalid kernel version '5'"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'includes':{'minKernel':'0.0'}")),
         "syscalls[0].includes.minKernel: invalid kernel version '0.0'"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'includes':{'minKernel':'5.10.1'}")),
         "invalid kernel version '5.10.1'"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_X86'],"
         "'archMap':[{'architecture':'SCMP_ARCH_X86_64'}]}",
         "both 'architectures' and 'archMap' are set"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','architectures':['SCMP_ARCH_FOO']}",
         "architectures[0]: unknown architecture 'SCMP_ARCH_FOO'"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','archMap':[{'architecture':"
         "'SCMP_ARCH_X86_64','subArchitectures':['SCMP_ARCH_X86','x32']}]}",
         "archMap[0].subArchitectures[1]: unknown architecture 'x32'"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','archMap':[{'subArchitectures':[]}]"
         "}",
         "archMap[0].architecture: missing architecture"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','flags':'x'}",
         "flags: expected an array of strings"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','defaultAction':'SCMP_ACT_ERRNO'}",
         "duplicate object key"},
        {"{'DefaultAction':'SCMP_ACT_ALLOW','syscalls':[]}",
         "DefaultAction: key differs from 'defaultAction' only in case"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','\xc5\xbfyscalls':[]}",
         "key differs from 'syscalls' only in case"},
        {PERMIT(RULE("'read'", "SCMP_ACT_ERRNO",
                     ",'args':[{'index':0,'value':1,'OP':'SCMP_CMP_EQ'}]")),
         "syscalls[0].args[0].OP: key differs from 'op' only in case"},
        {"{'defaultAction':'SCMP_ACT_ALLOW','syscalls':[{'names':['a\\u0000b'],"
         "'action':'SCMP_ACT_ERRNO'}]}",
         "invalid JSON"},
        {PERMIT(RULE("'no_such_syscall'", "SCMP_ACT_ERRNO", "")),
         "syscalls[0].names[0]: unknown syscall 'no_such_syscall'", true},
};

static void test_error_cases(void **state)
{
	size_t i, failures = 0;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *ec = &error_cases[i];
		struct bpf_program *prog = NULL;
		struct sp_error *err = NULL;
		struct bpf_settings s;
		char *json = quoted(ec->profile);
		int r;

		assert_int_equal(bpf_settings_default(&s), 0);
		s.strict = ec->strict;
		r = bpf_compile(json, strlen(json), &s, &prog, &err);
		if (r >= 0 || err == NULL ||
		    strstr(err->msg, ec->needle) == NULL) {
			print_error("profile %s\n  expected error with '%s', "
			            "got %s\n",
			            json, ec->needle,
			            r >= 0 ? "success" : err->msg);
			failures++;
		}
		assert_true(r >= 0 || prog == NULL);
		bpf_program_free(prog);
		sp_error_free(err);
		free(json);
	}
	assert_int_equal(failures, 0);
}

/* ---- settings and API ---- */

static void test_settings(void **state)
{
	struct sp_error *err = NULL;
	struct bpf_settings s, d;
	char a[256], b[256];
	json_t *j;

	assert_int_equal(bpf_settings_default(&d), 0);
	assert_int_equal(d.arch, SCMP_ARCH_X86_64);
	/* Docker's 14 default capabilities. */
	assert_int_equal(__builtin_popcountll(d.caps), 14);

	s = d;
	assert_int_equal(
	        bpf_settings_set_caps(&s, "-NET_RAW,+cap_sys_admin", &err), 0);
	assert_int_equal(__builtin_popcountll(s.caps), 14);
	assert_true(s.caps & (1ULL << 21));
	assert_false(s.caps & (1ULL << 13));
	assert_int_equal(bpf_settings_set_caps(&s, "CAP_CHOWN,KILL", &err), 0);
	assert_int_equal(s.caps, (1ULL << 0) | (1ULL << 5));
	assert_int_equal(bpf_settings_set_caps(&s, "none", &err), 0);
	assert_int_equal(s.caps, 0);
	assert_int_equal(bpf_settings_set_caps(&s, "all", &err), 0);
	assert_int_equal(__builtin_popcountll(s.caps), 41);
	assert_true(bpf_settings_set_caps(&s, "CAP_FLY", &err) < 0);
	assert_non_null(strstr(err->msg, "capability 'CAP_FLY': unknown"));
	sp_error_freep(&err);
	assert_true(bpf_settings_set_caps(&s, "KILL,-CHOWN", &err) < 0);
	sp_error_freep(&err);

	s = d;
	assert_int_equal(bpf_settings_set_arch(&s, "arm64", &err), 0);
	assert_int_equal(s.arch, SCMP_ARCH_AARCH64);
	assert_int_equal(bpf_settings_set_arch(&s, "SCMP_ARCH_X86", &err), 0);
	assert_int_equal(s.arch, SCMP_ARCH_X86);
	assert_true(bpf_settings_set_arch(&s, "vax", &err) < 0);
	sp_error_freep(&err);
	assert_int_equal(bpf_settings_set_kernel(&s, "5.15.0-91-generic", &err),
	                 0);
	assert_int_equal(s.kernel_major, 5);
	assert_int_equal(s.kernel_minor, 15);
	assert_true(bpf_settings_set_kernel(&s, "five", &err) < 0);
	sp_error_freep(&err);

	/* The fingerprint changes with every setting. */
	bpf_settings_fingerprint(&d, a, sizeof(a));
	s = d;
	s.strict = true;
	bpf_settings_fingerprint(&s, b, sizeof(b));
	assert_string_not_equal(a, b);
	s = d;
	s.kernel_minor++;
	bpf_settings_fingerprint(&s, b, sizeof(b));
	assert_string_not_equal(a, b);
	assert_non_null(strstr(a, "libseccomp=2."));

	j = bpf_settings_json(&d);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "arch")),
	                    "x86_64");
	assert_int_equal(json_array_size(json_object_get(j, "caps")), 14);
	assert_non_null(json_object_get(j, "kernel"));
	assert_non_null(json_object_get(j, "libseccomp"));
	json_decref(j);
}

static const char *podman_profile = "/usr/share/containers/seccomp.json";

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

struct par_arg {
	const char *json;
	size_t len;
	const struct bpf_program *want;
	int mismatches;
};

static void *compile_many(void *arg)
{
	struct par_arg *pa = arg;
	struct bpf_settings s;
	int i;

	bpf_settings_default(&s);
	for (i = 0; i < 5; i++) {
		struct bpf_program *prog = NULL;
		struct sp_error *err = NULL;

		if (bpf_compile(pa->json, pa->len, &s, &prog, &err) < 0 ||
		    prog->size != pa->want->size ||
		    memcmp(prog->insns, pa->want->insns, prog->size) != 0)
			__atomic_add_fetch(&pa->mismatches, 1,
			                   __ATOMIC_RELAXED);
		bpf_program_free(prog);
		sp_error_free(err);
	}
	return NULL;
}

/* Concurrent compiles give the same bytes as a lone one. */
static void test_threads(void **state)
{
	struct bpf_program *want = NULL;
	struct sp_error *err = NULL;
	struct bpf_settings s;
	struct par_arg pa;
	pthread_t t[4];
	size_t len;
	char *json = slurp(podman_profile, &len);
	int i;

	if (json == NULL) {
		json = quoted(DENY("," RULE("'getppid','read','write'",
		                            "SCMP_ACT_ALLOW", "")));
		len = strlen(json);
	}
	bpf_settings_default(&s);
	assert_int_equal(bpf_compile(json, len, &s, &want, &err), 0);
	pa = (struct par_arg){json, len, want, 0};
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, compile_many, &pa),
		                 0);
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(pa.mismatches, 0);
	bpf_program_free(want);
	free(json);
}

/* The real-world profile compiles, and its filter decides as expected. */
static void test_podman_profile(void **state)
{
	struct bpf_program *prog = NULL;
	struct sp_error *err = NULL;
	struct bpf_settings s;
	long a[6] = {0};
	char got[64];
	size_t len;
	char *json = slurp(podman_profile, &len);

	if (json == NULL) {
		print_message("skip: %s not installed\n", podman_profile);
		skip();
	}
	bpf_settings_default(&s);
	assert_int_equal(bpf_compile(json, len, &s, &prog, &err), 0);
	assert_true(prog->n_insns > 100 && prog->n_insns < BPF_MAXINSNS);
	assert_int_equal(prog->size,
	                 prog->n_insns * sizeof(struct sock_filter));

	run_filter(prog, PLAIN, SYS_getppid, a, got, sizeof(got));
	assert_string_equal(got, "OK");
	/* Denied by name. */
	run_filter(prog, PLAIN, SYS_kexec_load, a, got, sizeof(got));
	assert_string_equal(got, "EPERM");
	/* Allowed only with CAP_SYS_ADMIN, which Docker's set lacks. */
	a[0] = -1;
	run_filter(prog, PLAIN, SYS_bpf, a, got, sizeof(got));
	assert_string_equal(got, "EPERM");
	/* Named twice, allowed first and denied without CAP_SYS_ADMIN later:
	 * libseccomp keeps the first unconditional action, as under runc. */
	run_filter(prog, PLAIN, SYS_setns, a, got, sizeof(got));
	assert_string_equal(got, "EBADF");
	/* personality(0xffffffff) is allowed, personality(6) is not. */
	a[0] = 0xffffffffL;
	run_filter(prog, PLAIN, SYS_personality, a, got, sizeof(got));
	assert_string_equal(got, "OK");
	a[0] = 6;
	run_filter(prog, PLAIN, SYS_personality, a, got, sizeof(got));
	assert_string_equal(got, "ENOSYS");
	bpf_program_free(prog);

	/* With every capability, the CAP_SYS_ADMIN entries apply. */
	assert_int_equal(bpf_settings_set_caps(&s, "all", &err), 0);
	assert_int_equal(bpf_compile(json, len, &s, &prog, &err), 0);
	a[0] = -1;
	run_filter(prog, PLAIN, SYS_bpf, a, got, sizeof(got));
	assert_string_equal(got, "EINVAL");
	bpf_program_free(prog);

	/* Other targets compile, with their archMap entries. */
	assert_int_equal(bpf_settings_set_arch(&s, "arm64", &err), 0);
	assert_int_equal(bpf_compile(json, len, &s, &prog, &err), 0);
	assert_true(notes_have(&prog->explain, "architectures aarch64,arm;"));
	bpf_program_free(prog);
	free(json);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_runtime_cases),
	        cmocka_unit_test(test_notes),
	        cmocka_unit_test(test_error_cases),
	        cmocka_unit_test(test_settings),
	        cmocka_unit_test(test_threads),
	        cmocka_unit_test(test_podman_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

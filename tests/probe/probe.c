/* secprof probe: attempts syscalls one per child and prints each outcome. */
/*
 * Usage: probe [-l] [NAME...]
 *
 * For every probe (all, or those named) the program forks a child that
 * makes one system call with fixed, harmless arguments and reports how it
 * ended, one line per probe: "NAME RESULT" where RESULT is
 *   OK            the call returned without error
 *   E...          the errno name it failed with (EPERM, ENOSYS, ...)
 *   trapped       SIGSYS was delivered and caught (SCMP_ACT_TRAP)
 *   killed SIGSYS the child died of a signal (SCMP_ACT_KILL_*)
 *   timeout       the call blocked for more than a second
 * A child per probe keeps a killing filter from hiding the rest.
 *
 * Arguments are chosen so that, where the filter lets a call through, the
 * kernel's answer rarely depends on the environment: bad pointers (EFAULT),
 * fd -1 (EBADF), invalid flags (EINVAL). Some answers still depend on the
 * capabilities held; run the probe unconfined in the same environment for
 * a baseline. Build it static (gcc -static) so that it runs in any rootfs.
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef __x86_64__
#error "the probe's syscall numbers are those of x86_64"
#endif

/* Bad pointer: the kernel answers EFAULT if it gets to read it. */
#define BADP 1L

#define EXIT_TRAPPED 254
#define EXIT_INTERNAL 253

struct probe {
	const char *name; /* syscall name, with ":variant" for special args */
	long nr;
	long a[6];
};

/*
 * Numbers above 450 are written out: the C library's headers may predate
 * them, and they are exactly the syscalls a profile's ENOSYS handling is
 * about.
 */
static const struct probe probes[] = {
        {"read", SYS_read, {-1, BADP, 1}},
        {"write", SYS_write, {-1, BADP, 1}},
        {"open", SYS_open, {BADP, 0}},
        {"close", SYS_close, {-1}},
        {"stat", SYS_stat, {BADP, BADP}},
        {"fstat", SYS_fstat, {-1, BADP}},
        {"lseek", SYS_lseek, {-1, 0, 0}},
        {"mmap", SYS_mmap, {0, 0, 0, 0, -1, 0}},
        {"mprotect", SYS_mprotect, {BADP, 4096, 0}},
        {"brk", SYS_brk, {0}},
        {"rt_sigaction", SYS_rt_sigaction, {SIGKILL, BADP, 0, 8}},
        {"ioctl", SYS_ioctl, {-1, 0, 0}},
        {"pread64", SYS_pread64, {-1, BADP, 1, 0}},
        {"readv", SYS_readv, {-1, BADP, 1}},
        {"access", SYS_access, {BADP, 0}},
        {"pipe", SYS_pipe, {BADP}},
        {"select", SYS_select, {1, BADP, 0, 0, BADP}},
        {"sched_yield", SYS_sched_yield, {0}},
        {"mremap", SYS_mremap, {BADP, 0, 0, 0}},
        {"msync", SYS_msync, {BADP, 4096, 0}},
        {"madvise", SYS_madvise, {BADP, 4096, 0}},
        {"shmget", SYS_shmget, {0, 0, 0}},
        {"dup", SYS_dup, {-1}},
        {"dup2", SYS_dup2, {-1, -1}},
        {"nanosleep", SYS_nanosleep, {BADP, 0}},
        {"getpid", SYS_getpid, {0}},
        {"socket", SYS_socket, {-1, 0, 0}},
        {"socket:unix", SYS_socket, {1 /* AF_UNIX */, 1, 0}},
        {"socket:netlink_audit", SYS_socket, {16 /* AF_NETLINK */, 3, 9}},
        {"socket:netlink_route", SYS_socket, {16, 3, 0}},
        {"connect", SYS_connect, {-1, BADP, 16}},
        {"sendto", SYS_sendto, {-1, BADP, 1, 0, 0, 0}},
        {"clone", SYS_clone, {SIGCHLD, 0, 0, 0, 0}},
        {"clone:newuser",
         SYS_clone,
         {0x10000000 /* CLONE_NEWUSER */ | SIGCHLD, 0, 0, 0, 0}},
        {"fork", SYS_fork, {0}},
        {"execve", SYS_execve, {BADP, 0, 0}},
        {"wait4", SYS_wait4, {-1, 0, 0, 0}},
        {"kill", SYS_kill, {0, 0}},
        {"uname", SYS_uname, {BADP}},
        {"fcntl", SYS_fcntl, {-1, 0}},
        {"flock", SYS_flock, {-1, 0}},
        {"fsync", SYS_fsync, {-1}},
        {"truncate", SYS_truncate, {BADP, 0}},
        {"getcwd", SYS_getcwd, {BADP, 1}},
        {"chdir", SYS_chdir, {BADP}},
        {"rename", SYS_rename, {BADP, BADP}},
        {"mkdir", SYS_mkdir, {BADP, 0700}},
        {"rmdir", SYS_rmdir, {BADP}},
        {"link", SYS_link, {BADP, BADP}},
        {"unlink", SYS_unlink, {BADP}},
        {"symlink", SYS_symlink, {BADP, BADP}},
        {"chmod", SYS_chmod, {BADP, 0}},
        {"fchmod", SYS_fchmod, {-1, 0}},
        {"chown", SYS_chown, {BADP, 0, 0}},
        {"umask", SYS_umask, {022}},
        {"gettimeofday", SYS_gettimeofday, {BADP, 0}},
        {"getrlimit", SYS_getrlimit, {0, BADP}},
        {"sysinfo", SYS_sysinfo, {BADP}},
        {"ptrace", SYS_ptrace, {-1 /* bad request */, 0, 0, 0}},
        {"getuid", SYS_getuid, {0}},
        {"syslog", SYS_syslog, {10 /* SYSLOG_ACTION_SIZE_BUFFER */, 0, 0}},
        {"setuid", SYS_setuid, {-1}},
        {"setgid", SYS_setgid, {-1}},
        {"setpgid", SYS_setpgid, {0, 0}},
        {"setsid", SYS_setsid, {0}},
        {"setgroups", SYS_setgroups, {-1, 0}},
        {"capget", SYS_capget, {BADP, 0}},
        {"capset", SYS_capset, {BADP, BADP}},
        {"sigaltstack", SYS_sigaltstack, {0, 0}},
        {"mknod", SYS_mknod, {BADP, 0, 0}},
        {"uselib", SYS_uselib, {BADP}},
        {"personality", SYS_personality, {0xffffffffL /* query */}},
        {"personality:linux", SYS_personality, {0 /* PER_LINUX */}},
        {"personality:bsd", SYS_personality, {6 /* PER_BSD */}},
        {"ustat", SYS_ustat, {0, BADP}},
        {"statfs", SYS_statfs, {BADP, BADP}},
        {"getpriority", SYS_getpriority, {0, 0}},
        {"sched_setparam", SYS_sched_setparam, {-1, BADP}},
        {"mlock", SYS_mlock, {BADP, 0}},
        {"vhangup", SYS_vhangup, {0}},
        {"modify_ldt", SYS_modify_ldt, {-1, 0, 0}},
        {"pivot_root", SYS_pivot_root, {BADP, BADP}},
        {"prctl", SYS_prctl, {-1, 0, 0, 0, 0}},
        {"arch_prctl", SYS_arch_prctl, {-1, 0}},
        {"adjtimex", SYS_adjtimex, {BADP}},
        {"setrlimit", SYS_setrlimit, {0, BADP}},
        {"chroot", SYS_chroot, {BADP}},
        {"sync", SYS_sync, {0}},
        {"acct", SYS_acct, {BADP}},
        {"settimeofday", SYS_settimeofday, {BADP, 0}},
        {"mount", SYS_mount, {BADP, BADP, BADP, 0, 0}},
        {"umount2", SYS_umount2, {BADP, 0}},
        {"swapon", SYS_swapon, {BADP, 0}},
        {"swapoff", SYS_swapoff, {BADP}},
        {"reboot", SYS_reboot, {0, 0, 0, 0} /* bad magic: EINVAL */},
        {"sethostname", SYS_sethostname, {BADP, 1}},
        {"setdomainname", SYS_setdomainname, {BADP, 1}},
        {"iopl", SYS_iopl, {4}},
        {"ioperm", SYS_ioperm, {0, 0, 0}},
        {"init_module", SYS_init_module, {BADP, 0, BADP}},
        {"delete_module", SYS_delete_module, {BADP, 0}},
        {"quotactl", SYS_quotactl, {0, BADP, 0, 0}},
        {"gettid", SYS_gettid, {0}},
        {"setxattr", SYS_setxattr, {BADP, BADP, 0, 0, 0}},
        {"tkill", SYS_tkill, {-1, 0}},
        {"time", SYS_time, {0}},
        {"futex", SYS_futex, {BADP, 1 /* FUTEX_WAKE */, 0, 0, 0, 0}},
        {"io_setup", SYS_io_setup, {0, BADP}},
        {"lookup_dcookie", SYS_lookup_dcookie, {0, 0, 0}},
        {"epoll_create", SYS_epoll_create, {0}},
        {"getdents64", SYS_getdents64, {-1, BADP, 1}},
        {"set_tid_address", SYS_set_tid_address, {0}},
        {"clock_settime", SYS_clock_settime, {0, BADP}},
        {"clock_gettime", SYS_clock_gettime, {0, BADP}},
        {"exit_group", SYS_exit_group, {0}},
        {"tgkill", SYS_tgkill, {-1, -1, 0}},
        {"mbind", SYS_mbind, {BADP, 0, 0, 0, 0, 0}},
        {"kexec_load", SYS_kexec_load, {0, 0, 0, -1}},
        {"waitid", SYS_waitid, {-1, 0, 0, 0, 0}},
        {"add_key", SYS_add_key, {BADP, BADP, 0, 0, 0}},
        {"keyctl", SYS_keyctl, {-1, 0, 0, 0, 0}},
        {"ioprio_set", SYS_ioprio_set, {-1, 0, 0}},
        {"inotify_init", SYS_inotify_init, {0}},
        {"migrate_pages", SYS_migrate_pages, {-1, 0, 0, 0}},
        {"openat", SYS_openat, {-1, BADP, 0}},
        {"mkdirat", SYS_mkdirat, {-1, BADP, 0}},
        {"unshare", SYS_unshare, {0x4 /* not an unshare flag */}},
        {"unshare:newns", SYS_unshare, {0x00020000 /* CLONE_NEWNS */}},
        {"unshare:newuser", SYS_unshare, {0x10000000 /* CLONE_NEWUSER */}},
        {"set_robust_list", SYS_set_robust_list, {0, 0}},
        {"splice", SYS_splice, {-1, 0, -1, 0, 1, 0}},
        {"move_pages", SYS_move_pages, {-1, 0, 0, 0, 0, 0}},
        {"utimensat", SYS_utimensat, {-1, BADP, 0, 0}},
        {"timerfd_create", SYS_timerfd_create, {-1, 0}},
        {"eventfd2", SYS_eventfd2, {0, -1}},
        {"pipe2", SYS_pipe2, {BADP, 0}},
        {"perf_event_open", SYS_perf_event_open, {BADP, 0, -1, -1, 0}},
        {"recvmmsg", SYS_recvmmsg, {-1, BADP, 1, 0, 0}},
        {"fanotify_init", SYS_fanotify_init, {-1, 0}},
        {"prlimit64", SYS_prlimit64, {0, 0, 0, BADP}},
        {"name_to_handle_at", SYS_name_to_handle_at, {-1, BADP, BADP, BADP, 0}},
        {"open_by_handle_at", SYS_open_by_handle_at, {-1, BADP, 0}},
        {"clock_adjtime", SYS_clock_adjtime, {0, BADP}},
        {"syncfs", SYS_syncfs, {-1}},
        {"setns", SYS_setns, {-1, 0}},
        {"process_vm_readv", SYS_process_vm_readv, {-1, BADP, 1, BADP, 1, 0}},
        {"kcmp", SYS_kcmp, {-1, -1, 0, 0, 0}},
        {"finit_module", SYS_finit_module, {-1, BADP, 0}},
        {"sched_setattr", SYS_sched_setattr, {-1, BADP, 0}},
        {"renameat2", SYS_renameat2, {-1, BADP, -1, BADP, 0}},
        {"seccomp", SYS_seccomp, {-1, 0, 0}},
        {"getrandom", SYS_getrandom, {BADP, 1, 0x7f00 /* bad flags */}},
        {"memfd_create", SYS_memfd_create, {BADP, 0}},
        {"kexec_file_load", SYS_kexec_file_load, {-1, -1, 0, 0, -1}},
        {"bpf", SYS_bpf, {-1, 0, 0}},
        {"execveat", SYS_execveat, {-1, BADP, 0, 0, 0}},
        {"userfaultfd", SYS_userfaultfd, {-1}},
        {"membarrier", SYS_membarrier, {0, 0, 0}},
        {"mlock2", SYS_mlock2, {BADP, 0, -1}},
        {"copy_file_range", SYS_copy_file_range, {-1, 0, -1, 0, 1, 0}},
        {"preadv2", SYS_preadv2, {-1, BADP, 1, 0, 0, 0}},
        {"pkey_alloc", SYS_pkey_alloc, {-1, 0}},
        {"statx", SYS_statx, {-1, BADP, 0, 0, BADP}},
        {"io_pgetevents", SYS_io_pgetevents, {0, 0, 0, 0, 0, 0}},
        {"rseq", SYS_rseq, {0, 0, -1, 0}},
        {"pidfd_send_signal", SYS_pidfd_send_signal, {-1, 0, 0, 0}},
        {"io_uring_setup", SYS_io_uring_setup, {0, BADP}},
        {"io_uring_enter", SYS_io_uring_enter, {-1, 0, 0, 0, 0, 0}},
        {"open_tree", 428, {-1, BADP, 0}},
        {"move_mount", 429, {-1, BADP, -1, BADP, 0}},
        {"fsopen", 430, {BADP, 0}},
        {"fsconfig", 431, {-1, 0, 0, 0, 0}},
        {"fsmount", 432, {-1, 0, 0}},
        {"fspick", 433, {-1, BADP, 0}},
        {"pidfd_open", 434, {-1, 0}},
        {"clone3", 435, {BADP, 88}},
        {"close_range", 436, {-1, 0, -1}},
        {"openat2", 437, {-1, BADP, BADP, 24}},
        {"pidfd_getfd", 438, {-1, -1, 0}},
        {"faccessat2", 439, {-1, BADP, 0, -1}},
        {"process_madvise", 440, {-1, BADP, 1, 0, 0}},
        {"epoll_pwait2", 441, {-1, BADP, 1, BADP, 0, 0}},
        {"mount_setattr", 442, {-1, BADP, 0, BADP, 0}},
        {"quotactl_fd", 443, {-1, 0, 0, 0}},
        {"landlock_create_ruleset", 444, {0, 0, -1}},
        {"landlock_add_rule", 445, {-1, 0, 0, 0}},
        {"landlock_restrict_self", 446, {-1, 0}},
        {"memfd_secret", 447, {-1}},
        {"process_mrelease", 448, {-1, 0}},
        {"futex_waitv", 449, {0, 0, -1, 0, 0}},
        {"set_mempolicy_home_node", 450, {BADP, 0, 0, -1}},
        {"cachestat", 451, {-1, BADP, BADP, 0}},
        {"fchmodat2", 452, {-1, BADP, 0, -1}},
        {"map_shadow_stack", 453, {0, 0, -1}},
        {"futex_wake", 454, {BADP, 0, 0, -1}},
        {"futex_wait", 455, {BADP, 0, 0, -1, 0, 0}},
        {"futex_requeue", 456, {BADP, -1, 0, 0}},
        {"statmount", 457, {BADP, BADP, 0, -1}},
        {"listmount", 458, {BADP, BADP, 0, -1}},
        {"lsm_get_self_attr", 459, {0, BADP, BADP, -1}},
        {"lsm_set_self_attr", 460, {0, BADP, 0, -1}},
        {"lsm_list_modules", 461, {BADP, BADP, -1}},
        {"mseal", 462, {BADP, 4096, -1}},
        {"setxattrat", 463, {-1, BADP, 0, BADP, BADP, 0}},
        {"getxattrat", 464, {-1, BADP, 0, BADP, BADP, 0}},
        {"listxattrat", 465, {-1, BADP, 0, BADP, 0}},
        {"removexattrat", 466, {-1, BADP, 0, BADP}},
        {"open_tree_attr", 467, {-1, BADP, 0, BADP, 0}},
        {"nr_500", 500, {0}},
        {"nr_1023", 1023, {0}},
};

#define N_PROBES (sizeof(probes) / sizeof(probes[0]))

static void on_sigsys(int sig)
{
	(void)sig;
	_exit(EXIT_TRAPPED);
}

static void child(const struct probe *p)
{
	struct sigaction sa;
	long r;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigsys;
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		_exit(EXIT_INTERNAL);
	alarm(1);
	r = syscall(p->nr, p->a[0], p->a[1], p->a[2], p->a[3], p->a[4],
	            p->a[5]);
	/* A grandchild from fork or clone also lands here, with r == 0. */
	if (r < 0)
		_exit(errno > 0 && errno < EXIT_INTERNAL ? errno
		                                         : EXIT_INTERNAL);
	_exit(0);
}

static void report(const struct probe *p, int status)
{
	if (WIFSIGNALED(status)) {
		int sig = WTERMSIG(status);

		if (sig == SIGALRM)
			printf("%s timeout\n", p->name);
		else
			printf("%s killed SIG%s\n", p->name,
			       sigabbrev_np(sig) ? sigabbrev_np(sig) : "?");
		return;
	}
	switch (WEXITSTATUS(status)) {
	case 0:
		printf("%s OK\n", p->name);
		break;
	case EXIT_TRAPPED:
		printf("%s trapped\n", p->name);
		break;
	case EXIT_INTERNAL:
		printf("%s probe-error\n", p->name);
		break;
	default: {
		const char *e = strerrorname_np(WEXITSTATUS(status));

		if (e != NULL)
			printf("%s %s\n", p->name, e);
		else
			printf("%s errno%d\n", p->name, WEXITSTATUS(status));
	}
	}
}

static int run(const struct probe *p)
{
	int status;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		/* fork itself may be what the filter denies. */
		printf("%s probe-fork-%s\n", p->name, strerrorname_np(errno));
		return 1;
	}
	if (pid == 0)
		child(p);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 1;
	report(p, status);
	return 0;
}

static bool wanted(const char *name, int argc, char **argv)
{
	int i;

	if (argc == 0)
		return true;
	for (i = 0; i < argc; i++)
		if (!strcmp(argv[i], name))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	int failures = 0, found = 0;
	size_t i;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && !strcmp(argv[1], "-l")) {
		for (i = 0; i < N_PROBES; i++)
			printf("%s %ld\n", probes[i].name, probes[i].nr);
		return 0;
	}
	for (i = 0; i < N_PROBES; i++) {
		if (!wanted(probes[i].name, argc - 1, argv + 1))
			continue;
		found++;
		failures += run(&probes[i]);
	}
	if (found == 0) {
		fprintf(stderr, "probe: no such probe\n");
		return 2;
	}
	return failures ? 1 : 0;
}

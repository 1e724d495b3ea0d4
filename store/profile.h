/* secprof profile model: Docker/OCI seccomp JSON parsed into rules. */
#ifndef SECPROF_PROFILE_H
#define SECPROF_PROFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <seccomp.h>

#include "error.h"

/*
 * The actions a profile can name. PROFILE_ACT_NONE marks an absent
 * defaultAction; every syscall entry has an action other than NONE.
 */
enum profile_action {
	PROFILE_ACT_NONE = 0,
	PROFILE_ACT_KILL, /* kills the thread, as SCMP_ACT_KILL_THREAD */
	PROFILE_ACT_KILL_THREAD,
	PROFILE_ACT_KILL_PROCESS,
	PROFILE_ACT_TRAP,
	PROFILE_ACT_ERRNO,
	PROFILE_ACT_TRACE,
	PROFILE_ACT_ALLOW,
	PROFILE_ACT_LOG,
	PROFILE_ACT_NOTIFY,
};

/* A growable list of heap strings (warnings, explanations). */
struct profile_notes {
	char **v;
	size_t n;
};

/* One element of "args": compare argument index with op. */
struct profile_arg {
	unsigned int index; /* 0..5 */
	enum scmp_compare op;
	uint64_t value;     /* MASKED_EQ: the mask */
	uint64_t value_two; /* MASKED_EQ: the datum */
};

/* "includes" or "excludes" of a syscall entry. */
struct profile_cond {
	char **arches; /* native names: "amd64", "x86", "arm64", ... */
	size_t n_arches;
	char **caps; /* "CAP_SYS_ADMIN", ... as written */
	size_t n_caps;
	bool has_min_kernel;
	unsigned int kernel_major, kernel_minor;
};

/* One element of "syscalls". */
struct profile_syscall {
	char **names; /* from "names", or the single deprecated "name" */
	size_t n_names;
	enum profile_action action;
	bool has_errno_ret;
	uint32_t errno_ret; /* ERRNO: errno; TRACE: the tracer's message */
	struct profile_arg *args;
	size_t n_args;
	struct profile_cond includes, excludes;
};

/* One element of "archMap". */
struct profile_arch_entry {
	char *arch; /* "SCMP_ARCH_X86_64" */
	char **subs;
	size_t n_subs;
};

struct profile {
	enum profile_action default_action; /* NONE when absent */
	bool has_default_errno_ret;
	uint32_t default_errno_ret;
	char **architectures; /* "SCMP_ARCH_*" as written */
	size_t n_architectures;
	struct profile_arch_entry *arch_map;
	size_t n_arch_map;
	struct profile_syscall *syscalls;
	size_t n_syscalls;
	char **flags; /* "SECCOMP_FILTER_FLAG_*" as written */
	size_t n_flags;
	bool has_listener; /* listenerPath set: needs a notify agent */
	/* Findings that do not stop a compile: unknown keys, flags, ... */
	struct profile_notes warnings;
};

/*
 * Parse a Docker/OCI seccomp profile from len bytes of JSON. Types and
 * values are checked as Docker's decoder checks them, and more strictly
 * where a lenient reading could make secprof and a container runtime
 * disagree (duplicate keys, keys that differ only in case). Unknown keys
 * are ignored with a warning. On failure the error names the JSON path,
 * e.g. "syscalls[3].args[0].op: unknown operator 'SCMP_CMP_FOO'".
 * Returns 0 and sets *out (free with profile_free), or -EINVAL / -ENOMEM
 * with *err set.
 */
int profile_parse(const void *json, size_t len, struct profile **out,
                  struct sp_error **err);

/* Free a profile; NULL is accepted. */
void profile_free(struct profile *p);
void profile_freep(struct profile **p);
#define _cleanup_profile_ __attribute__((cleanup(profile_freep)))

/* The profile spelling of an action, "SCMP_ACT_ERRNO"; "" for NONE. */
const char *profile_action_name(enum profile_action act);

/* The profile spelling of an operator, "SCMP_CMP_MASKED_EQ". */
const char *profile_op_name(enum scmp_compare op);

/*
 * Append a formatted string to notes. Returns 0 or -ENOMEM (the note is
 * then lost; callers treat notes as best effort unless they say otherwise).
 */
int profile_notes_add(struct profile_notes *notes, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Move all strings of from to the end of to; from is left empty. */
int profile_notes_move(struct profile_notes *to, struct profile_notes *from);

/* Free the strings of notes and reset it to empty. */
void profile_notes_clear(struct profile_notes *notes);

#endif

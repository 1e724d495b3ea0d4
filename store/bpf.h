/* secprof filter compiler: profiles to raw BPF with Docker's semantics. */
#ifndef SECPROF_BPF_H
#define SECPROF_BPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <linux/filter.h>

#include "error.h"
#include "profile.h"

/*
 * What a compile depends on besides the profile. Two compiles of the same
 * profile with equal settings give the same bytes (with the same
 * libseccomp), so (blob, bpf_settings_fingerprint) is a sound cache key.
 */
struct bpf_settings {
	uint32_t arch; /* SCMP_ARCH_* token of the target, never NATIVE */
	uint64_t caps; /* bit n set: capability n is in the bounding set */
	unsigned int kernel_major, kernel_minor; /* for minKernel */
	bool strict; /* unknown syscall names are errors, not warnings */
};

/*
 * Fill s for this host: the native architecture, Docker's default
 * capability set, the running kernel (uname), not strict. Returns 0, or
 * -EIO when the kernel release cannot be read.
 */
int bpf_settings_default(struct bpf_settings *s);

/*
 * Set the target architecture from "amd64", "x86_64" or
 * "SCMP_ARCH_X86_64" (any of libseccomp's or Docker's spellings).
 * Returns 0, or -EINVAL with *err set.
 */
int bpf_settings_set_arch(struct bpf_settings *s, const char *name,
                          struct sp_error **err);

/*
 * Set the capability set from a comma-separated list. Names may omit the
 * CAP_ prefix and are case-insensitive; "all" and "none" are sets of their
 * own; a list whose items all start with '+' or '-' edits the current set
 * ("-CAP_NET_RAW,+SYS_PTRACE"). Returns 0, or -EINVAL with *err set.
 */
int bpf_settings_set_caps(struct bpf_settings *s, const char *list,
                          struct sp_error **err);

/* Set the kernel version minKernel is checked against, "5.10" or "6.1.0". */
int bpf_settings_set_kernel(struct bpf_settings *s, const char *version,
                            struct sp_error **err);

/*
 * Write a canonical one-line description of everything the output depends
 * on, libseccomp's version included, into buf:
 * "arch=x86_64 caps=00000000a80425fb kernel=6.1 strict=0 libseccomp=2.5.4
 * secprof-bpf=1". Returns the length it needs (as snprintf).
 */
int bpf_settings_fingerprint(const struct bpf_settings *s, char *buf,
                             size_t size);

/*
 * The settings as a new JSON object for access records and --explain:
 * {"arch": "x86_64", "caps": ["CAP_CHOWN", ...], "kernel": "6.1",
 * "libseccomp": "2.5.4"}. Returns NULL when out of memory; the caller owns
 * the reference.
 */
json_t *bpf_settings_json(const struct bpf_settings *s);

/* The name of a SCMP_ARCH_* token in libseccomp's spelling, "x86_64". */
const char *bpf_arch_name(uint32_t arch);

/* A compiled filter. */
struct bpf_program {
	struct sock_filter *insns; /* malloc'd, n_insns entries */
	size_t n_insns;
	size_t size; /* bytes of insns, what the .bpf file holds */
	struct bpf_settings settings; /* what it was compiled with */
	/* Findings that did not stop the compile (unknown syscalls, ...). */
	struct profile_notes warnings;
	/* One line per decision the compiler took, for --explain. */
	struct profile_notes explain;
};

/*
 * Compile len bytes of profile JSON for settings s into a raw BPF program
 * as seccomp_export_bpf writes it: host byte order struct sock_filter
 * entries, loadable with prctl(PR_SET_SECCOMP) or seccomp(2) by a process
 * that has set no_new_privs (or has CAP_SYS_ADMIN). Safe to call from
 * several threads at once. Returns 0 and sets *out (free with
 * bpf_program_free), or -EINVAL (the profile cannot be compiled; the
 * message names the JSON path), -ENOMEM or -EIO with *err set.
 */
int bpf_compile(const void *json, size_t len, const struct bpf_settings *s,
                struct bpf_program **out, struct sp_error **err);

/* As bpf_compile, from an already parsed profile. */
int bpf_compile_profile(const struct profile *p, const struct bpf_settings *s,
                        struct bpf_program **out, struct sp_error **err);

/* Free a program; NULL is accepted. */
void bpf_program_free(struct bpf_program *prog);
void bpf_program_freep(struct bpf_program **prog);
#define _cleanup_bpf_program_ __attribute__((cleanup(bpf_program_freep)))

#endif

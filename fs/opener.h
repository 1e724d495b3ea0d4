/* secprofd opener identity: who asked for a profile, from FUSE and /proc. */
#ifndef SECPROF_OPENER_H
#define SECPROF_OPENER_H

#include <stdbool.h>
#include <sys/types.h>

#include <jansson.h>

/* Longest cmdline kept in a record, in bytes. */
#define OPENER_CMDLINE_MAX 1024

struct opener {
	pid_t pid; /* process (thread group) id in the daemon's namespace */
	pid_t tid; /* the calling thread, as FUSE reports it */
	uid_t uid;
	gid_t gid;
	char comm[32];
	char exe[512];
	char cmdline[OPENER_CMDLINE_MAX + 1];
	char cgroup[512];
	char container_id[65]; /* "" when the cgroup names no container */
};

/*
 * Fill o from the FUSE request context (tid, uid, gid) and /proc. A process
 * that has already exited leaves the /proc fields empty; that is recorded as
 * is rather than failing the open.
 */
void opener_identify(struct opener *o, pid_t tid, uid_t uid, gid_t gid);

/*
 * Find a container id in a cgroup path, for the docker, containerd (CRI),
 * CRI-O, podman and kubepods layouts. Writes 64 hex digits and a NUL to id
 * and returns true, or returns false when the path names no container.
 */
bool opener_container_id(const char *cgroup, char id[65]);

/* Add the opener members (pid, uid, gid, comm, exe, cmdline, cgroup and
 * container_id when known) to a record body. */
void opener_to_json(const struct opener *o, json_t *body);

#endif

/* secprofd opener identity: /proc parsing and container id recognition. */
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "opener.h"

/* Read at most size-1 bytes of a /proc file; returns the length or -1. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t size)
{
	char path[64];
	ssize_t n, total = 0;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	while ((size_t)total < size - 1) {
		n = read(fd, buf + total, size - 1 - total);
		if (n <= 0)
			break;
		total += n;
	}
	close(fd);
	buf[total] = '\0';
	return total;
}

static pid_t thread_group(pid_t tid)
{
	char buf[512], *p;

	if (read_proc(tid, "status", buf, sizeof(buf)) < 0)
		return tid;
	p = strstr(buf, "\nTgid:");
	if (p == NULL)
		return tid;
	return (pid_t)strtol(p + 6, NULL, 10);
}

static void chomp(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
}

static bool is_hex64(const char *s, size_t len)
{
	size_t i;

	if (len != 64)
		return false;
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) ||
		    isupper((unsigned char)s[i]))
			return false;
	return true;
}

/*
 * Runtimes name a container's cgroup after its id, with a runtime prefix
 * and a systemd ".scope" suffix under the systemd driver:
 *   docker:      /docker/<id>, docker-<id>.scope
 *   containerd:  cri-containerd-<id>.scope, /kubepods/.../pod<uid>/<id>
 *   CRI-O:       crio-<id>.scope (crio-conmon-<id> is the monitor, not it)
 *   podman:      libpod-<id>.scope, /libpod_parent/libpod-<id>
 * The innermost matching segment wins, so a nested payload cgroup below
 * the container's own (".../libpod-<id>/container") still resolves.
 */
bool opener_container_id(const char *cgroup, char id[65])
{
	static const char *const prefixes[] = {
	        "docker-", "cri-containerd-", "crio-", "libpod-", "",
	};
	const char *end = cgroup + strlen(cgroup);

	while (end > cgroup) {
		const char *seg = end;
		size_t len, i;

		while (seg > cgroup && seg[-1] != '/')
			seg--;
		len = (size_t)(end - seg);
		if (len > 6 && !strncmp(end - 6, ".scope", 6))
			len -= 6;

		for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
			size_t plen = strlen(prefixes[i]);

			if (len < plen || strncmp(seg, prefixes[i], plen))
				continue;
			if (!strncmp(seg, "crio-conmon-", 12))
				break;
			if (is_hex64(seg + plen, len - plen)) {
				memcpy(id, seg + plen, 64);
				id[64] = '\0';
				return true;
			}
		}

		end = seg > cgroup ? seg - 1 : cgroup;
	}
	return false;
}

/* Split one /proc/PID/cgroup line "ID:CONTROLLERS:PATH" at its path. */
static const char *cgroup_line_path(const char *line, const char *nl)
{
	const char *p = memchr(line, ':', (size_t)(nl - line));

	if (p == NULL)
		return NULL;
	p = memchr(p + 1, ':', (size_t)(nl - p - 1));
	return p != NULL ? p + 1 : NULL;
}

/*
 * Pick the cgroup path that places the process: the unified hierarchy
 * ("0::") when it says more than "/", else the systemd named hierarchy,
 * else the first line. A container id is looked for in every hierarchy,
 * since under cgroup v1 some controllers may sit at the root.
 */
static void pick_cgroup(struct opener *o, const char *text)
{
	const char *line, *best = NULL, *best_nl = NULL;
	int best_rank = 0;

	for (line = text; *line;) {
		const char *nl = strchr(line, '\n');
		const char *path;
		int rank = 1;

		if (nl == NULL)
			nl = line + strlen(line);
		path = cgroup_line_path(line, nl);
		if (path != NULL) {
			size_t n = (size_t)(nl - path);
			char buf[512];

			if (!strncmp(line, "0::", 3) && n > 1)
				rank = 3;
			else if (strstr(line, ":name=systemd:") != NULL &&
			         strstr(line, ":name=systemd:") < nl)
				rank = 2;
			if (rank > best_rank) {
				best = path;
				best_nl = nl;
				best_rank = rank;
			}
			if (n < sizeof(buf) && o->container_id[0] == '\0') {
				memcpy(buf, path, n);
				buf[n] = '\0';
				opener_container_id(buf, o->container_id);
			}
		}
		if (*nl == '\0')
			break;
		line = nl + 1;
	}

	if (best != NULL) {
		size_t n = (size_t)(best_nl - best);

		if (n >= sizeof(o->cgroup))
			n = sizeof(o->cgroup) - 1;
		memcpy(o->cgroup, best, n);
		o->cgroup[n] = '\0';
	}
}

static void read_cmdline(pid_t pid, char *out, size_t size)
{
	ssize_t n, i;

	n = read_proc(pid, "cmdline", out, size);
	if (n <= 0) {
		out[0] = '\0';
		return;
	}
	while (n > 0 && out[n - 1] == '\0')
		n--;
	for (i = 0; i < n; i++)
		if (out[i] == '\0')
			out[i] = ' ';
	out[n] = '\0';
}

void opener_identify(struct opener *o, pid_t tid, uid_t uid, gid_t gid)
{
	char path[64], buf[4096];
	ssize_t n;

	memset(o, 0, sizeof(*o));
	o->tid = tid;
	o->uid = uid;
	o->gid = gid;
	if (tid <= 0) {
		o->pid = tid;
		return;
	}
	o->pid = thread_group(tid);

	if (read_proc(tid, "comm", o->comm, sizeof(o->comm)) >= 0)
		chomp(o->comm);

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)o->pid);
	n = readlink(path, o->exe, sizeof(o->exe) - 1);
	o->exe[n > 0 ? n : 0] = '\0';

	read_cmdline(o->pid, o->cmdline, sizeof(o->cmdline));

	if (read_proc(o->pid, "cgroup", buf, sizeof(buf)) > 0) {
		char id[65];

		/* The placing hierarchy's id wins over any other's. */
		pick_cgroup(o, buf);
		if (opener_container_id(o->cgroup, id))
			memcpy(o->container_id, id, sizeof(id));
	}
}

/*
 * Process names and command lines are bytes chosen by the opener, not
 * necessarily UTF-8. Such a string is kept readable and unambiguous by
 * writing each byte outside printable ASCII as \xNN.
 */
static json_t *text_value(const char *s)
{
	json_t *v = json_string(s);
	char *buf, *p;

	if (v != NULL)
		return v;
	buf = malloc(strlen(s) * 4 + 1);
	if (buf == NULL)
		return json_string("");
	for (p = buf; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f && c != '\\')
			*p++ = (char)c;
		else
			p += sprintf(p, "\\x%02x", c);
	}
	*p = '\0';
	v = json_string(buf);
	free(buf);
	return v;
}

void opener_to_json(const struct opener *o, json_t *body)
{
	json_object_set_new(body, "pid", json_integer(o->pid));
	json_object_set_new(body, "uid", json_integer(o->uid));
	json_object_set_new(body, "gid", json_integer(o->gid));
	json_object_set_new(body, "comm", text_value(o->comm));
	json_object_set_new(body, "exe", text_value(o->exe));
	json_object_set_new(body, "cmdline", text_value(o->cmdline));
	json_object_set_new(body, "cgroup", text_value(o->cgroup));
	if (o->container_id[0] != '\0')
		json_object_set_new(body, "container_id",
		                    json_string(o->container_id));
}

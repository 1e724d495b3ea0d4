/* Unit tests of opener identity: container ids from cgroup paths, /proc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "opener.h"

#define ID "4f1c2a9be0d34c6f8a7b5e3d2c1b0a99887766554433221100ffeeddccbbaa00"

struct cgroup_case {
	const char *path;
	const char *id; /* NULL: no container */
};

static const struct cgroup_case cases[] = {
        /* docker, cgroupfs and systemd drivers */
        {"/docker/" ID, ID},
        {"/system.slice/docker-" ID ".scope", ID},
        /* containerd's CRI plugin under kubelet, both drivers */
        {"/kubepods/burstable/pod0d1e2f30-aaaa-bbbb-cccc-111122223333/" ID, ID},
        {"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-"
         "pod0d1e2f30_aaaa.slice/cri-containerd-" ID ".scope",
         ID},
        /* CRI-O: the container, not its conmon monitor */
        {"/kubepods.slice/kubepods-pod1.slice/crio-" ID ".scope", ID},
        {"/kubepods.slice/kubepods-pod1.slice/crio-conmon-" ID ".scope", NULL},
        /* podman, cgroupfs and systemd managers, and a nested payload */
        {"/libpod_parent/libpod-" ID, ID},
        {"/machine.slice/libpod-" ID ".scope", ID},
        {"/machine.slice/libpod-" ID ".scope/container", ID},
        /* not containers */
        {"/", NULL},
        {"/user.slice/user-0.slice/session-3.scope", NULL},
        {"/system.slice/secprofd.service", NULL},
        {"/docker/"
         "4F1C2A9BE0D34C6F8A7B5E3D2C1B0A99887766554433221100FFEEDDCCBBAA00",
         NULL},
        {"/docker/abc", NULL},
        {"/docker/" ID "0", NULL},
        {"", NULL},
};

static void test_container_ids(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char id[65] = "";
		bool found = opener_container_id(cases[i].path, id);

		if (cases[i].id == NULL) {
			if (found)
				fail_msg("%s: unexpected id %s", cases[i].path,
				         id);
		} else {
			if (!found)
				fail_msg("%s: no id found", cases[i].path);
			assert_string_equal(id, cases[i].id);
		}
	}
}

static void test_identify_self(void **state)
{
	struct opener o;
	char exe[512], comm[32];
	FILE *f;
	ssize_t n;

	opener_identify(&o, getpid(), getuid(), getgid());
	assert_int_equal(o.pid, getpid());
	assert_int_equal(o.uid, getuid());

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	assert_string_equal(o.exe, exe);

	f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	assert_string_equal(o.comm, comm);
	assert_non_null(strstr(o.cmdline, "test_opener"));
	assert_true(o.cgroup[0] == '/');
}

static void test_identify_gone(void **state)
{
	struct opener o;
	json_t *body = json_object();

	/* A pid that cannot exist: fields stay empty, nothing fails. */
	opener_identify(&o, 0x7ffffff0, 1, 2);
	assert_string_equal(o.comm, "");
	assert_string_equal(o.exe, "");
	opener_to_json(&o, body);
	assert_int_equal(json_integer_value(json_object_get(body, "uid")), 1);
	assert_null(json_object_get(body, "container_id"));
	json_decref(body);
}

static void test_json_bytes(void **state)
{
	struct opener o = {.pid = 1};
	json_t *body = json_object();
	char *text;

	/* Not UTF-8, with a backslash: escaped, never dropped. */
	strcpy(o.comm, "a\xff\\b");
	strcpy(o.cmdline, "x \xc3\xa9");
	opener_to_json(&o, body);
	assert_string_equal(json_string_value(json_object_get(body, "comm")),
	                    "a\\xff\\x5cb");
	assert_string_equal(json_string_value(json_object_get(body, "cmdline")),
	                    "x \xc3\xa9");
	text = json_dumps(body, JSON_COMPACT);
	assert_non_null(text);
	free(text);
	json_decref(body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_container_ids),
	        cmocka_unit_test(test_identify_self),
	        cmocka_unit_test(test_identify_gone),
	        cmocka_unit_test(test_json_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

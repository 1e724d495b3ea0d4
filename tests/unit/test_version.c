/* Unit tests: version precedence and the naming rules of promotion tags. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "index.h"

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

struct order_case {
	const char *a, *b;
	int want; /* sign of store_version_cmp(a, b) */
};

static const struct order_case order_cases[] = {
        /* The conventions' own examples. */
        {"1.10.0", "1.9.0", 1},
        {"2.0.0-rc1", "2.0.0", -1},
        {"2.0.0-rc.2", "2.0.0-rc.10", -1},
        /* Semver 2.0.0 section 11. */
        {"1.0.0", "2.0.0", -1},
        {"2.0.0", "2.1.0", -1},
        {"2.1.0", "2.1.1", -1},
        {"1.0.0-alpha", "1.0.0", -1},
        {"1.0.0-alpha", "1.0.0-alpha.1", -1},
        {"1.0.0-alpha.1", "1.0.0-alpha.beta", -1},
        {"1.0.0-alpha.beta", "1.0.0-beta", -1},
        {"1.0.0-beta", "1.0.0-beta.2", -1},
        {"1.0.0-beta.2", "1.0.0-beta.11", -1},
        {"1.0.0-beta.11", "1.0.0-rc.1", -1},
        {"1.0.0-rc.1", "1.0.0", -1},
        {"1.0.0-2", "1.0.0-10", -1},
        {"1.0.0-a-b", "1.0.0-a", 1},
        {"0.0.0", "0.0.1", -1},
        /* Build metadata has no precedence; the tie still breaks. */
        {"1.0.0+build.1", "1.0.0+build.2", -1},
        {"1.0.0", "1.0.0+build", -1},
        {"1.0.0-rc.1+x", "1.0.0", -1},
        /* Numbers beyond any integer type. */
        {"99999999999999999999999.0.0", "9999999999999999999999.0.0", 1},
        {"1.0.18446744073709551616", "1.0.18446744073709551615", 1},
        /* Not semver: natural order. */
        {"1.10", "1.9", 1},
        {"1.2", "1.2.1", -1},
        {"1.2-rc1", "1.2", -1},
        {"1.2", "1.2+1", -1},
        {"1.2", "1.2_1", -1},
        {"v2", "v10", -1},
        {"2023.01.15", "2023.1.16", -1},
        {"10", "9", 1},
        {"abc", "abd", -1},
        {"1.2.3", "1.2", 1},     /* one side semver: natural */
        {"01.2.3", "1.2.4", -1}, /* leading zero: not semver */
        {"1.0.0_x", "1.0.0", 1}, /* '_' is not semver */
        {"1.2.3.4", "1.2.3.10", -1},
        {"r100", "r99", 1},
        {"1a", "1b", -1},
        {"1.9a", "1.10", -1},
        {"2.0-beta", "2.0-alpha", 1},
        /* Equal value, different spelling: total, by bytes. */
        {"1.01", "1.1", -1},
        {"007", "7", -1},
        {"1.0.0", "1.0.0", 0},
        {"x", "x", 0},
};

static void test_order_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(order_cases) / sizeof(*order_cases);
	     i++) {
		const struct order_case *c = &order_cases[i];
		int got = sign(store_version_cmp(c->a, c->b));
		int back = sign(store_version_cmp(c->b, c->a));

		if (got != c->want || back != -c->want)
			fail_msg("cmp('%s', '%s') = %d (reverse %d), want %d",
			         c->a, c->b, got, back, c->want);
	}
}

static char *repeat(char c, size_t n, const char *tail)
{
	size_t tl = strlen(tail);
	char *s = malloc(n + tl + 1);

	assert_non_null(s);
	memset(s, c, n);
	memcpy(s + n, tail, tl + 1);
	return s;
}

static void test_order_hostile(void **state)
{
	char *nines = repeat('9', 5000, "");
	char *nines1 = repeat('9', 5000, "1");
	char *zeros = repeat('0', 5000, "1");
	char *dots = repeat('.', 5000, "");
	char *semverish = repeat('1', 3000, ".0.0-rc.1");

	(void)state;
	assert_true(store_version_cmp(nines, nines1) < 0);
	assert_true(store_version_cmp(nines1, nines) > 0);
	/* 000...01 has the value 1: below 2, and unequal to "1". */
	assert_true(store_version_cmp(zeros, "2") < 0);
	assert_true(store_version_cmp(zeros, "1") != 0);
	assert_true(store_version_cmp(dots, "1") != 0);
	assert_true(store_version_cmp(semverish, "1.0.0") > 0);
	assert_int_equal(store_version_cmp("", ""), 0);
	assert_true(store_version_cmp("", "1") < 0);
	assert_true(store_version_cmp("1.0.0-", "1.0.0") != 0);
	assert_true(store_version_cmp("1.0.0+", "1.0.0") != 0);
	assert_true(store_version_cmp("1.0.0-01", "1.0.0-1") != 0);
	free(nines);
	free(nines1);
	free(zeros);
	free(dots);
	free(semverish);
}

static const char *const pool[] = {
        "1.0.0",       "1.0.0-rc.1", "1.0.0-rc.2",
        "1.0.0-rc.10", "1.0.0-beta", "1.0.0-alpha.1",
        "1.0.0+b1",    "1.0.1",      "1.1.0",
        "1.10.0",      "1.9.0",      "2.0.0-rc1",
        "2.0.0",       "10.0.0",     "1.0",
        "1.0-rc1",     "1.0.1.1",    "1.10",
        "1.9",         "2",          "v1.2.3",
        "v1.10.0",     "2023.1.1",   "2023.01.02",
        "1.01",        "1.1",        "1_0",
        "1.0_1",       "1.0+1",      "a",
        "b1",          "b10",        "b2",
        "0.0.0",       "0.0.0-0",    "1.0.0-0",
        "1.0.0-a.b",   "1.0.0-a.1",  "9",
        "10",
};

/* Sorting (and the link to the newest version) needs a strict weak order:
 * it must be antisymmetric and transitive over a realistic mix. */
static void test_order_consistent(void **state)
{
	size_t n = sizeof(pool) / sizeof(*pool);

	(void)state;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(store_version_cmp(pool[i], pool[i]), 0);
		for (size_t j = 0; j < n; j++) {
			int ij = sign(store_version_cmp(pool[i], pool[j]));
			int ji = sign(store_version_cmp(pool[j], pool[i]));

			assert_int_equal(ij, -ji);
			if (i != j && ij == 0)
				fail_msg("'%s' and '%s' compare equal", pool[i],
				         pool[j]);
		}
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n; j++) {
			for (size_t k = 0; k < n; k++) {
				if (store_version_cmp(pool[i], pool[j]) < 0 &&
				    store_version_cmp(pool[j], pool[k]) < 0 &&
				    store_version_cmp(pool[i], pool[k]) >= 0)
					fail_msg("not transitive: %s < %s < %s",
					         pool[i], pool[j], pool[k]);
			}
		}
	}
}

struct name_case {
	const char *s;
	bool valid;
};

static void test_services(void **state)
{
	static const struct name_case cases[] = {
	        {"nginx", true},
	        {"payments/api", true},
	        {"a/b/c/d", true},
	        {"Nginx-1.2_x", true},
	        {"9lives", true},
	        {"a.json/b", true},
	        {"", false},
	        {"/nginx", false},
	        {"nginx/", false},
	        {"a//b", false},
	        {"a/./b", false},
	        {"a/../b", false},
	        {"..", false},
	        {".", false},
	        {".hidden", false},
	        {"-x", false},
	        {"_x", false},
	        {"a b", false},
	        {"a@b", false},
	        {"a\\b", false},
	        {"ngin\xc3\xa9", false},
	        {"a\nb", false},
	        {"a\x1b[31m", false},
	};
	char *longest = repeat('s', STORE_SEGMENT_MAX, "");
	char *too_long = repeat('s', STORE_SEGMENT_MAX + 1, "");

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		if (store_valid_service(cases[i].s) != cases[i].valid)
			fail_msg("service '%s': want %s", cases[i].s,
			         cases[i].valid ? "valid" : "invalid");
	}
	assert_true(store_valid_service(longest));
	assert_false(store_valid_service(too_long));
	assert_false(store_valid_service(NULL));
	free(longest);
	free(too_long);
}

static void test_envs_versions(void **state)
{
	static const struct name_case envs[] = {
	        {"prod", true},   {"staging-eu", true}, {"dev.1", true},
	        {"", false},      {"a/b", false},       {".prod", false},
	        {"pr od", false}, {"prod@1", false},
	};
	static const struct name_case versions[] = {
	        {"1.4.2", true}, {"2.0.0-rc.1+build_7", true},
	        {"v1", true},    {"2023.01.15", true},
	        {"a", true},     {"", false},
	        {".1", false},   {"-1", false},
	        {"+1", false},   {"1/2", false},
	        {"1@2", false},  {"1 2", false},
	        {"1\n", false},  {"1\xe2\x80\xa8", false},
	};
	char *v = repeat('1', STORE_VERSION_MAX, "");
	char *v_long = repeat('1', STORE_VERSION_MAX + 1, "");

	(void)state;
	for (size_t i = 0; i < sizeof(envs) / sizeof(*envs); i++) {
		if (store_valid_env(envs[i].s) != envs[i].valid)
			fail_msg("env '%s': want %s", envs[i].s,
			         envs[i].valid ? "valid" : "invalid");
	}
	for (size_t i = 0; i < sizeof(versions) / sizeof(*versions); i++) {
		if (store_valid_version(versions[i].s) != versions[i].valid)
			fail_msg("version '%s': want %s", versions[i].s,
			         versions[i].valid ? "valid" : "invalid");
	}
	assert_true(store_valid_version(v));
	assert_false(store_valid_version(v_long));
	free(v);
	free(v_long);
}

struct tag_case {
	const char *tag;
	const char *env, *service, *version; /* NULL: invalid */
};

static void check_tag(const char *tag, const char *env, const char *service,
                      const char *version)
{
	char *e = NULL, *s = NULL, *v = NULL;
	int r = store_parse_tag(tag, &e, &s, &v);

	if (env == NULL) {
		if (r != -EINVAL)
			fail_msg("tag '%s': parsed, want -EINVAL",
			         tag != NULL ? tag : "(null)");
		return;
	}
	if (r != 0)
		fail_msg("tag '%s': %d, want valid", tag, r);
	assert_string_equal(e, env);
	assert_string_equal(s, service);
	assert_string_equal(v, version);
	free(e);
	free(s);
	free(v);
}

static void test_parse_tag(void **state)
{
	static const struct tag_case cases[] = {
	        {"prod/nginx@1.4.2", "prod", "nginx", "1.4.2"},
	        {"dev/a/b/c@1", "dev", "a/b/c", "1"},
	        {"staging/nginx@2.0.0-rc.1+b", "staging", "nginx",
	         "2.0.0-rc.1+b"},
	        {"prod/../etc@1", NULL, NULL, NULL},
	        {"prod/nginx@", NULL, NULL, NULL},
	        {"prod/a//b@1", NULL, NULL, NULL},
	        {"prod/nginx@1.0/x", NULL, NULL, NULL},
	        {"prod/nginx@1@2", NULL, NULL, NULL},
	        {"prod/@1", NULL, NULL, NULL},
	        {"/nginx@1", NULL, NULL, NULL},
	        {"prod@1", NULL, NULL, NULL},
	        {"prod/nginx", NULL, NULL, NULL},
	        {"prod/nginx/@1", NULL, NULL, NULL},
	        {"prod/./nginx@1", NULL, NULL, NULL},
	        {"prod/.nginx@1", NULL, NULL, NULL},
	        {"prod/nginx@.1", NULL, NULL, NULL},
	        {"prod/nginx@1\n", NULL, NULL, NULL},
	        {"prod/ngi\x1bnx@1", NULL, NULL, NULL},
	        {"prod/ngin\xc3\xa9@1", NULL, NULL, NULL},
	        {"pr\xc3\xb6"
	         "d/nginx@1",
	         NULL, NULL, NULL},
	        {"prod/nginx@1.\xe2\x80\x8b", NULL, NULL, NULL},
	        {"prod/nginx@1 2", NULL, NULL, NULL},
	        {"", NULL, NULL, NULL},
	        {"@", NULL, NULL, NULL},
	        {"/", NULL, NULL, NULL},
	};
	char *long_service = repeat('a', 300, "@1");
	char *long_tag = NULL;
	char *deep = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		const struct tag_case *c = &cases[i];

		check_tag(c->tag, c->env, c->service, c->version);
	}
	check_tag("prod/payments/api@2.0.0", "prod", "payments/api", "2.0.0");
	check_tag(NULL, NULL, NULL, NULL);

	/* 300-character names, in every part. */
	assert_non_null(long_service);
	assert_true(asprintf(&long_tag, "prod/%s", long_service) > 0);
	check_tag(long_tag, NULL, NULL, NULL);
	free(long_tag);
	long_tag = repeat('p', 300, "/nginx@1");
	check_tag(long_tag, NULL, NULL, NULL);
	free(long_tag);
	long_tag = repeat('1', 300, "");
	assert_true(asprintf(&deep, "prod/nginx@%s", long_tag) > 0);
	check_tag(deep, NULL, NULL, NULL);
	free(deep);
	free(long_tag);

	/* Many short segments: each part within its limit until the service
	 * passes STORE_SERVICE_MAX bytes. */
	for (int segments = 80; segments <= 90; segments += 10) {
		char *service = repeat('x', 0, "");

		for (int i = 0; i < segments; i++) {
			char *next = NULL;

			assert_true(asprintf(&next, "%sab/", service) > 0);
			free(service);
			service = next;
		}
		service[strlen(service) - 1] = '\0';
		long_tag = NULL;
		assert_true(asprintf(&long_tag, "prod/%s@1", service) > 0);
		if (strlen(service) <= STORE_SERVICE_MAX)
			check_tag(long_tag, "prod", service, "1");
		else
			check_tag(long_tag, NULL, NULL, NULL);
		free(long_tag);
		free(service);
	}
	free(long_service);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_order_table),
	        cmocka_unit_test(test_order_hostile),
	        cmocka_unit_test(test_order_consistent),
	        cmocka_unit_test(test_services),
	        cmocka_unit_test(test_envs_versions),
	        cmocka_unit_test(test_parse_tag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

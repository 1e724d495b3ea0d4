/* secprof naming rules: environments, services, versions, promotion tags,
 * and the precedence of versions. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "index_impl.h"

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* One segment [A-Za-z0-9][A-Za-z0-9._-]* of exactly len bytes. */
static bool valid_segment(const char *s, size_t len)
{
	if (len == 0 || len > STORE_SEGMENT_MAX || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];

		if (!is_alnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

static bool valid_service_n(const char *s, size_t len)
{
	size_t start = 0;

	if (len == 0 || len > STORE_SERVICE_MAX)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (!valid_segment(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

static bool valid_version_n(const char *s, size_t len)
{
	if (len == 0 || len > STORE_VERSION_MAX || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];

		if (!is_alnum(c) && c != '.' && c != '+' && c != '_' &&
		    c != '-')
			return false;
	}
	return true;
}

static bool valid_env_n(const char *s, size_t len)
{
	return len <= STORE_ENV_MAX && valid_segment(s, len);
}

bool store_valid_service(const char *s)
{
	return s != NULL &&
	       valid_service_n(s, strnlen(s, STORE_SERVICE_MAX + 1));
}

bool store_valid_env(const char *s)
{
	return s != NULL && valid_env_n(s, strnlen(s, STORE_ENV_MAX + 1));
}

bool store_valid_version(const char *s)
{
	return s != NULL &&
	       valid_version_n(s, strnlen(s, STORE_VERSION_MAX + 1));
}

int store_split_tag(const char *tag, struct store_tag_parts *parts)
{
	const char *slash, *at;
	size_t len;

	if (tag == NULL)
		return -EINVAL;
	len = strnlen(tag, STORE_TAG_MAX + 1);
	if (len > STORE_TAG_MAX)
		return -EINVAL;

	slash = memchr(tag, '/', len);
	if (slash == NULL)
		return -EINVAL;
	/* Neither services nor versions may hold '@': exactly one is allowed. */
	at = memchr(slash, '@', len - (size_t)(slash - tag));
	if (at == NULL || memchr(at + 1, '@', len - (size_t)(at + 1 - tag)))
		return -EINVAL;

	parts->env_len = (size_t)(slash - tag);
	parts->service = slash + 1;
	parts->service_len = (size_t)(at - parts->service);
	parts->version = at + 1;
	parts->version_len = len - (size_t)(parts->version - tag);

	if (!valid_env_n(tag, parts->env_len) ||
	    !valid_service_n(parts->service, parts->service_len) ||
	    !valid_version_n(parts->version, parts->version_len))
		return -EINVAL;
	return 0;
}

int store_parse_tag(const char *tag, char **env, char **service, char **version)
{
	struct store_tag_parts p;
	char *e, *s, *v;

	if (store_split_tag(tag, &p) < 0)
		return -EINVAL;

	e = strndup(tag, p.env_len);
	s = strndup(p.service, p.service_len);
	v = strndup(p.version, p.version_len);
	if (e == NULL || s == NULL || v == NULL) {
		free(e);
		free(s);
		free(v);
		return -ENOMEM;
	}
	*env = e;
	*service = s;
	*version = v;
	return 0;
}

/*
 * Compare two runs of digits by value without converting them, so that runs
 * longer than any integer type still order correctly.
 */
static int digits_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int r;

	while (la > 1 && *a == '0') {
		a++;
		la--;
	}
	while (lb > 1 && *b == '0') {
		b++;
		lb--;
	}
	if (la != lb)
		return la < lb ? -1 : 1;
	r = memcmp(a, b, la);
	return r < 0 ? -1 : r > 0;
}

static size_t digit_run(const char *s)
{
	size_t n = 0;

	while (is_digit(s[n]))
		n++;
	return n;
}

/* A semantic version 2.0.0 split into its parts; lengths exclude NULs. */
struct semver {
	const char *core[3];
	size_t core_len[3];
	const char *pre; /* NULL when absent */
	size_t pre_len;
};

static bool semver_numeric(const char *s, size_t len)
{
	if (len == 0 || (len > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return false;
	}
	return true;
}

/* Dot-separated identifiers [0-9A-Za-z-]+, numeric ones without leading
 * zeros when strict_numeric is set (pre-release, not build metadata). */
static bool semver_idents(const char *s, size_t len, bool strict_numeric)
{
	size_t start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!is_alnum(s[i]) && s[i] != '-')
				return false;
			continue;
		}
		if (i == start)
			return false;
		if (strict_numeric && is_digit(s[start]) &&
		    digit_run(s + start) >= i - start &&
		    !semver_numeric(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

static bool semver_parse(const char *s, struct semver *v)
{
	const char *p = s, *end;
	const char *plus;

	for (int i = 0; i < 3; i++) {
		size_t n = digit_run(p);

		if (!semver_numeric(p, n))
			return false;
		v->core[i] = p;
		v->core_len[i] = n;
		p += n;
		if (i < 2) {
			if (*p != '.')
				return false;
			p++;
		}
	}

	end = p + strlen(p);
	plus = strchr(p, '+');
	if (plus != NULL &&
	    !semver_idents(plus + 1, (size_t)(end - plus - 1), false))
		return false;
	if (plus == NULL)
		plus = end;

	v->pre = NULL;
	v->pre_len = 0;
	if (*p == '-') {
		v->pre = p + 1;
		v->pre_len = (size_t)(plus - p - 1);
		if (!semver_idents(v->pre, v->pre_len, true))
			return false;
	} else if (p != plus) {
		return false;
	}
	return true;
}

static size_t ident_len(const char *s, size_t len)
{
	const char *dot = memchr(s, '.', len);

	return dot != NULL ? (size_t)(dot - s) : len;
}

static bool all_digits(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return false;
	}
	return true;
}

static int pre_ident_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	bool na = all_digits(a, la), nb = all_digits(b, lb);
	int r;

	if (na && nb)
		return digits_cmp(a, la, b, lb);
	/* Numeric identifiers have lower precedence than alphanumeric. */
	if (na != nb)
		return na ? -1 : 1;
	r = memcmp(a, b, la < lb ? la : lb);
	if (r != 0)
		return r < 0 ? -1 : 1;
	return la < lb ? -1 : la > lb;
}

static int semver_cmp(const struct semver *a, const struct semver *b)
{
	const char *pa, *pb;
	size_t ra, rb;
	int r;

	for (int i = 0; i < 3; i++) {
		r = digits_cmp(a->core[i], a->core_len[i], b->core[i],
		               b->core_len[i]);
		if (r != 0)
			return r;
	}
	/* A pre-release ranks below the release it precedes. */
	if (a->pre == NULL || b->pre == NULL)
		return (a->pre == NULL) - (b->pre == NULL);

	pa = a->pre;
	ra = a->pre_len;
	pb = b->pre;
	rb = b->pre_len;
	for (;;) {
		size_t la = ident_len(pa, ra), lb = ident_len(pb, rb);

		r = pre_ident_cmp(pa, la, pb, lb);
		if (r != 0)
			return r;
		if (la == ra || lb == rb)
			return (la == ra ? 0 : 1) - (lb == rb ? 0 : 1);
		pa += la + 1;
		ra -= la + 1;
		pb += lb + 1;
		rb -= lb + 1;
	}
}

/*
 * Rank of a character in natural order. The end of a string sorts just
 * above '-', so "2.0-rc1" < "2.0" (a hyphen starts a pre-release, as in
 * semver) while "2.0" < "2.0.1" and "2.0" < "2.0+1".
 */
static int natural_rank(char c)
{
	if (c == '-')
		return 1;
	if (c == '\0')
		return 2;
	return 3 + (unsigned char)c;
}

static int natural_cmp(const char *a, const char *b)
{
	while (*a != '\0' || *b != '\0') {
		if (is_digit(*a) && is_digit(*b)) {
			size_t la = digit_run(a), lb = digit_run(b);
			int r = digits_cmp(a, la, b, lb);

			if (r != 0)
				return r;
			a += la;
			b += lb;
			continue;
		}
		if (*a != *b)
			return natural_rank(*a) < natural_rank(*b) ? -1 : 1;
		a++;
		b++;
	}
	return 0;
}

int store_version_cmp(const char *a, const char *b)
{
	struct semver sa, sb;
	int r;

	if (semver_parse(a, &sa) && semver_parse(b, &sb))
		r = semver_cmp(&sa, &sb);
	else
		r = natural_cmp(a, b);
	if (r != 0)
		return r;
	/* Equal precedence (build metadata, leading zeros): stay total. */
	r = strcmp(a, b);
	return r < 0 ? -1 : r > 0;
}

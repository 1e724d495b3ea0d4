/* secprof profile parser: JSON text to the rule model, with JSON paths. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "profile.h"

#define _cleanup_json_ __attribute__((cleanup(json_decrefp)))
#define _cleanup_free_ __attribute__((cleanup(freep)))

static void freep(void *p)
{
	free(*(void **)p);
}

/* Highest value the filter's 16-bit return data can carry. */
#define RET_DATA_MAX 0xffffu

/* Arguments a syscall can have. */
#define ARG_MAX 6

/*
 * The JSON path of the value being read, "syscalls[3].args[0].op". Each
 * step appends and returns the previous length so the caller can restore
 * it; a path too long for the buffer is cut, never overrun.
 */
struct jpath {
	char buf[512];
	size_t len;
};

static size_t path_push(struct jpath *p, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static size_t path_push(struct jpath *p, const char *fmt, ...)
{
	size_t old = p->len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(p->buf + p->len, sizeof(p->buf) - p->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		p->len += (size_t)n;
	if (p->len >= sizeof(p->buf))
		p->len = sizeof(p->buf) - 1;
	return old;
}

static size_t path_key(struct jpath *p, const char *key)
{
	return path_push(p, p->len ? ".%s" : "%s", key);
}

static size_t path_index(struct jpath *p, size_t i)
{
	return path_push(p, "[%zu]", i);
}

static void path_pop(struct jpath *p, size_t old)
{
	p->len = old;
	p->buf[old] = '\0';
}

static const char *path_str(const struct jpath *p)
{
	return p->len ? p->buf : "profile";
}

struct parser {
	struct jpath path;
	struct profile *prof;
	struct sp_error **err;
	/*
	 * Integers above INT64_MAX were rewritten as their two's complement
	 * before jansson saw them; a negative integer then stands for one.
	 */
	bool big_ints;
};

static int fail(struct parser *ps, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int fail(struct parser *ps, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return sp_error_set(ps->err, ENOMEM, "out of memory");
	r = sp_error_set(ps->err, EINVAL, "%s: %s", path_str(&ps->path), msg);
	free(msg);
	return r;
}

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a fractional number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* ---- notes ---- */

int profile_notes_add(struct profile_notes *notes, const char *fmt, ...)
{
	char **v, *s = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	v = realloc(notes->v, (notes->n + 1) * sizeof(*v));
	if (v == NULL) {
		free(s);
		return -ENOMEM;
	}
	v[notes->n++] = s;
	notes->v = v;
	return 0;
}

int profile_notes_move(struct profile_notes *to, struct profile_notes *from)
{
	char **v;

	if (from->n == 0)
		return 0;
	v = realloc(to->v, (to->n + from->n) * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	memcpy(v + to->n, from->v, from->n * sizeof(*v));
	to->v = v;
	to->n += from->n;
	free(from->v);
	from->v = NULL;
	from->n = 0;
	return 0;
}

void profile_notes_clear(struct profile_notes *notes)
{
	size_t i;

	for (i = 0; i < notes->n; i++)
		free(notes->v[i]);
	free(notes->v);
	notes->v = NULL;
	notes->n = 0;
}

static int warn(struct parser *ps, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static int warn(struct parser *ps, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (r < 0)
		return sp_error_set(ps->err, ENOMEM, "out of memory");
	r = profile_notes_add(&ps->prof->warnings, "%s: %s",
	                      path_str(&ps->path), msg);
	free(msg);
	return r < 0 ? sp_error_set(ps->err, ENOMEM, "out of memory") : 0;
}

/* ---- names ---- */

static const struct {
	const char *name;
	enum profile_action act;
} actions[] = {
        {"SCMP_ACT_KILL", PROFILE_ACT_KILL},
        {"SCMP_ACT_KILL_THREAD", PROFILE_ACT_KILL_THREAD},
        {"SCMP_ACT_KILL_PROCESS", PROFILE_ACT_KILL_PROCESS},
        {"SCMP_ACT_TRAP", PROFILE_ACT_TRAP},
        {"SCMP_ACT_ERRNO", PROFILE_ACT_ERRNO},
        {"SCMP_ACT_TRACE", PROFILE_ACT_TRACE},
        {"SCMP_ACT_ALLOW", PROFILE_ACT_ALLOW},
        {"SCMP_ACT_LOG", PROFILE_ACT_LOG},
        {"SCMP_ACT_NOTIFY", PROFILE_ACT_NOTIFY},
};

static const struct {
	const char *name;
	enum scmp_compare op;
} operators[] = {
        {"SCMP_CMP_NE", SCMP_CMP_NE},
        {"SCMP_CMP_LT", SCMP_CMP_LT},
        {"SCMP_CMP_LE", SCMP_CMP_LE},
        {"SCMP_CMP_EQ", SCMP_CMP_EQ},
        {"SCMP_CMP_GE", SCMP_CMP_GE},
        {"SCMP_CMP_GT", SCMP_CMP_GT},
        {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
};

const char *profile_action_name(enum profile_action act)
{
	size_t i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].act == act)
			return actions[i].name;
	return "";
}

const char *profile_op_name(enum scmp_compare op)
{
	size_t i;

	for (i = 0; i < sizeof(operators) / sizeof(operators[0]); i++)
		if (operators[i].op == op)
			return operators[i].name;
	return "?";
}

/* ---- keys ---- */

/*
 * Docker's decoder (Go encoding/json) matches keys case-insensitively,
 * with Unicode folding, and the last of several matching keys wins. A key
 * secprof would ignore but Docker would read could make the .bpf and the
 * runtime enforce different filters, so such keys are refused. The only
 * non-ASCII characters that fold to ASCII letters are U+017F (long s) and
 * U+212A (Kelvin sign).
 */
static bool folds_to(const char *key, const char *known)
{
	const unsigned char *k = (const unsigned char *)key;

	for (; *known; known++) {
		int c;

		if (k[0] == 0xc5 && k[1] == 0xbf) {
			c = 's';
			k += 2;
		} else if (k[0] == 0xe2 && k[1] == 0x84 && k[2] == 0xaa) {
			c = 'k';
			k += 3;
		} else if (*k != '\0') {
			c = *k++;
		} else {
			return false;
		}
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c !=
		    (*known >= 'A' && *known <= 'Z' ? *known + 32 : *known))
			return false;
	}
	return *k == '\0';
}

/*
 * Check every key of obj against the known ones: exact matches are read by
 * the caller, near matches are errors, others are warnings.
 */
static int check_keys(struct parser *ps, json_t *obj, const char *const *known)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val)
	{
		const char *const *k;
		bool exact = false;
		size_t old;
		int r = 0;

		for (k = known; *k && !exact; k++)
			exact = !strcmp(key, *k);
		if (exact)
			continue;

		old = path_key(&ps->path, key);
		for (k = known; *k && r == 0; k++)
			if (folds_to(key, *k))
				r = fail(ps,
				         "key differs from '%s' only in case; "
				         "Docker would read it, refusing the "
				         "ambiguity",
				         *k);
		if (r == 0)
			r = warn(ps, "unknown key ignored");
		path_pop(&ps->path, old);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- typed readers; null reads as absent, as in Docker ---- */

static json_t *member(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_null(v) ? NULL : v;
}

static int read_string(struct parser *ps, json_t *v, char **out)
{
	const char *s;

	if (!json_is_string(v))
		return fail(ps, "expected a string, got %s", type_name(v));
	s = json_string_value(v);
	if (strlen(s) != json_string_length(v))
		return fail(ps, "string contains a NUL character");
	*out = strdup(s);
	return *out ? 0 : sp_error_set(ps->err, ENOMEM, "out of memory");
}

static int read_uint(struct parser *ps, json_t *v, uint64_t max, uint64_t *out)
{
	json_int_t i;

	if (!json_is_integer(v))
		return fail(ps, "expected a non-negative integer, got %s",
		            type_name(v));
	i = json_integer_value(v);
	if (i < 0 && !ps->big_ints)
		return fail(ps, "expected a non-negative integer, got %" PRId64,
		            (int64_t)i);
	if ((uint64_t)i > max)
		return fail(ps,
		            "value %" PRIu64 " out of range (0..%" PRIu64 ")",
		            (uint64_t)i, max);
	*out = (uint64_t)i;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* An array of strings; empty strings are refused when !allow_empty. */
static int read_strv(struct parser *ps, json_t *v, bool allow_empty,
                     char ***out, size_t *n_out)
{
	char **strs;
	size_t i, n;
	json_t *e;
	int r = 0;

	if (!json_is_array(v))
		return fail(ps, "expected an array of strings, got %s",
		            type_name(v));
	n = json_array_size(v);
	strs = calloc(n ? n : 1, sizeof(*strs));
	if (strs == NULL)
		return sp_error_set(ps->err, ENOMEM, "out of memory");

	json_array_foreach(v, i, e)
	{
		size_t old = path_index(&ps->path, i);

		r = read_string(ps, e, &strs[i]);
		if (r == 0 && !allow_empty && strs[i][0] == '\0')
			r = fail(ps, "empty string");
		path_pop(&ps->path, old);
		if (r < 0)
			break;
	}
	if (r < 0) {
		strv_free(strs, n);
		return r;
	}
	*out = strs;
	*n_out = n;
	return 0;
}

/* Helpers that read an optional member under its own path step. */
static int opt_string(struct parser *ps, json_t *obj, const char *key,
                      char **out)
{
	json_t *v = member(obj, key);
	size_t old;
	int r;

	*out = NULL;
	if (v == NULL)
		return 0;
	old = path_key(&ps->path, key);
	r = read_string(ps, v, out);
	path_pop(&ps->path, old);
	return r;
}

static int opt_strv(struct parser *ps, json_t *obj, const char *key,
                    bool allow_empty, char ***out, size_t *n_out)
{
	json_t *v = member(obj, key);
	size_t old;
	int r;

	*out = NULL;
	*n_out = 0;
	if (v == NULL)
		return 0;
	old = path_key(&ps->path, key);
	r = read_strv(ps, v, allow_empty, out, n_out);
	path_pop(&ps->path, old);
	return r;
}

static int opt_uint(struct parser *ps, json_t *obj, const char *key,
                    uint64_t max, bool *has, uint64_t *out)
{
	json_t *v = member(obj, key);
	size_t old;
	int r;

	*out = 0;
	if (has != NULL)
		*has = false;
	if (v == NULL)
		return 0;
	old = path_key(&ps->path, key);
	r = read_uint(ps, v, max, out);
	path_pop(&ps->path, old);
	if (r == 0 && has != NULL)
		*has = true;
	return r;
}

static int lookup_action(struct parser *ps, const char *s,
                         enum profile_action *out)
{
	size_t i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (!strcmp(s, actions[i].name)) {
			*out = actions[i].act;
			return 0;
		}
	}
	return fail(ps, "unknown action '%s'", s);
}

static int opt_action(struct parser *ps, json_t *obj, const char *key,
                      enum profile_action *out)
{
	_cleanup_free_ char *s = NULL;
	size_t old;
	int r;

	*out = PROFILE_ACT_NONE;
	r = opt_string(ps, obj, key, &s);
	if (r < 0 || s == NULL)
		return r;
	/* Docker reads "" as no action at all. */
	if (s[0] == '\0')
		return 0;
	old = path_key(&ps->path, key);
	r = lookup_action(ps, s, out);
	path_pop(&ps->path, old);
	return r;
}

static int lookup_op(struct parser *ps, const char *s, enum scmp_compare *out)
{
	size_t i;

	for (i = 0; i < sizeof(operators) / sizeof(operators[0]); i++) {
		if (!strcmp(s, operators[i].name)) {
			*out = operators[i].op;
			return 0;
		}
	}
	return fail(ps, "unknown operator '%s'", s);
}

/* ---- structures ---- */

/*
 * A zeroed array for the elements of the JSON array arr, with their count
 * in *n; NULL with *r set when arr is not an array or memory ran out.
 */
static void *list_new(struct parser *ps, json_t *arr, size_t size, size_t *n,
                      int *r)
{
	void *v;

	*n = 0;
	*r = 0;
	if (!json_is_array(arr)) {
		*r = fail(ps, "expected an array, got %s", type_name(arr));
		return NULL;
	}
	v = calloc(json_array_size(arr) ? json_array_size(arr) : 1, size);
	if (v == NULL) {
		*r = sp_error_set(ps->err, ENOMEM, "out of memory");
		return NULL;
	}
	*n = json_array_size(arr);
	return v;
}

/* Parse element i of arr into base + i * size with fn, under its index in
 * the JSON path; stops at the first failure. */
static int list_parse(struct parser *ps, json_t *arr, void *base, size_t size,
                      int (*fn)(struct parser *, json_t *, void *))
{
	size_t i;
	json_t *e;

	json_array_foreach(arr, i, e)
	{
		size_t old = path_index(&ps->path, i);
		int r = fn(ps, e, (char *)base + i * size);

		path_pop(&ps->path, old);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_arg(struct parser *ps, json_t *obj, void *elem)
{
	static const char *const known[] = {"index", "value", "valueTwo", "op",
	                                    NULL};
	struct profile_arg *arg = elem;
	_cleanup_free_ char *op = NULL;
	uint64_t index = 0;
	size_t old;
	int r;

	if (!json_is_object(obj))
		return fail(ps, "expected an object, got %s", type_name(obj));
	r = check_keys(ps, obj, known);
	if (r == 0)
		r = opt_uint(ps, obj, "index", UINT64_MAX, NULL, &index);
	if (r == 0 && index >= ARG_MAX) {
		old = path_key(&ps->path, "index");
		r = fail(ps,
		         "argument index %" PRIu64
		         " out of range (syscalls have arguments 0..5)",
		         index);
		path_pop(&ps->path, old);
	}
	if (r == 0)
		r = opt_uint(ps, obj, "value", UINT64_MAX, NULL, &arg->value);
	if (r == 0)
		r = opt_uint(ps, obj, "valueTwo", UINT64_MAX, NULL,
		             &arg->value_two);
	if (r == 0)
		r = opt_string(ps, obj, "op", &op);
	if (r < 0)
		return r;
	arg->index = (unsigned int)index;

	old = path_key(&ps->path, "op");
	if (op == NULL || op[0] == '\0')
		r = fail(ps, "missing operator");
	else
		r = lookup_op(ps, op, &arg->op);
	path_pop(&ps->path, old);
	return r;
}

static int parse_args(struct parser *ps, json_t *arr,
                      struct profile_syscall *sc)
{
	int r;

	sc->args = list_new(ps, arr, sizeof(*sc->args), &sc->n_args, &r);
	return r ? r
	         : list_parse(ps, arr, sc->args, sizeof(*sc->args), parse_arg);
}

/*
 * "minKernel" as Docker reads it: exactly "<kernel>.<major>", both parts
 * decimal and below 256, not "0.0"; "" means absent.
 */
static int parse_kernel(struct parser *ps, const char *s, unsigned int *maj,
                        unsigned int *min)
{
	unsigned long a, b;
	const char *p = s;
	char *end;

	if (*p < '0' || *p > '9')
		goto bad;
	a = strtoul(p, &end, 10);
	if (*end != '.' || a > 255)
		goto bad;
	p = end + 1;
	if (*p < '0' || *p > '9')
		goto bad;
	b = strtoul(p, &end, 10);
	if (*end != '\0' || b > 255 || (a == 0 && b == 0))
		goto bad;
	*maj = (unsigned int)a;
	*min = (unsigned int)b;
	return 0;
bad:
	return fail(ps,
	            "invalid kernel version '%s', expected "
	            "\"<kernel>.<major>\" such as \"5.8\"",
	            s);
}

static int parse_cond(struct parser *ps, json_t *obj, struct profile_cond *c)
{
	static const char *const known[] = {"caps", "arches", "minKernel",
	                                    NULL};
	_cleanup_free_ char *kernel = NULL;
	int r;

	if (!json_is_object(obj))
		return fail(ps, "expected an object, got %s", type_name(obj));
	r = check_keys(ps, obj, known);
	if (r == 0)
		r = opt_strv(ps, obj, "caps", true, &c->caps, &c->n_caps);
	if (r == 0)
		r = opt_strv(ps, obj, "arches", true, &c->arches, &c->n_arches);
	if (r == 0)
		r = opt_string(ps, obj, "minKernel", &kernel);
	if (r == 0 && kernel != NULL && kernel[0] != '\0') {
		size_t old = path_key(&ps->path, "minKernel");

		r = parse_kernel(ps, kernel, &c->kernel_major,
		                 &c->kernel_minor);
		path_pop(&ps->path, old);
		c->has_min_kernel = r == 0;
	}
	return r;
}

static int opt_cond(struct parser *ps, json_t *obj, const char *key,
                    struct profile_cond *c)
{
	json_t *v = member(obj, key);
	size_t old;
	int r;

	if (v == NULL)
		return 0;
	old = path_key(&ps->path, key);
	r = parse_cond(ps, v, c);
	path_pop(&ps->path, old);
	return r;
}

static int syscall_names(struct parser *ps, json_t *obj,
                         struct profile_syscall *sc)
{
	_cleanup_free_ char *name = NULL;
	json_t *names = member(obj, "names");
	size_t old;
	int r;

	r = opt_string(ps, obj, "name", &name);
	if (r == 0)
		r = opt_strv(ps, obj, "names", false, &sc->names, &sc->n_names);
	if (r < 0)
		return r;

	if (name != NULL && names != NULL) {
		old = path_key(&ps->path, "name");
		r = fail(ps, "both 'name' and 'names' are set; use 'names'");
		path_pop(&ps->path, old);
		return r;
	}
	if (name != NULL) {
		old = path_key(&ps->path, "name");
		r = name[0] ? 0 : fail(ps, "empty syscall name");
		path_pop(&ps->path, old);
		if (r < 0)
			return r;
		sc->names = calloc(1, sizeof(*sc->names));
		if (sc->names == NULL)
			return sp_error_set(ps->err, ENOMEM, "out of memory");
		sc->names[0] = name;
		name = NULL;
		sc->n_names = 1;
		return warn(ps, "'name' is deprecated, use 'names'");
	}
	if (sc->n_names == 0)
		return fail(ps,
		            "no syscall names ('names' is missing or empty)");
	return 0;
}

static int parse_syscall(struct parser *ps, json_t *obj, void *elem)
{
	struct profile_syscall *sc = elem;
	static const char *const known[] = {
	        "names",    "name",     "action",   "args",  "comment",
	        "includes", "excludes", "errnoRet", "errno", NULL};
	_cleanup_free_ char *errno_name = NULL;
	uint64_t errno_ret = 0;
	size_t old;
	int r;

	if (!json_is_object(obj))
		return fail(ps, "expected an object, got %s", type_name(obj));
	r = check_keys(ps, obj, known);
	if (r == 0)
		r = syscall_names(ps, obj, sc);
	if (r == 0)
		r = opt_action(ps, obj, "action", &sc->action);
	if (r == 0 && sc->action == PROFILE_ACT_NONE) {
		old = path_key(&ps->path, "action");
		r = fail(ps, "missing action");
		path_pop(&ps->path, old);
	}
	if (r == 0)
		r = opt_uint(ps, obj, "errnoRet", RET_DATA_MAX,
		             &sc->has_errno_ret, &errno_ret);
	sc->errno_ret = (uint32_t)errno_ret;
	if (r == 0 && member(obj, "args") != NULL) {
		old = path_key(&ps->path, "args");
		r = parse_args(ps, member(obj, "args"), sc);
		path_pop(&ps->path, old);
	}
	if (r == 0)
		r = opt_cond(ps, obj, "includes", &sc->includes);
	if (r == 0)
		r = opt_cond(ps, obj, "excludes", &sc->excludes);
	/* "errno" documents errnoRet in containers' profiles; check it. */
	if (r == 0)
		r = opt_string(ps, obj, "errno", &errno_name);
	if (r == 0 && errno_name != NULL && sc->has_errno_ret) {
		const char *actual = strerrorname_np((int)sc->errno_ret);

		if (actual == NULL || strcmp(actual, errno_name) != 0) {
			old = path_key(&ps->path, "errno");
			r = warn(ps, "says %s but errnoRet is %u (%s)",
			         errno_name, sc->errno_ret,
			         actual ? actual : "unnamed");
			path_pop(&ps->path, old);
		}
	}
	return r;
}

static int parse_syscalls(struct parser *ps, json_t *arr)
{
	struct profile *p = ps->prof;
	int r;

	p->syscalls =
	        list_new(ps, arr, sizeof(*p->syscalls), &p->n_syscalls, &r);
	return r ? r
	         : list_parse(ps, arr, p->syscalls, sizeof(*p->syscalls),
	                      parse_syscall);
}

static int parse_arch_entry(struct parser *ps, json_t *obj, void *elem)
{
	struct profile_arch_entry *a = elem;
	static const char *const known[] = {"architecture", "subArchitectures",
	                                    NULL};
	int r;

	if (!json_is_object(obj))
		return fail(ps, "expected an object, got %s", type_name(obj));
	r = check_keys(ps, obj, known);
	if (r == 0)
		r = opt_string(ps, obj, "architecture", &a->arch);
	if (r == 0)
		r = opt_strv(ps, obj, "subArchitectures", false, &a->subs,
		             &a->n_subs);
	if (r == 0 && (a->arch == NULL || a->arch[0] == '\0')) {
		size_t old = path_key(&ps->path, "architecture");

		r = fail(ps, "missing architecture");
		path_pop(&ps->path, old);
	}
	return r;
}

static int parse_arch_map(struct parser *ps, json_t *arr)
{
	struct profile *p = ps->prof;
	int r;

	p->arch_map =
	        list_new(ps, arr, sizeof(*p->arch_map), &p->n_arch_map, &r);
	return r ? r
	         : list_parse(ps, arr, p->arch_map, sizeof(*p->arch_map),
	                      parse_arch_entry);
}

/* Read an optional array member with its own parser under its path. */
static int opt_array(struct parser *ps, json_t *obj, const char *key,
                     int (*fn)(struct parser *, json_t *))
{
	json_t *v = member(obj, key);
	size_t old;
	int r;

	if (v == NULL)
		return 0;
	old = path_key(&ps->path, key);
	r = fn(ps, v);
	path_pop(&ps->path, old);
	return r;
}

static int parse_top(struct parser *ps, json_t *root)
{
	static const char *const known[] = {"defaultAction",
	                                    "defaultErrnoRet",
	                                    "defaultErrno",
	                                    "architectures",
	                                    "archMap",
	                                    "syscalls",
	                                    "flags",
	                                    "listenerPath",
	                                    "listenerMetadata",
	                                    NULL};
	struct profile *p = ps->prof;
	_cleanup_free_ char *listener = NULL;
	uint64_t def_errno = 0;
	int r;

	if (!json_is_object(root))
		return fail(ps, "expected an object, got %s", type_name(root));
	r = check_keys(ps, root, known);
	if (r == 0)
		r = opt_action(ps, root, "defaultAction", &p->default_action);
	if (r == 0)
		r = opt_uint(ps, root, "defaultErrnoRet", RET_DATA_MAX,
		             &p->has_default_errno_ret, &def_errno);
	p->default_errno_ret = (uint32_t)def_errno;
	if (r == 0)
		r = opt_strv(ps, root, "architectures", false,
		             &p->architectures, &p->n_architectures);
	if (r == 0)
		r = opt_array(ps, root, "archMap", parse_arch_map);
	if (r == 0 && p->n_architectures && p->n_arch_map)
		r = fail(ps, "both 'architectures' and 'archMap' are set; "
		             "use one of them");
	if (r == 0)
		r = opt_array(ps, root, "syscalls", parse_syscalls);
	if (r == 0)
		r = opt_strv(ps, root, "flags", false, &p->flags, &p->n_flags);
	if (r == 0 && p->n_flags) {
		size_t old = path_key(&ps->path, "flags");

		r = warn(ps, "filter flags cannot travel in a raw BPF filter; "
		             "bwrap and other loaders of the .bpf ignore them");
		path_pop(&ps->path, old);
	}
	if (r == 0)
		r = opt_string(ps, root, "listenerPath", &listener);
	if (r == 0 && listener != NULL && listener[0] != '\0') {
		size_t old = path_key(&ps->path, "listenerPath");

		p->has_listener = true;
		r = warn(ps, "a notify agent cannot be attached to a raw BPF "
		             "filter");
		path_pop(&ps->path, old);
	}
	return r;
}

/* ---- integers above INT64_MAX ---- */

struct big_scan {
	size_t n_big; /* integer literals in (INT64_MAX, UINT64_MAX] */
	size_t n_negative;
	size_t first_negative; /* offset of the first negative literal */
};

/* Length of the number token at s (JSON number characters). */
static size_t number_len(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && (strchr("0123456789+-.eE", s[i]) != NULL && s[i]))
		i++;
	return i;
}

/* Parse a plain decimal integer literal above INT64_MAX into *v. */
static bool is_big_uint(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	if (n < 19 || n > 20 || s[0] == '0')
		return false;
	for (i = 0; i < n; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return false;
		x = x * 10 + d;
	}
	*v = x;
	return x > (uint64_t)INT64_MAX;
}

/*
 * One walk over the text outside strings, counting integer literals above
 * INT64_MAX and negative literals; with out != NULL it also writes the
 * text with each big literal replaced by its two's complement. Returns the
 * length written (or that would be written).
 */
static size_t scan_numbers(const char *text, size_t len, struct big_scan *scan,
                           char *out)
{
	bool in_str = false;
	size_t i = 0, o = 0;

	memset(scan, 0, sizeof(*scan));
	while (i < len) {
		char c = text[i];
		size_t n = 1;
		uint64_t v;

		if (in_str) {
			if (c == '\\' && i + 1 < len)
				n = 2;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '-' || (c >= '0' && c <= '9')) {
			n = number_len(text + i, len - i);
			if (is_big_uint(text + i, n, &v)) {
				char tmp[32];
				int w = snprintf(tmp, sizeof(tmp), "%" PRId64,
				                 (int64_t)v);

				scan->n_big++;
				if (out != NULL)
					memcpy(out + o, tmp, (size_t)w);
				o += (size_t)w;
				i += n;
				continue;
			}
			if (c == '-' && scan->n_negative++ == 0)
				scan->first_negative = i;
		}
		if (out != NULL)
			memcpy(out + o, text + i, n);
		o += n;
		i += n;
	}
	return o;
}

/*
 * jansson stores integers as int64, but seccomp argument values are
 * uint64 and profiles may write masks such as 18446744069414584320. When
 * such literals exist, return a copy of the text with each replaced by its
 * two's complement, which jansson can hold; NULL when no rewrite is needed
 * or on allocation failure (scan->n_big tells which).
 */
static char *rewrite_big_ints(const char *text, size_t len,
                              struct big_scan *scan, size_t *out_len)
{
	size_t n = scan_numbers(text, len, scan, NULL);
	char *out;

	if (scan->n_big == 0)
		return NULL;
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	*out_len = scan_numbers(text, len, scan, out);
	out[*out_len] = '\0';
	return out;
}

static void line_col(const char *text, size_t off, int *line, int *col)
{
	size_t i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else {
			(*col)++;
		}
	}
}

static int load_json(const char *text, size_t len, json_t **out, bool *big_ints,
                     struct sp_error **err)
{
	_cleanup_free_ char *copy = NULL;
	struct big_scan scan;
	json_error_t jerr;
	size_t copy_len = 0;

	copy = rewrite_big_ints(text, len, &scan, &copy_len);
	if (copy == NULL && scan.n_big > 0)
		return sp_error_set(err, ENOMEM, "out of memory");
	if (copy != NULL && scan.n_negative > 0) {
		int line, col;

		/* A negative literal would be read as one of the big ones. */
		line_col(text, scan.first_negative, &line, &col);
		return sp_error_set(err, EINVAL,
		                    "line %d column %d: negative number in a "
		                    "profile that also has integers above "
		                    "2^63; refusing the ambiguity",
		                    line, col);
	}
	*big_ints = copy != NULL;

	*out = json_loadb(copy ? copy : text, copy ? copy_len : len,
	                  JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL)
		return sp_error_set(err, EINVAL,
		                    "invalid JSON at line %d column %d: %s",
		                    jerr.line, jerr.column, jerr.text);
	return 0;
}

/* ---- entry points ---- */

int profile_parse(const void *json, size_t len, struct profile **out,
                  struct sp_error **err)
{
	_cleanup_profile_ struct profile *p = NULL;
	_cleanup_json_ json_t *root = NULL;
	struct parser ps = {.err = err};
	int r;

	r = load_json(json, len, &root, &ps.big_ints, err);
	if (r < 0)
		return r;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return sp_error_set(err, ENOMEM, "out of memory");
	ps.prof = p;
	r = parse_top(&ps, root);
	if (r < 0)
		return r;

	*out = p;
	p = NULL;
	return 0;
}

static void cond_free(struct profile_cond *c)
{
	strv_free(c->arches, c->n_arches);
	strv_free(c->caps, c->n_caps);
}

void profile_free(struct profile *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n_syscalls; i++) {
		struct profile_syscall *sc = &p->syscalls[i];

		strv_free(sc->names, sc->n_names);
		free(sc->args);
		cond_free(&sc->includes);
		cond_free(&sc->excludes);
	}
	free(p->syscalls);
	for (i = 0; i < p->n_arch_map; i++) {
		free(p->arch_map[i].arch);
		strv_free(p->arch_map[i].subs, p->arch_map[i].n_subs);
	}
	free(p->arch_map);
	strv_free(p->architectures, p->n_architectures);
	strv_free(p->flags, p->n_flags);
	profile_notes_clear(&p->warnings);
	free(p);
}

void profile_freep(struct profile **p)
{
	profile_free(*p);
	*p = NULL;
}

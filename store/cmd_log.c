/* secprof log: verify the chain of access logs and query their records. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cmd.h"
#include "log.h"
#include "record.h"

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: secprof log verify FILE...\n"
	        "       secprof log query [FILTER...] [--json] FILE...\n"
	        "\n"
	        "verify  check seq and the hash chain across the FILEs as one "
	        "log, oldest\n"
	        "        first (access.log.2 access.log.1 access.log); names "
	        "every record\n"
	        "        that was modified, deleted, inserted or reordered.\n"
	        "        Exit 0 intact, 1 broken, 2 unreadable.\n"
	        "query   print the records that match every FILTER as a table, "
	        "or with\n"
	        "        --json as the original lines. Exit 0 when a record "
	        "matched, 1 when\n"
	        "        none did, 2 on errors.\n"
	        "\n"
	        "filters:\n"
	        "  --event E       open, start, stop or refresh\n"
	        "  --env E         environment (prod)\n"
	        "  --service S     service (nginx, payments/api)\n"
	        "  --version V     version (1.4.2)\n"
	        "  --result R      ok, or an errno name (ENOENT, EIO)\n"
	        "  --container ID  container id, or a prefix of it\n"
	        "  --since T       records at or after T\n"
	        "  --until T       records at or before T\n"
	        "T is RFC 3339 (2026-12-03T08:40:32Z, 2026-12-03 08:40, "
	        "2026-12-03; UTC\n"
	        "unless it carries an offset) or an age: 90s, 15m, 2h, 7d.\n"
	        "FILE '-' is standard input.\n");
}

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool parse_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/* "[T| ]HH:MM[:SS[.frac]]" after a date; adds to *us. */
static bool parse_clock(const char **p, int64_t *us)
{
	int hh, mm, ss = 0;
	int64_t frac = 0, scale = 100000;

	if (!parse_digits(p, 2, &hh) || *(*p)++ != ':' ||
	    !parse_digits(p, 2, &mm) || hh > 23 || mm > 59)
		return false;
	if (**p == ':') {
		(*p)++;
		if (!parse_digits(p, 2, &ss) || ss > 60)
			return false;
		if (**p == '.') {
			(*p)++;
			if (!isdigit((unsigned char)**p))
				return false;
			for (; isdigit((unsigned char)**p); (*p)++) {
				frac += (**p - '0') * scale;
				scale /= 10;
			}
		}
	}
	*us += ((int64_t)hh * 3600 + mm * 60 + ss) * 1000000 + frac;
	return true;
}

/* "Z", "+HH:MM" or "-HH:MM"; subtracts the offset from *us. */
static bool parse_zone(const char **p, int64_t *us)
{
	int sign, hh, mm;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		return true;
	}
	if (**p != '+' && **p != '-')
		return **p == '\0';
	sign = *(*p)++ == '+' ? 1 : -1;
	if (!parse_digits(p, 2, &hh) || *(*p)++ != ':' ||
	    !parse_digits(p, 2, &mm))
		return false;
	*us -= sign * ((int64_t)hh * 3600 + mm * 60) * 1000000;
	return true;
}

/* An absolute RFC 3339 time (or a prefix of one) as µs since the epoch. */
static bool parse_rfc3339(const char *s, int64_t *us)
{
	int y, m, d;

	if (!parse_digits(&s, 4, &y) || *s++ != '-' ||
	    !parse_digits(&s, 2, &m) || *s++ != '-' ||
	    !parse_digits(&s, 2, &d) || m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	*us = days_from_civil(y, m, d) * 86400 * 1000000;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (!parse_clock(&s, us) || !parse_zone(&s, us))
			return false;
	}
	return *s == '\0';
}

/* An age such as 15m: now minus that. */
static bool parse_age(const char *s, int64_t *us)
{
	static const struct {
		char unit;
		int64_t secs;
	} units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
	struct timespec now;
	char *end;
	long long n;
	size_t i;

	if (!isdigit((unsigned char)*s))
		return false;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end[0] == '\0' || end[1] != '\0')
		return false;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (*end != units[i].unit)
			continue;
		if (n > INT64_MAX / 1000000 / units[i].secs)
			return false;
		clock_gettime(CLOCK_REALTIME, &now);
		*us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000 -
		      n * units[i].secs * 1000000;
		return true;
	}
	return false;
}

struct query {
	const char *event, *env, *service, *version, *result, *container;
	bool since_set, until_set;
	int64_t since, until;
	bool json;
	unsigned long matched;
	bool header_done;
};

static bool member_is(json_t *rec, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(rec, key));

	return want == NULL || (v != NULL && !strcmp(v, want));
}

static bool matches(const struct query *q, json_t *rec)
{
	const char *cid;
	int64_t t;

	if (!member_is(rec, "event", q->event) ||
	    !member_is(rec, "env", q->env) ||
	    !member_is(rec, "service", q->service) ||
	    !member_is(rec, "version", q->version) ||
	    !member_is(rec, "result", q->result))
		return false;
	if (q->container != NULL) {
		cid = json_string_value(json_object_get(rec, "container_id"));
		if (cid == NULL ||
		    strncmp(cid, q->container, strlen(q->container)))
			return false;
	}
	if (q->since_set || q->until_set) {
		const char *ts =
		        json_string_value(json_object_get(rec, "time"));

		if (ts == NULL || !parse_rfc3339(ts, &t))
			return false;
		if ((q->since_set && t < q->since) ||
		    (q->until_set && t > q->until))
			return false;
	}
	return true;
}

static const char *str_or(json_t *rec, const char *key, const char *dflt)
{
	const char *v = json_string_value(json_object_get(rec, key));

	return v != NULL && *v ? v : dflt;
}

/* What an open delivered: prod/nginx@1.4.2.json, else its path. */
static void open_subject(json_t *rec, char *out, size_t len)
{
	const char *env = str_or(rec, "env", NULL);
	const char *service = str_or(rec, "service", NULL);
	const char *version = str_or(rec, "version", NULL);
	const char *format = str_or(rec, "format", NULL);
	const char *error = str_or(rec, "error", NULL);
	size_t n;

	if (env != NULL && service != NULL && version != NULL)
		n = snprintf(out, len, "%s/%s@%s%s%s", env, service, version,
		             format ? "." : "", format ? format : "");
	else
		n = snprintf(out, len, "%s", str_or(rec, "path", "-"));
	if (error != NULL && n < len)
		snprintf(out + n, len - n, " (%s)", error);
}

/* Other events: their scalar members as key=value, arrays as a count. */
static void event_details(json_t *rec, char *out, size_t len)
{
	const char *key;
	json_t *v;
	size_t n = 0;

	out[0] = '\0';
	json_object_foreach(rec, key, v)
	{
		char val[256];

		if (record_key_reserved(key) || n >= len)
			continue;
		if (json_is_string(v))
			snprintf(val, sizeof(val), "%s", json_string_value(v));
		else if (json_is_integer(v))
			snprintf(val, sizeof(val), "%lld",
			         (long long)json_integer_value(v));
		else if (json_is_boolean(v))
			snprintf(val, sizeof(val), "%s",
			         json_is_true(v) ? "true" : "false");
		else if (json_is_array(v))
			snprintf(val, sizeof(val), "%zu", json_array_size(v));
		else
			continue;
		n += snprintf(out + n, len - n, "%s%s=%s", n ? " " : "", key,
		              val);
	}
}

static void print_row(struct query *q, json_t *rec)
{
	const char *event = str_or(rec, "event", "-");
	json_t *seq = json_object_get(rec, "seq");
	const char *cid = str_or(rec, "container_id", "-");
	char subject[2048], pid[24] = "-";

	if (!q->header_done) {
		printf("%-8s %-27s %-8s %-7s %7s %-15s %-12s %s\n", "SEQ",
		       "TIME", "EVENT", "RESULT", "PID", "COMM", "CONTAINER",
		       "PROFILE / DETAILS");
		q->header_done = true;
	}
	if (!strcmp(event, "open"))
		open_subject(rec, subject, sizeof(subject));
	else
		event_details(rec, subject, sizeof(subject));
	if (json_is_integer(json_object_get(rec, "pid")))
		snprintf(pid, sizeof(pid), "%lld",
		         (long long)json_integer_value(
		                 json_object_get(rec, "pid")));
	printf("%-8lld %-27s %-8s %-7s %7s %-15.15s %-12.12s %s\n",
	       (long long)json_integer_value(seq), str_or(rec, "time", "-"),
	       event, str_or(rec, "result", "-"), pid, str_or(rec, "comm", "-"),
	       cid, subject);
}

static int query_file(struct query *q, const char *file)
{
	FILE *fp = strcmp(file, "-") ? fopen(file, "re") : stdin;
	unsigned long line = 0, skipped = 0;
	char *buf = NULL;
	size_t cap = 0;
	ssize_t n;
	int r = 0;

	if (fp == NULL) {
		sp_log(LOG_ERR, "open '%s': %s", file, strerror(errno));
		return -1;
	}
	while ((n = getline(&buf, &cap, fp)) >= 0) {
		json_t *rec;

		line++;
		if (n > 0 && buf[n - 1] == '\n')
			buf[--n] = '\0';
		rec = json_loadb(buf, n, 0, NULL);
		if (!json_is_object(rec)) {
			if (skipped++ == 0)
				sp_log(LOG_WARNING,
				       "%s:%lu: not a record, skipped (see "
				       "'secprof log verify')",
				       file, line);
		} else if (matches(q, rec)) {
			q->matched++;
			if (q->json)
				printf("%s\n", buf);
			else
				print_row(q, rec);
		}
		json_decref(rec);
	}
	if (ferror(fp)) {
		sp_log(LOG_ERR, "read '%s': %s", file, strerror(errno));
		r = -1;
	}
	if (skipped > 1)
		sp_log(LOG_WARNING, "%s: %lu lines were not records", file,
		       skipped);
	free(buf);
	if (fp != stdin)
		fclose(fp);
	return r;
}

static bool parse_when(const char *opt, const char *s, int64_t *us)
{
	if (parse_age(s, us) || parse_rfc3339(s, us))
		return true;
	fprintf(stderr,
	        "secprof log query: %s '%s': not a time (RFC 3339 such as "
	        "2026-12-03T08:40:32Z, or an age such as 15m)\n",
	        opt, s);
	return false;
}

static int cmd_query(int argc, char **argv)
{
	enum {
		O_EVENT = 256,
		O_ENV,
		O_SERVICE,
		O_VERSION,
		O_RESULT,
		O_CONTAINER,
		O_SINCE,
		O_UNTIL,
		O_JSON,
		O_HELP
	};
	static const struct option opts[] = {
	        {"event", required_argument, NULL, O_EVENT},
	        {"env", required_argument, NULL, O_ENV},
	        {"service", required_argument, NULL, O_SERVICE},
	        {"version", required_argument, NULL, O_VERSION},
	        {"result", required_argument, NULL, O_RESULT},
	        {"container", required_argument, NULL, O_CONTAINER},
	        {"since", required_argument, NULL, O_SINCE},
	        {"until", required_argument, NULL, O_UNTIL},
	        {"json", no_argument, NULL, O_JSON},
	        {"help", no_argument, NULL, O_HELP},
	        {NULL, 0, NULL, 0},
	};
	struct query q = {0};
	int c, i, failed = 0;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_EVENT:
			q.event = optarg;
			break;
		case O_ENV:
			q.env = optarg;
			break;
		case O_SERVICE:
			q.service = optarg;
			break;
		case O_VERSION:
			q.version = optarg;
			break;
		case O_RESULT:
			q.result = optarg;
			break;
		case O_CONTAINER:
			q.container = optarg;
			break;
		case O_SINCE:
			if (!parse_when("--since", optarg, &q.since))
				return 2;
			q.since_set = true;
			break;
		case O_UNTIL:
			if (!parse_when("--until", optarg, &q.until))
				return 2;
			q.until_set = true;
			break;
		case O_JSON:
			q.json = true;
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			fprintf(stderr,
			        "secprof log query: unknown or incomplete "
			        "option '%s' (see secprof log --help)\n",
			        argv[optind - 1]);
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "secprof log query: no FILE given (see "
		                "secprof log --help)\n");
		return 2;
	}
	for (i = optind; i < argc; i++)
		if (query_file(&q, argv[i]) < 0)
			failed = 1;
	if (failed)
		return 2;
	return q.matched ? 0 : 1;
}

static int cmd_verify(int argc, char **argv)
{
	_cleanup_error_ struct sp_error *err = NULL;
	int r;

	if (argc >= 2 &&
	    (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc < 2) {
		fprintf(stderr, "secprof log verify: no FILE given (see "
		                "secprof log --help)\n");
		return 2;
	}
	if (!strcmp(argv[1], "--")) {
		argc--;
		argv++;
	} else if (argv[1][0] == '-' && argv[1][1] != '\0') {
		fprintf(stderr, "secprof log verify: unknown option '%s'\n",
		        argv[1]);
		return 2;
	}
	if (argc < 2) {
		fprintf(stderr, "secprof log verify: no FILE given\n");
		return 2;
	}
	r = record_verify((const char *const *)argv + 1, argc - 1, stdout,
	                  &err);
	if (r < 0) {
		fprintf(stderr, "secprof log verify: %s\n",
		        err != NULL ? err->msg : strerror(-r));
		return 2;
	}
	return r;
}

int cmd_log(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "verify"))
		return cmd_verify(argc - 1, argv + 1);
	if (!strcmp(argv[1], "query"))
		return cmd_query(argc - 1, argv + 1);
	fprintf(stderr,
	        "secprof log: unknown subcommand '%s' (verify or query)\n",
	        argv[1]);
	return 2;
}

/* secprof access-log verification: seq and hash chain across files. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "record.h"

/*
 * The log is read as a stream (it may be gigabytes), with a lookahead of
 * two lines. That is enough to tell the common tampering patterns apart:
 * a modified record breaks exactly one link while seq stays intact, a
 * deleted one leaves a seq gap, an adjacent swap is a gap followed by the
 * missing seq, an insertion is a seq that belongs elsewhere. Gaps and
 * out-of-place records are remembered (bounded) so that a record moved
 * further away is reported as reordered rather than as deleted plus
 * inserted. Problems are collected and printed in log order at the end.
 */

#define LOOKAHEAD 3
#define MAX_PENDING 256 /* gaps, displaced records, unreadable lines */
#define MAX_PROBLEMS 10000

struct item {
	struct record_info rec;
	size_t file;
	unsigned long line;
	unsigned long long order; /* position in the whole input */
	bool valid;
	bool torn; /* last line of its file, without a newline */
	char why[160];
};

struct gap {
	uint64_t lo, hi;   /* missing seqs */
	uint64_t found;    /* how many of them turned up elsewhere */
	struct item after; /* first record after the gap */
	uint64_t before;   /* seq before the gap */
	bool new_file;     /* the gap falls between two files */
};

struct problem {
	unsigned long long order;
	size_t n; /* insertion number, to keep the sort stable */
	char *text;
};

struct verifier {
	const char *const *files;
	size_t nfiles;
	FILE **fps;
	size_t cur;
	unsigned long line;
	unsigned long long order;
	char *buf;
	size_t cap;

	struct item ahead[LOOKAHEAD];
	size_t nahead;
	int read_err;

	struct item g; /* last record accepted into the chain */
	bool have_g;
	bool skip_hash; /* g was reported modified: its hash cannot match */
	uint64_t first_seq;
	bool continued;
	unsigned long records;

	struct item holes[MAX_PENDING];
	size_t nholes;
	struct gap gaps[MAX_PENDING];
	size_t ngaps;
	struct item displaced[MAX_PENDING];
	size_t ndisplaced;

	struct problem *problems;
	size_t nproblems, dropped;
};

static const char *file_of(const struct verifier *v, const struct item *it)
{
	return v->files[it->file];
}

static void problem(struct verifier *v, const struct item *at, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));

static void problem(struct verifier *v, const struct item *at, const char *fmt,
                    ...)
{
	struct problem *p;
	char *msg = NULL, *text = NULL;
	va_list ap;

	if (v->nproblems >= MAX_PROBLEMS) {
		v->dropped++;
		return;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL ||
	    asprintf(&text, "%s:%lu: %s", file_of(v, at), at->line, msg) < 0)
		text = NULL;
	free(msg);
	p = reallocarray(v->problems, v->nproblems + 1, sizeof(*p));
	if (text == NULL || p == NULL) {
		free(text);
		v->dropped++;
		return;
	}
	v->problems = p;
	p[v->nproblems] = (struct problem){at->order, v->nproblems, text};
	v->nproblems++;
}

/* "FILE:LINE" of a record, for messages that point at a second place. */
static const char *loc(const struct verifier *v, const struct item *it,
                       char *out, size_t len)
{
	snprintf(out, len, "%s:%lu", file_of(v, it), it->line);
	return out;
}

/* Read the next line of the input into *it; 0 at the end, 1 for a line. */
static int read_item(struct verifier *v, struct item *it)
{
	ssize_t n;

	for (;;) {
		if (v->cur >= v->nfiles)
			return 0;
		n = getline(&v->buf, &v->cap, v->fps[v->cur]);
		if (n >= 0)
			break;
		if (ferror(v->fps[v->cur])) {
			v->read_err = errno ? errno : EIO;
			return 0;
		}
		v->cur++;
		v->line = 0;
	}

	memset(it, 0, sizeof(*it));
	it->file = v->cur;
	it->line = ++v->line;
	it->order = v->order++;
	if (n > 0 && v->buf[n - 1] == '\n')
		n--;
	else
		it->torn = true;
	it->valid = record_parse(v->buf, n, &it->rec, it->why,
	                         sizeof(it->why)) == 0;
	return 1;
}

/* The k-th line ahead (0 = current), or NULL past the end. */
static struct item *peek(struct verifier *v, size_t k)
{
	while (v->nahead <= k) {
		if (!read_item(v, &v->ahead[v->nahead]))
			return NULL;
		v->nahead++;
	}
	return &v->ahead[k];
}

/* As peek, but only a parsed record counts. */
static struct item *peek_record(struct verifier *v, size_t k)
{
	struct item *it = peek(v, k);

	return it != NULL && it->valid ? it : NULL;
}

static void pop(struct verifier *v)
{
	memmove(&v->ahead[0], &v->ahead[1],
	        (v->nahead - 1) * sizeof(v->ahead[0]));
	v->nahead--;
}

static void displaced_check(struct verifier *v, const struct item *r)
{
	char where[512];
	size_t i;

	for (i = 0; i < v->ndisplaced; i++) {
		struct item *d = &v->displaced[i];

		if (d->rec.seq != r->rec.seq)
			continue;
		problem(v, d,
		        "seq %llu does not belong here: the record with this "
		        "seq is in place at %s (record inserted)",
		        (unsigned long long)d->rec.seq,
		        loc(v, r, where, sizeof(where)));
		v->displaced[i] = v->displaced[--v->ndisplaced];
		return;
	}
}

static void accept(struct verifier *v, const struct item *r)
{
	v->g = *r;
	v->have_g = true;
	v->skip_hash = false;
	if (v->ndisplaced)
		displaced_check(v, r);
}

static void first_record(struct verifier *v, const struct item *r)
{
	bool zero = !strcmp(r->rec.prev, record_zero_hash);

	v->first_seq = r->rec.seq;
	if (zero && r->rec.seq != 1)
		problem(v, r,
		        "seq %llu: prev is zero, which only the first record "
		        "(seq 1) of a log may have (record modified)",
		        (unsigned long long)r->rec.seq);
	else if (!zero && r->rec.seq == 1)
		problem(v, r,
		        "seq 1: the first record of a log must have a zero "
		        "prev (record modified)");
	else if (!zero)
		v->continued = true;
	accept(v, r);
}

static void flush_gap(struct verifier *v, const struct gap *gp)
{
	uint64_t size = gp->hi - gp->lo + 1;
	char missing[64];

	if (gp->found >= size)
		return; /* every missing record was reported as reordered */
	if (size == 1)
		snprintf(missing, sizeof(missing), "record seq %llu",
		         (unsigned long long)gp->lo);
	else
		snprintf(missing, sizeof(missing), "records seq %llu..%llu",
		         (unsigned long long)gp->lo,
		         (unsigned long long)gp->hi);
	if (gp->found)
		problem(v, &gp->after,
		        "seq jumps from %llu to %llu (%llu of the %s found "
		        "out of order, the others deleted)",
		        (unsigned long long)gp->before,
		        (unsigned long long)gp->after.rec.seq,
		        (unsigned long long)gp->found, missing);
	else
		problem(v, &gp->after,
		        "seq jumps from %llu to %llu (%s deleted%s)",
		        (unsigned long long)gp->before,
		        (unsigned long long)gp->after.rec.seq, missing,
		        gp->new_file ? "; is a rotated file missing?" : "");
}

static void add_gap(struct verifier *v, const struct item *r)
{
	struct gap *gp;
	char where[512];
	size_t i;

	if (v->ngaps == MAX_PENDING) {
		flush_gap(v, &v->gaps[0]);
		memmove(&v->gaps[0], &v->gaps[1],
		        (MAX_PENDING - 1) * sizeof(v->gaps[0]));
		v->ngaps--;
	}
	gp = &v->gaps[v->ngaps++];
	*gp = (struct gap){.lo = v->g.rec.seq + 1,
	                   .hi = r->rec.seq - 1,
	                   .after = *r,
	                   .before = v->g.rec.seq,
	                   .new_file = r->file != v->g.file && r->line == 1};

	/* Records of this gap that were seen earlier, out of place. */
	for (i = 0; i < v->ndisplaced;) {
		struct item *d = &v->displaced[i];

		if (d->rec.seq < gp->lo || d->rec.seq > gp->hi) {
			i++;
			continue;
		}
		gp->found++;
		problem(v, d,
		        "seq %llu is out of order: its place is between seq "
		        "%llu and seq %llu at %s (records reordered)",
		        (unsigned long long)d->rec.seq,
		        (unsigned long long)gp->before,
		        (unsigned long long)r->rec.seq,
		        loc(v, r, where, sizeof(where)));
		*d = v->displaced[--v->ndisplaced];
	}
}

static void add_displaced(struct verifier *v, const struct item *r)
{
	if (v->ndisplaced == MAX_PENDING) {
		problem(v, r,
		        "seq %llu after seq %llu (record inserted or "
		        "reordered)",
		        (unsigned long long)r->rec.seq,
		        (unsigned long long)v->g.rec.seq);
		return;
	}
	v->displaced[v->ndisplaced++] = *r;
}

/*
 * Lines that are not records: decided once the next record r shows whether
 * they took the place of records (modified) or came in addition (inserted).
 * Returns the seq the first of them had when they replaced records, else 0.
 */
static uint64_t resolve_holes(struct verifier *v, const struct item *r)
{
	uint64_t expect = v->have_g ? v->g.rec.seq + 1 : 0;
	bool replaced, inserted;
	size_t i;

	/* At the very start, a record that links back marks them replaced. */
	if (!v->have_g && r != NULL && r->rec.seq > v->nholes &&
	    strcmp(r->rec.prev, record_zero_hash))
		expect = r->rec.seq - v->nholes;
	replaced = expect && r != NULL && r->rec.seq == expect + v->nholes;
	inserted = v->have_g && r != NULL && r->rec.seq == expect;

	for (i = 0; i < v->nholes; i++) {
		struct item *h = &v->holes[i];

		if (h->torn)
			problem(v, h,
			        "incomplete last line: %s (a write was cut "
			        "short)",
			        h->why);
		else if (replaced)
			problem(v, h,
			        "record seq %llu is damaged: %s (record "
			        "modified)",
			        (unsigned long long)(expect + i), h->why);
		else
			problem(v, h, "not a record: %s (%s)", h->why,
			        inserted ? "line inserted"
			                 : "line inserted or modified");
	}
	v->nholes = 0;
	return replaced ? expect : 0;
}

static void on_hash_break(struct verifier *v, const struct item *r)
{
	struct item *n = peek_record(v, 1);
	uint64_t seq = r->rec.seq;
	char where[512];

	if (n != NULL && n->rec.seq == seq + 1 &&
	    !strcmp(n->rec.prev, r->rec.hash)) {
		/* r fits its successor, so its predecessor changed. */
		problem(v, &v->g,
		        "record seq %llu was modified (its hash does not "
		        "match the prev of seq %llu at %s)",
		        (unsigned long long)v->g.rec.seq,
		        (unsigned long long)seq,
		        loc(v, r, where, sizeof(where)));
		accept(v, r);
	} else if (n != NULL && n->rec.seq == seq &&
	           !strcmp(n->rec.prev, v->g.rec.hash)) {
		problem(v, r,
		        "seq %llu does not belong here: the record at %s has "
		        "the same seq and continues the chain (record "
		        "inserted)",
		        (unsigned long long)seq,
		        loc(v, n, where, sizeof(where)));
	} else if (n != NULL && n->rec.seq == seq + 1) {
		problem(v, r,
		        "record seq %llu was modified (it links to neither "
		        "neighbour)",
		        (unsigned long long)seq);
		accept(v, r);
		v->skip_hash = true;
	} else {
		problem(v, r,
		        "seq %llu: prev does not match record seq %llu "
		        "(record edited or removed)",
		        (unsigned long long)seq,
		        (unsigned long long)v->g.rec.seq);
		accept(v, r);
	}
}

static void on_gap(struct verifier *v, const struct item *r)
{
	struct item *n = peek_record(v, 1), *nn = peek_record(v, 2);
	uint64_t expect = v->g.rec.seq + 1;
	char where[512];
	bool swapped;

	/* E+1, E, E+1: the first one is an extra copy, not a swap. */
	swapped = n != NULL && n->rec.seq == expect &&
	          r->rec.seq == expect + 1 &&
	          (nn == NULL || nn->rec.seq != r->rec.seq);
	if (swapped) {
		problem(v, n,
		        "seq %llu after seq %llu (records reordered: this "
		        "line and %s are swapped)",
		        (unsigned long long)expect,
		        (unsigned long long)r->rec.seq,
		        loc(v, r, where, sizeof(where)));
		v->records++;
		accept(v, n);
		accept(v, r);
		pop(v); /* n; the caller pops r */
		return;
	}
	if (n != NULL && n->rec.seq == expect) {
		add_displaced(v, r); /* decided when its place is reached */
		return;
	}
	if (!strcmp(r->rec.prev, v->g.rec.hash)) {
		problem(v, r,
		        "seq jumps from %llu to %llu although prev matches "
		        "seq %llu (seq numbering broken)",
		        (unsigned long long)v->g.rec.seq,
		        (unsigned long long)r->rec.seq,
		        (unsigned long long)v->g.rec.seq);
		accept(v, r);
		return;
	}
	add_gap(v, r);
	accept(v, r);
}

static struct gap *gap_holding(struct verifier *v, uint64_t seq)
{
	size_t i;

	for (i = 0; i < v->ngaps; i++)
		if (seq >= v->gaps[i].lo && seq <= v->gaps[i].hi)
			return &v->gaps[i];
	return NULL;
}

static void on_backward(struct verifier *v, const struct item *r)
{
	struct item *n = peek_record(v, 1);
	uint64_t seq = r->rec.seq, last = v->g.rec.seq;
	struct gap *gp = gap_holding(v, seq);
	char where[512];

	if (seq == last && n != NULL && n->rec.seq == last + 1 &&
	    !strcmp(n->rec.prev, r->rec.hash) &&
	    strcmp(n->rec.prev, v->g.rec.hash)) {
		/* The successor links to r: the earlier one was the extra. */
		problem(v, &v->g,
		        "seq %llu does not belong here: the record at %s has "
		        "the same seq and continues the chain (record "
		        "inserted)",
		        (unsigned long long)seq,
		        loc(v, r, where, sizeof(where)));
		accept(v, r);
	} else if (gp != NULL) {
		gp->found++;
		problem(v, r,
		        "seq %llu after seq %llu (records reordered: its "
		        "place is before seq %llu at %s)",
		        (unsigned long long)seq, (unsigned long long)last,
		        (unsigned long long)gp->after.rec.seq,
		        loc(v, &gp->after, where, sizeof(where)));
	} else if (seq == 1 && !strcmp(r->rec.prev, record_zero_hash)) {
		problem(v, r,
		        "seq 1 after seq %llu: a new log starts here (%s)",
		        (unsigned long long)last,
		        r->file != v->g.file && r->line == 1
		                ? "files given out of order, or the log was "
		                  "started afresh"
		                : "the chain was restarted");
		accept(v, r);
	} else if (r->file != v->g.file && r->line == 1) {
		problem(v, r,
		        "seq %llu after seq %llu (files given out of order?)",
		        (unsigned long long)seq, (unsigned long long)last);
	} else {
		problem(v, r,
		        "seq %llu after seq %llu: a record with this seq is "
		        "already in the chain (record inserted)",
		        (unsigned long long)seq, (unsigned long long)last);
	}
}

/* A record whose seq field was changed still links to its predecessor. */
static bool seq_edited(struct verifier *v, struct item *r)
{
	struct item *n = peek_record(v, 1);
	uint64_t expect = v->g.rec.seq + 1;

	if (r->rec.seq == expect || strcmp(r->rec.prev, v->g.rec.hash) ||
	    (n != NULL && n->rec.seq != expect + 1))
		return false;
	problem(v, r,
	        "seq %llu where %llu was expected (record seq %llu "
	        "modified)",
	        (unsigned long long)r->rec.seq, (unsigned long long)expect,
	        (unsigned long long)expect);
	r->rec.seq = expect;
	accept(v, r);
	v->skip_hash = true;
	return true;
}

static void step(struct verifier *v, struct item *r)
{
	uint64_t expect, replaced;

	v->records++;
	if (r->torn)
		problem(v, r,
		        "seq %llu: no newline at the end (incomplete "
		        "write)",
		        (unsigned long long)r->rec.seq);
	replaced = v->nholes ? resolve_holes(v, r) : 0;
	if (replaced) {
		if (!v->have_g) {
			v->first_seq = replaced;
			v->continued = replaced > 1;
		}
		accept(v, r);
		return;
	}
	if (!v->have_g) {
		first_record(v, r);
		return;
	}

	expect = v->g.rec.seq + 1;
	if (r->rec.seq == expect &&
	    (v->skip_hash || !strcmp(r->rec.prev, v->g.rec.hash))) {
		accept(v, r);
		return;
	}
	if (seq_edited(v, r))
		return;
	if (r->rec.seq == expect)
		on_hash_break(v, r);
	else if (r->rec.seq > expect)
		on_gap(v, r);
	else
		on_backward(v, r);
}

static void add_hole(struct verifier *v, const struct item *it)
{
	if (v->nholes == MAX_PENDING) {
		problem(v, it, "not a record: %s", it->why);
		return;
	}
	v->holes[v->nholes++] = *it;
}

static void finish(struct verifier *v)
{
	size_t i;

	resolve_holes(v, NULL);
	for (i = 0; i < v->ngaps; i++)
		flush_gap(v, &v->gaps[i]);
	for (i = 0; i < v->ndisplaced; i++)
		problem(v, &v->displaced[i],
		        "seq %llu does not fit the chain (record inserted)",
		        (unsigned long long)v->displaced[i].rec.seq);
}

static int problem_cmp(const void *a, const void *b)
{
	const struct problem *x = a, *y = b;

	if (x->order != y->order)
		return x->order < y->order ? -1 : 1;
	return x->n < y->n ? -1 : x->n > y->n;
}

static void report(struct verifier *v, FILE *out)
{
	char start[96] = "";
	size_t i;

	if (v->nproblems)
		qsort(v->problems, v->nproblems, sizeof(v->problems[0]),
		      problem_cmp);
	for (i = 0; i < v->nproblems; i++)
		fprintf(out, "%s\n", v->problems[i].text);
	if (v->dropped)
		fprintf(out, "... and %zu more problems\n", v->dropped);

	if (v->nproblems || v->dropped) {
		fprintf(out,
		        "broken: %zu problem%s in %lu records, %zu file%s\n",
		        v->nproblems + v->dropped,
		        v->nproblems + v->dropped == 1 ? "" : "s", v->records,
		        v->nfiles, v->nfiles == 1 ? "" : "s");
		return;
	}
	if (!v->have_g) {
		fprintf(out, "intact: 0 records, %zu file%s\n", v->nfiles,
		        v->nfiles == 1 ? "" : "s");
		return;
	}
	if (v->continued)
		snprintf(start, sizeof(start),
		         "; chain starts at seq %llu; earlier files not given",
		         (unsigned long long)v->first_seq);
	fprintf(out,
	        "intact: %lu records, %zu file%s, seq %llu..%llu, last "
	        "hash %s%s\n",
	        v->records, v->nfiles, v->nfiles == 1 ? "" : "s",
	        (unsigned long long)v->first_seq,
	        (unsigned long long)v->g.rec.seq, v->g.rec.hash, start);
}

static int open_all(struct verifier *v, struct sp_error **err)
{
	size_t i;

	v->fps = calloc(v->nfiles ? v->nfiles : 1, sizeof(v->fps[0]));
	if (v->fps == NULL)
		return sp_error_errno(err, ENOMEM, "verify access log");
	for (i = 0; i < v->nfiles; i++) {
		if (!strcmp(v->files[i], "-"))
			v->fps[i] = stdin;
		else
			v->fps[i] = fopen(v->files[i], "re");
		if (v->fps[i] == NULL)
			return sp_error_errno(err, errno, "open '%s'",
			                      v->files[i]);
	}
	return 0;
}

static void release(struct verifier *v)
{
	size_t i;

	for (i = 0; v->fps != NULL && i < v->nfiles; i++)
		if (v->fps[i] != NULL && v->fps[i] != stdin)
			fclose(v->fps[i]);
	for (i = 0; i < v->nproblems; i++)
		free(v->problems[i].text);
	free(v->problems);
	free(v->fps);
	free(v->buf);
	free(v);
}

int record_verify(const char *const *files, size_t n, FILE *out,
                  struct sp_error **err)
{
	struct verifier *v = calloc(1, sizeof(*v));
	struct item *it;
	int r;

	if (v == NULL)
		return sp_error_errno(err, ENOMEM, "verify access log");
	v->files = files;
	v->nfiles = n;
	r = open_all(v, err);

	while (r == 0 && (it = peek(v, 0)) != NULL) {
		struct item cur = *it;

		if (cur.valid)
			step(v, &cur);
		else
			add_hole(v, &cur);
		pop(v);
	}
	if (r == 0 && v->read_err)
		r = sp_error_errno(err, v->read_err, "read '%s'",
		                   files[v->cur]);
	if (r == 0) {
		finish(v);
		report(v, out);
		r = v->nproblems || v->dropped ? 1 : 0;
	}
	release(v);
	return r;
}

/* Benchmark latency samples: collection per thread and the summary line. */
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t stats_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void stats_add(struct stats_samples *s, uint64_t ns)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint64_t *p = realloc(s->ns, cap * sizeof(*p));

		if (p == NULL) {
			fprintf(stderr, "out of memory for samples\n");
			exit(1);
		}
		s->ns = p;
		s->cap = cap;
	}
	s->ns[s->n++] = ns;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void stats_report(const char *what, struct stats_samples *per_thread, size_t n,
                  uint64_t elapsed_ns)
{
	size_t total = 0, k = 0, i;
	uint64_t *all;
	double sum = 0, secs = elapsed_ns / 1e9;

	for (i = 0; i < n; i++)
		total += per_thread[i].n;
	all = malloc((total ? total : 1) * sizeof(*all));
	if (all == NULL) {
		fprintf(stderr, "out of memory for samples\n");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		memcpy(all + k, per_thread[i].ns,
		       per_thread[i].n * sizeof(*all));
		k += per_thread[i].n;
		free(per_thread[i].ns);
		per_thread[i] = (struct stats_samples){0};
	}
	qsort(all, total, sizeof(*all), cmp_u64);
	for (i = 0; i < total; i++)
		sum += all[i];

	printf("%s threads=%zu ops=%zu seconds=%.3f ops_per_s=%.0f "
	       "mean_us=%.2f p50_us=%.2f p99_us=%.2f\n",
	       what, n, total, secs, total / secs,
	       total ? sum / total / 1e3 : 0.0,
	       total ? all[total / 2] / 1e3 : 0.0,
	       total ? all[total * 99 / 100] / 1e3 : 0.0);
	free(all);
}

/* Benchmark latency samples: collection per thread and the summary line. */
#ifndef SECPROF_BENCH_STATS_H
#define SECPROF_BENCH_STATS_H

#include <stddef.h>
#include <stdint.h>

/* Latencies of one thread, in nanoseconds, in a growing array. */
struct stats_samples {
	uint64_t *ns;
	size_t n;
	size_t cap;
};

/* Monotonic clock in nanoseconds. */
uint64_t stats_now_ns(void);

/* Append one latency; exits the program when memory runs out. */
void stats_add(struct stats_samples *s, uint64_t ns);

/*
 * Merge the samples of n threads (freeing their arrays) and print one line
 * to stdout: "<what> threads=N ops=N seconds=S ops_per_s=R mean_us=M
 * p50_us=P p99_us=Q". elapsed_ns is the wall time of the whole run.
 */
void stats_report(const char *what, struct stats_samples *per_thread, size_t n,
                  uint64_t elapsed_ns);

#endif

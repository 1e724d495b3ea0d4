/* Benchmark client: threads doing open + read + close of one file. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

struct run {
	const char *path;
	uint64_t deadline_ns;
	long size; /* bytes every read-through must return, -1 unchecked */
	pthread_barrier_t start;
};

struct worker {
	pthread_t tid;
	struct run *run;
	struct stats_samples lat;
	int err; /* errno of the first failure, 0 if none */
};

/* One open, read to EOF and close; returns bytes read or -errno. */
static long read_through(const char *path, char *buf, size_t len)
{
	long total = 0;
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, len)) > 0)
		total += n;
	if (n < 0)
		total = -errno;
	if (close(fd) < 0 && total >= 0)
		total = -errno;
	return total;
}

static void *work(void *arg)
{
	struct worker *w = arg;
	char buf[65536];

	pthread_barrier_wait(&w->run->start);
	while (stats_now_ns() < w->run->deadline_ns) {
		uint64_t t0 = stats_now_ns();
		long got = read_through(w->run->path, buf, sizeof(buf));

		if (got < 0) {
			w->err = (int)-got;
			break;
		}
		if (w->run->size >= 0 && got != w->run->size) {
			w->err = EBADMSG;
			break;
		}
		stats_add(&w->lat, stats_now_ns() - t0);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: clients [-l LABEL] [-t THREADS] [-d SECONDS] "
	                "[-s SIZE] FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct run run = {.size = -1};
	const char *label = "clients";
	struct worker *w;
	struct stats_samples *lat;
	double seconds = 2.0;
	long threads = 1, i;
	uint64_t t0;
	int opt, failed = 0;

	while ((opt = getopt(argc, argv, "l:t:d:s:")) != -1) {
		switch (opt) {
		case 'l':
			label = optarg;
			break;
		case 't':
			threads = strtol(optarg, NULL, 10);
			break;
		case 'd':
			seconds = strtod(optarg, NULL);
			break;
		case 's':
			run.size = strtol(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || threads < 1 || threads > 1024 || seconds <= 0)
		usage();
	run.path = argv[optind];

	w = calloc(threads, sizeof(*w));
	lat = calloc(threads, sizeof(*lat));
	if (w == NULL || lat == NULL)
		return 1;
	pthread_barrier_init(&run.start, NULL, threads + 1);
	for (i = 0; i < threads; i++) {
		w[i].run = &run;
		if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0) {
			fprintf(stderr, "clients: cannot start thread\n");
			return 1;
		}
	}
	t0 = stats_now_ns();
	run.deadline_ns = t0 + (uint64_t)(seconds * 1e9);
	pthread_barrier_wait(&run.start);
	for (i = 0; i < threads; i++) {
		pthread_join(w[i].tid, NULL);
		if (w[i].err && !failed++)
			fprintf(stderr, "clients: '%s': %s\n", run.path,
			        w[i].err == EBADMSG ? "short or long read"
			                            : strerror(w[i].err));
		lat[i] = w[i].lat;
	}
	stats_report(label, lat, threads, stats_now_ns() - t0);
	free(lat);
	free(w);
	return failed ? 1 : 0;
}

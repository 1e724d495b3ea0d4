/*
 * Benchmark baseline: writers appending 300-byte records to one file, each
 * made durable with its own fdatasync, as a log without group commit would.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

#define RECORD_SIZE 300

struct run {
	int fd;
	uint64_t deadline_ns;
	pthread_barrier_t start;
};

struct writer {
	pthread_t tid;
	struct run *run;
	struct stats_samples lat;
	int err;
};

static void *work(void *arg)
{
	struct writer *w = arg;
	char rec[RECORD_SIZE];

	memset(rec, 'x', sizeof(rec) - 1);
	rec[sizeof(rec) - 1] = '\n';
	pthread_barrier_wait(&w->run->start);
	while (stats_now_ns() < w->run->deadline_ns) {
		uint64_t t0 = stats_now_ns();

		if (write(w->run->fd, rec, sizeof(rec)) != sizeof(rec) ||
		    fdatasync(w->run->fd) < 0) {
			w->err = errno ? errno : EIO;
			break;
		}
		stats_add(&w->lat, stats_now_ns() - t0);
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: fsyncloop [-l LABEL] [-t WRITERS] "
	                "[-d SECONDS] FILE\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct run run;
	const char *label = "fsyncloop";
	struct writer *w;
	struct stats_samples *lat;
	double seconds = 2.0;
	long writers = 1, i;
	uint64_t t0;
	int opt, failed = 0;

	while ((opt = getopt(argc, argv, "l:t:d:")) != -1) {
		switch (opt) {
		case 'l':
			label = optarg;
			break;
		case 't':
			writers = strtol(optarg, NULL, 10);
			break;
		case 'd':
			seconds = strtod(optarg, NULL);
			break;
		default:
			usage();
		}
	}
	if (optind != argc - 1 || writers < 1 || writers > 1024 || seconds <= 0)
		usage();

	/* The log is opened the same way: append-only, created if needed. */
	run.fd = open(argv[optind], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
	              0640);
	if (run.fd < 0) {
		fprintf(stderr, "fsyncloop: open '%s': %s\n", argv[optind],
		        strerror(errno));
		return 1;
	}
	w = calloc(writers, sizeof(*w));
	lat = calloc(writers, sizeof(*lat));
	if (w == NULL || lat == NULL)
		return 1;
	pthread_barrier_init(&run.start, NULL, writers + 1);
	for (i = 0; i < writers; i++) {
		w[i].run = &run;
		if (pthread_create(&w[i].tid, NULL, work, &w[i]) != 0) {
			fprintf(stderr, "fsyncloop: cannot start thread\n");
			return 1;
		}
	}
	t0 = stats_now_ns();
	run.deadline_ns = t0 + (uint64_t)(seconds * 1e9);
	pthread_barrier_wait(&run.start);
	for (i = 0; i < writers; i++) {
		pthread_join(w[i].tid, NULL);
		if (w[i].err && !failed++)
			fprintf(stderr, "fsyncloop: '%s': %s\n", argv[optind],
			        strerror(w[i].err));
		lat[i] = w[i].lat;
	}
	stats_report(label, lat, writers, stats_now_ns() - t0);
	close(run.fd);
	free(lat);
	free(w);
	return failed ? 1 : 0;
}

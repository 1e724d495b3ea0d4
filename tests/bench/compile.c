/*
 * Benchmark: in-process compile time of one Docker-format profile to a raw
 * BPF filter, the work secprofd does on the first lookup of a .bpf.
 *
 * usage: compile PROFILE.json [REPEAT]
 */
#include <stdio.h>
#include <stdlib.h>

#include "bpf.h"
#include "stats.h"

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(n + 1)) != NULL &&
	    fread(buf, 1, n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

/* One compile; returns its duration in ns, or 0 on failure. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static uint64_t compile_once(const char *json, size_t len,
                             const struct bpf_settings *s, size_t *insns)
{
	struct bpf_program *prog = NULL;
	struct sp_error *err = NULL;
	uint64_t t0 = stats_now_ns(), t;

	if (bpf_compile(json, len, s, &prog, &err) != 0) {
		fprintf(stderr, "compile: %s\n",
		        err != NULL ? err->msg : "failed");
		sp_error_free(err);
		return 0;
	}
	t = stats_now_ns() - t0;
	*insns = prog->n_insns;
	bpf_program_free(prog);
	return t;
}

int main(int argc, char **argv)
{
	struct stats_samples warm = {0};
	struct bpf_settings s;
	size_t len, insns = 0;
	uint64_t cold, t;
	long repeat, i;
	char *json;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: compile PROFILE.json [REPEAT]\n");
		return 2;
	}
	repeat = argc == 3 ? strtol(argv[2], NULL, 10) : 50;
	if (repeat < 1)
		repeat = 1;
	json = slurp(argv[1], &len);
	if (json == NULL) {
		perror(argv[1]);
		return 1;
	}
	if (bpf_settings_default(&s) != 0)
		return 1;

	cold = compile_once(json, len, &s, &insns);
	if (cold == 0)
		return 1;
	for (i = 0; i < repeat; i++) {
		t = compile_once(json, len, &s, &insns);
		if (t == 0)
			return 1;
		stats_add(&warm, t);
	}
	qsort(warm.ns, warm.n, sizeof(*warm.ns), cmp_u64);
	printf("compile of %zu bytes of JSON to %zu instructions: first in "
	       "the process %.0f us, then p50 %.0f us, p99 %.0f us "
	       "(%ld repeats)\n",
	       len, insns, cold / 1e3, warm.ns[warm.n / 2] / 1e3,
	       warm.ns[warm.n * 99 / 100] / 1e3, repeat);
	free(warm.ns);
	free(json);
	return 0;
}

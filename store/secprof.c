/* secprof: the operator tool, a thin dispatcher over the store modules. */
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "log.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
        {"compile", cmd_compile, "compile a profile to a raw BPF filter"},
        {"lint", cmd_lint, "check profiles for errors and risky constructs"},
        {"log", cmd_log, "verify or query access logs"},
};

static void usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: secprof COMMAND [ARGS...]\n\ncommands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name,
		        commands[i].summary);
	fprintf(out, "\n'secprof COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	sp_log_init("secprof");
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("secprof %s\n", SECPROF_VERSION);
		return 0;
	}

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);

	fprintf(stderr, "secprof: unknown command '%s' (see secprof --help)\n",
	        argv[1]);
	return 2;
}

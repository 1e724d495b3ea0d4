/* secprof subcommands: each takes the arguments after its own name. */
#ifndef SECPROF_CMD_H
#define SECPROF_CMD_H

/*
 * Every subcommand returns the process exit status: 0 success, 1 a negative
 * finding (broken chain, lint errors), 2 bad usage or an operational error.
 * argv[0] is the subcommand name.
 */
int cmd_log(int argc, char **argv);
int cmd_compile(int argc, char **argv);
int cmd_lint(int argc, char **argv);

#endif

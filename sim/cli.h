/* cli.h: what the subcommands of `mot` share: the command signature, the
 * parsing of a config file plus `--set key=value` overrides, and the mapping
 * of library status codes to exit codes and one-line error messages. */
#ifndef MOT_CLI_H
#define MOT_CLI_H

#include "config.h"

/* Exit codes of `mot`. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_DIVERGED = 3 };

typedef int (*mot_command_fn)(int argc, char **argv);

/* Prints "mot: error: <message>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The exit code for a library status, after printing its message. */
int cli_fail(int status);

/* Options common to the commands that take a config. */
typedef struct {
    const char *config_path;
    const char *out_dir;
    const char *data_dir, *init_dir, *routing_path;
    int check;              /* --check */
    int threads;            /* --threads */
} cli_options;

/* Parses argv (after the command name): one CONFIG path, --out DIR,
 * --set k=v (repeatable), and those of --data DIR, --init DIR,
 * --routing FILE, --check that `allowed` lists (a string of option names).
 * Loads and validates the config into cfg. Returns EXIT_OK or prints the
 * error and returns EXIT_USAGE. --help prints `usage` and returns -1. */
int cli_parse(int argc, char **argv, const char *usage, const char *allowed,
              cli_options *opt, mot_config *cfg);

/* The default output directory for a config: runs/<basename without .conf>. */
const char *cli_default_out(const char *config_path);

/* A progress display: a rewritten line when stderr is a terminal, else
 * nothing. Matches mot_run_options.progress. */
void cli_progress(void *ctx, int epoch, int T, double objective);

#endif

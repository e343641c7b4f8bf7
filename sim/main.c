/* main.c: the `mot` program. A table of subcommands, each implemented in
 * its own cmd_<name>.c; this file only dispatches. */
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_errno.h>

#include "cli.h"
#include "mot_autoconf.h"

int cmd_run(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_keys(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_plot(int argc, char **argv);

static const struct {
    const char *name;
    mot_command_fn fn;
    const char *help;
} commands[] = {
    {"run", cmd_run, "train one model on a config and record everything"},
    {"compare", cmd_compare, "train several model kinds on the same data set"},
    {"check", cmd_check, "test the study's claims on a recorded run or comparison"},
    {"sweep", cmd_sweep, "run a grid of configs ([sweep] section), locally or under mpirun"},
    {"plot", cmd_plot, "draw the figures of a run, comparison or sweep with gnuplot"},
    {"gen", cmd_gen, "write the data set and signals of a config, without training"},
    {"bench", cmd_bench, "time training epochs of a config"},
    {"demo", cmd_demo, "the main job: run the calibrated default and summarize it"},
    {"keys", cmd_keys, "list every config key, its default and allowed values"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: mot COMMAND [ARGS]   (mot COMMAND --help for its options)\n\n");
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\nmotsim %s, BLAS: %s\n", PACKAGE_VERSION, MOT_BLAS_NAME);
}

#ifdef HAVE_OPENBLAS
void openblas_set_num_threads(int n);
#endif

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();
#ifdef HAVE_OPENBLAS
    /* The matrices here are small: OpenBLAS's threads only spin. One thread
     * also makes every product's summation order fixed. */
    openblas_set_num_threads(1);
#endif
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("motsim %s\n", PACKAGE_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    cli_error("unknown command \"%s\" (see mot --help)", argv[1]);
    return EXIT_USAGE;
}

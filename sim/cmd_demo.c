/* cmd_demo.c: `mot demo [--out DIR]`: the main job. For now a `mot run` of
 * the calibrated default configs/paper.conf, with a short summary. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "run.h"
#include "status.h"

static const char usage[] =
    "usage: mot demo [--out DIR]\n\n"
    "Runs the calibrated default configs/paper.conf (found in ./configs, the source\n"
    "tree or the installed data directory) into DIR (default runs/demo) and prints\n"
    "a summary.\n";

void print_summary(const char *dir, const mot_run_result *res);

static const char *find_paper_conf(void)
{
    static const char *candidates[] = {"configs/paper.conf", MOT_SRCDIR "/configs/paper.conf",
                                       MOT_DATADIR "/configs/paper.conf"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
        if (access(candidates[i], R_OK) == 0)
            return candidates[i];
    return NULL;
}

int cmd_demo(int argc, char **argv)
{
    const char *out = "runs/demo";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out = argv[++i];
        } else {
            cli_error("unknown argument %s (see mot demo --help)", argv[i]);
            return EXIT_USAGE;
        }
    }
    const char *conf = find_paper_conf();
    if (!conf) {
        cli_error("configs/paper.conf not found here, in " MOT_SRCDIR " or " MOT_DATADIR);
        return EXIT_USAGE;
    }
    char *args[] = {"run", (char *)conf, "--out", (char *)out, NULL};
    printf("mot demo: training %s into %s\n", conf, out);
    int cmd_run(int argc, char **argv);
    return cmd_run(4, args);
}

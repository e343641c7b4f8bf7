/* cmd_demo.c: `mot demo [--out DIR]`: the main job. On the calibrated
 * default configs/paper.conf it trains MoT and the three baselines on one
 * data set, runs every check (with the high-precision replay), draws every
 * figure and writes DIR/report.md: the verdict table, the key numbers and
 * the figures, on one page. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"
#include "cli.h"
#include "io.h"
#include "run.h"
#include "status.h"

int cmd_compare(int argc, char **argv);
int cmd_plot(int argc, char **argv);

static const char usage[] =
    "usage: mot demo [--out DIR]\n\n"
    "The main job: trains MoT and the baselines (single, moe_noattn, moe_ffn) on\n"
    "the calibrated default configs/paper.conf (found in ./configs, the source tree\n"
    "or the installed data directory), runs every check of `mot check` including\n"
    "the high-precision replay, draws every figure of `mot plot`, and writes\n"
    "DIR/report.md (default DIR: runs/demo).\n";

static const char *find_paper_conf(void)
{
    static const char *candidates[] = {"configs/paper.conf", MOT_SRCDIR "/configs/paper.conf",
                                       MOT_DATADIR "/configs/paper.conf"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
        if (access(candidates[i], R_OK) == 0)
            return candidates[i];
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* One row of the key-numbers table from DIR/<model>/summary.json. */
static void model_row(FILE *fp, const char *dir, const char *model)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/summary.json", dir, model);
    json_t *j = json_load_file(path, 0, NULL);
    if (!j)
        return;
    json_t *fin = json_object_get(j, "final"), *st = json_object_get(j, "stage_ends");
    double t1 = json_number_value(json_object_get(json_object_get(st, "T1"), "test_loss"));
    double t2 = json_number_value(json_object_get(json_object_get(st, "T2"), "test_loss"));
    fprintf(fp, "| %s | %.4g | %.4g | %.4g | %.4f | %.1f |\n", model, t1, t2,
            json_number_value(json_object_get(fin, "test_loss")),
            json_number_value(json_object_get(fin, "test_error")),
            json_number_value(json_object_get(j, "seconds")));
    json_decref(j);
}

static int write_report(const char *dir, const char *conf, const verdicts *vs, double seconds)
{
    mot_io_file f;
    int status = mot_io_open_in(&f, dir, "report.md");
    if (status)
        return status;
    FILE *fp = f.fp;
    fprintf(fp, "# motsim demo report\n\n");
    fprintf(fp, "MoT and its baselines trained on one data set of `%s`, every claim of the\n"
                "study checked on the recorded runs (`mot check`), every figure drawn (`mot plot`).\n"
                "Total time %.0f s; BLAS %s. The runs are in the subdirectories of this folder.\n\n",
            conf, seconds, mot_build_blas());
    fprintf(fp, "## Verdicts\n\n| claim | verdict | the numbers that decided it |\n| --- | --- | --- |\n");
    for (int i = 0; i < vs->n; i++)
        fprintf(fp, "| %s | **%s** | %s |\n", vs->v[i].claim, mot_verdict_name(vs->v[i].verdict),
                vs->v[i].reason);
    fprintf(fp, "\n## Key numbers\n\n| model | test loss at T1 | test loss at T2 | final test loss "
                "| final test error | seconds |\n| --- | --- | --- | --- | --- | --- |\n");
    static const char *models[] = {"mot", "single", "moe_noattn", "moe_ffn"};
    for (size_t i = 0; i < 4; i++)
        model_row(fp, dir, models[i]);
    fprintf(fp, "\nEvery number above is in `checks.json` and the runs' `summary.json`.\n\n## Figures\n\n");
    static const char *figs[][2] = {
        {"losses", "Test loss and test error of every model; T1 and T2 marked."},
        {"routing", "Share of each class routed to each expert, at T1 and at the end."},
        {"attention", "Each expert's attention on the label token, and its W alignment with its class."},
        {"alignment", "FFN alignment A[e][n] at the end of each stage."},
        {"rate", "T(eps) against log10(1/eps) for MoT, single and the high-precision replay, with fits."}};
    /* A compare's per-model figures carry the model's name; MoT's are shown. */
    for (size_t i = 0; i < sizeof figs / sizeof *figs; i++) {
        static const char *suffixes[] = {"", "_mot"};
        for (size_t s = 0; s < 2; s++) {
            char name[256], png[1024];
            snprintf(name, sizeof name, "%s%s", figs[i][0], suffixes[s]);
            snprintf(png, sizeof png, "%s/figures/%s.png", dir, name);
            if (access(png, R_OK) == 0) {
                fprintf(fp, "### %s\n\n%s\n\n![%s](figures/%s.png)\n\n", name, figs[i][1], name, name);
                break;
            }
        }
    }
    return mot_io_commit(&f);
}

int cmd_demo(int argc, char **argv)
{
    const char *out = "runs/demo";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--out")) {
            if (i + 1 >= argc) {
                cli_error("--out needs a value");
                return EXIT_USAGE;
            }
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
    double t0 = now();
    printf("mot demo: [1/3] training mot, single, moe_noattn, moe_ffn on %s into %s\n", conf, out);
    fflush(stdout);
    char *cargs[] = {"compare", (char *)conf, "--out", (char *)out, NULL};
    int code = cmd_compare(4, cargs);
    if (code != EXIT_OK)
        return code;
    printf("mot demo: [2/3] checking the claims (with the high-precision replay)\n");
    fflush(stdout);
    verdicts vs;
    if ((code = check_collect(out, 0, &vs)) != EXIT_OK)
        return code;
    printf("mot demo: [3/3] drawing the figures\n");
    fflush(stdout);
    char *figdir = mot_io_join(out, "figures");
    char *pargs[] = {"plot", (char *)out, "--out", figdir, NULL};
    int plot_code = figdir ? cmd_plot(4, pargs) : EXIT_FAIL;
    int status = write_report(out, conf, &vs, now() - t0);
    free(figdir);
    for (int i = 0; i < vs.n; i++) {
        printf("  %-12s %s\n", vs.v[i].claim, mot_verdict_name(vs.v[i].verdict));
        mot_verdict_free(&vs.v[i]);
    }
    if (status)
        return cli_fail(status);
    printf("mot demo: report in %s/report.md (%.0f s)\n", out, now() - t0);
    return plot_code == EXIT_OK ? EXIT_OK : plot_code;
}

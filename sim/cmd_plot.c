/* cmd_plot.c: `mot plot DIR [--format png,pdf] [--out FIGDIR]`: draws the
 * figures of a run, a comparison or a sweep with the gnuplot scripts of
 * plots/. This file is the command: its options, which kind of directory
 * DIR is, finding gnuplot and the scripts, and the dispatch to the figures
 * of that kind (plot_figs.c), which run gnuplot through plot_gnuplot.c.
 * What a figure looks like is the scripts' business, so a researcher
 * restyles a figure without touching C. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "io.h"
#include "plot_figs.h"
#include "plot_gnuplot.h"
#include "status.h"

static const char usage[] =
    "usage: mot plot DIR [--format png,pdf] [--out FIGDIR]\n\n"
    "Draws the figures of DIR with gnuplot (found on PATH) and the scripts of\n"
    "plots/ ($MOT_PLOTS_DIR if set, else ./plots, the source tree, or the\n"
    "installed data directory). DIR is a run (metrics.csv: losses, routing,\n"
    "attention, alignment), a comparison (compare.csv: losses of every model,\n"
    "then routing, attention and alignment of each model, suffixed _<model>) or\n"
    "a sweep (sweep.csv: sweep_t1, sweep_coverage); a run or a comparison also\n"
    "gets `rate` when `mot check` wrote DIR/rates.csv. Writes FIGDIR/<name>.png\n"
    "and/or .pdf (--format, default both; FIGDIR default DIR/figures) and prints\n"
    "the files written. Exit status: 0 done, 1 gnuplot missing or failed,\n"
    "2 bad input.\n";

/* --format: a comma-separated list of png and pdf. */
static int parse_formats(const char *list, plotter *p)
{
    p->png = p->pdf = 0;
    for (const char *s = list; *s;) {
        size_t n = strcspn(s, ",");
        if (n == 3 && !strncmp(s, "png", 3))
            p->png = 1;
        else if (n == 3 && !strncmp(s, "pdf", 3))
            p->pdf = 1;
        else {
            cli_error("--format must be png, pdf or png,pdf (got \"%s\")", list);
            return EXIT_USAGE;
        }
        s += n + (s[n] == ',');
    }
    if (!p->png && !p->pdf) {
        cli_error("--format must be png, pdf or png,pdf (got \"%s\")", list);
        return EXIT_USAGE;
    }
    return EXIT_OK;
}

int cmd_plot(int argc, char **argv)
{
    const char *dir = NULL, *figdir = NULL, *formats = "png,pdf";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--format") || !strcmp(a, "--out")) {
            if (i + 1 >= argc) {
                cli_error("%s needs a value", a);
                return EXIT_USAGE;
            }
            *(!strcmp(a, "--out") ? &figdir : &formats) = argv[++i];
        } else if (a[0] == '-') {
            cli_error("unknown option %s (see mot plot --help)", a);
            return EXIT_USAGE;
        } else if (dir) {
            cli_error("one DIR expected, got %s and %s", dir, a);
            return EXIT_USAGE;
        } else {
            dir = a;
        }
    }
    plotter p = {0};
    if (!dir) {
        cli_error("missing DIR (see mot plot --help)");
        return EXIT_USAGE;
    }
    if (parse_formats(formats, &p))
        return EXIT_USAGE;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("%s: no such directory", dir);
        return EXIT_USAGE;
    }
    enum { RUN, COMPARE, SWEEP } kind;
    if (plot_exists(dir, "metrics.csv"))
        kind = RUN;
    else if (plot_exists(dir, "compare.csv"))
        kind = COMPARE;
    else if (plot_exists(dir, "sweep.csv"))
        kind = SWEEP;
    else {
        cli_error("%s holds no run (metrics.csv), comparison (compare.csv) or sweep (sweep.csv)", dir);
        return EXIT_USAGE;
    }
    if (!(p.gnuplot = plot_find_gnuplot())) {
        cli_error("gnuplot not found on PATH (Debian: apt-get install gnuplot-nox)");
        return EXIT_FAIL;
    }
    if (!(p.scripts = plot_find_scripts())) {
        free(p.gnuplot);
        return EXIT_USAGE;
    }
    char *fd = figdir ? NULL : mot_io_join(dir, "figures");
    p.figdir = figdir ? figdir : fd;
    if (!p.figdir || mot_io_mkdir_p(p.figdir) != MOT_OK) {
        int code = cli_fail(p.figdir ? MOT_EIO : MOT_ENOMEM);
        free(fd), free(p.gnuplot);
        return code;
    }
    static const char *kinds[] = {"run", "comparison", "sweep"};
    printf("mot plot: %s %s, figures in %s\n", kinds[kind], dir, p.figdir);
    int code = EXIT_OK;
    if (kind == RUN) {
        code = plot_run(&p, dir, NULL);
        if (code == EXIT_OK) {
            char *vars = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&vars, &len);
            if (f) {
                plot_gp_string(f, "dir", dir);
                fclose(f);
                plot_rate(&p, dir, vars);
            }
            free(vars);
        }
    } else if (kind == COMPARE) {
        code = plot_compare(&p, dir);
    } else {
        code = plot_sweep(&p, dir);
    }
    printf("%d file%s written%s\n", p.written, p.written == 1 ? "" : "s",
           p.failed ? ", some figures failed (see above)" : "");
    free(fd), free(p.gnuplot);
    if (code)
        return code;
    return p.failed ? EXIT_FAIL : EXIT_OK;
}

/* cmd_plot.c: `mot plot DIR [--format png,pdf] [--out FIGDIR]`: draws the
 * figures of a run, a comparison or a sweep with the gnuplot scripts of
 * plots/. This file only decides which figures apply, reads the few numbers
 * the scripts are given (stage boundaries, sizes, the experts worth showing)
 * and runs gnuplot; what a figure looks like is the scripts' business, so a
 * researcher restyles a figure without touching C. Each figure is written
 * under a temporary name in FIGDIR and renamed when gnuplot succeeded. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "io.h"
#include "status.h"
#include "table.h"

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

typedef struct {
    char *gnuplot;          /* path of the gnuplot program */
    const char *scripts;    /* directory of the .gp files */
    const char *figdir;
    int png, pdf;
    int written, failed;
} plotter;

static int exists(const char *dir, const char *name)
{
    char *path = mot_io_join(dir, name);
    int ok = path && access(path, F_OK) == 0;
    free(path);
    return ok;
}

/* The first executable `gnuplot` on PATH, malloc'd, or NULL. */
static char *find_gnuplot(void)
{
    const char *path = getenv("PATH");
    if (!path)
        return NULL;
    while (*path) {
        size_t len = strcspn(path, ":");
        char dir[4096];
        if (len < sizeof dir) {
            memcpy(dir, len ? path : ".", len ? len : 1);
            dir[len ? len : 1] = '\0';
            char *cand = mot_io_join(dir, "gnuplot");
            if (cand && access(cand, X_OK) == 0)
                return cand;
            free(cand);
        }
        path += len + (path[len] == ':');
    }
    return NULL;
}

/* The directory holding the scripts: $MOT_PLOTS_DIR (which must then hold
 * them), ./plots, the source tree's plots/, the installed one. NULL after
 * printing why. */
static const char *find_scripts(void)
{
    const char *env = getenv("MOT_PLOTS_DIR");
    if (env && *env) {
        if (exists(env, "style.gp"))
            return env;
        cli_error("MOT_PLOTS_DIR=%s holds no style.gp: not the plots/ directory", env);
        return NULL;
    }
    static const char *candidates[] = {"plots", MOT_SRCDIR "/plots", MOT_DATADIR "/plots"};
    for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++)
        if (exists(candidates[i], "style.gp"))
            return candidates[i];
    cli_error("the gnuplot scripts (plots/style.gp) are not in ./plots, " MOT_SRCDIR
              "/plots or " MOT_DATADIR "/plots; set MOT_PLOTS_DIR");
    return NULL;
}

/* Appends name='value'; to a gnuplot -e string (a quote doubled inside). */
static void gp_string(FILE *f, const char *name, const char *value)
{
    fprintf(f, "%s='", name);
    for (const char *c = value; *c; c++)
        fputs(*c == '\'' ? "''" : (char[]){*c, '\0'}, f);
    fputs("'; ", f);
}

/* Runs gnuplot on one script for one format: -e "<vars> out=...; term=...".
 * Returns gnuplot's exit status (-1 if it could not run); its output is left
 * in `log` (a tmpfile) for the caller to show on failure. */
static int run_gnuplot(const plotter *p, const char *script, const char *vars, const char *out,
                       const char *term, FILE *log)
{
    char *expr = NULL, *path = mot_io_join(p->scripts, script);
    size_t len = 0;
    FILE *f = open_memstream(&expr, &len);
    if (!f || !path) {
        if (f)
            fclose(f);
        free(expr), free(path);
        return -1;
    }
    fputs(vars, f);
    gp_string(f, "out", out);
    gp_string(f, "term", term);
    fclose(f);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fileno(log), STDOUT_FILENO);
        dup2(fileno(log), STDERR_FILENO);
        execl(p->gnuplot, "gnuplot", "-e", expr, path, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", p->gnuplot, strerror(errno));
        _exit(127);
    }
    int status = -1, code = -1;
    if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status))
        code = WEXITSTATUS(status);
    free(expr), free(path);
    return code;
}

/* Prints gnuplot's output (kept in log) to stderr, indented. */
static void show_log(FILE *log)
{
    char line[1024];
    rewind(log);
    while (fgets(line, sizeof line, log))
        if (line[0] != '\n')
            fprintf(stderr, "  | %s%s", line, strchr(line, '\n') ? "" : "\n");
}

/* One figure, in each format asked: FIGDIR/<name>.<ext> from plots/<script>
 * with the variables `vars` (a gnuplot -e fragment). A script that exits
 * cleanly without drawing (nothing to draw) is reported as skipped. */
static void figure(plotter *p, const char *name, const char *script, const char *vars)
{
    const char *exts[] = {"png", "pdf"};
    int want[] = {p->png, p->pdf};
    for (int i = 0; i < 2; i++) {
        if (!want[i])
            continue;
        char base[256], tmpbase[320];
        snprintf(base, sizeof base, "%s.%s", name, exts[i]);
        snprintf(tmpbase, sizeof tmpbase, ".%s.tmp.%ld.%s", name, (long)getpid(), exts[i]);
        char *final = mot_io_join(p->figdir, base), *tmp = mot_io_join(p->figdir, tmpbase);
        FILE *log = tmpfile();
        if (!final || !tmp || !log) {
            cli_error("%s: cannot allocate a path or a temporary file", name);
            p->failed++;
        } else {
            int code = run_gnuplot(p, script, vars, tmp, exts[i], log);
            struct stat st;
            int drawn = stat(tmp, &st) == 0 && st.st_size > 0;
            if (code == 0 && drawn && rename(tmp, final) == 0) {
                printf("  %s\n", final);
                p->written++;
            } else if (code == 0 && !drawn) {
                unlink(tmp);
                /* The script says why on its last line, after any warning. */
                char line[480], msg[512] = "nothing to draw\n";
                rewind(log);
                while (fgets(line, sizeof line, log))
                    if (line[0] != '\n')
                        snprintf(msg, sizeof msg, "%s%s", line, strchr(line, '\n') ? "" : "\n");
                printf("  %s: skipped, %s", name, msg);
                fclose(log);
                free(final), free(tmp);
                return; /* the other format would say the same */
            } else {
                int err = errno;
                unlink(tmp);
                if (code == 0)
                    cli_error("%s: cannot rename to %s: %s", name, final, strerror(err));
                else if (code < 0)
                    cli_error("%s: cannot run %s on %s/%s", final, p->gnuplot, p->scripts, script);
                else
                    cli_error("%s: gnuplot %s/%s failed (exit status %d)", final, p->scripts,
                              script, code);
                show_log(log);
                p->failed++;
            }
        }
        if (log)
            fclose(log);
        free(final), free(tmp);
    }
}

/* Reads DIR/config.json. MOT_OK or an error with a message. */
static int read_config(const char *dir, mot_config *cfg)
{
    char *path = mot_io_join(dir, "config.json");
    if (!path)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    mot_config_defaults(cfg);
    int status = !j ? MOT_ERROR(MOT_EINVAL, "%s line %d: %s", path, err.line, err.text)
                    : mot_config_from_json(cfg, j);
    if (status == MOT_OK)
        status = mot_config_validate(cfg);
    json_decref(j);
    free(path);
    return status;
}

static mot_table *read_csv(const char *dir, const char *name)
{
    char *path = mot_io_join(dir, name);
    mot_table *t = path ? mot_table_read(path) : NULL;
    free(path);
    return t;
}

static const char *model_title(mot_model_kind k)
{
    switch (k) {
    case MOT_MODEL_MOT: return "MoT";
    case MOT_MODEL_SINGLE: return "single transformer";
    case MOT_MODEL_MOE_NOATTN: return "MoE, no attention";
    case MOT_MODEL_MOE_FFN: return "MoE, shared attention";
    }
    return "?";
}

/* The experts attention.gp draws: those with test samples at the last
 * epoch Tend (for gated models, at least min_traffic of them), each with
 * the class that sends it most of its traffic (for single, the class its
 * attention matrix is best aligned with). Writes "2 4 5" and "2 0 1" into
 * ex and cl; returns how many. */
static int shown_experts(const mot_table *att, const mot_table *ali, int Tend, const mot_config *cfg,
                         char *ex, char *cl, size_t cap)
{
    int E = cfg->model == MOT_MODEL_SINGLE ? cfg->heads : cfg->M, gated = cfg->model != MOT_MODEL_SINGLE;
    int c_ep = mot_table_col(att, "epoch"), c_ex = mot_table_col(att, "expert"),
        c_ro = mot_table_col(att, "routed"), a_ep = mot_table_col(ali, "epoch"),
        a_cl = mot_table_col(ali, "class"), a_ex = mot_table_col(ali, "expert"),
        a_v = mot_table_col(ali, gated ? "traffic" : "attn_align");
    ex[0] = cl[0] = '\0';
    if (c_ep < 0 || c_ex < 0 || c_ro < 0 || a_ep < 0 || a_cl < 0 || a_ex < 0 || a_v < 0 || E <= 0)
        return 0;
    double *routed = calloc((size_t)E, sizeof *routed), *best = malloc((size_t)E * sizeof *best);
    int *main_class = malloc((size_t)E * sizeof *main_class), shown = 0;
    if (!routed || !best || !main_class) {
        free(routed), free(best), free(main_class);
        return 0;
    }
    double total = 0;
    for (size_t r = 0; r < att->rows; r++) {
        int e = (int)mot_table_at(att, r, c_ex);
        if ((int)mot_table_at(att, r, c_ep) == Tend && e >= 0 && e < E) {
            routed[e] = mot_table_at(att, r, c_ro);
            total += routed[e];
        }
    }
    for (int e = 0; e < E; e++)
        best[e] = -INFINITY, main_class[e] = -1;
    for (size_t r = 0; r < ali->rows; r++) {
        int e = (int)mot_table_at(ali, r, a_ex);
        double v = mot_table_at(ali, r, a_v);
        if ((int)mot_table_at(ali, r, a_ep) == Tend && e >= 0 && e < E && v > best[e])
            best[e] = v, main_class[e] = (int)mot_table_at(ali, r, a_cl);
    }
    size_t ne = 0, nc = 0;
    for (int e = 0; e < E; e++) {
        if (!(routed[e] > 0) || main_class[e] < 0 || (gated && routed[e] < cfg->min_traffic * total))
            continue;
        int a = snprintf(ex + ne, cap - ne, "%s%d", ne ? " " : "", e);
        int b = snprintf(cl + nc, cap - nc, "%s%d", nc ? " " : "", main_class[e]);
        if (a < 0 || b < 0 || ne + (size_t)a >= cap || nc + (size_t)b >= cap)
            break;
        ne += (size_t)a, nc += (size_t)b, shown++;
    }
    free(routed), free(best), free(main_class);
    return shown;
}

/* The variables every figure of a run gets, as a gnuplot -e fragment
 * (malloc'd): dir, T1, T2, T, Tend, N, M (experts, or heads), L, label. */
static char *run_vars(const char *dir, const mot_config *cfg, int Tend, const char *label)
{
    char *s = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&s, &len);
    if (!f)
        return NULL;
    gp_string(f, "dir", dir);
    fprintf(f, "T1=%d; T2=%d; T=%d; Tend=%d; N=%d; M=%d; L=%d; min_traffic=%.17g; ", cfg->T1,
            cfg->T2, cfg->T, Tend, cfg->N, cfg->model == MOT_MODEL_SINGLE ? cfg->heads : cfg->M,
            cfg->L, cfg->min_traffic);
    gp_string(f, "label", label);
    fclose(f);
    return s;
}

/* The figures of one run directory: losses (when `suffix` is NULL: a
 * comparison draws its own), routing, attention, alignment, named
 * <figure>[_<suffix>]. Returns EXIT_OK or EXIT_USAGE (unreadable run). */
static int plot_run(plotter *p, const char *dir, const char *suffix)
{
    mot_config cfg;
    mot_table *metrics = NULL, *att = NULL, *ali = NULL;
    int status = read_config(dir, &cfg);
    if (status == MOT_OK && !(metrics = read_csv(dir, "metrics.csv")))
        status = MOT_EINVAL;
    int c_ep = metrics ? mot_table_col(metrics, "epoch") : -1;
    if (status == MOT_OK && (c_ep < 0 || metrics->rows == 0))
        status = MOT_ERROR(MOT_EINVAL, "%s/metrics.csv has no epoch column or no row", dir);
    if (status != MOT_OK) {
        mot_table_free(metrics);
        return cli_fail(status);
    }
    int Tend = (int)mot_table_at(metrics, metrics->rows - 1, c_ep);
    mot_table_free(metrics);

    char label[160], name[128], ex[1024], cl[1024];
    if (cfg.model == MOT_MODEL_SINGLE)
        snprintf(label, sizeof label, "%s, N = %d classes, %d heads, seed %lu", model_title(cfg.model),
                 cfg.N, cfg.heads, cfg.seed);
    else
        snprintf(label, sizeof label, "%s, N = %d classes, M = %d experts, seed %lu",
                 model_title(cfg.model), cfg.N, cfg.M, cfg.seed);
    char *vars = run_vars(dir, &cfg, Tend, label);
    if (!vars)
        return cli_fail(MOT_ERROR(MOT_ENOMEM, "cannot allocate the gnuplot variables"));
#define NAME(fig) (snprintf(name, sizeof name, "%s%s%s", fig, suffix ? "_" : "", suffix ? suffix : ""), name)
    if (!suffix)
        figure(p, "losses", "losses.gp", vars);
    if (exists(dir, "dispatch.csv"))
        figure(p, NAME("routing"), "routing.gp", vars);
    if (exists(dir, "attention.csv")) {
        if ((att = read_csv(dir, "attention.csv")) && (ali = read_csv(dir, "alignment.csv"))
            && shown_experts(att, ali, Tend, &cfg, ex, cl, sizeof ex) > 0) {
            char *more = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&more, &len);
            if (f) {
                fputs(vars, f);
                gp_string(f, "experts", ex);
                gp_string(f, "classes", cl);
                fclose(f);
                figure(p, NAME("attention"), "attention.gp", more);
            }
            free(more);
        } else {
            printf("  %s: skipped, %s\n", NAME("attention"),
                   att && ali ? "no expert carries traffic at the end" : mot_status_message());
        }
        mot_table_free(att), mot_table_free(ali);
    }
    if (exists(dir, "alignment.csv"))
        figure(p, NAME("alignment"), "alignment.gp", vars);
#undef NAME
    free(vars);
    return EXIT_OK;
}

/* rate.gp for a run or a comparison, when `mot check` wrote rates.csv. */
static void plot_rate(plotter *p, const char *dir, const char *vars)
{
    if (exists(dir, "rates.csv"))
        figure(p, "rate", "rate.gp", vars);
    else
        printf("  rate: skipped, no %s/rates.csv (mot check writes it)\n", dir);
}

/* The models of compare.csv (its `model` column), in order of appearance,
 * space separated, into out. Returns how many. */
static int compare_models(const char *dir, char *out, size_t cap)
{
    char *path = mot_io_join(dir, "compare.csv");
    FILE *f = path ? fopen(path, "r") : NULL;
    free(path);
    out[0] = '\0';
    if (!f)
        return 0;
    char line[1024];
    int col = -1, n = 0;
    if (fgets(line, sizeof line, f)) {
        int i = 0;
        for (char *tok = strtok(line, ",\r\n"); tok; tok = strtok(NULL, ",\r\n"), i++)
            if (!strcmp(tok, "model"))
                col = i;
    }
    while (col >= 0 && fgets(line, sizeof line, f)) {
        char *tok = strtok(line, ",\r\n");
        for (int i = 0; tok && i < col; i++)
            tok = strtok(NULL, ",\r\n");
        if (!tok || !*tok)
            continue;
        /* already listed? (whole words only) */
        size_t len = strlen(tok);
        int seen = 0;
        for (const char *s = out; (s = strstr(s, tok)) != NULL; s += len)
            if ((s == out || s[-1] == ' ') && (s[len] == ' ' || s[len] == '\0'))
                seen = 1;
        if (!seen && strlen(out) + len + 2 < cap) {
            if (*out)
                strcat(out, " ");
            strcat(out, tok);
            n++;
        }
    }
    fclose(f);
    return n;
}

static int plot_compare(plotter *p, const char *dir)
{
    char models[256];
    if (compare_models(dir, models, sizeof models) == 0) {
        cli_error("%s/compare.csv names no model", dir);
        return EXIT_USAGE;
    }
    /* The stage boundaries and sizes come from the first model's run. */
    char first[64];
    snprintf(first, sizeof first, "%.*s", (int)strcspn(models, " "), models);
    char *sub = mot_io_join(dir, first);
    mot_config cfg;
    int status = sub ? read_config(sub, &cfg) : MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
    free(sub);
    if (status != MOT_OK)
        return cli_fail(status);
    char *vars = NULL, label[128];
    size_t len = 0;
    snprintf(label, sizeof label, "N = %d classes, M = %d experts, seed %lu", cfg.N, cfg.M, cfg.seed);
    FILE *f = open_memstream(&vars, &len);
    if (!f)
        return cli_fail(MOT_ERROR(MOT_ENOMEM, "cannot allocate the gnuplot variables"));
    gp_string(f, "dir", dir);
    fprintf(f, "T1=%d; T2=%d; T=%d; ", cfg.T1, cfg.T2, cfg.T);
    gp_string(f, "kind", "compare");
    gp_string(f, "models", models);
    gp_string(f, "label", label);
    fclose(f);
    figure(p, "losses", "losses.gp", vars);
    plot_rate(p, dir, vars);
    free(vars);
    int code = EXIT_OK;
    for (const char *m = models; *m; m += strspn(m, " ")) {
        char model[64];
        size_t n = strcspn(m, " ");
        snprintf(model, sizeof model, "%.*s", (int)n, m);
        m += n;
        char *run = mot_io_join(dir, model);
        if (run && exists(run, "metrics.csv")) {
            int c = plot_run(p, run, model);
            code = c ? c : code;
        } else {
            printf("  %s: skipped, no %s/%s/metrics.csv\n", model, dir, model);
        }
        free(run);
    }
    return code;
}

static int plot_sweep(plotter *p, const char *dir)
{
    char *vars = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&vars, &len);
    if (!f)
        return cli_fail(MOT_ERROR(MOT_ENOMEM, "cannot allocate the gnuplot variables"));
    gp_string(f, "dir", dir);
    fclose(f);
    figure(p, "sweep_t1", "sweep_t1.gp", vars);
    figure(p, "sweep_coverage", "sweep_coverage.gp", vars);
    free(vars);
    return EXIT_OK;
}

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
    if (exists(dir, "metrics.csv"))
        kind = RUN;
    else if (exists(dir, "compare.csv"))
        kind = COMPARE;
    else if (exists(dir, "sweep.csv"))
        kind = SWEEP;
    else {
        cli_error("%s holds no run (metrics.csv), comparison (compare.csv) or sweep (sweep.csv)", dir);
        return EXIT_USAGE;
    }
    if (!(p.gnuplot = find_gnuplot())) {
        cli_error("gnuplot not found on PATH (Debian: apt-get install gnuplot-nox)");
        return EXIT_FAIL;
    }
    if (!(p.scripts = find_scripts())) {
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
                gp_string(f, "dir", dir);
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

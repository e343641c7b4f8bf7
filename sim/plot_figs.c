/* plot_figs.c: see plot_figs.h. Reads a directory's config.json and its
 * CSV files only as far as the scripts need: the last epoch, the stage
 * boundaries and sizes, a label, the experts attention.gp shows and the
 * models of a comparison; the scripts read the CSV files themselves. */
#define _POSIX_C_SOURCE 200809L
#include "plot_figs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "config.h"
#include "io.h"
#include "status.h"
#include "table.h"

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
    plot_gp_string(f, "dir", dir);
    fprintf(f, "T1=%d; T2=%d; T=%d; Tend=%d; N=%d; M=%d; L=%d; min_traffic=%.17g; ", cfg->T1,
            cfg->T2, cfg->T, Tend, cfg->N, cfg->model == MOT_MODEL_SINGLE ? cfg->heads : cfg->M,
            cfg->L, cfg->min_traffic);
    plot_gp_string(f, "label", label);
    fclose(f);
    return s;
}

int plot_run(plotter *p, const char *dir, const char *suffix)
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
        plot_figure(p, "losses", "losses.gp", vars);
    if (plot_exists(dir, "dispatch.csv"))
        plot_figure(p, NAME("routing"), "routing.gp", vars);
    if (plot_exists(dir, "attention.csv")) {
        if ((att = read_csv(dir, "attention.csv")) && (ali = read_csv(dir, "alignment.csv"))
            && shown_experts(att, ali, Tend, &cfg, ex, cl, sizeof ex) > 0) {
            char *more = NULL;
            size_t len = 0;
            FILE *f = open_memstream(&more, &len);
            if (f) {
                fputs(vars, f);
                plot_gp_string(f, "experts", ex);
                plot_gp_string(f, "classes", cl);
                fclose(f);
                plot_figure(p, NAME("attention"), "attention.gp", more);
            }
            free(more);
        } else {
            printf("  %s: skipped, %s\n", NAME("attention"),
                   att && ali ? "no expert carries traffic at the end" : mot_status_message());
        }
        mot_table_free(att), mot_table_free(ali);
    }
    if (plot_exists(dir, "alignment.csv"))
        plot_figure(p, NAME("alignment"), "alignment.gp", vars);
#undef NAME
    free(vars);
    return EXIT_OK;
}

void plot_rate(plotter *p, const char *dir, const char *vars)
{
    if (plot_exists(dir, "rates.csv"))
        plot_figure(p, "rate", "rate.gp", vars);
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

int plot_compare(plotter *p, const char *dir)
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
    plot_gp_string(f, "dir", dir);
    fprintf(f, "T1=%d; T2=%d; T=%d; ", cfg.T1, cfg.T2, cfg.T);
    plot_gp_string(f, "kind", "compare");
    plot_gp_string(f, "models", models);
    plot_gp_string(f, "label", label);
    fclose(f);
    plot_figure(p, "losses", "losses.gp", vars);
    plot_rate(p, dir, vars);
    free(vars);
    int code = EXIT_OK;
    for (const char *m = models; *m; m += strspn(m, " ")) {
        char model[64];
        size_t n = strcspn(m, " ");
        snprintf(model, sizeof model, "%.*s", (int)n, m);
        m += n;
        char *run = mot_io_join(dir, model);
        if (run && plot_exists(run, "metrics.csv")) {
            int c = plot_run(p, run, model);
            code = c ? c : code;
        } else {
            printf("  %s: skipped, no %s/%s/metrics.csv\n", model, dir, model);
        }
        free(run);
    }
    return code;
}

int plot_sweep(plotter *p, const char *dir)
{
    char *vars = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&vars, &len);
    if (!f)
        return cli_fail(MOT_ERROR(MOT_ENOMEM, "cannot allocate the gnuplot variables"));
    plot_gp_string(f, "dir", dir);
    fclose(f);
    plot_figure(p, "sweep_t1", "sweep_t1.gp", vars);
    plot_figure(p, "sweep_coverage", "sweep_coverage.gp", vars);
    free(vars);
    return EXIT_OK;
}

/* cmd_compare.c: `mot compare CONFIG [--out DIR] [--models LIST]`: trains
 * each listed model kind on the identical data set (one data set generated
 * once from the config's seed) and writes one run directory per model plus
 * compare.csv (epoch, model, train_loss, test_loss, test_error), tidy. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "cli.h"
#include "io.h"
#include "run.h"
#include "status.h"

static const char usage[] =
    "usage: mot compare CONFIG [--out DIR] [--models LIST] [--set key=value ...] [--check]\n\n"
    "Trains each model of LIST (default mot,single,moe_noattn,moe_ffn) on the same\n"
    "data set and writes DIR/<model>/ (a full run directory each) and\n"
    "DIR/compare.csv: epoch, model, train_loss, test_loss, test_error.\n"
    "With --check, runs `mot check DIR` on the result.\n\n"
    "Exit status: 0 done (with --check: and every claim holds), 1 failure (with\n"
    "--check: some claim fails or is inconclusive), 2 bad input, 3 a model diverged.\n";

void print_summary(const char *dir, const mot_run_result *res);

typedef struct {
    const char *model;
    mot_record_head *rows;
    size_t n, cap;
} series;

static void collect(void *ctx, const mot_record_head *h)
{
    series *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 256;
        mot_record_head *rows = realloc(s->rows, cap * sizeof *rows);
        if (!rows)
            return; /* compare.csv will then lack rows; reported below */
        s->rows = rows, s->cap = cap;
    }
    s->rows[s->n++] = *h;
}

/* Splits "a,b,c" into model kinds; returns the count or -1 after an error. */
static int parse_models(const char *list, mot_model_kind *kinds, int max)
{
    int n = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        char name[32];
        if (len == 0 || len >= sizeof name || n == max) {
            cli_error("--models must be a comma-separated list of mot, single, moe_noattn, moe_ffn (got \"%s\")", list);
            return -1;
        }
        memcpy(name, p, len);
        name[len] = '\0';
        mot_config tmp;
        mot_config_defaults(&tmp);
        if (mot_config_set(&tmp, "model", name)) {
            cli_error("--models: %s", mot_status_message());
            return -1;
        }
        kinds[n++] = tmp.model;
        p += len + (p[len] == ',');
    }
    return n;
}

static int write_compare(const char *dir, const series *s, int count)
{
    mot_io_file f;
    int status = mot_io_open_in(&f, dir, "compare.csv");
    if (status)
        return status;
    fputs("epoch,model,train_loss,test_loss,test_error\n", f.fp);
    for (int i = 0; i < count; i++)
        for (size_t r = 0; r < s[i].n; r++)
            fprintf(f.fp, "%d,%s,%.17g,%.17g,%.17g\n", s[i].rows[r].epoch, s[i].model,
                    s[i].rows[r].train_loss, s[i].rows[r].test_loss, s[i].rows[r].test_error);
    return mot_io_commit(&f);
}

int cmd_compare(int argc, char **argv)
{
    /* --models is ours; everything else goes to the common parser. */
    const char *models = "mot,single,moe_noattn,moe_ffn";
    char **rest = malloc((size_t)argc * sizeof *rest);
    int nrest = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--models")) {
            if (i + 1 >= argc) {
                cli_error("--models needs a value");
                free(rest);
                return EXIT_USAGE;
            }
            models = argv[++i];
        } else {
            rest[nrest++] = argv[i];
        }
    }
    cli_options opt;
    mot_config cfg;
    int code = cli_parse(nrest, rest, usage, "--check", &opt, &cfg);
    free(rest);
    if (code)
        return code < 0 ? EXIT_OK : code;
    mot_model_kind kinds[8];
    int count = parse_models(models, kinds, 8);
    if (count < 0)
        return EXIT_USAGE;
    const char *dir = opt.out_dir ? opt.out_dir : cli_default_out(opt.config_path);
    mot_dataset *ds = mot_dataset_make(&cfg);
    if (!ds)
        return cli_fail(MOT_ENOMEM);
    series s[8] = {{0}};
    int status = MOT_OK, diverged = 0;
    for (int i = 0; i < count && (status == MOT_OK || status == MOT_EDIVERGED); i++) {
        mot_config c = cfg;
        c.model = kinds[i];
        s[i].model = mot_config_enum_name("model", kinds[i]);
        char *sub = mot_io_join(dir, s[i].model);
        mot_run_options ro = {.out_dir = sub, .dataset = ds, .progress = cli_progress,
                              .progress_ctx = (void *)s[i].model, .on_record = collect,
                              .record_ctx = &s[i]};
        mot_run_result res;
        status = sub ? mot_run(&c, &ro, &res) : MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
        if (status == MOT_OK)
            print_summary(sub, &res);
        else if (status == MOT_EDIVERGED) {
            cli_error("%s: %s", s[i].model, mot_status_message());
            diverged = 1;
        }
        free(sub);
    }
    if (status == MOT_OK || status == MOT_EDIVERGED)
        status = write_compare(dir, s, count);
    for (int i = 0; i < count; i++)
        free(s[i].rows);
    mot_dataset_free(ds);
    if (status)
        return cli_fail(status);
    printf("%s/compare.csv: %d models on one data set\n", dir, count);
    if (diverged)
        return EXIT_DIVERGED;
    return opt.check ? check_dir(dir, 0) : EXIT_OK;
}

/* cmd_check.c: `mot check DIR [--precision BITS] [--hp-epochs N]`: the verdicts of
 * CHECKS.md for a run directory or a `mot compare` directory, printed as a
 * table and written to DIR/checks.json. Exit 0 when every claim holds, 1
 * when any fails or is inconclusive, 2 on bad input. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "checks.h"
#include "cli.h"
#include "io.h"
#include "lemma1.h"
#include "ratefit.h"
#include "replay.h"
#include "status.h"
#include "theorem1.h"

static const char usage[] =
    "usage: mot check DIR [--precision BITS] [--hp-epochs N]\n\n"
    "Reads the run in DIR (or the runs of a `mot compare` directory: DIR/mot,\n"
    "DIR/single, DIR/moe_noattn, ...) and tests Definition 2, Propositions 1\n"
    "and 2, Lemma 1, Theorem 1 (and, given a `single` run, the separation from\n"
    "the single transformer) and the high-precision replay of stage III at\n"
    "BITS bits (default: the run's precision key, 256) for at most N epochs\n"
    "(default 200000; each expert needs about log(hp_eps) / log(rho_e^2) epochs,\n"
    "which the verdict reports when N is too small). Prints the verdicts with\n"
    "the numbers that decided them and writes DIR/checks.json, and the T(eps)\n"
    "series and fits behind Theorem 1 to DIR/rates.csv and DIR/rate_fits.csv.\n"

    "For a `mot sweep` directory (DIR/sweep.csv): the T1-scaling fit and the\n"
    "coverage table instead, written to DIR/sweep_checks.json and DIR/sweep_fit.csv.\n"
    "Exit status: 0 every claim holds, 1 some claim fails or is inconclusive,\n"
    "2 bad input.\n";


/* Runs one check into the next slot; a check that cannot read what it
 * needs becomes an inconclusive verdict carrying the reason. */
static void add(verdicts *vs, const char *claim, int status)
{
    mot_verdict *v = &vs->v[vs->n];
    if (status != MOT_OK) {
        json_decref(v->numbers); /* the check may have started filling it */
        mot_verdict_init(v, claim);
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "cannot check: %s", mot_status_message());
    }
    vs->n++;
}

static mot_runrec *load_if(const char *dir, const char *sub)
{
    char *path = mot_io_join(dir, sub);
    mot_runrec *r = NULL;
    char *summary = path ? mot_io_join(path, "summary.json") : NULL;
    if (summary && access(summary, F_OK) == 0)
        r = mot_runrec_load(path);
    free(summary);
    free(path);
    return r;
}

static void print_table(const char *dir, const verdicts *vs)
{
    printf("checks of %s\n", dir);
    printf("%-12s %-12s %s\n", "claim", "verdict", "numbers (measured vs threshold)");
    for (int i = 0; i < vs->n; i++)
        printf("%-12s %-12s %s\n", vs->v[i].claim, mot_verdict_name(vs->v[i].verdict), vs->v[i].reason);
}

static int write_json(const char *dir, const verdicts *vs)
{
    json_t *arr = json_array();
    for (int i = 0; i < vs->n; i++)
        json_array_append_new(arr, mot_verdict_json(&vs->v[i]));
    json_t *j = json_pack("{s:s, s:o}", "dir", dir, "verdicts", arr);
    char *path = mot_io_join(dir, "checks.json");
    int status = j && path ? mot_io_write_json(path, j) : MOT_ERROR(MOT_ENOMEM, "cannot write checks.json");
    free(path);
    json_decref(j);
    return status;
}

/* One T(eps) series: its points go to rates.csv, its fits to rate_fits.csv. */
static void rate_rows(FILE *rates, FILE *fits, const char *source, const json_t *eps_arr,
                      const json_t *T_arr)
{
    size_t n = json_array_size(eps_arr);
    if (n == 0 || n != json_array_size(T_arr))
        return;
    double *eps = malloc(n * sizeof *eps), *T = malloc(n * sizeof *T);
    for (size_t k = 0; k < n && eps && T; k++) {
        eps[k] = json_number_value(json_array_get(eps_arr, k));
        T[k] = json_number_value(json_array_get(T_arr, k));
        fprintf(rates, "%s,%zu,%.17g,%.17g,%.17g\n", source, k + 1, eps[k], log10(1 / eps[k]), T[k]);
    }
    mot_rate_fit_result f;
    if (eps && T && n >= 3 && mot_rate_fit(T, eps, n, &f) == MOT_OK)
        fprintf(fits, "%s,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%s\n", source, f.b_log, f.a_log,
                f.r2_log, f.b_inv, f.a_inv, f.r2_inv, mot_rate_name(f.kind));
    free(eps);
    free(T);
}

/* rates.csv (source,k,eps,log10_inv_eps,T) and rate_fits.csv (source,
 * slope_log,intercept_log,r2_log,slope_inv,intercept_inv,r2_inv,verdict) for
 * the figures: MoT's and single's stage III windows and the replay's expert
 * with the longest T(eps) series. */
static int write_rates(const char *dir, const verdicts *vs)
{
    mot_io_file fr, ff;
    int status = mot_io_open_in(&fr, dir, "rates.csv");
    if (status == MOT_OK && (status = mot_io_open_in(&ff, dir, "rate_fits.csv")) != MOT_OK)
        mot_io_abort(&fr);
    if (status)
        return status;
    fputs("source,k,eps,log10_inv_eps,T\n", fr.fp);
    fputs("source,slope_log,intercept_log,r2_log,slope_inv,intercept_inv,r2_inv,verdict\n", ff.fp);
    for (int i = 0; i < vs->n; i++) {
        const json_t *num = vs->v[i].numbers;
        if (!strcmp(vs->v[i].claim, "theorem1") || !strcmp(vs->v[i].claim, "separation")) {
            rate_rows(fr.fp, ff.fp, vs->v[i].claim[0] == 't' ? "mot" : "single",
                      json_object_get(num, "eps"), json_object_get(num, "T_eps"));
        } else if (!strcmp(vs->v[i].claim, "hp_replay")) {
            const json_t *experts = json_object_get(num, "experts"), *best = NULL;
            for (size_t e = 0; e < json_array_size(experts); e++) {
                const json_t *x = json_array_get(experts, e);
                if (!best || json_array_size(json_object_get(x, "eps"))
                                 > json_array_size(json_object_get(best, "eps")))
                    best = x;
            }
            if (best)
                rate_rows(fr.fp, ff.fp, "mot_hp", json_object_get(best, "eps"), json_object_get(best, "T_eps"));
        }
    }
    status = mot_io_commit(&fr);
    int st2 = mot_io_commit(&ff);
    return status ? status : st2;
}

int check_sweep_dir(const char *dir);

/* Runs every applicable check on DIR into vs and writes checks.json,
 * rates.csv and rate_fits.csv. Returns EXIT_OK, or EXIT_USAGE after
 * printing why DIR cannot be checked. */
long hp_epochs = 200000;

int check_collect(const char *dir, unsigned bits, verdicts *vs)
{
    char *cmp = mot_io_join(dir, "compare.csv");
    int is_compare = cmp && access(cmp, F_OK) == 0;
    free(cmp);
    mot_runrec *mot = NULL, *single = NULL, *noattn = NULL, *other = NULL;
    if (is_compare) {
        mot = load_if(dir, "mot"), single = load_if(dir, "single"), noattn = load_if(dir, "moe_noattn");
        other = load_if(dir, "moe_ffn");
        if (!mot && !single && !noattn && !other) {
            cli_error("%s: a compare directory without any finished run", dir);
            return EXIT_USAGE;
        }
    } else {
        mot_runrec *r = mot_runrec_load(dir);
        if (!r) {
            cli_error("%s", mot_status_message());
            return EXIT_USAGE;
        }
        switch (r->cfg.model) {
        case MOT_MODEL_MOT: mot = r; break;
        case MOT_MODEL_SINGLE: single = r; break;
        case MOT_MODEL_MOE_NOATTN: noattn = r; break;
        default: other = r;
        }
    }
    memset(vs, 0, sizeof *vs); /* every slot starts empty: add() may free it */
    const mot_runrec *gated = mot ? mot : other;
    if (gated) {
        add(vs, "definition2", mot_check_definition2(gated, &vs->v[vs->n]));
        add(vs, "prop1", mot_check_prop1(gated, &vs->v[vs->n]));
    }
    if (mot)
        add(vs, "prop2", mot_check_prop2(mot, &vs->v[vs->n]));
    if (mot || noattn)
        add(vs, "lemma1", mot_check_lemma1(mot, noattn, &vs->v[vs->n]));
    if (mot) {
        add(vs, "theorem1", mot_check_theorem1(mot, &vs->v[vs->n]));
        unsigned b = bits ? bits : (unsigned)mot->cfg.precision;
        add(vs, "hp_replay", mot_check_hp_replay(mot, b, hp_epochs, &vs->v[vs->n]));
    }
    if (single)
        add(vs, "separation", mot_check_separation(single, &vs->v[vs->n]));
    int status = write_json(dir, vs);
    if (status == MOT_OK)
        status = write_rates(dir, vs);
    mot_runrec_free(mot), mot_runrec_free(single), mot_runrec_free(noattn), mot_runrec_free(other);
    return status ? cli_fail(status) : EXIT_OK;
}

/* Checks DIR and prints; returns the exit code. bits = 0: the run's own. */
int check_dir(const char *dir, unsigned bits)
{
    char *sweep_csv = mot_io_join(dir, "sweep.csv");
    int is_sweep = sweep_csv && access(sweep_csv, F_OK) == 0;
    free(sweep_csv);
    if (is_sweep)
        return check_sweep_dir(dir);   /* sweep_check.c: the sweep-level checks */
    verdicts vs;
    int code = check_collect(dir, bits, &vs);
    if (code)
        return code;
    print_table(dir, &vs);
    int all = 1;
    for (int i = 0; i < vs.n; i++) {
        all = all && vs.v[i].verdict == MOT_VERDICT_HOLDS;
        mot_verdict_free(&vs.v[i]);
    }
    return all ? EXIT_OK : EXIT_FAIL;
}

int cmd_check(int argc, char **argv)
{
    const char *dir = NULL;
    unsigned bits = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--hp-epochs")) {
            char *end;
            errno = 0;
            long n = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
            if (i + 1 >= argc || errno || *end || n < 1 || n > 1000000000L) {
                cli_error("--hp-epochs must be an integer in 1..1000000000 (got \"%s\")",
                          i + 1 < argc ? argv[i + 1] : "");
                return EXIT_USAGE;
            }
            hp_epochs = n, i++;
        } else if (!strcmp(argv[i], "--precision")) {
            char *end;
            errno = 0;
            long b = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
            if (i + 1 >= argc || errno || *end || b < 53 || b > 100000) {
                cli_error("--precision must be an integer in 53..100000 (got \"%s\")",
                          i + 1 < argc ? argv[i + 1] : "");
                return EXIT_USAGE;
            }
            bits = (unsigned)b, i++;
        } else if (argv[i][0] == '-') {
            cli_error("unknown option %s (see mot check --help)", argv[i]);
            return EXIT_USAGE;
        } else if (dir) {
            cli_error("one DIR expected, got %s and %s", dir, argv[i]);
            return EXIT_USAGE;
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        cli_error("missing DIR (see mot check --help)");
        return EXIT_USAGE;
    }
    return check_dir(dir, bits);
}

/* sweep_check.c: `mot check SWEEP_DIR`, the sweep-level checks of
 * CHECKS.md on DIR/sweep.csv (proofs-check/scaling.c computes them): the
 * T1-scaling fit and the coverage table, printed, written to
 * DIR/sweep_checks.json, and the fitted exponents to DIR/sweep_fit.csv for
 * plotting. cmd_check.c calls this when DIR holds a sweep.csv. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "cli.h"
#include "io.h"
#include "scaling.h"
#include "status.h"

int check_sweep_dir(const char *dir);

static void print_fit(const mot_scaling_fit *fit)
{
    printf("\nT1 scaling: log T_spec = c + a_eta log lr_scale + a_sigma log sigma0 + a_M log M "
           "(%zu of %zu runs)\n", fit->used, fit->rows);
    printf("  %-9s %-8s %10s %10s %7s  %s\n", "key", "exponent", "value", "stderr", "paper", "");
    for (int k = 0; k < MOT_SCALING_TERMS; k++) {
        const mot_scaling_term *t = &fit->term[k];
        if (isfinite(t->exponent))
            printf("  %-9s %-8s %10.4f %10.4f %+7.2f  %s (%zu values)\n", t->key, t->name, t->exponent, t->se,
                   t->paper, t->consistent ? "consistent" : "inconsistent", t->values);
        else
            printf("  %-9s %-8s %10s %10s %+7.2f  %s\n", t->key, t->name, "-", "-", t->paper,
                   !t->swept ? "not swept" : t->values < 2 ? "one value left: dropped" : "not fitted");
    }
    if (isfinite(fit->c))
        printf("  %-9s %-8s %10.4f %10.4f %7s  R^2 %.4f, %ld degrees of freedom\n", "c", "", fit->c, fit->c_se,
               "", fit->r2, fit->dof);
}

static void print_coverage(const mot_coverage *cov)
{
    printf("\ncoverage of every class at T1, per M (random: a uniformly random class per expert)\n");
    printf("  %4s %5s %11s %6s %8s %7s %8s\n", "N", "M", "M/(N ln N)", "runs", "covered", "share", "random");
    for (size_t i = 0; i < cov->n; i++) {
        const mot_coverage_row *r = &cov->row[i];
        printf("  %4d %5d %11.3f %6zu %8zu %7.3f %8.3f\n", r->N, r->M, r->x, r->runs, r->covered, r->share,
               r->random);
    }
}

int check_sweep_dir(const char *dir)
{
    char *csv = mot_io_join(dir, "sweep.csv"), *json = mot_io_join(dir, "sweep_checks.json");
    char *fit_csv = mot_io_join(dir, "sweep_fit.csv");
    mot_sweep_csv *t = csv ? mot_sweep_csv_read(csv) : NULL;
    mot_coverage *cov = malloc(sizeof *cov);
    if (!t || !cov || !json || !fit_csv) {
        cli_error("%s", t ? "out of memory" : mot_status_message());
        free(csv), free(json), free(fit_csv), free(cov);
        mot_sweep_csv_free(t);
        return t ? EXIT_FAIL : EXIT_USAGE;
    }
    mot_scaling_fit fit;
    mot_verdict v[2];
    if (mot_check_t1_scaling(t, &fit, &v[0]) != MOT_OK)
        mot_verdict_set(&v[0], MOT_VERDICT_INCONCLUSIVE, "cannot check: %s", mot_status_message());
    if (mot_check_coverage(t, cov, &v[1]) != MOT_OK)
        mot_verdict_set(&v[1], MOT_VERDICT_INCONCLUSIVE, "cannot check: %s", mot_status_message());
    printf("checks of %s (%zu runs in sweep.csv)\n", dir, t->rows);
    printf("%-12s %-12s %s\n", "claim", "verdict", "numbers (measured vs threshold)");
    for (int i = 0; i < 2; i++)
        printf("%-12s %-12s %s\n", v[i].claim, mot_verdict_name(v[i].verdict), v[i].reason);
    print_fit(&fit);
    print_coverage(cov);
    json_t *arr = json_array();
    for (int i = 0; i < 2; i++)
        json_array_append_new(arr, mot_verdict_json(&v[i]));
    json_t *j = json_pack("{s:s, s:o}", "dir", dir, "verdicts", arr);
    int status = j ? mot_io_write_json(json, j) : MOT_ERROR(MOT_ENOMEM, "cannot write %s", json);
    if (status == MOT_OK)
        status = mot_scaling_write_fit(fit_csv, &fit);
    int all = v[0].verdict == MOT_VERDICT_HOLDS && v[1].verdict == MOT_VERDICT_HOLDS;
    json_decref(j);
    mot_verdict_free(&v[0]), mot_verdict_free(&v[1]);
    mot_sweep_csv_free(t);
    free(csv), free(json), free(fit_csv), free(cov);
    if (status)
        return cli_fail(status);
    return all ? EXIT_OK : EXIT_FAIL;
}

/* test_theorem1.c: the rate window and the Theorem 1 checks on constructed
 * curves whose rate is known: a geometric decay with a small noise floor
 * must read as logarithmic with its contraction factor recovered, 1/(1+t)
 * down to a noise floor as inverse, 1/(1+t) alone (whose plateau a finite
 * window cannot resolve) as not logarithmic, a flat curve and a curve barely above its noise as inconclusive.
 * Then constructed run directories (config.json, metrics.csv, summary.json)
 * take mot_check_theorem1 and mot_check_separation through holds, fails,
 * inconclusive and their errors. */
#define _POSIX_C_SOURCE 200809L
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "assert_close.h"
#include "check.h"
#include "config.h"
#include "io.h"
#include "status.h"
#include "theorem1.h"

#define N_CURVE 1000
#define RHO 0.95
#define NOISE 1e-9

/* 0.3 + RHO^t plus Gaussian noise of standard deviation NOISE. */
static void geometric(double *L, size_t n)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, test_seed());
    for (size_t t = 0; t < n; t++)
        L[t] = 0.3 + pow(RHO, (double)t) + gsl_ran_gaussian(r, NOISE);
    gsl_rng_free(r);
}

/* 1/(1+t) without a plateau in sight: on a finite window the plateau is
 * estimated from the window itself (L_inf = 1.05/n), so T(eps) = 1/(eps +
 * L_inf) - 1 saturates at the small eps and neither fit reaches 0.95. */
static void inverse(double *L, size_t n)
{
    for (size_t t = 0; t < n; t++)
        L[t] = 1.0 / (1.0 + (double)t);
}

/* 0.1 + 1/(1+t) observed down to a noise floor of INV_NOISE over INV_N
 * epochs: the plateau is then resolved (1/INV_N well below 5 INV_NOISE) and
 * T(eps) follows 1/eps until the noise. */
#define INV_N 4000
#define INV_NOISE 1e-3
static void inverse_noisy(double *L, size_t n)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, test_seed());
    for (size_t t = 0; t < n; t++)
        L[t] = 0.1 + 1.0 / (1.0 + (double)t) + gsl_ran_gaussian(r, INV_NOISE);
    gsl_rng_free(r);
}

static double num(const mot_verdict *v, const char *key)
{
    json_t *j = json_object_get(v->numbers, key);
    return json_is_number(j) ? json_number_value(j) : NAN;
}

static void test_geometric_is_logarithmic(void)
{
    static double L[N_CURVE];
    static mot_rate_window_result w;
    geometric(L, N_CURVE);
    CU_ASSERT_EQUAL_FATAL(mot_rate_window(L, N_CURVE, &w), MOT_OK);
    CU_ASSERT_EQUAL(w.n_tail, N_CURVE / 10);
    CU_ASSERT(fabs(w.L_inf - 0.3) < 1e-9);
    CU_ASSERT(w.s > 0.5 * NOISE && w.s < 2 * NOISE);
    CU_ASSERT(w.n_eps >= 30 && !w.truncated);
    CU_ASSERT(w.fitted);
    CU_ASSERT_EQUAL(w.verdict, MOT_RATE_LOGARITHMIC);
    CU_ASSERT(w.fit.r2_log >= 0.99 && w.fit.r2_inv < w.fit.r2_log);
    /* T grows by 1 / ln(1/RHO) epochs per unit of ln(1/eps) */
    double slope = 1 / -log(RHO);
    ASSERT_CLOSE(&w.fit.b_log, &slope, 1, 0.02, 0);
    double rho = RHO;
    ASSERT_CLOSE(&w.rho, &rho, 1, 1e-3, 0);
    CU_ASSERT(w.rho_r2 > 0.999);
    for (size_t k = 1; k < w.n_eps; k++)
        CU_ASSERT(w.eps[k] < w.eps[k - 1] && w.T[k] >= w.T[k - 1]);
}

static void test_inverse_is_inverse(void)
{
    static double L[INV_N];
    static mot_rate_window_result w;
    inverse_noisy(L, INV_N);
    CU_ASSERT_EQUAL_FATAL(mot_rate_window(L, INV_N, &w), MOT_OK);
    CU_ASSERT(w.fitted && w.n_eps >= 8);
    CU_ASSERT_EQUAL(w.verdict, MOT_RATE_INVERSE);
    CU_ASSERT(w.fit.r2_inv >= MOT_RATE_R2_MIN && w.fit.r2_log < 0.9);
    /* no single contraction factor: the log-gap line fits badly */
    CU_ASSERT(w.rho_r2 < 0.9);
    /* without the noise floor the plateau is not resolved: not logarithmic */
    inverse(L, 1000);
    CU_ASSERT_EQUAL_FATAL(mot_rate_window(L, 1000, &w), MOT_OK);
    CU_ASSERT(w.fitted && w.n_eps >= 10);
    CU_ASSERT(w.verdict != MOT_RATE_LOGARITHMIC && w.fit.r2_log < MOT_RATE_R2_MIN);
}

/* A curve reaching its plateau exactly: 0.25 + 2^-t is exact in double up
 * to t = 54 and equals 0.25 from t = 55, so s = 0 and the rounding floor
 * decides where the grid stops. */
static void test_exact_plateau(void)
{
    static double L[200];
    static mot_rate_window_result w;
    for (size_t t = 0; t < 200; t++)
        L[t] = 0.25 + ldexp(1, -(int)t);
    CU_ASSERT_EQUAL_FATAL(mot_rate_window(L, 200, &w), MOT_OK);
    CU_ASSERT_EQUAL(w.s, 0);
    CU_ASSERT_EQUAL(w.L_inf, 0.25);
    CU_ASSERT_EQUAL(w.floor, 5 * DBL_EPSILON * 0.25);
    CU_ASSERT(w.n_eps >= 60 && w.eps[w.n_eps - 1] > w.floor);
    CU_ASSERT_EQUAL(w.verdict, MOT_RATE_LOGARITHMIC);
    double half = 0.5;
    ASSERT_CLOSE(&w.rho, &half, 1, 1e-12, 0);
    /* a plateau at exactly 0 has no rounding floor: the grid fills up */
    for (size_t t = 0; t < 200; t++)
        L[t] = t < 40 ? ldexp(1, -(int)t) : 0;
    CU_ASSERT_EQUAL_FATAL(mot_rate_window(L, 200, &w), MOT_OK);
    CU_ASSERT_EQUAL(w.floor, DBL_MIN);
    CU_ASSERT(w.truncated && w.n_eps == MOT_RATE_MAX_EPS);
}

static void test_flat_is_inconclusive(void)
{
    static double L[300];
    static mot_rate_window_result w;
    for (size_t t = 0; t < 300; t++)
        L[t] = 0.2;
    CU_ASSERT_EQUAL_FATAL(mot_rate_window(L, 300, &w), MOT_OK);
    CU_ASSERT_EQUAL(w.n_eps, 0);
    CU_ASSERT(!w.fitted);
    CU_ASSERT_EQUAL(w.verdict, MOT_RATE_INCONCLUSIVE);
    CU_ASSERT(isnan(w.rho));
}

/* A drop of 0.1 into noise of about 0.01: eps_1 = 0.056 clears 5 s, eps_2 =
 * 0.032 does not. Also the single-point window. */
static void test_few_points_inconclusive(void)
{
    static double L[100];
    static mot_rate_window_result w;
    L[0] = 0.1;
    for (size_t t = 1; t < 100; t++)
        L[t] = t % 2 ? 0.01 : -0.01;
    CU_ASSERT_EQUAL_FATAL(mot_rate_window(L, 100, &w), MOT_OK);
    CU_ASSERT(w.s > 0.01 && w.s < 0.011);
    CU_ASSERT_EQUAL(w.n_eps, 1);
    CU_ASSERT(!w.fitted);
    CU_ASSERT_EQUAL(w.verdict, MOT_RATE_INCONCLUSIVE);
    CU_ASSERT_EQUAL_FATAL(mot_rate_window(L, 1, &w), MOT_OK);
    CU_ASSERT(w.n_tail == 1 && w.s == 0 && w.n_eps == 0 && !w.fitted);
}

static void test_window_errors(void)
{
    static mot_rate_window_result w;
    double L[4] = {1, 0.5, NAN, 0.1}, t[4] = {0, 1, 1, 2};
    CU_ASSERT_EQUAL(mot_rate_window(L, 0, &w), MOT_EINVAL);
    CU_ASSERT_EQUAL(mot_rate_window(L, 4, &w), MOT_EINVAL);
    CU_ASSERT(strstr(mot_status_message(), "point 2") != NULL);
    L[2] = 0.25;
    CU_ASSERT_EQUAL(mot_rate_window_at(t, L, 4, &w), MOT_EINVAL);
    CU_ASSERT(strstr(mot_status_message(), "do not increase") != NULL);
}

/* ---- constructed run directories ---------------------------------------- */

typedef struct {
    mot_model_kind model;
    mot_schedule schedule;
    int T2, T, log_every;
    void (*curve)(double *L, size_t n); /* the stage III test loss, from T2 */
    int stop_at;    /* > 0: the last recorded epoch (a run that stopped) */
    int skip_T2;    /* 1: no row for epoch T2 */
    int nan_at;     /* > 0: a NaN test loss at this epoch */
} run_spec;

static char *make_run(const run_spec *s)
{
    char tmpl[] = "/tmp/test_theorem1.XXXXXX";
    char *dir = mkdtemp(tmpl);
    CU_ASSERT_FATAL(dir != NULL);
    dir = strdup(dir);
    mot_config c;
    mot_config_defaults(&c);
    c.model = s->model, c.schedule = s->schedule;
    c.T1 = 5, c.T2 = s->T2, c.T = s->T, c.log_every = s->log_every;
    json_t *j = mot_config_to_json(&c);
    char *path = mot_io_join(dir, "config.json");
    CU_ASSERT_FATAL(mot_io_write_json(path, j) == MOT_OK);
    json_decref(j), free(path);
    path = mot_io_join(dir, "summary.json");
    FILE *f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("{}\n", f), fclose(f), free(path);

    size_t n3 = (size_t)(s->T - s->T2 + 1);
    double *L = malloc(n3 * sizeof *L);
    s->curve(L, n3);
    path = mot_io_join(dir, "metrics.csv");
    f = fopen(path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs("epoch,stage,train_loss,test_loss\n", f);
    int last = s->stop_at > 0 ? s->stop_at : s->T;
    for (int t = 0; t <= last; t++) {
        if (!(t % s->log_every == 0 || t == c.T1 || t == s->T2 || t == s->T))
            continue;
        if (t == s->T2 && s->skip_T2)
            continue;
        int stage = t < c.T1 ? 1 : t < s->T2 ? 2 : 3;
        double loss = t < s->T2 ? L[0] + 0.01 * (s->T2 - t) : L[t - s->T2];
        if (t == s->nan_at)
            loss = NAN;
        fprintf(f, "%d,%d,%.17g,%.17g\n", t, stage, loss, loss);
    }
    fclose(f), free(path), free(L);
    return dir;
}

static void remove_run(char *dir)
{
    static const char *files[] = {"config.json", "summary.json", "metrics.csv"};
    for (size_t i = 0; i < 3; i++) {
        char *p = mot_io_join(dir, files[i]);
        remove(p);
        free(p);
    }
    rmdir(dir);
    free(dir);
}

/* Loads the run of `s`, runs `check` on it; returns its status, fills v. */
static int check_run(const run_spec *s, int (*check)(const mot_runrec *, mot_verdict *),
                     mot_verdict *v)
{
    char *dir = make_run(s);
    mot_runrec *r = mot_runrec_load(dir);
    CU_ASSERT_FATAL(r != NULL);
    int status = check(r, v);
    mot_runrec_free(r);
    remove_run(dir);
    return status;
}

static void flat(double *L, size_t n)
{
    for (size_t t = 0; t < n; t++)
        L[t] = 0.05;
}

static void test_theorem1_run(void)
{
    mot_verdict v;
    run_spec s = {MOT_MODEL_MOT, MOT_SCHED_THREE_STAGE, 20, 20 + N_CURVE - 1, 1, geometric, 0, 0, 0};
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_theorem1, &v), MOT_OK);
    CU_ASSERT_EQUAL(v.verdict, MOT_VERDICT_HOLDS);
    CU_ASSERT_EQUAL(num(&v, "t0"), 20);
    CU_ASSERT(fabs(num(&v, "rho") - RHO) < 1e-3 * RHO);
    CU_ASSERT(num(&v, "log_r2") >= num(&v, "r2_min") && num(&v, "eps_points") >= 30);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(v.numbers, "T_eps")), num(&v, "eps_points"));
    CU_ASSERT(strstr(v.reason, "logarithmic") != NULL);
    mot_verdict_free(&v);

    s.curve = inverse_noisy, s.T = 20 + INV_N - 1; /* the O(1/eps) curve must not pass */
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_theorem1, &v), MOT_OK);
    CU_ASSERT_EQUAL(v.verdict, MOT_VERDICT_FAILS);
    CU_ASSERT(strstr(v.reason, "inverse") != NULL);
    mot_verdict_free(&v);

    s.curve = inverse, s.T = 20 + N_CURVE - 1; /* nor the noiseless one */
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_theorem1, &v), MOT_OK);
    CU_ASSERT_EQUAL(v.verdict, MOT_VERDICT_FAILS);
    CU_ASSERT(num(&v, "log_r2") < num(&v, "r2_min"));
    mot_verdict_free(&v);

    s.curve = flat;
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_theorem1, &v), MOT_OK);
    CU_ASSERT_EQUAL(v.verdict, MOT_VERDICT_INCONCLUSIVE);
    CU_ASSERT(strstr(v.reason, "need 3") != NULL);
    mot_verdict_free(&v);

    /* recorded every 7 epochs: the window uses the recorded epochs */
    s.curve = geometric, s.log_every = 7;
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_theorem1, &v), MOT_OK);
    CU_ASSERT_EQUAL(v.verdict, MOT_VERDICT_HOLDS);
    CU_ASSERT(fabs(num(&v, "rho") - RHO) < 1e-3 * RHO);
    json_t *T = json_object_get(v.numbers, "T_eps");
    size_t k;
    json_t *x;
    int on_grid = 1;
    json_array_foreach(T, k, x) {
        int e = 20 + (int)json_number_value(x);
        on_grid = on_grid && (e % 7 == 0 || e == 20 || e == s.T);
    }
    CU_ASSERT(on_grid);
    mot_verdict_free(&v);
}

static void test_separation_run(void)
{
    mot_verdict v;
    run_spec s = {MOT_MODEL_SINGLE, MOT_SCHED_THREE_STAGE, 20, 20 + INV_N - 1, 1, inverse_noisy, 0, 0, 0};
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_separation, &v), MOT_OK);
    CU_ASSERT_EQUAL(v.verdict, MOT_VERDICT_HOLDS);
    CU_ASSERT(num(&v, "inv_r2") >= num(&v, "r2_min"));
    CU_ASSERT(json_is_string(json_object_get(v.numbers, "rate")));
    mot_verdict_free(&v);

    s.curve = inverse, s.T = 20 + N_CURVE - 1; /* not logarithmic either */
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_separation, &v), MOT_OK);
    CU_ASSERT_EQUAL(v.verdict, MOT_VERDICT_HOLDS);
    mot_verdict_free(&v);

    s.curve = geometric; /* a single transformer converging linearly: no separation */
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_separation, &v), MOT_OK);
    CU_ASSERT_EQUAL(v.verdict, MOT_VERDICT_FAILS);
    mot_verdict_free(&v);

    s.curve = flat;
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_separation, &v), MOT_OK);
    CU_ASSERT_EQUAL(v.verdict, MOT_VERDICT_INCONCLUSIVE);
    mot_verdict_free(&v);
}

/* Runs the checks cannot measure: inconclusive with the reason, or an error. */
static void test_run_refusals(void)
{
    mot_verdict v;
    run_spec s = {MOT_MODEL_MOT, MOT_SCHED_THREE_STAGE, 20, 220, 1, geometric, 0, 0, 0};
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_separation, &v), MOT_OK);
    CU_ASSERT(v.verdict == MOT_VERDICT_INCONCLUSIVE && strstr(v.reason, "model = single"));
    mot_verdict_free(&v);
    s.model = MOT_MODEL_SINGLE;
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_theorem1, &v), MOT_OK);
    CU_ASSERT(v.verdict == MOT_VERDICT_INCONCLUSIVE && strstr(v.reason, "model = mot"));
    mot_verdict_free(&v);
    s.model = MOT_MODEL_MOT, s.schedule = MOT_SCHED_JOINT;
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_theorem1, &v), MOT_OK);
    CU_ASSERT(v.verdict == MOT_VERDICT_INCONCLUSIVE && strstr(v.reason, "joint"));
    mot_verdict_free(&v);
    s.schedule = MOT_SCHED_THREE_STAGE, s.T2 = 220;
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_theorem1, &v), MOT_OK);
    CU_ASSERT(v.verdict == MOT_VERDICT_INCONCLUSIVE && strstr(v.reason, "no stage III"));
    mot_verdict_free(&v);
    s.T2 = 20, s.stop_at = 150;
    CU_ASSERT_EQUAL_FATAL(check_run(&s, mot_check_theorem1, &v), MOT_OK);
    CU_ASSERT(v.verdict == MOT_VERDICT_INCONCLUSIVE && strstr(v.reason, "stopped at epoch 150"));
    mot_verdict_free(&v);
    s.stop_at = 0, s.skip_T2 = 1;
    CU_ASSERT_EQUAL(check_run(&s, mot_check_theorem1, &v), MOT_EINVAL);
    CU_ASSERT(strstr(mot_status_message(), "lacks epoch T2") != NULL);
    mot_verdict_free(&v);
    s.skip_T2 = 0, s.nan_at = 100;
    CU_ASSERT_EQUAL(check_run(&s, mot_check_theorem1, &v), MOT_EINVAL);
    CU_ASSERT(strstr(mot_status_message(), "not finite") != NULL);
    mot_verdict_free(&v);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("rate window", NULL, NULL);
    CU_add_test(s, "geometric decay plus noise: logarithmic, rho recovered", test_geometric_is_logarithmic);
    CU_add_test(s, "1/(1+t): inverse, or at least not logarithmic", test_inverse_is_inverse);
    CU_add_test(s, "a plateau reached exactly (s = 0)", test_exact_plateau);
    CU_add_test(s, "a flat curve: inconclusive", test_flat_is_inconclusive);
    CU_add_test(s, "fewer than 3 eps points: inconclusive", test_few_points_inconclusive);
    CU_add_test(s, "empty, non-finite and disordered windows are refused", test_window_errors);
    CU_pSuite r = CU_add_suite("theorem 1 checks", NULL, NULL);
    CU_add_test(r, "theorem1 on constructed MoT runs", test_theorem1_run);
    CU_add_test(r, "separation on constructed single runs", test_separation_run);
    CU_add_test(r, "runs the window cannot be measured on", test_run_refusals);
    return run_cunit_suites();
}

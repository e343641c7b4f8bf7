/* test_replay.c: the high-precision replay of stage III and the rate fit.
 * Least squares problems with a known Hessian (diagonal, rotated by an exact
 * Hadamard matrix, rank-deficient, with gate factors) against
 * max|1 - eta lambda|; the rate fit on geometric and 1/t curves; the
 * verdict on constructed expert results (holds, and each way to fail or be
 * inconclusive); and the replay of a real run whose stage III is exactly
 * the replayed descent (no exploration noise, frozen router), compared with
 * its recorded training loss. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>

#include "assert_close.h"
#include "check.h"
#include "io.h"
#include "lemma1.h"
#include "ratefit.h"
#include "replay.h"
#include "rng.h"
#include "run.h"
#include "status.h"

static const char *dir; /* this suite's temporary directory */

static int suite_init(void)
{
    return (dir = test_tmpdir_make("test_replay")) ? 0 : -1;
}

static int suite_clean(void)
{
    return test_tmpdir_remove();
}

/* A least squares problem whose Hessian (1/n) sum a^2 z z^T has the
 * eigenvalues lam (k of them, k <= d) along the columns of Q (d, d; NULL:
 * the axes): for each i, samples z = +-c_i q_i with labels +-1, a = `a`. */
typedef struct {
    size_t n, d;
    double *Zd, *y, *a;
    mpfr_t *Zm;
} problem;

static problem make_problem(const double *lam, size_t k, size_t d, const double *Q, double a)
{
    problem p = {.n = 2 * k, .d = d};
    p.Zd = calloc(p.n * d, sizeof *p.Zd);
    p.y = malloc(p.n * sizeof *p.y);
    p.a = a == 1 ? NULL : malloc(p.n * sizeof *p.a);
    for (size_t i = 0; i < k; i++) {
        double c = sqrt(lam[i] * (double)p.n / 2) / a;
        for (int s = 0; s < 2; s++) {
            size_t row = 2 * i + (size_t)s;
            double sign = s ? -1.0 : 1.0;
            for (size_t j = 0; j < d; j++)
                p.Zd[row * d + j] = sign * c * (Q ? Q[j * d + i] : (double)(j == i));
            p.y[row] = sign;
            if (p.a)
                p.a[row] = a;
        }
    }
    p.Zm = mot_hp_alloc(p.n * d, 256);
    for (size_t i = 0; i < p.n * d; i++)
        mpfr_set_d(p.Zm[i], p.Zd[i], MPFR_RNDN);
    return p;
}

static void free_problem(problem *p)
{
    free(p->Zd), free(p->y), free(p->a);
    mot_hp_free(p->Zm, p->n * p->d);
}

static void random_start(double *theta, size_t d)
{
    gsl_rng *r = mot_rng_alloc(test_seed(), "replay-test");
    for (size_t i = 0; i < d; i++)
        theta[i] = gsl_ran_gaussian(r, 1.0);
    gsl_rng_free(r);
}

static double rho_of(const double *lam, size_t k, double eta)
{
    double rho = 0;
    for (size_t i = 0; i < k; i++)
        rho = fmax(rho, fabs(1 - eta * lam[i]));
    return rho;
}

/* Runs the descent on p and checks it against the known spectrum. */
static void check_descent(const problem *p, const double *lam, size_t k, double eta, const char *what,
                          mot_replay_expert *keep)
{
    double theta0[16];
    random_start(theta0, p->d);
    mot_replay_expert x;
    CU_ASSERT_FATAL(mot_hp_descent(&x, (const mpfr_t *)p->Zm, p->Zd, p->a, p->y, p->n, p->d, theta0,
                                   eta, 1e-40, 100000, 256) == MOT_OK);
    double rho = rho_of(lam, k, eta);
    printf("\n    %s: rank %d, mu %.6g, lambda %.6g, rho %.9g measured %.9g, %ld epochs, "
           "double within %.3g over %ld epochs, T(eps) %s (R^2 %.5f vs %.3f, slope %.4g)", what,
           x.rank, x.mu, x.lambda, rho, x.rho_meas, x.epochs, x.double_rel_diff, x.double_epochs,
           mot_rate_name(x.fit.kind), x.fit.r2_log, x.fit.r2_inv, x.fit.b_log);
    CU_ASSERT(x.rank == (int)k);
    ASSERT_CLOSE(&x.rho_meas, &rho, 1, 1e-3, 0);
    ASSERT_CLOSE(&x.rho_pred, &rho, 1, 1e-12, 0);
    CU_ASSERT(x.reached);
    CU_ASSERT(x.double_rel_diff <= 1e-9);
    CU_ASSERT(x.fit.kind == MOT_RATE_LOGARITHMIC);
    CU_ASSERT(x.n_eps == 160);
    /* the gap contracts by rho^2: T grows by 1 / (2 ln(1/rho)) per e-fold of 1/eps */
    double slope = 1 / (2 * log(1 / rho));
    ASSERT_CLOSE(&x.fit.b_log, &slope, 1, 0.1, 0); /* the early transient bends the fit */
    double predicted = x.epochs_needed;
    CU_ASSERT(x.epochs <= predicted + 50 && x.epochs >= predicted - 50);
    if (keep)
        *keep = x;
    else
        mot_replay_expert_clear(&x);
}

static void test_known_hessian(void)
{
    /* contraction set by the smallest eigenvalue */
    double lam1[] = {0.05, 0.2, 0.5, 0.9, 1.2, 1.5};
    problem p = make_problem(lam1, 6, 6, NULL, 1.0);
    check_descent(&p, lam1, 6, 1.0, "diagonal, rho from mu", NULL);
    free_problem(&p);
    /* set by the largest (an oscillating mode), rotated, with gate factors */
    double lam2[] = {0.3, 0.6, 1.0, 1.85}, Q[16];
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 4; j++)
            Q[i * 4 + j] = (__builtin_popcountl(i & j) % 2 ? -0.5 : 0.5); /* exact Hadamard / 2 */
    p = make_problem(lam2, 4, 4, Q, 0.5);
    check_descent(&p, lam2, 4, 1.0, "Hadamard-rotated, a = 0.5, rho from lambda", NULL);
    free_problem(&p);
    /* a smaller step */
    p = make_problem(lam2, 4, 4, Q, 1.0);
    check_descent(&p, lam2, 4, 0.5, "step 0.5", NULL);
    free_problem(&p);
    /* rank-deficient: 3 directions in dimension 5; mu is the smallest nonzero */
    double lam3[] = {0.1, 0.4, 0.8};
    p = make_problem(lam3, 3, 5, NULL, 1.0);
    check_descent(&p, lam3, 3, 1.0, "rank 3 of 5", NULL);
    free_problem(&p);
}

/* ---- the rate fit --------------------------------------------------------- */

static void fit_curve(const double *g, size_t len, double eps_min, mot_rate_fit_result *fit)
{
    double T[200], eps[200];
    size_t n = mot_rate_times(g, len, eps_min, T, eps, 200);
    CU_ASSERT(mot_rate_fit(T, eps, n, fit) == MOT_OK);
}

static void test_rate_fit(void)
{
    size_t len = 1000001;
    double *g = malloc(len * sizeof *g);
    for (size_t t = 0; t < 2000; t++)
        g[t] = pow(0.9, (double)t);
    mot_rate_fit_result fit;
    fit_curve(g, 2000, 1e-40, &fit);
    printf("\n    0.9^t: %s, R^2 log %.6f inverse %.4f over %zu points", mot_rate_name(fit.kind),
           fit.r2_log, fit.r2_inv, fit.n);
    CU_ASSERT(fit.kind == MOT_RATE_LOGARITHMIC);
    CU_ASSERT(fit.n == 160);
    double rho = mot_rate_contraction(g, 2000), want = 0.9;
    ASSERT_CLOSE(&rho, &want, 1, 1e-12, 0);
    for (size_t t = 0; t < len; t++)
        g[t] = 1 / (1 + (double)t);
    fit_curve(g, len, 1e-6, &fit);
    printf("; 1/(1+t): %s, R^2 log %.4f inverse %.6f over %zu points", mot_rate_name(fit.kind),
           fit.r2_log, fit.r2_inv, fit.n);
    CU_ASSERT(fit.kind == MOT_RATE_INVERSE);
    /* the grid: T(eps) is the first crossing, and the grid ends at eps_min */
    double T[4], eps[4];
    CU_ASSERT(mot_rate_times(g, len, 0.1, T, eps, 4) == 4);
    CU_ASSERT(T[0] == 1 && T[3] == 9); /* 10^-0.25 = 0.562: t = 1; 10^-1 = 0.1: t = 9 */
    CU_ASSERT(mot_rate_times(g, len, 0.1, T, eps, 2) == 2);
    /* fewer than 3 points: inconclusive; a bad eps: an error */
    CU_ASSERT(mot_rate_fit(T, eps, 2, &fit) == MOT_OK && fit.kind == MOT_RATE_INCONCLUSIVE);
    eps[1] = 0;
    CU_ASSERT(mot_rate_fit(T, eps, 2, &fit) == MOT_EINVAL);
    /* a constant T: no R^2, inconclusive */
    double Tc[3] = {5, 5, 5}, ec[3] = {1e-1, 1e-2, 1e-3};
    CU_ASSERT(mot_rate_fit(Tc, ec, 3, &fit) == MOT_OK && fit.kind == MOT_RATE_INCONCLUSIVE);
    free(g);
}

/* ---- the verdict ---------------------------------------------------------- */

static mot_verdict_kind verdict_of(mot_replay_expert *x, size_t n, long cap, const char *tag)
{
    mot_config cfg;
    mot_config_defaults(&cfg);
    mot_verdict v;
    mot_verdict_init(&v, "hp_replay");
    mot_hp_replay_verdict(x, n, &cfg, cap, &v);
    mot_verdict_kind k = v.verdict;
    printf("\n    %s: %s: %s", tag, mot_verdict_name(k), v.reason);
    mot_verdict_free(&v);
    return k;
}

static void test_verdict(void)
{
    double lam[] = {0.05, 0.2, 0.5, 0.9, 1.2, 1.5};
    problem p = make_problem(lam, 6, 6, NULL, 1.0);
    mot_replay_expert good;
    check_descent(&p, lam, 6, 1.0, "the good expert", &good);
    free_problem(&p);
    good.z_diff = 1e-16;
    mot_replay_expert x = good;
    CU_ASSERT(verdict_of(&x, 1, 100000, "good") == MOT_VERDICT_HOLDS);

    /* a T(eps) that grows like 1/eps: the curve g_t = 1/(1+t) */
    size_t len = 100001;
    double *g = malloc(len * sizeof *g), T[200], eps[200];
    for (size_t t = 0; t < len; t++)
        g[t] = 1 / (1 + (double)t);
    size_t n = mot_rate_times(g, len, 1e-5, T, eps, 200);
    CU_ASSERT(mot_rate_fit(T, eps, n, &x.fit) == MOT_OK);
    CU_ASSERT(verdict_of(&x, 1, 100000, "1/t curve") == MOT_VERDICT_FAILS);
    free(g);

    x = good, x.rho_meas = good.rho_pred * 0.99, x.rho_rel_diff = 0.01;
    CU_ASSERT(verdict_of(&x, 1, 100000, "contraction off by 1%") == MOT_VERDICT_FAILS);
    x = good, x.double_rel_diff = 1e-8;
    CU_ASSERT(verdict_of(&x, 1, 100000, "double off by 1e-8") == MOT_VERDICT_FAILS);
    x = good, x.z_diff = 1e-9;
    CU_ASSERT(verdict_of(&x, 1, 100000, "tokens off") == MOT_VERDICT_FAILS);
    x = good, x.reached = 0;
    CU_ASSERT(verdict_of(&x, 1, 100000, "hp_eps not reached") == MOT_VERDICT_INCONCLUSIVE);
    x = good, x.g0 = 0;
    CU_ASSERT(verdict_of(&x, 1, 100000, "nothing to replay") == MOT_VERDICT_INCONCLUSIVE);
    mot_replay_expert two[2] = {good, good};
    two[1].reached = 0, two[0].double_rel_diff = 1;
    CU_ASSERT(verdict_of(two, 2, 100000, "a failure beats an inconclusive") == MOT_VERDICT_FAILS);
    mot_replay_expert_clear(&good);

    /* a tiny mu with a small cap: not reached, and the reason says what it needs */
    double lam2[] = {1e-4, 0.5};
    p = make_problem(lam2, 2, 2, NULL, 1.0);
    double theta0[2] = {1, -1};
    CU_ASSERT_FATAL(mot_hp_descent(&x, (const mpfr_t *)p.Zm, p.Zd, NULL, p.y, p.n, 2, theta0, 1.0,
                                   1e-40, 5000, 256) == MOT_OK);
    x.z_diff = 0;
    CU_ASSERT(!x.reached && x.epochs == 5000);
    double need = log(1e-40) / log((1 - 1e-4) * (1 - 1e-4));
    ASSERT_CLOSE(&x.epochs_needed, &need, 1, 1e-9, 0);
    double rho = 1 - 1e-4; /* measured at the cap, the other mode long gone */
    ASSERT_CLOSE(&x.rho_meas, &rho, 1, 1e-9, 0);
    CU_ASSERT(verdict_of(&x, 1, 5000, "tiny mu") == MOT_VERDICT_INCONCLUSIVE);
    mot_replay_expert_clear(&x);
    free_problem(&p);
}

/* ---- a real run ----------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    CU_ASSERT_FATAL(in && out);
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, in)) > 0)
        CU_ASSERT_FATAL(fwrite(buf, 1, k, out) == k);
    fclose(in), fclose(out);
}

static double json_num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

/* Stages I-II of a small MoT run, then stage III as a run of its own from
 * the T2 parameters with no exploration noise and a frozen router: that
 * stage III is exactly the replayed descent, so the replay's gaps must
 * explain the recorded training loss: train(T) = train(0) - sum_e (n_e/n)
 * (gap_e(0) - gap_e(T)). */
static void test_real_run(void)
{
    mot_config cfg;
    mot_config_defaults(&cfg);
    cfg.N = 3, cfg.d = 12, cfg.L = 6, cfg.n_train = 300, cfg.n_test = 300, cfg.M = 6;
    cfg.T1 = 15, cfg.T2 = 25, cfg.T = 25;
    cfg.seed = test_seed();
    char first[320], second[320], from[400], to[400];
    snprintf(first, sizeof first, "%s/stages12", dir);
    snprintf(second, sizeof second, "%s/stage3", dir);
    mot_run_options opt = {.out_dir = first};
    mot_run_result res;
    CU_ASSERT_FATAL(mot_run(&cfg, &opt, &res) == MOT_OK);
    CU_ASSERT_FATAL(mot_io_mkdir_p(second) == MOT_OK);
    const char *names[] = {"theta", "W", "router"};
    for (int i = 0; i < 3; i++) {
        snprintf(from, sizeof from, "%s/%s_stage2.npy", first, names[i]);
        snprintf(to, sizeof to, "%s/%s_init.npy", second, names[i]);
        copy_file(from, to);
    }
    int steps = 300;
    cfg.T1 = cfg.T2 = 0, cfg.T = steps, cfg.lambda_r = 0, cfg.eta_r = 0;
    mot_run_options opt2 = {.out_dir = second, .data_dir = first, .init_dir = second};
    CU_ASSERT_FATAL(mot_run(&cfg, &opt2, &res) == MOT_OK);

    mot_runrec *r = mot_runrec_load(second);
    CU_ASSERT_FATAL(r != NULL);
    mot_verdict v;
    CU_ASSERT_FATAL(mot_check_hp_replay(r, 256, steps, &v) == MOT_OK);
    printf("\n    stage III of %d epochs: %s: %s", steps, mot_verdict_name(v.verdict), v.reason);
    const json_t *experts = json_object_get(v.numbers, "experts");
    double drop = 0, zworst = 0;
    size_t total = 0;
    for (size_t i = 0; i < json_array_size(experts); i++) {
        const json_t *o = json_array_get(experts, i);
        double ne = json_num(o, "n");
        total += (size_t)ne;
        drop += ne / cfg.n_train * (json_num(o, "gap_start") - json_num(o, "gap_end"));
        zworst = fmax(zworst, json_num(o, "z_rel_diff"));
        CU_ASSERT(json_integer_value(json_object_get(o, "epochs")) == steps);
    }
    CU_ASSERT(total == (size_t)cfg.n_train);
    CU_ASSERT(zworst <= 1e-12);
    int col = mot_table_col(r->metrics, "train_loss");
    double l0 = mot_table_at(r->metrics, 0, col), lT = mot_table_at(r->metrics, r->metrics->rows - 1, col);
    double predicted = l0 - drop;
    printf("\n    recorded train loss %.15g -> %.15g, replay predicts %.15g", l0, lT, predicted);
    ASSERT_CLOSE(&lT, &predicted, 1, 1e-10, 1e-14);
    mot_verdict_free(&v);

    /* the same run under a switch gate with global normalization goes
     * through the MPFR gate probabilities and the n_e/n step */
    r->cfg.gate = MOT_GATE_SWITCH, r->cfg.grad_norm = MOT_NORM_GLOBAL;
    CU_ASSERT(mot_check_hp_replay(r, 128, 2000, &v) == MOT_OK);
    experts = json_object_get(v.numbers, "experts");
    for (size_t i = 0; i < json_array_size(experts); i++) {
        const json_t *o = json_array_get(experts, i);
        double step = json_num(o, "step"), want = json_num(o, "n") / cfg.n_train;
        ASSERT_CLOSE(&step, &want, 1, 1e-15, 0);
    }
    mot_verdict_free(&v);
    /* logistic: nothing linear to replay */
    r->cfg.loss = MOT_LOSS_LOGISTIC;
    CU_ASSERT(mot_check_hp_replay(r, 256, steps, &v) == MOT_OK);
    CU_ASSERT(v.verdict == MOT_VERDICT_INCONCLUSIVE && strstr(v.reason, "logistic"));
    mot_verdict_free(&v);
    r->cfg.loss = MOT_LOSS_SQUARED;
    CU_ASSERT(mot_check_hp_replay(r, 256, 0, &v) == MOT_EINVAL);
    /* missing arrays: an error naming the file */
    snprintf(to, sizeof to, "%s/W_stage2.npy", second);
    remove(to);
    CU_ASSERT(mot_check_hp_replay(r, 256, steps, &v) != MOT_OK);
    CU_ASSERT(strstr(mot_status_message(), "W_stage2.npy") != NULL);
    mot_runrec_free(r);
}

int main(void)
{
    gsl_set_error_handler_off();
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("replay", suite_init, suite_clean);
    CU_add_test(s, "descent on known Hessians", test_known_hessian);
    CU_add_test(s, "rate fit: geometric and 1/t", test_rate_fit);
    CU_add_test(s, "verdict on constructed experts", test_verdict);
    CU_add_test(s, "replay of a real stage III", test_real_run);
    return run_cunit_suites();
}

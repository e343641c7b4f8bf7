/* test_lemma1.c: the attention-absent floor of Lemma 1 against three
 * independent references (the closed form for orthogonal signals, a plain
 * double computation with GSL's Cholesky, a Monte Carlo least squares fit
 * on generated samples), and mot_check_lemma1 on constructed run
 * directories that must hold, must fail, or are inconclusive. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "assert_close.h"
#include "check.h"
#include "io.h"
#include "lemma1.h"
#include "npy.h"
#include "rng.h"
#include "run.h"
#include "signals.h"
#include "status.h"
#include "store.h"

static const char *dir; /* this suite's temporary directory */

static int suite_init(void)
{
    return (dir = test_tmpdir_make("test_lemma1")) ? 0 : -1;
}

static int suite_clean(void)
{
    return test_tmpdir_remove();
}

static mot_config base_config(int N, int d, int L)
{
    mot_config c;
    mot_config_defaults(&c);
    c.N = N, c.d = d, c.L = L;
    c.rotate = 0;
    return c;
}

/* The signals of cfg (stream "signals" of the test seed). */
static void make_signals(const mot_config *cfg, double *c, double *v)
{
    gsl_rng *r = mot_rng_alloc(test_seed(), "signals");
    CU_ASSERT_FATAL(r != NULL);
    CU_ASSERT_FATAL(mot_signals_make(c, v, cfg, r) == MOT_OK);
    gsl_rng_free(r);
}

/* |floor - closed form| / closed form, in MPFR, rounded to double. */
static double closed_form_gap(const mot_config *cfg, const double *c, const double *v, double *fl)
{
    mpfr_t f, cf;
    mpfr_inits2(256, f, cf, (mpfr_ptr)0);
    CU_ASSERT(mot_lemma1_floor(cfg, c, v, 256, f, NULL) == MOT_OK);
    mot_lemma1_closed_form(cfg, cf);
    *fl = mpfr_get_d(f, MPFR_RNDN);
    mpfr_sub(f, f, cf, MPFR_RNDN);
    mpfr_div(f, f, cf, MPFR_RNDN);
    double rel = fabs(mpfr_get_d(f, MPFR_RNDN));
    mpfr_clears(f, cf, (mpfr_ptr)0);
    return rel;
}

/* An exactly orthogonal d x d matrix that is far from axis-aligned: the
 * Sylvester-Hadamard matrix of order d = 4^k divided by 2^k, entries
 * +-2^-k, exact in double. */
static void hadamard(double *Q, size_t d)
{
    double scale = 1 / sqrt((double)d); /* exact: d is a power of 4 */
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            Q[i * d + j] = (__builtin_popcountl(i & j) % 2 ? -1.0 : 1.0) * scale;
}

static void rotate_rows(double *x, size_t rows, const double *Q, size_t d)
{
    double *t = malloc(d * sizeof *t);
    for (size_t i = 0; i < rows; i++) {
        for (size_t a = 0; a < d; a++) {
            double s = 0;
            for (size_t b = 0; b < d; b++)
                s += Q[a * d + b] * x[i * d + b]; /* exact: dyadic entries, one nonzero x */
            t[a] = s;
        }
        memcpy(x + i * d, t, d * sizeof *t);
    }
    free(t);
}

/* The floor equals the closed form to 1e-30 for exactly orthonormal
 * signals, on coordinate axes or rotated by an exact Hadamard rotation,
 * for several L, sigma_p, alpha and whatever beta, kappa, gamma and class
 * weights; with the library's Haar rotation (rounded to double) it agrees
 * to the signals' orthonormality defect. */
static void test_closed_form(void)
{
    const int Ls[] = {4, 6, 8, 13};
    const double sps[] = {0.05, 0.2, 1.0}, alphas[] = {0.5, 1.0, 2.0};
    size_t N = 4, d = 16;
    double *c = malloc(N * d * sizeof *c), *v = malloc(N * d * sizeof *v), *Q = malloc(d * d * sizeof *Q);
    hadamard(Q, d);
    double worst = 0, fl;
    for (int il = 0; il < 4; il++)
        for (int is = 0; is < 3; is++)
            for (int ia = 0; ia < 3; ia++)
                for (int rot = 0; rot < 2; rot++) {
                    mot_config cfg = base_config((int)N, (int)d, Ls[il]);
                    cfg.sigma_p = sps[is], cfg.alpha = alphas[ia];
                    cfg.beta = 0.5 + il, cfg.kappa = 0.3 * is, cfg.gamma = 0.25 + ia + rot;
                    if (rot) { /* and unequal classes */
                        cfg.n_class_weights = (int)N;
                        for (size_t n = 0; n < N; n++)
                            cfg.class_weights[n] = 1.0 + (double)n;
                    }
                    make_signals(&cfg, c, v);
                    if (rot)
                        rotate_rows(c, N, Q, d), rotate_rows(v, N, Q, d);
                    worst = fmax(worst, closed_form_gap(&cfg, c, v, &fl));
                }
    printf("\n    exact signals: worst rel diff %.3g", worst);
    CU_ASSERT(worst <= 1e-30);

    /* the library's rotation: orthonormal to rounding only */
    mot_config cfg = base_config((int)N, (int)d, 8);
    cfg.rotate = 1;
    make_signals(&cfg, c, v);
    double defect = 0;
    for (size_t i = 0; i < 2 * N; i++)
        for (size_t j = 0; j <= i; j++) {
            const double *a = i < N ? c + i * d : v + (i - N) * d, *b = j < N ? c + j * d : v + (j - N) * d;
            long double s = 0;
            for (size_t k = 0; k < d; k++)
                s += (long double)a[k] * b[k];
            defect = fmax(defect, fabs((double)(s - (i == j))));
        }
    double rel = closed_form_gap(&cfg, c, v, &fl);
    printf("; Haar-rotated: rel diff %.3g, orthonormality defect %.3g", rel, defect);
    CU_ASSERT(rel <= 4 * defect + 1e-30);
    CU_ASSERT(defect > 0 && defect < 1e-14);

    /* a distractor that is a noise token (gamma = 0) has one more noise
     * token: the closed form follows (L - 2), and CHECKS.md's (L - 3) is off */
    cfg = base_config((int)N, (int)d, 8);
    cfg.gamma = 0;
    make_signals(&cfg, c, v);
    CU_ASSERT(closed_form_gap(&cfg, c, v, &fl) <= 1e-30);
    double s2 = 5 * 0.2 * 0.2;
    CU_ASSERT(fabs(fl - s2 / (2 * (1 + s2))) > 1e-3);
    cfg.geometry = MOT_GEOM_CONFLICT;
    mpfr_t cf;
    mpfr_init2(cf, 64);
    mot_lemma1_closed_form(&cfg, cf);
    CU_ASSERT(mpfr_nan_p(cf));
    mpfr_clear(cf);
    free(c), free(v), free(Q);
}

/* The same floor in plain double with GSL's Cholesky, from the derivation
 * written out again here. */
static double floor_double(const mot_config *cfg, const double *c, const double *v)
{
    size_t N = (size_t)cfg->N, d = (size_t)cfg->d;
    gsl_matrix *S = gsl_matrix_alloc(d, d);
    gsl_vector *b = gsl_vector_alloc(d), *x = gsl_vector_alloc(d);
    int sig = cfg->gamma > 0 && N > 1;
    double s2 = (sig ? cfg->L - 3 : cfg->L - 2) * cfg->sigma_p * cfg->sigma_p, total = 0, wsum = 0;
    double B = cfg->beta + cfg->kappa;
    for (size_t n = 0; n < N; n++)
        wsum += cfg->n_class_weights ? cfg->class_weights[n] : 1;
    for (size_t n = 0; n < N; n++) {
        const double *cn = c + n * d, *vn = v + n * d;
        for (size_t i = 0; i < d; i++) {
            for (size_t j = 0; j < d; j++) {
                double s = B * B * cn[i] * cn[j] + cfg->alpha * cfg->alpha * vn[i] * vn[j];
                for (size_t m = 0; sig && m < N; m++)
                    if (m != n)
                        s += cfg->gamma * cfg->gamma / (double)(N - 1) * v[m * d + i] * v[m * d + j];
                gsl_matrix_set(S, i, j, s + (i == j ? s2 : 0));
            }
            gsl_vector_set(b, i, cfg->alpha * vn[i]);
        }
        CU_ASSERT_FATAL(gsl_linalg_cholesky_decomp1(S) == GSL_SUCCESS);
        gsl_linalg_cholesky_solve(S, b, x);
        double q;
        gsl_blas_ddot(b, x, &q);
        total += (cfg->n_class_weights ? cfg->class_weights[n] : 1) / wsum * (1 - q) / 2;
    }
    gsl_matrix_free(S), gsl_vector_free(b), gsl_vector_free(x);
    return total;
}

/* MPFR and double agree to 1e-12 in every geometry, rotated, with unequal
 * classes and with a noise distractor. */
static void test_against_double(void)
{
    size_t N = 3, d = 12;
    double *c = malloc(N * d * sizeof *c), *v = malloc(N * d * sizeof *v);
    mot_geometry geoms[] = {MOT_GEOM_ORTHOGONAL, MOT_GEOM_CONFLICT, MOT_GEOM_CORRELATED};
    for (int g = 0; g < 3; g++)
        for (int variant = 0; variant < 3; variant++) {
            mot_config cfg = base_config((int)N, (int)d, 7);
            cfg.geometry = geoms[g];
            cfg.rotate = 1;
            cfg.rho = 0.6;
            cfg.sigma_p = 0.3;
            cfg.gamma = variant == 2 ? 0 : 1.5;
            cfg.kappa = 0.7;
            if (variant == 1) {
                cfg.n_class_weights = (int)N;
                cfg.class_weights[0] = 3, cfg.class_weights[1] = 1, cfg.class_weights[2] = 0.5;
            }
            make_signals(&cfg, c, v);
            mpfr_t f;
            mpfr_init2(f, 256);
            double fn[3];
            CU_ASSERT(mot_lemma1_floor(&cfg, c, v, 256, f, fn) == MOT_OK);
            double mp = mpfr_get_d(f, MPFR_RNDN), dbl = floor_double(&cfg, c, v);
            ASSERT_CLOSE(&mp, &dbl, 1, 1e-12, 0);
            CU_ASSERT(mp > 0 && mp < 0.5);
            if (geoms[g] == MOT_GEOM_CONFLICT) /* the shared direction: classes differ */
                printf("\n    conflict (variant %d): floor %.6g, per class %.6g %.6g %.6g", variant,
                       mp, fn[0], fn[1], fn[2]);
            mpfr_clear(f);
        }
    /* no noise: S_n is singular, its null space is dropped; the orthogonal
     * floor is then 0 and the conflict floor gamma^2 / (2 (alpha^2 + gamma^2)) */
    mot_config cfg = base_config((int)N, (int)d, 6);
    cfg.sigma_p = 0;
    make_signals(&cfg, c, v);
    mpfr_t f;
    mpfr_init2(f, 256);
    CU_ASSERT(mot_lemma1_floor(&cfg, c, v, 256, f, NULL) == MOT_OK);
    CU_ASSERT(fabs(mpfr_get_d(f, MPFR_RNDN)) < 1e-60);
    cfg.geometry = MOT_GEOM_CONFLICT, cfg.gamma = 2;
    make_signals(&cfg, c, v);
    CU_ASSERT(mot_lemma1_floor(&cfg, c, v, 256, f, NULL) == MOT_OK);
    double got = mpfr_get_d(f, MPFR_RNDN), want = 4.0 / (2 * 5);
    ASSERT_CLOSE(&got, &want, 1, 1e-15, 0);
    /* a negative-definite S cannot come from the law, but the solver refuses it */
    mpfr_t *A = mot_hp_alloc(4, 64);
    mpfr_set_si(A[0], 1, MPFR_RNDN), mpfr_set_si(A[2], 2, MPFR_RNDN), mpfr_set_si(A[3], 1, MPFR_RNDN);
    CU_ASSERT(mot_hp_cholesky(A, 2, 0) == -1);
    mot_hp_free(A, 4);
    mpfr_clear(f);
    free(c), free(v);
}

/* Least squares of y on zbar per class over 200k generated samples agrees
 * with the exact floor within 3 standard errors or 1%. */
static void test_monte_carlo(void)
{
    mot_config cfg = base_config(2, 8, 5);
    cfg.geometry = MOT_GEOM_CORRELATED, cfg.rho = 0.4, cfg.rotate = 1;
    cfg.sigma_p = 0.5, cfg.gamma = 0.8;
    cfg.n_train = 200000, cfg.n_test = 1;
    cfg.seed = test_seed();
    mot_dataset *ds = mot_dataset_make(&cfg);
    CU_ASSERT_FATAL(ds != NULL);
    size_t N = 2, d = 8, L = 5;
    mpfr_t f;
    mpfr_init2(f, 256);
    double fn[2];
    CU_ASSERT(mot_lemma1_floor(&cfg, ds->c, ds->v, 256, f, fn) == MOT_OK);
    double exact = mpfr_get_d(f, MPFR_RNDN);
    mpfr_clear(f);
    const mot_data *D = ds->train;
    double est = 0, var = 0, *z = malloc(D->n * d * sizeof *z);
    for (size_t k = 0; k < D->n; k++)
        for (size_t j = 0; j < d; j++) {
            double s = 0;
            for (size_t l = 0; l < L; l++)
                s += D->X[(k * L + l) * d + j];
            z[k * d + j] = s / (double)L;
        }
    for (size_t n = 0; n < N; n++) {
        gsl_matrix *S = gsl_matrix_calloc(d, d);
        gsl_vector *b = gsl_vector_calloc(d), *th = gsl_vector_alloc(d);
        size_t cnt = 0;
        for (size_t k = 0; k < D->n; k++) {
            if ((size_t)D->cls[k] != n)
                continue;
            cnt++;
            for (size_t i = 0; i < d; i++) {
                *gsl_vector_ptr(b, i) += D->y[k] * z[k * d + i];
                for (size_t j = 0; j < d; j++)
                    *gsl_matrix_ptr(S, i, j) += z[k * d + i] * z[k * d + j];
            }
        }
        CU_ASSERT_FATAL(gsl_linalg_cholesky_decomp1(S) == GSL_SUCCESS);
        gsl_linalg_cholesky_solve(S, b, th);
        double s = 0, ss = 0;
        for (size_t k = 0; k < D->n; k++) {
            if ((size_t)D->cls[k] != n)
                continue;
            double r = D->y[k];
            for (size_t i = 0; i < d; i++)
                r -= gsl_vector_get(th, i) * z[k * d + i];
            s += r * r / 2, ss += r * r * r * r / 4;
        }
        double m = s / (double)cnt, sd = sqrt(ss / (double)cnt - m * m);
        est += m / (double)N;
        var += sd * sd / (double)cnt / (double)(N * N);
        printf("\n    class %zu: %zu samples, fitted %.6g, exact %.6g", n, cnt, m, fn[n]);
        gsl_matrix_free(S), gsl_vector_free(b), gsl_vector_free(th);
    }
    double se = sqrt(var), tol = fmax(3 * se, 0.01 * exact);
    printf("\n    Monte Carlo %.6g +- %.3g vs exact %.6g", est, se, exact);
    CU_ASSERT(fabs(est - exact) <= tol);
    free(z);
    mot_dataset_free(ds);
}

/* ---- mot_check_lemma1 on constructed runs -------------------------------- */

/* A run directory path[k]: config, signals, summary.json, and metrics.csv whose
 * test_loss is `tail` over the last 10 of 100 rows with a +-sd alternation,
 * `final` on the last row when final is not NaN. */
static const char *write_run(char path[][320], int k, const mot_config *cfg, double tail, double sd,
                             double final)
{
    snprintf(path[k], sizeof path[k], "%s/run%d", dir, k);
    CU_ASSERT_FATAL(mot_io_mkdir_p(path[k]) == MOT_OK);
    char file[400];
    json_t *j = mot_config_to_json(cfg);
    snprintf(file, sizeof file, "%s/config.json", path[k]);
    CU_ASSERT_FATAL(mot_io_write_json(file, j) == MOT_OK);
    json_decref(j);
    j = json_object();
    snprintf(file, sizeof file, "%s/summary.json", path[k]);
    CU_ASSERT_FATAL(mot_io_write_json(file, j) == MOT_OK);
    json_decref(j);
    size_t N = (size_t)cfg->N, d = (size_t)cfg->d, shape[2] = {N, d};
    double *c = malloc(N * d * sizeof *c), *v = malloc(N * d * sizeof *v);
    make_signals(cfg, c, v);
    snprintf(file, sizeof file, "%s/signals_c.npy", path[k]);
    CU_ASSERT_FATAL(mot_npy_write(file, MOT_NPY_F64, 2, shape, c) == MOT_OK);
    snprintf(file, sizeof file, "%s/signals_v.npy", path[k]);
    CU_ASSERT_FATAL(mot_npy_write(file, MOT_NPY_F64, 2, shape, v) == MOT_OK);
    free(c), free(v);
    snprintf(file, sizeof file, "%s/metrics.csv", path[k]);
    FILE *fp = fopen(file, "w");
    CU_ASSERT_FATAL(fp != NULL);
    fprintf(fp, "epoch,stage,train_loss,test_loss\n");
    for (int t = 0; t < 100; t++) {
        double l = t < 90 ? 0.4 - 0.003 * t : tail + (t % 2 ? sd : -sd);
        if (t == 99 && !isnan(final))
            l = final;
        fprintf(fp, "%d,%d,%.17g,%.17g\n", t, 1 + (t >= 30) + (t >= 60), l, l);
    }
    fclose(fp);
    return path[k];
}

static mot_verdict_kind lemma1_of(const char *mot_dir, const char *noattn_dir, const char *tag)
{
    mot_runrec *m = mot_dir ? mot_runrec_load(mot_dir) : NULL, *n = noattn_dir ? mot_runrec_load(noattn_dir) : NULL;
    CU_ASSERT_FATAL((!mot_dir || m) && (!noattn_dir || n));
    mot_verdict v;
    CU_ASSERT_FATAL(mot_check_lemma1(m, n, &v) == MOT_OK);
    mot_verdict_kind k = v.verdict;
    printf("\n    %s: %s: %s", tag, mot_verdict_name(k), v.reason);
    mot_verdict_free(&v);
    mot_runrec_free(m), mot_runrec_free(n);
    return k;
}

static void test_check_constructed(void)
{
    mot_config cfg = base_config(3, 10, 6);
    cfg.T1 = 30, cfg.T2 = 60, cfg.T = 99, cfg.M = 6, cfg.rotate = 1;
    double s2 = 3 * 0.04, fl = s2 / (2 * (1 + s2)), sd = 1e-3, se = sd * sqrt(10.0 / 9) / sqrt(10);
    char paths[5][320];
    cfg.model = MOT_MODEL_MOT;
    const char *mot_ok = write_run(paths, 0, &cfg, 0.01, 1e-4, NAN);
    const char *mot_bad = write_run(paths, 1, &cfg, 0.01, 1e-4, fl * 1.01);
    cfg.model = MOT_MODEL_MOE_NOATTN;
    const char *na_ok = write_run(paths, 2, &cfg, fl, sd, NAN);
    const char *na_low = write_run(paths, 3, &cfg, fl - 10 * se, sd, NAN);
    const char *na_edge = write_run(paths, 4, &cfg, fl - 2 * se, sd, NAN);
    CU_ASSERT(lemma1_of(mot_ok, na_ok, "both at the floor") == MOT_VERDICT_HOLDS);
    CU_ASSERT(lemma1_of(mot_ok, na_edge, "plateau 2 SE below") == MOT_VERDICT_HOLDS);
    CU_ASSERT(lemma1_of(mot_ok, na_low, "plateau 10 SE below") == MOT_VERDICT_FAILS);
    CU_ASSERT(lemma1_of(mot_bad, na_ok, "MoT above the floor") == MOT_VERDICT_FAILS);
    CU_ASSERT(lemma1_of(mot_ok, NULL, "MoT only") == MOT_VERDICT_HOLDS);
    CU_ASSERT(lemma1_of(NULL, na_ok, "moe_noattn only") == MOT_VERDICT_HOLDS);
    CU_ASSERT(lemma1_of(NULL, na_low, "moe_noattn only, low") == MOT_VERDICT_FAILS);

    mot_verdict v;
    CU_ASSERT(mot_check_lemma1(NULL, NULL, &v) == MOT_OK);
    CU_ASSERT(v.verdict == MOT_VERDICT_INCONCLUSIVE);
    mot_verdict_free(&v);

    /* the numbers: floor, closed form, the SE the plateau was judged by */
    mot_runrec *m = mot_runrec_load(mot_ok), *n = mot_runrec_load(na_ok);
    CU_ASSERT_FATAL(m && n);
    CU_ASSERT_FATAL(mot_check_lemma1(m, n, &v) == MOT_OK);
    double got[3] = {json_real_value(json_object_get(v.numbers, "floor")),
                     json_real_value(json_object_get(v.numbers, "closed_form")),
                     json_real_value(json_object_get(v.numbers, "plateau_se"))};
    double want[3] = {fl, fl, se};
    ASSERT_CLOSE(got, want, 3, 1e-12, 0);
    CU_ASSERT(json_is_null(json_object_get(v.numbers, "plateau_se_test"))); /* no arrays */
    mot_verdict_free(&v);

    /* a closed form that disagrees fails: signals that are not orthonormal */
    char file[400];
    snprintf(file, sizeof file, "%s/signals_v.npy", mot_ok);
    size_t shape[2] = {3, 10};
    double vbad[30] = {0};
    for (int i = 0; i < 3; i++)
        vbad[i * 10 + 3 + i] = 1.001;
    CU_ASSERT_FATAL(mot_npy_write(file, MOT_NPY_F64, 2, shape, vbad) == MOT_OK);
    CU_ASSERT(mot_check_lemma1(m, n, &v) == MOT_OK);
    CU_ASSERT(v.verdict == MOT_VERDICT_FAILS);
    printf("\n    stretched signals: %s", v.reason);
    mot_verdict_free(&v);
    /* missing signals: an error, not a verdict */
    remove(file);
    CU_ASSERT(mot_check_lemma1(m, n, &v) != MOT_OK);
    CU_ASSERT(strstr(mot_status_message(), "signals_v.npy") != NULL);
    mot_runrec_free(m), mot_runrec_free(n);
}

/* A real moe_noattn run: the test-set sampling error is computed from its
 * final parameters, and their replayed final test loss is the recorded one. */
static void test_check_real_run(void)
{
    mot_config cfg;
    mot_config_defaults(&cfg);
    cfg.N = 3, cfg.d = 12, cfg.L = 6, cfg.n_train = 300, cfg.n_test = 300, cfg.M = 3;
    cfg.T1 = 10, cfg.T2 = 20, cfg.T = 40, cfg.model = MOT_MODEL_MOE_NOATTN;
    cfg.seed = test_seed();
    char out[320];
    snprintf(out, sizeof out, "%s/real_noattn", dir);
    mot_run_options opt = {.out_dir = out};
    mot_run_result res;
    CU_ASSERT_FATAL(mot_run(&cfg, &opt, &res) == MOT_OK);
    mot_runrec *n = mot_runrec_load(out);
    CU_ASSERT_FATAL(n != NULL);
    mot_verdict v;
    CU_ASSERT_FATAL(mot_check_lemma1(NULL, n, &v) == MOT_OK);
    printf("\n    real moe_noattn: %s: %s", mot_verdict_name(v.verdict), v.reason);
    double se_test = json_real_value(json_object_get(v.numbers, "plateau_se_test"));
    double replayed = json_real_value(json_object_get(v.numbers, "noattn_final_test_loss_replayed"));
    double recorded = mot_table_at(n->metrics, n->metrics->rows - 1, mot_table_col(n->metrics, "test_loss"));
    CU_ASSERT(se_test > 0);
    ASSERT_CLOSE(&replayed, &recorded, 1, 1e-12, 0);
    mot_verdict_free(&v);
    mot_runrec_free(n);
}

int main(void)
{
    gsl_set_error_handler_off();
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("lemma1", suite_init, suite_clean);
    CU_add_test(s, "floor = closed form (orthogonal) to 1e-30", test_closed_form);
    CU_add_test(s, "MPFR floor = double floor to 1e-12", test_against_double);
    CU_add_test(s, "floor = Monte Carlo least squares", test_monte_carlo);
    CU_add_test(s, "check on constructed runs", test_check_constructed);
    CU_add_test(s, "check on a real moe_noattn run", test_check_real_run);
    return run_cunit_suites();
}

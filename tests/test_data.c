/* test_data.c: the signals and the generator of Definition 1. Checks the
 * geometry of the signals to 1e-12 (orthonormality, conflict signs,
 * correlation rho) with and without rotation, that every token has exactly
 * the structure of the definition (inner products with the signals, label
 * and distractor signs, distractor class never the sample's own), that the
 * noise tokens have mean 0 and covariance sigma_p^2 I within statistical
 * tolerance, that class frequencies follow class_weights, and that the named
 * streams keep the training set fixed when the test set changes. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <gsl/gsl_cblas.h>

#include "assert_close.h"
#include "config.h"
#include "data.h"
#include "rng.h"
#include "signals.h"
#include "store.h"

static double dot(const double *a, const double *b, size_t d)
{
    return cblas_ddot((int)d, a, 1, b, 1);
}

static mot_config small_config(mot_geometry geom, int rotate)
{
    mot_config c;
    mot_config_defaults(&c);
    c.N = 4, c.d = 12, c.L = 7, c.n_train = 3000, c.n_test = 500;
    c.geometry = geom, c.rotate = rotate, c.rho = 0.3;
    c.alpha = 1.3, c.beta = 0.7, c.kappa = 0.4, c.gamma = 0.9, c.sigma_p = 0.25;
    c.seed = test_seed();
    return c;
}

/* The Gram matrix of the rows of c then v against the one each geometry
 * promises. */
static void check_geometry(mot_geometry geom, int rotate)
{
    mot_config cfg = small_config(geom, rotate);
    size_t N = (size_t)cfg.N, d = (size_t)cfg.d;
    double c[4 * 12], v[4 * 12];
    gsl_rng *r = mot_rng_alloc(cfg.seed, "signals");
    CU_ASSERT_FATAL(mot_signals_make(c, v, &cfg, r) == 0);
    gsl_rng_free(r);
    double got[64], want[64];
    size_t k = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++, k++) {
            got[k] = dot(c + i * d, c + j * d, d);
            want[k] = i == j;
            got[16 + k] = dot(c + i * d, v + j * d, d);
            want[16 + k] = 0;
            got[32 + k] = dot(v + i * d, v + j * d, d);
            switch (geom) {
            case MOT_GEOM_ORTHOGONAL: want[32 + k] = i == j; break;
            case MOT_GEOM_CONFLICT: /* v_n = (-1)^n u, n from 1 */
                want[32 + k] = ((i + j) % 2 == 0) ? 1.0 : -1.0;
                break;
            case MOT_GEOM_CORRELATED: want[32 + k] = i == j ? 1.0 : cfg.rho; break;
            }
        }
    ASSERT_CLOSE(got, want, 48, 0, 1e-12);
    if (geom == MOT_GEOM_CONFLICT) /* class 1 (index 0) gets -u, class 2 +u */
        CU_ASSERT(rotate || v[0 * d + N] == -1.0);
    if (rotate) { /* nothing axis-aligned: no coordinate carries a whole signal */
        for (size_t i = 0; i < N * d; i++)
            CU_ASSERT(fabs(c[i]) < 0.999);
    }
}

static void test_signals_orthogonal(void)
{
    check_geometry(MOT_GEOM_ORTHOGONAL, 0);
    check_geometry(MOT_GEOM_ORTHOGONAL, 1);
}

static void test_signals_conflict(void)
{
    check_geometry(MOT_GEOM_CONFLICT, 0);
    check_geometry(MOT_GEOM_CONFLICT, 1);
}

static void test_signals_correlated(void)
{
    check_geometry(MOT_GEOM_CORRELATED, 0);
    check_geometry(MOT_GEOM_CORRELATED, 1);
}

static void test_haar_orthogonal(void)
{
    size_t d = 17;
    double Q[17 * 17], QtQ[17 * 17], I[17 * 17];
    gsl_rng *r = mot_rng_alloc(test_seed(), "haar");
    CU_ASSERT_FATAL(mot_signals_haar(Q, d, r) == 0);
    gsl_rng_free(r);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)d, 1.0, Q, (int)d,
                Q, (int)d, 0.0, QtQ, (int)d);
    for (size_t i = 0; i < d * d; i++)
        I[i] = i % (d + 1) == 0;
    ASSERT_CLOSE(QtQ, I, d * d, 0, 1e-13);
}

static void test_too_small_dimension(void)
{
    mot_config cfg = small_config(MOT_GEOM_CORRELATED, 0);
    cfg.d = 8; /* correlated needs 2N + 1 = 9 */
    double c[4 * 8], v[4 * 8];
    gsl_rng *r = mot_rng_alloc(1, "signals");
    CU_ASSERT(mot_signals_make(c, v, &cfg, r) != 0);
    gsl_rng_free(r);
}

/* Every sample's tokens against the signals, for the orthogonal geometry. */
static void test_token_structure(void)
{
    mot_config cfg = small_config(MOT_GEOM_ORTHOGONAL, 1);
    mot_dataset *ds = mot_dataset_make(&cfg);
    CU_ASSERT_FATAL(ds != NULL);
    const mot_data *D = ds->train;
    size_t N = D->N, d = D->d, L = D->L, bad = 0, own_distractor = 0;
    size_t dcount[4][4] = {{0}}, ysum[2] = {0, 0};
    for (size_t k = 0; k < D->n; k++) {
        const double *X = D->X + k * L * d;
        size_t n = (size_t)D->cls[k];
        double y = D->y[k];
        ysum[y > 0]++;
        for (size_t m = 0; m < N; m++) {
            const double *cm = ds->c + m * d, *vm = ds->v + m * d;
            /* x_1 = beta c_n */
            bad += fabs(dot(X, cm, d) - (m == n ? cfg.beta : 0)) > 1e-12;
            bad += fabs(dot(X, vm, d)) > 1e-12;
            /* x_2 = alpha y v_n + kappa c_n */
            bad += fabs(dot(X + d, vm, d) - (m == n ? cfg.alpha * y : 0)) > 1e-12;
            bad += fabs(dot(X + d, cm, d) - (m == n ? cfg.kappa : 0)) > 1e-12;
            /* x_3 = gamma y' v_n', n' != n */
            bad += fabs(dot(X + 2 * d, cm, d)) > 1e-12;
            double p = dot(X + 2 * d, vm, d);
            if (fabs(fabs(p) - cfg.gamma) < 1e-12) {
                dcount[n][m]++;
                own_distractor += m == n;
            } else {
                bad += fabs(p) > 1e-12;
            }
        }
        /* and the norms leave nothing else in x_1..x_3 */
        bad += fabs(dot(X + 2 * d, X + 2 * d, d) - cfg.gamma * cfg.gamma) > 1e-12;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(own_distractor, 0);
    /* labels and distractor classes are balanced: within 5 binomial sds */
    double n = (double)D->n;
    CU_ASSERT(fabs((double)ysum[1] - n / 2) < 5 * sqrt(n / 4));
    for (size_t a = 0; a < N; a++) {
        size_t row = 0;
        for (size_t b = 0; b < N; b++)
            row += dcount[a][b];
        for (size_t b = 0; b < N; b++) {
            if (a == b)
                continue;
            double p = 1.0 / (double)(N - 1), e = (double)row * p;
            CU_ASSERT(fabs((double)dcount[a][b] - e) < 5 * sqrt((double)row * p * (1 - p)));
        }
    }
    mot_dataset_free(ds);
}

/* Noise tokens x_4..x_L: mean 0 and covariance sigma_p^2 I, each entry
 * within 5 of its standard errors. */
static void test_noise_moments(void)
{
    mot_config cfg = small_config(MOT_GEOM_ORTHOGONAL, 1);
    mot_dataset *ds = mot_dataset_make(&cfg);
    CU_ASSERT_FATAL(ds != NULL);
    const mot_data *D = ds->train;
    size_t d = D->d, L = D->L, count = D->n * (L - 3);
    double mean[12] = {0}, cov[144] = {0}, s2 = cfg.sigma_p * cfg.sigma_p;
    for (size_t k = 0; k < D->n; k++)
        for (size_t l = 3; l < L; l++) {
            const double *x = D->X + (k * L + l) * d;
            for (size_t i = 0; i < d; i++) {
                mean[i] += x[i];
                for (size_t j = 0; j < d; j++)
                    cov[i * d + j] += x[i] * x[j];
            }
        }
    size_t bad = 0;
    double cnt = (double)count;
    for (size_t i = 0; i < d; i++) {
        mean[i] /= cnt;
        bad += fabs(mean[i]) > 5 * cfg.sigma_p / sqrt(cnt);
    }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            double c = cov[i * d + j] / cnt;
            double want = i == j ? s2 : 0, sd = i == j ? s2 * sqrt(2.0 / cnt) : s2 / sqrt(cnt);
            bad += fabs(c - want) > 5 * sd;
        }
    CU_ASSERT_EQUAL(bad, 0);
    mot_dataset_free(ds);
}

static void test_class_weights(void)
{
    mot_config cfg = small_config(MOT_GEOM_ORTHOGONAL, 0);
    double w[4] = {0.1, 0.2, 0.3, 0.4};
    cfg.n_class_weights = 4;
    memcpy(cfg.class_weights, w, sizeof w);
    mot_dataset *ds = mot_dataset_make(&cfg);
    CU_ASSERT_FATAL(ds != NULL);
    size_t count[4] = {0};
    for (size_t k = 0; k < ds->train->n; k++)
        count[ds->train->cls[k]]++;
    double n = (double)ds->train->n;
    for (int i = 0; i < 4; i++)
        CU_ASSERT(fabs((double)count[i] - n * w[i]) < 5 * sqrt(n * w[i] * (1 - w[i])));
    mot_dataset_free(ds);
}

static void test_gamma_zero_is_noise(void)
{
    mot_config cfg = small_config(MOT_GEOM_ORTHOGONAL, 1);
    cfg.gamma = 0;
    mot_dataset *ds = mot_dataset_make(&cfg);
    CU_ASSERT_FATAL(ds != NULL);
    const mot_data *D = ds->train;
    double ss = 0;
    for (size_t k = 0; k < D->n; k++)
        ss += dot(D->X + (k * D->L + 2) * D->d, D->X + (k * D->L + 2) * D->d, D->d);
    double want = (double)D->d * cfg.sigma_p * cfg.sigma_p; /* E|xi|^2 */
    CU_ASSERT(fabs(ss / (double)D->n - want) < 0.05 * want);
    mot_dataset_free(ds);
}

/* The training set is drawn from its own stream: changing n_test or the
 * noise of the test set leaves it bit-identical; changing the seed does not. */
static void test_streams_independent(void)
{
    mot_config a = small_config(MOT_GEOM_ORTHOGONAL, 1), b = a, c = a;
    b.n_test = 77;
    c.seed = a.seed + 1;
    mot_dataset *da = mot_dataset_make(&a), *db = mot_dataset_make(&b), *dc = mot_dataset_make(&c);
    CU_ASSERT_FATAL(da && db && dc);
    size_t bytes = da->train->n * da->train->L * da->train->d * sizeof(double);
    CU_ASSERT(memcmp(da->train->X, db->train->X, bytes) == 0);
    CU_ASSERT(memcmp(da->train->X, dc->train->X, bytes) != 0);
    mot_dataset_free(da), mot_dataset_free(db), mot_dataset_free(dc);
}

static void test_validate_rejects(void)
{
    mot_data *D = mot_data_alloc(2, 4, 3, 2);
    CU_ASSERT_FATAL(D != NULL);
    memset(D->X, 0, 2 * 4 * 3 * sizeof(double));
    D->y[0] = 1, D->y[1] = -1, D->cls[0] = 0, D->cls[1] = 1;
    CU_ASSERT(mot_data_validate(D, "t") == 0);
    D->y[1] = 0;
    CU_ASSERT(mot_data_validate(D, "t") != 0);
    D->y[1] = 1, D->cls[1] = 2;
    CU_ASSERT(mot_data_validate(D, "t") != 0);
    D->cls[1] = 1, D->X[5] = NAN;
    CU_ASSERT(mot_data_validate(D, "t") != 0);
    mot_data_free(D);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("data", NULL, NULL);
    CU_add_test(s, "orthogonal signals", test_signals_orthogonal);
    CU_add_test(s, "conflict signals", test_signals_conflict);
    CU_add_test(s, "correlated signals", test_signals_correlated);
    CU_add_test(s, "Haar rotation is orthogonal", test_haar_orthogonal);
    CU_add_test(s, "dimension too small for the geometry", test_too_small_dimension);
    CU_add_test(s, "token structure of Definition 1", test_token_structure);
    CU_add_test(s, "noise mean and covariance", test_noise_moments);
    CU_add_test(s, "class weights", test_class_weights);
    CU_add_test(s, "gamma = 0 makes x_3 noise", test_gamma_zero_is_noise);
    CU_add_test(s, "named streams", test_streams_independent);
    CU_add_test(s, "validation of loaded data", test_validate_rejects);
    return run_cunit_suites();
}

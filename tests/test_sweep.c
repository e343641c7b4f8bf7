/* test_sweep.c: the [sweep] grid (src/sweep.c) and the sweep-level checks
 * (proofs-check/scaling.c). Grid: lists, geometric and linear ranges with
 * their inclusive ends, seeds, the product's order and names, the point
 * configs, and every malformed value, each with its message; mot_config_load
 * skipping [sweep]. Checks: constructed sweep.csv files whose T_spec follows
 * the paper's law (holds) or another (fails), with too few values left
 * (inconclusive) or keys not swept; the fit's standard error against the
 * closed form of a one-variable regression; coverage tables that hold,
 * fail both ways and are inconclusive; the coupon-collector reference
 * against inclusion-exclusion. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "assert_close.h"
#include "config.h"
#include "scaling.h"
#include "status.h"
#include "sweep.h"

static char root[64];

/* Writes text to a fresh file under root; returns its path (static). */
static const char *write_file(const char *name, const char *text)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", root, name);
    FILE *fp = fopen(path, "w");
    CU_ASSERT_FATAL(fp != NULL);
    fputs(text, fp);
    fclose(fp);
    return path;
}

/* The base config of a file (defaults, then the file) and its sweep. */
static mot_sweep *load(const char *text, mot_config *base)
{
    const char *path = write_file("s.conf", text);
    mot_config_defaults(base);
    CU_ASSERT_FATAL(mot_config_load(base, path) == MOT_OK);
    return mot_sweep_load(path, base);
}

static int has_values(const mot_sweep_axis *a, const char *const *want, size_t n)
{
    if (a->n != n) {
        fprintf(stderr, "\n    %s: %zu values, expected %zu", a->key, a->n, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(a->values[i], want[i])) {
            fprintf(stderr, "\n    %s value %zu: \"%s\", expected \"%s\"", a->key, i, a->values[i], want[i]);
            return 0;
        }
    return 1;
}

/* Fails unless the sweep is refused with a message holding every fragment. */
static void refused(const char *text, const char *frag1, const char *frag2)
{
    mot_config base;
    mot_status_clear();
    mot_sweep *s = load(text, &base);
    CU_ASSERT(s == NULL);
    const char *msg = mot_status_message();
    int ok = strstr(msg, frag1) && (!frag2 || strstr(msg, frag2));
    if (!ok)
        fprintf(stderr, "\n    message \"%s\" lacks \"%s\"%s%s", msg, frag1, frag2 ? " or " : "", frag2 ? frag2 : "");
    CU_ASSERT(ok);
    CU_ASSERT(strstr(msg, "line ") != NULL || strstr(msg, "points") != NULL || strstr(msg, "names") != NULL);
    mot_sweep_free(s);
}

/* ---- the grid ----------------------------------------------------------- */

static void test_config_load_skips_sweep(void)
{
    mot_config c;
    mot_config_defaults(&c);
    const char *p = write_file("a.conf", "[data]\nN = 3\n[sweep]\neta = 0.1, 0.3\nnot_a_key = 1:2\n"
                                         "[model]\nM = 5\n");
    CU_ASSERT(mot_config_load(&c, p) == MOT_OK);
    CU_ASSERT(c.N == 3 && c.M == 5 && c.eta == 1.0);
    p = write_file("b.conf", "[data]\nN = 3\n[sweeps]\neta = 1\n");
    CU_ASSERT(mot_config_load(&c, p) == MOT_EINVAL);
    CU_ASSERT(strstr(mot_status_message(), "unknown section [sweeps]") != NULL);
}

static void test_lists(void)
{
    mot_config base;
    mot_sweep *s = load("[sweep]\neta = 0.1, 0.3 ,1.0\nmodel = mot, moe_ffn ; a comment\nrotate = true, off\n", &base);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(s->n_axes == 3 && s->n_seeds == 1 && s->seeds[0] == base.seed && s->n_points == 12);
    CU_ASSERT(has_values(&s->axes[0], (const char *[]){"0.1", "0.3", "1.0"}, 3));
    CU_ASSERT(has_values(&s->axes[1], (const char *[]){"mot", "moe_ffn"}, 2));
    CU_ASSERT(has_values(&s->axes[2], (const char *[]){"true", "off"}, 2));
    mot_config c;
    CU_ASSERT(mot_sweep_point_config(s, &base, 11, &c) == MOT_OK);
    CU_ASSERT(c.eta == 1.0 && c.model == MOT_MODEL_MOE_FFN && c.rotate == 0);
    mot_sweep_free(s);
}

static void test_ranges(void)
{
    mot_config base;
    mot_sweep *s = load("[sweep]\nsigma0 = 0.01:1:x10\nM = 4:32:+4\neta = 0.1:0.3:+0.1\nlambda_r = 0.001:1:x10\n"
                        "alpha = 1:100:x3\nkappa = 0:1:+0.3\n", &base);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(has_values(&s->axes[0], (const char *[]){"0.01", "0.1", "1"}, 3));
    CU_ASSERT(has_values(&s->axes[1], (const char *[]){"4", "8", "12", "16", "20", "24", "28", "32"}, 8));
    /* 0.1 + 2 * 0.1 is 0.30000000000000004: within 1e-9 of the end */
    CU_ASSERT(has_values(&s->axes[2], (const char *[]){"0.1", "0.2", "0.3"}, 3));
    CU_ASSERT(has_values(&s->axes[3], (const char *[]){"0.001", "0.01", "0.1", "1"}, 4));
    CU_ASSERT(has_values(&s->axes[4], (const char *[]){"1", "3", "9", "27", "81"}, 5));
    CU_ASSERT(has_values(&s->axes[5], (const char *[]){"0", "0.3", "0.6", "0.9"}, 4));
    CU_ASSERT(s->n_points == 3 * 8 * 3 * 4 * 5 * 4);
    mot_sweep_free(s);
}

static void test_seeds(void)
{
    mot_config base;
    mot_sweep *s = load("[train]\nseed = 77\n[sweep]\nseeds = 1:10\n", &base);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(s->n_axes == 0 && s->n_seeds == 10 && s->n_points == 10 && s->seeds[0] == 1 && s->seeds[9] == 10);
    mot_sweep_free(s);
    s = load("[sweep]\nseeds = 3:10:+3\n", &base);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(s->n_seeds == 3 && s->seeds[0] == 3 && s->seeds[1] == 6 && s->seeds[2] == 9);
    mot_sweep_free(s);
    s = load("[sweep]\nseeds = 5, 7, 11\n", &base);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(s->n_seeds == 3 && s->seeds[2] == 11);
    mot_sweep_free(s);
    /* No seeds key: the base config's seed, one point */
    s = load("[train]\nseed = 77\n", &base);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(s->n_points == 1 && s->n_seeds == 1 && s->seeds[0] == 77);
    char name[MOT_SWEEP_MAX_NAME + 1];
    mot_sweep_point_name(s, 0, name, sizeof name);
    CU_ASSERT_STRING_EQUAL(name, "seed=77");
    mot_sweep_free(s);
}

static void test_product_order_names(void)
{
    mot_config base;
    mot_sweep *s = load("[train]\nT1 = 10\n[sweep]\nlr_scale = 0.5, 1\nsigma0 = 0.01:0.1:x10\nM = 4:8:+4\n"
                        "seeds = 1:2\n", &base);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(s->n_points == 16);
    char name[MOT_SWEEP_MAX_NAME + 1];
    static const char *want[] = {
        "lr_scale=0.5_sigma0=0.01_M=4_seed=1", "lr_scale=0.5_sigma0=0.01_M=4_seed=2",
        "lr_scale=0.5_sigma0=0.01_M=8_seed=1", "lr_scale=0.5_sigma0=0.01_M=8_seed=2",
        "lr_scale=0.5_sigma0=0.1_M=4_seed=1",
    };
    for (size_t p = 0; p < 5; p++) {
        mot_sweep_point_name(s, p, name, sizeof name);
        CU_ASSERT_STRING_EQUAL(name, want[p]);
    }
    mot_sweep_point_name(s, 15, name, sizeof name);
    CU_ASSERT_STRING_EQUAL(name, "lr_scale=1_sigma0=0.1_M=8_seed=2");
    /* Every point distinct, coordinates a mixed-radix count */
    for (size_t p = 0; p < 16; p++) {
        size_t back = 0;
        for (size_t a = 0; a < 3; a++)
            back = back * s->axes[a].n + mot_sweep_coord(s, p, a);
        back = back * s->n_seeds + mot_sweep_coord(s, p, 3);
        CU_ASSERT(back == p);
    }
    mot_config c;
    CU_ASSERT(mot_sweep_point_config(s, &base, 13, &c) == MOT_OK);   /* (1, 0.1, 4, 2) */
    CU_ASSERT(c.lr_scale == 1 && c.sigma0 == 0.1 && c.M == 4 && c.seed == 2 && c.T1 == 10);
    mot_sweep_free(s);
}

static void test_point_constraints(void)
{
    mot_config base, c;
    mot_sweep *s = load("[train]\nT1 = 10\nT2 = 100\nT = 200\n[sweep]\nT1 = 10, 500\n", &base);
    CU_ASSERT_FATAL(s != NULL);
    CU_ASSERT(mot_sweep_point_config(s, &base, 0, &c) == MOT_OK);
    CU_ASSERT(mot_sweep_point_config(s, &base, 1, &c) == MOT_EINVAL);
    CU_ASSERT(strstr(mot_status_message(), "T1 must be <= T2") != NULL);
    CU_ASSERT(strstr(mot_status_message(), "T1=500_seed=1") != NULL);
    mot_sweep_free(s);
}

static void test_malformed(void)
{
    refused("[sweep]\nsigma0 = 0.01:1:x1\n", "sigma0 = 0.01:1:x1: ratio x1", "accepted");
    refused("[sweep]\nsigma0 = 0.01:1:x0.5\n", "RATIO must be > 1", "accepted");
    refused("[sweep]\nsigma0 = 1:0.01:x10\n", "sigma0 = 1:0.01:x10: START > END", "accepted");
    refused("[sweep]\nsigma0 = 0:1:x10\n", "START > 0", "sigma0");
    refused("[sweep]\nM = 4:32:+0\n", "M = 4:32:+0: zero step", "accepted");
    refused("[sweep]\nM = 4:32:-4\n", "negative step", "M = ");
    refused("[sweep]\nM = 4:32:4\n", "+STEP", "M = ");
    refused("[sweep]\nM = 32:4:+4\n", "START > END", "M = ");
    refused("[sweep]\nM = a:32:+4\n", "START is not a number", "M = ");
    refused("[sweep]\nM = 4:b:+4\n", "END is not a number", "M = ");
    refused("[sweep]\nM = 4:32:+x\n", "STEP is not a number", "M = ");
    refused("[sweep]\nsigma0 = 0.1:1:xy\n", "RATIO is not a number", "sigma0");
    refused("[sweep]\nM = 4:32\n", "needs a step", "M = ");
    refused("[sweep]\nM = 4:8:+2:1\n", "too many", "M = ");
    refused("[sweep]\neta =\n", "eta = : empty list", "accepted");
    refused("[sweep]\neta = 0.1,,0.3\n", "empty item", "eta");
    refused("[sweep]\neta = 0.1,\n", "empty item", "eta");
    refused("[sweep]\neta = 0:1:+0.00001\n", "more than 10000 values", "eta");
    refused("[sweep]\nfoo = 1, 2\n", "unknown key \"foo\"", "line 2");
    refused("[sweep]\neta = 0.1\nM = 4\neta = 0.2\n", "\"eta\" is given twice", "lines 2 and 4");
    refused("[sweep]\nseeds = 1:2\nseeds = 3\n", "\"seeds\" is given twice", NULL);
    refused("[sweep]\nseed = 1:3\n", "seeds = A:B", NULL);
    refused("[sweep]\nseeds = 5:1\n", "START > END", "A:B");
    refused("[sweep]\nseeds = 1:5:+0\n", "zero step", "seeds");
    refused("[sweep]\nseeds = 1:5:-1\n", "negative step", "seeds");
    refused("[sweep]\nseeds = a:4\n", "START is not an integer", "seeds");
    refused("[sweep]\nseeds = 1.5, 2\n", "not an integer", "seeds");
    refused("[sweep]\neta = 0.1, 0.1\n", "lists the value 0.1 twice", NULL);
    /* Values go through mot_config_set: its message, naming the key */
    refused("[sweep]\neta = -1, 0.1\n", "config ", "eta must be a real >= 0 (got \"-1\")");
    refused("[sweep]\nmodel = mot, foo\n", "model must be one of", "line 2");
    refused("[sweep]\nM = 2:8:x1.5\n", "M must be an integer", "\"4.5\"");
    refused("[sweep]\nM = 0, 4\n", "M must be an integer in [1, 4096]", NULL);
    refused("[sweep]\neta = 0:9999:+1\nsigma0 = 1:200:+1\n", "more than 1000000 points", NULL);
}

/* ---- sweep.csv checks --------------------------------------------------- */

/* A sweep.csv of the columns the checks read, one row per call. */
typedef struct {
    FILE *fp;
    char path[128];
} csv_out;

static void csv_begin(csv_out *o, const char *name)
{
    snprintf(o->path, sizeof o->path, "%s/%s", root, name);
    o->fp = fopen(o->path, "w");
    CU_ASSERT_FATAL(o->fp != NULL);
    fputs("point,seed,N,M,lr_scale,sigma0,eta,T_spec,coverage_T1,prop1,final_test_loss,final_test_error,"
          "status,seconds\n", o->fp);
}

static void csv_row(csv_out *o, int N, int M, double lr, double s0, const char *t_spec, const char *cov,
                    const char *status)
{
    static int point;
    fprintf(o->fp, "%d,1,%d,%d,%g,%g,1,%s,%s,holds,0.1,0.01,%s,1.5\n", point++, N, M, lr, s0, t_spec, cov, status);
}

static mot_sweep_csv *csv_end(csv_out *o)
{
    fclose(o->fp);
    mot_sweep_csv *t = mot_sweep_csv_read(o->path);
    CU_ASSERT_FATAL(t != NULL);
    return t;
}

static const double lrs[] = {0.25, 0.5, 1}, sigmas[] = {0.001, 0.01, 0.1};
static const int Ms[] = {8, 16, 32};

/* T_spec = 20 lr^a sigma0^b M^c exp(noise sd) over the 3x3x3 grid, 3 seeds. */
static mot_sweep_csv *law(const char *name, double a, double b, double c, double sd, int zero_M8)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, test_seed());
    csv_out o;
    csv_begin(&o, name);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 3; k++)
                for (int seed = 0; seed < 3; seed++) {
                    double t = 20 * pow(lrs[i], a) * pow(sigmas[j], b) * pow(Ms[k], c)
                               * exp(gsl_ran_gaussian(r, sd));
                    char ts[32];
                    snprintf(ts, sizeof ts, "%d", zero_M8 && Ms[k] == 8 ? 0 : (int)lround(t) + 1);
                    csv_row(&o, 4, Ms[k], lrs[i], sigmas[j], ts, "1", "done");
                }
    /* rows every fit leaves out, and counts */
    csv_row(&o, 4, 16, 0.5, 0.01, "-1", "0", "done");
    csv_row(&o, 4, 16, 0.5, 0.01, "", "", "failed");
    csv_row(&o, 4, 16, 0.5, 0.01, "", "1", "diverged");
    gsl_rng_free(r);
    return csv_end(&o);
}

static mot_verdict_kind scaling_verdict(const mot_sweep_csv *t, mot_scaling_fit *fit, const char *tag)
{
    mot_verdict v;
    CU_ASSERT_FATAL(mot_check_t1_scaling(t, fit, &v) == MOT_OK);
    mot_verdict_kind k = v.verdict;
    printf("\n    %s: %s: %s", tag, mot_verdict_name(k), v.reason);
    mot_verdict_free(&v);
    return k;
}

static void test_scaling_holds_and_fails(void)
{
    mot_scaling_fit fit;
    mot_sweep_csv *t = law("paper.csv", -1, -0.5, 1, 0.05, 0);
    CU_ASSERT(scaling_verdict(t, &fit, "paper's law") == MOT_VERDICT_HOLDS);
    CU_ASSERT(fit.rows == 84 && fit.used == 81 && fit.never == 1 && fit.unmeasured == 2 && fit.zero == 0);
    double want[3] = {-1, -0.5, 1};
    for (int k = 0; k < 3; k++) {
        CU_ASSERT(fit.term[k].fitted && fit.term[k].consistent && fit.term[k].values == 3);
        CU_ASSERT(fabs(fit.term[k].exponent - want[k]) < 4 * fit.term[k].se + 0.02);
        CU_ASSERT(fit.term[k].se > 0 && fit.term[k].se < 0.05);
    }
    const char *p = write_file("fit.csv", "");
    CU_ASSERT(mot_scaling_write_fit(p, &fit) == MOT_OK);
    mot_sweep_csv *f = mot_sweep_csv_read(p);
    CU_ASSERT_FATAL(f != NULL);
    CU_ASSERT(f->rows == 4 && f->cols == 4 && !strcmp(f->names[1], "exponent") && !strcmp(f->cells[2 * 4], "M"));
    mot_sweep_csv_free(f);
    mot_sweep_csv_free(t);
    /* T_spec growing like M^2: a_M is 1 off, far beyond 3 se and 0.25 */
    t = law("m2.csv", -1, -0.5, 2, 0.05, 0);
    CU_ASSERT(scaling_verdict(t, &fit, "M^2 law") == MOT_VERDICT_FAILS);
    CU_ASSERT(!fit.term[2].consistent && fit.term[0].consistent && fit.term[1].consistent);
    mot_sweep_csv_free(t);
    /* No dependence on sigma0 at all: a_sigma = 0 */
    t = law("flat.csv", -1, 0, 1, 0.05, 0);
    CU_ASSERT(scaling_verdict(t, &fit, "no sigma0 dependence") == MOT_VERDICT_FAILS);
    CU_ASSERT(!fit.term[1].consistent);
    mot_sweep_csv_free(t);
    /* Within 0.25 but many se away still counts as consistent */
    t = law("near.csv", -1, -0.3, 1, 0.01, 0);
    CU_ASSERT(scaling_verdict(t, &fit, "a_sigma = -0.3") == MOT_VERDICT_HOLDS);
    mot_sweep_csv_free(t);
}

static void test_scaling_inconclusive(void)
{
    mot_scaling_fit fit;
    /* M = 8 routed at once (T_spec = 0): two values of M remain */
    mot_sweep_csv *t = law("zero.csv", -1, -0.5, 1, 0.05, 1);
    CU_ASSERT(scaling_verdict(t, &fit, "two M left") == MOT_VERDICT_INCONCLUSIVE);
    CU_ASSERT(fit.zero == 27 && fit.term[2].values == 2 && fit.term[2].fitted);
    mot_sweep_csv_free(t);
    /* Nothing swept */
    csv_out o;
    csv_begin(&o, "none.csv");
    for (int i = 0; i < 5; i++)
        csv_row(&o, 4, 8, 1, 0.1, "12", "1", "done");
    t = csv_end(&o);
    CU_ASSERT(scaling_verdict(t, &fit, "nothing swept") == MOT_VERDICT_INCONCLUSIVE);
    mot_sweep_csv_free(t);
    /* Swept but never reached except at one value: dropped */
    csv_begin(&o, "dropped.csv");
    for (int i = 0; i < 3; i++)
        for (int k = 0; k < 3; k++)
            csv_row(&o, 4, Ms[k], lrs[i], 0.1, k == 0 ? "30" : "-1", "1", "done");
    t = csv_end(&o);
    CU_ASSERT(scaling_verdict(t, &fit, "one M left") == MOT_VERDICT_INCONCLUSIVE);
    CU_ASSERT(fit.never == 6 && fit.term[2].swept && !fit.term[2].fitted && fit.term[2].values == 1);
    CU_ASSERT(!fit.term[1].swept);
    mot_sweep_csv_free(t);
}

/* Keys not swept leave the regression; one key against the closed form
 * slope = Sxy / Sxx, se = sqrt(RSS / (n - 2) / Sxx). */
static void test_scaling_one_key(void)
{
    csv_out o;
    csv_begin(&o, "one.csv");
    static const double lr[] = {0.25, 0.25, 0.5, 0.5, 1, 1, 2, 2}, ts[] = {83, 77, 37, 44, 22, 19, 9, 11};
    for (int i = 0; i < 8; i++) {
        char text[16];
        snprintf(text, sizeof text, "%g", ts[i]);
        csv_row(&o, 4, 16, lr[i], 0.01, text, "1", "done");
    }
    mot_sweep_csv *t = csv_end(&o);
    mot_scaling_fit fit;
    CU_ASSERT(scaling_verdict(t, &fit, "lr only") == MOT_VERDICT_HOLDS);
    CU_ASSERT(fit.term[0].fitted && !fit.term[1].swept && !fit.term[2].swept && isnan(fit.term[1].exponent));
    double mx = 0, my = 0, sxx = 0, sxy = 0, rss = 0;
    for (int i = 0; i < 8; i++)
        mx += log(lr[i]) / 8, my += log(ts[i]) / 8;
    for (int i = 0; i < 8; i++)
        sxx += pow(log(lr[i]) - mx, 2), sxy += (log(lr[i]) - mx) * (log(ts[i]) - my);
    double slope = sxy / sxx, icpt = my - slope * mx;
    for (int i = 0; i < 8; i++)
        rss += pow(log(ts[i]) - icpt - slope * log(lr[i]), 2);
    double se = sqrt(rss / 6 / sxx);
    ASSERT_CLOSE(&fit.term[0].exponent, &slope, 1, 1e-12, 0);
    ASSERT_CLOSE(&fit.term[0].se, &se, 1, 1e-10, 0);
    ASSERT_CLOSE(&fit.c, &icpt, 1, 1e-12, 1e-14);
    mot_sweep_csv_free(t);
}

/* ---- coverage ----------------------------------------------------------- */

/* covered[i] of 5 runs cover at M = m[i] (N = 4). */
static mot_verdict_kind coverage_of(const char *name, const int *m, const int *covered, int n, mot_coverage *cov)
{
    csv_out o;
    csv_begin(&o, name);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < 5; r++)
            csv_row(&o, 4, m[i], 1, 0.1, "5", r < covered[i] ? "1" : "0", "done");
    csv_row(&o, 4, m[0], 1, 0.1, "", "", "failed");
    mot_sweep_csv *t = csv_end(&o);
    mot_verdict v;
    CU_ASSERT_FATAL(mot_check_coverage(t, cov, &v) == MOT_OK);
    mot_verdict_kind k = v.verdict;
    printf("\n    %s: %s: %s", name, mot_verdict_name(k), v.reason);
    mot_verdict_free(&v);
    mot_sweep_csv_free(t);
    return k;
}

static void test_coverage(void)
{
    mot_coverage *cov = malloc(sizeof *cov);
    CU_ASSERT_FATAL(cov != NULL);
    int m[] = {4, 8, 16, 32};
    CU_ASSERT(coverage_of("cov_holds", m, (int[]){1, 3, 5, 5}, 4, cov) == MOT_VERDICT_HOLDS);
    CU_ASSERT(cov->n == 4 && cov->unmeasured == 1 && cov->row[2].share == 1 && cov->row[0].share == 0.2);
    double x = 16 / (4 * log(4.0));
    ASSERT_CLOSE(&cov->row[2].x, &x, 1, 1e-15, 0);
    /* more experts, less coverage */
    CU_ASSERT(coverage_of("cov_falls", m, (int[]){1, 3, 5, 1}, 4, cov) == MOT_VERDICT_FAILS);
    /* never covered although random classes would be, at M = 32 */
    CU_ASSERT(coverage_of("cov_never", m, (int[]){0, 0, 0, 0}, 4, cov) == MOT_VERDICT_FAILS);
    /* too few experts to tell */
    CU_ASSERT(coverage_of("cov_few", (int[]){4, 6}, (int[]){0, 2}, 2, cov) == MOT_VERDICT_INCONCLUSIVE);
    /* one M only */
    CU_ASSERT(coverage_of("cov_one", (int[]){32}, (int[]){5}, 1, cov) == MOT_VERDICT_INCONCLUSIVE);
    free(cov);
}

static void test_coverage_random(void)
{
    /* inclusion-exclusion: sum_k (-1)^k C(N,k) (1 - k/N)^M */
    for (int N = 1; N <= 6; N++)
        for (int M = 1; M <= 40; M += 3) {
            double want = 0, binom = 1;
            for (int k = 0; k <= N; k++) {
                want += (k % 2 ? -1 : 1) * binom * pow(1 - (double)k / N, M);
                binom = binom * (N - k) / (k + 1);
            }
            double got = mot_coverage_random(N, M);
            ASSERT_CLOSE(&got, &want, 1, 1e-12, 1e-14);
        }
    CU_ASSERT(mot_coverage_random(4, 3) == 0 && mot_coverage_random(1, 1) == 1);
    CU_ASSERT(isnan(mot_coverage_random(0, 3)) && isnan(mot_coverage_random(MOT_MAX_CLASSES + 1, 100)));
}

static void test_csv_read_errors(void)
{
    const char *p = write_file("bad.csv", "a,b,c\n1,2,3\n1,2\n");
    mot_status_clear();
    CU_ASSERT(mot_sweep_csv_read(p) == NULL);
    CU_ASSERT(strstr(mot_status_message(), "line 3: 2 fields, the header has 3") != NULL);
    p = write_file("empty.csv", "");
    CU_ASSERT(mot_sweep_csv_read(p) == NULL);
    CU_ASSERT(strstr(mot_status_message(), "no header") != NULL);
    CU_ASSERT(mot_sweep_csv_read("/nonexistent/sweep.csv") == NULL);
    mot_sweep_csv *t = mot_sweep_csv_read(write_file("empty_fields.csv", "a,b,c\n,,\n"));
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT(t->rows == 1 && !strcmp(t->cells[2], ""));
    mot_sweep_csv *u = t;
    mot_coverage *cov = malloc(sizeof *cov);
    mot_verdict v;
    CU_ASSERT(mot_check_coverage(u, cov, &v) == MOT_EINVAL);   /* no N, M, coverage_T1 */
    mot_verdict_free(&v);
    free(cov);
    mot_sweep_csv_free(t);
}

int main(void)
{
    strcpy(root, "/tmp/test_sweep_XXXXXX");
    if (!mkdtemp(root) || CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite g = CU_add_suite("sweep grid", NULL, NULL);
    CU_pSuite c = CU_add_suite("sweep checks", NULL, NULL);
    if (!g || !c)
        return 1;
    CU_add_test(g, "mot_config_load skips [sweep]", test_config_load_skips_sweep);
    CU_add_test(g, "lists", test_lists);
    CU_add_test(g, "geometric and linear ranges", test_ranges);
    CU_add_test(g, "seeds", test_seeds);
    CU_add_test(g, "product, order and names", test_product_order_names);
    CU_add_test(g, "constraints between keys at a point", test_point_constraints);
    CU_add_test(g, "malformed values", test_malformed);
    CU_add_test(c, "T1 scaling holds and fails", test_scaling_holds_and_fails);
    CU_add_test(c, "T1 scaling inconclusive", test_scaling_inconclusive);
    CU_add_test(c, "T1 scaling, one key, closed form", test_scaling_one_key);
    CU_add_test(c, "coverage", test_coverage);
    CU_add_test(c, "coverage of random assignment", test_coverage_random);
    CU_add_test(c, "sweep.csv read errors", test_csv_read_errors);
    int status = run_cunit_suites();
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    if (system(cmd) != 0)
        status = 1;
    return status;
}

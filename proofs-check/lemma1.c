/* lemma1.c: Lemma 1 (the attention-absent floor), solved with the MPFR
 * Cholesky of hp.c. The floor is computed from the law of Definition 1,
 * never from samples; the check compares it with recorded test losses and
 * never trains.
 *
 * Derivation. Write w = L zbar = sum_l x_l for a sample of class n:
 *
 *     w = (beta + kappa) c_n + alpha y v_n + D + xi,
 *
 * D the distractor token (gamma y' v_n' with n' uniform on the other N - 1
 * classes, or an N(0, sigma_p^2 I) token when gamma = 0 or N = 1, exactly as
 * data.c draws it) and xi the sum of the L - 3 noise tokens,
 * xi ~ N(0, (L - 3) sigma_p^2 I). y, y', n', D and xi are independent and
 * y, y', xi are centred, so with E[y^2] = E[y'^2] = 1:
 *
 *     E[y w | n]     = alpha v_n                  (every other term has E[y] = 0)
 *     E[w w^T | n]   = (beta + kappa)^2 c_n c_n^T + alpha^2 v_n v_n^T
 *                      + E[D D^T] + (L - 3) sigma_p^2 I
 *     E[D D^T]       = gamma^2 / (N - 1) sum_{m != n} v_m v_m^T   (signal distractor)
 *                    = sigma_p^2 I                                (noise distractor)
 *
 * Every cross term vanishes: (beta+kappa) c_n times alpha y v_n has E[y] = 0,
 * anything times D has E[y'] = 0 (or E[noise] = 0) with y' independent of y,
 * anything times xi has E[xi] = 0. Then b_n = E[y w]/L, S_n = E[w w^T]/L^2,
 * so b_n^T S_n^{-1} b_n = alpha^2 v_n^T E[w w^T | n]^{-1} v_n (L cancels), and
 * E[(y - theta^T zbar)^2]/2 = (1 - 2 theta^T b_n + theta^T S_n theta)/2 is
 * least at S_n theta = b_n, where it is (1 - b_n^T S_n^{-1} b_n)/2 = floor_n.
 *
 * Closed form (orthogonal geometry). v_n is a unit vector orthogonal to c_n
 * and to every v_m, m != n, so it is an eigenvector of E[w w^T | n] with
 * eigenvalue alpha^2 + s2, s2 = n_noise sigma_p^2 (n_noise = L - 3, or L - 2
 * when D is a noise token): the c_n and distractor terms annihilate it.
 * Hence floor_n = (1 - alpha^2 / (alpha^2 + s2)) / 2 = s2 / (2 (alpha^2 + s2))
 * for every class, whatever beta, kappa, gamma > 0 and the class weights:
 * CHECKS.md's (L - 3) formula is exact when the distractor is a signal
 * (gamma > 0, N > 1) and must read L - 2 otherwise. */
#include "lemma1.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "fwd.h"
#include "gate.h"
#include "hp.h"
#include "io.h"
#include "loss.h"
#include "model.h"
#include "npy.h"
#include "status.h"
#include "store.h"

/* ---- the floor ----------------------------------------------------------- */

/* The distractor is another class's signal (else a noise token). */
static int signal_distractor(const mot_config *cfg)
{
    return cfg->gamma > 0 && cfg->N > 1;
}

static int noise_tokens(const mot_config *cfg)
{
    return signal_distractor(cfg) ? cfg->L - 3 : cfg->L - 2;
}

int mot_lemma1_floor(const mot_config *cfg, const double *c, const double *v,
                     mpfr_prec_t prec, mpfr_t floor_out, double *floor_n)
{
    size_t N = (size_t)cfg->N, d = (size_t)cfg->d;
    mpfr_t *S = mot_hp_alloc(d * d, prec), *Vall = mot_hp_alloc(d * d, prec);
    mpfr_t *cv = mot_hp_alloc(2 * N * d, prec), *x = mot_hp_alloc(d, prec);
    if (!S || !Vall || !cv || !x) {
        mot_hp_free(S, d * d), mot_hp_free(Vall, d * d);
        mot_hp_free(cv, 2 * N * d), mot_hp_free(x, d);
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate the %zu x %zu MPFR matrices of Lemma 1", d, d);
    }
    int status = MOT_OK;
    mpfr_t B2, A2, G2, s2, t, q, P, wsum, sum;
    mpfr_inits2(prec, B2, A2, G2, s2, t, q, P, wsum, sum, (mpfr_ptr)0);
    mpfr_t *cs = cv, *vs = cv + N * d; /* the signals, exactly */
    for (size_t i = 0; i < N * d; i++) {
        mpfr_set_d(cs[i], c[i], MPFR_RNDN);
        mpfr_set_d(vs[i], v[i], MPFR_RNDN);
    }
    mpfr_set_d(B2, cfg->beta, MPFR_RNDN);
    mpfr_add_d(B2, B2, cfg->kappa, MPFR_RNDN);
    mpfr_sqr(B2, B2, MPFR_RNDN);
    mpfr_set_d(A2, cfg->alpha, MPFR_RNDN);
    mpfr_sqr(A2, A2, MPFR_RNDN);
    mpfr_set_d(s2, cfg->sigma_p, MPFR_RNDN);
    mpfr_sqr(s2, s2, MPFR_RNDN);
    mpfr_mul_si(s2, s2, noise_tokens(cfg), MPFR_RNDN);
    int sig = signal_distractor(cfg);
    mpfr_set_zero(G2, 1);
    if (sig) {
        mpfr_set_d(G2, cfg->gamma, MPFR_RNDN);
        mpfr_sqr(G2, G2, MPFR_RNDN);
        mpfr_div_si(G2, G2, cfg->N - 1, MPFR_RNDN);
        for (size_t i = 0; i < d; i++) /* Vall = sum_m v_m v_m^T */
            for (size_t j = 0; j <= i; j++) {
                for (size_t m = 0; m < N; m++)
                    mpfr_fma(Vall[i * d + j], vs[m * d + i], vs[m * d + j], Vall[i * d + j],
                             MPFR_RNDN);
            }
    }
    mpfr_set_zero(wsum, 1);
    for (size_t n = 0; n < N; n++)
        mpfr_add_d(wsum, wsum, cfg->n_class_weights ? cfg->class_weights[n] : 1.0, MPFR_RNDN);
    mpfr_set_zero(sum, 1);
    /* A positive noise level makes S_n positive definite; without noise it
     * is singular off the signals' span, which b_n avoids. */
    double drop = cfg->sigma_p > 0 ? 0.0 : ldexp(1.0, -(int)(prec / 2));
    for (size_t n = 0; n < N && status == MOT_OK; n++) {
        const mpfr_t *cn = cs + n * d, *vn = vs + n * d;
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j <= i; j++) {
                mpfr_t *Sij = &S[i * d + j];
                mpfr_mul(*Sij, cn[i], cn[j], MPFR_RNDN);
                mpfr_mul(*Sij, *Sij, B2, MPFR_RNDN);
                mpfr_mul(t, vn[i], vn[j], MPFR_RNDN);
                mpfr_fma(*Sij, t, A2, *Sij, MPFR_RNDN);
                if (sig) { /* gamma^2/(N-1) (Vall - v_n v_n^T) */
                    mpfr_sub(t, Vall[i * d + j], t, MPFR_RNDN);
                    mpfr_fma(*Sij, t, G2, *Sij, MPFR_RNDN);
                }
                if (i == j)
                    mpfr_add(*Sij, *Sij, s2, MPFR_RNDN);
            }
        if (mot_hp_cholesky(S, d, drop) < 0) {
            status = MOT_ERROR(MOT_ENUMERIC, "Lemma 1: E[zbar zbar^T | n = %zu] is not positive "
                               "definite at %ld bits", n, (long)prec);
            break;
        }
        mot_hp_cholesky_solve(x, S, vn, d);
        mpfr_set_zero(q, 1);
        for (size_t i = 0; i < d; i++)
            mpfr_fma(q, vn[i], x[i], q, MPFR_RNDN);
        mpfr_mul(q, q, A2, MPFR_RNDN);   /* b^T S^{-1} b */
        mpfr_ui_sub(q, 1, q, MPFR_RNDN);
        mpfr_div_2ui(q, q, 1, MPFR_RNDN); /* floor_n */
        if (floor_n)
            floor_n[n] = mpfr_get_d(q, MPFR_RNDN);
        mpfr_set_d(P, cfg->n_class_weights ? cfg->class_weights[n] : 1.0, MPFR_RNDN);
        mpfr_div(P, P, wsum, MPFR_RNDN);
        mpfr_fma(sum, P, q, sum, MPFR_RNDN);
    }
    mpfr_set(floor_out, sum, MPFR_RNDN);
    mpfr_clears(B2, A2, G2, s2, t, q, P, wsum, sum, (mpfr_ptr)0);
    mot_hp_free(S, d * d), mot_hp_free(Vall, d * d);
    mot_hp_free(cv, 2 * N * d), mot_hp_free(x, d);
    return status;
}

void mot_lemma1_closed_form(const mot_config *cfg, mpfr_t out)
{
    if (cfg->geometry != MOT_GEOM_ORTHOGONAL) {
        mpfr_set_nan(out);
        return;
    }
    mpfr_t s2, den;
    mpfr_inits2(mpfr_get_prec(out) + 32, s2, den, (mpfr_ptr)0);
    mpfr_set_d(s2, cfg->sigma_p, MPFR_RNDN);
    mpfr_sqr(s2, s2, MPFR_RNDN);
    mpfr_mul_si(s2, s2, noise_tokens(cfg), MPFR_RNDN);
    mpfr_set_d(den, cfg->alpha, MPFR_RNDN);
    mpfr_sqr(den, den, MPFR_RNDN);
    mpfr_add(den, den, s2, MPFR_RNDN);
    mpfr_mul_2ui(den, den, 1, MPFR_RNDN);
    mpfr_div(out, s2, den, MPFR_RNDN);
    mpfr_clears(s2, den, (mpfr_ptr)0);
}

/* ---- the check ----------------------------------------------------------- */

/* Reads DIR/name, an (N, d) float64 array, into a malloc'd buffer. */
static double *read_signals(const char *dir, const char *name, size_t N, size_t d)
{
    char *path = mot_io_join(dir, name);
    void *data = NULL;
    int ndim = 0;
    size_t shape[MOT_NPY_MAX_DIM];
    if (!path) {
        MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
        return NULL;
    }
    if (mot_npy_read(path, MOT_NPY_F64, &ndim, shape, &data, N * d * sizeof(double)) == MOT_OK
        && (ndim != 2 || shape[0] != N || shape[1] != d)) {
        MOT_ERROR(MOT_EINVAL, "%s must have shape (%zu, %zu)", path, N, d);
        free(data);
        data = NULL;
    }
    free(path);
    return data;
}

/* What Lemma 1 takes from one run: the floor of its signals, the closed
 * form, how far the stored signals are from orthonormal. */
typedef struct {
    double floor, floor_ideal, closed, rel_diff, rel_diff_ideal, defect;
} run_floor;

static double rel_diff_mp(const mpfr_t a, const mpfr_t b)
{
    mpfr_t t;
    mpfr_init2(t, mpfr_get_prec(a));
    mpfr_sub(t, a, b, MPFR_RNDN);
    mpfr_abs(t, t, MPFR_RNDN);
    if (!mpfr_zero_p(b))
        mpfr_div(t, t, b, MPFR_RNDN);
    mpfr_abs(t, t, MPFR_RNDN);
    double r = mpfr_get_d(t, MPFR_RNDN);
    mpfr_clear(t);
    return r;
}

/* max |<s_i, s_j> - delta_ij| over the 2N signals, exactly (then rounded). */
static double ortho_defect(const double *c, const double *v, size_t N, size_t d)
{
    mpfr_t acc, one;
    mpfr_inits2(4 * 64 + 64, acc, one, (mpfr_ptr)0);
    double worst = 0;
    for (size_t i = 0; i < 2 * N; i++)
        for (size_t j = 0; j <= i; j++) {
            const double *a = i < N ? c + i * d : v + (i - N) * d;
            const double *b = j < N ? c + j * d : v + (j - N) * d;
            mpfr_set_si(acc, i == j ? -1 : 0, MPFR_RNDN);
            for (size_t k = 0; k < d; k++) {
                mpfr_set_d(one, a[k], MPFR_RNDN);
                mpfr_mul_d(one, one, b[k], MPFR_RNDN);
                mpfr_add(acc, acc, one, MPFR_RNDN);
            }
            worst = fmax(worst, fabs(mpfr_get_d(acc, MPFR_RNDN)));
        }
    mpfr_clears(acc, one, (mpfr_ptr)0);
    return worst;
}

static int floor_of_run(const mot_runrec *r, run_floor *f)
{
    const mot_config *cfg = &r->cfg;
    size_t N = (size_t)cfg->N, d = (size_t)cfg->d;
    mpfr_prec_t prec = cfg->precision;
    double *c = read_signals(r->dir, "signals_c.npy", N, d);
    double *v = c ? read_signals(r->dir, "signals_v.npy", N, d) : NULL;
    double *ci = calloc(N * d, sizeof *ci), *vi = calloc(N * d, sizeof *vi);
    mpfr_t fl, fi, cf;
    mpfr_inits2(prec, fl, fi, cf, (mpfr_ptr)0);
    int status = !c || !v ? (int)MOT_EINVAL
               : !ci || !vi ? MOT_ERROR(MOT_ENOMEM, "cannot allocate signals")
                            : mot_lemma1_floor(cfg, c, v, prec, fl, NULL);
    f->floor = mpfr_get_d(fl, MPFR_RNDN);
    f->floor_ideal = f->closed = f->rel_diff = f->rel_diff_ideal = f->defect = NAN;
    if (status == MOT_OK && cfg->geometry == MOT_GEOM_ORTHOGONAL) {
        for (size_t n = 0; n < N; n++) /* the unrotated construction, exact */
            ci[n * d + n] = 1.0, vi[n * d + N + n] = 1.0;
        status = mot_lemma1_floor(cfg, ci, vi, prec, fi, NULL);
        mot_lemma1_closed_form(cfg, cf);
        f->floor_ideal = mpfr_get_d(fi, MPFR_RNDN);
        f->closed = mpfr_get_d(cf, MPFR_RNDN);
        f->rel_diff = rel_diff_mp(fl, cf);
        f->rel_diff_ideal = rel_diff_mp(fi, cf);
        f->defect = ortho_defect(c, v, N, d);
    }
    mpfr_clears(fl, fi, cf, (mpfr_ptr)0);
    free(c), free(v), free(ci), free(vi);
    return status;
}

/* Mean and SE (sd / sqrt(count)) of test_loss over the last 10% of the
 * rows of metrics.csv (at least 2 rows when there are 2), and the last
 * value. */
static int plateau_of(const mot_runrec *r, double *mean, double *se, double *last, size_t *count)
{
    int col = mot_table_col(r->metrics, "test_loss");
    size_t rows = r->metrics->rows;
    if (col < 0 || rows == 0)
        return MOT_ERROR(MOT_EINVAL, "%s: metrics.csv has no test_loss rows", r->dir);
    size_t k = (rows + 9) / 10;
    if (k < 2)
        k = rows < 2 ? rows : 2;
    double s = 0, ss = 0;
    for (size_t i = rows - k; i < rows; i++)
        s += mot_table_at(r->metrics, i, col);
    *mean = s / (double)k;
    for (size_t i = rows - k; i < rows; i++) {
        double e = mot_table_at(r->metrics, i, col) - *mean;
        ss += e * e;
    }
    *se = k > 1 ? sqrt(ss / (double)(k - 1) / (double)k) : 0.0;
    *last = mot_table_at(r->metrics, rows - 1, col);
    *count = k;
    return isfinite(*mean) ? MOT_OK : MOT_ERROR(MOT_EINVAL, "%s: test_loss is not finite", r->dir);
}

/* The test-set sampling error of a gated run's final test loss: sd of the
 * per-sample losses of the final parameters (routed at inference) over
 * sqrt(n_test); also their mean. NaN when the run's arrays are not there. */
static void test_sampling_se(const mot_runrec *r, double *se, double *mean)
{
    *se = *mean = NAN;
    const mot_config *cfg = &r->cfg;
    mot_dataset *ds = mot_dataset_load(cfg, r->dir);
    mot_model *m = ds ? mot_model_alloc(cfg) : NULL;
    mot_fwd *f = m && m->gated && mot_params_load_tag(m, r->dir, "final") == MOT_OK
                     ? mot_fwd_alloc(m, ds->test, cfg->router_input) : NULL;
    if (f) {
        const mot_data *D = ds->test;
        size_t E = m->E;
        double s = 0, ss = 0;
        mot_fwd_all(f, m, D);
        for (size_t k = 0; k < D->n; k++) {
            size_t e = mot_gate_choose(f->H + k * E, NULL, E);
            double F = f->F[k * E + e] * (cfg->gate == MOT_GATE_SWITCH ? f->P[k * E + e] : 1.0);
            double l = mot_loss_value(cfg->loss, D->y[k], F);
            s += l, ss += l * l;
        }
        double n = (double)D->n, mu = s / n;
        *mean = mu;
        *se = n > 1 ? sqrt(fmax(ss / n - mu * mu, 0) * n / (n - 1) / n) : NAN;
    }
    mot_status_clear();
    mot_fwd_free(f);
    mot_model_free(m);
    mot_dataset_free(ds);
}

int mot_check_lemma1(const mot_runrec *mot_run, const mot_runrec *noattn_run, mot_verdict *v)
{
    mot_verdict_init(v, "lemma1");
    if (!mot_run && !noattn_run) {
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "neither a mot nor a moe_noattn run to check");
        return MOT_OK;
    }
    run_floor fm = {0}, fn = {0};
    int status = MOT_OK;
    if ((mot_run && (status = floor_of_run(mot_run, &fm)))
        || (noattn_run && (status = floor_of_run(noattn_run, &fn)))) {
        mot_verdict_free(v);
        return status;
    }
    const run_floor *ref = mot_run ? &fm : &fn;
    const mot_config *cfg = mot_run ? &mot_run->cfg : &noattn_run->cfg;
    const double tol_ideal = 1e-30;
    double tol_stored = fmax(1e-30, 4 * ref->defect);
    mot_verdict_num(v, "floor", ref->floor);
    mot_verdict_num(v, "closed_form", ref->closed);
    mot_verdict_num(v, "rel_diff", ref->rel_diff);
    mot_verdict_num(v, "rel_diff_tol", tol_stored);
    mot_verdict_num(v, "signal_defect", ref->defect);
    mot_verdict_num(v, "signal_defect_max", MOT_LEMMA1_DEFECT_MAX);
    mot_verdict_num(v, "floor_ideal_signals", ref->floor_ideal);
    mot_verdict_num(v, "rel_diff_ideal", ref->rel_diff_ideal);
    mot_verdict_num(v, "rel_diff_ideal_tol", tol_ideal);
    mot_verdict_num(v, "precision", cfg->precision);
    char parts[3][320] = {"", "", ""};
    int fails = 0;
    if (cfg->geometry == MOT_GEOM_ORTHOGONAL) {
        int ok = ref->rel_diff_ideal <= tol_ideal && ref->rel_diff <= tol_stored
              && ref->defect <= MOT_LEMMA1_DEFECT_MAX;
        fails += !ok;
        snprintf(parts[0], sizeof parts[0],
                 "floor %.10g vs closed form %.10g: rel diff %.3g (<= %.3g: stored signals, "
                 "orthonormal to %.3g <= %.0e), %.3g with ideal signals (<= %.0e)%s", ref->floor,
                 ref->closed, ref->rel_diff, tol_stored, ref->defect, MOT_LEMMA1_DEFECT_MAX,
                 ref->rel_diff_ideal, tol_ideal, ok ? "" : " FAILS");
    } else {
        snprintf(parts[0], sizeof parts[0], "floor %.10g (no closed form for geometry %s)",
                 ref->floor, mot_config_enum_name("geometry", (int)cfg->geometry));
    }
    double plateau = NAN, se = NAN, se_epochs = NAN, se_test = NAN, last = NAN, lmot = NAN;
    double replayed = NAN;
    size_t count = 0;
    if (noattn_run) {
        if ((status = plateau_of(noattn_run, &plateau, &se_epochs, &last, &count))) {
            mot_verdict_free(v);
            return status;
        }
        test_sampling_se(noattn_run, &se_test, &replayed);
        se = isfinite(se_test) ? hypot(se_epochs, se_test) : se_epochs;
        double thr = fn.floor - 3 * se;
        int ok = plateau >= thr;
        fails += !ok;
        mot_verdict_num(v, "floor_noattn", fn.floor);
        mot_verdict_num(v, "plateau_threshold", thr);
        snprintf(parts[1], sizeof parts[1],
                 "moe_noattn plateau %.6g (last %zu rows) %s floor - 3 SE = %.6g (SE %.3g: "
                 "epochs %.3g, test set %.3g)", plateau, count, ok ? ">=" : "< FAILS", thr, se,
                 se_epochs, se_test);
    } else {
        snprintf(parts[1], sizeof parts[1], "no moe_noattn run: plateau not checked");
    }
    mot_verdict_num(v, "plateau", plateau);
    mot_verdict_num(v, "plateau_se", se);
    mot_verdict_num(v, "plateau_se_epochs", se_epochs);
    mot_verdict_num(v, "plateau_se_test", se_test);
    mot_verdict_num(v, "plateau_rows", (double)count);
    mot_verdict_num(v, "noattn_final_test_loss_replayed", replayed);
    if (mot_run) {
        double pm, sm;
        size_t cm;
        if ((status = plateau_of(mot_run, &pm, &sm, &lmot, &cm))) {
            mot_verdict_free(v);
            return status;
        }
        int ok = lmot < fm.floor;
        fails += !ok;
        mot_verdict_num(v, "mot_floor", fm.floor);
        snprintf(parts[2], sizeof parts[2], "MoT final test loss %.6g %s floor %.6g", lmot,
                 ok ? "<" : ">= FAILS", fm.floor);
    } else {
        snprintf(parts[2], sizeof parts[2], "no mot run: MoT below the floor not checked");
    }
    mot_verdict_num(v, "mot_final_test_loss", lmot);
    mot_verdict_set(v, fails ? MOT_VERDICT_FAILS : MOT_VERDICT_HOLDS, "%s; %s; %s", parts[0],
                    parts[1], parts[2]);
    return MOT_OK;
}

/* replay.c: the high-precision replay of stage III (see replay.h). Per
 * expert e, with the samples k routed to it at T2 (no exploration noise):
 *
 *   H = (1/n_e) sum a_k^2 z_k z_k^T,  b = (1/n_e) sum a_k y_k z_k,  c = mean y_k^2
 *   loss(theta) = theta^T H theta / 2 - b^T theta + c / 2
 *   theta <- theta - s (H theta - b),   theta* = H^{-1} b,
 *   gap_t = loss(theta_t) - loss(theta*) = (theta_t - theta*)^T H (theta_t - theta*) / 2
 *
 * Since theta_t - theta* = (I - sH)^t (theta_0 - theta*), the error contracts
 * per epoch by the spectral radius of I - sH on the range of H,
 * rho = max(|1 - s mu|, |1 - s lambda|), and the gap by rho^2. The samples
 * enter only through H and b. The MPFR descent is run on that error: one
 * epoch is a product with K = I - sH, a block of m = 2^j epochs one product
 * with K^m (precomputed by squaring), so that the tens of millions of
 * epochs a small mu can need cost thousands of d x d products; T(eps) is
 * located to the epoch inside its block by bisection over the powers. The
 * double descent is plain, one epoch at a time, while it is compared. */
#include "replay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>

#include "data.h"
#include "fwd.h"
#include "gate.h"
#include "lemma1.h"
#include "model.h"
#include "status.h"
#include "store.h"

void mot_replay_expert_clear(mot_replay_expert *x)
{
    free(x->T), free(x->eps);
    x->T = x->eps = NULL;
    x->n_eps = 0;
}

/* ---- the descent on one least squares subtask ---------------------------- */

/* y = A x for the n x n matrix A (row-major). */
static void matvec_mp(mpfr_t *y, const mpfr_t *A, const mpfr_t *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mpfr_set_zero(y[i], 1);
        for (size_t j = 0; j < n; j++)
            mpfr_fma(y[i], A[i * n + j], x[j], y[i], MPFR_RNDN);
    }
}

static void matvec_d(double *y, const double *A, const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < n; j++)
            s += A[i * n + j] * x[j];
        y[i] = s;
    }
}

/* Eigenvalues of the double H (ascending) and the double minimizer theta*:
 * Cholesky when H is positive definite to double precision, else the
 * pseudo-inverse on the `rank` largest eigenvalues. */
static int double_side(double *evals, double *tstar, const double *Hd, const double *bd,
                       size_t d, int rank)
{
    gsl_matrix *A = gsl_matrix_alloc(d, d), *V = gsl_matrix_alloc(d, d);
    gsl_vector *ev = gsl_vector_alloc(d), *bv = gsl_vector_alloc(d), *xv = gsl_vector_alloc(d);
    gsl_eigen_symmv_workspace *w = gsl_eigen_symmv_alloc(d);
    int status = MOT_OK;
    if (!A || !V || !ev || !bv || !xv || !w) {
        status = MOT_ERROR(MOT_ENOMEM, "cannot allocate a %zu x %zu eigenproblem", d, d);
        goto done;
    }
    memcpy(A->data, Hd, d * d * sizeof *Hd);
    if (gsl_eigen_symmv(A, ev, V, w) != GSL_SUCCESS
        || gsl_eigen_symmv_sort(ev, V, GSL_EIGEN_SORT_VAL_ASC) != GSL_SUCCESS) {
        status = MOT_ERROR(MOT_ENUMERIC, "GSL's symmetric eigensolver failed on H_e");
        goto done;
    }
    for (size_t i = 0; i < d; i++)
        evals[i] = gsl_vector_get(ev, i);
    memcpy(A->data, Hd, d * d * sizeof *Hd);
    memcpy(bv->data, bd, d * sizeof *bd);
    if (rank == (int)d && gsl_linalg_cholesky_decomp1(A) == GSL_SUCCESS
        && gsl_linalg_cholesky_solve(A, bv, xv) == GSL_SUCCESS) {
        memcpy(tstar, xv->data, d * sizeof *tstar);
    } else {
        memset(tstar, 0, d * sizeof *tstar);
        for (size_t k = d - (size_t)rank; k < d; k++) {
            double p = 0;
            for (size_t i = 0; i < d; i++)
                p += gsl_matrix_get(V, i, k) * bd[i];
            for (size_t i = 0; i < d; i++)
                tstar[i] += gsl_matrix_get(V, i, k) * p / evals[k];
        }
    }
done:
    gsl_matrix_free(A), gsl_matrix_free(V);
    gsl_vector_free(ev), gsl_vector_free(bv), gsl_vector_free(xv);
    gsl_eigen_symmv_free(w);
    return status;
}

/* H and b of the subtask in MPFR (H full, symmetric). */
static void stats_mp(mpfr_t *H, mpfr_t *b, const mpfr_t *Zm, const mpfr_t *am, const double *y,
                     size_t n, size_t d, mpfr_t *az)
{
    for (size_t i = 0; i < d * d; i++)
        mpfr_set_zero(H[i], 1);
    for (size_t i = 0; i < d; i++)
        mpfr_set_zero(b[i], 1);
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i < d; i++) {
            if (am)
                mpfr_mul(az[i], Zm[k * d + i], am[k], MPFR_RNDN);
            else
                mpfr_set(az[i], Zm[k * d + i], MPFR_RNDN);
            if (y[k] > 0)
                mpfr_add(b[i], b[i], az[i], MPFR_RNDN);
            else
                mpfr_sub(b[i], b[i], az[i], MPFR_RNDN);
        }
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j <= i; j++)
                mpfr_fma(H[i * d + j], az[i], az[j], H[i * d + j], MPFR_RNDN);
    }
    for (size_t i = 0; i < d; i++) {
        mpfr_div_ui(b[i], b[i], (unsigned long)n, MPFR_RNDN);
        for (size_t j = 0; j <= i; j++) {
            mpfr_div_ui(H[i * d + j], H[i * d + j], (unsigned long)n, MPFR_RNDN);
            mpfr_set(H[j * d + i], H[i * d + j], MPFR_RNDN);
        }
    }
}

static void stats_d(double *H, double *b, const double *Zd, const double *ad, const double *y,
                    size_t n, size_t d)
{
    memset(H, 0, d * d * sizeof *H);
    memset(b, 0, d * sizeof *b);
    for (size_t k = 0; k < n; k++) {
        double a = ad ? ad[k] : 1.0;
        const double *z = Zd + k * d;
        for (size_t i = 0; i < d; i++) {
            b[i] += a * y[k] * z[i];
            for (size_t j = 0; j <= i; j++)
                H[i * d + j] += a * a * z[i] * z[j];
        }
    }
    for (size_t i = 0; i < d; i++) {
        b[i] /= (double)n;
        for (size_t j = 0; j <= i; j++)
            H[j * d + i] = H[i * d + j] /= (double)n;
    }
}

/* The descent after its setup: the MPFR error e_t = theta_t - theta*
 * advanced with powers of the propagator K = I - sH, and beside it the
 * double descent, compared where the MPFR descent lands. */
#define POW_MAX 12 /* blocks up to 2^12 = 4096 epochs */
#define BLOCK_FIRST 64
#define BLOCK_COMPARE 64
#define BLOCK_LONG 4096

typedef struct {
    size_t d;
    const mpfr_t *H;
    mpfr_t *P[POW_MAX + 1]; /* P[j] = K^(2^j) */
    mpfr_t *tmp;            /* (d) scratch */
    /* the double descent: theta at epoch td and its gap gd */
    const double *Hd, *bd, *tsd;
    double step, *th, *grad, *ed, *Hed, gd, g0d;
    long td, max_epochs;
    int comparing;
    double worst;
    long compared;
} descent;

/* g = e^T H e / 2 (and n2 = |e|^2 when not NULL). */
static void gap_mp(descent *D, mpfr_t g, mpfr_t n2, mpfr_t *e)
{
    matvec_mp(D->tmp, D->H, e, D->d);
    mpfr_set_zero(g, 1);
    if (n2)
        mpfr_set_zero(n2, 1);
    for (size_t i = 0; i < D->d; i++) {
        mpfr_fma(g, e[i], D->tmp[i], g, MPFR_RNDN);
        if (n2)
            mpfr_fma(n2, e[i], e[i], n2, MPFR_RNDN);
    }
    mpfr_div_2ui(g, g, 1, MPFR_RNDN);
}

/* out = K^m in for 1 <= m < 2^(POW_MAX+1), by the binary digits of m;
 * w is scratch (d). out, in and w are distinct. */
static void propagate(descent *D, mpfr_t *out, const mpfr_t *in, long m, mpfr_t *w)
{
    size_t d = D->d;
    int first = 1;
    for (int j = 0; j <= POW_MAX; j++) {
        if (!((m >> j) & 1))
            continue;
        matvec_mp(w, D->P[j], first ? in : (const mpfr_t *)out, d);
        for (size_t i = 0; i < d; i++)
            mpfr_swap(out[i], w[i]);
        first = 0;
    }
}

/* The double gap of the current double iterate. */
static void double_gap(descent *D)
{
    size_t d = D->d;
    for (size_t i = 0; i < d; i++)
        D->ed[i] = D->th[i] - D->tsd[i];
    matvec_d(D->Hed, D->Hd, D->ed, d);
    double g = 0;
    for (size_t i = 0; i < d; i++)
        g += D->ed[i] * D->Hed[i];
    D->gd = g / 2;
}

/* Compares the MPFR gap g of epoch t with the double descent's, advancing
 * the double descent to t; stops comparing once the double gap is at or
 * below MOT_REPLAY_DOUBLE_FLOOR of its start. */
static void compare_at(descent *D, long t, double g)
{
    size_t d = D->d;
    while (D->comparing && D->td < t) {
        matvec_d(D->grad, D->Hd, D->th, d);
        for (size_t i = 0; i < d; i++)
            D->th[i] -= D->step * (D->grad[i] - D->bd[i]);
        D->td++;
        double_gap(D);
        if (!(D->gd > MOT_REPLAY_DOUBLE_FLOOR * D->g0d))
            D->comparing = 0;
    }
    if (D->comparing && g > 0) {
        D->worst = fmax(D->worst, fabs(D->gd - g) / g);
        D->compared++;
    }
}

/* The last u in [0, m) with gap(K^u e) > thr, given gap(e) > thr >= gap(K^m e):
 * the crossing is at u + 1. cur (d) receives K^u e; cand and w are scratch. */
static long bisect(descent *D, mpfr_t *e, long m, const mpfr_t thr, mpfr_t *cur, mpfr_t *cand,
                   mpfr_t g)
{
    size_t d = D->d;
    for (size_t i = 0; i < d; i++)
        mpfr_set(cur[i], e[i], MPFR_RNDN);
    long u = 0;
    for (int j = POW_MAX; j >= 0; j--) {
        if (u + (1L << j) >= m)
            continue;
        matvec_mp(cand, D->P[j], cur, d);
        gap_mp(D, g, NULL, cand);
        if (mpfr_cmp(g, thr) > 0) {
            for (size_t i = 0; i < d; i++)
                mpfr_swap(cur[i], cand[i]);
            u += 1L << j;
        }
    }
    return u;
}

/* Runs the MPFR descent from e (theta0 - theta*) and the double one beside
 * it; fills x's epochs, reached, g0, g_end, rho_meas, the T(eps) grid and
 * the double comparison. vec holds 6 d scratch values. */
static int run_descent(descent *D, mot_replay_expert *x, mpfr_t *e, mpfr_t *vec, double hp_eps,
                       mpfr_prec_t bits)
{
    size_t d = D->d;
    mpfr_t *enew = vec, *cur = vec + d, *cand = vec + 2 * d, *w = vec + 3 * d, *eprev = vec + 4 * d;
    mpfr_t g, gnew, gp, g0, n2, n2p, target, thr;
    mpfr_inits2(bits, g, gnew, gp, g0, n2, n2p, target, thr, (mpfr_ptr)0);
    gap_mp(D, g0, NULL, e);
    mpfr_set(g, g0, MPFR_RNDN);
    mpfr_mul_d(target, g0, hp_eps, MPFR_RNDN);
    x->g0 = x->g_end = mpfr_get_d(g0, MPFR_RNDN);
    size_t cap = (size_t)(4 * -log10(hp_eps)) + 8;
    x->T = malloc(cap * sizeof *x->T);
    x->eps = malloc(cap * sizeof *x->eps);
    if (!x->T || !x->eps) {
        mpfr_clears(g, gnew, gp, g0, n2, n2p, target, thr, (mpfr_ptr)0);
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate the T(eps) grid");
    }
    double_gap(D);
    D->g0d = D->gd;
    D->comparing = D->gd > 0;
    compare_at(D, 0, x->g0);
    long t = 0, T = -1;
    int k = 1, last_single = 0;
    double eps_k = x->g0 * pow(10.0, -k / 4.0), eps_min = hp_eps * x->g0 * (1 - 1e-12);
    while (mpfr_sgn(g0) > 0 && t < D->max_epochs) {
        long m = t < BLOCK_FIRST ? 1 : D->comparing ? BLOCK_COMPARE : BLOCK_LONG;
        if (m > D->max_epochs - t)
            m = D->max_epochs - t;
        if (m > 1 && t + m == D->max_epochs)
            m--; /* end on a single epoch, to measure the contraction there */
        propagate(D, enew, e, m, w);
        gap_mp(D, gnew, NULL, enew);
        /* every grid point crossed in this block, located to its epoch */
        while (eps_k >= eps_min && x->n_eps < cap && mpfr_cmp_d(gnew, eps_k) <= 0) {
            mpfr_set_d(thr, eps_k, MPFR_RNDN);
            x->T[x->n_eps] = (double)(t + bisect(D, e, m, thr, cur, cand, gp) + 1);
            x->eps[x->n_eps++] = eps_k;
            k++;
            eps_k = x->g0 * pow(10.0, -k / 4.0);
        }
        if (mpfr_cmp(gnew, target) <= 0) { /* reached: T and the states at T - 1, T */
            T = t + bisect(D, e, m, target, cur, cand, gp) + 1;
            matvec_mp(enew, D->P[0], cur, d);
            gap_mp(D, gp, n2p, cur);
            gap_mp(D, g, n2, enew);
            x->reached = 1;
            break;
        }
        for (size_t i = 0; i < d; i++)
            mpfr_swap(eprev[i], e[i]), mpfr_swap(e[i], enew[i]);
        mpfr_set(gp, g, MPFR_RNDN);
        mpfr_set(g, gnew, MPFR_RNDN);
        last_single = m == 1;
        t += m;
        compare_at(D, t, mpfr_get_d(g, MPFR_RNDN));
    }
    if (T < 0) { /* the cap (or a zero start): the last two states */
        T = t;
        if (t > 0 && last_single) {
            gap_mp(D, gp, n2p, eprev);
            gap_mp(D, g, n2, e);
        } else {
            mpfr_set_nan(n2p);
        }
    }
    x->epochs = T;
    x->g_end = mpfr_get_d(g, MPFR_RNDN);
    x->rho_meas = NAN;
    if (T > 0 && mpfr_number_p(n2p) && mpfr_sgn(gp) > 0) {
        if (x->rank == (int)d)
            mpfr_div(n2, n2, n2p, MPFR_RNDN);
        else
            mpfr_div(n2, g, gp, MPFR_RNDN);
        mpfr_sqrt(n2, n2, MPFR_RNDN);
        x->rho_meas = mpfr_get_d(n2, MPFR_RNDN);
    }
    x->double_rel_diff = D->compared ? D->worst : NAN;
    x->double_compared = D->compared;
    x->double_epochs = D->td;
    mpfr_clears(g, gnew, gp, g0, n2, n2p, target, thr, (mpfr_ptr)0);
    return MOT_OK;
}

int mot_hp_descent(mot_replay_expert *x, const mpfr_t *Zm, const double *Zd, const double *a,
                   const double *y, size_t n, size_t d, const double *theta0, double step,
                   double hp_eps, long max_epochs, mpfr_prec_t bits)
{
    memset(x, 0, sizeof *x);
    x->n = n, x->d = d, x->step = step;
    x->z_diff = x->double_rel_diff = NAN;
    descent D = {.d = d, .step = step, .max_epochs = max_epochs};
    /* The MPFR gate factors: a is exact in MPFR when given as double. */
    mpfr_t *am = a ? mot_hp_alloc(n, bits) : NULL;
    mpfr_t *H = mot_hp_alloc(d * d, bits), *Lf = mot_hp_alloc(d * d, bits);
    mpfr_t *v = mot_hp_alloc(11 * d, bits);
    double *Hd = malloc((d * d + 8 * d) * sizeof *Hd);
    int status = MOT_OK, npow = 0;
    for (; npow <= POW_MAX; npow++)
        if (!(D.P[npow] = mot_hp_alloc(d * d, bits)))
            break;
    if ((a && !am) || !H || !Lf || !v || !Hd || npow <= POW_MAX) {
        status = MOT_ERROR(MOT_ENOMEM, "cannot allocate the replay of a %zu x %zu subtask", d, d);
        goto done;
    }
    double *evals = Hd + d * d, *bd = evals + d, *tsd = bd + d;
    mpfr_t *b = v, *tstar = v + d, *e = v + 2 * d, *rest = v + 3 * d;
    D.tmp = v + 9 * d;
    D.H = (const mpfr_t *)H, D.Hd = Hd, D.bd = bd, D.tsd = tsd;
    D.th = tsd + d, D.grad = D.th + d, D.ed = D.grad + d, D.Hed = D.ed + d;
    for (size_t k = 0; a && k < n; k++)
        mpfr_set_d(am[k], a[k], MPFR_RNDN);
    stats_mp(H, b, Zm, (const mpfr_t *)am, y, n, d, D.tmp);
    stats_d(Hd, bd, Zd, a, y, n, d);

    /* theta* in MPFR; a singular H (rank < d) keeps one of its minimizers,
     * which leaves the gap the same. */
    for (size_t i = 0; i < d * d; i++)
        mpfr_set(Lf[i], H[i], MPFR_RNDN);
    long dropped = mot_hp_cholesky(Lf, d, 0);
    if (dropped < 0) {
        for (size_t i = 0; i < d * d; i++)
            mpfr_set(Lf[i], H[i], MPFR_RNDN);
        dropped = mot_hp_cholesky(Lf, d, ldexp(1.0, -(int)bits / 2));
    }
    if (dropped < 0) {
        status = MOT_ERROR(MOT_ENUMERIC, "H_e is not positive semidefinite at %ld bits", (long)bits);
        goto done;
    }
    x->rank = (int)(d - (size_t)dropped);
    mot_hp_cholesky_solve(tstar, (const mpfr_t *)Lf, (const mpfr_t *)b, d);
    if ((status = double_side(evals, tsd, Hd, bd, d, x->rank)))
        goto done;
    x->lambda = evals[d - 1];
    x->mu = x->rank > 0 ? evals[d - (size_t)x->rank] : NAN;
    x->rho_pred = fmax(fabs(1 - step * x->mu), fabs(1 - step * x->lambda));
    x->epochs_needed = x->rho_pred < 1 ? log(hp_eps) / log(x->rho_pred * x->rho_pred) : INFINITY;

    /* K = I - sH and its powers K^(2^j) by squaring */
    mpfr_t s;
    mpfr_init2(s, bits);
    mpfr_set_d(s, step, MPFR_RNDN);
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++) {
            mpfr_mul(D.P[0][i * d + j], H[i * d + j], s, MPFR_RNDN);
            mpfr_neg(D.P[0][i * d + j], D.P[0][i * d + j], MPFR_RNDN);
            if (i == j)
                mpfr_add_ui(D.P[0][i * d + j], D.P[0][i * d + j], 1, MPFR_RNDN);
        }
    mpfr_clear(s);
    for (int j = 1; j <= POW_MAX; j++)
        for (size_t r = 0; r < d; r++)
            for (size_t c = 0; c < d; c++) {
                mpfr_t *out = &D.P[j][r * d + c];
                mpfr_set_zero(*out, 1);
                for (size_t k = 0; k < d; k++)
                    mpfr_fma(*out, D.P[j - 1][r * d + k], D.P[j - 1][k * d + c], *out, MPFR_RNDN);
            }
    for (size_t i = 0; i < d; i++) {
        mpfr_set_d(e[i], theta0[i], MPFR_RNDN);
        mpfr_sub(e[i], e[i], tstar[i], MPFR_RNDN);
    }
    memcpy(D.th, theta0, d * sizeof *theta0);
    if ((status = run_descent(&D, x, e, rest, hp_eps, bits)))
        goto done;
    status = mot_rate_fit(x->T, x->eps, x->n_eps, &x->fit);
    x->rho_rel_diff = fabs(x->rho_meas - x->rho_pred) / x->rho_pred;
    x->rate_rel_diff = fabs((1 - x->rho_meas) - (1 - x->rho_pred)) / fabs(1 - x->rho_pred);
done:
    mot_hp_free(am, a ? n : 0);
    mot_hp_free(H, d * d), mot_hp_free(Lf, d * d), mot_hp_free(v, 11 * d);
    for (int j = 0; j < npow; j++)
        mot_hp_free(D.P[j], d * d);
    free(Hd);
    if (status)
        mot_replay_expert_clear(x);
    return status;
}

/* ---- the run ------------------------------------------------------------- */

/* z (d) in MPFR: attention of the tokens Xm (L, d) with Wm (d, d) (NULL:
 * uniform), softmax with mpfr_exp. q, u are scratch (d) and (L). */
static void attend_mp(mpfr_t *z, const mpfr_t *Xm, const mpfr_t *Wm, size_t L, size_t d,
                      mpfr_t *q, mpfr_t *u, mpfr_t tmp)
{
    if (!Wm) {
        for (size_t j = 0; j < d; j++) {
            mpfr_set_zero(z[j], 1);
            for (size_t l = 0; l < L; l++)
                mpfr_add(z[j], z[j], Xm[l * d + j], MPFR_RNDN);
            mpfr_div_ui(z[j], z[j], (unsigned long)L, MPFR_RNDN);
        }
        return;
    }
    for (size_t j = 0; j < d; j++) { /* q = W^T x_1 */
        mpfr_set_zero(q[j], 1);
        for (size_t i = 0; i < d; i++)
            mpfr_fma(q[j], Wm[i * d + j], Xm[i], q[j], MPFR_RNDN);
    }
    size_t lmax = 0;
    for (size_t l = 0; l < L; l++) { /* u_l = q . x_l */
        mpfr_set_zero(u[l], 1);
        for (size_t j = 0; j < d; j++)
            mpfr_fma(u[l], q[j], Xm[l * d + j], u[l], MPFR_RNDN);
        if (mpfr_cmp(u[l], u[lmax]) > 0)
            lmax = l;
    }
    mpfr_set(tmp, u[lmax], MPFR_RNDN);
    for (size_t l = 0; l < L; l++) {
        mpfr_sub(u[l], u[l], tmp, MPFR_RNDN);
        mpfr_exp(u[l], u[l], MPFR_RNDN);
    }
    mpfr_set_zero(tmp, 1);
    for (size_t l = 0; l < L; l++)
        mpfr_add(tmp, tmp, u[l], MPFR_RNDN);
    for (size_t l = 0; l < L; l++)
        mpfr_div(u[l], u[l], tmp, MPFR_RNDN); /* s_l */
    for (size_t j = 0; j < d; j++) {
        mpfr_set_zero(z[j], 1);
        for (size_t l = 0; l < L; l++)
            mpfr_fma(z[j], u[l], Xm[l * d + j], z[j], MPFR_RNDN);
    }
}

/* pi_m(X) in MPFR for the router input r (d) and router weights w (E, d). */
static double gate_prob_mp(const double *r, const double *w, size_t m, size_t E, size_t d,
                           mpfr_prec_t bits)
{
    mpfr_t *h = mot_hp_alloc(E + 2, bits);
    if (!h)
        return NAN;
    mpfr_t *t = h + E, *sum = h + E + 1;
    size_t best = 0;
    for (size_t e = 0; e < E; e++) {
        for (size_t j = 0; j < d; j++) {
            mpfr_set_d(*t, w[e * d + j], MPFR_RNDN);
            mpfr_mul_d(*t, *t, r[j], MPFR_RNDN);
            mpfr_add(h[e], h[e], *t, MPFR_RNDN);
        }
        if (mpfr_cmp(h[e], h[best]) > 0)
            best = e;
    }
    mpfr_set(*t, h[best], MPFR_RNDN);
    for (size_t e = 0; e < E; e++) {
        mpfr_sub(h[e], h[e], *t, MPFR_RNDN);
        mpfr_exp(h[e], h[e], MPFR_RNDN);
        mpfr_add(*sum, *sum, h[e], MPFR_RNDN);
    }
    mpfr_div(*t, h[m], *sum, MPFR_RNDN);
    double p = mpfr_get_d(*t, MPFR_RNDN);
    mot_hp_free(h, E + 2);
    return p;
}

/* Replays expert e on its routed samples idx (n). */
static int replay_expert(mot_replay_expert *x, const mot_config *cfg, const mot_model *m,
                         const mot_fwd *f, const mot_data *D, const size_t *idx, size_t n,
                         size_t e, unsigned bits, long max_epochs)
{
    size_t d = D->d, L = D->L, V = mot_model_view_of(m, e);
    const double *W = mot_model_W(m, V);
    mpfr_t *Zm = mot_hp_alloc(n * d, bits), *Xm = mot_hp_alloc(L * d, bits);
    mpfr_t *Wm = W ? mot_hp_alloc(d * d, bits) : NULL, *sc = mot_hp_alloc(d + L + 1, bits);
    double *Zd = malloc(n * d * sizeof *Zd), *y = malloc(n * sizeof *y);
    double *a = cfg->gate == MOT_GATE_SWITCH ? malloc(n * sizeof *a) : NULL;
    double *rsum = malloc(d * sizeof *rsum);
    int status = MOT_OK;
    if (!Zm || !Xm || (W && !Wm) || !sc || !Zd || !y || (cfg->gate == MOT_GATE_SWITCH && !a) || !rsum) {
        status = MOT_ERROR(MOT_ENOMEM, "cannot allocate the replay of expert %zu", e);
        goto done;
    }
    for (size_t i = 0; W && i < d * d; i++)
        mpfr_set_d(Wm[i], W[i], MPFR_RNDN);
    double zmax = 0, zdiff = 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = idx[i];
        const double *X = D->X + k * L * d;
        for (size_t j = 0; j < L * d; j++)
            mpfr_set_d(Xm[j], X[j], MPFR_RNDN);
        attend_mp(Zm + i * d, Xm, Wm, L, d, sc, sc + d, sc[d + L]);
        const double *zd = mot_fwd_z(f, V, k);
        memcpy(Zd + i * d, zd, d * sizeof *zd);
        for (size_t j = 0; j < d; j++) {
            zmax = fmax(zmax, fabs(zd[j]));
            zdiff = fmax(zdiff, fabs(mpfr_get_d(Zm[i * d + j], MPFR_RNDN) - zd[j]));
        }
        y[i] = D->y[k];
        if (a) {
            const double *r = X;
            if (cfg->router_input == MOT_ROUTER_SUM) {
                memset(rsum, 0, d * sizeof *rsum);
                for (size_t l = 0; l < L; l++)
                    for (size_t j = 0; j < d; j++)
                        rsum[j] += X[l * d + j];
                r = rsum;
            }
            a[i] = gate_prob_mp(r, m->w, e, m->E, d, bits);
        }
    }
    double step = cfg->lr_scale * cfg->eta;
    if (cfg->grad_norm == MOT_NORM_GLOBAL)
        step *= (double)n / (double)D->n;
    status = mot_hp_descent(x, Zm, Zd, a, y, n, d, m->theta + e * d, step, cfg->hp_eps,
                            max_epochs, bits);
    x->expert = (int)e;
    x->z_diff = zmax > 0 ? zdiff / zmax : zdiff;
done:
    mot_hp_free(Zm, n * d), mot_hp_free(Xm, L * d), mot_hp_free(Wm, W ? d * d : 0);
    mot_hp_free(sc, d + L + 1);
    free(Zd), free(y), free(a), free(rsum);
    return status;
}

void mot_hp_replay_verdict(const mot_replay_expert *x, size_t nx, const mot_config *cfg,
                           long max_epochs, mot_verdict *v)
{
    json_t *arr = json_array();
    char fail[512] = "", short_of[512] = "";
    size_t replayed = 0;
    double worst_rho = 0, worst_dbl = 0, worst_z = 0;
    for (size_t i = 0; i < nx; i++) {
        const mot_replay_expert *p = &x[i];
        json_t *o = json_object();
#define NUM(key, val) json_object_set_new(o, key, isfinite((double)(val)) ? json_real((double)(val)) : json_null())
        json_object_set_new(o, "expert", json_integer(p->expert));
        json_object_set_new(o, "n", json_integer((json_int_t)p->n));
        json_object_set_new(o, "rank", json_integer(p->rank));
        NUM("step", p->step);
        NUM("mu", p->mu);
        NUM("lambda", p->lambda);
        NUM("rho_pred", p->rho_pred);
        NUM("rho_meas", p->rho_meas);
        NUM("rho_rel_diff", p->rho_rel_diff);
        NUM("rate_rel_diff", p->rate_rel_diff);
        NUM("epochs_needed", p->epochs_needed);
        json_object_set_new(o, "epochs", json_integer(p->epochs));
        json_object_set_new(o, "reached", json_boolean(p->reached));
        NUM("gap_start", p->g0);
        NUM("gap_end", p->g_end);
        NUM("z_rel_diff", p->z_diff);
        NUM("double_rel_diff", p->double_rel_diff);
        json_object_set_new(o, "double_epochs", json_integer(p->double_epochs));
        json_object_set_new(o, "double_compared", json_integer(p->double_compared));
        json_object_set_new(o, "fit", json_string(mot_rate_name(p->fit.kind)));
        NUM("fit_points", (double)p->fit.n);
        NUM("r2_log", p->fit.r2_log);
        NUM("r2_inv", p->fit.r2_inv);
        NUM("fit_b_log", p->fit.b_log);
        json_t *Tj = json_array(), *ej = json_array();
        for (size_t k = 0; k < p->n_eps; k++)
            json_array_append_new(Tj, json_real(p->T[k])), json_array_append_new(ej, json_real(p->eps[k]));
        json_object_set_new(o, "T_eps", Tj);
        json_object_set_new(o, "eps", ej);
#undef NUM
        json_array_append_new(arr, o);
        if (!(p->g0 > 0))
            continue; /* already at its minimizer: nothing to replay */
        replayed++;
        worst_z = fmax(worst_z, p->z_diff);
        if (p->reached)
            worst_rho = fmax(worst_rho, p->rho_rel_diff);
        if (p->double_compared)
            worst_dbl = fmax(worst_dbl, p->double_rel_diff);
        size_t fl = strlen(fail), sl = strlen(short_of);
        if (!(p->z_diff <= MOT_REPLAY_Z_TOL))
            snprintf(fail + fl, sizeof fail - fl, "; expert %d: MPFR z differs from the library's by %.3g > %.0e",
                     p->expert, p->z_diff, MOT_REPLAY_Z_TOL);
        else if (p->double_compared && !(p->double_rel_diff <= MOT_REPLAY_DOUBLE_TOL))
            snprintf(fail + fl, sizeof fail - fl,
                     "; expert %d: double gap off the MPFR gap by %.3g > %.0e (over %ld epochs)",
                     p->expert, p->double_rel_diff, MOT_REPLAY_DOUBLE_TOL, p->double_epochs);
        else if (!p->reached)
            snprintf(short_of + sl, sizeof short_of - sl,
                     "; expert %d: mu %.3g needs %.3g epochs (gap at %.2g of start; T(eps) so far %s, "
                     "R^2 log %.2f inv %.2f)", p->expert, p->mu, p->epochs_needed, p->g_end / p->g0,
                     mot_rate_name(p->fit.kind), p->fit.r2_log, p->fit.r2_inv);
        else if (!(p->rho_rel_diff <= cfg->rho_tol))
            snprintf(fail + fl, sizeof fail - fl,
                     "; expert %d: measured contraction %.10g vs predicted %.10g (rel diff %.3g > %.3g)",
                     p->expert, p->rho_meas, p->rho_pred, p->rho_rel_diff, cfg->rho_tol);
        else if (p->fit.kind != MOT_RATE_LOGARITHMIC)
            snprintf(fail + fl, sizeof fail - fl, "; expert %d: T(eps) is %s (R^2 log %.4f, inverse %.4f)",
                     p->expert, mot_rate_name(p->fit.kind), p->fit.r2_log, p->fit.r2_inv);
    }
    json_object_set_new(v->numbers, "experts", arr);
    mot_verdict_num(v, "experts_replayed", (double)replayed);
    mot_verdict_num(v, "worst_rho_rel_diff", worst_rho);
    mot_verdict_num(v, "worst_double_rel_diff", worst_dbl);
    mot_verdict_num(v, "worst_z_rel_diff", worst_z);
    mot_verdict_num(v, "rho_tol", cfg->rho_tol);
    mot_verdict_num(v, "double_tol", MOT_REPLAY_DOUBLE_TOL);
    mot_verdict_num(v, "double_floor", MOT_REPLAY_DOUBLE_FLOOR);
    mot_verdict_num(v, "z_tol", MOT_REPLAY_Z_TOL);
    mot_verdict_num(v, "hp_eps", cfg->hp_eps);
    mot_verdict_num(v, "max_epochs", (double)max_epochs);
    if (fail[0])
        mot_verdict_set(v, MOT_VERDICT_FAILS, "%s", fail + 2);
    else if (short_of[0])
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "hp_eps %.0e not reached within %ld epochs "
                        "(double within %.3g of MPFR so far)%s", cfg->hp_eps, max_epochs, worst_dbl,
                        short_of);
    else if (!replayed)
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "no expert has a gap to close at T2");
    else
        mot_verdict_set(v, MOT_VERDICT_HOLDS,
                        "%zu experts: contraction within %.3g of predicted (<= %.3g), double within "
                        "%.3g of MPFR (<= %.0e), T(eps) logarithmic down to %.0e", replayed,
                        worst_rho, cfg->rho_tol, worst_dbl, MOT_REPLAY_DOUBLE_TOL, cfg->hp_eps);
}

int mot_check_hp_replay(const mot_runrec *r, unsigned bits, long max_epochs, mot_verdict *v)
{
    mot_verdict_init(v, "hp_replay");
    const mot_config *cfg = &r->cfg;
    mot_verdict_num(v, "bits", bits);
    mot_verdict_num(v, "batch", cfg->batch); /* > 0: the replay is the full-batch idealization */
    if (cfg->loss != MOT_LOSS_SQUARED) {
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE,
                        "loss = %s: stage III is not a least squares problem, so there is no linear "
                        "descent to replay and no contraction to predict",
                        mot_config_enum_name("loss", (int)cfg->loss));
        return MOT_OK;
    }
    if (cfg->model == MOT_MODEL_SINGLE) {
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "model = single has no gate: no per-expert "
                        "subtask to replay");
        return MOT_OK;
    }
    if (bits < 53 || max_epochs < 1) {
        mot_verdict_free(v);
        return MOT_ERROR(MOT_EINVAL, "the replay needs bits >= 53 and max_epochs >= 1 (got %u, %ld)",
                         bits, max_epochs);
    }
    mot_dataset *ds = mot_dataset_load(cfg, r->dir);
    mot_model *m = ds ? mot_model_alloc(cfg) : NULL;
    mot_fwd *f = NULL;
    size_t E = m ? m->E : 0, n = ds ? ds->train->n : 0;
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    mot_replay_expert *x = calloc(E + 1, sizeof *x);
    int status = !ds ? (int)MOT_EINVAL
               : !m || !idx || !x ? MOT_ERROR(MOT_ENOMEM, "cannot allocate the replay")
                                          : mot_params_load_tag(m, r->dir, "stage2");
    if (status == MOT_OK && !(f = mot_fwd_alloc(m, ds->train, cfg->router_input)))
        status = MOT_ERROR(MOT_ENOMEM, "cannot allocate the forward pass");
    size_t nx = 0;
    if (status == MOT_OK) {
        const mot_data *D = ds->train;
        mot_fwd_all(f, m, D);
        int *route = malloc(n * sizeof *route);
        if (!route)
            status = MOT_ERROR(MOT_ENOMEM, "cannot allocate the routing");
        for (size_t k = 0; route && k < n; k++)
            route[k] = (int)mot_gate_choose(f->H + k * E, NULL, E);
        for (size_t e = 0; status == MOT_OK && e < E; e++) {
            size_t ne = 0;
            for (size_t k = 0; k < n; k++)
                if ((size_t)route[k] == e)
                    idx[ne++] = k;
            if (!ne)
                continue;
            status = replay_expert(&x[nx], cfg, m, f, D, idx, ne, e, bits, max_epochs);
            if (status == MOT_OK)
                nx++;
        }
        free(route);
    }
    if (status == MOT_OK)
        mot_hp_replay_verdict(x, nx, cfg, max_epochs, v);
    else
        mot_verdict_free(v);
    for (size_t i = 0; i < nx; i++)
        mot_replay_expert_clear(&x[i]);
    free(x), free(idx);
    mot_fwd_free(f);
    mot_model_free(m);
    mot_dataset_free(ds);
    return status;
}

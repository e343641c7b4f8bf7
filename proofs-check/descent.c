/* descent.c: the descent of descent.h on one expert's subtask (lsq.h):
 *
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
 * double descent is plain, one epoch at a time, while it is compared. It
 * neither reads runs nor judges: replay.c does both. */
#include "descent.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "hp.h"
#include "lsq.h"
#include "status.h"

void mot_replay_expert_clear(mot_replay_expert *x)
{
    free(x->T), free(x->eps);
    x->T = x->eps = NULL;
    x->n_eps = 0;
}

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
    mot_lsq_stats_mp(H, b, Zm, (const mpfr_t *)am, y, n, d, D.tmp);
    mot_lsq_stats_d(Hd, bd, Zd, a, y, n, d);

    /* theta* both ways; a singular H (rank < d) keeps one of its minimizers,
     * which leaves the gap the same. */
    if ((status = mot_lsq_solve_mp(tstar, &x->rank, Lf, (const mpfr_t *)H, (const mpfr_t *)b, d,
                                   bits)))
        goto done;
    if ((status = mot_lsq_solve_d(evals, tsd, Hd, bd, d, x->rank)))
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

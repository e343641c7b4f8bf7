/* batch_fwd.c: the forward half of the fast step (batch.h): the caches
 * over the data set, each recomputed only for the samples of a batch whose
 * entry predates what it depends on (attention S and attended tokens Z: W's
 * version; token projections T: theta's), and the experts' outputs F of a
 * batch from Z or from S and T. Also the vectorized softmax the gate and
 * the attention share. It neither allocates (batch.c) nor forms gradients
 * (batch_grad.c), and it is not the forward used for recording (fwd.h). */
#include <stdint.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "batch.h"
#include "batch_impl.h"

static inline uint64_t bits_of(double x)
{
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline double double_of(uint64_t u)
{
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* exp(x) for x <= 0 (or NaN), in plain arithmetic that vectorizes: x =
 * k ln 2 + r with |r| <= ln(2)/2 (Cody and Waite's two-part ln 2), exp(r)
 * by its Taylor series to r^13 (truncation below 1e-17), times 2^k built
 * in the exponent bits, in two factors so that results down to the
 * smallest subnormal are rounded once. Within about 1 ulp of libm's exp. */
static inline double exp_nonpos(double x)
{
    const double log2e = 1.4426950408889634074, shift = 0x1.8p52;
    const double ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
    x = x < -746.0 ? -746.0 : x;
    double kd = x * log2e + shift; /* k = round(x / ln 2), in the low bits */
    double k = kd - shift;
    int64_t ki = (int64_t)(bits_of(kd) - bits_of(shift));
    double r = (x - k * ln2hi) - k * ln2lo;
    double p = 1.0 / 6227020800.0;                       /* 1/13! */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    int64_t k2 = ki < -1000 ? -540 : 0, k1 = ki - k2; /* both 2^k1, 2^k2 normal */
    return p * double_of((uint64_t)(k1 + 1023) << 52) * double_of((uint64_t)(k2 + 1023) << 52);
}

MOT_CLONES void batch_softmax_rows(double *restrict U, size_t rows, size_t n)
{
    for (size_t i = 0; i < rows; i++) {
        double *u = U + i * n, max = u[0];
        for (size_t j = 1; j < n; j++)
            max = u[j] > max ? u[j] : max;
#pragma omp simd
        for (size_t j = 0; j < n; j++)
            u[j] -= max;
    }
    size_t all = rows * n;
#pragma omp simd
    for (size_t j = 0; j < all; j++) /* the exponentials of all rows at once */
        U[j] = exp_nonpos(U[j]);
    for (size_t i = 0; i < rows; i++) {
        double *u = U + i * n, sum = 0;
        for (size_t j = 0; j < n; j++)
            sum += u[j];
#pragma omp simd
        for (size_t j = 0; j < n; j++)
            u[j] /= sum;
    }
}

/* Views below which a sample's scores are dot products (measured on the
 * default config: 12% faster for one or two views, twice slower for 12). */
enum { DOTS_BELOW = 4 };

/* Attention S of the samples of batch rows [s0, s1) whose cache predates
 * W's version; one softmax call when they are all of them, contiguous. */
MOT_CLONES void batch_attend(mot_batch *b, const mot_model *m, const mot_data *D, const size_t *idx,
                             size_t s0, size_t s1, int group, mot_batch_scratch *s, double *fl)
{
    size_t L = b->L, d = b->d, V = b->V, A = b->A, ns = 0;
    for (size_t i = s0; i < s1; i++) {
        size_t k = idx ? idx[i] : i;
        if (b->sstamp[k] != m->version)
            s->stale[ns++] = k;
    }
    if (!ns)
        return;
    if (!A) { /* no attention: uniform weights */
        for (size_t j = 0; j < ns; j++) {
            double *Sk = b->S + s->stale[j] * V * L;
            for (size_t l = 0; l < L; l++)
                Sk[l] = 1.0 / (double)L;
            b->sstamp[s->stale[j]] = m->version;
        }
        return;
    }
    /* the scores, and the queries' products unless shared */
    *fl += 2.0 * (double)(ns * V * L * d) + (group ? 0.0 : 2.0 * (double)(ns * A * d * d));
    if (!group) { /* W_a^T x_1 of each stale sample, view by view */
        for (size_t j = 0; j < ns; j++)
            memcpy(s->X1s + j * d, D->X + s->stale[j] * L * d, d * sizeof *s->X1s);
        for (size_t a = 0; a < A; a++)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ns, (int)d, (int)d, 1.0,
                        s->X1s, (int)d, m->W + a * d * d, (int)d, 0.0, s->Qs + a * d, (int)(A * d));
    }
    for (size_t j = 0; j < ns; j++) { /* u (V, L): row a holds x_l^T W_a^T x_1 */
        size_t k = s->stale[j];
        const double *q = group ? b->Qu + b->f->qid[k] * A * d : s->Qs + j * A * d;
        double *u = b->S + k * V * L;
        if (V < DOTS_BELOW) /* a few rows: dot products beat a BLAS call's overhead */
            for (size_t a = 0; a < V; a++)
                for (size_t l = 0; l < L; l++)
                    u[a * L + l] = dot(q + a * d, D->X + (k * L + l) * d, d);
        else
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)V, (int)L, (int)d, 1.0, q,
                        (int)d, D->X + k * L * d, (int)d, 0.0, u, (int)L);
    }
    if (!idx && ns == s1 - s0) /* contiguous rows: one call */
        batch_softmax_rows(b->S + s0 * V * L, ns * V, L);
    else
        for (size_t j = 0; j < ns; j++)
            batch_softmax_rows(b->S + s->stale[j] * V * L, V, L);
    for (size_t j = 0; j < ns; j++)
        b->sstamp[s->stale[j]] = m->version;
}

/* Z of the samples of batch rows [s0, s1) computed before W's last change
 * (S must be current). */
MOT_CLONES void batch_attend_all(mot_batch *b, const mot_model *m, const mot_data *D, const size_t *idx,
                      size_t s0, size_t s1, double *fl)
{
    size_t L = b->L, d = b->d, V = b->V;
    for (size_t i = s0; i < s1; i++) {
        size_t k = idx ? idx[i] : i;
        if (b->zstamp[k] == m->version)
            continue;
        const double *X = D->X + k * L * d, *Sk = b->S + k * V * L;
        size_t own = 0;
        for (size_t a = 0; a < V; a++)
            if (V == 1 || b->vsrc[a] == a) /* the others read this view's */
                attend_z(b->Z + (k * V + a) * d, Sk + a * L, X, L, d), own++;
        b->zstamp[k] = m->version;
        *fl += 2.0 * (double)(own * L * d);
    }
}

/* T of the samples of batch rows [s0, s1) computed before theta's last
 * change (models with V > 1). */
void batch_project(mot_batch *b, const mot_model *m, const mot_data *D, const size_t *idx,
                   size_t s0, size_t s1, double *fl)
{
    size_t L = b->L, d = b->d, E = b->E, n = b->n;
    if (!idx) { /* contiguous samples: one dgemm for the sub-chunk */
        size_t k = s0;
        while (k < s1 && b->tstamp[k] == b->theta_version)
            k++;
        if (k == s1)
            return;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)E, (int)((s1 - s0) * L), (int)d,
                    1.0, m->theta, (int)d, D->X + s0 * L * d, (int)d, 0.0, b->T + s0 * L,
                    (int)(n * L));
        for (k = s0; k < s1; k++)
            b->tstamp[k] = b->theta_version;
        *fl += 2.0 * (double)((s1 - s0) * L * d * E);
        return;
    }
    for (size_t i = s0; i < s1; i++) {
        size_t k = idx[i];
        if (b->tstamp[k] == b->theta_version)
            continue;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)E, (int)L, (int)d, 1.0,
                    m->theta, (int)d, D->X + k * L * d, (int)d, 0.0, b->T + k * L, (int)(n * L));
        b->tstamp[k] = b->theta_version;
        *fl += 2.0 * (double)(L * d * E);
    }
}

/* F of batch rows [s0, s1): f_e = theta_e^T z_e from Z. */
void batch_outputs_z(mot_batch *b, const mot_model *m, const size_t *idx,
                     size_t s0, size_t s1, mot_batch_scratch *s)
{
    size_t d = b->d, E = b->E, V = b->V, cnt = s1 - s0;
    if (V == 1 || b->vone) { /* one z a sample (view 0's): F = Z theta^T */
        const double *Z = b->Z + s0 * V * d;
        if (idx) {
            for (size_t i = s0; i < s1; i++)
                memcpy(s->Zs + (i - s0) * d, b->Z + idx[i] * V * d, d * sizeof *s->Zs);
            Z = s->Zs;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cnt, (int)E, (int)d, 1.0, Z,
                    (int)(idx ? d : V * d), m->theta, (int)d, 0.0, b->F + s0 * E, (int)E);
        return;
    }
    for (size_t i = s0; i < s1; i++) { /* expert e reads view e, or the view it matches */
        const double *Zk = b->Z + (idx ? idx[i] : i) * V * d;
        for (size_t e = 0; e < E; e++)
            b->F[i * E + e] = dot(Zk + b->vsrc[e] * d, m->theta + e * d, d);
    }
}

/* F of batch rows [s0, s1): f_e = sum_l s_l T[e][l]. */
void batch_outputs_t(mot_batch *b, const mot_model *m, const size_t *idx, size_t s0, size_t s1)
{
    size_t E = b->E, V = b->V, L = b->L, n = b->n;
    for (size_t i = s0; i < s1; i++) {
        size_t k = idx ? idx[i] : i;
        const double *Sk = b->S + k * V * L;
        for (size_t e = 0; e < E; e++) {
            const double *sv = Sk + mot_model_view_of(m, e) * L, *Te = b->T + (e * n + k) * L;
            double f = 0;
            for (size_t l = 0; l < L; l++)
                f += sv[l] * Te[l];
            b->F[i * E + e] = f;
        }
    }
}

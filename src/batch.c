/* batch.c: see batch.h. The work of a step, for B samples, E experts, V
 * views, L tokens of dimension d (docs/model.md section 3, 6.3):
 *
 *   gate      H = R w^T, P = softmax(H)            2 B E d
 *             (router_input = query, distinct queries: once per query, 2 nq E d)
 *   attention (when W changed) per sample and view: q = W^T x_1 (per
 *             distinct query), u = X q, s = softmax(u)     2 B L d V + B L V exp
 *   Z         (when W changed, theta trains) z = X^T s    2 B L d V
 *   T         (when theta changed, theta frozen) T = X theta^T   2 B L d E
 *   outputs   f_e = theta_e^T z_e (Z), or sum_l s_l T[e][l]      2 B d E (2 B L E)
 *   theta     z of the routed expert (every head: single), summed
 *             per expert                                   2 B d H (+ 2 B L d H without Z)
 *   W         c phi = c sum_l s_l (T[e][l] - f_e) x_l       2 B L d H + B d H
 *             (+ 2 B L d H for theta_e^T x_l without T), then x_1 (c phi)^T
 *             summed per view                              2 B d^2 H
 *             (distinct queries: c phi summed by query, B d H, then 2 nq d^2 per view)
 *   router    C^T R                                        2 B E d
 *             (distinct queries: C summed by query, then C_q^T X_q   B E + 2 nq E d)
 *
 * with H = 1 for gated models (one expert per sample) and H = E for single.
 * Each task of the batch owns its rows of F and C, its Phi rows and its
 * partial sums; mot_batch_gradients adds the partial sums in task order. */
#include "batch.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "block.h"
#include "gate.h"
#include "loss.h"
#include "mot_autoconf.h"
#include "status.h"

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef HAVE_OPENBLAS
void openblas_set_num_threads(int n);
#endif

struct mot_batch_scratch {
    size_t *stale;      /* (sub) samples to recompute */
    double *X1s, *Qs;   /* (sub, d), (sub, A d): their queries and W_a^T x_1 */
    double *Zs;         /* (sub, d) gathered attended tokens (one view, mini-batch) */
    double *z, *phi;    /* (d) */
    double *tl, *lossE; /* (L), (E) */
};

static void scratch_free(mot_batch_scratch *s)
{
    if (!s)
        return;
    free(s->stale), free(s->X1s), free(s->Qs), free(s->Zs);
    free(s->z), free(s->phi), free(s->tl), free(s->lossE);
    free(s);
}

/* 64-byte aligned, so that every thread's scratch has the same alignment
 * and a BLAS kernel takes the same path whichever thread runs a task. */
static double *dalloc(size_t count)
{
    size_t bytes = (count ? count : 1) * sizeof(double);
    bytes = (bytes + 63) / 64 * 64;
    return aligned_alloc(64, bytes);
}

static mot_batch_scratch *scratch_alloc(const mot_batch *b)
{
    mot_batch_scratch *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    size_t sub = b->sub, d = b->d;
    s->stale = malloc(sub * sizeof *s->stale);
    s->X1s = dalloc(sub * d);
    s->Qs = dalloc(sub * (b->A ? b->A : 1) * d);
    s->Zs = dalloc(sub * d);
    s->z = dalloc(d), s->phi = dalloc(d);
    s->tl = dalloc(b->L), s->lossE = dalloc(b->E);
    if (!s->stale || !s->X1s || !s->Qs || !s->Zs || !s->z || !s->phi || !s->tl || !s->lossE) {
        scratch_free(s);
        return NULL;
    }
    return s;
}

mot_batch *mot_batch_alloc(const mot_model *m, const mot_data *D, const mot_fwd *f)
{
    mot_batch *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    size_t n = D->n, L = D->L, d = D->d, E = m->E, A = m->A, V = mot_model_views(m);
    size_t Hc = m->gated ? 1 : E; /* W contributions per sample */
    b->n = n, b->L = L, b->d = d, b->E = E, b->A = A, b->V = V;
    b->gated = m->gated, b->kind = m->kind, b->f = f, b->use_unique = 1;
    /* a sub-chunk's tokens fill about 512 KiB, so they stay in cache while
     * its dgemm results are used */
    size_t sub = 65536 / (L * d);
    b->sub = sub < 1 ? 1 : sub > 256 ? 256 : sub;
    b->S = dalloc(n * V * L);
    b->sstamp = malloc(n * sizeof *b->sstamp);
    b->Z = V == 1 || V * n * d * sizeof(double) <= MOT_BATCH_Z_BUDGET ? dalloc(V * n * d) : NULL;
    b->zstamp = malloc(n * sizeof *b->zstamp);
    b->use_z = 1;
    b->T = V > 1 ? dalloc(E * n * L) : NULL;
    b->tstamp = malloc(n * sizeof *b->tstamp);
    b->theta_seen = dalloc(E * d);
    b->Qu = A ? dalloc(MOT_BATCH_MAX_QUERIES * A * d) : NULL;
    b->H = dalloc(n * E), b->P = dalloc(n * E), b->Rg = m->gated ? dalloc(n * d) : NULL;
    b->F = dalloc(n * E), b->C = dalloc(n * E);
    b->part = dalloc(MOT_BATCH_MAX_TASKS * (2 * E * d + 2 + MOT_BATCH_MAX_QUERIES * E));
    b->Cq = dalloc(2 * MOT_BATCH_MAX_QUERIES * E);
    b->Phi = A ? dalloc(n * Hc * d) : NULL;
    b->X1g = A ? dalloc(n * Hc * d) : NULL;
    b->rowk = malloc(n * Hc * sizeof *b->rowk);
    b->pos = malloc(n * Hc * sizeof *b->pos);
    b->voff = malloc((V + 1) * sizeof *b->voff);
    b->Pq = A ? dalloc(V * MOT_BATCH_MAX_QUERIES * d) : NULL;
    int ok = b->S && b->sstamp && (V > 1 || b->Z) && (V == 1 || b->T) && b->tstamp && b->zstamp
          && b->theta_seen && (!A || (b->Qu && b->Phi && b->X1g && b->Pq)) && b->H && b->P
          && (!m->gated || b->Rg) && b->F && b->C && b->part && b->Cq && b->rowk && b->pos && b->voff;
    if (!ok || mot_batch_set_threads(b, 1) != MOT_OK) {
        mot_batch_free(b);
        return NULL;
    }
    /* Nothing is cached yet: stamps no version can have. */
    for (size_t k = 0; k < n; k++)
        b->sstamp[k] = b->zstamp[k] = m->version - 1, b->tstamp[k] = 0;
    b->qu_version = m->version - 1;
    b->theta_version = 1;
    memcpy(b->theta_seen, m->theta, E * d * sizeof *b->theta_seen);
#ifdef HAVE_OPENBLAS
    /* The parallelism is the step's, over samples; OpenBLAS's own threads
     * would only compete with it for the cores. */
    openblas_set_num_threads(1);
#endif
    return b;
}

void mot_batch_free(mot_batch *b)
{
    if (!b)
        return;
    free(b->S), free(b->sstamp), free(b->Z), free(b->zstamp), free(b->T), free(b->tstamp), free(b->theta_seen);
    free(b->Qu), free(b->H), free(b->P), free(b->Rg), free(b->F), free(b->C), free(b->part), free(b->Cq);
    free(b->Phi), free(b->X1g), free(b->rowk), free(b->pos), free(b->voff), free(b->Pq);
    for (int i = 0; i < b->nscratch; i++)
        scratch_free(b->scratch[i]);
    free(b->scratch);
    free(b);
}

int mot_batch_set_threads(mot_batch *b, int threads)
{
    if (threads < 1)
        threads = 1;
    if (threads > b->nscratch) {
        mot_batch_scratch **s = calloc((size_t)threads, sizeof *s);
        if (!s)
            return MOT_ERROR(MOT_ENOMEM, "cannot allocate the scratch of %d threads", threads);
        for (int i = 0; i < threads; i++)
            if (!(s[i] = scratch_alloc(b))) {
                for (int j = 0; j < i; j++)
                    scratch_free(s[j]);
                free(s);
                return MOT_ERROR(MOT_ENOMEM, "cannot allocate the scratch of %d threads", threads);
            }
        for (int i = 0; i < b->nscratch; i++)
            scratch_free(b->scratch[i]);
        free(b->scratch);
        b->scratch = s, b->nscratch = threads;
    }
    b->threads = threads;
    return MOT_OK;
}

static int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* The hot loops below are compiled for AVX-512, AVX2 and the baseline and
 * the best the CPU has is picked at load time. None reassociates a sum
 * across vector lanes and the build has no FMA contraction (-std=c11), so
 * every clone gives the same bits. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define MOT_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef MOT_CLONES
#define MOT_CLONES
#endif

/* x^T y (n): eight running sums (lane t adds the terms j = t mod 8 in
 * order), then added in a fixed tree: the same bits at any vector width. */
static inline double dot(const double *restrict x, const double *restrict y, size_t n)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t j = 0;
    for (; j + 8 <= n; j += 8)
#pragma omp simd
        for (size_t t = 0; t < 8; t++)
            acc[t] += x[j + t] * y[j + t];
    for (size_t t = 0; j < n; j++, t++)
        acc[t] += x[j] * y[j];
    return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

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

/* Row-wise softmax of U (rows, n) in place, shifted by each row's maximum;
 * the same as mot_block_softmax up to the last bits of exp. */
MOT_CLONES static void softmax_rows(double *restrict U, size_t rows, size_t n)
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

/* Samples per task: a function of the batch size only, so that the partial
 * sums, and hence the result, do not depend on the thread count. */
static size_t task_size(size_t B)
{
    size_t ts = (B + MOT_BATCH_MAX_TASKS - 1) / MOT_BATCH_MAX_TASKS;
    return ts < 16 ? 16 : ts;
}

/* Router input rows of the batch, in batch order, and their stride. */
static const double *router_rows(const mot_batch *b, const size_t *idx, size_t *ldr)
{
    if (!idx) {
        *ldr = b->f->ldr;
        return b->f->R;
    }
    *ldr = b->d;
    return b->Rg;
}

/* Is the distinct-query path taken for a batch of B samples? */
static int grouped(const mot_batch *b, size_t B)
{
    return b->use_unique && b->f->nq <= MOT_BATCH_MAX_QUERIES && b->f->nq < B;
}

/* Does the router read the distinct queries (router_input = query, on the
 * distinct-query path)? Then its logits are those of the nq distinct x_1,
 * and its gradient sum_k c_k x_{k,1} is sum_q (sum_{k: x_{k,1} = x_q} c_k) x_q. */
static int router_grouped(const mot_batch *b, size_t B)
{
    return b->gated && !b->f->Rsum && grouped(b, B);
}

/* What a step computes its outputs from. */
typedef struct {
    int group;  /* distinct-query path */
    int rgroup; /* the router's too */
    int zpath;  /* f = theta^T z from Z (else from T) */
} plan;

void mot_batch_gate(mot_batch *b, const mot_model *m, const size_t *idx, size_t B)
{
    size_t d = b->d, E = b->E, ts = task_size(B), nt = (B + ts - 1) / ts, ldr;
    if (router_grouped(b, B)) { /* the logits of the distinct queries, copied */
        size_t nq = b->f->nq;
        double *Hq = b->Cq, *Pq = b->Cq + nq * E; /* scratch: Cq is free until the gradients */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)E, (int)d, 1.0,
                    b->f->Xu, (int)d, m->w, (int)d, 0.0, Hq, (int)E);
        memcpy(Pq, Hq, nq * E * sizeof *Pq);
        softmax_rows(Pq, nq, E);
        for (size_t i = 0; i < B; i++) {
            size_t q = b->f->qid[idx ? idx[i] : i];
            memcpy(b->H + i * E, Hq + q * E, E * sizeof *b->H);
            memcpy(b->P + i * E, Pq + q * E, E * sizeof *b->P);
        }
        b->flops += 2.0 * (double)(nq * E * d);
        return;
    }
    if (idx)
        for (size_t i = 0; i < B; i++)
            memcpy(b->Rg + i * d, b->f->R + idx[i] * b->f->ldr, d * sizeof *b->Rg);
    const double *R = router_rows(b, idx, &ldr);
    b->flops += 2.0 * (double)(B * E * d);
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads) if (b->threads > 1 && nt > 1)
    for (size_t t = 0; t < nt; t++) {
        size_t i0 = t * ts, cnt = B - i0 < ts ? B - i0 : ts;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cnt, (int)E, (int)d, 1.0,
                    R + i0 * ldr, (int)ldr, m->w, (int)d, 0.0, b->H + i0 * E, (int)E);
        memcpy(b->P + i0 * E, b->H + i0 * E, cnt * E * sizeof *b->P);
        softmax_rows(b->P + i0 * E, cnt, E);
    }
}

/* x (n) += a y (n), element by element (vectorized, no reassociation). */
static inline void axpy(double *restrict x, double a, const double *restrict y, size_t n)
{
#pragma omp simd
    for (size_t j = 0; j < n; j++)
        x[j] += a * y[j];
}

/* z (d) = X^T s for tokens X (L, d), token after token. */
static void attend_z(double *restrict z, const double *restrict s, const double *restrict X,
                     size_t L, size_t d)
{
    for (size_t j = 0; j < d; j++)
        z[j] = 0;
    for (size_t l = 0; l < L; l++)
        axpy(z, s[l], X + l * d, d);
}

/* Attention S of the samples of batch rows [s0, s1) whose cache predates
 * W's version. */
static void attend(mot_batch *b, const mot_model *m, const mot_data *D, const size_t *idx,
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
    if (A) /* the scores, and the queries' products unless shared */
        *fl += 2.0 * (double)(ns * V * L * d) + (group ? 0.0 : 2.0 * (double)(ns * A * d * d));
    if (A && !group) { /* W_a^T x_1 of each stale sample, view by view */
        for (size_t j = 0; j < ns; j++)
            memcpy(s->X1s + j * d, D->X + s->stale[j] * L * d, d * sizeof *s->X1s);
        for (size_t a = 0; a < A; a++)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ns, (int)d, (int)d, 1.0,
                        s->X1s, (int)d, m->W + a * d * d, (int)d, 0.0, s->Qs + a * d, (int)(A * d));
    }
    for (size_t j = 0; j < ns; j++) {
        size_t k = s->stale[j];
        double *Sk = b->S + k * V * L;
        if (A) {
            const double *q = group ? b->Qu + b->f->qid[k] * A * d : s->Qs + j * A * d;
            /* u (V, L): row a holds x_l^T W_a^T x_1 */
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)V, (int)L, (int)d, 1.0,
                        q, (int)d, D->X + k * L * d, (int)d, 0.0, Sk, (int)L);
            softmax_rows(Sk, V, L);
        } else {
            for (size_t l = 0; l < L; l++)
                Sk[l] = 1.0 / (double)L;
        }
        b->sstamp[k] = m->version;
    }
}

/* Z of the samples of batch rows [s0, s1) computed before W's last change
 * (S must be current). */
static void attend_all(mot_batch *b, const mot_model *m, const mot_data *D, const size_t *idx,
                       size_t s0, size_t s1, double *fl)
{
    size_t L = b->L, d = b->d, V = b->V;
    for (size_t i = s0; i < s1; i++) {
        size_t k = idx ? idx[i] : i;
        if (b->zstamp[k] == m->version)
            continue;
        const double *X = D->X + k * L * d, *Sk = b->S + k * V * L;
        for (size_t a = 0; a < V; a++)
            attend_z(b->Z + (k * V + a) * d, Sk + a * L, X, L, d);
        b->zstamp[k] = m->version;
        *fl += 2.0 * (double)(V * L * d);
    }
}

/* T of the samples of batch rows [s0, s1) computed before theta's last
 * change (models with V > 1). */
static void project(mot_batch *b, const mot_model *m, const mot_data *D, const size_t *idx,
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
static void outputs_z(mot_batch *b, const mot_model *m, const size_t *idx,
                      size_t s0, size_t s1, mot_batch_scratch *s)
{
    size_t d = b->d, E = b->E, V = b->V, cnt = s1 - s0;
    if (V == 1) { /* one view: F = Z theta^T */
        const double *Z = b->Z + s0 * d;
        if (idx) {
            for (size_t i = s0; i < s1; i++)
                memcpy(s->Zs + (i - s0) * d, b->Z + idx[i] * d, d * sizeof *s->Zs);
            Z = s->Zs;
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cnt, (int)E, (int)d, 1.0, Z,
                    (int)d, m->theta, (int)d, 0.0, b->F + s0 * E, (int)E);
        return;
    }
    for (size_t i = s0; i < s1; i++) { /* expert e reads view e */
        const double *Zk = b->Z + (idx ? idx[i] : i) * V * d;
        for (size_t e = 0; e < E; e++)
            b->F[i * E + e] = dot(Zk + e * d, m->theta + e * d, d);
    }
}

/* F of batch rows [s0, s1): f_e = sum_l s_l T[e][l]. */
static void outputs_t(mot_batch *b, const mot_model *m, const size_t *idx, size_t s0, size_t s1)
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

/* The gradient contributions of expert (or head) e on sample k at batch
 * row i: ct z_e into gtheta (the task's partial), cw phi_e into Phi row
 * `row`. */
static void contribute(mot_batch *b, const mot_model *m, const mot_data *D, const plan *p,
                       size_t i, size_t k, size_t e, double ct, double cw, size_t row,
                       unsigned groups, double *gtheta, mot_batch_scratch *s, double *fl)
{
    size_t L = b->L, d = b->d, E = b->E, V = b->V, n = b->n;
    size_t a = mot_model_view_of(m, e);
    const double *X = D->X + k * L * d, *sv = b->S + (k * V + a) * L;
    if (groups & MOT_GROUP_THETA) {
        const double *z = s->z;
        if (p->zpath)
            z = b->Z + (k * V + a) * d;
        else
            attend_z(s->z, sv, X, L, d), *fl += 2.0 * (double)(L * d);
        axpy(gtheta + e * d, ct, z, d);
        *fl += 2.0 * (double)d;
    }
    if (!(groups & MOT_GROUP_W))
        return;
    /* phi = sum_l s_l (theta_e^T x_l - f_e) x_l */
    double f = b->F[i * E + e], *phi = b->Phi + row * d;
    const double *tl = s->tl;
    if (!p->zpath && b->T)
        tl = b->T + (e * n + k) * L;
    else
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)L, (int)d, 1.0, X, (int)d,
                    m->theta + e * d, 1, 0.0, s->tl, 1), *fl += 2.0 * (double)(L * d);
    *fl += 2.0 * (double)(L * d) + (double)d;
    for (size_t j = 0; j < d; j++)
        s->phi[j] = 0;
    for (size_t l = 0; l < L; l++)
        axpy(s->phi, sv[l] * (tl[l] - f), X + l * d, d);
    for (size_t j = 0; j < d; j++)
        phi[j] = cw * s->phi[j];
    b->rowk[row] = k;
}

/* mot_loss_value, with the squared loss inlined (the same expression). */
static inline double loss_value(mot_loss_kind kind, double y, double F)
{
    return kind == MOT_LOSS_SQUARED ? 0.5 * (y - F) * (y - F) : mot_loss_value(kind, y, F);
}

/* The divisor of expert e's gradient, as trainer.c's divisor(). */
static double divisor(const mot_batch *b, const mot_batch_rule *rule, const size_t *count,
                      size_t e, size_t B, unsigned group)
{
    if (b->kind == MOT_MODEL_SINGLE || rule->norm == MOT_NORM_GLOBAL)
        return (double)B;
    if (group == MOT_GROUP_W && b->A == 1)
        return (double)B;
    return (double)count[e];
}

/* One task: batch rows [i0, i1). */
static void run_task(mot_batch *b, const mot_model *m, const mot_data *D,
                     const mot_batch_rule *rule, const int *route, const size_t *count,
                     const size_t *idx, size_t B, unsigned groups, const plan *p,
                     size_t i0, size_t i1, double *part, mot_batch_scratch *s)
{
    size_t d = b->d, E = b->E, L = b->L;
    double *gtheta = part, *gw = part + E * d, loss = 0, fl = 0;
    memset(part, 0, (2 * E * d + 2 + MOT_BATCH_MAX_QUERIES * E) * sizeof *part);
    for (size_t s0 = i0; s0 < i1; s0 += b->sub) {
        size_t s1 = s0 + b->sub < i1 ? s0 + b->sub : i1;
        attend(b, m, D, idx, s0, s1, p->group, s, &fl);
        if (p->zpath) {
            attend_all(b, m, D, idx, s0, s1, &fl);
            outputs_z(b, m, idx, s0, s1, s);
            fl += 2.0 * (double)((s1 - s0) * E * d);
        } else {
            project(b, m, D, idx, s0, s1, &fl);
            outputs_t(b, m, idx, s0, s1);
            fl += 2.0 * (double)((s1 - s0) * E * L);
        }
        for (size_t i = s0; i < s1; i++) {
            size_t k = idx ? idx[i] : i;
            const double *Fi = b->F + i * E, *Pi = b->P + i * E;
            double y = D->y[k], F, a = 1.0;
            if (!b->gated) {
                F = 0;
                for (size_t e = 0; e < E; e++)
                    F += Fi[e];
                double g = mot_loss_grad(rule->loss, y, F);
                loss += mot_loss_value(rule->loss, y, F);
                if (groups & (MOT_GROUP_THETA | MOT_GROUP_W))
                    for (size_t e = 0; e < E; e++)
                        contribute(b, m, D, p, i, k, e, g / (double)B, g / (double)B, e * B + i,
                                   groups, gtheta, s, &fl);
                continue;
            }
            size_t e = (size_t)route[k];
            if (rule->gate == MOT_GATE_SWITCH)
                a = Pi[e];
            F = a * Fi[e];
            double g = mot_loss_grad(rule->loss, y, F);
            loss += loss_value(rule->loss, y, F);
            if (groups & (MOT_GROUP_THETA | MOT_GROUP_W))
                contribute(b, m, D, p, i, k, e,
                           g * a / divisor(b, rule, count, e, B, MOT_GROUP_THETA),
                           g * a / divisor(b, rule, count, e, B, MOT_GROUP_W),
                           groups & MOT_GROUP_W ? b->pos[i] : 0, groups, gtheta, s, &fl);
            if (!(groups & MOT_GROUP_ROUTER))
                continue;
            if (rule->gate == MOT_GATE_COMPETE) {
                for (size_t j = 0; j < E; j++)
                    s->lossE[j] = loss_value(rule->loss, y, Fi[j]);
                mot_gate_coef_compete(b->C + i * E, Pi, s->lossE, E);
            } else {
                mot_gate_coef_switch(b->C + i * E, Pi, e, g, Fi[e], E);
            }
        }
    }
    if (b->gated && (groups & MOT_GROUP_ROUTER) && p->rgroup) { /* C summed by query */
        double *cq = part + 2 * E * d + 2;
        for (size_t i = i0; i < i1; i++) {
            double *c = cq + b->f->qid[idx ? idx[i] : i] * E;
            const double *Ci = b->C + i * E;
            for (size_t j = 0; j < E; j++)
                c[j] += Ci[j];
        }
        fl += (double)((i1 - i0) * E);
    } else if (b->gated && (groups & MOT_GROUP_ROUTER)) {
        size_t ldr;
        const double *R = router_rows(b, idx, &ldr);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)E, (int)d, (int)(i1 - i0), 1.0,
                    b->C + i0 * E, (int)E, R + i0 * ldr, (int)ldr, 0.0, gw, (int)d);
        fl += 2.0 * (double)((i1 - i0) * E * d);
    }
    part[2 * E * d] = loss;
    part[2 * E * d + 1] = fl;
}

/* The Phi row of each W contribution, grouped by view in batch order. */
static void place_rows(mot_batch *b, const mot_model *m, const int *route, const size_t *idx,
                       size_t B)
{
    size_t V = b->V;
    if (!b->gated) { /* every head sees every sample: row h B + i */
        for (size_t a = 0; a <= V; a++)
            b->voff[a] = a * B;
        return;
    }
    memset(b->voff, 0, (V + 1) * sizeof *b->voff);
    for (size_t i = 0; i < B; i++)
        b->voff[mot_model_view_of(m, (size_t)route[idx ? idx[i] : i]) + 1]++;
    for (size_t a = 0; a < V; a++)
        b->voff[a + 1] += b->voff[a];
    for (size_t a = V; a > 0; a--) /* voff[a] becomes the next free row of view a */
        b->voff[a] = b->voff[a - 1];
    b->voff[0] = 0;
    for (size_t i = 0; i < B; i++) {
        size_t a = mot_model_view_of(m, (size_t)route[idx ? idx[i] : i]);
        b->pos[i] = b->voff[a + 1]++;
    }
}

/* gW_a = sum over view a's rows of x_{k,1} Phi_row^T. */
static void reduce_W(mot_batch *b, mot_model *m, const mot_data *D, size_t a, int group)
{
    size_t d = b->d, L = b->L, r0 = b->voff[a], r1 = b->voff[a + 1];
    double *gW = m->gW + a * d * d;
    if (r0 == r1) {
        memset(gW, 0, d * d * sizeof *gW);
        return;
    }
    if (group) { /* sum Phi by distinct query, then nq rank-one terms */
        size_t nq = b->f->nq;
        double *Pq = b->Pq + a * MOT_BATCH_MAX_QUERIES * d;
        memset(Pq, 0, nq * d * sizeof *Pq);
        for (size_t r = r0; r < r1; r++) {
            double *p = Pq + b->f->qid[b->rowk[r]] * d;
            const double *phi = b->Phi + r * d;
            for (size_t j = 0; j < d; j++)
                p[j] += phi[j];
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)nq, 1.0,
                    b->f->Xu, (int)d, Pq, (int)d, 0.0, gW, (int)d);
        return;
    }
    for (size_t r = r0; r < r1; r++)
        memcpy(b->X1g + r * d, D->X + b->rowk[r] * L * d, d * sizeof *b->X1g);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)(r1 - r0), 1.0,
                b->X1g + r0 * d, (int)d, b->Phi + r0 * d, (int)d, 0.0, gW, (int)d);
}

double mot_batch_gradients(mot_batch *b, mot_model *m, const mot_data *D,
                           const mot_batch_rule *rule, const int *route, const size_t *count,
                           const size_t *idx, size_t B, unsigned groups)
{
    size_t d = b->d, E = b->E, A = b->A, V = b->V;
    int group = grouped(b, B);
    if (!A) /* the groups the model does not have */
        groups &= ~(unsigned)MOT_GROUP_W;
    if (!b->gated)
        groups &= ~(unsigned)MOT_GROUP_ROUTER;
    /* Z while theta trains (T would be stale at every step), T while it is
     * frozen (Z would be stale at every change of W); one view: always Z */
    plan p = {group, router_grouped(b, B),
              b->Z && (V == 1 || (b->use_z && (groups & MOT_GROUP_THETA)))};
    if (memcmp(b->theta_seen, m->theta, E * d * sizeof *m->theta)) {
        memcpy(b->theta_seen, m->theta, E * d * sizeof *m->theta);
        b->theta_version++;
    }
    if (A && group && b->qu_version != m->version) { /* W_a^T x_q of the distinct queries */
        size_t nq = b->f->nq;
        for (size_t a = 0; a < A; a++)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)d, (int)d, 1.0,
                        b->f->Xu, (int)d, m->W + a * d * d, (int)d, 0.0, b->Qu + a * d,
                        (int)(A * d));
        b->qu_version = m->version;
        b->flops += 2.0 * (double)(nq * A * d * d);
    }
    if (groups & MOT_GROUP_W)
        place_rows(b, m, route, idx, B);
    size_t ts = task_size(B), nt = (B + ts - 1) / ts, np = 2 * E * d + 2 + MOT_BATCH_MAX_QUERIES * E;
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads) if (b->threads > 1 && nt > 1)
    for (size_t t = 0; t < nt; t++) {
        size_t i0 = t * ts, i1 = B - i0 < ts ? B : i0 + ts;
        run_task(b, m, D, rule, route, count, idx, B, groups, &p, i0, i1, b->part + t * np,
                 b->scratch[thread_id()]);
    }
    /* the partial sums, in task order */
    double loss = 0;
    for (size_t t = 0; t < nt; t++)
        loss += b->part[t * np + 2 * E * d], b->flops += b->part[t * np + 2 * E * d + 1];
    memset(m->gtheta, 0, E * d * sizeof *m->gtheta);
    if (groups & MOT_GROUP_THETA)
        for (size_t t = 0; t < nt; t++)
            for (size_t j = 0; j < E * d; j++)
                m->gtheta[j] += b->part[t * np + j];
    if (groups & MOT_GROUP_THETA)
        b->flops += (double)(nt * E * d);
    if (m->gw) {
        memset(m->gw, 0, E * d * sizeof *m->gw);
        if (groups & MOT_GROUP_ROUTER) {
            if (p.rgroup) { /* gw = C_q^T X_q / B */
                size_t nq = b->f->nq;
                memset(b->Cq, 0, nq * E * sizeof *b->Cq);
                for (size_t t = 0; t < nt; t++)
                    for (size_t j = 0; j < nq * E; j++)
                        b->Cq[j] += b->part[t * np + 2 * E * d + 2 + j];
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)E, (int)d, (int)nq,
                            1.0, b->Cq, (int)E, b->f->Xu, (int)d, 0.0, m->gw, (int)d);
                b->flops += (double)(nt * nq * E) + 2.0 * (double)(nq * E * d);
            } else {
                for (size_t t = 0; t < nt; t++)
                    for (size_t j = 0; j < E * d; j++)
                        m->gw[j] += b->part[t * np + E * d + j];
                b->flops += (double)(nt * E * d);
            }
            for (size_t j = 0; j < E * d; j++)
                m->gw[j] *= 1.0 / (double)B;
            b->flops += (double)(E * d);
        }
    }
    if (A && !(groups & MOT_GROUP_W))
        memset(m->gW, 0, A * d * d * sizeof *m->gW);
    if (A && (groups & MOT_GROUP_W)) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads) if (b->threads > 1 && V > 1)
        for (size_t a = 0; a < V; a++)
            reduce_W(b, m, D, a, group);
        for (size_t a = 0; a < V; a++) {
            double rows = (double)(b->voff[a + 1] - b->voff[a]);
            if (rows > 0)
                b->flops += group ? rows * (double)d + 2.0 * (double)(b->f->nq * d * d)
                                  : 2.0 * rows * (double)(d * d);
        }
    }
    return loss / (double)B;
}

/* batch_impl.h: what the three files of the fast step share (batch.c:
 * buffers, threads and the gate; batch_fwd.c: the caches and the experts'
 * outputs; batch_grad.c: the gradients): the per-thread scratch, the task
 * size, the path a step takes, and the small kernels each of them runs.
 * Private to libmot and not installed; nothing here is part of the API
 * (batch.h is). The functions declared below have no mot_ prefix, so the
 * library does not export them. */
#ifndef MOT_BATCH_IMPL_H
#define MOT_BATCH_IMPL_H

#include <stddef.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "batch.h"
#include "clones.h"
#include "data.h"
#include "model.h"

struct mot_batch_scratch {
    size_t *stale;      /* (sub) samples to recompute */
    double *X1s, *Qs;   /* (sub, d), (sub, A d): their queries and W_a^T x_1 */
    double *Zs;         /* (sub, d) gathered attended tokens (one view, mini-batch) */
    double *z, *phi;    /* (d) */
    double *tl, *cl;    /* (L) theta_e^T x_l, the W gradient's token weights */
    double *lossE;      /* (E) */
    double *crow;       /* (E) one sample's gate coefficients */
    size_t *cand;       /* (E) the experts that can win a routing */
};

/* The OpenMP thread running the caller (0 outside a parallel region). */
static inline int thread_id(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* Samples per task: a function of the batch size only, so that the partial
 * sums, and hence the result, do not depend on the thread count. */
static inline size_t task_size(size_t B)
{
    size_t ts = (B + MOT_BATCH_MAX_TASKS - 1) / MOT_BATCH_MAX_TASKS;
    return ts < 16 ? 16 : ts;
}

/* The stride of a task's partial sums in b->part: gtheta (E d), gw (E d),
 * loss, flops, then by query (MAX_QUERIES E). */
static inline size_t part_stride(const mot_batch *b)
{
    return 2 * b->E * b->d + 2 + MOT_BATCH_MAX_QUERIES * b->E;
}

/* Router input rows of the batch, in batch order, and their stride. */
static inline const double *router_rows(const mot_batch *b, const size_t *idx, size_t *ldr)
{
    if (!idx) {
        *ldr = b->f->ldr;
        return b->f->R;
    }
    *ldr = b->d;
    return b->Rg;
}

/* Is the distinct-query path taken for a batch of B samples? */
static inline int grouped(const mot_batch *b, size_t B)
{
    return b->use_unique && b->f->nq <= MOT_BATCH_MAX_QUERIES && b->f->nq < B;
}

/* Does the router read the distinct queries (router_input = query, on the
 * distinct-query path)? Then its logits are those of the nq distinct x_1,
 * and its gradient sum_k c_k x_{k,1} is sum_q (sum_{k: x_{k,1} = x_q} c_k) x_q. */
static inline int router_grouped(const mot_batch *b, size_t B)
{
    return b->gated && !b->f->Rsum && grouped(b, B);
}

/* The row of H and P (mot_batch_gate) that holds batch row i's gate. */
static inline size_t gate_row(const mot_batch *b, const size_t *idx, size_t i)
{
    return b->by_query ? b->f->qid[idx ? idx[i] : i] : i;
}

/* The divisor of expert (or view) e's gradient for `group`, as trainer.c's
 * divisor(): its samples in the batch (count), or the batch size. */
static inline double divisor(const mot_batch *b, const mot_batch_rule *rule, const size_t *count,
                      size_t e, size_t B, unsigned group)
{
    if (b->kind == MOT_MODEL_SINGLE || rule->norm == MOT_NORM_GLOBAL)
        return (double)B;
    if (group == MOT_GROUP_W && b->A == 1)
        return (double)B;
    return (double)count[e];
}

/* What a step computes its outputs from. */
typedef struct {
    int group;  /* distinct-query path */
    int rgroup; /* the router's too */
    int zpath;  /* f = theta^T z from Z (else from T) */
    int tw;     /* the W gradient's theta_e^T x_l from T: theta frozen (T cached), or
                 * every head of every sample needed (single: one dgemm) */
    int wq;     /* the W gradient's phi summed by view and query in each task */
    int fkeep;  /* F is the last step's: same samples, same theta and W */
    int lsq;    /* the gate's loss sums from the QR factors; F of the routed expert only */
} plan;

/* x (n) += a y (n), element by element (vectorized, no reassociation). */
static inline void axpy(double *restrict x, double a, const double *restrict y, size_t n)
{
#pragma omp simd
    for (size_t j = 0; j < n; j++)
        x[j] += a * y[j];
}

/* x^T y (n): eight running sums (lane t adds the terms j = t mod 8 in
 * order), then folded in halves, lane t + 4 onto t, t + 2 onto t, 1 onto 0
 * (a fixed tree that stays in vector registers): the same bits at any
 * vector width. */
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
#pragma omp simd
    for (size_t t = 0; t < 4; t++)
        acc[t] += acc[t + 4];
    return (acc[0] + acc[2]) + (acc[1] + acc[3]);
}

/* z (d) = X^T s = sum_l s_l x_l for tokens X (L, d): each entry summed
 * token after token from 0 (the order of L axpy's), 8 entries at a time
 * in registers rather than through memory. */
static inline void attend_z(double *restrict z, const double *restrict s, const double *restrict X,
                            size_t L, size_t d)
{
    enum { BW = 8 };
    size_t j0 = 0;
    for (; j0 + BW <= d; j0 += BW) {
        double acc[BW];
#pragma omp simd
        for (size_t t = 0; t < BW; t++)
            acc[t] = 0;
        for (size_t l = 0; l < L; l++)
#pragma omp simd
            for (size_t t = 0; t < BW; t++)
                acc[t] += s[l] * X[l * d + j0 + t];
#pragma omp simd
        for (size_t t = 0; t < BW; t++)
            z[j0 + t] = acc[t];
    }
    for (; j0 < d; j0++) {
        double acc = 0;
        for (size_t l = 0; l < L; l++)
            acc += s[l] * X[l * d + j0];
        z[j0] = acc;
    }
}

/* batch.c */

/* The experts that can win the routing of each distinct query (by_query). */
void batch_route_prepare(mot_batch *b, double lambda);
/* Routes batch rows [i0, i1) drawing from r (mot_batch_route's task). */
void batch_route_rows(mot_batch *b, gsl_rng *r, double lambda, const size_t *idx, size_t i0,
                      size_t i1, int *route, mot_batch_scratch *s);

/* batch_sum.c */

/* The gradients of `groups` into m->grads from the nt tasks' partial sums
 * (each added in task order), divided by their divisors; returns the
 * batch's mean loss. */
double batch_sum_partials(mot_batch *b, mot_model *m, const mot_data *D,
                          const mot_batch_rule *rule, const plan *p, size_t nt, size_t B,
                          unsigned groups);

/* batch_lsq.c */

/* Allocates the factors' buffers when they can be used (sets lsq_n); 0
 * on ENOMEM. After f's distinct queries and Z exist. */
int batch_lsq_alloc(mot_batch *b);
void batch_lsq_free(mot_batch *b);
/* The factors of every distinct view and query at W's current version,
 * bringing every sample's S and Z up to date first (serially). */
void batch_lsq_factor(mot_batch *b, const mot_model *m, const mot_data *D, int group,
                      mot_batch_scratch *s);
/* Lq (nq, E): the sum over each query's samples of every expert's squared
 * loss, from the factors. */
void batch_lsq_losses(mot_batch *b, const mot_model *m, double *Lq);

/* batch_fwd.c */

/* Row-wise softmax of U (rows, n) in place, shifted by each row's maximum;
 * the same as mot_block_softmax up to the last bits of exp. */
void batch_softmax_rows(double *restrict U, size_t rows, size_t n);

/* Attention S of the samples of batch rows [s0, s1) whose cache predates
 * W's version; group: W_a^T x_1 from the distinct queries' Qu. */
void batch_attend(mot_batch *b, const mot_model *m, const mot_data *D, const size_t *idx,
                  size_t s0, size_t s1, int group, mot_batch_scratch *s, double *fl);
/* Z of the samples of batch rows [s0, s1) computed before W's last change
 * (S must be current). */
void batch_attend_all(mot_batch *b, const mot_model *m, const mot_data *D, const size_t *idx,
                      size_t s0, size_t s1, double *fl);
/* T of the samples of batch rows [s0, s1) computed before theta's last
 * change (models with V > 1). */
void batch_project(mot_batch *b, const mot_model *m, const mot_data *D, const size_t *idx,
                   size_t s0, size_t s1, double *fl);
/* F of batch rows [s0, s1): f_e = theta_e^T z_e from Z. */
void batch_outputs_z(mot_batch *b, const mot_model *m, const size_t *idx,
                     size_t s0, size_t s1, mot_batch_scratch *s);
/* F of batch rows [s0, s1): f_e = sum_l s_l T[e][l]. */
void batch_outputs_t(mot_batch *b, const mot_model *m, const size_t *idx, size_t s0, size_t s1);

#endif

/* batch.c: see batch.h. The life of a step (mot_batch_alloc,
 * mot_batch_free, the per-thread scratch of mot_batch_set_threads) and the
 * gate of a batch (mot_batch_gate: H = R w^T, P = softmax(H), 2 B E d, or
 * once per distinct query, 2 nq E d, when the router reads the query).
 * It does not compute the experts' outputs (batch_fwd.c) nor the
 * gradients (batch_grad.c, whose opening lists the work of a whole step). */
#include "batch.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "batch_impl.h"
#include "mot_autoconf.h"
#include "status.h"

#ifdef HAVE_OPENBLAS
void openblas_set_num_threads(int n);
#endif

static void scratch_free(mot_batch_scratch *s)
{
    if (!s)
        return;
    free(s->stale), free(s->X1s), free(s->Qs), free(s->Zs);
    free(s->z), free(s->phi), free(s->tl), free(s->cl), free(s->lossE), free(s->crow), free(s->cand);
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
    s->tl = dalloc(b->L), s->cl = dalloc(b->L), s->lossE = dalloc(b->E);
    s->crow = dalloc(b->E), s->cand = malloc(b->E * sizeof *s->cand);
    if (!s->stale || !s->X1s || !s->Qs || !s->Zs || !s->z || !s->phi || !s->tl || !s->cl || !s->lossE
        || !s->crow || !s->cand) {
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
    b->gated = m->gated, b->kind = m->kind, b->f = f, b->use_unique = 1, b->use_lsq = 1;
    /* a sub-chunk's tokens fill about 512 KiB, so they stay in cache while
     * its dgemm results are used */
    size_t sub = 65536 / (L * d);
    b->sub = sub < 1 ? 1 : sub > 256 ? 256 : sub;
    b->S = dalloc(n * V * L);
    b->sstamp = malloc(n * sizeof *b->sstamp);
    b->Z = V == 1 || V * n * d * sizeof(double) <= MOT_BATCH_Z_BUDGET ? dalloc(V * n * d) : NULL;
    b->zstamp = malloc(n * sizeof *b->zstamp);
    b->use_z = 1;
    b->T = V > 1 || A ? dalloc(E * n * L) : NULL;
    b->tstamp = malloc(n * sizeof *b->tstamp);
    b->theta_seen = dalloc(E * d);
    b->Qu = A ? dalloc(MOT_BATCH_MAX_QUERIES * A * d) : NULL;
    b->cand = malloc(MOT_BATCH_MAX_QUERIES * E * sizeof *b->cand);
    b->vsrc = malloc(V * sizeof *b->vsrc);
    b->count = malloc(E * sizeof *b->count);
    b->ncand = malloc(MOT_BATCH_MAX_QUERIES * sizeof *b->ncand);
    b->H = dalloc(n * E), b->P = dalloc(n * E), b->Rg = m->gated ? dalloc(n * d) : NULL;
    b->F = dalloc(n * E), b->C = dalloc(n * E);
    b->part = dalloc(MOT_BATCH_MAX_TASKS * part_stride(b));
    b->Cq = dalloc(2 * MOT_BATCH_MAX_QUERIES * E);
    b->Phi = A ? dalloc(n * Hc * d) : NULL;
    b->X1g = A ? dalloc(n * Hc * d) : NULL;
    b->rowk = malloc(n * Hc * sizeof *b->rowk);
    b->pos = malloc(n * Hc * sizeof *b->pos);
    b->voff = malloc((V + 1) * sizeof *b->voff);
    b->Pq = A ? dalloc(V * MOT_BATCH_MAX_QUERIES * d) : NULL;
    /* the tasks' sums of phi by view and query, when queries repeat */
    b->pw = A && f->nq <= MOT_BATCH_MAX_QUERIES ? dalloc(MOT_BATCH_MAX_TASKS * V * f->nq * d) : NULL;
    int ok = b->S && b->sstamp && (V > 1 || b->Z) && ((V == 1 && !A) || b->T) && b->tstamp && b->zstamp
          && b->theta_seen && (!A || (b->Qu && b->Phi && b->X1g && b->Pq)) && b->H && b->P
          && (!m->gated || b->Rg) && b->F && b->C && b->part && b->Cq && b->rowk && b->pos && b->voff
          && b->cand && b->ncand && b->vsrc && b->count
          && (!A || f->nq > MOT_BATCH_MAX_QUERIES || b->pw);
    if (!ok || !batch_lsq_alloc(b) || mot_batch_set_threads(b, 1) != MOT_OK) {
        mot_batch_free(b);
        return NULL;
    }
    /* Nothing is cached yet: stamps no version can have. */
    for (size_t k = 0; k < n; k++)
        b->sstamp[k] = b->zstamp[k] = m->version - 1, b->tstamp[k] = 0;
    b->qu_version = b->vsrc_version = m->version - 1;
    for (size_t a = 0; a < V; a++)
        b->vsrc[a] = a;
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
    free(b->cand), free(b->ncand), free(b->vsrc), free(b->count), free(b->pw);
    batch_lsq_free(b);
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

void mot_batch_gate(mot_batch *b, const mot_model *m, const size_t *idx, size_t B)
{
    size_t d = b->d, E = b->E, ts = task_size(B), nt = (B + ts - 1) / ts, ldr;
    b->by_query = router_grouped(b, B);
    if (b->by_query) { /* the logits of the distinct queries, a row each */
        size_t nq = b->f->nq;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)E, (int)d, 1.0,
                    b->f->Xu, (int)d, m->w, (int)d, 0.0, b->H, (int)E);
        memcpy(b->P, b->H, nq * E * sizeof *b->P);
        batch_softmax_rows(b->P, nq, E);
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
        batch_softmax_rows(b->P + i0 * E, cnt, E);
    }
}

/* The experts that can win the routing of gate logits h (E): those with
 * h_e + lambda >= max h. Another's noise is at most lambda (lambda u
 * rounds to at most lambda), so its h_e + r_e <= h_e + lambda < max h,
 * rounding being monotone: its draw could not change the argmax. */
static size_t candidates(const double *h, size_t E, double lambda, size_t *cand)
{
    double hmax = h[0];
    for (size_t e = 1; e < E; e++)
        hmax = h[e] > hmax ? h[e] : hmax;
    size_t nc = 0;
    for (size_t e = 0; e < E; e++)
        if (h[e] + lambda >= hmax || !(h[e] == h[e]))
            cand[nc++] = e;
    return nc;
}

/* argmax over the candidates of h_e + lambda u_e, ties to the first. */
static size_t route_row(const double *h, const size_t *cand, size_t nc, double lambda, gsl_rng *r)
{
    size_t best = cand[0];
    double top = h[best] + lambda * gsl_rng_uniform(r);
    for (size_t c = 1; c < nc; c++) {
        double v = h[cand[c]] + lambda * gsl_rng_uniform(r);
        if (v > top)
            top = v, best = cand[c];
    }
    return best;
}

void batch_route_prepare(mot_batch *b, double lambda)
{
    if (b->by_query)
        for (size_t q = 0; q < b->f->nq; q++)
            b->ncand[q] = candidates(b->H + q * b->E, b->E, lambda, b->cand + q * b->E);
}

void batch_route_rows(mot_batch *b, gsl_rng *r, double lambda, const size_t *idx, size_t i0,
                      size_t i1, int *route, mot_batch_scratch *s)
{
    size_t E = b->E;
    for (size_t i = i0; i < i1; i++) {
        size_t g = gate_row(b, idx, i), *cand = b->cand + g * E, nc;
        if (b->by_query)
            nc = b->ncand[g];
        else
            nc = candidates(b->H + g * E, E, lambda, cand = s->cand);
        route[idx ? idx[i] : i] = (int)route_row(b->H + g * E, cand, nc, lambda, r);
    }
}

void mot_batch_route(mot_batch *b, gsl_rng *const *rngs, double lambda, const size_t *idx,
                     size_t B, int *route)
{
    size_t ts = task_size(B), nt = (B + ts - 1) / ts;
    batch_route_prepare(b, lambda);
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads) if (b->threads > 1 && nt > 1)
    for (size_t t = 0; t < nt; t++) {
        size_t i1 = B - t * ts < ts ? B : (t + 1) * ts;
        batch_route_rows(b, rngs[t], lambda, idx, t * ts, i1, route, b->scratch[thread_id()]);
    }
}

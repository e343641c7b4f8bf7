/* batch_sum.c: the end of the fast step (batch.h): the tasks' partial
 * sums (batch_grad.c, run_task) added in task order, whatever thread ran
 * each task, into the gradients of theta, the router and W, each divided
 * by its divisor. The compete gate's coefficients come from the per-query
 * loss sums here, and W's gradient from Phi rows or from phi summed by view
 * and query. */
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "batch_impl.h"

/* The compete gate's coefficients summed over the samples of one distinct
 * query, from their losses summed, l_j = sum_k l(y_k, f_j(X_k)), in place:
 * sum_k p_j (l_kj - sum_e p_e l_ke) = p_j (l_j - sum_e p_e l_e), the
 * probabilities p being the query's. */
static void compete_sum(double *restrict l, const double *restrict p, size_t E)
{
    double mean = dot(p, l, E);
    for (size_t j = 0; j < E; j++)
        l[j] = p[j] * (l[j] - mean);
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

/* gW_a = sum_q x_q Pq^T, Pq = the tasks' sums of view a's phi for query
 * q (in task order), divided by the view's divisor; zero when no sample
 * went through view a. */
static void reduce_W_by_query(mot_batch *b, mot_model *m, const mot_batch_rule *rule, size_t a,
                              size_t nt, size_t npw, size_t B)
{
    size_t d = b->d, nq = b->f->nq;
    double *gW = m->gW + a * d * d, *Pq = b->Pq + a * MOT_BATCH_MAX_QUERIES * d;
    double div = divisor(b, rule, b->count, a, B, MOT_GROUP_W);
    if (!(div > 0)) {
        memset(gW, 0, d * d * sizeof *gW);
        return;
    }
    memset(Pq, 0, nq * d * sizeof *Pq);
    for (size_t t = 0; t < nt; t++)
        axpy(Pq, 1.0, b->pw + t * npw + a * nq * d, nq * d);
    for (size_t j = 0; j < nq * d; j++)
        Pq[j] /= div;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)d, (int)d, (int)nq, 1.0, b->f->Xu,
                (int)d, Pq, (int)d, 0.0, gW, (int)d);
}

/* gtheta: each entry summed in task order (entries in parallel when the
 * sum outweighs waking the threads), then each expert's row divided. */
static void sum_theta(mot_batch *b, mot_model *m, const mot_batch_rule *rule, size_t nt, size_t B)
{
    size_t d = b->d, E = b->E, np = part_stride(b), ncol = (E * d + 63) / 64;
#pragma omp parallel for schedule(static) num_threads(b->threads) if (b->threads > 1 && nt * E * d > (1u << 18))
    for (size_t c = 0; c < ncol; c++) {
        size_t j0 = c * 64, j1 = j0 + 64 < E * d ? j0 + 64 : E * d;
        for (size_t t = 0; t < nt; t++)
            axpy(m->gtheta + j0, 1.0, b->part + t * np + j0, j1 - j0);
    }
    for (size_t e = 0; e < E; e++) { /* an expert without samples keeps its zeros */
        double div = divisor(b, rule, b->count, e, B, MOT_GROUP_THETA);
        if (div > 0)
            for (size_t j = 0; j < d; j++)
                m->gtheta[e * d + j] /= div;
    }
    b->flops += (double)(nt * E * d) + (double)(E * d);
}

/* gw = (1/B) C^T R: by distinct query, C_q from the tasks' sums (or, with
 * the compete gate, from the per-query loss sums: the tasks' or the QR
 * factors'); else the tasks' C^T R added. */
static void sum_router(mot_batch *b, mot_model *m, const mot_batch_rule *rule, const plan *p,
                       size_t nt, size_t B)
{
    size_t d = b->d, E = b->E, np = part_stride(b);
    if (p->rgroup) {
        size_t nq = b->f->nq;
        memset(b->Cq, 0, nq * E * sizeof *b->Cq);
        if (p->lsq)
            batch_lsq_losses(b, m, b->Cq);
        else
            for (size_t t = 0; t < nt; t++)
                for (size_t j = 0; j < nq * E; j++)
                    b->Cq[j] += b->part[t * np + 2 * E * d + 2 + j];
        if (rule->gate == MOT_GATE_COMPETE) { /* from the losses summed by query */
            for (size_t q = 0; q < nq; q++)
                compete_sum(b->Cq + q * E, b->P + q * E, E);
            b->flops += 4.0 * (double)(nq * E);
        }
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)E, (int)d, (int)nq, 1.0, b->Cq,
                    (int)E, b->f->Xu, (int)d, 0.0, m->gw, (int)d);
        b->flops += (p->lsq ? 0.0 : (double)(nt * nq * E)) + 2.0 * (double)(nq * E * d);
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

/* gW of every view (in parallel over views), from phi summed by view and
 * query or from the Phi rows. */
static void sum_W(mot_batch *b, mot_model *m, const mot_data *D, const mot_batch_rule *rule,
                  const plan *p, size_t nt, size_t B)
{
    size_t d = b->d, V = b->V, nq = b->f->nq;
    if (p->wq) {
        size_t npw = V * nq * d;
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads) if (b->threads > 1 && V > 1)
        for (size_t a = 0; a < V; a++)
            reduce_W_by_query(b, m, rule, a, nt, npw, B);
        b->flops += (double)(nt * V * nq * d);
        for (size_t a = 0; a < V; a++)
            if (divisor(b, rule, b->count, a, B, MOT_GROUP_W) > 0)
                b->flops += (double)(nq * d) + 2.0 * (double)(nq * d * d);
        return;
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads) if (b->threads > 1 && V > 1)
    for (size_t a = 0; a < V; a++)
        reduce_W(b, m, D, a, p->group);
    for (size_t a = 0; a < V; a++) {
        double rows = (double)(b->voff[a + 1] - b->voff[a]);
        if (rows > 0)
            b->flops += p->group ? rows * (double)d + 2.0 * (double)(nq * d * d)
                                 : 2.0 * rows * (double)(d * d);
    }
}

double batch_sum_partials(mot_batch *b, mot_model *m, const mot_data *D,
                          const mot_batch_rule *rule, const plan *p, size_t nt, size_t B,
                          unsigned groups)
{
    size_t d = b->d, E = b->E, A = b->A, np = part_stride(b);
    double loss = 0;
    for (size_t t = 0; t < nt; t++)
        loss += b->part[t * np + 2 * E * d], b->flops += b->part[t * np + 2 * E * d + 1];
    memset(m->gtheta, 0, E * d * sizeof *m->gtheta);
    if (groups & MOT_GROUP_THETA)
        sum_theta(b, m, rule, nt, B);
    if (m->gw) {
        memset(m->gw, 0, E * d * sizeof *m->gw);
        if (groups & MOT_GROUP_ROUTER)
            sum_router(b, m, rule, p, nt, B);
    }
    if (A && (groups & MOT_GROUP_W))
        sum_W(b, m, D, rule, p, nt, B);
    else if (A)
        memset(m->gW, 0, A * d * d * sizeof *m->gW);
    return loss / (double)B;
}

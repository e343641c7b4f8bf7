/* batch_lsq.c: the compete gate's loss sums by distinct query from QR
 * factors (batch.h). With the squared loss, the full batch and W frozen,
 * the sum over the samples k of query q of expert e's loss is
 *
 *   L_qe = 1/2 sum_k (y_k - theta_e^T z_{k,a})^2 = 1/2 (|b_aq - R_aq theta_e|^2 + c_aq)
 *
 * where a is the expert's view, Z_aq (the attended tokens of view a of
 * those samples, n_q x d) = Q R by Householder QR (GSL), b_aq the first d
 * entries of Q^T y and c_aq the squared norm of the others: the
 * least-squares residual, a sum of squares, so nothing cancels that the
 * direct sum would not. Z is fixed while W is, so the factors are formed
 * once per W version (about 2 n d^2 per distinct view) and a step needs
 * d^2 per query and expert instead of every expert's output on every
 * sample (2 n E d, reading E attended tokens a sample). */
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_linalg.h>

#include "batch_impl.h"

int batch_lsq_alloc(mot_batch *b)
{
    size_t n = b->n, d = b->d, V = b->V, nq = b->f->nq;
    b->lsq_n = 0;
    if (!b->gated || !b->Z || nq > MOT_BATCH_MAX_QUERIES)
        return 1; /* not used: nothing to allocate */
    b->qsamp = malloc(n * sizeof *b->qsamp);
    b->qoff = malloc((nq + 1) * sizeof *b->qoff);
    if (!b->qsamp || !b->qoff)
        return 0;
    /* the samples of each query, in index order */
    memset(b->qoff, 0, (nq + 1) * sizeof *b->qoff);
    for (size_t k = 0; k < n; k++)
        b->qoff[b->f->qid[k] + 1]++;
    for (size_t q = 0; q < nq; q++)
        b->qoff[q + 1] += b->qoff[q];
    size_t *next = malloc(nq * sizeof *next);
    if (!next)
        return 0;
    memcpy(next, b->qoff, nq * sizeof *next);
    for (size_t k = 0; k < n; k++)
        b->qsamp[next[b->f->qid[k]]++] = k;
    free(next);
    for (size_t q = 0; q < nq; q++)
        if (b->qoff[q + 1] - b->qoff[q] < d)
            return 1; /* a query with fewer samples than d: not used */
    b->lsqR = malloc(V * nq * d * d * sizeof *b->lsqR);
    b->lsqb = malloc(V * nq * d * sizeof *b->lsqb);
    b->lsqc = malloc(V * nq * sizeof *b->lsqc);
    b->lsqA = malloc(n * d * sizeof *b->lsqA);
    b->lsqy = malloc((n > d ? n : d) * sizeof *b->lsqy);
    b->lsqt = malloc(d * sizeof *b->lsqt);
    if (!b->lsqR || !b->lsqb || !b->lsqc || !b->lsqA || !b->lsqy || !b->lsqt)
        return 0;
    b->lsq_n = nq;
    b->lsq_version = 0;
    b->lsq_valid = 0;
    return 1;
}

void batch_lsq_free(mot_batch *b)
{
    free(b->qsamp), free(b->qoff), free(b->lsqR), free(b->lsqb), free(b->lsqc);
    free(b->lsqA), free(b->lsqy), free(b->lsqt);
}

/* The factors of view a (one that no earlier view matches) and query q. */
static void factor(mot_batch *b, const mot_data *D, size_t a, size_t q)
{
    size_t d = b->d, V = b->V, nq = b->f->nq, r0 = b->qoff[q], nr = b->qoff[q + 1] - r0;
    for (size_t r = 0; r < nr; r++) {
        size_t k = b->qsamp[r0 + r];
        memcpy(b->lsqA + r * d, b->Z + (k * V + a) * d, d * sizeof *b->lsqA);
        b->lsqy[r] = (double)D->y[k];
    }
    gsl_matrix_view A = gsl_matrix_view_array(b->lsqA, nr, d);
    gsl_vector_view tau = gsl_vector_view_array(b->lsqt, d);
    gsl_vector_view y = gsl_vector_view_array(b->lsqy, nr);
    gsl_linalg_QR_decomp(&A.matrix, &tau.vector);
    gsl_linalg_QR_QTvec(&A.matrix, &tau.vector, &y.vector);
    double *R = b->lsqR + (a * nq + q) * d * d, c = 0;
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < d; j++)
            R[i * d + j] = j >= i ? b->lsqA[i * d + j] : 0.0;
    memcpy(b->lsqb + (a * nq + q) * d, b->lsqy, d * sizeof *b->lsqb);
    for (size_t r = d; r < nr; r++)
        c += b->lsqy[r] * b->lsqy[r];
    b->lsqc[a * nq + q] = c;
    b->flops += 2.0 * (double)(nr * d * d) - 2.0 * (double)(d * d * d) / 3.0
              + 4.0 * (double)(nr * d) + 2.0 * (double)(nr - d);
}

void batch_lsq_factor(mot_batch *b, const mot_model *m, const mot_data *D, int group,
                      mot_batch_scratch *s)
{
    double fl = 0;
    for (size_t s0 = 0; s0 < b->n; s0 += b->sub) { /* every sample's Z current */
        size_t s1 = s0 + b->sub < b->n ? s0 + b->sub : b->n;
        batch_attend(b, m, D, NULL, s0, s1, group, s, &fl);
        batch_attend_all(b, m, D, NULL, s0, s1, &fl);
    }
    b->flops += fl;
    for (size_t a = 0; a < b->V; a++)
        if (b->V == 1 || b->vsrc[a] == a)
            for (size_t q = 0; q < b->f->nq; q++)
                factor(b, D, a, q);
    b->lsq_version = m->version;
    b->lsq_valid = 1;
}

MOT_CLONES void batch_lsq_losses(mot_batch *b, const mot_model *m, double *Lq)
{
    size_t d = b->d, E = b->E, V = b->V, nq = b->f->nq;
    for (size_t q = 0; q < nq; q++)
        for (size_t e = 0; e < E; e++) {
            size_t a = V == 1 ? 0 : b->vsrc[mot_model_view_of(m, e)];
            const double *R = b->lsqR + (a * nq + q) * d * d, *bv = b->lsqb + (a * nq + q) * d;
            const double *theta = m->theta + e * d;
            double sum = 0;
            for (size_t i = 0; i < d; i++) { /* (b - R theta)_i; R's lower part holds zeros */
                double v = bv[i] - dot(R + i * d, theta, d);
                sum += v * v;
            }
            Lq[q * E + e] = 0.5 * (sum + b->lsqc[a * nq + q]);
        }
    b->flops += (double)(nq * E) * (2.0 * (double)(d * d) + 3.0 * (double)d + 2.0);
}

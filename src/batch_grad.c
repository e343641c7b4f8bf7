/* batch_grad.c: the gradients of the fast step (batch.h,
 * mot_batch_gradients). The work of a step, for B samples, E experts, V
 * views, L tokens of dimension d (docs/model.md section 3, 6.3):
 *
 *   gate      H = R w^T, P = softmax(H)            2 B E d
 *             (router_input = query, distinct queries: once per query, 2 nq E d)
 *   attention (when W changed) per sample and view: q = W^T x_1 (per
 *             distinct query), u = X q, s = softmax(u)     2 B L d V + B L V exp
 *   Z         (when W changed, theta trains) z = X^T s    2 B L d V
 *   T         (when theta changed, theta frozen; models with V > 1, or with
 *             one shared W) T = X theta^T                 2 B L d E
 *   outputs   f_e = theta_e^T z_e (Z), or sum_l s_l T[e][l]      2 B d E (2 B L E)
 *   theta     z of the routed expert (every head: single), summed
 *             per expert                                   2 B d H (+ 2 B L d H without Z)
 *   W         c phi = c sum_l s_l (T[e][l] - f_e) x_l       2 B L d H + B d H
 *             (+ 2 B L d H for theta_e^T x_l without T), then x_1 (c phi)^T
 *             summed per view                              2 B d^2 H
 *             (distinct queries: each task adds phi by view and query, 2 B d H,
 *             the tasks' sums are added, nt V nq d, divided by the view's
 *             divisor, nq d, then 2 nq d^2 per view; the routing is then drawn
 *             inside the tasks)
 *   router    C^T R                                        2 B E d
 *             (distinct queries: C summed by query, then C_q^T X_q   B E + 2 nq E d;
 *             compete: the losses l(y, f_e) summed by query instead, 4 B E, and
 *             C_q = p_q (l_q - p_q^T l_q) from them)
 *
 * with H = 1 for gated models (one expert per sample) and H = E for single.
 * Each task of the batch owns its rows of F and C, its Phi rows and its
 * partial sums; mot_batch_gradients adds the partial sums in task order.
 *
 * The caches and outputs it drives live in batch_fwd.c, the buffers and the
 * gate in batch.c; this file allocates nothing. */
#include "batch.h"

#include <string.h>

#include <gsl/gsl_cblas.h>

#include "batch_impl.h"
#include "gate.h"
#include "loss.h"

/* ct z_e of expert (or head) e on sample k into gtheta (the task's partial). */
static inline void contribute_theta(mot_batch *b, const mot_model *m, const mot_data *D,
                                    const plan *p, size_t k, size_t e, double ct, double *gtheta,
                                    mot_batch_scratch *s, double *fl)
{
    size_t L = b->L, d = b->d, V = b->V, a = b->V == 1 ? 0 : mot_model_view_of(m, e);
    const double *z = s->z;
    if (p->zpath)
        z = b->Z + (k * V + b->vsrc[a]) * d;
    else
        attend_z(s->z, b->S + (k * V + a) * L, D->X + k * L * d, L, d), *fl += 2.0 * (double)(L * d);
    axpy(gtheta + e * d, ct, z, d);
    *fl += 2.0 * (double)d;
}

/* The W gradient's phi of expert (or head) e on sample k at batch row i:
 * phi = sum_l s_l (theta_e^T x_l - f_e) x_l, times cw, into Phi row `row`;
 * or with wq (distinct queries), added into the task's sum for the
 * sample's view and query, pw (V, nq, d). */
MOT_CLONES static void contribute_W(mot_batch *b, const mot_model *m, const mot_data *D,
                                    const plan *p, size_t i, size_t k, size_t e, double cw,
                                    size_t row, double *pw, mot_batch_scratch *s, double *fl)
{
    size_t L = b->L, d = b->d, E = b->E, V = b->V, n = b->n;
    size_t a = mot_model_view_of(m, e);
    const double *X = D->X + k * L * d, *sv = b->S + (k * V + a) * L;
    double f = b->F[i * E + e];
    const double *tl = s->tl;
    if (b->T && (!p->zpath || p->tw)) {
        tl = b->T + (e * n + k) * L;
    } else { /* theta_e^T x_l */
        for (size_t l = 0; l < L; l++)
            s->tl[l] = dot(m->theta + e * d, X + l * d, d);
        *fl += 2.0 * (double)(L * d);
    }
    for (size_t l = 0; l < L; l++)
        s->cl[l] = sv[l] * (tl[l] - f);
    attend_z(s->phi, s->cl, X, L, d);
    *fl += 2.0 * (double)(L * d);
    if (p->wq) {
        axpy(pw + (a * b->f->nq + b->f->qid[k]) * d, cw, s->phi, d);
        *fl += 2.0 * (double)d;
        return;
    }
    double *phi = b->Phi + row * d;
    for (size_t j = 0; j < d; j++)
        phi[j] = cw * s->phi[j];
    b->rowk[row] = k;
    *fl += (double)d;
}

/* The gradient contributions of expert (or head) e on sample k at batch
 * row i: ct z_e into gtheta, cw phi_e into Phi row `row`. */
static inline void contribute(mot_batch *b, const mot_model *m, const mot_data *D, const plan *p,
                              size_t i, size_t k, size_t e, double ct, double cw, size_t row,
                              unsigned groups, double *gtheta, double *pw, mot_batch_scratch *s,
                              double *fl)
{
    if (groups & MOT_GROUP_THETA)
        contribute_theta(b, m, D, p, k, e, ct, gtheta, s, fl);
    if (groups & MOT_GROUP_W)
        contribute_W(b, m, D, p, i, k, e, cw, row, pw, s, fl);
}

/* lsum_j += l(y, f_j), j < E: one sample's losses under every expert. */
static inline void loss_sum(double *restrict lsum, const double *restrict f, double y,
                            mot_loss_kind kind, size_t E)
{
    if (kind == MOT_LOSS_SQUARED) {
#pragma omp simd
        for (size_t j = 0; j < E; j++)
            lsum[j] += 0.5 * (y - f[j]) * (y - f[j]);
    } else {
        for (size_t j = 0; j < E; j++)
            lsum[j] += mot_loss_value(kind, y, f[j]);
    }
}

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

/* The compete gate's coefficients of one sample, c_j = p_j (l_j - sum_e
 * p_e l_e) with l_j = l(y, f_j): mot_gate_coef_compete with the losses
 * fused in and the mean summed by dot's fixed tree. l: scratch (E). */
static inline void compete_row(double *restrict c, const double *restrict p,
                               const double *restrict f, double y, mot_loss_kind kind, size_t E,
                               double *restrict l)
{
    if (kind == MOT_LOSS_SQUARED) {
#pragma omp simd
        for (size_t j = 0; j < E; j++)
            l[j] = 0.5 * (y - f[j]) * (y - f[j]);
    } else {
        for (size_t j = 0; j < E; j++)
            l[j] = mot_loss_value(kind, y, f[j]);
    }
    double mean = dot(p, l, E);
#pragma omp simd
    for (size_t j = 0; j < E; j++)
        c[j] = p[j] * (l[j] - mean);
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

/* Rows ahead whose attended token is prefetched when only the routed
 * expert's output is formed (lsq). */
enum { LSQ_AHEAD = 8 };

/* One task: batch rows [i0, i1). */
MOT_CLONES static void run_task(mot_batch *b, const mot_model *m, const mot_data *D,
                                const mot_batch_rule *rule, const mot_batch_noise *noise, size_t t,
                                int *route, const size_t *idx, size_t B, unsigned groups,
                                const plan *p, size_t i0, size_t i1, double *part, double *pw,
                                mot_batch_scratch *s)
{
    size_t d = b->d, E = b->E, L = b->L;
    if (p->wq)
        memset(pw, 0, b->V * b->f->nq * d * sizeof *pw);
    if (noise) /* this task's rows, from this task's stream */
        batch_route_rows(b, noise->rngs[t], noise->lambda, idx, i0, i1, route, s);
    double *gtheta = part, *gw = part + E * d, *cq = part + 2 * E * d + 2, loss = 0, fl = 0;
    if (groups & MOT_GROUP_THETA)
        memset(gtheta, 0, E * d * sizeof *gtheta);
    if (p->rgroup && (groups & MOT_GROUP_ROUTER))
        memset(cq, 0, b->f->nq * E * sizeof *cq);
    for (size_t s0 = i0; s0 < i1; s0 += b->sub) {
        size_t s1 = s0 + b->sub < i1 ? s0 + b->sub : i1;
        batch_attend(b, m, D, idx, s0, s1, p->group, s, &fl);
        if (p->zpath) { /* the caches the contributions read, then F unless kept */
            batch_attend_all(b, m, D, idx, s0, s1, &fl);
            if (p->tw)
                batch_project(b, m, D, idx, s0, s1, &fl);
            if (!p->fkeep && !p->lsq) {
                batch_outputs_z(b, m, idx, s0, s1, s);
                fl += 2.0 * (double)((s1 - s0) * E * d);
            }
        } else {
            batch_project(b, m, D, idx, s0, s1, &fl);
            if (!p->fkeep) {
                batch_outputs_t(b, m, idx, s0, s1);
                fl += 2.0 * (double)((s1 - s0) * E * L);
            }
        }
        for (size_t i = s0; i < s1; i++) {
            size_t k = idx ? idx[i] : i;
            const double *Fi = b->F + i * E, *Pi = b->P + gate_row(b, idx, i) * E;
            double y = D->y[k], F, a = 1.0;
            if (!b->gated) {
                F = 0;
                for (size_t e = 0; e < E; e++)
                    F += Fi[e];
                double g = mot_loss_grad(rule->loss, y, F);
                loss += mot_loss_value(rule->loss, y, F);
                if (groups & (MOT_GROUP_THETA | MOT_GROUP_W))
                    for (size_t e = 0; e < E; e++)
                        contribute(b, m, D, p, i, k, e, g, p->wq ? g : g / (double)B, e * B + i,
                                   groups, gtheta, pw, s, &fl);
                continue;
            }
            size_t e = (size_t)route[k];
            if (p->lsq) { /* the routed expert's output alone */
                size_t v = b->V == 1 ? 0 : b->vsrc[mot_model_view_of(m, e)];
                if (i + LSQ_AHEAD < s1) { /* the z of a row ahead: rows are far apart */
                    size_t k2 = idx ? idx[i + LSQ_AHEAD] : i + LSQ_AHEAD;
                    size_t v2 = b->V == 1 ? 0 : b->vsrc[mot_model_view_of(m, (size_t)route[k2])];
                    const double *z2 = b->Z + (k2 * b->V + v2) * d;
                    for (size_t j = 0; j < d; j += 8)
                        __builtin_prefetch(z2 + j);
                }
                b->F[i * E + e] = dot(m->theta + e * d, b->Z + (k * b->V + v) * d, d);
                fl += 2.0 * (double)d;
            }
            if (rule->gate == MOT_GATE_SWITCH)
                a = Pi[e];
            F = a * Fi[e];
            double g = mot_loss_grad(rule->loss, y, F);
            loss += loss_value(rule->loss, y, F);
            if (groups & MOT_GROUP_THETA) /* divided by the expert's divisor when summed */
                contribute_theta(b, m, D, p, k, e, g * a, gtheta, s, &fl);
            if (groups & MOT_GROUP_W && p->wq) /* divided by the view's divisor when summed */
                contribute_W(b, m, D, p, i, k, e, g * a, 0, pw, s, &fl);
            else if (groups & MOT_GROUP_W)
                contribute_W(b, m, D, p, i, k, e,
                             g * a / divisor(b, rule, b->count, e, B, MOT_GROUP_W), b->pos[i],
                             NULL, s, &fl);
            if (!(groups & MOT_GROUP_ROUTER))
                continue;
            if (p->rgroup && rule->gate == MOT_GATE_COMPETE) { /* losses summed by query */
                if (!p->lsq) /* (else from the factors, once per step) */
                    loss_sum(cq + b->f->qid[k] * E, Fi, y, rule->loss, E), fl += 4.0 * (double)E;
                continue;
            }
            double *c = p->rgroup ? s->crow : b->C + i * E;
            if (rule->gate == MOT_GATE_COMPETE)
                compete_row(c, Pi, Fi, y, rule->loss, E, s->lossE);
            else
                mot_gate_coef_switch(c, Pi, e, g, Fi[e], E);
            if (p->rgroup) { /* C summed by query */
                axpy(cq + b->f->qid[k] * E, 1.0, c, E);
                fl += (double)E;
            }
        }
    }
    if (b->gated && (groups & MOT_GROUP_ROUTER) && !p->rgroup) {
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

/* vsrc, vone for the current W: which views' W are equal bit for bit. */
static void match_views(mot_batch *b, const mot_model *m)
{
    size_t dd = b->d * b->d;
    b->vone = 1;
    for (size_t a = 0; a < b->V; a++) {
        b->vsrc[a] = a;
        for (size_t c = 0; c < a; c++)
            if (b->vsrc[c] == c && !memcmp(m->W + c * dd, m->W + a * dd, dd * sizeof *m->W)) {
                b->vsrc[a] = c;
                break;
            }
        b->vone &= b->vsrc[a] == 0;
    }
    b->vsrc_version = m->version;
}

static void count_routes(mot_batch *b, const int *route, const size_t *idx, size_t B)
{
    memset(b->count, 0, b->E * sizeof *b->count);
    for (size_t i = 0; i < B; i++)
        b->count[route[idx ? idx[i] : i]]++;
}

double mot_batch_gradients(mot_batch *b, mot_model *m, const mot_data *D,
                           const mot_batch_rule *rule, const mot_batch_noise *noise, int *route,
                           const size_t *idx, size_t B, unsigned groups)
{
    size_t d = b->d, E = b->E, A = b->A, V = b->V;
    int group = grouped(b, B);
    if (!A) /* the groups the model does not have */
        groups &= ~(unsigned)MOT_GROUP_W;
    if (!b->gated)
        groups &= ~(unsigned)MOT_GROUP_ROUTER;
    /* Z while theta trains (T would be stale at every step), T while it is
     * frozen (Z would be stale at every change of W); no attention: Z */
    plan p = {group, router_grouped(b, B),
              b->Z && ((V == 1 && !b->T) || (b->use_z && (groups & MOT_GROUP_THETA))),
              b->T && (groups & MOT_GROUP_W) && (!b->gated || !(groups & MOT_GROUP_THETA)),
              0, 0, 0};
    if (memcmp(b->theta_seen, m->theta, E * d * sizeof *m->theta)) {
        memcpy(b->theta_seen, m->theta, E * d * sizeof *m->theta);
        b->theta_version++;
    }
    if (V > 1 && b->vsrc_version != m->version)
        match_views(b, m);
    /* theta and W unchanged since a full-batch step (the router alone
     * trains): its outputs stand */
    int full = !idx && B == b->n;
    p.fkeep = full && b->f_full && b->f_theta == b->theta_version && b->f_w == m->version;
    b->f_full = full, b->f_theta = b->theta_version, b->f_w = m->version;
    if (A && group && b->qu_version != m->version) { /* W_a^T x_q of the distinct queries */
        size_t nq = b->f->nq;
        for (size_t a = 0; a < A; a++)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)d, (int)d, 1.0,
                        b->f->Xu, (int)d, m->W + a * d * d, (int)d, 0.0, b->Qu + a * d,
                        (int)(A * d));
        b->qu_version = m->version;
        b->flops += 2.0 * (double)(nq * A * d * d);
    }
    /* W's contributions as Phi rows need every sample's expert before the
     * tasks (their divisors, their rows); summed by view and query (wq),
     * like theta's, they are divided once summed */
    if (!b->gated)
        noise = NULL;
    p.wq = group && (groups & MOT_GROUP_W) && b->pw;
    int fuse = noise && (!(groups & MOT_GROUP_W) || p.wq);
    if (noise && !fuse)
        mot_batch_route(b, noise->rngs, noise->lambda, idx, B, route);
    else if (fuse)
        batch_route_prepare(b, noise->lambda);
    if (b->gated && !fuse)
        count_routes(b, route, idx, B);
    /* the compete gate's loss sums from the QR factors while W is frozen and
     * theta trains (the router alone keeps the last outputs instead) */
    p.lsq = b->use_lsq && b->lsq_n && full && p.zpath && p.rgroup && (groups & MOT_GROUP_ROUTER)
         && (groups & MOT_GROUP_THETA) && !(groups & MOT_GROUP_W)
         && rule->gate == MOT_GATE_COMPETE && rule->loss == MOT_LOSS_SQUARED;
    if (p.lsq) {
        p.fkeep = 0, b->f_full = 0; /* F holds the routed experts' outputs only */
        if (!b->lsq_valid || b->lsq_version != m->version)
            batch_lsq_factor(b, m, D, group, b->scratch[0]);
    }
    if ((groups & MOT_GROUP_W) && !p.wq)
        place_rows(b, m, route, idx, B);
    size_t ts = task_size(B), nt = (B + ts - 1) / ts, np = 2 * E * d + 2 + MOT_BATCH_MAX_QUERIES * E;
    size_t npw = p.wq ? V * b->f->nq * d : 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads) if (b->threads > 1 && nt > 1)
    for (size_t t = 0; t < nt; t++) {
        size_t i0 = t * ts, i1 = B - i0 < ts ? B : i0 + ts;
        run_task(b, m, D, rule, fuse ? noise : NULL, t, route, idx, B, groups, &p, i0, i1,
                 b->part + t * np, p.wq ? b->pw + t * npw : NULL, b->scratch[thread_id()]);
    }
    if (fuse)
        count_routes(b, route, idx, B);
    /* the partial sums, in task order */
    double loss = 0;
    for (size_t t = 0; t < nt; t++)
        loss += b->part[t * np + 2 * E * d], b->flops += b->part[t * np + 2 * E * d + 1];
    memset(m->gtheta, 0, E * d * sizeof *m->gtheta);
    if (groups & MOT_GROUP_THETA) { /* each entry summed in task order, entries in parallel */
        size_t ncol = (E * d + 63) / 64; /* threads only when the sum outweighs waking them */
#pragma omp parallel for schedule(static) num_threads(b->threads) if (b->threads > 1 && nt * E * d > (1u << 18))
        for (size_t c = 0; c < ncol; c++) {
            size_t j0 = c * 64, j1 = j0 + 64 < E * d ? j0 + 64 : E * d;
            for (size_t t = 0; t < nt; t++)
                axpy(m->gtheta + j0, 1.0, b->part + t * np + j0, j1 - j0);
        }
    }
    if (groups & MOT_GROUP_THETA) {
        for (size_t e = 0; e < E; e++) { /* an expert without samples keeps its zeros */
            double div = divisor(b, rule, b->count, e, B, MOT_GROUP_THETA);
            if (div > 0)
                for (size_t j = 0; j < d; j++)
                    m->gtheta[e * d + j] /= div;
        }
        b->flops += (double)(nt * E * d) + (double)(E * d);
    }
    if (m->gw) {
        memset(m->gw, 0, E * d * sizeof *m->gw);
        if (groups & MOT_GROUP_ROUTER) {
            if (p.rgroup) { /* gw = C_q^T X_q / B */
                size_t nq = b->f->nq;
                memset(b->Cq, 0, nq * E * sizeof *b->Cq);
                if (p.lsq)
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
                cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)E, (int)d, (int)nq,
                            1.0, b->Cq, (int)E, b->f->Xu, (int)d, 0.0, m->gw, (int)d);
                b->flops += (p.lsq ? 0.0 : (double)(nt * nq * E)) + 2.0 * (double)(nq * E * d);
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
    if (A && (groups & MOT_GROUP_W) && p.wq) {
        size_t nq = b->f->nq;
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads) if (b->threads > 1 && V > 1)
        for (size_t a = 0; a < V; a++)
            reduce_W_by_query(b, m, rule, a, nt, npw, B);
        b->flops += (double)(nt * V * nq * d);
        for (size_t a = 0; a < V; a++)
            if (divisor(b, rule, b->count, a, B, MOT_GROUP_W) > 0)
                b->flops += (double)(nq * d) + 2.0 * (double)(nq * d * d);
    } else if (A && (groups & MOT_GROUP_W)) {
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

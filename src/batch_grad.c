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
 *             C_q = p_q (l_q - p_q^T l_q) from them; with the QR factors of
 *             batch_lsq.c, 2 nq E d^2 and the routed outputs only, 2 B d)
 *
 * with H = 1 for gated models (one expert per sample) and H = E for single.
 * Each task of the batch owns its rows of F and C, its Phi rows and its
 * partial sums; batch_sum.c adds the partial sums in task order.
 *
 * The caches and outputs it drives live in batch_fwd.c, the buffers, the
 * gate and the routing in batch.c, the QR factors in batch_lsq.c; this file
 * plans a step, runs its tasks and allocates nothing. */
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

/* The versions the caches are checked against: theta's (by content),
 * the views' matches and the distinct queries' W_a^T x_q (W's). */
static void refresh_versions(mot_batch *b, const mot_model *m, int group)
{
    size_t d = b->d, E = b->E, A = b->A;
    if (memcmp(b->theta_seen, m->theta, E * d * sizeof *m->theta)) {
        memcpy(b->theta_seen, m->theta, E * d * sizeof *m->theta);
        b->theta_version++;
    }
    if (b->V > 1 && b->vsrc_version != m->version)
        match_views(b, m);
    if (A && group && b->qu_version != m->version) {
        size_t nq = b->f->nq;
        for (size_t a = 0; a < A; a++)
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)d, (int)d, 1.0,
                        b->f->Xu, (int)d, m->W + a * d * d, (int)d, 0.0, b->Qu + a * d,
                        (int)(A * d));
        b->qu_version = m->version;
        b->flops += 2.0 * (double)(nq * A * d * d);
    }
}

/* What a step of `groups` on batch idx[0..B) computes from (plan); records
 * what F will hold, for the next step's fkeep. */
static plan plan_step(mot_batch *b, const mot_model *m, const mot_batch_rule *rule,
                      const size_t *idx, size_t B, unsigned groups)
{
    int group = grouped(b, B), full = !idx && B == b->n;
    plan p = {0};
    p.group = group, p.rgroup = router_grouped(b, B);
    /* Z while theta trains (T would be stale at every step), T while it is
     * frozen (Z would be stale at every change of W); no attention: Z */
    p.zpath = b->Z && ((b->V == 1 && !b->T) || (b->use_z && (groups & MOT_GROUP_THETA)));
    p.tw = b->T && (groups & MOT_GROUP_W) && (!b->gated || !(groups & MOT_GROUP_THETA));
    /* W's phi summed by view and query in the tasks, like theta's divided
     * once summed (else Phi rows, which need every sample's expert first) */
    p.wq = group && (groups & MOT_GROUP_W) && b->pw;
    /* theta and W unchanged since a full-batch step (the router alone
     * trains): its outputs stand */
    p.fkeep = full && b->f_full && b->f_theta == b->theta_version && b->f_w == m->version;
    /* the compete gate's loss sums from the QR factors while W is frozen and
     * theta trains */
    p.lsq = b->use_lsq && b->lsq_n && full && p.zpath && p.rgroup && (groups & MOT_GROUP_ROUTER)
         && (groups & MOT_GROUP_THETA) && !(groups & MOT_GROUP_W)
         && rule->gate == MOT_GATE_COMPETE && rule->loss == MOT_LOSS_SQUARED;
    if (p.lsq)
        p.fkeep = 0; /* F will hold the routed experts' outputs only */
    b->f_full = full && !p.lsq, b->f_theta = b->theta_version, b->f_w = m->version;
    return p;
}

double mot_batch_gradients(mot_batch *b, mot_model *m, const mot_data *D,
                           const mot_batch_rule *rule, const mot_batch_noise *noise, int *route,
                           const size_t *idx, size_t B, unsigned groups)
{
    size_t d = b->d, V = b->V;
    if (!b->A) /* the groups the model does not have */
        groups &= ~(unsigned)MOT_GROUP_W;
    if (!b->gated)
        groups &= ~(unsigned)MOT_GROUP_ROUTER, noise = NULL;
    refresh_versions(b, m, grouped(b, B));
    plan p = plan_step(b, m, rule, idx, B, groups);
    /* the routing: in the tasks, or first when W's Phi rows need it */
    int fuse = noise && (!(groups & MOT_GROUP_W) || p.wq);
    if (noise && !fuse)
        mot_batch_route(b, noise->rngs, noise->lambda, idx, B, route);
    else if (fuse)
        batch_route_prepare(b, noise->lambda);
    if (b->gated && !fuse)
        count_routes(b, route, idx, B);
    if (p.lsq && (!b->lsq_valid || b->lsq_version != m->version))
        batch_lsq_factor(b, m, D, p.group, b->scratch[0]);
    if ((groups & MOT_GROUP_W) && !p.wq)
        place_rows(b, m, route, idx, B);
    size_t ts = task_size(B), nt = (B + ts - 1) / ts, np = part_stride(b);
    size_t npw = p.wq ? V * b->f->nq * d : 0;
#pragma omp parallel for schedule(dynamic, 1) num_threads(b->threads) if (b->threads > 1 && nt > 1)
    for (size_t t = 0; t < nt; t++) {
        size_t i0 = t * ts, i1 = B - i0 < ts ? B : i0 + ts;
        run_task(b, m, D, rule, fuse ? noise : NULL, t, route, idx, B, groups, &p, i0, i1,
                 b->part + t * np, p.wq ? b->pw + t * npw : NULL, b->scratch[thread_id()]);
    }
    if (fuse)
        count_routes(b, route, idx, B);
    return batch_sum_partials(b, m, D, rule, &p, nt, B, groups);
}

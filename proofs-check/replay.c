/* replay.c: the high-precision replay of stage III (see replay.h): reads a
 * run's data set and its W, theta and router at T2, routes the training
 * samples with the gate frozen there (no exploration noise), and per expert
 * builds the subtask from its routed samples: the attended tokens z_k
 * recomputed in MPFR (softmax with mpfr_exp) beside the library's double
 * ones, the gate factors a_k in MPFR, the step s; then runs the descent of
 * descent.c on it and judges the experts' replays. The least squares
 * algebra is lsq.c's and the descent descent.c's, not this file's. */
#include "replay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "fwd.h"
#include "gate.h"
#include "hp.h"
#include "model.h"
#include "status.h"
#include "store.h"

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

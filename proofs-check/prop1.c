/* prop1.c: Proposition 1 (FFN specialization and router convergence). At
 * the end of stage I (epoch T1) and at the end of the run: (1) every
 * non-idle expert is specialized, (2) every class is covered, (3) at most
 * delta of each class is routed outside M_n, (4) the training-time dispatch
 * of each class among M_n over the last uniform_window training epochs
 * passes a chi-square test of uniformity at level alpha_test and its largest
 * share is within uniform_tol of 1/|M_n|. Also T_spec, the first recorded
 * epoch from which (1)-(3) hold until the end. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_cdf.h>

#include "check.h"
#include "status.h"

typedef struct {
    int ok;
    double worst_p, worst_dev; /* over the classes with |M_n| >= 2 */
    int tested, trivial;       /* classes tested, classes with |M_n| = 1 */
} uniformity;

/* Condition 4 for the window of training epochs [t_end - window, t_end). */
static int uniform_within(const mot_runrec *r, const mot_spec *s, int t_end, uniformity *u)
{
    const mot_config *cfg = &r->cfg;
    const mot_table *t = r->train_dispatch;
    memset(u, 0, sizeof *u);
    u->ok = 1, u->worst_p = 1;
    if (!t)
        return MOT_ERROR(MOT_EINVAL, "%s: no train_dispatch.csv", r->dir);
    int c_ep = mot_table_col(t, "epoch"), c_cl = mot_table_col(t, "class");
    int c_ex = mot_table_col(t, "expert"), c_ct = mot_table_col(t, "count");
    if (c_ep < 0 || c_cl < 0 || c_ex < 0 || c_ct < 0)
        return MOT_ERROR(MOT_EINVAL, "%s: train_dispatch.csv lacks a column", r->dir);
    int t0 = t_end - cfg->uniform_window < 0 ? 0 : t_end - cfg->uniform_window;
    static double counts[MOT_MAX_CLASSES][4096];
    memset(counts, 0, sizeof counts);
    for (size_t i = 0; i < t->rows; i++) {
        double ep = mot_table_at(t, i, c_ep);
        if (ep >= t0 && ep < t_end)
            counts[(size_t)mot_table_at(t, i, c_cl)][(size_t)mot_table_at(t, i, c_ex)] +=
                mot_table_at(t, i, c_ct);
    }
    for (size_t n = 0; n < s->N; n++) {
        int k = s->covered[n];
        if (k == 0)
            continue; /* coverage fails elsewhere */
        if (k == 1) {
            u->trivial++;
            continue;
        }
        double total = 0, stat = 0, dev = 0;
        for (size_t e = 0; e < s->E; e++)
            if (s->specialized[e] && s->best[e] == (int)n)
                total += counts[n][e];
        u->tested++;
        if (total == 0) {
            u->ok = 0, u->worst_p = 0, u->worst_dev = 1;
            continue;
        }
        double expect = total / k;
        for (size_t e = 0; e < s->E; e++)
            if (s->specialized[e] && s->best[e] == (int)n) {
                stat += (counts[n][e] - expect) * (counts[n][e] - expect) / expect;
                dev = fmax(dev, fabs(counts[n][e] / total - 1.0 / k));
            }
        double p = gsl_cdf_chisq_Q(stat, k - 1);
        u->worst_p = fmin(u->worst_p, p);
        u->worst_dev = fmax(u->worst_dev, dev);
        if (!(p >= cfg->alpha_test) || !(dev <= cfg->uniform_tol))
            u->ok = 0;
    }
    return MOT_OK;
}

/* The first recorded epoch from which (1)-(3) hold at every later recorded
 * epoch, or -1. */
static int t_spec(const mot_runrec *r)
{
    int c = mot_table_col(r->metrics, "epoch"), found = -1;
    mot_spec s;
    for (size_t i = r->metrics->rows; i-- > 0;) {
        int ep = (int)mot_table_at(r->metrics, i, c);
        if (mot_spec_at(r, ep, &s) || !(s.all_specialized && s.all_covered && s.routing_correct))
            break;
        found = ep;
    }
    return found;
}

static void describe(char *buf, size_t len, const char *when, const mot_spec *s,
                     const uniformity *u, const mot_config *cfg)
{
    double worst_mis = 0;
    int uncovered = 0, unspec = 0;
    for (size_t n = 0; n < s->N; n++) {
        worst_mis = fmax(worst_mis, s->misrouted[n]);
        uncovered += !s->covered[n];
    }
    for (size_t e = 0; e < s->E; e++)
        unspec += !s->idle[e] && !s->specialized[e];
    snprintf(buf, len,
             "%s (epoch %d): %d unspecialized expert(s), %d uncovered class(es), "
             "misrouted <= %.4f (max %.4f), uniformity p >= %.3g (min %.3g) and share dev <= %.3g "
             "(max %.3g) over %d class(es), %d with |M_n| = 1",
             when, s->epoch, unspec, uncovered, cfg->delta, worst_mis, cfg->alpha_test, u->worst_p,
             cfg->uniform_tol, u->worst_dev, u->tested, u->trivial);
}

static int holds_at(const mot_spec *s, const uniformity *u)
{
    return s->all_specialized && s->all_covered && s->routing_correct && u->ok;
}

int mot_check_prop1(const mot_runrec *r, mot_verdict *v)
{
    const mot_config *cfg = &r->cfg;
    mot_verdict_init(v, "prop1");
    mot_spec at_T1, at_end;
    uniformity u1, u2;
    int status;
    if ((status = mot_spec_at(r, cfg->T1, &at_T1)) || (status = mot_spec_at(r, cfg->T, &at_end))
        || (status = uniform_within(r, &at_T1, cfg->T1, &u1))
        || (status = uniform_within(r, &at_end, cfg->T, &u2)))
        return status;
    int ts = t_spec(r);
    const char *names[2] = {"T1", "end"};
    const mot_spec *sp[2] = {&at_T1, &at_end};
    const uniformity *up[2] = {&u1, &u2};
    for (int i = 0; i < 2; i++) {
        char key[64];
        double worst_mis = 0;
        int covered = 0;
        for (size_t n = 0; n < sp[i]->N; n++) {
            worst_mis = fmax(worst_mis, sp[i]->misrouted[n]);
            covered += sp[i]->covered[n] > 0;
        }
        snprintf(key, sizeof key, "%s_all_specialized", names[i]);
        mot_verdict_num(v, key, sp[i]->all_specialized);
        snprintf(key, sizeof key, "%s_classes_covered", names[i]);
        mot_verdict_num(v, key, covered);
        snprintf(key, sizeof key, "%s_max_misrouted", names[i]);
        mot_verdict_num(v, key, worst_mis);
        snprintf(key, sizeof key, "%s_uniformity_min_p", names[i]);
        mot_verdict_num(v, key, up[i]->worst_p);
        snprintf(key, sizeof key, "%s_uniformity_max_dev", names[i]);
        mot_verdict_num(v, key, up[i]->worst_dev);
    }
    mot_verdict_num(v, "T_spec", ts);
    mot_verdict_num(v, "T1", cfg->T1);
    mot_verdict_num(v, "delta", cfg->delta);
    mot_verdict_num(v, "alpha_test", cfg->alpha_test);
    mot_verdict_num(v, "uniform_tol", cfg->uniform_tol);
    mot_verdict_num(v, "uniform_window", cfg->uniform_window);
    int c_ent = mot_table_col(r->metrics, "router_entropy"), c_p = mot_table_col(r->metrics, "gate_p_chosen");
    if (c_ent >= 0 && c_p >= 0) {
        size_t last = r->metrics->rows - 1;
        mot_verdict_num(v, "end_router_entropy", mot_table_at(r->metrics, last, c_ent));
        mot_verdict_num(v, "end_gate_p_chosen", mot_table_at(r->metrics, last, c_p));
    }
    char a[400], b[400];
    describe(a, sizeof a, "T1", &at_T1, &u1, cfg);
    describe(b, sizeof b, "end", &at_end, &u2, cfg);
    int ok = holds_at(&at_T1, &u1) && holds_at(&at_end, &u2);
    mot_verdict_set(v, ok ? MOT_VERDICT_HOLDS : MOT_VERDICT_FAILS, "%s; %s; T_spec = %d", a, b, ts);
    return MOT_OK;
}

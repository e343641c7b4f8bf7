/* def2.c: Definition 2 (transformer specialization) at one recorded epoch,
 * and its check at the end of the run. An expert carrying at least
 * min_traffic of the test samples is specialized in class n_e* =
 * argmax_n q_e(n) when q_e(n_e*) >= 1 - delta; M_n collects the experts
 * specialized in n; an expert below min_traffic is idle. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "status.h"

/* The first row of `epoch` in a long table, after checking it holds
 * `count` rows of that epoch. */
static long epoch_block(const mot_table *t, int epoch, size_t count, const char *name)
{
    long row = mot_runrec_row(t, epoch);
    int c = mot_table_col(t, "epoch");
    if (row < 0 || (size_t)row + count > t->rows || mot_table_at(t, (size_t)row + count - 1, c) != epoch)
        return MOT_ERROR(MOT_EINVAL, "%s has no complete rows for epoch %d", name, epoch), -1;
    return row;
}

int mot_spec_at(const mot_runrec *r, int epoch, mot_spec *s)
{
    const mot_config *cfg = &r->cfg;
    if (!r->dispatch || !r->alignment || !r->experts)
        return MOT_ERROR(MOT_EINVAL, "%s: Definition 2 needs a gated model (no dispatch.csv)", r->dir);
    size_t N = (size_t)cfg->N, E = (size_t)cfg->M;
    if (E > 4096)
        return MOT_ERROR(MOT_EINVAL, "Definition 2 is checked for M <= 4096");
    memset(s, 0, sizeof *s);
    s->epoch = epoch, s->N = N, s->E = E;
    long rd = epoch_block(r->dispatch, epoch, N * E, "dispatch.csv");
    long ra = epoch_block(r->alignment, epoch, N * E, "alignment.csv");
    long re = epoch_block(r->experts, epoch, E, "experts.csv");
    if (rd < 0 || ra < 0 || re < 0)
        return MOT_EINVAL;
    int c_share = mot_table_col(r->dispatch, "share"), c_traffic = mot_table_col(r->alignment, "traffic");
    int c_align = mot_table_col(r->alignment, "ffn_align"), c_load = mot_table_col(r->experts, "load");
    if (c_share < 0 || c_traffic < 0 || c_align < 0 || c_load < 0)
        return MOT_ERROR(MOT_EINVAL, "%s: a column Definition 2 needs is missing", r->dir);
    for (size_t e = 0; e < E; e++) {
        s->load[e] = mot_table_at(r->experts, (size_t)re + e, c_load);
        s->idle[e] = !(s->load[e] >= cfg->min_traffic);
        double top = -1, a1 = 0, a2 = 0;
        s->best[e] = -1;
        for (size_t n = 0; n < N; n++) {
            size_t row = (size_t)ra + n * E + e;
            double q = mot_table_at(r->alignment, row, c_traffic);
            if (q > top)
                top = q, s->best[e] = (int)n;
            double a = fabs(mot_table_at(r->alignment, row, c_align));
            if (a > a1)
                a2 = a1, a1 = a;
            else if (a > a2)
                a2 = a;
        }
        s->purity[e] = top;
        s->A_ratio[e] = a2 > 0 ? a1 / a2 : INFINITY;
        s->specialized[e] = !s->idle[e] && top >= 1 - cfg->delta;
        if (s->idle[e])
            s->best[e] = -1;
    }
    s->all_specialized = s->all_covered = s->routing_correct = 1;
    for (size_t e = 0; e < E; e++)
        if (!s->idle[e] && !s->specialized[e])
            s->all_specialized = 0;
    for (size_t n = 0; n < N; n++) {
        for (size_t e = 0; e < E; e++) {
            int in_Mn = s->specialized[e] && s->best[e] == (int)n;
            s->covered[n] += in_Mn;
            if (!in_Mn)
                s->misrouted[n] += mot_table_at(r->dispatch, (size_t)rd + n * E + e, c_share);
        }
        if (!s->covered[n])
            s->all_covered = 0;
        if (!(s->misrouted[n] <= cfg->delta))
            s->routing_correct = 0;
    }
    return MOT_OK;
}

int mot_check_definition2(const mot_runrec *r, mot_verdict *v)
{
    mot_verdict_init(v, "definition2");
    mot_spec s;
    int status = mot_spec_at(r, r->cfg.T, &s);
    if (status)
        return status;
    size_t specialized = 0, idle = 0, worst = 0;
    double worst_purity = 1, min_ratio = INFINITY;
    json_t *experts = json_array();
    for (size_t e = 0; e < s.E; e++) {
        specialized += (size_t)s.specialized[e];
        idle += (size_t)s.idle[e];
        if (!s.idle[e] && s.purity[e] < worst_purity)
            worst_purity = s.purity[e], worst = e;
        if (s.specialized[e] && s.A_ratio[e] < min_ratio)
            min_ratio = s.A_ratio[e];
        json_array_append_new(experts, json_pack("{s:i, s:f, s:i, s:f, s:b, s:b}", "expert", (int)e,
                                                 "load", s.load[e], "class", s.best[e],
                                                 "purity", isfinite(s.purity[e]) ? s.purity[e] : 0.0,
                                                 "specialized", s.specialized[e], "idle", s.idle[e]));
    }
    json_object_set_new(v->numbers, "experts", experts);
    mot_verdict_num(v, "epoch", s.epoch);
    mot_verdict_num(v, "specialized", (double)specialized);
    mot_verdict_num(v, "idle", (double)idle);
    mot_verdict_num(v, "worst_purity", worst_purity);
    mot_verdict_num(v, "min_A_ratio", min_ratio);
    mot_verdict_num(v, "min_traffic", r->cfg.min_traffic);
    mot_verdict_num(v, "delta", r->cfg.delta);
    if (s.all_specialized)
        mot_verdict_set(v, MOT_VERDICT_HOLDS,
                        "epoch %d: %zu experts specialized, %zu idle; lowest purity %.4f >= %.4f; "
                        "smallest |A| ratio %.3g", s.epoch, specialized, idle, worst_purity,
                        1 - r->cfg.delta, min_ratio);
    else
        mot_verdict_set(v, MOT_VERDICT_FAILS,
                        "epoch %d: expert %zu carries %.4f of the test samples with purity "
                        "%.4f < %.4f", s.epoch, worst, s.load[worst], worst_purity, 1 - r->cfg.delta);
    return MOT_OK;
}

/* prop2.c: Proposition 2 (attention training), over stage II of a gated
 * run with attention. For the experts of each M_n (Definition 2 at T2), on
 * the test samples routed to them: (1) the mean attention on the label token
 * rises from about 1/L at T1 to at least attn_gain / L at T2 and never falls
 * by more than attn_dip between recorded epochs; (2) W_e aligns with its
 * class, <W_e, c_n c_n^T> / |W_e|_F >= w_align at T2; (3) the training loss at
 * T2 is not above the one at T1. */
#include <math.h>
#include <stdio.h>

#include "check.h"
#include "status.h"

int mot_check_prop2(const mot_runrec *r, mot_verdict *v)
{
    const mot_config *cfg = &r->cfg;
    mot_verdict_init(v, "prop2");
    if (!r->attention || !r->dispatch) {
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "applies to gated models with attention");
        return MOT_OK;
    }
    if (cfg->T2 <= cfg->T1) {
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "no stage II (T1 = T2 = %d)", cfg->T1);
        return MOT_OK;
    }
    mot_spec s;
    int status = mot_spec_at(r, cfg->T2, &s);
    if (status)
        return status;
    const mot_table *A = r->attention, *G = r->alignment, *M = r->metrics;
    int a_ep = mot_table_col(A, "epoch"), a_ex = mot_table_col(A, "expert"), a_lab = mot_table_col(A, "label");
    int g_ep = mot_table_col(G, "epoch"), g_cl = mot_table_col(G, "class"), g_ex = mot_table_col(G, "expert");
    int g_al = mot_table_col(G, "attn_align"), m_tr = mot_table_col(M, "train_loss");
    if (a_ep < 0 || a_ex < 0 || a_lab < 0 || g_al < 0 || m_tr < 0)
        return MOT_ERROR(MOT_EINVAL, "%s: a column Proposition 2 needs is missing", r->dir);
    double L = cfg->L, min_gain = INFINITY, max_dip = 0, min_align = INFINITY, start_dev = 0;
    int experts = 0, worst_gain = -1, worst_align = -1;
    for (size_t e = 0; e < s.E; e++) {
        if (!s.specialized[e])
            continue;
        experts++;
        double prev = NAN, first = NAN, last = NAN;
        for (size_t i = 0; i < A->rows; i++) {
            double ep = mot_table_at(A, i, a_ep);
            if (mot_table_at(A, i, a_ex) != e || ep < cfg->T1 || ep > cfg->T2)
                continue;
            double lab = mot_table_at(A, i, a_lab);
            if (isnan(lab))
                continue; /* no test sample routed to e at that epoch */
            if (isnan(first))
                first = lab;
            if (!isnan(prev))
                max_dip = fmax(max_dip, prev - lab);
            prev = last = lab;
        }
        double gain = last * L;
        if (isnan(gain) || gain < min_gain)
            min_gain = gain, worst_gain = (int)e;
        if (!isnan(first))
            start_dev = fmax(start_dev, fabs(first - 1 / L));
        for (size_t i = 0; i < G->rows; i++)
            if (mot_table_at(G, i, g_ep) == cfg->T2 && mot_table_at(G, i, g_ex) == e
                && mot_table_at(G, i, g_cl) == s.best[e]) {
                double al = mot_table_at(G, i, g_al);
                if (isnan(al) || al < min_align)
                    min_align = al, worst_align = (int)e;
            }
    }
    long r1 = mot_runrec_row(M, cfg->T1), r2 = mot_runrec_row(M, cfg->T2);
    if (r1 < 0 || r2 < 0)
        return MOT_ERROR(MOT_EINVAL, "%s: metrics.csv lacks epoch T1 or T2", r->dir);
    double l1 = mot_table_at(M, (size_t)r1, m_tr), l2 = mot_table_at(M, (size_t)r2, m_tr);
    mot_verdict_num(v, "experts", experts);
    mot_verdict_num(v, "label_attention_start_max_dev_from_1_over_L", start_dev);
    mot_verdict_num(v, "min_label_gain", min_gain);
    mot_verdict_num(v, "attn_gain", cfg->attn_gain);
    mot_verdict_num(v, "max_label_dip", max_dip);
    mot_verdict_num(v, "attn_dip", cfg->attn_dip);
    mot_verdict_num(v, "min_W_alignment", min_align);
    mot_verdict_num(v, "w_align", cfg->w_align);
    mot_verdict_num(v, "train_loss_T1", l1);
    mot_verdict_num(v, "train_loss_T2", l2);
    if (!experts) {
        mot_verdict_set(v, MOT_VERDICT_FAILS, "no specialized expert at T2 = %d", cfg->T2);
        return MOT_OK;
    }
    int ok = min_gain >= cfg->attn_gain && max_dip <= cfg->attn_dip && min_align >= cfg->w_align
          && l2 <= l1;
    mot_verdict_set(v, ok ? MOT_VERDICT_HOLDS : MOT_VERDICT_FAILS,
                    "%d experts: label attention gain min %.3f (expert %d) vs >= %.3f; largest dip "
                    "%.4f vs <= %.4f; W alignment min %.4f (expert %d) vs >= %.3f; train loss %.6g "
                    "at T1, %.6g at T2 (must not rise)", experts, min_gain, worst_gain,
                    cfg->attn_gain, max_dip, cfg->attn_dip, min_align, worst_align, cfg->w_align,
                    l1, l2);
    return MOT_OK;
}

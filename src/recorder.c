/* recorder.c: see recorder.h. Reals are printed with 17 significant digits
 * so a CSV value reads back as the exact double the run computed. */
#include "recorder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cblas.h>

#include "gate.h"
#include "loss.h"
#include "status.h"

static const char *csv_name[MOT_CSV_COUNT] = {
    "metrics.csv", "dispatch.csv", "gate.csv", "alignment.csv", "attention.csv",
    "experts.csv", "steps.csv", "train_dispatch.csv", "timing.csv"};

#define G17 "%.17g"

static int write_header(mot_recorder *rec, int which)
{
    const mot_model *m = rec->m;
    FILE *fp = rec->file[which].fp;
    switch (which) {
    case MOT_CSV_METRICS:
        fputs("epoch,stage,train_loss,train_error,test_loss,test_error", fp);
        if (m->gated)
            fputs(",router_entropy,gate_p_chosen", fp);
        fputs(",theta_norm", fp);
        if (m->A)
            fputs(",W_norm", fp);
        if (m->gated)
            fputs(",router_norm", fp);
        for (int n = 0; n < rec->cfg->N; n++)
            fprintf(fp, ",test_loss_c%d", n);
        for (int n = 0; n < rec->cfg->N; n++)
            fprintf(fp, ",test_error_c%d", n);
        fputc('\n', fp);
        break;
    case MOT_CSV_DISPATCH: fputs("epoch,class,expert,share\n", fp); break;
    case MOT_CSV_GATE: fputs("epoch,class,expert,mean_pi\n", fp); break;
    case MOT_CSV_ALIGNMENT:
        fprintf(fp, "epoch,class,expert,ffn_align%s%s\n", m->gated ? ",traffic" : "",
                m->A ? ",attn_align" : "");
        break;
    case MOT_CSV_ATTENTION:
        fputs("epoch,expert,routed,class_token,label,distractor,noise\n", fp);
        break;
    case MOT_CSV_EXPERTS:
        fprintf(fp, "epoch,expert%s,theta_norm%s%s\n", m->gated ? ",load" : "",
                m->A ? ",W_norm" : "", m->gated ? ",router_norm" : "");
        break;
    case MOT_CSV_STEPS:
        fprintf(fp, "epoch,stage,objective,grad_theta%s%s\n", m->A ? ",grad_W" : "",
                m->gated ? ",grad_router" : "");
        break;
    case MOT_CSV_TRAIN_DISPATCH: fputs("epoch,class,expert,count\n", fp); break;
    case MOT_CSV_TIMING: fputs("epoch,seconds\n", fp); break;
    }
    return ferror(fp) ? MOT_ERROR(MOT_EIO, "cannot write %s", csv_name[which]) : MOT_OK;
}

static int applies(const mot_model *m, int which)
{
    switch (which) {
    case MOT_CSV_DISPATCH:
    case MOT_CSV_GATE:
    case MOT_CSV_TRAIN_DISPATCH: return m->gated;
    case MOT_CSV_ATTENTION: return m->A > 0;
    default: return 1;
    }
}

mot_recorder *mot_recorder_open(const char *dir, const mot_config *cfg, const mot_model *m,
                                const mot_data *train, const mot_data *test,
                                mot_fwd *ftrain, mot_fwd *ftest,
                                const double *c, const double *v)
{
    mot_recorder *rec = calloc(1, sizeof *rec);
    if (!rec) {
        MOT_ERROR(MOT_ENOMEM, "cannot allocate the recorder");
        return NULL;
    }
    size_t N = (size_t)cfg->N, E = m->E, nmax = train->n > test->n ? train->n : test->n;
    rec->cfg = cfg, rec->m = m, rec->train = train, rec->test = test;
    rec->ftrain = ftrain, rec->ftest = ftest, rec->c = c, rec->v = v;
    rec->route = malloc(nmax * sizeof *rec->route);
    rec->pi_sum = malloc(N * E * sizeof *rec->pi_sum);
    rec->att = malloc(E * 4 * sizeof *rec->att);
    rec->routed = malloc(N * E * sizeof *rec->routed);
    rec->class_n = malloc(N * sizeof *rec->class_n);
    rec->loss_c = malloc(N * sizeof *rec->loss_c);
    rec->err_c = malloc(N * sizeof *rec->err_c);
    if (!rec->route || !rec->pi_sum || !rec->att || !rec->routed || !rec->class_n
        || !rec->loss_c || !rec->err_c) {
        MOT_ERROR(MOT_ENOMEM, "cannot allocate the recorder");
        mot_recorder_close(rec, 0);
        return NULL;
    }
    for (int i = 0; i < MOT_CSV_COUNT; i++) {
        if (!applies(m, i))
            continue;
        char *path = mot_io_join(dir, csv_name[i]);
        int status = path ? mot_io_open(&rec->file[i], path)
                          : MOT_ERROR(MOT_ENOMEM, "cannot allocate a path");
        free(path);
        if (status == MOT_OK) {
            rec->open[i] = 1;
            status = write_header(rec, i);
        }
        if (status != MOT_OK) {
            mot_recorder_close(rec, 0);
            return NULL;
        }
    }
    return rec;
}

/* Inference on a whole data set: routes without noise, returns the mean
 * loss and error; with `detail`, also fills the per-class and per-expert
 * tallies of the test set. */
static void evaluate(mot_recorder *rec, mot_fwd *f, const mot_data *D, int detail,
                     double *loss, double *error)
{
    const mot_model *m = rec->m;
    const mot_config *cfg = rec->cfg;
    size_t E = m->E, N = (size_t)cfg->N;
    if (detail) {
        memset(rec->pi_sum, 0, N * E * sizeof *rec->pi_sum);
        memset(rec->routed, 0, N * E * sizeof *rec->routed);
        memset(rec->class_n, 0, N * sizeof *rec->class_n);
        memset(rec->loss_c, 0, N * sizeof *rec->loss_c);
        memset(rec->err_c, 0, N * sizeof *rec->err_c);
    }
    /* Gated models need the attention of the routed expert only. */
    if (m->gated) {
        mot_fwd_gate(f, m, NULL, D->n);
        for (size_t k = 0; k < D->n; k++)
            rec->route[k] = (int)mot_gate_choose(f->H + k * E, NULL, E);
        mot_fwd_attention_routed(f, m, D, rec->route);
    } else {
        mot_fwd_attention(f, m, D, NULL, D->n);
        mot_fwd_outputs(f, m, NULL, D->n);
    }
    double sum = 0, wrong = 0;
    for (size_t k = 0; k < D->n; k++) {
        double F = 0;
        if (m->gated) {
            size_t e = (size_t)rec->route[k];
            double f_e = cblas_ddot((int)m->d, m->theta + e * m->d, 1,
                                    mot_fwd_z(f, mot_model_view_of(m, e), k), 1);
            F = (cfg->gate == MOT_GATE_SWITCH ? f->P[k * E + e] : 1.0) * f_e;
        } else {
            for (size_t e = 0; e < E; e++)
                F += f->F[k * E + e];
        }
        double l = mot_loss_value(cfg->loss, D->y[k], F);
        int bad = !(F * D->y[k] > 0); /* F = 0 counts as an error */
        sum += l, wrong += bad;
        if (!detail)
            continue;
        size_t n = (size_t)D->cls[k];
        rec->class_n[n]++;
        rec->loss_c[n] += l, rec->err_c[n] += bad;
        if (m->gated) {
            rec->routed[n * E + (size_t)rec->route[k]]++;
            for (size_t e = 0; e < E; e++)
                rec->pi_sum[n * E + e] += f->P[k * E + e];
        }
    }
    *loss = sum / (double)D->n;
    *error = wrong / (double)D->n;
}

/* Mean attention of each expert on the class, label, distractor and noise
 * tokens over the test samples routed to it (all samples for `single`). */
static void attention_stats(mot_recorder *rec)
{
    const mot_model *m = rec->m;
    const mot_fwd *f = rec->ftest;
    size_t E = m->E, L = rec->test->L;
    memset(rec->att, 0, E * 4 * sizeof *rec->att);
    for (size_t k = 0; k < rec->test->n; k++) {
        for (size_t e = 0; e < E; e++) {
            if (m->gated && (size_t)rec->route[k] != e)
                continue;
            const double *s = mot_fwd_s(f, mot_model_view_of(m, e), k);
            double *a = rec->att + e * 4;
            a[0] += s[MOT_TOK_CLASS], a[1] += s[MOT_TOK_LABEL], a[2] += s[MOT_TOK_DISTRACTOR];
            for (size_t l = MOT_TOK_NOISE; l < L; l++)
                a[3] += s[l];
        }
    }
}

static size_t routed_to(const mot_recorder *rec, size_t e)
{
    if (!rec->m->gated)
        return rec->test->n;
    size_t total = 0;
    for (int n = 0; n < rec->cfg->N; n++)
        total += rec->routed[(size_t)n * rec->m->E + e];
    return total;
}

static double norm(const double *x, size_t n) { return cblas_dnrm2((int)n, x, 1); }

/* 0/0 gives a NaN with its sign bit set, which printf writes "-nan"; every
 * NaN the files hold is written "nan". */
static double unsigned_nan(double x) { return isnan(x) ? NAN : x; }

/* <W, c c^T> / |W|_F = c^T W c / |W|_F (NaN when W = 0). */
static double w_alignment(const double *W, const double *c, size_t d)
{
    double acc = 0;
    for (size_t i = 0; i < d; i++)
        acc += c[i] * cblas_ddot((int)d, W + i * d, 1, c, 1);
    return unsigned_nan(acc / norm(W, d * d));
}

static void write_metrics(mot_recorder *rec, int t, double trl, double tre, double tel, double tee)
{
    const mot_model *m = rec->m;
    FILE *fp = rec->file[MOT_CSV_METRICS].fp;
    size_t E = m->E, d = m->d, N = (size_t)rec->cfg->N, n = rec->test->n;
    fprintf(fp, "%d,%d," G17 "," G17 "," G17 "," G17, t, mot_stage_of(rec->cfg, t), trl, tre, tel, tee);
    if (m->gated) {
        double ent = 0, pch = 0;
        for (size_t k = 0; k < n; k++) {
            ent += mot_gate_entropy(rec->ftest->P + k * E, E);
            pch += rec->ftest->P[k * E + (size_t)rec->route[k]];
        }
        fprintf(fp, "," G17 "," G17, ent / (double)n, pch / (double)n);
    }
    fprintf(fp, "," G17, norm(m->theta, E * d));
    if (m->A)
        fprintf(fp, "," G17, norm(m->W, m->A * d * d));
    if (m->gated)
        fprintf(fp, "," G17, norm(m->w, E * d));
    for (size_t c = 0; c < N; c++)
        fprintf(fp, "," G17, rec->class_n[c] ? rec->loss_c[c] / (double)rec->class_n[c] : NAN);
    for (size_t c = 0; c < N; c++)
        fprintf(fp, "," G17, rec->class_n[c] ? rec->err_c[c] / (double)rec->class_n[c] : NAN);
    fputc('\n', fp);
}

static void write_tables(mot_recorder *rec, int t)
{
    const mot_model *m = rec->m;
    size_t E = m->E, d = m->d, N = (size_t)rec->cfg->N, L = rec->test->L;
    for (size_t n = 0; n < N; n++) {
        double cn = rec->class_n[n] ? (double)rec->class_n[n] : NAN;
        for (size_t e = 0; e < E; e++) {
            if (m->gated) {
                fprintf(rec->file[MOT_CSV_DISPATCH].fp, "%d,%zu,%zu," G17 "\n", t, n, e,
                        (double)rec->routed[n * E + e] / cn);
                fprintf(rec->file[MOT_CSV_GATE].fp, "%d,%zu,%zu," G17 "\n", t, n, e,
                        rec->pi_sum[n * E + e] / cn);
            }
            const double *th = m->theta + e * d;
            FILE *fp = rec->file[MOT_CSV_ALIGNMENT].fp;
            fprintf(fp, "%d,%zu,%zu," G17, t, n, e,
                    unsigned_nan(cblas_ddot((int)d, th, 1, rec->v + n * d, 1) / norm(th, d)));
            if (m->gated) {
                size_t r = routed_to(rec, e);
                fprintf(fp, "," G17, r ? (double)rec->routed[n * E + e] / (double)r : NAN);
            }
            if (m->A)
                fprintf(fp, "," G17,
                        w_alignment(mot_model_W(m, mot_model_view_of(m, e)), rec->c + n * d, d));
            fputc('\n', fp);
        }
    }
    for (size_t e = 0; e < E; e++) {
        size_t r = routed_to(rec, e);
        if (m->A) {
            const double *a = rec->att + e * 4;
            double rr = r ? (double)r : NAN;
            fprintf(rec->file[MOT_CSV_ATTENTION].fp, "%d,%zu,%zu," G17 "," G17 "," G17 "," G17 "\n",
                    t, e, r, a[0] / rr, a[1] / rr, a[2] / rr, a[3] / rr);
        }
        FILE *fp = rec->file[MOT_CSV_EXPERTS].fp;
        fprintf(fp, "%d,%zu", t, e);
        if (m->gated)
            fprintf(fp, "," G17, (double)r / (double)rec->test->n);
        fprintf(fp, "," G17, norm(m->theta + e * d, d));
        if (m->A)
            fprintf(fp, "," G17, norm(mot_model_W(m, mot_model_view_of(m, e)), d * d));
        if (m->gated)
            fprintf(fp, "," G17, norm(m->w + e * d, d));
        fputc('\n', fp);
    }
    (void)L;
}

static int check_files(mot_recorder *rec)
{
    for (int i = 0; i < MOT_CSV_COUNT; i++)
        if (rec->open[i] && ferror(rec->file[i].fp))
            return MOT_ERROR(MOT_EIO, "cannot write %s", csv_name[i]);
    return MOT_OK;
}

int mot_recorder_record(mot_recorder *rec, int t)
{
    double trl, tre, tel, tee;
    evaluate(rec, rec->ftrain, rec->train, 0, &trl, &tre);
    evaluate(rec, rec->ftest, rec->test, 1, &tel, &tee);
    if (rec->m->A)
        attention_stats(rec);
    write_metrics(rec, t, trl, tre, tel, tee);
    write_tables(rec, t);
    rec->head = (mot_record_head){t, trl, tre, tel, tee};
    return check_files(rec);
}

int mot_recorder_step(mot_recorder *rec, int t, const mot_trainer *tr, double seconds)
{
    const mot_model *m = rec->m;
    size_t E = m->E, N = (size_t)rec->cfg->N;
    FILE *fp = rec->file[MOT_CSV_STEPS].fp;
    fprintf(fp, "%d,%d," G17 "," G17, t, mot_stage_of(rec->cfg, t), tr->objective, tr->gnorm[0]);
    if (m->A)
        fprintf(fp, "," G17, tr->gnorm[1]);
    if (m->gated)
        fprintf(fp, "," G17, tr->gnorm[2]);
    fputc('\n', fp);
    if (m->gated)
        for (size_t n = 0; n < N; n++)
            for (size_t e = 0; e < E; e++)
                fprintf(rec->file[MOT_CSV_TRAIN_DISPATCH].fp, "%d,%zu,%zu,%zu\n", t, n, e,
                        tr->dispatch[n * E + e]);
    fprintf(rec->file[MOT_CSV_TIMING].fp, "%d,%.6f\n", t, seconds);
    return check_files(rec);
}

int mot_recorder_close(mot_recorder *rec, int commit)
{
    if (!rec)
        return MOT_OK;
    int status = MOT_OK;
    for (int i = 0; i < MOT_CSV_COUNT; i++) {
        if (!rec->open[i])
            continue;
        if (commit && status == MOT_OK)
            status = mot_io_commit(&rec->file[i]);
        else
            mot_io_abort(&rec->file[i]);
    }
    free(rec->route), free(rec->pi_sum), free(rec->att), free(rec->routed);
    free(rec->class_n), free(rec->loss_c), free(rec->err_c);
    free(rec);
    return status;
}

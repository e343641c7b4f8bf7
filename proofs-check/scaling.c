/* scaling.c: the sweep-level checks (see scaling.h): per-run measurement,
 * sweep.csv read back, the T1-scaling fit and the coverage table. The fit
 * is plain least squares in log space; the coverage reference is the
 * coupon collector's probability, the chance that experts given classes at
 * random cover every class. */
#define _POSIX_C_SOURCE 200809L
#include "scaling.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_multifit.h>

#include "io.h"
#include "status.h"

/* ---- one run ------------------------------------------------------------ */

int mot_sweep_measure_run(const char *dir, mot_sweep_measure *m)
{
    m->T_spec = -2, m->coverage_T1 = -1, m->prop1 = -1;
    mot_runrec *r = mot_runrec_load(dir);
    if (!r)
        return MOT_EINVAL;
    mot_spec s;
    if (r->dispatch && mot_spec_at(r, r->cfg.T1, &s) == MOT_OK)
        m->coverage_T1 = s.all_covered;
    mot_verdict v;
    if (r->dispatch) {
        if (mot_check_prop1(r, &v) == MOT_OK) {
            m->prop1 = (int)v.verdict;
            json_t *ts = json_object_get(v.numbers, "T_spec");
            if (json_is_number(ts))
                m->T_spec = (int)json_number_value(ts);
        }
        mot_verdict_free(&v);   /* initialized by the check, whatever it returned */
    }
    mot_status_clear();
    mot_runrec_free(r);
    return MOT_OK;
}

/* ---- sweep.csv ---------------------------------------------------------- */

void mot_sweep_csv_free(mot_sweep_csv *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cols; i++)
        free(t->names[i]);
    for (size_t i = 0; i < t->rows * t->cols; i++)
        free(t->cells[i]);
    free(t->names);
    free(t->cells);
    free(t);
}

int mot_sweep_csv_col(const mot_sweep_csv *t, const char *name)
{
    for (size_t i = 0; i < t->cols; i++)
        if (!strcmp(t->names[i], name))
            return (int)i;
    return -1;
}

/* Splits line at commas into copies appended to *cells; returns the number
 * of fields, or 0 on ENOMEM. */
static size_t split_fields(char *line, char ***cells, size_t *n, size_t *cap)
{
    line[strcspn(line, "\r\n")] = '\0';
    size_t fields = 0;
    for (char *p = line;; fields++) {
        size_t len = strcspn(p, ",");
        if (*n == *cap) {
            size_t c = *cap ? 2 * *cap : 256;
            char **v = realloc(*cells, c * sizeof *v);
            if (!v)
                return 0;
            *cells = v, *cap = c;
        }
        if (!((*cells)[*n] = strndup(p, len)))
            return 0;
        (*n)++;
        if (p[len] == '\0')
            return fields + 1;
        p += len + 1;
    }
}

mot_sweep_csv *mot_sweep_csv_read(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        MOT_ERROR(MOT_EIO, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    mot_sweep_csv *t = calloc(1, sizeof *t);
    char *line = NULL;
    size_t len = 0, n = 0, cap = 0, lineno = 1;
    int ok = t != NULL;
    if (ok && getline(&line, &len, fp) > 0) {
        t->cols = split_fields(line, &t->names, &n, &cap);
        ok = t->cols > 0;
    } else if (ok) {
        ok = 0;
        MOT_ERROR(MOT_EINVAL, "%s: no header line", path);
    }
    n = 0, cap = 0;
    while (ok && getline(&line, &len, fp) > 0) {
        lineno++;
        size_t before = n, fields = split_fields(line, &t->cells, &n, &cap);
        if (fields != t->cols) {
            ok = 0;
            t->rows = before / t->cols;   /* only whole rows are freed as such */
            for (size_t i = t->rows * t->cols; i < n; i++)
                free(t->cells[i]);
            MOT_ERROR(MOT_EINVAL, "%s line %zu: %zu fields, the header has %zu", path, lineno, fields, t->cols);
            break;
        }
        t->rows++;
    }
    if (t && !ok && !mot_status_message()[0])
        MOT_ERROR(MOT_ENOMEM, "%s: out of memory", path);
    free(line);
    fclose(fp);
    if (!ok) {
        mot_sweep_csv_free(t);
        return NULL;
    }
    return t;
}

/* The number in row i, column c, or NaN when the column is absent, the
 * field empty or not a number. */
static double cell_num(const mot_sweep_csv *t, size_t i, int c)
{
    if (c < 0)
        return NAN;
    const char *s = t->cells[i * t->cols + (size_t)c];
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    return *s && !*end && !errno ? x : NAN;
}

static const char *cell(const mot_sweep_csv *t, size_t i, int c)
{
    return c < 0 ? "" : t->cells[i * t->cols + (size_t)c];
}

/* Distinct finite values of column c over the rows with keep[i] (all rows
 * when keep is NULL). */
static size_t distinct(const mot_sweep_csv *t, int c, const char *keep)
{
    size_t count = 0;
    for (size_t i = 0; i < t->rows; i++) {
        double x = cell_num(t, i, c);
        if ((keep && !keep[i]) || !isfinite(x))
            continue;
        size_t j = 0;
        for (; j < i; j++)
            if ((!keep || keep[j]) && cell_num(t, j, c) == x)
                break;
        count += j == i;
    }
    return count;
}

/* ---- T1 scaling --------------------------------------------------------- */

static int least_squares(const mot_sweep_csv *t, const char *keep, const int *cols, mot_scaling_fit *fit)
{
    size_t p = 1;
    int which[MOT_SCALING_TERMS];
    for (int k = 0; k < MOT_SCALING_TERMS; k++)
        if (fit->term[k].fitted)
            which[p++ - 1] = k;
    size_t n = fit->used;
    gsl_matrix *X = gsl_matrix_alloc(n, p), *cov = gsl_matrix_alloc(p, p);
    gsl_vector *y = gsl_vector_alloc(n), *c = gsl_vector_alloc(p);
    gsl_multifit_linear_workspace *w = gsl_multifit_linear_alloc(n, p);
    int status = MOT_OK;
    if (!X || !cov || !y || !c || !w) {
        status = MOT_ERROR(MOT_ENOMEM, "cannot allocate the T1-scaling fit");
        goto done;
    }
    int c_ts = mot_sweep_csv_col(t, "T_spec");
    double mean = 0;
    for (size_t i = 0, r = 0; i < t->rows; i++) {
        if (!keep[i])
            continue;
        gsl_matrix_set(X, r, 0, 1.0);
        for (size_t j = 1; j < p; j++)
            gsl_matrix_set(X, r, j, log(cell_num(t, i, cols[which[j - 1]])));
        gsl_vector_set(y, r, log(cell_num(t, i, c_ts)));
        mean += gsl_vector_get(y, r++) / (double)n;
    }
    double chisq, tss = 0;
    if (gsl_multifit_linear(X, y, c, cov, &chisq, w) != GSL_SUCCESS) {
        status = MOT_ERROR(MOT_ENUMERIC, "the T1-scaling least squares failed");
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        tss += (gsl_vector_get(y, i) - mean) * (gsl_vector_get(y, i) - mean);
    fit->r2 = tss > 0 ? 1 - chisq / tss : NAN;
    fit->c = gsl_vector_get(c, 0), fit->c_se = sqrt(gsl_matrix_get(cov, 0, 0));
    for (size_t j = 1; j < p; j++) {
        mot_scaling_term *tm = &fit->term[which[j - 1]];
        tm->exponent = gsl_vector_get(c, j);
        tm->se = sqrt(gsl_matrix_get(cov, j, j));
        tm->consistent = fabs(tm->exponent - tm->paper) <= fmax(3 * tm->se, 0.25);
    }
done:
    gsl_matrix_free(X), gsl_matrix_free(cov), gsl_vector_free(y), gsl_vector_free(c);
    if (w)
        gsl_multifit_linear_free(w);
    return status;
}

int mot_check_t1_scaling(const mot_sweep_csv *t, mot_scaling_fit *fit, mot_verdict *v)
{
    static const char *keys[] = {"lr_scale", "sigma0", "M"}, *names[] = {"a_eta", "a_sigma", "a_M"};
    static const double paper[] = {-1.0, -0.5, 1.0};
    mot_verdict_init(v, "t1_scaling");
    memset(fit, 0, sizeof *fit);
    fit->rows = t->rows, fit->c = fit->c_se = fit->r2 = NAN;
    int c_ts = mot_sweep_csv_col(t, "T_spec"), c_st = mot_sweep_csv_col(t, "status");
    char *keep = calloc(t->rows + 1, 1);
    if (!keep)
        return MOT_ERROR(MOT_ENOMEM, "cannot allocate the T1-scaling fit");
    int cols[MOT_SCALING_TERMS];
    for (size_t i = 0; i < t->rows; i++) {
        double ts = cell_num(t, i, c_ts);
        int done = !strcmp(cell(t, i, c_st), "done");
        if (!done || !isfinite(ts) || ts < -1)
            fit->unmeasured++;
        else if (ts == 0)
            fit->zero++;
        else if (ts < 0)
            fit->never++;
        else
            keep[i] = 1;
        for (int k = 0; keep[i] && k < MOT_SCALING_TERMS; k++)   /* a log needs x > 0 */
            if (!(cell_num(t, i, mot_sweep_csv_col(t, keys[k])) > 0))
                keep[i] = 0, fit->unmeasured++;
        fit->used += (size_t)keep[i];
    }
    size_t p = 1;
    int short_key = -1;
    for (int k = 0; k < MOT_SCALING_TERMS; k++) {
        mot_scaling_term *tm = &fit->term[k];
        cols[k] = mot_sweep_csv_col(t, keys[k]);
        tm->key = keys[k], tm->name = names[k], tm->paper = paper[k];
        tm->exponent = tm->se = NAN;
        tm->swept = distinct(t, cols[k], NULL) > 1;
        tm->values = distinct(t, cols[k], keep);
        tm->fitted = tm->swept && tm->values >= 2;
        p += (size_t)tm->fitted;
        if (tm->swept && tm->values < 3 && short_key < 0)
            short_key = k;
    }
    fit->dof = (long)fit->used - (long)p;
    int status = MOT_OK, any_swept = 0, all_consistent = 1;
    if (fit->dof >= 1)
        status = least_squares(t, keep, cols, fit);
    free(keep);
    if (status)
        return status;
    char terms[600];
    size_t used = 0;
    for (int k = 0; k < MOT_SCALING_TERMS; k++) {
        const mot_scaling_term *tm = &fit->term[k];
        char key[64];
        any_swept |= tm->swept;
        if (tm->fitted && fit->dof >= 1) {
            all_consistent &= tm->consistent;
            used += (size_t)snprintf(terms + used, sizeof terms - used, "%s%s = %.3f +- %.3f (paper %+.1f: %s)",
                                     used ? ", " : "", tm->name, tm->exponent, tm->se, tm->paper,
                                     tm->consistent ? "consistent" : "inconsistent");
        } else {
            used += (size_t)snprintf(terms + used, sizeof terms - used, "%s%s: %s", used ? ", " : "", tm->name,
                                     !tm->swept ? "not swept" : tm->values < 2 ? "one value left, dropped"
                                                                              : "not fitted");
        }
        snprintf(key, sizeof key, "%s_swept", tm->key);
        mot_verdict_num(v, key, tm->swept);
        snprintf(key, sizeof key, "%s_values", tm->key);
        mot_verdict_num(v, key, (double)tm->values);
        snprintf(key, sizeof key, "%s", tm->name);
        mot_verdict_num(v, key, tm->exponent);
        snprintf(key, sizeof key, "%s_stderr", tm->name);
        mot_verdict_num(v, key, tm->se);
        snprintf(key, sizeof key, "%s_paper", tm->name);
        mot_verdict_num(v, key, tm->paper);
        snprintf(key, sizeof key, "%s_consistent", tm->name);
        mot_verdict_num(v, key, tm->fitted && fit->dof >= 1 ? tm->consistent : NAN);
    }
    mot_verdict_num(v, "rows", (double)fit->rows);
    mot_verdict_num(v, "fitted", (double)fit->used);
    mot_verdict_num(v, "left_out_T_spec_0", (double)fit->zero);
    mot_verdict_num(v, "left_out_never_reached", (double)fit->never);
    mot_verdict_num(v, "left_out_unmeasured", (double)fit->unmeasured);
    mot_verdict_num(v, "c", fit->c);
    mot_verdict_num(v, "c_stderr", fit->c_se);
    mot_verdict_num(v, "r2", fit->r2);
    mot_verdict_num(v, "dof", (double)fit->dof);
    mot_verdict_num(v, "tolerance_stderrs", 3);
    mot_verdict_num(v, "tolerance_abs", 0.25);
    char counts[200];
    snprintf(counts, sizeof counts, "%zu of %zu runs fitted (left out: %zu with T_spec = 0, %zu never reached, "
             "%zu unmeasured)", fit->used, fit->rows, fit->zero, fit->never, fit->unmeasured);
    if (!any_swept)
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "%s; none of lr_scale, sigma0, M is swept", counts);
    else if (short_key >= 0)
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "%s; %s keeps %zu distinct value(s) < 3; %s", counts,
                        keys[short_key], fit->term[short_key].values, terms);
    else if (fit->dof < 1)
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "%s; no more runs than the %zu parameters; %s", counts, p,
                        terms);
    else
        mot_verdict_set(v, all_consistent ? MOT_VERDICT_HOLDS : MOT_VERDICT_FAILS,
                        "%s; %s (within 3 stderr or 0.25); R^2 %.3f", counts, terms, fit->r2);
    return MOT_OK;
}

int mot_scaling_write_fit(const char *path, const mot_scaling_fit *fit)
{
    mot_io_file f;
    int status = mot_io_open(&f, path);
    if (status)
        return status;
    fprintf(f.fp, "key,exponent,stderr,paper\n");
    for (int k = 0; k < MOT_SCALING_TERMS; k++)
        fprintf(f.fp, "%s,%.17g,%.17g,%.17g\n", fit->term[k].key, fit->term[k].exponent, fit->term[k].se,
                fit->term[k].paper);
    fprintf(f.fp, "c,%.17g,%.17g,nan\n", fit->c, fit->c_se);
    return mot_io_commit(&f);
}

/* ---- coverage ----------------------------------------------------------- */

double mot_coverage_random(int N, int M)
{
    if (N < 1 || N > MOT_MAX_CLASSES)
        return NAN;
    if (M < N)
        return 0.0;
    double p[MOT_MAX_CLASSES + 1] = {1.0};   /* p[j]: j classes seen so far */
    for (int m = 0; m < M; m++) {
        for (int j = N < m + 1 ? N : m + 1; j >= 1; j--)
            p[j] = p[j] * j / N + p[j - 1] * (N - j + 1) / N;
        p[0] = 0;
    }
    return p[N];
}

static int by_n_m(const void *a, const void *b)
{
    const mot_coverage_row *x = a, *y = b;
    return x->N != y->N ? (x->N > y->N) - (x->N < y->N) : (x->M > y->M) - (x->M < y->M);
}

int mot_check_coverage(const mot_sweep_csv *t, mot_coverage *cov, mot_verdict *v)
{
    mot_verdict_init(v, "coverage");
    memset(cov, 0, sizeof *cov);
    int c_n = mot_sweep_csv_col(t, "N"), c_m = mot_sweep_csv_col(t, "M"), c_c = mot_sweep_csv_col(t, "coverage_T1");
    if (c_n < 0 || c_m < 0 || c_c < 0)
        return MOT_ERROR(MOT_EINVAL, "sweep.csv needs the columns N, M and coverage_T1");
    for (size_t i = 0; i < t->rows; i++) {
        double n = cell_num(t, i, c_n), m = cell_num(t, i, c_m), c = cell_num(t, i, c_c);
        if (!(c == 0 || c == 1) || !(n >= 1 && n <= MOT_MAX_CLASSES) || !(m >= 1)) {
            cov->unmeasured++;
            continue;
        }
        size_t j = 0;
        while (j < cov->n && !(cov->row[j].N == (int)n && cov->row[j].M == (int)m))
            j++;
        if (j == cov->n) {
            if (cov->n == MOT_COVERAGE_MAX)
                return MOT_ERROR(MOT_EINVAL, "sweep.csv has more than %d pairs (N, M)", MOT_COVERAGE_MAX);
            cov->row[cov->n++] = (mot_coverage_row){.N = (int)n, .M = (int)m};
        }
        cov->row[j].runs++;
        cov->row[j].covered += c == 1;
    }
    qsort(cov->row, cov->n, sizeof cov->row[0], by_n_m);
    json_t *table = json_array();
    for (size_t j = 0; j < cov->n; j++) {
        mot_coverage_row *r = &cov->row[j];
        r->share = (double)r->covered / (double)r->runs;
        r->x = r->N > 1 ? r->M / (r->N * log((double)r->N)) : NAN;
        r->random = mot_coverage_random(r->N, r->M);
        json_array_append_new(table, json_pack("{s:i, s:i, s:o, s:i, s:i, s:f, s:f}", "N", r->N, "M", r->M,
                                               "M_over_N_ln_N", isfinite(r->x) ? json_real(r->x) : json_null(),
                                               "runs", (int)r->runs, "covered", (int)r->covered,
                                               "share", r->share, "random_assignment", r->random));
    }
    json_object_set_new(v->numbers, "table", table);
    mot_verdict_num(v, "unmeasured", (double)cov->unmeasured);
    mot_verdict_num(v, "threshold", 0.9);
    /* Per N: M_0.9, and whether a larger M falls back or the largest M
     * cannot reach 0.9 although random classes would. */
    int fails = 0, holds = cov->n > 0;
    char why[700] = "";
    size_t used = 0;
    json_t *m90 = json_object();
    for (size_t a = 0; a < cov->n;) {
        size_t b = a;
        while (b < cov->n && cov->row[b].N == cov->row[a].N)
            b++;
        int first = -1;
        for (size_t j = a; j < b && first < 0; j++)
            if (cov->row[j].share >= 0.9)
                first = (int)j;
        const mot_coverage_row *last = &cov->row[b - 1];
        char n_key[16];
        snprintf(n_key, sizeof n_key, "%d", cov->row[a].N);
        json_object_set_new(m90, n_key, first >= 0 ? json_integer(cov->row[first].M) : json_null());
        if (first >= 0) {
            used += (size_t)snprintf(why + used, sizeof why - used, "%sN = %d: coverage >= 0.9 from M = %d "
                                     "(M/(N ln N) = %.2f)", used ? "; " : "", cov->row[a].N, cov->row[first].M,
                                     cov->row[first].x);
            for (size_t j = (size_t)first + 1; j < b; j++) {
                double se = sqrt(0.09 / (double)cov->row[j].runs);
                if (cov->row[j].share < 0.9 - 2 * se) {
                    fails = 1;
                    used += (size_t)snprintf(why + used, sizeof why - used, ", but %.2f at M = %d (< 0.9 - 2 se "
                                             "= %.2f)", cov->row[j].share, cov->row[j].M, 0.9 - 2 * se);
                    break;
                }
            }
            holds = holds && b - a >= 2;
        } else {
            double se = sqrt(0.09 / (double)last->runs);
            int enough = last->random >= 0.99 && last->share < 0.9 - 2 * se;
            fails |= enough;
            holds = 0;
            used += (size_t)snprintf(why + used, sizeof why - used, "%sN = %d: coverage < 0.9 up to M = %d "
                                     "(%.2f; random assignment %.3f)%s", used ? "; " : "", cov->row[a].N,
                                     last->M, last->share, last->random,
                                     enough ? " although random classes would cover" : "");
        }
        if (used >= sizeof why)
            used = sizeof why - 1;
        a = b;
    }
    json_object_set_new(v->numbers, "smallest_M_coverage_0.9", m90);
    if (cov->n == 0)
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "no run with coverage at T1 measured (%zu unmeasured)",
                        cov->unmeasured);
    else if (fails)
        mot_verdict_set(v, MOT_VERDICT_FAILS, "%s", why);
    else if (holds)
        mot_verdict_set(v, MOT_VERDICT_HOLDS, "%s", why);
    else
        mot_verdict_set(v, MOT_VERDICT_INCONCLUSIVE, "%s (a verdict needs coverage >= 0.9 reached, with at least "
                        "2 values of M, for every N)", why);
    return MOT_OK;
}

/* sweep_values.c: the value texts of one [sweep] line (see sweep.h,
 * mot_sweep_parse_values): a list v1, v2, ..., a geometric or linear range
 * of reals, or a range of seeds, each value as the text a config file would
 * give. Whether a value suits its key is for the config setter to say
 * (sweep.c tries each on the base config). */
#define _POSIX_C_SOURCE 200809L
#include "sweep.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "status.h"

static const char forms[] =
    "accepted: a list v1, v2, ..., a geometric range START:END:xRATIO (RATIO > 1) or a linear "
    "range START:END:+STEP (STEP > 0), with START <= END";
static const char seed_forms[] =
    "accepted: A:B (integers, both included), A:B:+STEP (STEP > 0) or a list of integers";

static int is_seeds(const char *key)
{
    return strcmp(key, "seeds") == 0;
}

/* Records "<key> = <text>: <why>; accepted: ...", returns MOT_EINVAL. */
static int malformed(const char *key, const char *text, const char *why)
{
    char k[MOT_PARSE_SHOWN_CAP], t[MOT_PARSE_SHOWN_CAP];
    return MOT_ERROR(MOT_EINVAL, "%s = %s: %s; %s", mot_parse_shown(key, strlen(key), k),
                     mot_parse_shown(text, strlen(text), t), why, is_seeds(key) ? seed_forms : forms);
}

void mot_sweep_free_values(char **values, size_t n)
{
    for (size_t i = 0; values && i < n; i++)
        free(values[i]);
    free(values);
}

/* Appends a copy of text (len bytes) to the growing array. */
static int push(char ***values, size_t *n, size_t *cap, const char *text, size_t len)
{
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 8;
        char **v = realloc(*values, c * sizeof *v);
        if (!v)
            return MOT_ERROR(MOT_ENOMEM, "out of memory reading a sweep");
        *values = v, *cap = c;
    }
    char *s = malloc(len + 1);
    if (!s)
        return MOT_ERROR(MOT_ENOMEM, "out of memory reading a sweep");
    memcpy(s, text, len);
    s[len] = '\0';
    (*values)[(*n)++] = s;
    return MOT_OK;
}

static int push_number(char ***values, size_t *n, size_t *cap, double x)
{
    char buf[40];
    int len = snprintf(buf, sizeof buf, "%.15g", x);
    return push(values, n, cap, buf, (size_t)len);
}

/* The parts of "a:b[:c]", trimmed, as NUL-terminated copies in `parts`. */
static int split_range(char *copy, char **parts)
{
    int n = 0;
    for (char *p = copy;; n++) {
        char *colon = strchr(p, ':');
        if (n == 3)
            return 4;
        if (colon)
            *colon = '\0';
        const char *start = p;
        size_t len = mot_parse_trim(&start);
        parts[n] = (char *)start;
        parts[n][len] = '\0';
        if (!colon)
            return n + 1;
        p = colon + 1;
    }
}

static int parse_seed_range(const char *key, const char *text, char **parts, int nparts, char ***values,
                            size_t *n, size_t *cap)
{
    unsigned long a, b, step = 1;
    if (mot_parse_ulong(parts[0], &a) != MOT_OK)
        return malformed(key, text, "START is not an integer >= 0");
    if (mot_parse_ulong(parts[1], &b) != MOT_OK)
        return malformed(key, text, "END is not an integer >= 0");
    if (nparts == 3) {
        long s;
        if (parts[2][0] != '+' || mot_parse_long(parts[2] + 1, &s) != MOT_OK || parts[2][1] == '-')
            return malformed(key, text, parts[2][0] == '-' ? "negative step" : "STEP is not +INTEGER");
        if (s == 0)
            return malformed(key, text, "zero step");
        step = (unsigned long)s;
    }
    if (a > b)
        return malformed(key, text, "START > END");
    if ((b - a) / step >= MOT_SWEEP_MAX_VALUES)
        return malformed(key, text, "more than 10000 seeds");
    for (unsigned long v = a;; v += step) {
        char buf[32];
        int len = snprintf(buf, sizeof buf, "%lu", v);
        int status = push(values, n, cap, buf, (size_t)len);
        if (status)
            return status;
        if (b - v < step)
            return MOT_OK;
    }
}

static int parse_real_range(const char *key, const char *text, char **parts, int nparts, char ***values,
                            size_t *n, size_t *cap)
{
    double a, b, step;
    if (nparts == 2)
        return malformed(key, text, "a range needs a step");
    if (mot_parse_double(parts[0], &a) != MOT_OK)
        return malformed(key, text, "START is not a number");
    if (mot_parse_double(parts[1], &b) != MOT_OK)
        return malformed(key, text, "END is not a number");
    const char *st = parts[2];
    int geometric = st[0] == 'x' || st[0] == 'X' || st[0] == '*';
    if (mot_parse_double(st + geometric, &step) != MOT_OK)
        return malformed(key, text, geometric ? "RATIO is not a number" : "STEP is not a number");
    if (geometric) {
        if (step == 1)
            return malformed(key, text, "ratio x1 never reaches END");
        if (!(step > 1))
            return malformed(key, text, "RATIO must be > 1");
        if (!(a > 0))
            return malformed(key, text, "a geometric range needs START > 0");
    } else {
        if (step == 0)
            return malformed(key, text, "zero step");
        if (step < 0)
            return malformed(key, text, "negative step");
        if (st[0] != '+')
            return malformed(key, text, "write the step as +STEP (or the ratio as xRATIO)");
    }
    if (a > b)
        return malformed(key, text, "START > END");
    /* The end counts when reached within 1e-9 relative (of the end, or of
     * the step when the end is 0). */
    double tol = 1e-9 * (b != 0 ? fabs(b) : step);
    for (size_t i = 0;; i++) {
        double v = geometric ? a * pow(step, (double)i) : a + (double)i * step;
        if (!(v <= b + tol))
            return MOT_OK;
        if (i == MOT_SWEEP_MAX_VALUES)
            return malformed(key, text, "more than 10000 values");
        int status = push_number(values, n, cap, v);
        if (status)
            return status;
    }
}

int mot_sweep_parse_values(const char *key, const char *text, char ***values, size_t *n)
{
    *values = NULL, *n = 0;
    size_t cap = 0;
    const char *t = text;
    size_t len = mot_parse_trim(&t);
    if (len == 0)
        return malformed(key, text, "empty list");
    char *copy = malloc(len + 1);
    if (!copy)
        return MOT_ERROR(MOT_ENOMEM, "out of memory reading a sweep");
    memcpy(copy, t, len);
    copy[len] = '\0';
    int status = MOT_OK;
    if (strchr(copy, ':')) {
        char *parts[4];
        int nparts = split_range(copy, parts);
        if (nparts > 3)
            status = malformed(key, text, "too many ':'");
        else if (is_seeds(key))
            status = parse_seed_range(key, text, parts, nparts, values, n, &cap);
        else
            status = parse_real_range(key, text, parts, nparts, values, n, &cap);
    } else {
        for (char *p = copy; status == MOT_OK;) {
            char *comma = strchr(p, ',');
            if (comma)
                *comma = '\0';
            const char *start = p;
            size_t ilen = mot_parse_trim(&start);
            char *item = p + (start - p);
            item[ilen] = '\0';
            unsigned long seed;
            if (ilen == 0)
                status = malformed(key, text, "empty item in the list");
            else if (*n == MOT_SWEEP_MAX_VALUES)
                status = malformed(key, text, "more than 10000 values");
            else if (is_seeds(key) && mot_parse_ulong(item, &seed) != MOT_OK)
                status = malformed(key, text, "a seed is not an integer >= 0");
            else
                status = push(values, n, &cap, item, ilen);
            if (!comma)
                break;
            p = comma + 1;
        }
    }
    free(copy);
    if (status) {
        mot_sweep_free_values(*values, *n);
        *values = NULL, *n = 0;
    }
    return status;
}

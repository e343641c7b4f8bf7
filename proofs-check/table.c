/* table.c: see table.h. */
#define _POSIX_C_SOURCE 200809L
#include "table.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status.h"

void mot_table_free(mot_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->cols; i++)
        free(t->names[i]);
    free(t->names);
    free(t->v);
    free(t);
}

int mot_table_col(const mot_table *t, const char *name)
{
    for (size_t i = 0; i < t->cols; i++)
        if (!strcmp(t->names[i], name))
            return (int)i;
    return -1;
}

static int parse_header(mot_table *t, char *line)
{
    line[strcspn(line, "\r\n")] = '\0';
    size_t cap = 8;
    t->names = malloc(cap * sizeof *t->names);
    if (!t->names)
        return 0;
    for (char *save = NULL, *tok = strtok_r(line, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (t->cols == cap) {
            char **n = realloc(t->names, 2 * cap * sizeof *n);
            if (!n)
                return 0;
            t->names = n, cap *= 2;
        }
        if (!(t->names[t->cols] = strdup(tok)))
            return 0;
        t->cols++;
    }
    return t->cols > 0;
}

/* Parses one data row into out (cols); 0 when malformed. */
static int parse_row(char *line, double *out, size_t cols)
{
    line[strcspn(line, "\r\n")] = '\0';
    char *p = line;
    for (size_t c = 0; c < cols; c++) {
        size_t len = strcspn(p, ",");
        if (len == 0) {
            out[c] = NAN;
        } else {
            char *end;
            errno = 0;
            out[c] = strtod(p, &end);
            if (end != p + len)
                return 0;
        }
        p += len;
        if (c + 1 < cols) {
            if (*p != ',')
                return 0;
            p++;
        }
    }
    return *p == '\0';
}

mot_table *mot_table_read(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        MOT_ERROR(MOT_EIO, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    mot_table *t = calloc(1, sizeof *t);
    char *line = NULL;
    size_t len = 0, cap = 0, lineno = 1;
    int ok = t && getline(&line, &len, fp) > 0 && parse_header(t, line);
    if (!ok)
        MOT_ERROR(MOT_EINVAL, "%s: no header line", path);
    while (ok && getline(&line, &len, fp) > 0) {
        lineno++;
        if (t->rows == cap) {
            cap = cap ? 2 * cap : 1024;
            double *v = realloc(t->v, cap * t->cols * sizeof *v);
            if (!v) {
                ok = 0;
                MOT_ERROR(MOT_ENOMEM, "%s: out of memory", path);
                break;
            }
            t->v = v;
        }
        if (!parse_row(line, t->v + t->rows * t->cols, t->cols)) {
            ok = 0;
            MOT_ERROR(MOT_EINVAL, "%s line %zu: expected %zu numbers", path, lineno, t->cols);
        }
        t->rows++;
    }
    free(line);
    fclose(fp);
    if (!ok) {
        mot_table_free(t);
        return NULL;
    }
    return t;
}

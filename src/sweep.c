/* sweep.c: the [sweep] section and its grid (see sweep.h). One libinih pass
 * reads only that section; each line becomes an axis of value texts, and
 * every text is tried on a copy of the base config with mot_config_set, so
 * the sweep accepts exactly what a config file accepts. Points are indexed
 * like digits of a mixed-radix number (seeds the lowest digit). The value
 * texts of one line come from sweep_values.c. This file does not know what
 * the keys mean. */
#define _POSIX_C_SOURCE 200809L
#include "sweep.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

#include "parse.h"
#include "status.h"

/* The seeds line, which sets the seed key of each point. */
static int is_seeds(const char *key)
{
    return strcmp(key, "seeds") == 0;
}

typedef struct {
    mot_sweep *s;
    const mot_config *base;
    json_t *keys;          /* the base config as JSON: which keys exist */
    const char *path;
    FILE *fp;
    int line, failed;
} sweep_state;

static int fail_here(sweep_state *st)
{
    char reason[768];
    snprintf(reason, sizeof reason, "%s", mot_status_message());
    st->failed = st->line ? st->line : 1;
    MOT_ERROR(MOT_EINVAL, "config %s line %d: %s", st->path, st->line, reason);
    return 0;
}

/* Counts lines and strips indentation, as mot_config_load's reader does,
 * so both passes see the same lines; stops at the first error. */
static char *read_line(char *buf, int size, void *stream)
{
    sweep_state *st = stream;
    if (st->failed || !fgets(buf, size, st->fp))
        return NULL;
    st->line++;
    size_t n = strlen(buf), indent = 0;
    while (buf[indent] != '\n' && isspace((unsigned char)buf[indent]))
        indent++;
    memmove(buf, buf + indent, n - indent + 1);
    return buf;
}

/* Whether `key` (bare or "section.key") names a config key. */
static int is_key(const json_t *keys, const char *key)
{
    const char *dot = strchr(key, '.');
    if (dot) {
        char sec[32];
        snprintf(sec, sizeof sec, "%.*s", (int)(dot - key), key);
        return json_object_get(json_object_get(keys, sec), dot + 1) != NULL;
    }
    const char *name;
    json_t *sec;
    json_object_foreach((json_t *)keys, name, sec)
        if (json_object_get(sec, key))
            return 1;
    return 0;
}

/* Characters kept in names: the rest become '_'. */
static void sanitize(const char *in, char *out, size_t size)
{
    size_t i = 0;
    for (; in[i] && i + 1 < size; i++) {
        unsigned char c = (unsigned char)in[i];
        out[i] = isalnum(c) || c == '.' || c == '+' || c == '-' ? (char)c : '_';
    }
    out[i] = '\0';
}

static int cmp_text(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fails when two values of one key read the same in point names. */
static int check_distinct(const char *key, char **values, size_t n)
{
    char **names = malloc(n * sizeof *names);
    if (!names)
        return MOT_ERROR(MOT_ENOMEM, "out of memory reading a sweep");
    int status = MOT_OK;
    size_t made = 0;
    for (; made < n; made++) {
        if (!(names[made] = malloc(strlen(values[made]) + 1))) {
            status = MOT_ERROR(MOT_ENOMEM, "out of memory reading a sweep");
            break;
        }
        sanitize(values[made], names[made], strlen(values[made]) + 1);
    }
    if (status == MOT_OK) {
        qsort(names, n, sizeof *names, cmp_text);
        for (size_t i = 1; i < n && status == MOT_OK; i++)
            if (!strcmp(names[i - 1], names[i]))
                status = MOT_ERROR(MOT_EINVAL, "%s lists the value %s twice", key, names[i]);
    }
    mot_sweep_free_values(names, made);
    return status;
}

static int on_pair(void *user, const char *section, const char *name, const char *value)
{
    sweep_state *st = user;
    mot_sweep *s = st->s;
    if (strcmp(section, "sweep") != 0)
        return 1;   /* mot_config_load's business */
    const char *dot = strchr(name, '.');
    const char *bare = dot ? dot + 1 : name;
    if (!strcmp(bare, "seed")) {
        MOT_ERROR(MOT_EINVAL, "seed cannot be swept as a key: give the seeds as seeds = A:B");
        return fail_here(st);
    }
    if (!is_seeds(name) && !is_key(st->keys, name)) {
        char shown[MOT_PARSE_SHOWN_CAP];
        MOT_ERROR(MOT_EINVAL, "unknown key \"%s\" in [sweep]", mot_parse_shown(name, strlen(name), shown));
        return fail_here(st);
    }
    int twice = is_seeds(name) ? st->s->seeds_line : 0;
    for (size_t a = 0; a < s->n_axes && !twice; a++)
        if (!strcmp(s->axes[a].key, bare))
            twice = s->axes[a].line;
    if (twice) {
        MOT_ERROR(MOT_EINVAL, "key \"%s\" is given twice in [sweep] (lines %d and %d)", bare, twice, st->line);
        return fail_here(st);
    }
    if (!is_seeds(name) && (s->n_axes == MOT_SWEEP_MAX_AXES || strlen(bare) >= sizeof s->axes[0].key)) {
        MOT_ERROR(MOT_EINVAL, "a sweep varies at most %d keys", MOT_SWEEP_MAX_AXES);
        return fail_here(st);
    }
    char **values;
    size_t n;
    if (mot_sweep_parse_values(bare, value, &values, &n) != MOT_OK)
        return fail_here(st);
    int status = check_distinct(bare, values, n);
    /* Each value must be one the key accepts, in a config like the base. */
    for (size_t i = 0; i < n && status == MOT_OK; i++) {
        mot_config copy = *st->base;
        status = mot_config_set(&copy, is_seeds(name) ? "seed" : name, values[i]);
    }
    if (status != MOT_OK) {
        mot_sweep_free_values(values, n);
        return fail_here(st);
    }
    if (is_seeds(name)) {
        s->seeds = malloc(n * sizeof *s->seeds);
        if (!s->seeds) {
            mot_sweep_free_values(values, n);
            MOT_ERROR(MOT_ENOMEM, "out of memory reading a sweep");
            return fail_here(st);
        }
        for (size_t i = 0; i < n; i++)
            s->seeds[i] = strtoul(values[i], NULL, 10);
        s->n_seeds = n, s->seeds_line = st->line;
        mot_sweep_free_values(values, n);
        return 1;
    }
    mot_sweep_axis *ax = &s->axes[s->n_axes++];
    snprintf(ax->key, sizeof ax->key, "%s", bare);
    ax->line = st->line, ax->n = n, ax->values = values;
    return 1;
}

void mot_sweep_free(mot_sweep *s)
{
    if (!s)
        return;
    for (size_t a = 0; a < s->n_axes; a++)
        mot_sweep_free_values(s->axes[a].values, s->axes[a].n);
    free(s->seeds);
    free(s);
}

/* Sizes the grid and its names once everything is read. */
static int finish(mot_sweep *s, const mot_config *base, const char *path)
{
    if (!s->seeds) {
        if (!(s->seeds = malloc(sizeof *s->seeds)))
            return MOT_ERROR(MOT_ENOMEM, "out of memory reading a sweep");
        s->seeds[0] = base->seed, s->n_seeds = 1;
    }
    size_t points = s->n_seeds, longest = strlen("seed=") + 20;
    for (size_t a = 0; a < s->n_axes; a++) {
        if (points > MOT_SWEEP_MAX_POINTS / s->axes[a].n)
            return MOT_ERROR(MOT_EINVAL, "config %s: the sweep has more than %d points", path,
                             MOT_SWEEP_MAX_POINTS);
        points *= s->axes[a].n;
        size_t widest = 0;
        for (size_t i = 0; i < s->axes[a].n; i++)
            if (strlen(s->axes[a].values[i]) > widest)
                widest = strlen(s->axes[a].values[i]);
        longest += strlen(s->axes[a].key) + 2 + widest;
    }
    if (points > MOT_SWEEP_MAX_POINTS)
        return MOT_ERROR(MOT_EINVAL, "config %s: the sweep has more than %d points", path, MOT_SWEEP_MAX_POINTS);
    if (longest > MOT_SWEEP_MAX_NAME)
        return MOT_ERROR(MOT_EINVAL, "config %s: point names would be longer than %d characters: sweep fewer "
                         "keys or shorter values", path, MOT_SWEEP_MAX_NAME);
    s->n_points = points;
    return MOT_OK;
}

mot_sweep *mot_sweep_load(const char *path, const mot_config *base)
{
    mot_sweep *s = calloc(1, sizeof *s);
    json_t *keys = mot_config_to_json(base);
    if (!s || !keys) {
        free(s);
        json_decref(keys);
        MOT_ERROR(MOT_ENOMEM, "out of memory reading a sweep");
        return NULL;
    }
    sweep_state st = {.s = s, .base = base, .keys = keys, .path = path};
    st.fp = fopen(path, "r");
    if (!st.fp) {
        MOT_ERROR(MOT_EIO, "config %s: cannot open: %s", path, strerror(errno));
        json_decref(keys);
        mot_sweep_free(s);
        return NULL;
    }
    int rc = ini_parse_stream(read_line, &st, on_pair, &st);
    int read_error = ferror(st.fp);
    fclose(st.fp);
    json_decref(keys);
    int status = MOT_OK;
    if (st.failed)
        status = MOT_EINVAL;
    else if (rc > 0)
        status = MOT_ERROR(MOT_EINVAL, "config %s line %d: expected [section], key = value, or a comment", path, rc);
    else if (read_error)
        status = MOT_ERROR(MOT_EIO, "config %s: read error", path);
    else if (rc != 0)
        status = MOT_ERROR(MOT_ENOMEM, "config %s: out of memory", path);
    else
        status = finish(s, base, path);
    if (status) {
        mot_sweep_free(s);
        return NULL;
    }
    return s;
}

/* ---- points ------------------------------------------------------------- */

size_t mot_sweep_coord(const mot_sweep *s, size_t point, size_t axis)
{
    if (axis == s->n_axes)
        return point % s->n_seeds;
    size_t q = point / s->n_seeds;
    for (size_t a = s->n_axes; a-- > axis + 1;)
        q /= s->axes[a].n;
    return q % s->axes[axis].n;
}

int mot_sweep_point_config(const mot_sweep *s, const mot_config *base, size_t point, mot_config *out)
{
    *out = *base;
    char seed[32];
    snprintf(seed, sizeof seed, "%lu", s->seeds[mot_sweep_coord(s, point, s->n_axes)]);
    int status = mot_config_set(out, "seed", seed);
    for (size_t a = 0; a < s->n_axes && status == MOT_OK; a++)
        status = mot_config_set(out, s->axes[a].key, s->axes[a].values[mot_sweep_coord(s, point, a)]);
    if (status == MOT_OK)
        status = mot_config_validate(out);
    if (status != MOT_OK) {
        char reason[512], name[MOT_SWEEP_MAX_NAME + 1];
        snprintf(reason, sizeof reason, "%s", mot_status_message());
        mot_sweep_point_name(s, point, name, sizeof name);
        return MOT_ERROR(MOT_EINVAL, "sweep point %zu (%s): %s", point, name, reason);
    }
    return MOT_OK;
}

void mot_sweep_point_name(const mot_sweep *s, size_t point, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t a = 0; a < s->n_axes && used < size; a++) {
        char value[MOT_SWEEP_MAX_NAME + 1];
        sanitize(s->axes[a].values[mot_sweep_coord(s, point, a)], value, sizeof value);
        used += (size_t)snprintf(buf + used, size - used, "%s=%s_", s->axes[a].key, value);
    }
    if (used < size)
        snprintf(buf + used, size - used, "seed=%lu", s->seeds[mot_sweep_coord(s, point, s->n_axes)]);
}

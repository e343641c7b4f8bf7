/* config.c: the key table and everything that reads it but the INI and
 * JSON readers (see config.h): the setter, the checks, the printed table. To add a knob: a field in mot_config, one line in `config_keys`
 * below (the key's name is the field's name), and the key in
 * configs/paper.conf; the setter, the INI reader (config_ini.c) and the JSON
 * reader and writer (config_json.c), through config_table.h, and the README table follow from
 * the line. Constraints between keys go in mot_config_validate. This file
 * does not know what the knobs do; the text parsing itself is in parse.c. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config_table.h"
#include "parse.h"
#include "status.h"

static const char *const type_names[] = {"int", "real", "bool", "enum", "real-list", "ulong"};

/* Enum fields are written through an int pointer. */
#define INT_SIZED(t) _Static_assert(sizeof(t) == sizeof(int), #t " is not int-sized")
INT_SIZED(mot_geometry);
INT_SIZED(mot_model_kind);
INT_SIZED(mot_gate_kind);
INT_SIZED(mot_router_input);
INT_SIZED(mot_loss_kind);
INT_SIZED(mot_stage3);
INT_SIZED(mot_schedule);
INT_SIZED(mot_grad_norm);

static const char *const geometry_names[] = {"orthogonal", "conflict", "correlated", NULL};
static const char *const model_names[] = {"mot", "single", "moe_noattn", "moe_ffn", NULL};
static const char *const gate_names[] = {"compete", "switch", NULL};
static const char *const router_names[] = {"query", "sum", NULL};
static const char *const loss_names[] = {"squared", "logistic", NULL};
static const char *const stage3_names[] = {"all", "theta", NULL};
static const char *const schedule_names[] = {"three_stage", "joint", NULL};
static const char *const norm_names[] = {"expert", "global", NULL};

#define OFF(f) offsetof(mot_config, f)
#define K_INT(s, f, def, lo, hi, m) {s, #f, KEY_INT, OFF(f), def, lo, hi, 0, NULL, 0, m}
#define K_REAL(s, f, def, lo, hi, open, m) {s, #f, KEY_REAL, OFF(f), def, lo, hi, open, NULL, 0, m}
#define K_BOOL(s, f, def, m) {s, #f, KEY_BOOL, OFF(f), def, 0, 1, 0, NULL, 0, m}
#define K_ENUM(s, f, def, names, m) {s, #f, KEY_ENUM, OFF(f), def, 0, 0, 0, names, 0, m}
#define K_LIST(s, f, count, def, lo, m) {s, #f, KEY_LIST, OFF(f), def, lo, INFINITY, 0, NULL, OFF(count), m}
#define K_ULONG(s, f, def, m) {s, #f, KEY_ULONG, OFF(f), def, 0, 0, 0, NULL, 0, m}
#define INF INFINITY

const key_info config_keys[] = {
    K_INT("data", N, "4", 1, MOT_MAX_CLASSES, "number of classes"),
    K_INT("data", d, "32", 2, 4096, "dimension of tokens and signals"),
    K_INT("data", L, "8", 4, 1024, "tokens per sample"),
    K_INT("data", n_train, "4000", 1, 1e7, "training samples, drawn once"),
    K_INT("data", n_test, "4000", 1, 1e7, "test samples, drawn once (they estimate the expected loss)"),
    K_REAL("data", alpha, "1", 0, INF, LO_OPEN, "scale of the classification signal v_n in the label token x_2"),
    K_REAL("data", beta, "1", 0, INF, LO_OPEN, "scale of the class signal c_n in the class token x_1"),
    K_REAL("data", kappa, "1", 0, INF, 0, "scale of the class tag c_n in the label token x_2"),
    K_REAL("data", gamma, "1", 0, INF, 0, "scale of the distractor token x_3 (0: a noise token instead)"),
    K_REAL("data", sigma_p, "0.2", 0, INF, 0, "standard deviation of the noise tokens x_4..x_L"),
    K_ENUM("data", geometry, "orthogonal", geometry_names, "how the signals c_n, v_n are built"),
    K_REAL("data", rho, "0.5", 0, 1, 0, "inner product of any two v_n for geometry = correlated"),
    K_BOOL("data", rotate, "true", "multiply every signal by one Haar-random rotation"),
    K_LIST("data", class_weights, n_class_weights, "", 0,
           "class probabilities up to normalization, N entries (empty: uniform)"),
    K_ENUM("model", model, "mot", model_names, "the mixture of transformers, or a baseline"),
    K_INT("model", M, "12", 1, 4096, "number of experts"),
    K_INT("model", heads, "2", 1, 1024, "attention heads of model = single"),
    K_ENUM("model", gate, "compete", gate_names, "how the gate forms the output and is trained"),
    K_ENUM("model", router_input, "query", router_names,
           "what the router reads: the class token x_1, or the sum of tokens"),
    K_REAL("model", lambda_r, "0.2", 0, INF, 0,
           "width of the uniform exploration noise on the router logits in training"),
    K_REAL("model", sigma0, "0.1", 0, INF, LO_OPEN, "standard deviation of the initial theta_e"),
    K_ENUM("model", loss, "squared", loss_names, "loss function"),
    K_ENUM("model", single_stage3, "all", stage3_names,
           "what model = single trains in stage III: theta and W, or theta"),
    K_ENUM("train", schedule, "three_stage", schedule_names,
           "three stages (theta, W, theta), or every parameter every epoch"),
    K_INT("train", T1, "30", 0, 1e8, "first epoch of stage II"),
    K_INT("train", T2, "800", 0, 1e8, "first epoch of stage III"),
    K_INT("train", T, "1400", 1, 1e8, "number of epochs"),
    K_REAL("train", eta, "1.0", 0, INF, 0, "learning rate of the experts' theta"),
    K_REAL("train", eta_W, "1.0", 0, INF, 0, "learning rate of the experts' attention W"),
    K_REAL("train", eta_r, "1.0", 0, INF, 0, "learning rate of the router weights w"),
    K_REAL("train", lr_scale, "1.0", 0, INF, LO_OPEN, "common factor of eta, eta_W and eta_r (the study's eta)"),
    K_INT("train", batch, "0", 0, 1e7, "mini-batch size (0: full batch)"),
    K_ENUM("train", grad_norm, "expert", norm_names,
           "an expert's gradient: mean over its own samples, or sum over the batch size"),
    K_ULONG("train", seed, "1", "seed of every random stream"),
    K_INT("output", log_every, "1", 1, 1e8, "record every this many epochs (and at the end of each stage)"),
    K_BOOL("output", save_routing, "false", "write the expert chosen for every training sample at every epoch"),
    K_REAL("check", min_traffic, "0.02", 0, 1, 0, "share of the test samples below which an expert is idle"),
    K_REAL("check", delta, "0.05", 0, 1, 0,
           "largest share of traffic allowed outside an expert's class, and of a class outside its experts"),
    K_INT("check", uniform_window, "50", 1, 1e8, "last epochs whose dispatch counts are tested for uniform routing"),
    K_REAL("check", alpha_test, "0.01", 0, 1, LO_OPEN | HI_OPEN, "level of the chi-square test of uniform routing"),
    K_REAL("check", uniform_tol, "0.1", 0, 1, 0,
           "largest distance of an expert's share from uniform within its class"),
    K_REAL("check", attn_gain, "2.5", 0, INF, LO_OPEN, "required rise of the label-token attention, in units of 1/L"),
    K_REAL("check", attn_dip, "0.02", 0, INF, 0, "largest fall of the label-token attention between records"),
    K_REAL("check", w_align, "0.9", -1, 1, 0, "required alignment of W_e with c_n c_n^T"),
    K_REAL("check", rho_tol, "1e-3", 0, INF, LO_OPEN,
           "relative tolerance of the measured against the predicted contraction"),
    K_REAL("check", hp_eps, "1e-40", 0, 1, LO_OPEN | HI_OPEN, "relative loss gap down to which the MPFR replay runs"),
    K_INT("check", precision, "256", 53, 100000, "MPFR precision in bits"),
};

#define NKEYS (sizeof config_keys / sizeof config_keys[0])
const size_t config_nkeys = NKEYS;

static const char *const sections[] = {"data", "model", "train", "output", "check"};

int config_is_section(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (strlen(sections[i]) == n && strncmp(s, sections[i], n) == 0)
            return 1;
    return 0;
}

/* The key named `name` (bare, no section), or NULL. */
const key_info *config_find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(config_keys[i].name, name) == 0)
            return &config_keys[i];
    return NULL;
}

int config_count_names(const key_info *k)
{
    int n = 0;
    while (k->names[n])
        n++;
    return n;
}

static int in_range(const key_info *k, double v)
{
    if (!isfinite(v))
        return 0;
    if (k->open & LO_OPEN ? !(v > k->min) : !(v >= k->min))
        return 0;
    return k->open & HI_OPEN ? v < k->max : v <= k->max;
}

/* The allowed values as the table shows them: "[1, 64]", ">= 0", "(0, 1)",
 * "orthogonal, conflict, correlated". */
static void allowed_text(const key_info *k, char *buf, size_t size)
{
    size_t used = 0;
    switch (k->type) {
    case KEY_INT:
        snprintf(buf, size, "[%.0f, %.0f]", k->min, k->max);
        break;
    case KEY_REAL:
        if (isinf(k->max))
            snprintf(buf, size, "%s %g", k->open & LO_OPEN ? ">" : ">=", k->min);
        else
            snprintf(buf, size, "%c%g, %g%c", k->open & LO_OPEN ? '(' : '[', k->min, k->max,
                     k->open & HI_OPEN ? ')' : ']');
        break;
    case KEY_BOOL:
        snprintf(buf, size, "true/false, yes/no, on/off, 1/0");
        break;
    case KEY_ENUM:
        buf[0] = '\0';
        for (int i = 0; k->names[i] && used < size; i++)
            used += snprintf(buf + used, size - used, "%s%s", i ? ", " : "", k->names[i]);
        break;
    case KEY_LIST:
        snprintf(buf, size, "empty, or up to %d reals >= %g separated by commas", MOT_MAX_CLASSES, k->min);
        break;
    case KEY_ULONG:
        snprintf(buf, size, "[0, %lu]", SEED_MAX);
        break;
    }
}

/* Text from the input for a one-line message: its first 80 characters,
 * control characters (a newline, a carriage return, an escape sequence)
 * written as \xNN, then "..." if there is more. Returns buf. */
const char *config_shown(const char *s, size_t n, char buf[SHOWN_CAP])
{
    return mot_parse_shown(s, n, buf);
}

/* Records "<key> must be <what it must be> (got <got>)", returns MOT_EINVAL.
 * `got` is cut to a readable length; `quote` puts it in double quotes. */
int config_reject(const key_info *k, const char *got, int quote)
{
    static const char *const kind[] = {
        [KEY_INT] = "an integer ", [KEY_REAL] = "a real ", [KEY_BOOL] = "a boolean: ",
        [KEY_ENUM] = "one of ", [KEY_LIST] = "", [KEY_ULONG] = "an unsigned integer ",
    };
    char allowed[200];
    allowed_text(k, allowed, sizeof allowed);
    const char *in = allowed[0] == '[' || allowed[0] == '(' ? "in " : "";
    const char *q = quote ? "\"" : "";
    char buf[SHOWN_CAP];
    return MOT_ERROR(MOT_EINVAL, "%s must be %s%s%s (got %s%s%s)", k->name, kind[k->type], in, allowed,
                     q, config_shown(got, strlen(got), buf), q);
}

int config_wrong_section(const key_info *k, const char *section, size_t n)
{
    char buf[SHOWN_CAP];
    return MOT_ERROR(MOT_EINVAL, "key \"%s\" belongs in section [%s], not [%s]", k->name, k->section,
                     config_shown(section, n, buf));
}

/* Parses `text` as the value of `k` and stores it; on error `c` is
 * unchanged. The only path by which text becomes a value. */
int config_set_entry(mot_config *c, const key_info *k, const char *text)
{
    char *field = (char *)c + k->offset;
    switch (k->type) {
    case KEY_INT: {
        long v;
        if (mot_parse_long(text, &v) != MOT_OK || !in_range(k, (double)v))
            return config_reject(k, text, 1);
        *(int *)field = (int)v;
        return MOT_OK;
    }
    case KEY_REAL: {
        double v;
        if (mot_parse_double(text, &v) != MOT_OK || !in_range(k, v))
            return config_reject(k, text, 1);
        *(double *)field = v;
        return MOT_OK;
    }
    case KEY_BOOL:
        if (mot_parse_bool(text, (int *)field) != MOT_OK)
            return config_reject(k, text, 1);
        return MOT_OK;
    case KEY_ENUM: {
        const char *p = text;
        size_t n = mot_parse_trim(&p);
        for (int i = 0; k->names[i]; i++) {
            if (strlen(k->names[i]) == n && strncmp(p, k->names[i], n) == 0) {
                *(int *)field = i;
                return MOT_OK;
            }
        }
        return config_reject(k, text, 1);
    }
    case KEY_LIST: {
        double v[MOT_MAX_CLASSES];
        int n;
        if (mot_parse_double_list(text, v, MOT_MAX_CLASSES, &n) != MOT_OK)
            return config_reject(k, text, 1);
        for (int i = 0; i < n; i++)
            if (!(v[i] >= k->min))
                return config_reject(k, text, 1);
        memset(field, 0, MOT_MAX_CLASSES * sizeof(double));
        memcpy(field, v, (size_t)n * sizeof(double));
        *(int *)((char *)c + k->count_offset) = n;
        return MOT_OK;
    }
    case KEY_ULONG: {
        unsigned long v;
        if (mot_parse_ulong(text, &v) != MOT_OK || v > SEED_MAX)
            return config_reject(k, text, 1);
        *(unsigned long *)field = v;
        return MOT_OK;
    }
    }
    return MOT_ERROR(MOT_EINVAL, "%s: unknown key type", k->name);
}

void mot_config_defaults(mot_config *c)
{
    memset(c, 0, sizeof *c);   /* padding too, so configs compare with memcmp */
    for (size_t i = 0; i < NKEYS; i++)
        (void)config_set_entry(c, &config_keys[i], config_keys[i].def);   /* tested never to fail */
}

int mot_config_set(mot_config *c, const char *key, const char *value)
{
    const char *dot = strchr(key, '.');
    size_t sec_len = dot ? (size_t)(dot - key) : 0;
    char buf[SHOWN_CAP], buf2[SHOWN_CAP];
    if (dot && !config_is_section(key, sec_len))
        return MOT_ERROR(MOT_EINVAL, "unknown section [%s] in key \"%s\"", config_shown(key, sec_len, buf),
                         config_shown(key, strlen(key), buf2));
    const key_info *k = config_find_key(dot ? dot + 1 : key);
    if (!k)
        return MOT_ERROR(MOT_EINVAL, "unknown key \"%s\"", config_shown(key, strlen(key), buf));
    if (dot && (strlen(k->section) != sec_len || strncmp(k->section, key, sec_len) != 0))
        return config_wrong_section(k, key, sec_len);
    return config_set_entry(c, k, value ? value : "");
}

/* ---- checks ------------------------------------------------------------- */

/* Checks that the stored value of `k` is one the setter could have stored
 * (configs filled in by code skip the setter). */
static int check_stored(const mot_config *c, const key_info *k)
{
    const char *field = (const char *)c + k->offset;
    char got[64];
    switch (k->type) {
    case KEY_INT:
    case KEY_BOOL:
    case KEY_ENUM: {
        int v = *(const int *)field;
        int top = k->type == KEY_ENUM ? config_count_names(k) - 1 : (int)k->max;
        if (v >= k->min && v <= top)
            return MOT_OK;
        snprintf(got, sizeof got, "%d", v);
        break;
    }
    case KEY_REAL:
        if (in_range(k, *(const double *)field))
            return MOT_OK;
        snprintf(got, sizeof got, "%.17g", *(const double *)field);
        break;
    case KEY_LIST: {
        int n = *(const int *)((const char *)c + k->count_offset);
        if (n < 0 || n > MOT_MAX_CLASSES)
            return MOT_ERROR(MOT_EINVAL, "%s must have 0 to %d entries (got %d)", k->name, MOT_MAX_CLASSES, n);
        const double *x = (const double *)field;
        for (int i = 0; i < n; i++)
            if (!(isfinite(x[i]) && x[i] >= k->min))
                return MOT_ERROR(MOT_EINVAL, "%s entries must be finite reals >= %g (got entry %d = %g)", k->name,
                                 k->min, i + 1, x[i]);
        return MOT_OK;
    }
    case KEY_ULONG:
        if (*(const unsigned long *)field <= SEED_MAX)
            return MOT_OK;
        snprintf(got, sizeof got, "%lu", *(const unsigned long *)field);
        break;
    }
    return config_reject(k, got, 0);
}

int mot_config_validate(const mot_config *c)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (check_stored(c, &config_keys[i]) != MOT_OK)
            return MOT_EINVAL;
    /* d_min = a N + b: the signals need that many orthonormal directions. */
    static const struct { int a, b; const char *form; } need[] = {
        [MOT_GEOM_ORTHOGONAL] = {2, 0, "2N"},
        [MOT_GEOM_CONFLICT] = {1, 1, "N+1"},
        [MOT_GEOM_CORRELATED] = {2, 1, "2N+1"},
    };
    int d_min = need[c->geometry].a * c->N + need[c->geometry].b;
    if (c->d < d_min)
        return MOT_ERROR(MOT_EINVAL, "d must be >= %s = %d for geometry = %s (got %d)", need[c->geometry].form, d_min,
                         geometry_names[c->geometry], c->d);
    if (c->T1 > c->T2)
        return MOT_ERROR(MOT_EINVAL, "T1 must be <= T2 (got T1 = %d, T2 = %d)", c->T1, c->T2);
    if (c->T2 > c->T)
        return MOT_ERROR(MOT_EINVAL, "T2 must be <= T (got T2 = %d, T = %d)", c->T2, c->T);
    if (c->n_class_weights != 0) {
        if (c->n_class_weights != c->N)
            return MOT_ERROR(MOT_EINVAL, "class_weights must have N = %d entries, or none for uniform (got %d)", c->N,
                             c->n_class_weights);
        double sum = 0;
        for (int i = 0; i < c->n_class_weights; i++)
            sum += c->class_weights[i];
        if (!(sum > 0 && isfinite(sum)))
            return MOT_ERROR(MOT_EINVAL, "class_weights must have a positive finite sum (got %g)", sum);
    }
    if (c->batch > c->n_train)
        return MOT_ERROR(MOT_EINVAL, "batch must be <= n_train = %d (got %d)", c->n_train, c->batch);
    /* model = single has no gate: gate, router_input and lambda_r are
     * ignored there, whatever they hold. */
    return MOT_OK;
}

/* ---- the table itself --------------------------------------------------- */

const char *mot_config_enum_name(const char *key, int value)
{
    const char *dot = strchr(key, '.');
    const key_info *k = config_find_key(dot ? dot + 1 : key);
    if (!k || k->type != KEY_ENUM || value < 0 || value >= config_count_names(k))
        return NULL;
    return k->names[value];
}

void mot_config_print_table(FILE *out)
{
    char allowed[200];
    fprintf(out, "| section | key | type | default | allowed | meaning |\n");
    fprintf(out, "| --- | --- | --- | --- | --- | --- |\n");
    for (size_t i = 0; i < NKEYS; i++) {
        const key_info *k = &config_keys[i];
        allowed_text(k, allowed, sizeof allowed);
        fprintf(out, "| %s | `%s` | %s | %s | %s | %s |\n", k->section, k->name, type_names[k->type],
                k->def[0] ? k->def : "(empty)", allowed, k->meaning);
    }
}

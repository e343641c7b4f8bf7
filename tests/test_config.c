/* test_config.c: the config module and the text parsers under it. Checks
 * that the defaults are MODEL.md's, that every key type parses, that every
 * rejection path returns MOT_EINVAL with a message naming the key (and, in
 * files, the line), that configs/paper.conf is the defaults but for its
 * calibrated keys and lists every
 * key, and that JSON round trips are exact. Needs no other libmot module. */
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "assert_close.h"
#include "config.h"
#include "parse.h"
#include "status.h"

#define NKEYS 47

static const char *srcdir(void)
{
    const char *s = getenv("SRCDIR");
    return s && *s ? s : ".";
}

/* Writes `text` to a new temporary file; its name goes to `path` (size 64). */
static void write_temp(const char *text, char *path)
{
    strcpy(path, "/tmp/test_config_XXXXXX");
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    FILE *f = fdopen(fd, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

/* The key's section-free name. */
static const char *bare(const char *key)
{
    const char *dot = strchr(key, '.');
    return dot ? dot + 1 : key;
}

/* Sets key = value on the defaults and checks that it fails with
 * MOT_EINVAL, that the message contains `want` (the key itself when NULL;
 * for value errors it must then start with the key), and that the config is
 * unchanged. */
static void reject(const char *key, const char *value, const char *want, int line)
{
    mot_config c, before;
    mot_config_defaults(&c);
    memcpy(&before, &c, sizeof c);
    mot_status_clear();
    int rc = mot_config_set(&c, key, value);
    const char *msg = mot_status_message();
    int ok = rc == MOT_EINVAL && memcmp(&c, &before, sizeof c) == 0 &&
             (want ? strstr(msg, want) != NULL : strncmp(msg, bare(key), strlen(bare(key))) == 0 &&
                                                     strstr(msg, " must ") == msg + strlen(bare(key)));
    if (!ok)
        fprintf(stderr, "\nline %d: set %s = \"%s\": rc %d, message \"%s\"\n", line, key, value, rc, msg);
    CU_ASSERT(ok);
}
#define REJECT(key, value) reject(key, value, NULL, __LINE__)
#define REJECT_MSG(key, value, want) reject(key, value, want, __LINE__)

/* Sets key = value on `c` and asserts success. */
static void set_ok(mot_config *c, const char *key, const char *value, int line)
{
    int rc = mot_config_set(c, key, value);
    if (rc != MOT_OK)
        fprintf(stderr, "\nline %d: set %s = \"%s\": %s\n", line, key, value, mot_status_message());
    CU_ASSERT_EQUAL(rc, MOT_OK);
}
#define SET(c, key, value) set_ok(c, key, value, __LINE__)

/* Asserts that validate fails and the message contains `want`. */
static void invalid(const mot_config *c, const char *want, int line)
{
    int rc = mot_config_validate(c);
    int ok = rc == MOT_EINVAL && strstr(mot_status_message(), want) != NULL;
    if (!ok)
        fprintf(stderr, "\nline %d: validate: rc %d, message \"%s\", wanted \"%s\"\n", line, rc,
                mot_status_message(), want);
    CU_ASSERT(ok);
}
#define INVALID(c, want) invalid(c, want, __LINE__)

/* ---- defaults ----------------------------------------------------------- */

static void test_defaults_are_model_md(void)
{
    mot_config c;
    mot_config_defaults(&c);
    CU_ASSERT_EQUAL(c.N, 4);
    CU_ASSERT_EQUAL(c.d, 32);
    CU_ASSERT_EQUAL(c.L, 8);
    CU_ASSERT_EQUAL(c.n_train, 4000);
    CU_ASSERT_EQUAL(c.n_test, 4000);
    CU_ASSERT(c.alpha == 1 && c.beta == 1 && c.kappa == 1 && c.gamma == 1);
    CU_ASSERT(c.sigma_p == 0.2);
    CU_ASSERT_EQUAL(c.geometry, MOT_GEOM_ORTHOGONAL);
    CU_ASSERT(c.rho == 0.5);
    CU_ASSERT_EQUAL(c.rotate, 1);
    CU_ASSERT_EQUAL(c.n_class_weights, 0);
    CU_ASSERT_EQUAL(c.model, MOT_MODEL_MOT);
    CU_ASSERT_EQUAL(c.M, 12);
    CU_ASSERT_EQUAL(c.heads, 2);
    CU_ASSERT_EQUAL(c.gate, MOT_GATE_COMPETE);
    CU_ASSERT_EQUAL(c.router_input, MOT_ROUTER_QUERY);
    CU_ASSERT(c.lambda_r == 0.2);
    CU_ASSERT(c.sigma0 == 0.1);
    CU_ASSERT_EQUAL(c.loss, MOT_LOSS_SQUARED);
    CU_ASSERT_EQUAL(c.single_stage3, MOT_STAGE3_ALL);
    CU_ASSERT_EQUAL(c.schedule, MOT_SCHED_THREE_STAGE);
    CU_ASSERT_EQUAL(c.T1, 30);
    CU_ASSERT_EQUAL(c.T2, 800);
    CU_ASSERT_EQUAL(c.T, 1400);
    CU_ASSERT(c.eta == 1 && c.eta_W == 1 && c.eta_r == 1 && c.lr_scale == 1);
    CU_ASSERT_EQUAL(c.batch, 0);
    CU_ASSERT_EQUAL(c.grad_norm, MOT_NORM_EXPERT);
    CU_ASSERT_EQUAL(c.seed, 1UL);
    CU_ASSERT_EQUAL(c.log_every, 1);
    CU_ASSERT_EQUAL(c.save_routing, 0);
    CU_ASSERT(c.min_traffic == 0.02 && c.delta == 0.05 && c.alpha_test == 0.01);
    CU_ASSERT(c.uniform_tol == 0.1);
    CU_ASSERT_EQUAL(c.uniform_window, 50);
    CU_ASSERT(c.attn_gain == 2.5 && c.attn_dip == 0.02 && c.w_align == 0.9);
    CU_ASSERT(c.rho_tol == 1e-3 && c.hp_eps == 1e-40);
    CU_ASSERT_EQUAL(c.precision, 256);
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);
}

static void test_defaults_overwrite_everything(void)
{
    mot_config a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0xAB, sizeof b);   /* garbage, padding included */
    mot_config_defaults(&a);
    mot_config_defaults(&b);
    CU_ASSERT(memcmp(&a, &b, sizeof a) == 0);
}

/* ---- setting keys ------------------------------------------------------- */

static void test_set_int_real_ulong(void)
{
    mot_config c;
    mot_config_defaults(&c);
    SET(&c, "N", "5");
    CU_ASSERT_EQUAL(c.N, 5);
    SET(&c, "data.N", " 7 \t");
    CU_ASSERT_EQUAL(c.N, 7);
    SET(&c, "N", "+64");
    CU_ASSERT_EQUAL(c.N, 64);
    SET(&c, "d", "4096");
    CU_ASSERT_EQUAL(c.d, 4096);
    SET(&c, "T1", "0");
    CU_ASSERT_EQUAL(c.T1, 0);
    SET(&c, "T", "100000000");
    CU_ASSERT_EQUAL(c.T, 100000000);
    SET(&c, "eta", "0.5");
    CU_ASSERT(c.eta == 0.5);
    SET(&c, "train.eta", "2.5e-1 ");
    CU_ASSERT(c.eta == 0.25);
    SET(&c, "eta_W", "0x1p-3");
    CU_ASSERT(c.eta_W == 0.125);
    /* closed lower bounds admit the bound itself */
    static const char *const zero_ok[] = {"kappa", "gamma", "sigma_p", "rho", "lambda_r", "eta", "eta_W",
                                          "eta_r", "batch", "T1", "T2", "min_traffic", "delta",
                                          "uniform_tol", "attn_dip"};
    for (size_t i = 0; i < sizeof zero_ok / sizeof zero_ok[0]; i++)
        SET(&c, zero_ok[i], "0");
    CU_ASSERT(c.eta_r == 0 && c.kappa == 0 && c.T1 == 0);
    SET(&c, "min_traffic", "1");
    SET(&c, "delta", "1");
    SET(&c, "uniform_tol", "1");
    SET(&c, "w_align", "1");
    SET(&c, "precision", "53");
    SET(&c, "precision", "100000");
    SET(&c, "alpha_test", "0.999");
    SET(&c, "L", "4");
    SET(&c, "M", "4096");
    SET(&c, "heads", "1024");
    SET(&c, "alpha", "1e-300");   /* open bound: anything above 0 */
    CU_ASSERT(c.alpha == 1e-300);
    SET(&c, "hp_eps", "5e-324");  /* subnormal: underflow, but not to 0 */
    CU_ASSERT(c.hp_eps > 0);
    SET(&c, "rho", "1");
    CU_ASSERT(c.rho == 1);
    SET(&c, "w_align", "-1");
    CU_ASSERT(c.w_align == -1);
    SET(&c, "seed", "0");
    CU_ASSERT_EQUAL(c.seed, 0UL);
    SET(&c, "train.seed", "4294967296");
    CU_ASSERT_EQUAL(c.seed, 4294967296UL);
    SET(&c, "seed", "9223372036854775807");
    CU_ASSERT_EQUAL(c.seed, 9223372036854775807UL);
}

static void test_set_bool(void)
{
    static const char *const yes[] = {"true", "yes", "on", "1", " true "};
    static const char *const no[] = {"false", "no", "off", "0", "off\t"};
    mot_config c;
    mot_config_defaults(&c);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        c.save_routing = 0;
        SET(&c, "save_routing", yes[i]);
        CU_ASSERT_EQUAL(c.save_routing, 1);
        c.rotate = 1;
        SET(&c, "data.rotate", no[i]);
        CU_ASSERT_EQUAL(c.rotate, 0);
    }
}

static void test_set_enum(void)
{
    static const struct { const char *key; size_t off; int count; } enums[] = {
        {"geometry", offsetof(mot_config, geometry), 3},
        {"model", offsetof(mot_config, model), 4},
        {"gate", offsetof(mot_config, gate), 2},
        {"router_input", offsetof(mot_config, router_input), 2},
        {"loss", offsetof(mot_config, loss), 2},
        {"single_stage3", offsetof(mot_config, single_stage3), 2},
        {"schedule", offsetof(mot_config, schedule), 2},
        {"grad_norm", offsetof(mot_config, grad_norm), 2},
    };
    mot_config c;
    mot_config_defaults(&c);
    for (size_t k = 0; k < sizeof enums / sizeof enums[0]; k++) {
        for (int i = enums[k].count - 1; i >= 0; i--) {
            const char *name = mot_config_enum_name(enums[k].key, i);
            CU_ASSERT_PTR_NOT_NULL_FATAL(name);
            SET(&c, enums[k].key, name);
            CU_ASSERT_EQUAL(*(int *)((char *)&c + enums[k].off), i);
        }
        CU_ASSERT_PTR_NULL(mot_config_enum_name(enums[k].key, enums[k].count));
    }
    SET(&c, "geometry", "  conflict ");
    CU_ASSERT_EQUAL(c.geometry, MOT_GEOM_CONFLICT);
    CU_ASSERT_STRING_EQUAL(mot_config_enum_name("model", 1), "single");
    CU_ASSERT_STRING_EQUAL(mot_config_enum_name("model.model", 3), "moe_ffn");
    CU_ASSERT_STRING_EQUAL(mot_config_enum_name("schedule", 0), "three_stage");
    CU_ASSERT_PTR_NULL(mot_config_enum_name("model", -1));
    CU_ASSERT_PTR_NULL(mot_config_enum_name("eta", 0));
    CU_ASSERT_PTR_NULL(mot_config_enum_name("nosuchkey", 0));
}

static void test_set_list(void)
{
    mot_config c, ref;
    mot_config_defaults(&c);
    mot_config_defaults(&ref);
    SET(&c, "class_weights", "1, 2,3 ,4.5");
    CU_ASSERT_EQUAL(c.n_class_weights, 4);
    double want[] = {1, 2, 3, 4.5};
    ASSERT_CLOSE(c.class_weights, want, 4, 0, 0);
    SET(&c, "class_weights", "0");
    CU_ASSERT_EQUAL(c.n_class_weights, 1);
    CU_ASSERT(c.class_weights[0] == 0 && c.class_weights[1] == 0);   /* the tail is cleared */
    SET(&c, "data.class_weights", "   ");
    CU_ASSERT_EQUAL(c.n_class_weights, 0);
    CU_ASSERT(memcmp(&c, &ref, sizeof c) == 0);
    char list[64 * 4 + 1] = "";
    for (int i = 0; i < 64; i++)
        strcat(list, i ? ",1.5" : "1.5");
    SET(&c, "class_weights", list);
    CU_ASSERT_EQUAL(c.n_class_weights, 64);
    CU_ASSERT(c.class_weights[63] == 1.5);
}

/* ---- rejections --------------------------------------------------------- */

static void test_reject_keys(void)
{
    REJECT_MSG("etaa", "1", "unknown key \"etaa\"");
    REJECT_MSG("train.etaa", "1", "unknown key \"train.etaa\"");
    REJECT_MSG("foo.eta", "1", "unknown section [foo]");
    REJECT_MSG(".eta", "1", "unknown section []");
    REJECT_MSG("data.eta", "1", "key \"eta\" belongs in section [train], not [data]");
    REJECT_MSG("model.N", "4", "key \"N\" belongs in section [data], not [model]");
    REJECT_MSG("", "1", "unknown key \"\"");
    REJECT_MSG("train.", "1", "unknown key \"train.\"");
}

static void test_reject_messages(void)
{
    REJECT_MSG("eta", "-1", "eta must be a real >= 0 (got \"-1\")");
    REJECT_MSG("geometry", "foo", "geometry must be one of orthogonal, conflict, correlated (got \"foo\")");
    REJECT_MSG("N", "0", "N must be an integer in [1, 64] (got \"0\")");
    REJECT_MSG("alpha_test", "1", "alpha_test must be a real in (0, 1) (got \"1\")");
    REJECT_MSG("sigma0", "0", "sigma0 must be a real > 0 (got \"0\")");
    REJECT_MSG("rho", "2", "rho must be a real in [0, 1] (got \"2\")");
    REJECT_MSG("rotate", "maybe", "rotate must be a boolean: true/false, yes/no, on/off, 1/0 (got \"maybe\")");
    REJECT_MSG("seed", "-1", "seed must be an unsigned integer in [0, ");
    REJECT_MSG("class_weights", "1,,2", "class_weights must be empty, or up to 64 reals >= 0 separated by commas");
    /* a long value is cut in the message */
    char longval[300];
    memset(longval, '7', sizeof longval - 1);
    longval[sizeof longval - 1] = '\0';
    REJECT_MSG("N", longval, "777...\")");
    /* Regression (fuzz/fuzz_set.c): input text is echoed on one line, with
     * control characters escaped, wherever it appears in the message. */
    REJECT_MSG("eta", "1\n2", "eta must be a real >= 0 (got \"1\\x0a2\")");
    REJECT_MSG("eta", "\x1b[2J\r", "(got \"\\x1b[2J\\x0d\")");
    REJECT_MSG("et\na", "1", "unknown key \"et\\x0aa\"");
    REJECT_MSG("tr\rain.eta", "1", "unknown section [tr\\x0dain] in key \"tr\\x0dain.eta\"");
    REJECT_MSG("data\n.eta", "1", "unknown section [data\\x0a]");
}

static void test_reject_malformed(void)
{
    static const char *const bad[][2] = {
        /* not a number */
        {"eta", "abc"}, {"N", "x"}, {"seed", "abc"}, {"N", "4.0"}, {"N", "1e1"}, {"N", "0x10"},
        /* empty */
        {"eta", ""}, {"N", ""}, {"seed", ""}, {"eta", "   "}, {"geometry", ""}, {"rotate", ""},
        /* trailing junk */
        {"eta", "1.0x"}, {"N", "4 4"}, {"N", "4abc"}, {"seed", "1x"}, {"eta", "1,0"}, {"seed", "1 2"},
        /* NaN, infinities, overflow and underflow of reals */
        {"eta", "nan"}, {"eta", "NaN"}, {"eta", "nan(0x1)"}, {"eta", "inf"}, {"eta", "-inf"},
        {"eta", "infinity"}, {"eta", "1e999"}, {"eta", "-1e999"}, {"eta", "1e-400"},
        /* integer overflow */
        {"N", "99999999999999999999"}, {"N", "2147483648"}, {"batch", "-2147483649"},
        {"T", "4294967297"}, {"seed", "99999999999999999999999"}, {"seed", "18446744073709551616"},
        /* bad enums */
        {"geometry", "foo"}, {"geometry", "Orthogonal"}, {"geometry", "orthogonal x"},
        {"model", "transformer"}, {"gate", "top2"}, {"router_input", "key"}, {"loss", "hinge"},
        {"single_stage3", "W"}, {"schedule", "two_stage"}, {"grad_norm", "local"},
        /* bad bools */
        {"rotate", "maybe"}, {"rotate", "2"}, {"rotate", "TRUE"}, {"save_routing", "y"},
        {"save_routing", "truex"},
        /* bad lists */
        {"class_weights", "1,,2"}, {"class_weights", "1,"}, {"class_weights", ",1"},
        {"class_weights", "1,-1"}, {"class_weights", "1,abc"}, {"class_weights", "1,nan"},
        {"class_weights", "1,inf"}, {"class_weights", "1;2"}, {"class_weights", "1 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        reject(bad[i][0], bad[i][1], NULL, (int)i);
    char list[65 * 2 + 1] = "";
    for (int i = 0; i < 65; i++)
        strcat(list, i ? ",1" : "1");
    REJECT("class_weights", list);
#if ULONG_MAX > LLONG_MAX
    REJECT("seed", "9223372036854775808");   /* does not fit a JSON integer */
#endif
    REJECT("seed", " -1");
    REJECT("seed", "-0");
}

static void test_reject_range(void)
{
    static const char *const bad[][2] = {
        {"N", "0"}, {"N", "65"}, {"N", "-1"}, {"d", "1"}, {"d", "4097"}, {"L", "3"}, {"L", "1025"},
        {"n_train", "0"}, {"n_train", "10000001"}, {"n_test", "0"}, {"n_test", "10000001"},
        {"alpha", "0"}, {"alpha", "-1"}, {"beta", "0"}, {"kappa", "-0.5"}, {"gamma", "-1"},
        {"sigma_p", "-0.1"}, {"rho", "-0.1"}, {"rho", "1.5"},
        {"M", "0"}, {"M", "4097"}, {"heads", "0"}, {"heads", "1025"}, {"lambda_r", "-1"},
        {"sigma0", "0"}, {"sigma0", "-0.1"},
        {"T1", "-1"}, {"T1", "100000001"}, {"T2", "-1"}, {"T2", "100000001"}, {"T", "0"},
        {"T", "100000001"}, {"eta", "-1"}, {"eta_W", "-1"}, {"eta_r", "-1e-9"}, {"lr_scale", "0"},
        {"lr_scale", "-1"}, {"batch", "-1"}, {"batch", "10000001"},
        {"log_every", "0"}, {"log_every", "100000001"},
        {"min_traffic", "-0.01"}, {"min_traffic", "1.5"}, {"delta", "-0.1"}, {"delta", "1.01"},
        {"uniform_window", "0"}, {"uniform_window", "100000001"}, {"alpha_test", "0"},
        {"alpha_test", "1"}, {"uniform_tol", "-1"}, {"uniform_tol", "2"}, {"attn_gain", "0"},
        {"attn_dip", "-1"}, {"w_align", "-1.5"}, {"w_align", "1.01"}, {"rho_tol", "0"},
        {"hp_eps", "0"}, {"hp_eps", "1"}, {"precision", "52"}, {"precision", "100001"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        reject(bad[i][0], bad[i][1], NULL, (int)i);
}

/* Every key of the table rejects junk, with a message that starts with it. */
static void test_reject_every_key(void)
{
    mot_config c;
    mot_config_defaults(&c);
    json_t *j = mot_config_to_json(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    const char *sname, *name;
    json_t *sec, *v;
    int n = 0;
    json_object_foreach(j, sname, sec) {
        json_object_foreach(sec, name, v) {
            char qualified[64];
            snprintf(qualified, sizeof qualified, "%s.%s", sname, name);
            REJECT(name, "#junk#");
            REJECT(qualified, "1x");
            n++;
        }
    }
    CU_ASSERT_EQUAL(n, NKEYS);
    json_decref(j);
}

/* ---- validate ----------------------------------------------------------- */

static void test_validate_cross_keys(void)
{
    mot_config c;
    mot_config_defaults(&c);
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);

    SET(&c, "N", "20");
    INVALID(&c, "d must be >= 2N = 40 for geometry = orthogonal (got 32)");
    SET(&c, "N", "16");
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);
    SET(&c, "geometry", "correlated");
    INVALID(&c, "d must be >= 2N+1 = 33 for geometry = correlated (got 32)");
    SET(&c, "N", "15");
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);
    SET(&c, "geometry", "conflict");
    SET(&c, "N", "32");
    INVALID(&c, "d must be >= N+1 = 33 for geometry = conflict (got 32)");
    SET(&c, "N", "31");
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);

    mot_config_defaults(&c);
    SET(&c, "T1", "900");
    INVALID(&c, "T1 must be <= T2 (got T1 = 900, T2 = 800)");
    SET(&c, "T1", "801");
    INVALID(&c, "T1 must be <= T2");
    SET(&c, "T1", "800");
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);
    SET(&c, "T2", "1401");
    INVALID(&c, "T2 must be <= T (got T2 = 1401, T = 1400)");
    SET(&c, "T2", "1400");
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);

    mot_config_defaults(&c);
    SET(&c, "class_weights", "1,2,3");
    INVALID(&c, "class_weights must have N = 4 entries");
    SET(&c, "class_weights", "0,0,0,0");
    INVALID(&c, "class_weights must have a positive finite sum");
    SET(&c, "class_weights", "1e308,1e308,1e308,1e308");
    INVALID(&c, "class_weights must have a positive finite sum");
    SET(&c, "class_weights", "1,0,0,0");
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);

    mot_config_defaults(&c);
    SET(&c, "batch", "4001");
    INVALID(&c, "batch must be <= n_train = 4000 (got 4001)");
    SET(&c, "batch", "4000");
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);

    /* a gateless single transformer ignores the gate keys */
    mot_config_defaults(&c);
    SET(&c, "model", "single");
    SET(&c, "gate", "switch");
    SET(&c, "router_input", "sum");
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);
}

/* Configs filled in by code skip the setter: validate checks each value. */
static void test_validate_stored_values(void)
{
    mot_config c;
#define STORED(stmt, want)          \
    do {                            \
        mot_config_defaults(&c);    \
        stmt;                       \
        INVALID(&c, want);          \
    } while (0)
    STORED(c.M = 0, "M must be an integer in [1, 4096] (got 0)");
    STORED(c.N = 65, "N must be");
    STORED(c.T = 0, "T must be");
    STORED(c.eta = NAN, "eta must be a real >= 0 (got nan)");
    STORED(c.eta = INFINITY, "eta must be");
    STORED(c.sigma0 = 0, "sigma0 must be");
    STORED(c.hp_eps = 1, "hp_eps must be");
    STORED(c.geometry = (mot_geometry)7, "geometry must be one of");
    STORED(c.model = (mot_model_kind)-1, "model must be one of");
    STORED(c.rotate = 2, "rotate must be");
    STORED(c.save_routing = -1, "save_routing must be");
    STORED(c.n_class_weights = 65, "class_weights must have 0 to 64 entries (got 65)");
    STORED(c.n_class_weights = -1, "class_weights must have 0 to 64");
    STORED((c.n_class_weights = 4, c.class_weights[0] = 1, c.class_weights[2] = -1), "class_weights entries");
    STORED((c.n_class_weights = 4, c.class_weights[0] = NAN), "class_weights entries");
    STORED(c.precision = 10, "precision must be");
#if ULONG_MAX > LLONG_MAX
    STORED(c.seed = ULONG_MAX, "seed must be");
#endif
#undef STORED
}

/* ---- INI files ---------------------------------------------------------- */

static void test_load_good(void)
{
    char path[64];
    write_temp("# a comment\n"
               "; another\n"
               "[data]\n"
               "N = 5\n"
               "  d = 40      ; indented, with an inline comment\n"
               "geometry=conflict\r\n"
               "class_weights = 1, 2, 3, 4, 5\n"
               "\n"
               "[train]\n"
               "eta = 0.5\n"
               "seed = 42\n"
               "\t[output]\n"
               "save_routing = yes\n"
               "[check]\n"
               "[model]\n"
               "model = moe_noattn\n",
               path);
    mot_config c, ref;
    mot_config_defaults(&c);
    mot_config_defaults(&ref);
    CU_ASSERT_EQUAL(mot_config_load(&c, path), MOT_OK);
    CU_ASSERT_EQUAL(c.N, 5);
    CU_ASSERT_EQUAL(c.d, 40);
    CU_ASSERT_EQUAL(c.geometry, MOT_GEOM_CONFLICT);
    CU_ASSERT_EQUAL(c.n_class_weights, 5);
    CU_ASSERT(c.class_weights[4] == 5);
    CU_ASSERT(c.eta == 0.5);
    CU_ASSERT_EQUAL(c.seed, 42UL);
    CU_ASSERT_EQUAL(c.save_routing, 1);
    CU_ASSERT_EQUAL(c.model, MOT_MODEL_MOE_NOATTN);
    CU_ASSERT_EQUAL(c.M, ref.M);
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);
    unlink(path);

    write_temp("# only a comment\n", path);   /* changes nothing */
    memcpy(&ref, &c, sizeof c);
    CU_ASSERT_EQUAL(mot_config_load(&c, path), MOT_OK);
    CU_ASSERT(memcmp(&c, &ref, sizeof c) == 0);
    unlink(path);
}

/* Loads `text` and checks for MOT_EINVAL with "config PATH line K: " and
 * `want` in the message, with the config left as it was. */
static void load_fails(const char *text, int want_line, const char *want, int line)
{
    char path[64], prefix[128];
    write_temp(text, path);
    mot_config c, before;
    mot_config_defaults(&c);
    memcpy(&before, &c, sizeof c);
    int rc = mot_config_load(&c, path);
    const char *msg = mot_status_message();
    snprintf(prefix, sizeof prefix, "config %s line %d: ", path, want_line);
    int ok = rc == MOT_EINVAL && strncmp(msg, prefix, strlen(prefix)) == 0 && strstr(msg, want) &&
             memcmp(&c, &before, sizeof c) == 0;
    if (!ok)
        fprintf(stderr, "\nline %d: load: rc %d, message \"%s\", wanted \"%s%s\"\n", line, rc, msg, prefix, want);
    CU_ASSERT(ok);
    unlink(path);
}
#define LOAD_FAILS(text, k, want) load_fails(text, k, want, __LINE__)

static void test_load_errors(void)
{
    LOAD_FAILS("[data]\nN = 5\netaa = 1\n", 3, "unknown key \"etaa\"");
    LOAD_FAILS("[data]\n\n[foo]\nx = 1\n", 3, "unknown section [foo]");
    LOAD_FAILS("[data]\n[foo]\n", 2, "unknown section [foo]");
    LOAD_FAILS("[data]\neta = 1\n", 2, "key \"eta\" belongs in section [train], not [data]");
    LOAD_FAILS("eta = 1\n[train]\n", 1, "key \"eta\" must come after a section header ([train])");
    LOAD_FAILS("[train]\n# c\neta = -1\n", 3, "eta must be a real >= 0 (got \"-1\")");
    LOAD_FAILS("[data]\nN = 5 ; five\nd = 1e9\n", 3, "d must be an integer in [2, 4096]");
    LOAD_FAILS("[data]\nrotate = maybe\n", 2, "rotate must be a boolean");
    LOAD_FAILS("[data]\ngeometry = round\n", 2, "geometry must be one of");
    LOAD_FAILS("[data]\nclass_weights = 1,,2\n", 2, "class_weights must be");
    LOAD_FAILS("[data]\nN = 99999999999999999999\n", 2, "N must be");
    LOAD_FAILS("[train]\nthis line has no equals sign\n", 2, "expected [section], key = value, or a comment");
    LOAD_FAILS("[data\nN = 4\n", 1, "expected [section]");
    LOAD_FAILS("[train]\neta = 1\n\neta = 2\n", 4, "key \"eta\" is set twice (lines 2 and 4)");
    /* the first error is the one reported */
    LOAD_FAILS("[train]\neta = x\nN = y\nbogus\n", 2, "eta must be");
    LOAD_FAILS("[train]\nbogus\neta = x\n", 2, "expected [section]");

    char text[400] = "[data]\nclass_weights = 1";
    for (int i = 0; i < 100; i++)
        strcat(text, ",1");
    strcat(text, "\n");
    LOAD_FAILS(text, 2, "line longer than ");
    /* Regression (fuzz/fuzz_config.c): a carriage return or an escape
     * sequence in a file is shown escaped, keeping the message one line. */
    LOAD_FAILS("[train]\neta = 1\r2\n", 2, "eta must be a real >= 0 (got \"1\\x0d2\")");
    LOAD_FAILS("[da\x1bta]\n", 1, "unknown section [da\\x1bta]");
    LOAD_FAILS("[data]\nN\x7f = 1\n", 2, "unknown key \"N\\x7f\"");
}

static void test_load_io_errors(void)
{
    mot_config c;
    mot_config_defaults(&c);
    CU_ASSERT_EQUAL(mot_config_load(&c, "/nonexistent/dir/x.conf"), MOT_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "/nonexistent/dir/x.conf"));
    CU_ASSERT_EQUAL(mot_config_load(&c, "/"), MOT_EIO);   /* a directory opens, then fails to read */
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "config /: read error"));
}

/* Loading does not validate: that is a separate step. */
static void test_load_then_validate(void)
{
    char path[64];
    write_temp("[train]\nT1 = 900\n", path);
    mot_config c;
    mot_config_defaults(&c);
    CU_ASSERT_EQUAL(mot_config_load(&c, path), MOT_OK);
    INVALID(&c, "T1 must be <= T2");
    unlink(path);
}

static char *read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1);
    CU_ASSERT_FATAL(s && fread(s, 1, (size_t)n, f) == (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* paper.conf is the defaults except its three calibrated keys (T1, eta,
 * eta_r; its header says how they were chosen) and lists every key. */
static void test_paper_conf(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/configs/paper.conf", srcdir());
    mot_config c, ref;
    mot_config_defaults(&ref);
    SET(&ref, "T1", "40");
    SET(&ref, "eta", "0.3");
    SET(&ref, "eta_r", "10");
    mot_config_defaults(&c);
    SET(&c, "N", "7");
    SET(&c, "eta", "3");
    SET(&c, "class_weights", "1,2,3,4,5,6,7");
    SET(&c, "geometry", "conflict");
    int rc = mot_config_load(&c, path);
    if (rc != MOT_OK)
        fprintf(stderr, "\n%s\n", mot_status_message());
    CU_ASSERT_EQUAL_FATAL(rc, MOT_OK);
    CU_ASSERT(memcmp(&c, &ref, sizeof c) == 0);

    char *text = read_all(path);
    json_t *j = mot_config_to_json(&ref);
    const char *sname, *name;
    json_t *sec, *v;
    json_object_foreach(j, sname, sec) {
        char header[32];
        snprintf(header, sizeof header, "\n[%s]\n", sname);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, header));
        json_object_foreach(sec, name, v) {
            char line[64];
            snprintf(line, sizeof line, "\n%s =", name);
            if (!strstr(text, line))
                fprintf(stderr, "\npaper.conf lacks key %s\n", name);
            CU_ASSERT_PTR_NOT_NULL(strstr(text, line));
        }
    }
    json_decref(j);
    free(text);
}

static void test_quick_conf(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/configs/quick.conf", srcdir());
    mot_config c, ref;
    mot_config_defaults(&c);
    int rc = mot_config_load(&c, path);
    if (rc != MOT_OK)
        fprintf(stderr, "\n%s\n", mot_status_message());
    CU_ASSERT_EQUAL_FATAL(rc, MOT_OK);
    CU_ASSERT_EQUAL(mot_config_validate(&c), MOT_OK);
    mot_config_defaults(&ref);
    static const char *const set[][2] = {
        {"N", "3"}, {"d", "16"}, {"L", "6"}, {"n_train", "600"}, {"n_test", "600"},
        {"M", "6"}, {"T1", "20"}, {"T2", "120"}, {"T", "200"},
    };
    for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
        SET(&ref, set[i][0], set[i][1]);
    CU_ASSERT(memcmp(&c, &ref, sizeof c) == 0);
}

/* ---- JSON --------------------------------------------------------------- */

static char *dump(const mot_config *c)
{
    json_t *j = mot_config_to_json(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    char *s = json_dumps(j, JSON_REAL_PRECISION(17));
    json_decref(j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

static void test_json_round_trip(void)
{
    static const char *const changes[][2] = {
        {"geometry", "correlated"}, {"rho", "0.3"}, {"N", "5"}, {"d", "64"},
        {"class_weights", "0.1, 0.2, 0.3, 0.4, 1e-300"}, {"eta", "0.1"},
        {"lr_scale", "0.333333333333333314829616256247"}, {"eta_W", "-0"},
        {"seed", "9223372036854775807"}, {"rotate", "false"}, {"save_routing", "on"},
        {"model", "moe_ffn"}, {"gate", "switch"}, {"router_input", "sum"}, {"loss", "logistic"},
        {"schedule", "joint"}, {"grad_norm", "global"}, {"single_stage3", "theta"}, {"T1", "0"},
        {"w_align", "-0.123456789012345678"}, {"hp_eps", "5e-324"}, {"sigma_p", "1e300"},
        {"batch", "17"}, {"precision", "1000"},
    };
    mot_config a, b;
    mot_config_defaults(&a);
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++)
        SET(&a, changes[i][0], changes[i][1]);
    CU_ASSERT_EQUAL(mot_config_validate(&a), MOT_OK);

    char *text1 = dump(&a);
    json_error_t err;
    json_t *j = json_loads(text1, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    mot_config_defaults(&b);
    CU_ASSERT_EQUAL(mot_config_from_json(&b, j), MOT_OK);
    CU_ASSERT(memcmp(&a, &b, sizeof a) == 0);
    char *text2 = dump(&b), *text3 = dump(&a);
    CU_ASSERT_STRING_EQUAL(text1, text2);
    CU_ASSERT_STRING_EQUAL(text1, text3);
    json_decref(j);
    free(text1);
    free(text2);
    free(text3);

    /* the defaults too */
    mot_config_defaults(&a);
    text1 = dump(&a);
    j = json_loads(text1, 0, &err);
    memset(&b, 0, sizeof b);
    mot_config_defaults(&b);
    SET(&b, "eta", "7");
    CU_ASSERT_EQUAL(mot_config_from_json(&b, j), MOT_OK);
    CU_ASSERT(memcmp(&a, &b, sizeof a) == 0);
    json_decref(j);
    free(text1);
}

static void test_json_shape(void)
{
    mot_config c;
    mot_config_defaults(&c);
    SET(&c, "class_weights", "1,2,3,4");
    SET(&c, "seed", "9223372036854775807");
    json_t *j = mot_config_to_json(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    static const char *const order[] = {"data", "model", "train", "output", "check"};
    int i = 0, n = 0;
    const char *sname, *name;
    json_t *sec, *v;
    json_object_foreach(j, sname, sec) {
        CU_ASSERT(i < 5 && strcmp(sname, order[i]) == 0);
        i++;
        n += (int)json_object_size(sec);
    }
    CU_ASSERT_EQUAL(i, 5);
    CU_ASSERT_EQUAL(n, NKEYS);
    json_t *data = json_object_get(j, "data"), *train = json_object_get(j, "train");
    json_object_foreach(data, name, v) {
        CU_ASSERT_STRING_EQUAL(name, "N");   /* table order: N comes first */
        break;
    }
    CU_ASSERT(json_is_integer(json_object_get(data, "N")));
    CU_ASSERT(json_is_real(json_object_get(data, "alpha")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(data, "geometry")), "orthogonal");
    CU_ASSERT(json_is_true(json_object_get(data, "rotate")));
    CU_ASSERT(json_is_false(json_object_get(json_object_get(j, "output"), "save_routing")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(data, "class_weights")), 4);
    CU_ASSERT(json_real_value(json_array_get(json_object_get(data, "class_weights"), 3)) == 4);
    CU_ASSERT(json_is_integer(json_object_get(train, "seed")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(train, "seed")), 9223372036854775807LL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(train, "schedule")), "three_stage");
    json_decref(j);

    mot_config_defaults(&c);
    j = mot_config_to_json(&c);
    CU_ASSERT(json_is_array(json_object_get(json_object_get(j, "data"), "class_weights")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(json_object_get(j, "data"), "class_weights")), 0);
    json_decref(j);

    /* values with no JSON form */
    c.eta = NAN;
    CU_ASSERT_PTR_NULL(mot_config_to_json(&c));
    mot_config_defaults(&c);
    c.geometry = (mot_geometry)9;
    CU_ASSERT_PTR_NULL(mot_config_to_json(&c));
}

static void test_json_partial_and_integers(void)
{
    mot_config c, ref;
    mot_config_defaults(&c);
    mot_config_defaults(&ref);
    json_error_t err;
    json_t *j = json_loads("{\"train\": {\"eta\": 2, \"seed\": 5}, \"data\": {\"class_weights\": [1, 2.5, 3, 4]}}",
                           0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(mot_config_from_json(&c, j), MOT_OK);
    CU_ASSERT(c.eta == 2);
    CU_ASSERT_EQUAL(c.seed, 5UL);
    CU_ASSERT_EQUAL(c.n_class_weights, 4);
    CU_ASSERT(c.class_weights[1] == 2.5);
    CU_ASSERT_EQUAL(c.N, ref.N);
    json_decref(j);

    j = json_loads("{\"data\": {\"class_weights\": []}}", 0, &err);
    CU_ASSERT_EQUAL(mot_config_from_json(&c, j), MOT_OK);
    CU_ASSERT_EQUAL(c.n_class_weights, 0);
    json_decref(j);
}

/* from_json rejects `text` with a message containing `want`; c unchanged. */
static void json_fails(const char *text, const char *want, int line)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    mot_config c, before;
    mot_config_defaults(&c);
    memcpy(&before, &c, sizeof c);
    int rc = mot_config_from_json(&c, j);
    int ok = rc == MOT_EINVAL && strstr(mot_status_message(), want) && memcmp(&c, &before, sizeof c) == 0;
    if (!ok)
        fprintf(stderr, "\nline %d: from_json %s: rc %d, message \"%s\"\n", line, text, rc, mot_status_message());
    CU_ASSERT(ok);
    json_decref(j);
}
#define JSON_FAILS(text, want) json_fails(text, want, __LINE__)

static void test_json_errors(void)
{
    JSON_FAILS("3", "must be an object");
    JSON_FAILS("{\"foo\": {}}", "unknown section [foo]");
    JSON_FAILS("{\"data\": 3}", "section [data] must be a JSON object");
    JSON_FAILS("{\"train\": {\"etaa\": 1}}", "unknown key \"etaa\"");
    JSON_FAILS("{\"data\": {\"eta\": 1}}", "key \"eta\" belongs in section [train], not [data]");
    JSON_FAILS("{\"data\": {\"N\": \"4\"}}", "N must be an integer in [1, 64] (got \"4\")");
    JSON_FAILS("{\"data\": {\"N\": 4.5}}", "N must be an integer in [1, 64] (got 4.5)");
    JSON_FAILS("{\"data\": {\"N\": 4.0}}", "N must be");
    JSON_FAILS("{\"data\": {\"N\": 0}}", "N must be an integer in [1, 64] (got \"0\")");
    JSON_FAILS("{\"train\": {\"eta\": \"1\"}}", "eta must be");
    JSON_FAILS("{\"train\": {\"eta\": -1}}", "eta must be a real >= 0 (got \"-1\")");
    JSON_FAILS("{\"train\": {\"eta\": null}}", "eta must be a real >= 0 (got null)");
    JSON_FAILS("{\"data\": {\"rotate\": 1}}", "rotate must be");
    JSON_FAILS("{\"data\": {\"geometry\": 1}}", "geometry must be one of");
    JSON_FAILS("{\"data\": {\"geometry\": \"foo\"}}", "geometry must be one of");
    JSON_FAILS("{\"data\": {\"class_weights\": \"1,2\"}}", "class_weights must be");
    JSON_FAILS("{\"data\": {\"class_weights\": [1, \"a\"]}}", "class_weights must be");
    JSON_FAILS("{\"data\": {\"class_weights\": [1, -1]}}", "class_weights must be");
    JSON_FAILS("{\"train\": {\"seed\": -1}}", "seed must be");
    JSON_FAILS("{\"train\": {\"seed\": 1.5}}", "seed must be");
    /* the first error stops the read: nothing is applied */
    JSON_FAILS("{\"data\": {\"N\": 5, \"d\": 1}}", "d must be");

    char text[512] = "{\"data\": {\"class_weights\": [1";
    for (int i = 0; i < 64; i++)
        strcat(text, ",1");
    strcat(text, "]}}");
    JSON_FAILS(text, "class_weights must be");
}

/* ---- the table ---------------------------------------------------------- */

static void test_print_table(void)
{
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    mot_config_print_table(f);
    long n = ftell(f);
    rewind(f);
    char *s = calloc(1, (size_t)n + 1);
    CU_ASSERT_FATAL(s && fread(s, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    const char *head = "| section | key | type | default | allowed | meaning |\n| --- |";
    CU_ASSERT(strncmp(s, head, strlen(head)) == 0);
    int lines = 0;
    for (char *p = s; *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 2 + NKEYS);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n| data | `N` | int | 4 | [1, 64] | "));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n| train | `eta` | real | 1.0 | >= 0 | "));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n| data | `alpha` | real | 1 | > 0 | "));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n| check | `alpha_test` | real | 0.01 | (0, 1) | "));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(s, "\n| data | `geometry` | enum | orthogonal | orthogonal, conflict, correlated | "));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n| data | `rotate` | bool | true | "));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n| data | `class_weights` | real-list | (empty) | "));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n| train | `seed` | ulong | 1 | [0, "));
    free(s);
}

/* ---- parse.c ------------------------------------------------------------ */

static void test_parse_helpers(void)
{
    long l;
    unsigned long u;
    double x;
    int b, n;
    double v[3];
    const char *s = "  ab c \t";
    CU_ASSERT_EQUAL(mot_parse_trim(&s), 4);
    CU_ASSERT(strncmp(s, "ab c", 4) == 0);
    CU_ASSERT(mot_parse_long("-12 ", &l) == MOT_OK && l == -12);
    CU_ASSERT_EQUAL(mot_parse_long("12a", &l), MOT_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(mot_status_message(), "12a"));
    CU_ASSERT_EQUAL(mot_parse_long("99999999999999999999", &l), MOT_EINVAL);
    CU_ASSERT(mot_parse_ulong(" 7", &u) == MOT_OK && u == 7);
    CU_ASSERT_EQUAL(mot_parse_ulong("-7", &u), MOT_EINVAL);
    CU_ASSERT_EQUAL(mot_parse_ulong("", &u), MOT_EINVAL);
    CU_ASSERT(mot_parse_double("-0.5e1\n", &x) == MOT_OK && x == -5);
    CU_ASSERT_EQUAL(mot_parse_double("1e999", &x), MOT_EINVAL);
    CU_ASSERT(mot_parse_bool("off", &b) == MOT_OK && b == 0);
    CU_ASSERT_EQUAL(mot_parse_bool("nope", &b), MOT_EINVAL);
    CU_ASSERT(mot_parse_double_list("1,2, 3", v, 3, &n) == MOT_OK && n == 3 && v[2] == 3);
    n = -5;
    CU_ASSERT_EQUAL(mot_parse_double_list("1,2,3,4", v, 3, &n), MOT_EINVAL);
    CU_ASSERT_EQUAL(n, -5);
    CU_ASSERT(mot_parse_double_list("", v, 3, &n) == MOT_OK && n == 0);
}

int main(void)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    CU_pSuite p = CU_add_suite("parse", NULL, NULL);
    if (!s || !p)
        return 1;
    CU_add_test(s, "defaults are MODEL.md's", test_defaults_are_model_md);
    CU_add_test(s, "defaults overwrite every byte", test_defaults_overwrite_everything);
    CU_add_test(s, "set int, real, ulong", test_set_int_real_ulong);
    CU_add_test(s, "set bool", test_set_bool);
    CU_add_test(s, "set enum, enum names", test_set_enum);
    CU_add_test(s, "set real list", test_set_list);
    CU_add_test(s, "reject unknown and misplaced keys", test_reject_keys);
    CU_add_test(s, "rejection messages", test_reject_messages);
    CU_add_test(s, "reject malformed values", test_reject_malformed);
    CU_add_test(s, "reject out-of-range values", test_reject_range);
    CU_add_test(s, "every key rejects junk", test_reject_every_key);
    CU_add_test(s, "validate: checks across keys", test_validate_cross_keys);
    CU_add_test(s, "validate: values stored by code", test_validate_stored_values);
    CU_add_test(s, "load a good INI file", test_load_good);
    CU_add_test(s, "load errors carry the line", test_load_errors);
    CU_add_test(s, "load I/O errors", test_load_io_errors);
    CU_add_test(s, "load does not validate", test_load_then_validate);
    CU_add_test(s, "paper.conf is the defaults but for T1, eta, eta_r", test_paper_conf);
    CU_add_test(s, "quick.conf", test_quick_conf);
    CU_add_test(s, "JSON round trip is exact", test_json_round_trip);
    CU_add_test(s, "JSON shape", test_json_shape);
    CU_add_test(s, "JSON partial objects, integers for reals", test_json_partial_and_integers);
    CU_add_test(s, "JSON errors", test_json_errors);
    CU_add_test(s, "print the key table", test_print_table);
    CU_add_test(p, "number, bool and list parsers", test_parse_helpers);
    return run_cunit_suites();
}

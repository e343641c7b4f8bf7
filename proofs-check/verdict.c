/* verdict.c: the verdict record every checker fills (see check.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

void mot_verdict_init(mot_verdict *v, const char *claim)
{
    memset(v, 0, sizeof *v);
    snprintf(v->claim, sizeof v->claim, "%s", claim);
    v->verdict = MOT_VERDICT_INCONCLUSIVE;
    v->numbers = json_object();
}

void mot_verdict_free(mot_verdict *v)
{
    json_decref(v->numbers);
    v->numbers = NULL;
}

void mot_verdict_set(mot_verdict *v, mot_verdict_kind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);
    va_end(ap);
    v->verdict = kind;
}

void mot_verdict_num(mot_verdict *v, const char *key, double x)
{
    json_object_set_new(v->numbers, key, isfinite(x) ? json_real(x) : json_null());
}

const char *mot_verdict_name(mot_verdict_kind kind)
{
    switch (kind) {
    case MOT_VERDICT_HOLDS: return "holds";
    case MOT_VERDICT_FAILS: return "fails";
    default: return "inconclusive";
    }
}

json_t *mot_verdict_json(const mot_verdict *v)
{
    return json_pack("{s:s, s:s, s:s, s:O}", "claim", v->claim, "verdict",
                     mot_verdict_name(v->verdict), "reason", v->reason, "numbers", v->numbers);
}

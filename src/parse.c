/* parse.c: strict number, boolean and list parsing (see parse.h). Every
 * function here reads the whole string: "4x" is not 4, "" is not 0. */
#include "parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "status.h"

size_t mot_parse_trim(const char **s)
{
    const char *p = *s;
    while (isspace((unsigned char)*p))
        p++;
    size_t n = strlen(p);
    while (n > 0 && isspace((unsigned char)p[n - 1]))
        n--;
    *s = p;
    return n;
}

/* True when only whitespace follows `end`. */
static int only_space(const char *end)
{
    while (isspace((unsigned char)*end))
        end++;
    return *end == '\0';
}

int mot_parse_long(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || !only_space(end))
        return MOT_ERROR(MOT_EINVAL, "not an integer: \"%s\"", s);
    if (errno == ERANGE)
        return MOT_ERROR(MOT_EINVAL, "integer out of range: \"%s\"", s);
    *out = v;
    return MOT_OK;
}

int mot_parse_ulong(const char *s, unsigned long *out)
{
    const char *p = s;
    mot_parse_trim(&p);
    if (*p == '-')
        return MOT_ERROR(MOT_EINVAL, "not an unsigned integer: \"%s\"", s);
    char *end;
    errno = 0;
    unsigned long v = strtoul(p, &end, 10);
    if (end == p || !only_space(end))
        return MOT_ERROR(MOT_EINVAL, "not an unsigned integer: \"%s\"", s);
    if (errno == ERANGE)
        return MOT_ERROR(MOT_EINVAL, "integer out of range: \"%s\"", s);
    *out = v;
    return MOT_OK;
}

/* strtod with the checks of mot_parse_double, but stopping wherever the
 * number ends: *endp is set there. Returns MOT_OK or MOT_EINVAL (no message:
 * the callers word it). */
static int parse_double_prefix(const char *s, double *out, const char **endp)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || !isfinite(v) || (errno == ERANGE && v == 0.0))
        return MOT_EINVAL;
    *out = v;
    *endp = end;
    return MOT_OK;
}

int mot_parse_double(const char *s, double *out)
{
    const char *end;
    double v;
    if (parse_double_prefix(s, &v, &end) != MOT_OK || !only_space(end))
        return MOT_ERROR(MOT_EINVAL, "not a finite number: \"%s\"", s);
    *out = v;
    return MOT_OK;
}

int mot_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", "1"};
    static const char *const no[] = {"false", "no", "off", "0"};
    const char *p = s;
    size_t n = mot_parse_trim(&p);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strlen(yes[i]) == n && strncmp(p, yes[i], n) == 0) {
            *out = 1;
            return MOT_OK;
        }
        if (strlen(no[i]) == n && strncmp(p, no[i], n) == 0) {
            *out = 0;
            return MOT_OK;
        }
    }
    return MOT_ERROR(MOT_EINVAL, "not a boolean: \"%s\"", s);
}

int mot_parse_double_list(const char *s, double *out, int max, int *n)
{
    const char *p = s;
    if (mot_parse_trim(&p) == 0) {
        *n = 0;
        return MOT_OK;
    }
    int count = 0;
    for (;;) {
        const char *end;
        double v;
        if (count == max)
            return MOT_ERROR(MOT_EINVAL, "more than %d items: \"%s\"", max, s);
        if (parse_double_prefix(p, &v, &end) != MOT_OK)
            return MOT_ERROR(MOT_EINVAL, "not a list of finite numbers: \"%s\"", s);
        out[count++] = v;
        while (isspace((unsigned char)*end))
            end++;
        if (*end == '\0')
            break;
        if (*end != ',')
            return MOT_ERROR(MOT_EINVAL, "not a list of finite numbers: \"%s\"", s);
        p = end + 1;
    }
    *n = count;
    return MOT_OK;
}

const char *mot_parse_shown(const char *s, size_t n, char buf[MOT_PARSE_SHOWN_CAP])
{
    size_t o = 0, i;
    for (i = 0; i < n && i < 80; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            o += (size_t)snprintf(buf + o, 5, "\\x%02x", ch);
        else
            buf[o++] = (char)ch;
    }
    strcpy(buf + o, i < n ? "..." : "");
    return buf;
}

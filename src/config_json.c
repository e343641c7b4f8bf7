/* config_json.c: a configuration as JSON (see config.h): the writer
 * mot_config_to_json (config.json of a run, one object per section) and the
 * reader mot_config_from_json, which turns each value back into text and
 * sets it through config.c's setter, so that JSON and INI values meet the
 * same checks. It has no keys of its own: they come from the table of
 * config.c (config_table.h); the INI reader and the validator are there. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config_table.h"
#include "status.h"

/* The JSON value of key `k`, NULL on ENOMEM or when the stored value has no
 * JSON form (a non-finite real, an enum out of range). */
static json_t *value_to_json(const mot_config *c, const key_info *k)
{
    const char *field = (const char *)c + k->offset;
    switch (k->type) {
    case KEY_INT:
        return json_integer(*(const int *)field);
    case KEY_REAL:
        return json_real(*(const double *)field);
    case KEY_BOOL:
        return json_boolean(*(const int *)field);
    case KEY_ENUM: {
        int v = *(const int *)field;
        return v >= 0 && v < config_count_names(k) ? json_string(k->names[v]) : NULL;
    }
    case KEY_LIST: {
        int n = *(const int *)((const char *)c + k->count_offset);
        json_t *a = n >= 0 && n <= MOT_MAX_CLASSES ? json_array() : NULL;
        for (int i = 0; a && i < n; i++)
            if (json_array_append_new(a, json_real(((const double *)field)[i])) != 0) {
                json_decref(a);
                a = NULL;
            }
        return a;
    }
    case KEY_ULONG: {
        unsigned long v = *(const unsigned long *)field;
        return v <= SEED_MAX ? json_integer((json_int_t)v) : NULL;
    }
    }
    return NULL;
}

json_t *mot_config_to_json(const mot_config *c)
{
    json_t *root = json_object();
    for (size_t i = 0; root && i < config_nkeys; i++) {
        json_t *sec = json_object_get(root, config_keys[i].section);
        if (!sec && json_object_set_new(root, config_keys[i].section, sec = json_object()) != 0)
            break;
        if (json_object_set_new(sec, config_keys[i].name, value_to_json(c, &config_keys[i])) != 0)
            break;
        if (i + 1 == config_nkeys)
            return root;
    }
    json_decref(root);
    return NULL;
}

/* Writes a JSON number as text that strtod reads back to the same double. */
static void number_text(const json_t *v, char *buf, size_t size)
{
    if (json_is_integer(v))
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else
        snprintf(buf, size, "%.17g", json_real_value(v));
}

/* Sets `k` from a JSON value by writing it as text for set_entry, so that
 * JSON and INI values go through the same checks. */
static int set_from_json(mot_config *c, const key_info *k, const json_t *v)
{
    char text[MOT_MAX_CLASSES * 32];
    const char *src = text;
    int ok = 1;
    text[0] = '\0';
    switch (k->type) {
    case KEY_INT:
    case KEY_ULONG:
    case KEY_REAL:
        ok = k->type == KEY_REAL ? json_is_number(v) : json_is_integer(v);
        if (ok)
            number_text(v, text, sizeof text);
        break;
    case KEY_BOOL:
        ok = json_is_boolean(v);
        src = json_is_true(v) ? "true" : "false";
        break;
    case KEY_ENUM:
        ok = json_is_string(v);
        src = ok ? json_string_value(v) : "";
        break;
    case KEY_LIST: {
        size_t n = json_array_size(v), used = 0;
        ok = json_is_array(v) && n <= MOT_MAX_CLASSES;
        for (size_t i = 0; ok && i < n; i++) {
            ok = json_is_number(json_array_get(v, i));
            if (ok)
                number_text(json_array_get(v, i), text + used, sizeof text - used);
            used = strlen(text);
            if (ok && i + 1 < n && used + 1 < sizeof text) {
                text[used++] = ',';
                text[used] = '\0';
            }
        }
        break;
    }
    }
    if (ok)
        return config_set_entry(c, k, src);
    char *dump = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    int rc = config_reject(k, dump ? dump : "?", 0);
    free(dump);
    return rc;
}

int mot_config_from_json(mot_config *c, const json_t *obj)
{
    if (!json_is_object(obj))
        return MOT_ERROR(MOT_EINVAL, "config JSON must be an object of sections");
    mot_config tmp;
    memcpy(&tmp, c, sizeof tmp);
    const char *sname, *name;
    json_t *sec, *v;
    char buf[SHOWN_CAP];
    json_object_foreach((json_t *)obj, sname, sec) {
        if (!config_is_section(sname, strlen(sname)))
            return MOT_ERROR(MOT_EINVAL, "unknown section [%s]", config_shown(sname, strlen(sname), buf));
        if (!json_is_object(sec))
            return MOT_ERROR(MOT_EINVAL, "section [%s] must be a JSON object", sname);
        json_object_foreach(sec, name, v) {
            const key_info *k = config_find_key(name);
            if (!k)
                return MOT_ERROR(MOT_EINVAL, "unknown key \"%s\"", config_shown(name, strlen(name), buf));
            if (strcmp(k->section, sname) != 0)
                return config_wrong_section(k, sname, strlen(sname));
            if (set_from_json(&tmp, k, v) != MOT_OK)
                return MOT_EINVAL;
        }
    }
    memcpy(c, &tmp, sizeof tmp);
    return MOT_OK;
}

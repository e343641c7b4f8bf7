/* fuzz_config.c: libFuzzer harness of the config file readers. An input that
 * starts with '{' is a config.json (what `mot check` reads back through
 * mot_config_from_json); any other input is an INI config file for
 * mot_config_load. Whatever the input, the reader either accepts it (and
 * mot_config_validate then accepts or refuses the result with a message) or
 * refuses it with MOT_EINVAL and a one-line message, leaving the config
 * untouched. An accepted config must survive the JSON round trip unchanged.
 * Not a test of which configs are right: tests/test_config.c does that. */
#include "fuzz.h"

#include <jansson.h>

#include "config.h"

static void check_accepted(const mot_config *c)
{
    int status = mot_config_validate(c);
    if (status != MOT_OK)
        fuzz_check_rejection(status, FUZZ_BIT(MOT_EINVAL), "mot_config_validate");
    /* What the run writes as config.json reads back as the same config. */
    json_t *j = mot_config_to_json(c);
    if (!j) {
        fprintf(stderr, "mot_config_to_json failed on an accepted config\n");
        abort();
    }
    char *text = json_dumps(j, JSON_REAL_PRECISION(17) | JSON_PRESERVE_ORDER);
    json_decref(j);
    json_error_t err;
    json_t *read = text ? json_loads(text, 0, &err) : NULL;
    mot_config back;
    mot_config_defaults(&back);
    if (!read || mot_config_from_json(&back, read) != MOT_OK || memcmp(&back, c, sizeof back) != 0) {
        fprintf(stderr, "config.json round trip changed the config: %s\n", mot_status_message());
        abort();
    }
    json_decref(read);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mot_config c, before;
    mot_config_defaults(&c);
    memcpy(&before, &c, sizeof c);
    mot_status_clear();
    int status;
    if (size > 0 && data[0] == '{') {
        json_error_t err;
        json_t *j = json_loadb((const char *)data, size, 0, &err);
        if (!j)
            return 0;   /* jansson's own parser is not under test */
        status = mot_config_from_json(&c, j);
        json_decref(j);
    } else {
        const char *path = fuzz_path("fuzz.conf");
        fuzz_write(path, data, size);
        status = mot_config_load(&c, path);
    }
    if (status == MOT_OK) {
        check_accepted(&c);
    } else {
        fuzz_check_rejection(status, FUZZ_BIT(MOT_EINVAL), "config reader");
        if (memcmp(&c, &before, sizeof c) != 0) {
            fprintf(stderr, "a refused config changed the config\n");
            abort();
        }
    }
    return 0;
}

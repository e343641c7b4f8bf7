/* fuzz_set.c: libFuzzer harness of `--set key=value` (mot_config_set). The
 * input is "key=value" as the command line gives it (split at the first
 * '='; without one, the whole input is the key and the value is empty),
 * possibly several separated by NUL bytes (argv strings cannot hold one),
 * applied in order as repeated --set options are. Each either sets its key or is refused with MOT_EINVAL and a
 * one-line message, leaving the config untouched; the result is validated
 * like cli_parse does. Not a test of which values are right:
 * tests/test_config.c does that. */
#include "fuzz.h"

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    mot_config c, before;
    mot_config_defaults(&c);
    for (char *line = text, *next; line; line = next) {
        next = line + strlen(line) < text + size ? line + strlen(line) + 1 : NULL;
        char *eq = strchr(line, '=');
        const char *value = "";
        if (eq) {
            *eq = '\0';
            value = eq + 1;
        }
        memcpy(&before, &c, sizeof c);
        mot_status_clear();
        int status = mot_config_set(&c, line, value);
        if (status != MOT_OK) {
            fuzz_check_rejection(status, FUZZ_BIT(MOT_EINVAL), "mot_config_set");
            if (memcmp(&c, &before, sizeof c) != 0) {
                fprintf(stderr, "a refused --set changed the config\n");
                abort();
            }
        }
    }
    int status = mot_config_validate(&c);
    if (status != MOT_OK)
        fuzz_check_rejection(status, FUZZ_BIT(MOT_EINVAL), "mot_config_validate");
    free(text);
    return 0;
}

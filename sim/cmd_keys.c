/* cmd_keys.c: `mot keys`: every config key with its default, allowed range
 * and meaning, as a Markdown table, printed from the parser's own table (the
 * README's key list is this output). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"

int cmd_keys(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        puts("usage: mot keys\n\nPrints every config key as a Markdown table.");
        return EXIT_OK;
    }
    if (argc > 1) {
        cli_error("mot keys takes no arguments (got %s)", argv[1]);
        return EXIT_USAGE;
    }
    mot_config_print_table(stdout);
    return EXIT_OK;
}

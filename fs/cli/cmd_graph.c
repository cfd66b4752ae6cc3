/* cmd_graph.c - `ckptfs graph` (see cli.h). */
#include "cli.h"

#include "exitcodes.h"
#include "metagraph.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int graph_usage(void)
{
    fprintf(stderr, "usage: ckptfs graph SOURCE [--format pbtxt|meta|dot|objects|savedmodel]\n");
    return CKPTFS_EXIT_USAGE;
}

int cli_graph(int argc, char **argv)
{
    const char *source = NULL, *format = "pbtxt";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "-f") == 0) {
            if (++i >= argc)
                return graph_usage();
            format = argv[i];
        } else if (strncmp(argv[i], "--format=", 9) == 0) {
            format = argv[i] + 9;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            graph_usage();
            return CKPTFS_EXIT_OK;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ckptfs graph: unknown option %s\n", argv[i]);
            return graph_usage();
        } else if (!source) {
            source = argv[i];
        } else {
            return graph_usage();
        }
    }
    int fmt = ckpt_graph_format_parse(format);
    if (!source || fmt < 0) {
        if (fmt < 0)
            fprintf(stderr, "ckptfs graph: unknown format '%s'\n", format);
        return graph_usage();
    }

    ckpt_err err;
    ckpt_err_clear(&err);
    ckpt_graph_doc *doc;
    int r = ckpt_graph_open_source(source, (ckpt_graph_format)fmt, &doc, &err);
    if (r) {
        fprintf(stderr, "ckptfs: %s\n", err.msg);
        return ckptfs_exit_for(r);
    }
    if (!ckpt_graph_has(doc, (ckpt_graph_format)fmt)) {
        fprintf(stderr, "ckptfs: %s has no '%s' rendering\n", source, format);
        ckpt_graph_close(doc);
        return CKPTFS_EXIT_USAGE;
    }
    /* Validate everything first: no partial text on stdout for a damaged file. */
    uint64_t size;
    r = ckpt_graph_size(doc, (ckpt_graph_format)fmt, &size, &err);
    if (!r) {
        fflush(stdout);
        r = ckpt_graph_render_fd(doc, (ckpt_graph_format)fmt, STDOUT_FILENO, NULL, &err);
    }
    ckpt_graph_close(doc);
    if (r) {
        fprintf(stderr, "ckptfs: %s: %s\n", source, err.msg);
        return r == CKPT_E_IO ? CKPTFS_EXIT_READ : ckptfs_exit_for(r);
    }
    return CKPTFS_EXIT_OK;
}

/* cmd_graph.c - `ckptfs graph` (see cli.h). */
#include "cli.h"

#include "exitcodes.h"
#include "metagraph.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/*
 * `ckptfs graph SOURCE [--format pbtxt|meta|dot|objects|savedmodel]`: a checkpoint's or
 * SavedModel's graph exactly as TensorFlow's text_format.MessageToString prints it (see
 * reader/text/metagraph.h for the formats and how SOURCE is resolved). The text is validated by a
 * counting pass before the first byte is written, so a damaged file prints nothing and exits
 * with CKPTFS_EXIT_CORRUPT.
 */
static int cli_graph(int argc, char **argv);

const cli_command cli_graph_command = {
    "graph",
    cli_graph,
    "print a checkpoint's or SavedModel's graph as text",
    "usage: ckptfs graph SOURCE [--format pbtxt|meta|dot|objects|savedmodel]\n"
    "Print the graph of SOURCE exactly as TensorFlow's text_format.MessageToString does:\n"
    "  pbtxt       the GraphDef of PREFIX.meta (a SavedModel: of its first MetaGraphDef)\n"
    "  meta        the whole MetaGraphDef\n"
    "  dot         the GraphDef for Graphviz (dot -Tsvg)\n"
    "  objects     a TF2 checkpoint's object graph (_CHECKPOINTABLE_OBJECT_GRAPH)\n"
    "  savedmodel  the whole SavedModel (saved_model.pb)\n"
    "SOURCE is resolved as for every command (a sharded V1 save's files find BASE.meta);\n"
    "a .meta or saved_model.pb file may be given directly. Nothing is printed for a damaged\n"
    "file (exit 3).\n",
};

static int graph_usage(void)
{
    return cli_usage_error(&cli_graph_command, "expected SOURCE and at most one --format");
}

static int cli_graph(int argc, char **argv)
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
            return cli_help(&cli_graph_command);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage_error(&cli_graph_command, "unknown option %s", argv[i]);
        } else if (!source) {
            source = argv[i];
        } else {
            return graph_usage();
        }
    }
    int fmt = ckpt_graph_format_parse(format);
    if (!source || fmt < 0) {
        if (fmt < 0)
            return cli_usage_error(&cli_graph_command, "unknown format '%s'", format);
        return graph_usage();
    }

    ckpt_err err;
    ckpt_err_clear(&err);
    ckpt_graph_doc *doc;
    int r = ckpt_graph_open_source(source, (ckpt_graph_format)fmt, &doc, &err);
    if (r) {
        cli_error(source, err.msg);
        return ckptfs_exit_for(r);
    }
    if (!ckpt_graph_has(doc, (ckpt_graph_format)fmt)) {
        char msg[160];
        snprintf(msg, sizeof msg, "has no '%.100s' rendering", format);
        cli_error(source, msg);
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
        cli_error(source, err.msg);
        return r == CKPT_E_IO ? CKPTFS_EXIT_READ : ckptfs_exit_for(r);
    }
    return CKPTFS_EXIT_OK;
}

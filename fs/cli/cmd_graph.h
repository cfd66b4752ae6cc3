/*
 * cmd_graph.h - `ckptfs graph SOURCE [--format pbtxt|meta|dot|objects|savedmodel]`.
 *
 * Writes a checkpoint's or SavedModel's graph to stdout exactly as TensorFlow's
 * text_format.MessageToString prints it (see reader/metagraph.h for what each format is and
 * how SOURCE is resolved). The text is validated by a counting pass before the first byte is
 * written, so a damaged file prints nothing and exits with CKPTFS_EXIT_CORRUPT.
 */
#ifndef CKPTFS_CMD_GRAPH_H
#define CKPTFS_CMD_GRAPH_H

/* argv[0] is "graph"; returns the process exit status (exitcodes.h). */
int ckpt_cmd_graph(int argc, char **argv);

#endif

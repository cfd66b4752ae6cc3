/*
 * fuzz_graph.c - the protobuf wire walker and text printer, the DOT renderer and the graph
 * documents: the first byte picks what the rest is (a PREFIX.meta MetaGraphDef, a
 * saved_model.pb, or a TrackableObjectGraph as an object-graph tensor holds it).
 */
#include "fuzz.h"
#include "metagraph.h"
#include "pbtext.h"
#include "trackable_object_graph.pb-c.h"

static const ckpt_graph_format formats[] = {CKPT_GRAPH_PBTXT, CKPT_GRAPH_META, CKPT_GRAPH_DOT,
                                            CKPT_GRAPH_SAVEDMODEL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ckpt_err err;
    ckpt_err_clear(&err);
    int pick = data[0] % 3;
    if (pick == 2) {
        ckpt_pb_seg seg = {data + 1, size - 1};
        uint64_t n = 0;
        ckpt_pbtext_print(&tensorflow__trackable_object_graph__descriptor, &seg, 1, NULL,
                          ckpt_pbtext_count_sink, &n, &err);
        return 0;
    }
    const char *path = fuzz_write(pick ? "saved_model.pb" : "m.meta", data + 1, size - 1);
    ckpt_graph_doc *d;
    if (!path ||
        ckpt_graph_open_file(NULL, path, pick ? CKPT_GRAPH_KIND_SAVEDMODEL : CKPT_GRAPH_KIND_META,
                             &d, &err))
        return 0;
    for (size_t k = 0; k < sizeof formats / sizeof formats[0]; k++) {
        uint64_t n;
        if (ckpt_graph_has(d, formats[k]))
            ckpt_graph_size(d, formats[k], &n, &err);
    }
    ckpt_graph_close(d);
    return 0;
}

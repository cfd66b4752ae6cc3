/*
 * signatures.c - see signatures.h.
 *
 * The text follows saved_model_cli's `show --all` (TF 2.21, tensorflow/python/tools/
 * saved_model_cli.py): for each MetaGraphDef sorted by its tag list, its SignatureDefs sorted
 * by key with their inputs and outputs sorted by key, then the ops the graph uses (graph nodes
 * plus the nodes of every function they reach through the library or a (Stateful)
 * PartitionedCall's `f`), then, if any MetaGraphDef has an object graph, the root object's
 * functions sorted by name with each concrete function's input signature.
 *
 * The large parts (the graph) are walked on the wire (pbtext.h iterators over the mapping);
 * only small messages (one SignatureDef, the SavedObjectGraph) are unpacked with protobuf-c.
 */
#include "signatures.h"
#include "util.h"

#include "mapfile.h"

#include "dtype.h"
#include "pbmsg.h"
#include "pbtext.h"
#include "sigops.h"

#include "meta_graph.pb-c.h"
#include "saved_object_graph.pb-c.h"
#include "struct.pb-c.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Field numbers used on the wire. */
enum {
    SM_META_GRAPHS = 2,
    MG_META_INFO = 1,
    MG_GRAPH = 2,
    MG_SIGNATURE_DEF = 5,
    MG_OBJECT_GRAPH = 7,
    MI_TAGS = 4,
};

typedef ckpt_sigstr str;

static void put(ckpt_strbuf *b, const char *s)
{
    ckpt_strbuf_puts(b, s);
}

static void putn(ckpt_strbuf *b, const void *p, size_t n)
{
    ckpt_strbuf_put(b, p, n);
}

/* Python's repr() of a str holding these UTF-8 bytes (non-ASCII taken as printable). */
static void put_repr(ckpt_strbuf *b, const uint8_t *s, size_t n)
{
    int sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
    char q = sq && !dq ? '"' : '\'';
    putn(b, &q, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        char tmp[8];
        if (c == '\\' || c == (unsigned char)q) {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            putn(b, tmp, 2);
        } else if (c == '\n') {
            put(b, "\\n");
        } else if (c == '\r') {
            put(b, "\\r");
        } else if (c == '\t') {
            put(b, "\\t");
        } else if (c < 0x20 || c == 0x7f) {
            snprintf(tmp, sizeof tmp, "\\x%02x", c);
            put(b, tmp);
        } else {
            putn(b, &c, 1);
        }
    }
    putn(b, &q, 1);
}

static void put_repr_c(ckpt_strbuf *b, const char *s)
{
    put_repr(b, (const uint8_t *)s, strlen(s));
}

/* --- one MetaGraphDef --------------------------------------------------------------------- */

typedef struct mgraph {
    const uint8_t *p;
    size_t n;
    str *tags;
    size_t ntags;
    int has_objects;
} mgraph;

static int cmp_tags(const mgraph *a, const mgraph *b)
{
    for (size_t i = 0; i < a->ntags && i < b->ntags; i++) {
        int r = ckpt_sigstr_cmp(a->tags[i], b->tags[i]);
        if (r)
            return r;
    }
    return a->ntags < b->ntags ? -1 : a->ntags > b->ntags;
}

static const char *dtype_enum(int dtype, char *buf, size_t size)
{
    if (dtype == 0)
        return "DT_INVALID";
    const char *e = ckpt_dtype_enum_name(dtype);
    if (e)
        return e;
    if (dtype > 100 && (e = ckpt_dtype_enum_name(dtype - 100))) {
        snprintf(buf, size, "%s_REF", e);
        return buf;
    }
    snprintf(buf, size, "%d", dtype);
    return buf;
}

static void print_tensor_info(ckpt_strbuf *b, const Tensorflow__TensorInfo *ti)
{
    char tmp[64];
    put(b, "        dtype: ");
    put(b, dtype_enum(ti ? (int)ti->dtype : 0, tmp, sizeof tmp));
    put(b, "\n        shape: ");
    const Tensorflow__TensorShapeProto *sh = ti ? ti->tensor_shape : NULL;
    if (sh && sh->unknown_rank) {
        put(b, "unknown_rank");
    } else {
        put(b, "(");
        for (size_t k = 0; sh && k < sh->n_dim; k++) {
            snprintf(tmp, sizeof tmp, "%s%" PRId64, k ? ", " : "", sh->dim[k]->size);
            put(b, tmp);
        }
        put(b, ")");
    }
    put(b, "\n        name: ");
    if (ti && ti->encoding_case == TENSORFLOW__TENSOR_INFO__ENCODING_NAME && ti->name)
        put(b, ti->name);
    put(b, "\n");
}

/* Entries of a proto map as (key, message) pairs sorted by key, the last of equal keys kept. */
typedef struct kv {
    const char *key;
    const void *val;
    size_t order;
} kv;

static int cmp_kv(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    int r = strcmp(x->key, y->key);
    return r ? r : (x->order < y->order ? -1 : x->order > y->order);
}

/* Sort and drop all but the last of each key; returns the new count. */
static size_t sort_unique(kv *e, size_t n)
{
    if (n == 0)
        return 0; /* e may be NULL: qsort must not see it */
    qsort(e, n, sizeof *e, cmp_kv);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && !strcmp(e[m - 1].key, e[i].key))
            e[m - 1] = e[i];
        else
            e[m++] = e[i];
    }
    return m;
}

static int print_io(ckpt_strbuf *b, const char *what, size_t n, void **entries)
{
    kv *e = calloc(n ? n : 1, sizeof *e);
    if (!e)
        return -1;
    for (size_t i = 0; i < n; i++) {
        /* InputsEntry and OutputsEntry have the same layout. */
        const Tensorflow__SignatureDef__InputsEntry *x = entries[i];
        e[i] = (kv){x->key, x->value, i};
    }
    n = sort_unique(e, n);
    for (size_t i = 0; i < n; i++) {
        put(b, "    ");
        put(b, what);
        put(b, "['");
        put(b, e[i].key);
        put(b, "'] tensor_info:\n");
        print_tensor_info(b, e[i].val);
    }
    free(e);
    return 0;
}

/* Every signature_def entry of mg, unpacked, in wire order (kv.val: the entry message). */
static int unpack_signatures(const mgraph *mg, kv **out, size_t *n, ckpt_err *err)
{
    const ProtobufCMessageDescriptor *desc =
        &tensorflow__meta_graph_def__signature_def_entry__descriptor;
    ckpt_pb_msg m;
    ckpt_pb_field f;
    int r;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    ckpt_pb_msg_init(&m, mg->p, mg->n, err);
    while ((r = ckpt_pb_msg_next_len(&m, MG_SIGNATURE_DEF, &f)) > 0) {
        /* protobuf-c recurses without a limit (SignatureDef reaches StructuredValue, which
         * nests): refuse what TensorFlow's parser refuses before it can overflow the stack. */
        if ((r = ckpt_pb_validate(desc, f.p, f.n, CKPT_PB_MAX_DEPTH, err))) {
            ckpt_err_prefix(err, "a signature_def entry");
            return r;
        }
        if (ckpt_grow((void **)out, &cap, *n + 1, sizeof **out))
            return ckpt_sig_nomem(err);
        ProtobufCMessage *msg = protobuf_c_message_unpack(desc, NULL, f.n, f.p);
        if (!msg)
            return ckpt_err_set(err, CKPT_E_CORRUPT, "a signature_def entry does not parse");
        const Tensorflow__MetaGraphDef__SignatureDefEntry *se = (const void *)msg;
        (*out)[*n] = (kv){se->key, msg, *n};
        (*n)++;
    }
    return r;
}

static int print_signature(ckpt_strbuf *b, const Tensorflow__MetaGraphDef__SignatureDefEntry *se,
                           ckpt_err *err)
{
    const Tensorflow__SignatureDef *sd = se->value;
    int r = 0;
    put(b, "\nsignature_def['");
    put(b, se->key);
    put(b, "']:\n");
    put(b, "  The given SavedModel SignatureDef contains the following input(s):\n");
    if (sd && print_io(b, "inputs", sd->n_inputs, (void **)sd->inputs))
        r = ckpt_sig_nomem(err);
    put(b, "  The given SavedModel SignatureDef contains the following output(s):\n");
    if (sd && print_io(b, "outputs", sd->n_outputs, (void **)sd->outputs))
        r = ckpt_sig_nomem(err);
    put(b, "  Method name is: ");
    if (sd && sd->method_name)
        put(b, sd->method_name);
    put(b, "\n");
    return r;
}

static int print_signatures(ckpt_strbuf *b, const mgraph *mg, ckpt_err *err)
{
    kv *all, *view = NULL;
    size_t n;
    int r = unpack_signatures(mg, &all, &n, err);
    /* Print a sorted unique view; every unpacked entry stays in `all` for freeing. */
    if (r >= 0 && !(view = malloc((n ? n : 1) * sizeof *view)))
        r = ckpt_sig_nomem(err);
    if (r >= 0) {
        if (n) /* all is NULL when there are none */
            memcpy(view, all, n * sizeof *view);
        size_t m = sort_unique(view, n);
        for (size_t i = 0; i < m && r >= 0; i++)
            r = print_signature(b, view[i].val, err);
    }
    for (size_t i = 0; i < n; i++)
        protobuf_c_message_free_unpacked((ProtobufCMessage *)all[i].val, NULL);
    free(view);
    free(all);
    return r < 0 ? r : 0;
}

/* Python's str() of a list of str: "['a', 'b']" (here without the brackets). */
static void put_repr_list(ckpt_strbuf *b, const str *v, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        if (k)
            put(b, ", ");
        put_repr(b, v[k].p, v[k].n);
    }
}

static int print_ops(ckpt_strbuf *b, const mgraph *mg, ckpt_err *err)
{
    ckpt_pb_seg seg = {mg->p, mg->n}, *graph = NULL;
    size_t ngraph = 0;
    int r = ckpt_pb_field_segs(&seg, 1, MG_GRAPH, -1, &graph, &ngraph, err);
    if (r)
        return r;
    str *ops;
    size_t nops;
    r = ckpt_sig_graph_ops(graph, ngraph, &ops, &nops, err);
    free(graph);
    if (r)
        return r;
    put(b, "The MetaGraph with tag set [");
    put_repr_list(b, mg->tags, mg->ntags);
    put(b, "] contains the following ops: ");
    if (!nops) {
        put(b, "set()");
    } else {
        put(b, "{");
        put_repr_list(b, ops, nops);
        put(b, "}");
    }
    put(b, "\n");
    free(ops);
    return 0;
}

/* --- concrete functions (from the SavedObjectGraph) ------------------------------------- */

static void put_python_dtype(ckpt_strbuf *b, int dtype)
{
    char tmp[40];
    put(b, "tf.");
    put(b, ckpt_dtype_name(dtype, tmp, sizeof tmp));
}

/* str(TensorShape) */
static void put_shape(ckpt_strbuf *b, const Tensorflow__TensorShapeProto *sh)
{
    char tmp[32];
    if (sh && sh->unknown_rank) {
        put(b, "<unknown>");
        return;
    }
    size_t n = sh ? sh->n_dim : 0;
    put(b, "(");
    for (size_t k = 0; k < n; k++) {
        if (k)
            put(b, ", ");
        int64_t d = sh->dim[k]->size;
        if (d < 0)
            put(b, "None");
        else {
            snprintf(tmp, sizeof tmp, "%" PRId64, d);
            put(b, tmp);
        }
    }
    put(b, n == 1 ? ",)" : ")");
}

/* repr(TensorSpec) */
static void put_tensor_spec(ckpt_strbuf *b, const Tensorflow__TensorSpecProto *ts)
{
    put(b, "TensorSpec(shape=");
    put_shape(b, ts->shape);
    put(b, ", dtype=");
    put_python_dtype(b, (int)ts->dtype);
    put(b, ", name=");
    if (ts->name && ts->name[0])
        put_repr_c(b, ts->name);
    else
        put(b, "None");
    put(b, ")");
}

static void put_value(ckpt_strbuf *b, const Tensorflow__StructuredValue *v, int quote_str);

/* Python type name of a decoded StructuredValue. */
static const char *type_name(const Tensorflow__StructuredValue *v)
{
    switch (v->kind_case) {
    case TENSORFLOW__STRUCTURED_VALUE__KIND_NONE_VALUE: return "NoneType";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_FLOAT64_VALUE: return "float";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_INT64_VALUE: return "int";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_STRING_VALUE: return "str";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_BOOL_VALUE: return "bool";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_SHAPE_VALUE: return "TensorShape";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_DTYPE_VALUE: return "DType";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_SPEC_VALUE: return "TensorSpec";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_BOUNDED_TENSOR_SPEC_VALUE: return "BoundedTensorSpec";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TYPE_SPEC_VALUE: {
        const char *cls = v->type_spec_value->type_spec_class_name;
        return cls && cls[0] ? cls : "TypeSpec";
    }
    case TENSORFLOW__STRUCTURED_VALUE__KIND_LIST_VALUE: return "list";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TUPLE_VALUE: return "tuple";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_DICT_VALUE: return "dict";
    case TENSORFLOW__STRUCTURED_VALUE__KIND_NAMED_TUPLE_VALUE:
        return v->named_tuple_value->name ? v->named_tuple_value->name : "tuple";
    default: return "object";
    }
}

/* Elements of a sequence-like value (list, tuple, named tuple); NULL for others. */
static Tensorflow__StructuredValue **seq_items(const Tensorflow__StructuredValue *v, size_t *n)
{
    switch (v->kind_case) {
    case TENSORFLOW__STRUCTURED_VALUE__KIND_LIST_VALUE:
        *n = v->list_value->n_values;
        return v->list_value->values;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TUPLE_VALUE:
        *n = v->tuple_value->n_values;
        return v->tuple_value->values;
    default: *n = 0; return NULL;
    }
}

/* A dict entry's value: an absent one prints as None. */
static void put_value_or_none(ckpt_strbuf *b, const Tensorflow__StructuredValue *v)
{
    if (v)
        put_value(b, v, 1);
    else
        put(b, "None");
}

/* str(value) (quote_str: a str gets quotes, as _maybe_add_quotes does; nested values use
 * repr). */
static void put_value(ckpt_strbuf *b, const Tensorflow__StructuredValue *v, int quote_str)
{
    char tmp[40];
    size_t n;
    Tensorflow__StructuredValue **items;
    switch (v->kind_case) {
    case TENSORFLOW__STRUCTURED_VALUE__KIND_NONE_VALUE: put(b, "None"); return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_FLOAT64_VALUE:
        ckpt_pbtext_format_double(v->float64_value, tmp);
        put(b, tmp);
        return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_INT64_VALUE:
        snprintf(tmp, sizeof tmp, "%" PRId64, v->int64_value);
        put(b, tmp);
        return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_STRING_VALUE:
        if (quote_str)
            put_repr_c(b, v->string_value);
        else
            put(b, v->string_value);
        return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_BOOL_VALUE:
        put(b, v->bool_value ? "True" : "False");
        return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_SHAPE_VALUE:
        put_shape(b, v->tensor_shape_value);
        return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_DTYPE_VALUE:
        put_python_dtype(b, (int)v->tensor_dtype_value);
        return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_SPEC_VALUE:
        put_tensor_spec(b, v->tensor_spec_value);
        return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_LIST_VALUE:
    case TENSORFLOW__STRUCTURED_VALUE__KIND_TUPLE_VALUE:
        items = seq_items(v, &n);
        put(b, v->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_LIST_VALUE ? "[" : "(");
        for (size_t k = 0; k < n; k++) {
            if (k)
                put(b, ", ");
            put_value(b, items[k], 1);
        }
        if (v->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_TUPLE_VALUE && n == 1)
            put(b, ",");
        put(b, v->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_LIST_VALUE ? "]" : ")");
        return;
    case TENSORFLOW__STRUCTURED_VALUE__KIND_DICT_VALUE: {
        const Tensorflow__DictValue *d = v->dict_value;
        put(b, "{");
        for (size_t k = 0; k < d->n_fields; k++) {
            if (k)
                put(b, ", ");
            put_repr_c(b, d->fields[k]->key);
            put(b, ": ");
            put_value_or_none(b, d->fields[k]->value);
        }
        put(b, "}");
        return;
    }
    default:
        put(b, "<");
        put(b, type_name(v));
        put(b, ">");
        return;
    }
}

/* One argument of _print_args (indent=4): a str, a TensorSpec, or a value with its type. */
static void print_arg(ckpt_strbuf *b, const Tensorflow__StructuredValue *e)
{
    const char *ind = "        ";
    size_t m;
    Tensorflow__StructuredValue **items;
    if (e->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_STRING_VALUE) {
        put(b, ind);
        put(b, "  ");
        put(b, e->string_value);
        put(b, "\n");
    } else if (e->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_TENSOR_SPEC_VALUE) {
        const Tensorflow__TensorSpecProto *ts = e->tensor_spec_value;
        put(b, "          ");
        put(b, ts->name && ts->name[0] ? ts->name : "None");
        put(b, ": ");
        put_tensor_spec(b, ts);
        put(b, "\n");
    } else if ((items = seq_items(e, &m)) != NULL ||
               e->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_LIST_VALUE ||
               e->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_TUPLE_VALUE) {
        put(b, ind);
        put(b, "  DType: ");
        put(b, type_name(e));
        put(b, "\n");
        put(b, ind);
        put(b, "  Value: [");
        for (size_t j = 0; j < m; j++) {
            put_value(b, items[j], 1);
            put(b, ", ");
        }
        put(b, "\b\b]\n");
    } else if (e->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_DICT_VALUE) {
        const Tensorflow__DictValue *d = e->dict_value;
        put(b, ind);
        put(b, "  DType: dict\n");
        put(b, ind);
        put(b, "  Value: {");
        for (size_t j = 0; j < d->n_fields; j++) {
            put(b, "'");
            put(b, d->fields[j]->key);
            put(b, "': ");
            put_value_or_none(b, d->fields[j]->value);
            put(b, ", ");
        }
        put(b, "\b\b}\n");
    } else {
        put(b, ind);
        put(b, "  DType: ");
        put(b, type_name(e));
        put(b, "\n");
        put(b, ind);
        put(b, "  Value: ");
        put_value(b, e, 0);
        put(b, "\n");
    }
}

/* _print_args(arguments, argument_type, indent=4) over a sequence of values. */
static void print_args(ckpt_strbuf *b, Tensorflow__StructuredValue **args, size_t n,
                       const char *argtype)
{
    char tmp[64];
    for (size_t k = 0; k < n; k++) {
        snprintf(tmp, sizeof tmp, "        %s #%zu\n", argtype, k + 1);
        put(b, tmp);
        print_arg(b, args[k]);
    }
}

static const Tensorflow__SavedConcreteFunction *
find_concrete(const Tensorflow__SavedObjectGraph *og, const char *name)
{
    const Tensorflow__SavedConcreteFunction *found = NULL;
    for (size_t k = 0; k < og->n_concrete_functions; k++)
        if (!strcmp(og->concrete_functions[k]->key, name))
            found = og->concrete_functions[k]->value; /* the last entry wins */
    return found;
}

static int cmp_cstr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "        Argument #k\n          NAME\n": an argument known only by its name. */
static void put_named_arg(ckpt_strbuf *b, const char *what, size_t k, const char *name)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "        %s #%zu\n          ", what, k);
    put(b, tmp);
    put(b, name);
    put(b, "\n");
}

static void put_option_head(ckpt_strbuf *b, size_t index)
{
    char tmp[64];
    snprintf(tmp, sizeof tmp, "    Option #%zu\n      Callable with:\n", index);
    put(b, tmp);
}

/* One concrete function's "Option #k" block. */
static void print_option(ckpt_strbuf *b, const Tensorflow__SavedObjectGraph *og, const char *fname,
                         size_t index, const Tensorflow__SavedBareConcreteFunction *bare)
{
    const Tensorflow__SavedConcreteFunction *cf = find_concrete(og, fname);
    const Tensorflow__StructuredValue *sig = cf ? cf->canonicalized_input_signature : NULL;
    Tensorflow__StructuredValue **args = NULL;
    size_t nargs = 0;
    const Tensorflow__DictValue *kw = NULL;
    if (sig && sig->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_TUPLE_VALUE &&
        sig->tuple_value->n_values == 2) {
        args = seq_items(sig->tuple_value->values[0], &nargs);
        const Tensorflow__StructuredValue *k = sig->tuple_value->values[1];
        if (k->kind_case == TENSORFLOW__STRUCTURED_VALUE__KIND_DICT_VALUE)
            kw = k->dict_value;
    }
    if (nargs) {
        put_option_head(b, index);
        print_args(b, args, nargs, "Argument");
    } else if (!sig && bare && bare->n_argument_keywords) {
        /* No signature: a bare concrete function's argument keywords stand in for it. */
        put_option_head(b, index);
        for (size_t k = 0; k < bare->n_argument_keywords; k++)
            put_named_arg(b, "Argument", k + 1, bare->argument_keywords[k]);
    }
    /* Iterating a dict gives its keys: each prints as a plain string argument. */
    for (size_t k = 0; kw && k < kw->n_fields; k++)
        put_named_arg(b, "Named Argument", k + 1, kw->fields[k]->key);
}

/* The SavedObjectGraph of mg, unpacked (it is small next to the graph; merged occurrences
 * joined). *og is NULL, with 0 returned, when it does not parse. */
static int load_object_graph(const mgraph *mg, Tensorflow__SavedObjectGraph **og, ckpt_err *err)
{
    ckpt_pb_seg seg = {mg->p, mg->n}, *segs = NULL;
    size_t nseg = 0;
    *og = NULL;
    int r = ckpt_pb_field_segs(&seg, 1, MG_OBJECT_GRAPH, -1, &segs, &nseg, err);
    if (r)
        return r;
    size_t total = 0;
    for (size_t k = 0; k < nseg; k++)
        total += segs[k].n;
    uint8_t *joined = malloc(total ? total : 1);
    if (!joined) {
        free(segs);
        return ckpt_sig_nomem(err);
    }
    for (size_t k = 0, off = 0; k < nseg; off += segs[k].n, k++)
        memcpy(joined + off, segs[k].p, segs[k].n);
    free(segs);
    /* StructuredValue nests without bound: see unpack_signatures. */
    r = ckpt_pb_validate(&tensorflow__saved_object_graph__descriptor, joined, total,
                         CKPT_PB_MAX_DEPTH, err);
    if (r)
        ckpt_err_prefix(err, "the object graph");
    else
        *og = tensorflow__saved_object_graph__unpack(NULL, total, joined);
    free(joined);
    return r;
}

/* The root object's children sorted by name (equal names in their order); kv.val: the child
 * object, NULL when its node id is out of range. */
static int root_children(const Tensorflow__SavedObjectGraph *og, kv **out, size_t *n, ckpt_err *err)
{
    *out = NULL;
    *n = 0;
    if (og->n_nodes == 0)
        return 0;
    const Tensorflow__SavedObject *root = og->nodes[0];
    kv *ch = calloc(root->n_children ? root->n_children : 1, sizeof *ch);
    if (!ch)
        return ckpt_sig_nomem(err);
    for (size_t k = 0; k < root->n_children; k++) {
        const Tensorflow__TrackableObjectGraph__TrackableObject__ObjectReference *ref =
            root->children[k];
        uint32_t id = (uint32_t)ref->node_id; /* a negative id is out of range too */
        const void *obj = id < og->n_nodes ? og->nodes[id] : NULL;
        ch[k] = (kv){ref->local_name ? ref->local_name : "", obj, k};
    }
    qsort(ch, root->n_children, sizeof *ch, cmp_kv);
    *out = ch;
    *n = root->n_children;
    return 0;
}

/* The concrete function names of obj, sorted (*names NULL when obj is no function). */
static int concrete_names(const Tensorflow__SavedObject *obj, const char ***names, size_t *n,
                          const Tensorflow__SavedBareConcreteFunction **bare, ckpt_err *err)
{
    *names = NULL;
    *n = 0;
    *bare = NULL;
    if (obj->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_FUNCTION) {
        const Tensorflow__SavedFunction *fn = obj->function;
        if (!(*names = malloc((fn->n_concrete_functions ? fn->n_concrete_functions : 1) *
                              sizeof **names)))
            return ckpt_sig_nomem(err);
        for (size_t j = 0; j < fn->n_concrete_functions; j++)
            (*names)[j] = fn->concrete_functions[j];
        *n = fn->n_concrete_functions;
        qsort(*names, *n, sizeof **names, cmp_cstr);
    } else if (obj->kind_case == TENSORFLOW__SAVED_OBJECT__KIND_BARE_CONCRETE_FUNCTION) {
        *bare = obj->bare_concrete_function;
        if (!(*names = malloc(sizeof **names)))
            return ckpt_sig_nomem(err);
        (*names)[0] = (*bare)->concrete_function_name;
        *n = 1;
    }
    return 0;
}

/* The functions of the root object, each with its concrete functions' options. */
static int print_root_functions(ckpt_strbuf *b, const Tensorflow__SavedObjectGraph *og,
                                ckpt_err *err)
{
    kv *ch;
    size_t nch;
    int r = root_children(og, &ch, &nch, err);
    for (size_t k = 0; r == 0 && k < nch; k++) {
        if (!ch[k].val)
            continue;
        const char **names;
        size_t nnames;
        const Tensorflow__SavedBareConcreteFunction *bare;
        r = concrete_names(ch[k].val, &names, &nnames, &bare, err);
        if (r || !names)
            continue;
        put(b, "\n  Function Name: '");
        put(b, ch[k].key);
        put(b, "'\n");
        for (size_t j = 0; j < nnames; j++)
            print_option(b, og, names[j], j + 1, bare);
        free(names);
    }
    free(ch);
    return r;
}

static int print_functions(ckpt_strbuf *b, const mgraph *mgs, size_t nmg, ckpt_err *err)
{
    static const char na[] = " N/A (could not be listed due to unknown reasons)\n";
    int any = 0;
    for (size_t k = 0; k < nmg; k++)
        any |= mgs[k].has_objects;
    if (!any)
        return 0;
    put(b, "\nConcrete Functions:");
    if (nmg != 1) {
        /* tf.saved_model.load needs tags= when there are several MetaGraphDefs. */
        put(b, na);
        return 0;
    }
    Tensorflow__SavedObjectGraph *og;
    int r = load_object_graph(&mgs[0], &og, err);
    if (r)
        return r;
    if (!og) {
        put(b, na);
        return 0;
    }
    r = print_root_functions(b, og, err);
    tensorflow__saved_object_graph__free_unpacked(og, NULL);
    return r;
}

/* --- the whole text ---------------------------------------------------------------------- */

/* The meta_graphs of a SavedModel, in wire order, with nothing read yet. */
static int collect_meta_graphs(const uint8_t *p, size_t n, mgraph **mgs, size_t *nmg, ckpt_err *err)
{
    ckpt_pb_msg m;
    ckpt_pb_field f;
    int r;
    size_t cap = 0;
    ckpt_pb_msg_init(&m, p, n, err);
    while ((r = ckpt_pb_msg_next_len(&m, SM_META_GRAPHS, &f)) > 0) {
        if (ckpt_grow((void **)mgs, &cap, *nmg + 1, sizeof **mgs))
            return ckpt_sig_nomem(err);
        (*mgs)[(*nmg)++] = (mgraph){f.p, f.n, NULL, 0, 0};
    }
    return r;
}

/* mg's tags (MetaInfoDef occurrences merge: repeated tags concatenate) and whether it has an
 * object graph. */
static int read_tags(mgraph *mg, ckpt_err *err)
{
    ckpt_pb_msg m;
    ckpt_pb_field f;
    int r;
    size_t cap = 0;
    ckpt_pb_msg_init(&m, mg->p, mg->n, err);
    while ((r = ckpt_pb_msg_next(&m, &f)) > 0) {
        if (f.field == MG_OBJECT_GRAPH && f.wt == 2)
            mg->has_objects = 1;
        if (f.field != MG_META_INFO || f.wt != 2)
            continue;
        ckpt_pb_msg info;
        ckpt_pb_field tf;
        ckpt_pb_msg_init(&info, f.p, f.n, err);
        while ((r = ckpt_pb_msg_next_len(&info, MI_TAGS, &tf)) > 0) {
            if (ckpt_grow((void **)&mg->tags, &cap, mg->ntags + 1, sizeof *mg->tags))
                return ckpt_sig_nomem(err);
            mg->tags[mg->ntags++] = (str){tf.p, tf.n};
        }
        if (r < 0)
            return r;
    }
    return r;
}

static int cmp_mgraph(const void *a, const void *b)
{
    return cmp_tags(a, b);
}

/* Python's sorted() is stable: insertion sort keeps equal tag lists in order. */
static void sort_meta_graphs(mgraph *mgs, size_t nmg)
{
    _Static_assert(sizeof(mgraph) <= CKPT_ISORT_ITEM_MAX, "an mgraph must fit the sort");
    ckpt_insertion_sort(mgs, nmg, sizeof *mgs, cmp_mgraph, 0);
}

static int print_meta_graph(ckpt_strbuf *out, const mgraph *mg, ckpt_err *err)
{
    put(out, "\nMetaGraphDef with tag-set: '");
    for (size_t t = 0; t < mg->ntags; t++) {
        if (t)
            put(out, ", ");
        putn(out, mg->tags[t].p, mg->tags[t].n);
    }
    put(out, "' contains the following SignatureDefs:\n");
    int r = print_signatures(out, mg, err);
    return r ? r : print_ops(out, mg, err);
}

static int render(const uint8_t *p, size_t n, ckpt_strbuf *out, ckpt_err *err)
{
    mgraph *mgs = NULL;
    size_t nmg = 0;
    int r = collect_meta_graphs(p, n, &mgs, &nmg, err);
    for (size_t k = 0; r >= 0 && k < nmg; k++)
        r = read_tags(&mgs[k], err);
    if (r >= 0) {
        sort_meta_graphs(mgs, nmg);
        r = 0;
    }
    for (size_t k = 0; r == 0 && k < nmg; k++)
        r = print_meta_graph(out, &mgs[k], err);
    if (r == 0)
        r = print_functions(out, mgs, nmg, err);
    for (size_t k = 0; k < nmg; k++)
        free(mgs[k].tags);
    free(mgs);
    if (r == 0 && out->failed)
        r = ckpt_sig_nomem(err);
    return r;
}

int ckpt_render_signatures(const ckpt_bytesrc *src, const char *path, ckpt_strbuf *out,
                           ckpt_err *err)
{
    void *map;
    size_t len;
    int r = ckpt_map_file_src(src, path, &map, &len, err);
    if (r)
        return r;
    r = render(map, len, out, err);
    if (map)
        munmap(map, len);
    if (r)
        ckpt_err_prefix(err, "%s", path);
    return r;
}

/* args.h - Python values to and from the slots compiled regions use. */
#ifndef PYACC_EXT_ARGS_H
#define PYACC_EXT_ARGS_H

#include "ext.h"

/* Per-call storage for one argument. */
typedef struct pyext_arg {
    Py_buffer view;      /* held while has_view */
    int has_view;
    int readonly;        /* an array that must not be written */
    int64_t itemsize;    /* an array's */
    void *temp;          /* PyMem buffer: a list's copy, or a list-out's values */
    fe_arraydesc desc;
} pyext_arg;

/* Describes o as an argument: its type in *t and its value in *slot (and
 * a->desc for arrays and lists).  Never fails: what cannot be passed is
 * FE_ARG_OPAQUE, which only a region that ignores it compiles.  Returns -1
 * only on a Python error (out of memory). */
int pyext_arg_classify(PyObject *o, int is_listout, fe_argtype *t, int64_t *slot, pyext_arg *a);

/* Marks (FE_LAYOUT_OVERLAPS) each of the n array arguments whose memory
 * overlaps another's, so that kernels regions can tell x from f(x, x). */
void pyext_mark_overlaps(fe_argtype *sig, const pyext_arg *a, int n);

/* Writes a list argument's buffer back into the list (after a region that
 * stores into it). */
int pyext_list_store_back(PyObject *list, const fe_argtype *t, const pyext_arg *a);

/* The bytes [*lo, *hi) array argument a (of ndim dimensions) spans. */
void pyext_arg_extent(const pyext_arg *a, int ndim, int64_t itemsize, uintptr_t *lo, uintptr_t *hi);

/* Releases what classify and the call held. */
void pyext_arg_release(pyext_arg *a);

/* The Python value of an out slot of type t (a new reference). */
PyObject *pyext_box(const fe_argtype *t, int64_t slot);

/* The Python value of an out slot holding a value of static type st that
 * is, at run time, of kind kt (an int the region held as a float, ...). */
PyObject *pyext_box_kind(const fe_argtype *st, const fe_argtype *kt, int64_t slot);

/* Appends `count` values of type t from buf to the list. */
int pyext_extend_list(PyObject *list, const fe_argtype *t, const void *buf, int64_t count);

/* Bytes one value of a list-out of type t takes. */
size_t pyext_listout_itemsize(const fe_argtype *t);

#endif

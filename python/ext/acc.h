/* acc.h - what the Python face of the OpenACC runtime shares between its
 * files: acc.c (module setup, faults, argument checks, waits),
 * acc_routines.c (the acc_* routines) and acc_constructs.c (the
 * data-construct entry points).  Everything here runs with the GIL held.
 */
#ifndef PYACC_EXT_ACC_H
#define PYACC_EXT_ACC_H

#include "ext.h"

#include "rt.h"

#include <stdint.h>

/* Method table entries, by calling convention. */
#define FAST(name, doc) {#name, (PyCFunction)(void (*)(void))name, METH_FASTCALL, doc}
#define ONE(name, doc) {#name, (PyCFunction)name, METH_O, doc}
#define NONE(name, doc) {#name, (PyCFunction)name, METH_NOARGS, doc}
#define KW(name, doc) {#name, (PyCFunction)(void (*)(void))name, METH_VARARGS | METH_KEYWORDS, doc}

/* ---------------------------------------------------------------- acc.c */

/* Raises the calling thread's fault: a failed Python task's own exception,
 * else AccError("prefix: message", code); prefix may be NULL (the _s form
 * takes it as a C string).  Both return NULL. */
PyObject *pyext_acc_raise_fault(PyObject *prefix);
PyObject *pyext_acc_raise_fault_s(const char *prefix);

/* The current device, after issuing a pending fallback warning.  NULL
 * with an exception set. */
rt_device *pyext_acc_cur_dev(void);

/* Issues a pending fallback warning; -1 when the warning raised. */
int pyext_acc_warn_pending(void);

/* The name of o's type, for messages.  Valid until the next call. */
const char *pyext_acc_type_name(PyObject *o);

/* o as an int32 into *out, or -1 with TypeError/OverflowError naming fn
 * and what. */
int pyext_acc_get_i32(PyObject *o, const char *fn, const char *what, int32_t *out);

/* Whether lo <= nargs <= hi; 0 with TypeError naming fn when not. */
int pyext_acc_nargs_ok(const char *fn, Py_ssize_t nargs, Py_ssize_t lo, Py_ssize_t hi);

/* The runtime's blocking waits (rt_queue_wait, _wait_all, _wait_async,
 * _wait_all_async), called with the GIL released: the queues' tasks may
 * need it.  The status the runtime returned. */
int32_t pyext_acc_wait_nogil(int32_t queue);
int32_t pyext_acc_wait_all_nogil(void);
int32_t pyext_acc_wait_async_nogil(int32_t queue, int32_t on);
int32_t pyext_acc_wait_all_async_nogil(int32_t on);

/* ------------------------------------------------------- acc_routines.c */

extern PyMethodDef pyext_acc_routine_methods[];

/* ----------------------------------------------------- acc_constructs.c */

/* Where a data item came from, to name it in messages (acc_constructs.c
 * defines it; NULL names the item "section"). */
struct label_src;

/* The byte range [*start, *start + *bytes) that section sec (None: the
 * whole object) of view covers.  -1 with an exception naming ls when the
 * section is malformed or out of bounds; never fails for None. */
int pyext_acc_section_span(const Py_buffer *v, PyObject *sec, const struct label_src *ls,
                           uintptr_t *start, size_t *bytes);

extern PyMethodDef pyext_acc_construct_methods[];

/* Interns the clause names the items use; before the first construct. */
int pyext_acc_constructs_init(void);

#endif

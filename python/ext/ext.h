/* ext.h - shared state of the CPython extension `pyacc._pyacc`.
 *
 * python/ is the only folder that touches PyObject.  The extension is built
 * against the stable ABI (Py_LIMITED_API 3.11), so one build serves 3.11
 * and 3.12.  Its symbols carry the prefix pyext_.
 */
#ifndef PYACC_EXT_H
#define PYACC_EXT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "fe.h"
#include "jit.h"

/* Module-wide state, set up once at import by pyacc._pyacc.init(). */
typedef struct pyext_state {
    fe_optable *optable;
    int py_minor;
    jit_host *host;              /* made on the first compile */
    PyObject *pragma_error;      /* pyacc.errors.PragmaSyntaxError */
    PyObject *raise_at;          /* pyacc.errors._raise_at(exc, file, line) */
    PyObject *type_error;        /* pyacc.errors.type_error(msg, file, line, col, end) -> exc */
    PyObject *unsupported;       /* pyacc.errors.unsupported(region, msg, file, line, col) */
    PyObject *resolve_globals;   /* pyacc.regions.resolve_globals(fglobals, names) -> list */
    PyObject *unbound;           /* pyacc.regions.UNBOUND: a result the region left unassigned */
    PyObject *entry_key;         /* pyacc.regions.entry_key(static_key, func, sig, target) -> hex */
    PyObject *cache_warning;     /* pyacc.errors.cache_warning(msg) */
    PyObject *gpu_refused;       /* pyacc.errors.gpu_refused(region, why, file, line, failed) */
    PyObject *loop_depth;        /* pyacc.regions.loop_depth(code, fglobals) -> int */
    PyObject *np_scalar[FE_DT_COUNT_]; /* numpy.bool_, numpy.int8, ... */
} pyext_state;

extern pyext_state pyext;

/* module.c */
jit_host *pyext_host(void);
/* build_id.c: this build of the extension (a str), for the disk cache's keys. */
PyObject *pyext_build_id(void);

/* pragma.c */
PyObject *pyext_parse_pragma(PyObject *self, PyObject *args);

/* acc.c (with acc_routines.c and acc_constructs.c): the acc_* routines
 * and the data-construct entry points, added to the module by ext_exec;
 * and, for async tasks that run Python, the call that turns the pending
 * Python exception into the task's fault (GIL held). */
int pyext_acc_exec(PyObject *m);
int32_t pyext_acc_fail_pyerr(void);

/* region.c */
extern PyType_Spec pyext_region_spec;

/* dispatch.c */
extern PyType_Spec pyext_dispatcher_spec;

#endif

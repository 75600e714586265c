/* code.h - code objects and globals in plain C, for the frontend. */
#ifndef PYACC_EXT_CODE_H
#define PYACC_EXT_CODE_H

#include "ext.h"

#define PYEXT_MAXARGS 64
#define PYEXT_MAXCALLEES 64

/* A code object's fields as the frontend reads them (fe_code), with the
 * storage they point into. */
typedef struct pyext_code {
    fe_code code;
    uint8_t *bytes;
    fe_const *consts;
    char **names, **varnames;
    fe_loc *positions;
    char *filename, *qualname;
    fe_const *defaults;      /* a function's __defaults__ */
} pyext_code;

/* Reads a code object into *c (zeroed first by the caller); -1 with a
 * Python error on failure (pyext_code_clear releases what was read). */
int pyext_code_read(pyext_code *c, PyObject *code);
void pyext_code_clear(pyext_code *c);

int pyext_const_convert(PyObject *o, fe_const *c);
void pyext_const_clear(fe_const *c);
char *pyext_dupstr(const char *s);

/* The globals of one compile: c's and those of every function it calls,
 * alive until pyext_globals_clear. */
typedef struct pyext_globals {
    PyObject *keep;          /* the resolver's answers, which hold the strings */
    PyObject *funcs[PYEXT_MAXCALLEES];
    PyObject *globals_of[PYEXT_MAXCALLEES];
    pyext_code *codes[PYEXT_MAXCALLEES];
    int nfuncs;
    fe_global *globals[PYEXT_MAXCALLEES + 1];
    int nglobals_n[PYEXT_MAXCALLEES + 1];
    int nglobals;
} pyext_globals;

/* Sets c->code.globals (and those of its callees); -1 with a Python error. */
int pyext_globals_resolve(pyext_globals *g, pyext_code *c, PyObject *fglobals);
void pyext_globals_clear(pyext_globals *g, pyext_code *c);

#endif

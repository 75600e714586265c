/* fixture.h - frontend test fixtures: a region's code object, the argument
 * types of one call and the expected outcome, in a line format written by
 * tests/c/lower/make_fixtures.py.  Shared by the Criterion tests and the
 * fuzzers, which drive the frontend without Python. */
#ifndef PYACC_TEST_FIXTURE_H
#define PYACC_TEST_FIXTURE_H

#include "fe.h"

#define FX_MAX 64

typedef struct fx_fixture {
    char name[64];
    int py_minor;
    fe_optable *optable;
    fe_code code;
    fe_argtype args[FX_MAX];
    int nargtypes;
    fe_loopspec loops[8];
    int nloops;
    fe_listout listouts[8];
    int nlistouts;
    int nouts;
    const char *expect[FX_MAX], *reject[FX_MAX];
    int nexpect, nreject;
    const char *error_kind, *error_text; /* NULL when lowering must succeed */
    const char *type_var[FX_MAX], *type_str[FX_MAX]; /* variables' expected types */
    int ntypes;
    /* storage the above points into */
    char **lines;
    int nlines;
    void *alloc[1024];
    int nalloc;
} fx_fixture;

/* Loads the fixture at path into *fx (owned, fx_free).  Returns 0, or -1
 * with a message in err. */
int fx_load(const char *path, fx_fixture *fx, char *err, size_t errlen);
void fx_free(fx_fixture *fx);

/* The region fx describes, for fe_lower_region. */
fe_region fx_region(fx_fixture *fx, const char *symbol);

#endif

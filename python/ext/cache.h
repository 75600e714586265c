/* cache.h - the extension's side of the disk cache: the process's store and
 * the payload of one compiled entry. */
#ifndef PYACC_EXT_CACHE_H
#define PYACC_EXT_CACHE_H

#include "ext.h"

/* Everything a compiled signature needs besides being compiled: what the
 * dispatcher reads (result types, which arguments are written, ...) and
 * the code itself.  Arrays are owned by whoever filled the struct. */
typedef struct pyext_payload {
    int nargs, nouts, nlistouts, nkinds, nfiles;
    const fe_argtype *sig;           /* nargs */
    const fe_argtype *outtypes;      /* nouts */
    const fe_argtype *listout_types; /* nlistouts */
    const uint8_t *written;          /* nargs */
    const fe_argtype *kinds;         /* 16 */
    const fe_argtype *outitems;      /* nouts * FE_MAX_OUT_ITEMS */
    char *const *files;              /* nfiles */
    const char *notes;               /* or NULL */
    const char *symbol;              /* the entry's name in the object */
    const void *object;
    size_t object_size;
    const void *bitcode;
    size_t bitcode_size;
    const char *ptx;                 /* a GPU entry's kernels, or NULL */
    int nkernels;
    const jit_gpu_kernel *kernels;   /* nkernels: what their launches move */
} pyext_payload;

/* The process's cache, opened on first use from PYACC_CACHE_DIR (default
 * $XDG_CACHE_HOME/pyacc, else ~/.cache/pyacc) with PYACC_CACHE_SIZE; NULL
 * when there is none (disabled, or it cannot be opened: warned once).
 * Never sets a Python exception. */
jit_cache *pyext_cache(void);

/* One PyaccWarning through pyacc's hook, once per distinct message. */
void pyext_cache_warn(const char *fmt, ...);

/* Serialises p into a malloc'd buffer; NULL when out of memory. */
void *pyext_payload_pack(const pyext_payload *p, size_t *size);

/* Reads a payload back: its arrays point into data (which must outlive
 * it; files are malloc'd, see pyext_payload_free); -1 when it is not a
 * well-formed payload for nargs arguments. */
int pyext_payload_unpack(const void *data, size_t size, pyext_payload *p);
/* The same for a payload packed without object code, whose code is to be
 * filled in (tier.c's, made in the background). */
int pyext_payload_unpack_codeless(const void *data, size_t size, pyext_payload *p);
void pyext_payload_free(pyext_payload *p);

/* Module functions behind `pyacc cache`. */
extern PyMethodDef pyext_cache_methods[];

#endif

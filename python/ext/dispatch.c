/* dispatch.c - pyacc._pyacc.Dispatcher, the base of pyacc.AccFunction.
 *
 * Calling a decorated function calls its rewritten Python function (which
 * calls the regions).  Done by a Python __call__, that forwarding cost a
 * quarter of a microsecond a call, as much as the rest of a small call;
 * done here, the arguments go straight through. */
#include "ext.h"

#include <structmember.h>

/* The Python subclass adds its __dict__ and __weakref__ after these. */
typedef struct dispatcher {
    PyObject_HEAD
    PyObject *impl;   /* the function to call */
    PyObject *direct; /* or, for calls with nparams positional arguments, this region */
    PyObject *extra;  /* a tuple of constants the direct call passes after them (clause values), or NULL */
    int nparams;
    int ret_kind;     /* what a direct call returns: 0 None, 1 argument ret_index, 2 the region's only result */
    int ret_index;
} dispatcher;

static PyObject *dispatcher_call(PyObject *self, PyObject *args, PyObject *kw)
{
    dispatcher *d = (dispatcher *)self;
    if (d->direct && !kw && PyTuple_Size(args) == d->nparams) {
        /* the function is just this region's call: skip its frame */
        PyObject *all = args;
        if (d->extra && PyTuple_Check(d->extra) && PyTuple_Size(d->extra)) {
            Py_ssize_t m = PyTuple_Size(d->extra);
            if (!(all = PyTuple_New(d->nparams + m)))
                return NULL;
            for (Py_ssize_t i = 0; i < d->nparams; i++)
                PyTuple_SetItem(all, i, Py_NewRef(PyTuple_GetItem(args, i)));
            for (Py_ssize_t i = 0; i < m; i++)
                PyTuple_SetItem(all, d->nparams + i, Py_NewRef(PyTuple_GetItem(d->extra, i)));
        }
        PyObject *res = PyObject_Call(d->direct, all, NULL);
        if (all != args)
            Py_DECREF(all);
        if (!res)
            return NULL;
        PyObject *v;
        switch (d->ret_kind) {
        case 2: /* the region's results come as a tuple: its only item */
            v = PyTuple_Check(res) && PyTuple_Size(res) == 1 ? Py_NewRef(PyTuple_GetItem(res, 0)) : Py_NewRef(res);
            break;
        case 1: v = Py_NewRef(PyTuple_GetItem(args, d->ret_index)); break;
        default: v = Py_NewRef(Py_None); break;
        }
        Py_DECREF(res);
        return v;
    }
    PyObject *impl = d->impl;
    if (!impl) {
        PyErr_SetString(PyExc_TypeError, "pyacc: this function is not set up yet");
        return NULL;
    }
    return PyObject_Call(impl, args, kw);
}

static int dispatcher_traverse(PyObject *self, visitproc visit, void *arg)
{
    dispatcher *d = (dispatcher *)self;
    Py_VISIT(Py_TYPE(self)); /* a heap type: its instances hold it */
    Py_VISIT(d->impl);
    Py_VISIT(d->direct);
    Py_VISIT(d->extra);
    return 0;
}

static int dispatcher_clear(PyObject *self)
{
    dispatcher *d = (dispatcher *)self;
    Py_CLEAR(d->impl);
    Py_CLEAR(d->direct);
    Py_CLEAR(d->extra);
    return 0;
}

static void dispatcher_dealloc(PyObject *self)
{
    PyTypeObject *tp = Py_TYPE(self);
    PyObject_GC_UnTrack(self);
    dispatcher_clear(self);
    freefunc tp_free = (freefunc)PyType_GetSlot(tp, Py_tp_free);
    tp_free(self);
    Py_DECREF(tp);
}

static PyMemberDef dispatcher_members[] = {
    {"_impl", T_OBJECT, offsetof(dispatcher, impl), 0, "the function a call runs"},
    {"_direct", T_OBJECT, offsetof(dispatcher, direct), 0, "the region a call may run instead"},
    {"_direct_extra", T_OBJECT, offsetof(dispatcher, extra), 0, "constants a direct call passes after the arguments"},
    {"_nparams", T_INT, offsetof(dispatcher, nparams), 0, "the argument count of a direct call"},
    {"_ret_kind", T_INT, offsetof(dispatcher, ret_kind), 0, "0 None, 1 an argument, 2 the region's result"},
    {"_ret_index", T_INT, offsetof(dispatcher, ret_index), 0, "the argument returned"},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot dispatcher_slots[] = {
    {Py_tp_call, dispatcher_call},
    {Py_tp_traverse, dispatcher_traverse},
    {Py_tp_clear, dispatcher_clear},
    {Py_tp_dealloc, dispatcher_dealloc},
    {Py_tp_members, dispatcher_members},
    {Py_tp_doc, "Calls _impl with the arguments it is called with."},
    {0, NULL},
};

PyType_Spec pyext_dispatcher_spec = {
    .name = "pyacc._pyacc.Dispatcher",
    .basicsize = sizeof(dispatcher),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .slots = dispatcher_slots,
};

"""The OpenACC runtime: the ``acc_*`` routines of OpenACC 2.7 and the
data-environment entry points that outlined functions call.

Owns the Python-level API of the device, the present table and the async
queues (all implemented in C: ``runtime/`` and ``python/ext/acc.c``), the
:class:`AccError` exception, and the interpreter-exit hook that finishes the
async queues.

Where C takes a pointer and a byte count, Python takes the array (anything
with the buffer protocol; NumPy arrays first), the byte count optional:
``acc_copyin(a)`` covers all of ``a``, ``acc_copyin(a, nbytes)`` its first
``nbytes``.  The ``_async`` forms take the queue last:
``acc_copyin_async(a, [nbytes,] async)``.  Device addresses are ints.

On the host device (the only one without a GPU) data clauses move nothing,
since host and device share memory, but everything is checked and counted
as OpenACC says: ``acc_is_present`` answers from the present table, a
``present`` clause on absent data raises, and async work runs on worker
threads, one per active queue, overlapping with the caller.

Entry points for compiled functions (the outliner calls these; clause
items arrive evaluated in the user's scope)::

    token = data_enter(items, cond=True, async_=None, wait=None,
                       default_present=False, names=None)
    data_exit(token)
    enter_data(items, cond=True, async_=None, wait=None, names=None)
    exit_data(items, cond=True, async_=None, wait=None, finalize=False, names=None)
    update(self_items, device_items, cond=True, if_present=False, async_=None, wait=None)
    wait(queues=None, cond=True, async_=None)

``items`` is a list of ``(clause, obj, section)`` or ``(clause, obj,
section, name)``; ``names``, when given, is the list of the items' variable
names (for messages).  ``clause`` is one of copy, copyin, copyout, create,
no_create, present, deviceptr, attach, detach, delete (or the 1.0 aliases
pcopy, present_or_copy, ...), or ``implicit`` for an array a compute
construct uses without a clause (copy, or present when
``default_present``).  ``section`` is None (the whole object) or a tuple of
``(lo, hi)`` pairs with Python slice meaning per dimension (None for an
omitted bound, negative counting from the end; ``a[i]`` is ``(i, i + 1)``,
so ``(-1, 0)`` is the last element).  Update items are ``(obj, section)`` or
``(obj, section, name)``.  ``async_`` is None (synchronous), True (the
default async queue) or a queue number; ``wait`` is None, True (every
queue), a queue number or a list of them.  A false ``cond`` (the if clause)
skips everything.
"""

from __future__ import annotations

import atexit
import warnings

from . import _pyacc
from .errors import PyaccWarning


class AccError(RuntimeError):
    """An OpenACC runtime error: data not present or partially present,
    mapping present data, unmapping unmapped data, a bad device, queue or
    address, or a device failure.  ``code`` names the kind: one of
    ``not_present``, ``partially_present``, ``mapped``, ``not_mapped``,
    ``invalid``, ``no_memory``, ``device``, ``task``."""

    def __init__(self, msg, code=None):
        super().__init__(msg)
        self.code = code


_pyacc.acc_setup(AccError, PyaccWarning)

# Device types, async values and properties (the values of NVIDIA's and
# GCC's openacc.h).
acc_device_none = _pyacc.acc_device_none
acc_device_default = _pyacc.acc_device_default
acc_device_host = _pyacc.acc_device_host
acc_device_not_host = _pyacc.acc_device_not_host
acc_device_nvidia = _pyacc.acc_device_nvidia
acc_async_noval = _pyacc.acc_async_noval
acc_async_sync = _pyacc.acc_async_sync
acc_property_memory = _pyacc.acc_property_memory
acc_property_free_memory = _pyacc.acc_property_free_memory
acc_property_name = _pyacc.acc_property_name
acc_property_vendor = _pyacc.acc_property_vendor
acc_property_driver = _pyacc.acc_property_driver

# The routines are the C functions themselves: nothing between the caller
# and the runtime.
def _gpu_asked(t):
    if t in (acc_device_nvidia, acc_device_not_host):
        _pyacc.cuda_register()


def acc_set_device_type(t):
    """acc_set_device_type (the NVIDIA device plugged in when asked for)."""
    _gpu_asked(t)
    return _pyacc.acc_set_device_type(t)


def acc_init(t):
    """acc_init (the NVIDIA device plugged in when asked for)."""
    _gpu_asked(t)
    return _pyacc.acc_init(t)


def acc_get_num_devices(t):
    """acc_get_num_devices (the NVIDIA device plugged in when asked about)."""
    _gpu_asked(t)
    return _pyacc.acc_get_num_devices(t)

acc_get_device_type = _pyacc.acc_get_device_type
acc_set_device_num = _pyacc.acc_set_device_num
acc_get_device_num = _pyacc.acc_get_device_num
acc_get_property = _pyacc.acc_get_property
acc_get_property_string = _pyacc.acc_get_property_string
acc_shutdown = _pyacc.acc_shutdown
acc_async_test = _pyacc.acc_async_test
acc_async_test_all = _pyacc.acc_async_test_all
acc_wait = _pyacc.acc_wait
acc_wait_async = _pyacc.acc_wait_async
acc_wait_all = _pyacc.acc_wait_all
acc_wait_all_async = _pyacc.acc_wait_all_async
acc_get_default_async = _pyacc.acc_get_default_async
acc_set_default_async = _pyacc.acc_set_default_async
acc_malloc = _pyacc.acc_malloc
acc_free = _pyacc.acc_free
acc_copyin = _pyacc.acc_copyin
acc_copyin_async = _pyacc.acc_copyin_async
acc_create = _pyacc.acc_create
acc_create_async = _pyacc.acc_create_async
acc_copyout = _pyacc.acc_copyout
acc_copyout_async = _pyacc.acc_copyout_async
acc_copyout_finalize = _pyacc.acc_copyout_finalize
acc_copyout_finalize_async = _pyacc.acc_copyout_finalize_async
acc_delete = _pyacc.acc_delete
acc_delete_async = _pyacc.acc_delete_async
acc_delete_finalize = _pyacc.acc_delete_finalize
acc_delete_finalize_async = _pyacc.acc_delete_finalize_async
acc_update_device = _pyacc.acc_update_device
acc_update_device_async = _pyacc.acc_update_device_async
acc_update_self = _pyacc.acc_update_self
acc_update_self_async = _pyacc.acc_update_self_async
acc_map_data = _pyacc.acc_map_data
acc_unmap_data = _pyacc.acc_unmap_data
acc_deviceptr = _pyacc.acc_deviceptr
acc_hostptr = _pyacc.acc_hostptr
acc_is_present = _pyacc.acc_is_present
acc_memcpy_to_device = _pyacc.acc_memcpy_to_device
acc_memcpy_to_device_async = _pyacc.acc_memcpy_to_device_async
acc_memcpy_from_device = _pyacc.acc_memcpy_from_device
acc_memcpy_from_device_async = _pyacc.acc_memcpy_from_device_async
acc_memcpy_device = _pyacc.acc_memcpy_device
acc_memcpy_device_async = _pyacc.acc_memcpy_device_async
acc_attach = _pyacc.acc_attach
acc_attach_async = _pyacc.acc_attach_async
acc_detach = _pyacc.acc_detach
acc_detach_async = _pyacc.acc_detach_async
acc_detach_finalize = _pyacc.acc_detach_finalize
acc_detach_finalize_async = _pyacc.acc_detach_finalize_async


def acc_on_device(dev_type):
    """Whether the code runs on a device of this type.  Python code runs
    on the host: true for acc_device_host and acc_device_none.  (Compiled
    regions answer for themselves: a GPU kernel says nvidia.)"""
    return dev_type in (acc_device_host, acc_device_none)


# The data-construct entry points, also C functions (see the module doc).
data_enter = _pyacc.acc_data_enter
data_exit = _pyacc.acc_data_exit
enter_data = _pyacc.acc_enter_data
exit_data = _pyacc.acc_exit_data
update = _pyacc.acc_update
wait = _pyacc.acc_wait_directive


def submit(queue, fn, *args, **kwargs):
    """Runs ``fn(*args, **kwargs)`` as a task of async queue ``queue``, in
    order with the queue's other work (compiled regions, copies), and
    returns at once; ``acc_async_sync`` runs it now.  An exception it
    raises is raised again by the wait that observes it, and the queue's
    later work is skipped until then.  (For regions that run in the
    interpreter under an ``async`` clause.)"""
    _pyacc.acc_submit(queue, fn, args, kwargs or None)


def present_counts(a):
    """``(structured, dynamic, attach)`` reference counts of the present
    data holding ``a``'s first byte (attach: of a pointer stored there), or
    None when absent.  A diagnostic, not an OpenACC routine."""
    return _pyacc.acc_present_counts(a)


def _at_exit():
    # Queued work finishes before the interpreter (and the JIT its tasks
    # call) goes away; a failure nobody waited for is not lost silently.
    try:
        _pyacc.acc_atexit()
    except BaseException as e:  # noqa: BLE001 - at exit, report and go on
        warnings.warn(f"pyacc: an async task failed and no wait reported it: "
                      f"{type(e).__name__}: {e}", PyaccWarning, stacklevel=1)


atexit.register(_at_exit)


class DeviceView:
    """The GPU's copy of a present NumPy array, as libraries that take
    ``__cuda_array_interface__`` see it (``cupy.asarray(device_view(a))``,
    ``torch.as_tensor``, Numba's ``cuda.as_cuda_array``): what ``host_data
    use_device(a)`` hands to such a library in C.  No copy is made; the view
    is valid while ``a`` stays present."""

    def __init__(self, a):
        if _pyacc.acc_get_device_type() != acc_device_nvidia:
            raise ValueError("device_view needs the GPU as the current device")
        ptr = _pyacc.acc_deviceptr(a)
        if not ptr:
            raise ValueError("the array is not present on the GPU (copy it in first)")
        self.__cuda_array_interface__ = {
            "shape": tuple(a.shape), "typestr": a.dtype.str, "data": (ptr, False),
            "strides": tuple(a.strides), "version": 3}


def device_view(a):
    """A zero-copy view of present array ``a``'s GPU copy (see DeviceView)."""
    return DeviceView(a)

__all__ = [
    "AccError",
    "acc_device_none", "acc_device_default", "acc_device_host", "acc_device_not_host",
    "acc_device_nvidia", "acc_async_noval", "acc_async_sync",
    "acc_property_memory", "acc_property_free_memory", "acc_property_name",
    "acc_property_vendor", "acc_property_driver",
    "acc_get_num_devices", "acc_set_device_type", "acc_get_device_type", "acc_set_device_num",
    "acc_get_device_num", "acc_get_property", "acc_get_property_string", "acc_init",
    "acc_shutdown", "acc_on_device",
    "acc_async_test", "acc_async_test_all", "acc_wait", "acc_wait_async", "acc_wait_all",
    "acc_wait_all_async", "acc_get_default_async", "acc_set_default_async",
    "acc_malloc", "acc_free",
    "acc_copyin", "acc_copyin_async", "acc_create", "acc_create_async",
    "acc_copyout", "acc_copyout_async", "acc_copyout_finalize", "acc_copyout_finalize_async",
    "acc_delete", "acc_delete_async", "acc_delete_finalize", "acc_delete_finalize_async",
    "acc_update_device", "acc_update_device_async", "acc_update_self", "acc_update_self_async",
    "acc_map_data", "acc_unmap_data", "acc_deviceptr", "acc_hostptr", "acc_is_present",
    "acc_memcpy_to_device", "acc_memcpy_to_device_async", "acc_memcpy_from_device",
    "acc_memcpy_from_device_async", "acc_memcpy_device", "acc_memcpy_device_async",
    "acc_attach", "acc_attach_async", "acc_detach", "acc_detach_async", "acc_detach_finalize",
    "acc_detach_finalize_async", "device_view",
]

"""The `pyacc` command (also `python -m pyacc`)."""

from __future__ import annotations

import argparse
import os
import sys


def _info(args):
    import pyacc
    from pyacc import _pyacc

    triple, cpu, features = _pyacc.host_target()
    print(f"pyacc {pyacc.__version__} (OpenACC {pyacc._OPENACC})")
    print(f"python   {sys.version.split()[0]}")
    print(f"host     {triple} {cpu}")
    print(f"threads  {pyacc.num_threads()}")
    if args.features:
        print(f"features {features}")
    return 0


# ------------------------------------------------------------- cache

def _cache():
    from pyacc import _pyacc
    info = _pyacc.cache_info()
    if info is None:
        print("pyacc: there is no disk cache (PYACC_CACHE_DIR is set empty, or its directory "
              "cannot be used)", file=sys.stderr)
        return None, None
    return _pyacc, info


def _size(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def _when(t):
    import time
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t))


def _cache_list(args):
    import json
    _pyacc, info = _cache()
    if not _pyacc:
        return 1
    entries = _pyacc.cache_list("")
    if args.json:
        print(json.dumps(entries, indent=2))
        return 0
    print(f"{len(entries)} entries in {info['dir']}")
    if entries:
        print(f"{'key':16}  {'function':28} {'where':28} {'signature':32} {'size':>9} {'hits':>5}  last used")
    for e in entries:
        where = f"{os.path.basename(e['file'])}:{e['line']}"
        print(f"{e['key'][:16]}  {e['qualname'][:28]:28} {where[:28]:28} {e['signature'][:32]:32} "
              f"{_size(e['size']):>9} {e['hits']:>5}  {_when(e['last_used'])}")
    return 0


def _cache_show(args):
    _pyacc, info = _cache()
    if not _pyacc:
        return 1
    what = "llvm" if args.llvm else "asm" if args.asm else "ptx" if args.ptx else ""
    try:
        meta, _ = _pyacc.cache_show(args.key, "")
        if what == "ptx":
            if "nvidia" not in meta["target"]:
                print(f"pyacc: entry {meta['key'][:16]} is host code ({meta['target']}); it holds no PTX",
                      file=sys.stderr)
                return 1
        text = _pyacc.cache_show(args.key, what)[1] if what else None
    except (KeyError, RuntimeError) as e:
        print(f"pyacc: {e.args[0] if e.args else e}", file=sys.stderr)
        return 1
    for k in ("key", "qualname", "file", "line", "signature", "target"):
        print(f"{k:11} {meta[k]}")
    print(f"{'size':11} {_size(meta['size'])}")
    print(f"{'compile':11} {meta['compile_ms']:.1f} ms")
    print(f"{'created':11} {_when(meta['created'])}")
    print(f"{'last used':11} {_when(meta['last_used'])}")
    print(f"{'hits':11} {meta['hits']}")
    if text is not None:
        print()
        print(text, end="" if text.endswith("\n") else "\n")
    return 0


def _cache_stats(args):
    _pyacc, info = _cache()
    if not _pyacc:
        return 1
    entries = _pyacc.cache_list("")
    total = sum(e["size"] for e in entries)
    print(f"directory  {info['dir']}{' (read-only)' if info['read_only'] else ''}")
    print(f"entries    {len(entries)}")
    print(f"bytes      {total} ({_size(total)} of {_size(info['limit'])})")
    print(f"hits       {sum(e['hits'] for e in entries)}")
    by = {}
    for e in entries:
        t = by.setdefault(e["target"], [0, 0, 0])
        t[0] += 1
        t[1] += e["size"]
        t[2] += e["hits"]
    for target, (n, size, hits) in sorted(by.items()):
        print(f"  {target}: {n} entries, {_size(size)}, {hits} hits")
    return 0


def _cache_clear(args):
    _pyacc, info = _cache()
    if not _pyacc:
        return 1
    removed = _pyacc.cache_clear(args.older_than or 0.0)
    older = f" unused for {args.older_than:g} days" if args.older_than else ""
    print(f"removed {removed} entries{older} from {info['dir']}")
    return 0


def _cache_verify(args):
    _pyacc, info = _cache()
    if not _pyacc:
        return 1
    checked, bad = _pyacc.cache_verify()
    for key, why in bad:
        print(f"dropped {key[:16]}: {why}")
    print(f"checked {checked} entries in {info['dir']}: {checked - len(bad)} good, {len(bad)} dropped")
    return 1 if bad else 0


def _warmup(args):
    from . import warmup
    targets = {"host": ("host",), "nvidia": ("nvidia",), "all": ("host", "nvidia")}[args.target]
    return warmup.run(args.module, targets, max(1, args.jobs))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="pyacc", description="OpenACC for Python.")
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("info", help="what pyacc compiles for on this machine")
    p.add_argument("--features", action="store_true", help="list the CPU features too")
    p.set_defaults(run=_info)

    cache = sub.add_parser("cache", help="inspect and manage the disk cache of compiled code")
    csub = cache.add_subparsers(dest="cache_command")
    p = csub.add_parser("list", help="one line per cached entry")
    p.add_argument("--json", action="store_true", help="the index's rows as a JSON list")
    p.set_defaults(run=_cache_list)
    p = csub.add_parser("show", help="one entry, and its code")
    p.add_argument("key", help="the entry's key, or enough of its start")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--llvm", action="store_true", help="the optimised LLVM IR")
    g.add_argument("--asm", action="store_true", help="the host assembly")
    g.add_argument("--ptx", action="store_true", help="the PTX (GPU entries)")
    p.set_defaults(run=_cache_show)
    p = csub.add_parser("stats", help="entries, bytes and hits, by target")
    p.set_defaults(run=_cache_stats)
    p = csub.add_parser("clear", help="remove entries")
    p.add_argument("--older-than", type=float, metavar="DAYS",
                   help="only those unused for this many days")
    p.set_defaults(run=_cache_clear)
    p = csub.add_parser("verify", help="check every entry; report and drop bad ones")
    p.set_defaults(run=_cache_verify)
    cache.set_defaults(run=lambda a: (cache.print_help(), 2)[1])

    p = sub.add_parser("warmup", help="compile the declared signatures of a module's @acc "
                                      "functions into the disk cache")
    p.add_argument("module", metavar="FILE_OR_MODULE", help="a .py file or an importable module")
    p.add_argument("--target", choices=("host", "nvidia", "all"), default="host")
    p.add_argument("--jobs", type=int, default=1, help="compile in this many processes")
    p.set_defaults(run=_warmup)

    args = parser.parse_args(argv)
    if args.version:
        import pyacc
        print(pyacc.__version__)
        return 0
    if not getattr(args, "run", None):
        parser.print_help()
        return 2
    return args.run(args)

"""The grading worker: runs a submission's `cs231n` code on the grader's requests.

The grader starts it as ``python -I worker.py REQ_FD RESP_FD`` inside the sandbox (see
sandbox.py), with the working directory set to a copy of the submission. It reads one request
at a time from REQ_FD, runs the submission's code and writes one reply to RESP_FD.

This file is copied alone into the sandbox, so it must stay self-contained (standard library and
numpy only) and hold nothing secret: the submission's code runs in this very process and can read
everything in it. The grader imports the message codec from here and trusts no reply: it parses
every message strictly and compares the values itself.

Wire format of a message: 8-byte little-endian length, then the body: a 4-byte header length, a
JSON header, a 4-byte array count and, for each array, an 8-byte length and its bytes: a 1-byte
length and numpy's dtype string (byte order, kind, item size: numbers only), a 1-byte number of
dimensions, each dimension as 8 bytes, then the values in C order. (Not `.npy`: its header is a
Python literal parsed per array, 35 times the cost of a small array; 11,000 arrays cross per
student.) In the JSON, an array is {"$a": index}, a tuple
{"$t": [...]}, a dictionary {"$d": [[key, value], ...]}, an object kept in the worker {"$h": id},
and a value that is none of these {"$junk": "type name"}.
"""

import importlib
import json
import os
import random
import re
import struct
import sys
import traceback
import types
import warnings

import numpy as np

MAX_MESSAGE = 256 * 1024 * 1024
NUMERIC_KINDS = "biuf"
DTYPE_STRING = re.compile(r"[<>|=][biuf][0-9]{1,2}")   # numpy's dtype.str of a number type
MAX_DIMENSIONS = 32


class WireError(Exception):
    """A message that cannot be read (truncated, oversized or malformed)."""


class Handle:
    """Reference to an object that stays in the worker (a model, a config dict, a cache)."""

    def __init__(self, hid):
        self.hid = int(hid)

    def __repr__(self):
        return f"Handle({self.hid})"


class Junk:
    """Stand-in for a value that is not plain data (the grader's view of a reply)."""

    def __init__(self, description):
        self.description = str(description)[:200]

    def __repr__(self):
        return f"Junk({self.description!r})"


# ---------------------------------------------------------------------------------------------
# Codec (shared with the grader)


def encode(obj, handles=None):
    """Encode obj as one message body. `handles` maps id(obj) to a handle id (worker side)."""
    arrays = []

    def enc(value, depth=0):
        if depth > 50:
            return {"$junk": "too deeply nested"}
        if handles is not None and id(value) in handles:
            return {"$h": handles[id(value)]}
        if isinstance(value, Handle):
            return {"$h": value.hid}
        if isinstance(value, Junk):
            return {"$junk": value.description}
        if value is None or isinstance(value, (bool, str)):
            return value if not isinstance(value, str) else value[:10000]
        if isinstance(value, int):
            return value if abs(value) < 2**62 else float(value)
        if isinstance(value, float):
            return value
        if isinstance(value, np.ndarray):
            if value.dtype.kind not in NUMERIC_KINDS or value.dtype.hasobject:
                return {"$junk": f"array of dtype {value.dtype}"}
            arrays.append(np.ascontiguousarray(np.asarray(value)))
            return {"$a": len(arrays) - 1}
        if isinstance(value, np.generic):
            if value.dtype.kind in NUMERIC_KINDS:
                arrays.append(np.asarray(value))
                return {"$a": len(arrays) - 1}
            return {"$junk": f"numpy scalar of dtype {value.dtype}"}
        if isinstance(value, tuple):
            return {"$t": [enc(v, depth + 1) for v in value]}
        if isinstance(value, list):
            return [enc(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {"$d": [[k if isinstance(k, str) else repr(k)[:100], enc(v, depth + 1)]
                           for k, v in value.items()]}
        return {"$junk": type(value).__name__}

    header = json.dumps(enc(obj)).encode()
    parts = [struct.pack("<I", len(header)), header, struct.pack("<I", len(arrays))]
    for array in arrays:
        kind = array.dtype.str.encode()
        head = (struct.pack("<B", len(kind)) + kind + struct.pack("<B", array.ndim)
                + struct.pack(f"<{array.ndim}Q", *array.shape))
        data = memoryview(array.reshape(-1)).cast("B")   # C-contiguous: no copy
        parts += [struct.pack("<Q", len(head) + data.nbytes), head, data]
    return b"".join(parts)


def _read_array(view):
    """The array of one array section (`view`: its bytes), or WireError: only number dtypes,
    at most MAX_DIMENSIONS dimensions, and exactly the bytes its shape needs."""
    size = view[0]
    kind = bytes(view[1:1 + size]).decode("ascii")
    if not DTYPE_STRING.fullmatch(kind):
        raise WireError("array of an unknown dtype")
    dtype = np.dtype(kind)
    ndim = view[1 + size]
    if ndim > MAX_DIMENSIONS:
        raise WireError("array of too many dimensions")
    start = 2 + size + 8 * ndim
    shape = struct.unpack_from(f"<{ndim}Q", view, 2 + size)
    count = 1
    for dim in shape:
        count *= dim
    if count * dtype.itemsize != len(view) - start:
        raise WireError("array length does not match its shape")
    return np.frombuffer(view[start:], dtype=dtype).reshape(shape).copy()


def decode(body):
    """Decode a message body. Only numeric arrays and plain JSON values come out."""
    try:
        view = memoryview(body)
        (hlen,) = struct.unpack_from("<I", view, 0)
        header = json.loads(bytes(view[4:4 + hlen]).decode())
        pos = 4 + hlen
        (count,) = struct.unpack_from("<I", view, pos)
        pos += 4
        arrays = []
        for _ in range(count):
            (alen,) = struct.unpack_from("<Q", view, pos)
            pos += 8
            if pos + alen > len(body):
                raise WireError("truncated array")
            array = _read_array(view[pos:pos + alen])
            pos += alen
            arrays.append(array)
    except WireError:
        raise
    except Exception as exc:  # any malformed input is a wire error, whatever the parser raised
        raise WireError(f"malformed message ({type(exc).__name__})") from None

    def dec(value, depth=0):
        if depth > 60:
            raise WireError("too deeply nested")
        if isinstance(value, list):
            return [dec(v, depth + 1) for v in value]
        if isinstance(value, dict):
            if "$a" in value:
                array = arrays[int(value["$a"])]
                if array.dtype.kind not in NUMERIC_KINDS or array.dtype.names is not None:
                    return Junk(f"array of dtype {array.dtype}")
                return array[()] if array.ndim == 0 else array
            if "$t" in value:
                return tuple(dec(v, depth + 1) for v in value["$t"])
            if "$d" in value:
                return {str(k): dec(v, depth + 1) for k, v in value["$d"]}
            if "$h" in value:
                return Handle(value["$h"])
            if "$junk" in value:
                return Junk(value["$junk"])
            raise WireError("unknown object in message")
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        raise WireError("unknown value in message")

    try:
        return dec(header)
    except WireError:
        raise
    except Exception as exc:
        raise WireError(f"malformed message ({type(exc).__name__})") from None


def write_message(fd, body):
    data = struct.pack("<Q", len(body)) + body
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def read_exact(fd, n):
    chunks, remaining = [], n
    while remaining:
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message(fd):
    (length,) = struct.unpack("<Q", read_exact(fd, 8))
    if length > MAX_MESSAGE:
        raise WireError("message too large")
    return read_exact(fd, length)


# ---------------------------------------------------------------------------------------------
# Worker side


def _install_py2_shims():
    """Official-starter files import `past.builtins`, `future` or `six.moves`: stand-ins."""
    import builtins
    import pickle

    def have(name):
        try:
            importlib.import_module(name)
            return True
        except Exception:
            return False

    def shim(name, **attrs):
        module = types.ModuleType(name)
        module.__dict__.update(attrs)
        sys.modules[name] = module
        return module

    if not have("past"):
        shim("past", builtins=shim("past.builtins", xrange=range, basestring=str, unicode=str,
                                   long=int))
    if not have("future"):
        shim("future", standard_library=shim("future.standard_library",
                                             install_aliases=lambda: None))
    if not have("six"):
        moves = shim("six.moves", cPickle=pickle, range=range, xrange=range, zip=zip, map=map,
                     input=builtins.input)
        shim("six", moves=moves, PY2=False, PY3=True, string_types=(str,),
             iteritems=lambda d: iter(d.items()))
        sys.modules["six.moves.cPickle"] = pickle


def import_tolerant(name):
    """Import a submission module; a package whose __init__ fails is entered without it.

    Official-starter packages may import, in their __init__ files, modules a submission no
    longer has; the modules the grader needs can still be imported on their own.
    Returns (module, note or None).
    """
    try:
        return importlib.import_module(name), None
    except Exception as exc:
        first = f"{type(exc).__name__}: {exc}"
    parts = name.split(".")
    bare = []
    for i in range(1, len(parts)):
        package = ".".join(parts[:i])
        if package in sys.modules:
            continue
        try:
            importlib.import_module(package)
        except Exception:
            module = types.ModuleType(package)
            module.__path__ = [os.path.join(os.getcwd(), *parts[:i])]
            module.__package__ = package
            sys.modules[package] = module
            if i > 1:
                setattr(sys.modules[".".join(parts[:i - 1])], parts[i - 1], module)
            bare.append(package)
    if not bare:
        return importlib.import_module(name), None  # raises the module's own error
    module = importlib.import_module(name)
    return module, (f"{'/'.join(bare[0].split('.'))}/__init__.py failed ({first[:200]}); "
                    f"{name} was imported without it")


class Worker:
    def __init__(self, req_fd, resp_fd):
        self.req_fd = req_fd
        self.resp_fd = resp_fd
        self.objects = {}
        self.next_id = 1
        self.oracle_allowed = False

    # -- objects kept between requests

    def keep(self, obj):
        hid = self.next_id
        self.next_id += 1
        self.objects[hid] = obj
        return Handle(hid)

    def resolve(self, value):
        """Replace handles in a decoded request by the objects they name."""
        if isinstance(value, Handle):
            return self.objects[value.hid]
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.resolve(v) for v in value)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, np.ndarray):
            return value.copy()  # writable, owned by the student code
        return value

    def target(self, spec):
        """The object a request names: {"module": ..., "attr": "A.b"} or {"obj": handle}."""
        if "obj" in spec:
            obj = self.resolve(spec["obj"])
        else:
            obj = import_tolerant(spec["module"])[0]
        for part in spec.get("attr", "").split(".") if spec.get("attr") else []:
            obj = getattr(obj, part)
        for key in spec.get("path", []):
            obj = obj[key] if isinstance(obj, dict) else getattr(obj, key)
        return obj

    # -- oracle: calls answered by the grader (trusted layers, observed calls)

    def oracle(self, name):
        worker = self

        def proxy(*args, **kwargs):
            if not worker.oracle_allowed:
                raise RuntimeError(f"grader function {name} is not available here")
            write_message(worker.resp_fd, encode({"oracle": name, "args": list(args),
                                                  "kwargs": kwargs}))
            reply = decode(read_message(worker.req_fd))
            if not reply.get("ok"):
                raise RuntimeError(reply.get("error", "grader function failed"))
            value = reply["value"]
            return _writable(value)

        proxy.__name__ = name
        return proxy

    def patch(self, patches, undo):
        """Replace functions by oracle proxies, appending the undo steps to `undo`."""
        for spec in patches:
            proxy = self.oracle(spec["oracle"])
            if "obj" in spec:
                obj = self.resolve(spec["obj"])
                had = spec["attr"] in vars(obj)
                old = vars(obj).get(spec["attr"])
                setattr(obj, spec["attr"], proxy)
                undo.append((obj, spec["attr"], had, old))
                continue
            module = import_tolerant(spec["module"])[0]
            original = getattr(module, spec["attr"], None)
            setattr(module, spec["attr"], proxy)
            undo.append((module, spec["attr"], True, original))
            if original is None:
                continue
            # `from .layers import *` copies the name: replace every alias in the package.
            for mod_name, mod in list(sys.modules.items()):
                if mod is module or not (mod_name == "cs231n" or mod_name.startswith("cs231n.")):
                    continue
                for attr, value in list(vars(mod).items()):
                    if value is original:
                        setattr(mod, attr, proxy)
                        undo.append((mod, attr, True, original))

    @staticmethod
    def unpatch(undo):
        for obj, attr, had, old in reversed(undo):
            try:
                if had:
                    setattr(obj, attr, old)
                else:
                    delattr(obj, attr)
            except Exception:
                pass

    # -- requests

    def arguments(self, req, seeded):
        """The resolved args and kwargs of a call or new request, after seeding the random
        modules `seeded` with its seed, if it has one."""
        args = self.resolve(req.get("args", []))
        kwargs = self.resolve(req.get("kwargs", {}))
        if req.get("seed") is not None:
            for module in seeded:
                module.seed(req["seed"])
        return args, kwargs

    def run_call(self, req):
        fn = self.target(req["fn"])
        args, kwargs = self.arguments(req, seeded=(np.random, random))
        return fn(*args, **kwargs)

    def op_call(self, req):
        result = self.run_call(req)
        return self.reply_value(result, req)

    def reply_value(self, result, req):
        reply = {"value": self.plain(result, req.get("show"))}
        if req.get("keep"):
            kept = result
            for key in req.get("keep_path", []):
                kept = kept[key]
            reply["handle"] = self.keep(kept)
        return reply

    @staticmethod
    def plain(result, show):
        """The part of a result sent back: all, a path into it, or nothing."""
        if show == "none":
            return None
        if isinstance(show, list):
            for key in show:
                result = result[key] if not isinstance(key, str) else (
                    result[key] if isinstance(result, dict) else getattr(result, key))
        return _detach(result)

    def op_new(self, req):
        cls = self.target(req["cls"])
        args, kwargs = self.arguments(req, seeded=(np.random,))
        init_error = None
        try:
            obj = cls(*args, **kwargs)
        except Exception as exc:
            if "fallback_attrs" not in req:
                raise
            # Tests of other methods should not fail because __init__ does: build the object
            # without it, with the attributes __init__ documents.
            init_error = _describe(exc)
            obj = cls.__new__(cls)
            for name, value in self.resolve(req["fallback_attrs"]).items():
                setattr(obj, name, value)
        return {"handle": self.keep(obj), "init_error": init_error}

    def op_get(self, req):
        return {"value": _detach(self.target(req["target"]))}

    def op_set(self, req):
        spec = req["target"]
        obj = self.target({k: v for k, v in spec.items() if k != "path"})
        path = spec.get("path", [])
        for key in path[:-1]:
            obj = obj[key] if isinstance(obj, dict) else getattr(obj, key)
        value = self.resolve(req["value"])
        if isinstance(obj, dict):
            obj[path[-1]] = value
        else:
            setattr(obj, path[-1], value)
        return {}

    def op_fevals(self, req):
        """f(x + h e_i) and f(x - h e_i) for the listed entries i of one input.

        f is the call's result, selected by `select` and, given `project`, summed against it.
        The grader turns these values into a numeric gradient.
        """
        call = dict(req["call"])
        args = self.resolve(call.pop("args", []))
        call["args"] = []
        pert = req["perturb"]
        if "arg" in pert:
            x = args[pert["arg"]]
        else:
            x = self.target(pert["target"])
        project = req.get("project")
        step = float(req["h"])
        out = np.zeros((len(req["indices"]), 2))

        def f():
            result = self.run_call({**call, "args": args})
            for key in req.get("select", []):
                result = result[key]
            if project is not None:
                return float(np.sum(np.asarray(result, dtype=np.float64) * project))
            return float(result)

        for row, index in enumerate(req["indices"]):
            index = tuple(index)
            old = x[index]
            x[index] = old + step
            out[row, 0] = f()
            x[index] = old - step
            out[row, 1] = f()
            x[index] = old
        return {"value": out}

    def op_import(self, req):
        _, note = import_tolerant(req["module"])
        return {"value": note}

    def op_load_model(self, req):
        """Open a saved model (a pickled dict, so only here) and return its numeric arrays."""
        data = np.load(req["path"], allow_pickle=True)
        if isinstance(data, np.ndarray) and data.dtype == object and data.shape == ():
            data = data.item()
        if not isinstance(data, dict):
            raise TypeError(f"{req['path']} holds a {type(data).__name__}, not a dictionary")
        params = {}
        for key, value in data.items():
            try:
                array = np.asarray(value, dtype=np.float64)
            except Exception:
                continue
            params[str(key)] = array
        return {"value": params}

    def op_ping(self, req):
        return {"value": {"uid": os.getuid(), "cwd": os.getcwd(), "python": sys.version}}

    def handle(self, req):
        op = getattr(self, "op_" + str(req.get("op")), None)
        if op is None:
            return {"ok": False, "error": {"type": "GraderError", "message": "unknown op"}}
        self.oracle_allowed = bool(req.get("patch"))
        undo = []
        # Warnings are kept: a release placeholder warns that its function is not written yet.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self.patch(req.get("patch", []), undo)
                result = op(req)
                result["ok"] = True
            except BaseException as exc:  # the student's error is the reply, whatever it is
                result = {"ok": False, "error": _describe(exc)}
            finally:
                self.cleanup(undo)
        try:
            result["warnings"] = [str(w.message)[:300] for w in caught[:5]]
        except BaseException:
            result["warnings"] = []
        return result

    def cleanup(self, undo):
        try:
            self.unpatch(undo)
            self.oracle_allowed = False
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass

    def serve(self):
        pid = os.getpid()
        while True:
            try:
                body = read_message(self.req_fd)
            except EOFError:
                return
            req = decode(body)
            reply = self.handle(req)
            if os.getpid() != pid:
                os._exit(0)  # a process forked by the student's code never answers the grader
            reply["id"] = req.get("id")
            try:
                data = encode(reply, None)
            except BaseException as exc:
                data = encode({"id": req.get("id"), "ok": False, "error": {
                    "type": "GraderError", "message": f"reply could not be encoded: {exc!r}"}})
            write_message(self.resp_fd, data)


def _detach(value):
    """Copy arrays so that the reply is a snapshot (the student code may mutate them later)."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _detach(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_detach(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_detach(v) for v in value)
    return value


def _writable(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (list, tuple)):
        return type(value)(_writable(v) for v in value)
    if isinstance(value, dict):
        return {k: _writable(v) for k, v in value.items()}
    return value


def _describe(exc):
    """Type, message and the last line of the submission's code in the traceback."""
    cwd = os.getcwd()
    where = None
    try:
        for frame in traceback.extract_tb(exc.__traceback__):
            if frame.filename.startswith(cwd + os.sep):
                where = f"{os.path.relpath(frame.filename, cwd)}:{frame.lineno} in {frame.name}"
    except BaseException:
        pass
    try:
        message = str(exc)[:500]
    except BaseException:
        message = "(the exception's message could not be read)"
    kind = type(exc).__name__ if isinstance(type(exc).__name__, str) else "Exception"
    if isinstance(exc, SystemExit):
        kind = "SystemExit"
    return {"type": kind[:100], "message": message, "where": where,
            "not_implemented": isinstance(exc, NotImplementedError)}


def main(argv):
    req_fd, resp_fd = int(argv[1]), int(argv[2])
    # -I leaves the working directory off sys.path: the submission's package is found here.
    sys.path.insert(0, os.getcwd())
    sys.dont_write_bytecode = True
    _install_py2_shims()
    Worker(req_fd, resp_fd).serve()


if __name__ == "__main__":
    main(sys.argv)

"""The sandbox: what the worker can see and do, and how the grader survives what it does."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from coursekit.grader import worker as wire
from coursekit.grader.master import HIDDEN_DIR, REPO_ROOT
from coursekit.grader.sandbox import Limits, Sandbox, copy_submission

PROBE = '''
import os, socket, sys, numpy as np

def listdir(path):
    return sorted(os.listdir(path))

def exists(path):
    return os.path.exists(path)

def read(path):
    with open(path) as f:
        return f.read()

def uid():
    return os.getuid()

def connect(host, port):
    s = socket.create_connection((host, port), timeout=2)
    return "connected"

def spin():
    while True:
        pass

def hard_exit():
    os._exit(3)

def soft_exit():
    sys.exit(0)

def flood():
    while True:
        print("x" * 1000)

def memory_bomb():
    blocks = []
    while True:
        blocks.append(np.ones(10**8))

def junk():
    return object()

def nan_array():
    return np.full((2, 2), np.nan)

def chroot_escape():
    os.makedirs("/tmp/escape", exist_ok=True)
    os.chroot("/tmp/escape")
    for _ in range(20):
        os.chdir("..")
    os.chroot(".")
    return sorted(os.listdir("/"))

def import_module(name):
    __import__(name)
    return "imported"
'''


def package(root, **modules):
    """root/cs231n with an empty __init__.py and the modules given as name=source."""
    pkg = root / "cs231n"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    for name, source in modules.items():
        (pkg / f"{name}.py").write_text(source)
    return pkg


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """The probe package in the bubblewrap jail (coursekit/jail.py)."""
    sub = package(tmp_path_factory.mktemp("probe"), probe=PROBE)
    with Sandbox(sub, limits=Limits(memory_mb=1024), isolation="bwrap") as sandbox:
        yield sandbox


def call(sandbox, name, *args, module="probe", timeout=10):
    """cs231n.<module>.<name>(*args) in the sandbox; the reply."""
    return sandbox.request({"op": "call", "fn": {"module": f"cs231n.{module}", "attr": name},
                            "args": list(args)}, timeout)


def test_this_machine_builds_the_bubblewrap_jail():
    # CI installs bubblewrap (.ci/run): the jail, not a fallback, is what these tests prove.
    from coursekit import jail

    assert jail.mode() == "bwrap", jail.why_not_bwrap()


def test_worker_runs_as_an_unprivileged_user_of_its_own(probe):
    reply = call(probe, "uid")
    assert reply.ok and reply.value != 0 and reply.value != os.getuid()
    assert reply.value == probe.uid


def test_worker_cannot_leave_the_jail(probe):
    reply = call(probe, "chroot_escape")
    assert reply.status == "error" and reply.error["type"] == "PermissionError"


def test_worker_sees_neither_the_repository_nor_the_references(probe):
    assert call(probe, "exists", str(HIDDEN_DIR / "references.json")).value is False
    assert call(probe, "exists", str(REPO_ROOT / "cs231n")).value is False
    assert call(probe, "exists", str(REPO_ROOT / ".git")).value is False
    assert call(probe, "listdir", str(REPO_ROOT)).value == [".venv"]
    assert call(probe, "read", str(HIDDEN_DIR / "references.json")).status == "error"


def test_worker_cannot_import_the_master_package_or_coursekit(probe):
    reply = call(probe, "import_module", "coursekit")
    assert reply.status == "error" and reply.error["type"] == "ModuleNotFoundError"
    # Its own cs231n is the submission's copy, not the master.
    reply = call(probe, "exists", "/submission/cs231n/probe.py")
    assert reply.value is True


def test_worker_has_no_network(probe):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        reply = call(probe, "connect", "127.0.0.1", port)
    assert reply.status == "error"


@pytest.mark.parametrize("fn, kwargs, status, says", [
    ("spin", {"timeout": 1}, "timeout", "time limit"),         # a hanging call times out
    ("hard_exit", {}, "crashed", "exit code 3"),               # os._exit: the worker restarts
    ("soft_exit", {}, "error", "'type': 'SystemExit'"),        # sys.exit: that call only
    ("flood", {}, "flood", "output flood"),                    # the flood is stopped
])
def test_a_failed_call_is_reported_as_such_and_the_next_call_works(probe, fn, kwargs, status,
                                                                    says):
    reply = call(probe, fn, **kwargs)
    assert reply.status == status and says in f"{reply.message} {reply.error}"
    assert call(probe, "uid").ok


def test_memory_bomb_hits_the_memory_limit(probe):
    reply = call(probe, "memory_bomb")
    assert reply.status in ("error", "crashed")
    assert "MemoryError" in str(reply.error) or "memory" in reply.message
    assert call(probe, "uid").ok


def test_non_numeric_results_arrive_as_junk_not_objects(probe):
    reply = call(probe, "junk")
    assert reply.ok and isinstance(reply.value, wire.Junk)


def test_nan_arrives_as_nan(probe):
    value = call(probe, "nan_array").value
    assert isinstance(value, np.ndarray) and np.isnan(value).all()


def array_message(section):
    """A message whose JSON is one array, with `section` as the array's bytes."""
    import struct

    header = b'{"$a": 0}'
    return (struct.pack("<I", len(header)) + header + struct.pack("<I", 1)
            + struct.pack("<Q", len(section)) + section)


def array_section(kind, shape, data):
    import struct

    return (struct.pack("<B", len(kind)) + kind + struct.pack("<B", len(shape))
            + struct.pack(f"<{len(shape)}Q", *shape) + data)


def test_decode_refuses_object_arrays():
    import io

    buf = io.BytesIO()   # an .npy file of objects (pickled) where an array's bytes go
    np.lib.format.write_array(buf, np.array([object()], dtype=object), allow_pickle=True)
    for section in (buf.getvalue(), array_section(b"|O8", (1,), b"\0" * 8)):
        with pytest.raises(wire.WireError):
            wire.decode(array_message(section))


@pytest.mark.parametrize("kind, shape, data", [
    (b"|S5", (1,), b"abcde"),                 # bytes, not numbers
    (b"<V8", (1,), b"\0" * 8),                # raw records
    (b"<M8[s]", (1,), b"\0" * 8),             # dates
    (b"<f8", (2, 2), b"\0" * 24),             # fewer bytes than the shape needs
    (b"<f8", (2,), b"\0" * 24),               # more
    (b"<f8", (1,) * 40, b"\0" * 8),           # too many dimensions
    (b"<f8", (2**40, 2**40), b""),            # a shape whose size overflows 64 bits
])
def test_decode_refuses_arrays_that_are_not_plain_numbers_of_their_stated_size(kind, shape,
                                                                                data):
    with pytest.raises(wire.WireError):
        wire.decode(array_message(array_section(kind, shape, data)))


def test_arrays_cross_the_wire_unchanged():
    values = [np.arange(6, dtype=">i4").reshape(2, 3), np.zeros((0, 5)), np.float16([1.5]),
              np.array([True, False]), np.uint8([[1, 255]]), np.random.default_rng(0).normal(
                  size=(3, 4, 5)).transpose(2, 0, 1), np.float64(2.5), np.int32(-7)]
    back = wire.decode(wire.encode(values))
    for sent, got in zip(values, back, strict=True):
        if isinstance(sent, np.generic):   # np.float64 is a float: it crosses as a float
            assert got == sent and getattr(got, "dtype", sent.dtype) == sent.dtype
        else:
            assert got.dtype == sent.dtype and got.shape == sent.shape
            assert np.array_equal(got, sent) and got.flags.writeable


def test_decode_refuses_truncated_and_garbage_messages():
    body = wire.encode({"a": np.arange(5.0)})
    with pytest.raises(wire.WireError):
        wire.decode(body[:-3])
    with pytest.raises(wire.WireError):
        wire.decode(b"\xff" * 40)


def test_copy_skips_symlinks_and_special_files(tmp_path):
    src = tmp_path / "src" / "cs231n"
    (src / "saved").mkdir(parents=True)
    (src / "layers.py").write_text("x = 1\n")
    (src / "leak.json").symlink_to(HIDDEN_DIR / "references.json")
    (src / "master").symlink_to(REPO_ROOT / "cs231n")
    os.mkfifo(src / "saved" / "pipe")
    notes = copy_submission(src, tmp_path / "dest")
    copied = sorted(p.relative_to(tmp_path / "dest").as_posix()
                    for p in (tmp_path / "dest").rglob("*"))
    assert copied == ["layers.py", "saved"]
    assert len(notes) == 3
    assert any(n.startswith("cs231n/leak.json is a symbolic link") for n in notes), notes
    assert any(n.startswith("cs231n/saved/pipe is a") for n in notes), notes


def test_copy_counts_a_sparse_file_by_its_length(tmp_path, monkeypatch):
    from coursekit.grader import sandbox as sandbox_module

    monkeypatch.setattr(sandbox_module, "MAX_FILE_BYTES", 2**20)
    src = tmp_path / "src" / "cs231n"
    src.mkdir(parents=True)
    with open(src / "huge.npy", "wb") as f:      # 4 GB long, a few bytes on disk
        f.truncate(4 * 2**30)
    notes = copy_submission(src, tmp_path / "dest")
    assert not (tmp_path / "dest" / "huge.npy").exists()
    assert any("cs231n/huge.npy" in n for n in notes), notes


def test_a_symlinked_package_folder_is_refused(tmp_path):
    (tmp_path / "cs231n").symlink_to(REPO_ROOT / "cs231n")
    with pytest.raises(FileNotFoundError):
        copy_submission(tmp_path / "cs231n", tmp_path / "dest")


def test_sandbox_folder_is_removed_after_use(tmp_path):
    with Sandbox(package(tmp_path)) as sandbox:
        assert sandbox.request({"op": "ping"}, 10).ok
        stage = sandbox.stage
    assert not Path(stage).exists()


FORKER = '''
import os

def fork_bomb():
    children = 0
    while children < 1000:
        pid = os.fork()
        if pid == 0:
            continue
        children += 1
    return children

def thread():
    import threading
    t = threading.Thread(target=lambda: None)
    t.start()
    t.join()
    return "thread ran"
'''


def test_worker_cannot_fork_or_start_threads(tmp_path):
    with Sandbox(package(tmp_path, forker=FORKER)) as sandbox:
        for name in ("fork_bomb", "thread"):
            assert call(sandbox, name, module="forker").status == "error", name
        assert sandbox.request({"op": "ping"}, 10).ok


WRITER = '''
def write(path, size):
    with open(path, "wb") as f:
        f.write(b"x" * size)
    return "written"
'''


def test_submission_copy_is_read_only_and_tmp_is_small(tmp_path):
    with Sandbox(package(tmp_path, writer=WRITER)) as sandbox:
        def write(path, size):
            return call(sandbox, "write", path, size, module="writer")

        assert write("/submission/cs231n/new.txt", 10).status == "error"
        assert write("/tmp/small.bin", 1000).ok
        # One file may not pass the file-size limit (an output flood of its own).
        assert not write("/tmp/big.bin", 64 * 1024 * 1024).ok


def test_unjailed_sandbox_says_so(tmp_path):
    with Sandbox(package(tmp_path), isolation="none") as sandbox:
        assert sandbox.request({"op": "ping"}, 10).ok
        assert any("could read the grader's files" in n for n in sandbox.notes)


def test_without_bubblewrap_the_worker_runs_as_its_own_user_where_it_can(tmp_path):
    """The fallback where namespaces are forbidden (Gradescope's containers): a user of its
    own and the limits, when that user may run the interpreter; else the limits alone. Either
    way the notes tell the instructor what it does not protect."""
    from coursekit import jail

    pkg = package(tmp_path, probe=PROBE)
    if jail.uid_works():
        with Sandbox(pkg, isolation="uid") as sandbox:
            uid = call(sandbox, "uid")
            assert uid.ok and uid.value == sandbox.uid != 0
            assert call(sandbox, "read", "/etc/shadow").status == "error"
            assert any("could read every file readable by all" in n for n in sandbox.notes)
    else:  # this machine's interpreter lives under a folder only root may open (/root)
        assert "folders other users may not open" in jail.why_not_uid()
        with Sandbox(pkg, isolation="none") as sandbox:
            assert call(sandbox, "uid").value == os.getuid()
            assert any("could read the grader's files" in n and "other users may not open" in n
                       for n in sandbox.notes)


def test_the_jail_is_chosen_when_bwrap_works_and_the_fallback_otherwise(monkeypatch):
    from coursekit import jail

    assert jail.mode() == "bwrap"
    monkeypatch.setattr(jail, "bwrap_works", lambda: False)
    monkeypatch.setattr(jail, "uid_works", lambda: True)
    assert jail.mode() == "uid"
    monkeypatch.setattr(jail, "uid_works", lambda: False)
    assert jail.mode() == "none"


def test_copy_stops_at_the_file_count_limit(tmp_path, monkeypatch):
    from coursekit.grader import sandbox as sandbox_module

    monkeypatch.setattr(sandbox_module, "MAX_FILES", 3)
    src = tmp_path / "src" / "cs231n"
    src.mkdir(parents=True)
    for i in range(5):
        (src / f"f{i}.py").write_text("")
    notes = copy_submission(src, tmp_path / "dest")
    assert len(list((tmp_path / "dest").iterdir())) == 3
    assert any("more than 3 files" in n for n in notes), notes


def test_jail_mounts_every_folder_the_interpreters_symlinks_pass_through(tmp_path, monkeypatch):
    # venv/bin/python -> tools/bin/python3.11 -> (linked folder) opt/python/bin/python3.11
    import sys

    from coursekit import jail

    real_bin = tmp_path / "opt" / "python" / "bin"
    real_bin.mkdir(parents=True)
    (real_bin / "python3.11").write_text("")
    (tmp_path / "linked").symlink_to(real_bin)
    tools = tmp_path / "tools" / "bin"
    tools.mkdir(parents=True)
    (tools / "python3.11").symlink_to(tmp_path / "linked" / "python3.11")
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").symlink_to("../../tools/bin/python3.11")
    monkeypatch.setattr(sys, "executable", str(venv_bin / "python"))
    hops = jail._symlink_hops(sys.executable)
    assert hops[0] == str(venv_bin / "python") and hops[1] == str(tools / "python3.11")
    assert os.path.realpath(hops[-1]) == str(real_bin / "python3.11")
    mounted = jail.interpreter_paths()
    for folder in (tools, tmp_path / "linked", real_bin):
        assert any(str(folder) == m or str(folder).startswith(m + "/") for m in mounted), \
            (folder, mounted)


def test_py2_shims_stand_in_for_missing_past_future_and_six():
    # The official starter's imports, in a worker whose environment lacks all three packages.
    code = (
        "import sys\n"
        "for name in ('past', 'future', 'six'): sys.modules[name] = None\n"
        "from coursekit.grader import worker\n"
        "worker._install_py2_shims()\n"
        "from past.builtins import xrange\n"
        "from future import standard_library\n"
        "from six.moves import cPickle, range as srange\n"
        "import six, pickle\n"
        "standard_library.install_aliases()\n"
        "assert xrange is range and srange is range and cPickle is pickle and six.PY3\n"
        "assert sys.modules['six.moves.cPickle'] is pickle\n"
        "assert dict(six.iteritems({1: 2})) == {1: 2}\n")
    subprocess.run([sys.executable, "-c", code], check=True)

"""The sandboxed student process: confine itself, run the cells, call the cases.

A child is forked by the zygote, receives its job from the grader, and then,
before any student code runs: leaves the network, changes its root directory
to a private temporary folder, switches to an unprivileged user id of its own
(when started as root), marks itself non-dumpable, sets resource limits and
clears its environment.  It reports progress as frames on its socket; the
grader enforces every time limit from outside by killing the process.

Frame: 4-byte little-endian length, 1-byte kind, then a JSON header and, for
results, an encoded value (see :mod:`autograder.wire`).
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import resource
import socket
import struct
import sys

from . import runner

CLONE_NEWNET = 0x40000000
PR_SET_DUMPABLE = 4
PR_SET_PDEATHSIG = 1

KIND_SETUP = b"P"
KIND_CELL_START = b"S"
KIND_CELL_DONE = b"D"
KIND_LOADED = b"L"
KIND_CALL_START = b"C"
KIND_CALL_RESULT = b"R"
KIND_END = b"E"


def pack_frame(kind: bytes, header: dict, payload: bytes = b"") -> bytes:
    header_bytes = json.dumps(header).encode()
    body = kind + struct.pack("<I", len(header_bytes)) + header_bytes + payload
    return struct.pack("<I", len(body)) + body


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError("connection closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _vm_size_bytes() -> int:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def confine(limits: dict) -> list:
    """Apply every confinement step possible here; return notes on the ones that failed."""
    notes = []
    devnull = os.open(os.devnull, os.O_RDWR)
    memory_base = _vm_size_bytes()

    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(CLONE_NEWNET) != 0:
            notes.append("could not remove network access (unshare failed)")
        workdir = limits["workdir"]
        os.chroot(workdir)
        os.chdir("/")
        uid = limits["uid"]
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    else:
        libc = ctypes.CDLL(None, use_errno=True)
        os.chdir(limits["workdir"])
        notes.append(f"not running as root, so student code runs as uid {os.getuid()} without chroot")

    # Changing user clears the parent-death signal, so it is set here, after the switch:
    # a grader killed mid-batch takes its zygote and this child with it.
    libc.prctl(PR_SET_PDEATHSIG, 9, 0, 0, 0)
    if os.getppid() != limits["zygote_pid"]:
        os._exit(0)

    def limit(which, value):
        try:
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError):
            notes.append(f"could not set resource limit {which}")

    limit(resource.RLIMIT_AS, memory_base + limits["memory_bytes"])
    limit(resource.RLIMIT_CPU, limits["cpu_seconds"])
    limit(resource.RLIMIT_NPROC, limits["max_processes"])
    limit(resource.RLIMIT_FSIZE, limits["file_size_bytes"])
    limit(resource.RLIMIT_CORE, 0)

    os.environ.clear()
    os.environ.update({"HOME": "/", "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"})
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    return notes


def run_child(fd: int) -> None:
    sock = socket.socket(fileno=fd)

    def send(kind: bytes, header: dict, payload: bytes = b"") -> None:
        sock.sendall(pack_frame(kind, header, payload))

    (size,) = struct.unpack("<Q", _receive_exactly(sock, 8))
    job = pickle.loads(_receive_exactly(sock, size))  # sent by the grader, never by student code

    job["limits"]["zygote_pid"] = int(os.environ.get("AUTOGRADER_ZYGOTE_PID", os.getppid()))
    notes = confine(job["limits"])
    send(KIND_SETUP, {"notes": notes})
    runner.raise_recursion_floor()

    namespace = runner.new_namespace()
    cells = job["cells"]
    sources = dict(cells)

    def report(event: str, index: int, error) -> None:
        if event == "start":
            send(KIND_CELL_START, {"cell": index})
        else:
            send(KIND_CELL_DONE, {"cell": index, "error": error})

    runner.execute_cells(cells, set(job["skip"]), namespace, report)
    send(KIND_LOADED, {})

    for number, function_name, args, kwargs in job["calls"]:
        send(KIND_CALL_START, {"call": number})
        outcome = runner.call_case(namespace, function_name, args, kwargs, sources)
        payload = outcome.pop("payload", b"")
        send(KIND_CALL_RESULT, {"call": number, **outcome}, payload)
    send(KIND_END, {})
    sock.close()
    sys.stdout.flush()

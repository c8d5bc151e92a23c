"""The sandboxed student process: confine itself, run the cells, call the cases.

A child is forked by the zygote, receives its job from the grader, and then,
before any student code runs: installs a system call filter (no sockets, no
access to other processes), changes its root directory to a private
temporary folder that contains its run folder and copies of the fonts,
switches to an unprivileged user id of its own (when started as root), marks
itself non-dumpable and sets resource limits.  It reports progress as frames
on its socket; the grader enforces every time limit from outside by killing
the process.

Frame: 4-byte little-endian length, 1-byte kind, then a JSON header and, for
results, an encoded value (see :mod:`autograder.wire`).  The child sends
SETUP, one CELL_DONE per cell, LOADED, one CALL_RESULT per call and END, in
that order, so each frame also marks the start of the next step.
"""

from __future__ import annotations

import copy
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
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

KIND_SETUP = b"P"
KIND_CELL_DONE = b"D"
KIND_LOADED = b"L"
KIND_CALL_RESULT = b"R"
KIND_END = b"E"

# Set by the zygote before it forks, so each child inherits them instead of computing them.
ZYGOTE_PID = 0
MEMORY_BASE = 0
# The cases, by call number, as (number, function, args, kwargs); the job names calls by number.
CASES: dict = {}
# The environment of student code, installed once in the zygote.
CHILD_ENVIRONMENT = {"HOME": "/", "LANG": "C.UTF-8", "MPLBACKEND": "Agg", "OPENBLAS_NUM_THREADS": "1"}

_libc = ctypes.CDLL(None, use_errno=True)


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte), ("k", ctypes.c_uint)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


# System calls that student code never needs and that reach beyond its own process.
# They cover sockets (io_uring can open them too) and other processes' memory and file
# descriptors. System V IPC objects outlive the process and bypass the memory limit.
# Keyrings, BPF, perf events and userfaultfd complete the list.
DENIED_SYSTEM_CALLS = (
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "io_uring_setup",
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open", "pidfd_getfd",
    "shmget", "semget", "msgget", "add_key", "request_key", "keyctl", "bpf", "perf_event_open", "userfaultfd",
)
# Audit architecture tag and system call numbers, from the kernel's unistd headers.
_SYSTEM_CALL_NUMBERS = {
    "x86_64": (0xC000003E, {
        "socket": 41, "socketpair": 53, "connect": 42, "bind": 49, "listen": 50, "accept": 43, "accept4": 288,
        "io_uring_setup": 425, "ptrace": 101, "process_vm_readv": 310, "process_vm_writev": 311, "pidfd_open": 434,
        "pidfd_getfd": 438, "shmget": 29, "semget": 64, "msgget": 68, "add_key": 248, "request_key": 249,
        "keyctl": 250, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
    }),
    "aarch64": (0xC00000B7, {
        "socket": 198, "socketpair": 199, "connect": 203, "bind": 200, "listen": 201, "accept": 202, "accept4": 242,
        "io_uring_setup": 425, "ptrace": 117, "process_vm_readv": 270, "process_vm_writev": 271, "pidfd_open": 434,
        "pidfd_getfd": 438, "shmget": 194, "semget": 190, "msgget": 186, "add_key": 217, "request_key": 218,
        "keyctl": 219, "bpf": 280, "perf_event_open": 241, "userfaultfd": 282,
    }),
}


def _system_call_filter():
    """Return a seccomp program that makes the denied system calls fail with EACCES, or None.

    System calls of another ABI (32-bit or x32 calls on x86_64, which have
    numbers of their own) fail the same way.
    """
    machine = os.uname().machine
    if machine not in _SYSTEM_CALL_NUMBERS:
        return None
    arch, numbers = _SYSTEM_CALL_NUMBERS[machine]
    denied = [numbers[name] for name in DENIED_SYSTEM_CALLS]
    load, jump_equal, jump_greater_equal, ret = 0x20, 0x15, 0x35, 0x06
    deny = 0x00050000 | 13  # SECCOMP_RET_ERRNO | EACCES
    allow = 0x7FFF0000
    # Jump offsets count the instructions skipped; the last instruction denies.
    checks = len(denied) + 1
    program = [
        (load, 0, 0, 4),  # the architecture
        (jump_equal, 0, checks + 2, arch),
        (load, 0, 0, 0),  # the system call number
        (jump_greater_equal, checks, 0, 0x40000000),
    ]
    for position, number in enumerate(denied):
        program.append((jump_equal, len(denied) - position, 0, number))
    program += [(ret, 0, 0, allow), (ret, 0, 0, deny)]
    instructions = (_SockFilter * len(program))(*[_SockFilter(*instruction) for instruction in program])
    return _SockFprog(len(program), instructions), instructions


_SYSTEM_CALL_FILTER = _system_call_filter()


def deny_system_calls() -> bool:
    """Install the system call filter on this process; return False when the kernel refused it."""
    if _SYSTEM_CALL_FILTER is None:
        return False
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return _libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(_SYSTEM_CALL_FILTER[0]), 0, 0) == 0


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
    libc = _libc

    # A seccomp filter blocks the network, among other things, with one system call.
    # A private network namespace is the fallback: it needs root and costs far more.
    filtered = deny_system_calls()
    if os.geteuid() == 0:
        if not filtered and libc.unshare(CLONE_NEWNET) != 0:
            notes.append("could not remove network access (seccomp and unshare failed)")
        root = limits.get("root", limits["workdir"])
        os.chroot(root)
        os.chdir("/" + os.path.relpath(limits["workdir"], root))
        uid = limits["uid"]
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    else:
        os.chdir(limits["workdir"])
        notes.append(f"not running as root, so student code runs as uid {os.getuid()} without chroot")
        if not filtered:
            notes.append("could not remove network access (seccomp failed)")
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)

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

    limit(resource.RLIMIT_AS, limits["memory_base"] + limits["memory_bytes"])
    limit(resource.RLIMIT_CPU, limits["cpu_seconds"])
    limit(resource.RLIMIT_NPROC, limits["max_processes"])
    limit(resource.RLIMIT_FSIZE, limits["file_size_bytes"])
    limit(resource.RLIMIT_CORE, 0)

    if os.environ != CHILD_ENVIRONMENT:
        os.environ.clear()
        os.environ.update(CHILD_ENVIRONMENT)
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

    job["limits"]["zygote_pid"] = ZYGOTE_PID or os.getppid()
    job["limits"]["memory_base"] = MEMORY_BASE or _vm_size_bytes()
    notes = confine(job["limits"])
    send(KIND_SETUP, {"notes": notes})
    runner.raise_recursion_floor()

    namespace = runner.new_namespace()
    cells = job["cells"]
    sources = dict(cells)

    def report(event: str, index: int, error) -> None:
        if event == "done":
            send(KIND_CELL_DONE, {"cell": index, "error": error})

    runner.execute_cells(cells, set(job["skip"]), namespace, report)
    send(KIND_LOADED, {})

    for number in job["calls"]:
        _, function_name, args, kwargs = CASES[number]
        # Cases may share input arrays, so each call gets its own copy, as in the reference run.
        args, kwargs = copy.deepcopy(args), copy.deepcopy(kwargs)
        outcome = runner.call_case(namespace, function_name, args, kwargs, sources)
        payload = outcome.pop("payload", b"")
        send(KIND_CALL_RESULT, {"call": number, **outcome}, payload)
    send(KIND_END, {})
    sock.close()
    sys.stdout.flush()

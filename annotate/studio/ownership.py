"""Which TCP ports a process group listens on, read from /proc (Linux), without sending anything to the port.

`annotate studio up` uses it to make sure the server answering on a port is the label-studio it started before
it writes our API key into a connection: Label Studio moves to the next port by itself when its port is taken,
and anything at all may answer `/health` on a port. Asking the server (with the key) would hand the key to
whatever answers; the kernel's socket table cannot lie about who holds the port.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

PROC = Path("/proc")
_LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's `st` column


def can_tell() -> bool:
    """Whether this system shows its socket table and processes' descriptors (Linux /proc)."""
    return (PROC / "net" / "tcp").exists() and (PROC / str(os.getpid()) / "fd").is_dir()


def _listening_sockets() -> dict[int, int]:
    """Socket inode -> port of every listening TCP socket (IPv4 and IPv6)."""
    found: dict[int, int] = {}
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9 and cols[3] == _LISTEN:
                found[int(cols[9])] = int(cols[1].rsplit(":", 1)[1], 16)
    return found


def group_members(pgid: int) -> list[int]:
    """The processes of process group `pgid` (the server is started in a session of its own, so its workers
    are in its group)."""
    members = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (command) state ppid pgrp ...": the command may hold spaces and parentheses
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[2] == str(pgid):
            members.append(int(entry.name))
    return members


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = list((PROC / str(pid) / "fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def listening_ports(pgid: int) -> set[int] | None:
    """The TCP ports the processes of group `pgid` listen on; None when this system cannot tell."""
    if not can_tell():
        return None
    listening = _listening_sockets()
    ours = set()
    for pid in group_members(pgid):
        ours |= _socket_inodes(pid)
    return {port for inode, port in listening.items() if inode in ours}


def port_in_use(port: int) -> bool:
    """Whether something listens on the port (on 127.0.0.1, or on `localhost` as Label Studio checks it)."""
    for host in ("127.0.0.1", "localhost"):
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            continue
    return False

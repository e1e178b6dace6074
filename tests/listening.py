"""Where a process listens, as the kernel reports it (psutil), for the loopback-default tests."""

from __future__ import annotations

import ipaddress

import psutil


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """(address, port) of every TCP socket `pid` (and its children) has in LISTEN state."""
    process = psutil.Process(pid)
    found = set()
    for member in (process, *process.children(recursive=True)):
        for connection in member.net_connections(kind="tcp"):
            if connection.status == psutil.CONN_LISTEN:
                found.add((connection.laddr.ip, connection.laddr.port))
    return found


def is_loopback(ip: str) -> bool:
    """127.0.0.0/8, ::1, or an IPv4-mapped loopback (::ffff:127.0.0.1, as grpc binds)."""
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or (mapped is not None and mapped.is_loopback)


def assert_loopback_only(pid: int) -> set[tuple[str, int]]:
    """Every listening socket of `pid` is on loopback, and there is at least one."""
    found = listening_addresses(pid)
    assert found, f"process {pid} listens on nothing"
    exposed = {(ip, port) for ip, port in found if not is_loopback(ip)}
    assert not exposed, f"process {pid} listens beyond loopback: {sorted(exposed)}"
    return found

"""TCP reachability of a KMS host's port (1688 by default)."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class TcpResult:
    reachable: bool
    latency_ms: float | None
    error: str = ""


def check_tcp(address: str, port: int, *, timeout: float = 3.0) -> TcpResult:
    """Open and close a TCP connection. A host that drops SYNs costs `timeout` seconds, no more
    (when `address` is an IP; a name goes through the system resolver first)."""
    started = time.monotonic()
    try:
        with socket.create_connection((address, port), timeout=timeout):
            pass
    except TimeoutError:
        return TcpResult(False, None, f"no answer on port {port} within {timeout:g} s")
    except ConnectionRefusedError:
        return TcpResult(False, None, f"port {port} refused the connection")
    except socket.gaierror as exc:
        return TcpResult(False, None, f"name lookup failed: {exc.strerror or exc}")
    except OSError as exc:
        return TcpResult(False, None, f"connection to port {port} failed: {exc.strerror or exc}")
    return TcpResult(True, round((time.monotonic() - started) * 1000, 2))

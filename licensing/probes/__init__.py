"""Pure network probes for KMS hosts: DNS SRV discovery and TCP reachability.

No ORM, no settings: each takes plain values and a timeout and returns a small result object,
so polls, the benchmark baseline and tests all run the same code.
"""

from licensing.probes.dns import SrvLookup, SrvRecord, lookup_srv, parse_resolver, resolve_address
from licensing.probes.tcp import TcpResult, check_tcp

__all__ = [
    "SrvLookup",
    "SrvRecord",
    "TcpResult",
    "check_tcp",
    "lookup_srv",
    "parse_resolver",
    "resolve_address",
]

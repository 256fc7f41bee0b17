"""The machine's TCP sockets on one port, from /proc/net/tcp and /proc/net/tcp6: what a process left open. Counts by
state (ESTABLISHED, CLOSE_WAIT, ...); a listening socket and TIME_WAIT (closed on both sides) are never counted."""

from collections import Counter
from pathlib import Path
from typing import Final, Literal

TABLES: Final = (Path("/proc/net/tcp"), Path("/proc/net/tcp6"))
STATES: Final = {
    "01": "ESTABLISHED",
    "02": "SYN_SENT",
    "03": "SYN_RECV",
    "04": "FIN_WAIT1",
    "05": "FIN_WAIT2",
    "06": "TIME_WAIT",
    "07": "CLOSE",
    "08": "CLOSE_WAIT",
    "09": "LAST_ACK",
    "0A": "LISTEN",
    "0B": "CLOSING",
}
NOT_OPEN: Final = frozenset({"TIME_WAIT", "LISTEN", "CLOSE"})


def _port(address: str) -> int:
    return int(address.rsplit(":", 1)[1], 16)


def open_sockets(port: int, side: Literal["local", "remote"]) -> Counter[str]:
    """Open sockets whose local (a server's accepted connections) or remote (a client's connections) port is
    `port`, by state."""
    counted: Final[Counter[str]] = Counter()
    column: Final = 1 if side == "local" else 2
    for table in TABLES:
        try:
            lines = table.read_text(encoding="ascii").splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            state = STATES.get(fields[3], fields[3])
            if _port(fields[column]) == port and state not in NOT_OPEN:
                counted[state] += 1
    return counted

"""A guard that makes any network connection from the tests fail loudly.

Training must never reach a hub or a dataset server behind the user's back: weights and data come
from local files unless the user asks for a download. The guard replaces socket.connect, so a test
that opens a connection fails with the address it tried.
"""
import ipaddress
import socket

_original_getaddrinfo = socket.getaddrinfo
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex


class NetworkAccessError(RuntimeError):
    pass


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def install(allow_loopback: bool = False) -> None:
    def check(sock, address):
        if sock.family == getattr(socket, "AF_UNIX", None):
            return
        if allow_loopback and _is_loopback(address):
            return
        raise NetworkAccessError(f"test tried to open a network connection to {address!r}")

    def connect(self, address):
        check(self, address)
        return _original_connect(self, address)

    def connect_ex(self, address):
        check(self, address)
        return _original_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        # Refuse the name lookup too: offline, a lookup is where a download fails first.
        if not (allow_loopback and _is_loopback((host,))):
            raise NetworkAccessError(f"test tried to resolve {host!r}")
        return _original_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.getaddrinfo = getaddrinfo


def uninstall() -> None:
    socket.socket.connect = _original_connect
    socket.socket.connect_ex = _original_connect_ex
    socket.getaddrinfo = _original_getaddrinfo

import socket
import subprocess
import sys

import pytest
from _netguard import NetworkAccessError


def test_guard_refuses_a_connection_in_process():
    with pytest.raises(NetworkAccessError, match="93.184.216.34"):
        socket.create_connection(("93.184.216.34", 80), timeout=1)


def test_guard_refuses_a_name_lookup():
    with pytest.raises(NetworkAccessError, match="download.pytorch.org"):
        socket.getaddrinfo("download.pytorch.org", 443)


def test_guard_refuses_loopback_in_process_too():
    with pytest.raises(NetworkAccessError):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_subprocesses_get_a_loopback_only_guard():
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('93.184.216.34', 80), timeout=1)\n"
        "except Exception as e:\n"
        "    print(type(e).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "NetworkAccessError"

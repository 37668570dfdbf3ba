"""Loaded by every Python subprocess the tests start (PYTHONPATH points here).

Subprocesses such as `torchrun` workers must be able to talk to each other over loopback
(gloo rendezvous) but nowhere else, so this guard allows loopback and refuses any other address.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from _netguard import install  # noqa: E402

install(allow_loopback=True)

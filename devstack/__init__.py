"""Embedded servers for development, the demo and tests, and `TestStack` for scenario tests.

Every server started here is a direct child of the process that started it, stopped when that process's
context ends (Ctrl-C and failures included); servers.py has the processes, stacks.py what runs on them.
"""

from rectify.devstack.servers import (
    STOP_TIMEOUT,
    EmbeddedPostgres,
    StackError,
    TemporalDevServer,
    binary,
    free_port,
    port_open,
    scripts_dir,
    stop_together,
    test_server_path,
)
from rectify.devstack.stacks import TEMPORAL_DB, EmbeddedStack, Notices, TestStack, open_store

__all__ = [
    "STOP_TIMEOUT",
    "TEMPORAL_DB",
    "EmbeddedPostgres",
    "EmbeddedStack",
    "Notices",
    "StackError",
    "TemporalDevServer",
    "TestStack",
    "binary",
    "free_port",
    "open_store",
    "port_open",
    "scripts_dir",
    "stop_together",
    "test_server_path",
]

"""Where this machine's nginx is, and how it has its stream module: found, not assumed.

Debian keeps nginx in /usr/sbin (off a user's PATH) and the stream module as a
dynamic module in its modules path; other builds have it compiled in.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

HINT = ("nginx with its stream module: ./lab test installs it with apt-get on Debian-like systems; "
        "elsewhere install nginx and its stream module with your package manager")


@functools.lru_cache(maxsize=1)
def binary() -> str:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    found = shutil.which("nginx", path=path)
    if not found:
        raise RuntimeError(f"nginx is not on PATH: {HINT}")
    return found


@functools.lru_cache(maxsize=1)
def stream_module_line() -> str:
    """`load_module .../ngx_stream_module.so;` for a dynamic module, "" when it is built in."""
    info = subprocess.run([binary(), "-V"], capture_output=True, text=True, timeout=30).stderr
    if "--with-stream=dynamic" in info:
        m = re.search(r"--modules-path=(\S+)", info)
        module = os.path.join(m.group(1) if m else "/usr/lib/nginx/modules", "ngx_stream_module.so")
        if not os.path.exists(module):
            raise RuntimeError(f"{binary()} has no stream module at {module}: {HINT}")
        return f"load_module {module};\n"
    if "--with-stream" in info:
        return ""
    raise RuntimeError(f"{binary()} was built without the stream module: {HINT}")

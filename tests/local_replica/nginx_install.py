"""Which nginx the local replica runs, and how it has its stream module: found, not assumed.

In order: $LAB_NGINX, an nginx on PATH (or in /usr/sbin, where Debian keeps it off a
user's PATH) with its stream module, or the one unpacked into ./.cache/nginx. When
there is none, `python -m tests.local_replica.nginx_install` (what `./lab test` runs)
fetches Debian's packages with `apt-get download` and unpacks them with `dpkg-deb -x`
into ./.cache/nginx/root: nothing is installed, enabled or started on the machine (a
system nginx package would start a service on port 80). It prints the nginx to use.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "nginx"
PACKAGES = ["nginx", "libnginx-mod-stream"]  # Debian 12/13, Ubuntu 24.04: the binary is in nginx
OLDER = ["nginx-core"]  # Ubuntu 22.04 keeps the binary there
HINT = ("nginx with its stream module: ./lab test unpacks Debian's packages into ./.cache/nginx on "
        "Debian-like systems; elsewhere install nginx and its stream module with your package manager")
ELSEWHERE = "nginx and its stream module (Fedora: nginx nginx-mod-stream; macOS: brew install nginx)"
NO_LISTS = ("Unable to locate package", "has no installation candidate", "Can't select candidate")


def say(message: str) -> None:
    print(f"==> {message}", file=sys.stderr)


def candidates(cache: Path = CACHE) -> list[str]:
    found = [os.environ["LAB_NGINX"]] if os.environ.get("LAB_NGINX") else []
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    on_path = shutil.which("nginx", path=path)
    return found + ([on_path] if on_path else []) + [str(cache / "root" / "usr" / "sbin" / "nginx")]


def stream_module(nginx: str) -> tuple[str | None, str]:
    """(the module's path, "" when built in; or None and why this nginx will not do)."""
    if not os.access(nginx, os.X_OK):
        return None, f"{nginx} does not exist"
    done = subprocess.run([nginx, "-V"], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:  # e.g. a shared library this machine lacks
        return None, f"{nginx} -V failed: {done.stderr.strip()[-300:]}"
    if "--with-stream=dynamic" in done.stderr:
        m = re.search(r"--modules-path=(\S+)", done.stderr)
        # An nginx unpacked under a root keeps its modules under the same root.
        root = nginx[: -len("/usr/sbin/nginx")] if nginx.endswith("/usr/sbin/nginx") else ""
        module = f"{root}{m.group(1) if m else '/usr/lib/nginx/modules'}/ngx_stream_module.so"
        return (module, "") if os.path.exists(module) else (None, f"{nginx} has no stream module at {module}")
    if "--with-stream" in done.stderr:
        return "", ""
    return None, f"{nginx} was built without the stream module"


def usable(cache: Path = CACHE) -> tuple[str | None, list[str]]:
    """The first nginx that will do, and why the others before it would not."""
    reasons = []
    for nginx in candidates(cache):
        module, why = stream_module(nginx)
        if module is not None:
            return nginx, reasons
        reasons.append(why)
    return None, reasons


@functools.lru_cache(maxsize=1)
def binary() -> str:
    nginx, reasons = usable()
    if nginx is None:
        raise RuntimeError(f"no usable nginx ({'; '.join(reasons)}): {HINT}")
    return nginx


@functools.lru_cache(maxsize=1)
def stream_module_line() -> str:
    """`load_module .../ngx_stream_module.so;` for a dynamic module, "" when it is built in."""
    module, _ = stream_module(binary())
    return f"load_module {module};\n" if module else ""


Run = Callable[..., subprocess.CompletedProcess]


def fetch(cache: Path = CACHE, run: Run = subprocess.run, is_root: bool | None = None) -> str | None:
    """Debian's nginx and stream module, downloaded and unpacked into `cache`; None (and what to
    do, said) where that cannot be done."""
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        say(f"no usable nginx, and this is not a Debian-like system: install {ELSEWHERE}; "
            "the local-replica tests fail without it")
        return None
    is_root = os.geteuid() == 0 if is_root is None else is_root
    debs, root = cache / "debs", cache / "root"
    shutil.rmtree(cache, ignore_errors=True)
    debs.mkdir(parents=True)
    say(f"fetching nginx for the local replica: apt-get download {' '.join(PACKAGES)}, unpacked into {root}")
    nginx = root / "usr" / "sbin" / "nginx"
    if not (_download(debs, PACKAGES, run, is_root) and _unpack(debs, root, run)):
        return None
    if not nginx.exists() and not (_download(debs, OLDER, run, is_root) and _unpack(debs, root, run)):
        return None
    module, why = stream_module(str(nginx))
    if module is None:
        say(f"the unpacked nginx will not do ({why}); the local-replica tests fail without one")
        return None
    return str(nginx)


def _download(debs: Path, packages: list[str], run: Run, is_root: bool) -> bool:
    done = run(["apt-get", "download", *packages], cwd=debs, capture_output=True, text=True)
    if done.returncode != 0 and any(s in done.stderr for s in NO_LISTS):
        # Empty package lists (a fresh container): refreshing them is all that needs root.
        sudo = [] if is_root else ["sudo", "-n"]
        if is_root or run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
            say("apt has no package lists: apt-get update (package lists only, nothing installed)")
            run([*sudo, "apt-get", "update", "-qq"], capture_output=True, text=True)
            done = run(["apt-get", "download", *packages], cwd=debs, capture_output=True, text=True)
        else:
            say("apt has no package lists for nginx: run 'sudo apt-get update' (it refreshes the lists only), "
                "then ./lab test again; the local-replica tests fail without nginx")
            return False
    if done.returncode != 0:
        say(f"apt-get download {' '.join(packages)} failed: {done.stderr.strip()[-300:]}")
        return False
    return True


def _unpack(debs: Path, root: Path, run: Run) -> bool:
    for deb in sorted(debs.glob("*.deb")):
        done = run(["dpkg-deb", "-x", str(deb), str(root)], capture_output=True, text=True)
        if done.returncode != 0:
            say(f"dpkg-deb -x {deb.name} failed: {done.stderr.strip()[-300:]}")
            return False
    return True


def main() -> int:
    nginx, _ = usable()
    print(nginx or fetch() or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())

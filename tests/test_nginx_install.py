"""`./lab test`'s nginx: found, or Debian's packages downloaded and unpacked into a cache
folder; never `apt-get install` (Debian's nginx package would start a service on port 80)."""

from pathlib import Path

import pytest

from tests.local_replica import nginx_install

DYNAMIC = "configure arguments: --with-stream=dynamic --modules-path=/usr/lib/nginx/modules"


def fake_nginx(path: Path, info: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{info}' >&2\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def debian(tmp_path, monkeypatch):
    """Only fake apt-get, dpkg-deb and sudo on PATH; every call logged."""
    bin_dir, log, state = tmp_path / "bin", tmp_path / "calls.log", tmp_path / "state"
    bin_dir.mkdir()
    state.mkdir()
    nginx = fake_nginx(tmp_path / "built" / "nginx", DYNAMIC)
    scripts = {
        "apt-get": f"""echo "apt-get $*" >> {log}
case "$1" in
  download) [ -e {state}/no-lists ] && {{ echo 'E: Unable to locate package nginx' >&2; exit 100; }}
            shift; for p in "$@"; do : > "${{p}}_1.0_amd64.deb"; done ;;
  update) /bin/rm -f {state}/no-lists ;;
  *) echo 'must not run' >&2; exit 1 ;;
esac""",
        # The binary is in the package named in {state}/binary-in (nginx, or nginx-core on Ubuntu 22.04).
        "dpkg-deb": f"""echo "dpkg-deb $*" >> {log}
deb=$(/usr/bin/basename "$2"); pkg=${{deb%%_*}}
if [ "$pkg" = "$(/bin/cat {state}/binary-in)" ]; then /bin/mkdir -p "$3/usr/sbin"; /bin/cp {nginx} "$3/usr/sbin/nginx"; fi
if [ "$pkg" = libnginx-mod-stream ]; then /bin/mkdir -p "$3/usr/lib/nginx/modules"; : > "$3/usr/lib/nginx/modules/ngx_stream_module.so"; fi""",
        "sudo": f'echo "sudo $*" >> {log}; exit 1',
    }
    for name, body in scripts.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{body}\n")
        (bin_dir / name).chmod(0o755)
    (state / "binary-in").write_text("nginx")
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.delenv("LAB_NGINX", raising=False)

    def calls() -> list[str]:
        return [line for line in log.read_text().splitlines() if not line.startswith("dpkg-deb")]
    return type("Debian", (), {"cache": tmp_path / "cache", "state": state, "calls": staticmethod(calls)})


def test_packages_are_downloaded_and_unpacked_never_installed(debian):
    nginx = nginx_install.fetch(debian.cache, is_root=True)
    assert nginx == str(debian.cache / "root" / "usr" / "sbin" / "nginx")
    assert debian.calls() == ["apt-get download nginx libnginx-mod-stream"]
    # Its stream module is the one unpacked beside it, not /usr/lib/nginx/modules.
    assert nginx_install.stream_module(nginx) == (
        f"{debian.cache}/root/usr/lib/nginx/modules/ngx_stream_module.so", "")


def test_empty_package_lists_are_refreshed_only_by_root(debian, capsys):
    (debian.state / "no-lists").touch()
    assert nginx_install.fetch(debian.cache, is_root=False) is None
    assert "run 'sudo apt-get update' (it refreshes the lists only)" in capsys.readouterr().err
    assert debian.calls() == ["apt-get download nginx libnginx-mod-stream", "sudo -n true"]
    assert nginx_install.fetch(debian.cache, is_root=True) is not None
    assert debian.calls()[2:] == ["apt-get download nginx libnginx-mod-stream", "apt-get update -qq",
                                  "apt-get download nginx libnginx-mod-stream"]


def test_where_nginx_core_has_the_binary_it_is_fetched_too(debian):
    (debian.state / "binary-in").write_text("nginx-core")
    assert nginx_install.fetch(debian.cache, is_root=False) is not None
    assert debian.calls() == ["apt-get download nginx libnginx-mod-stream", "apt-get download nginx-core"]


def test_off_debian_it_says_what_to_install(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert nginx_install.fetch(tmp_path / "cache") is None
    assert "this is not a Debian-like system: install nginx and its stream module" in capsys.readouterr().err


def test_an_nginx_given_or_on_path_comes_before_the_cache(tmp_path, monkeypatch):
    built_in = fake_nginx(tmp_path / "bin" / "nginx", "configure arguments: --with-stream")
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))
    monkeypatch.delenv("LAB_NGINX", raising=False)
    assert nginx_install.usable(tmp_path / "cache") == (str(built_in), [])
    given = fake_nginx(tmp_path / "given" / "nginx", "configure arguments: --with-stream")
    monkeypatch.setenv("LAB_NGINX", str(given))
    assert nginx_install.usable(tmp_path / "cache")[0] == str(given)


def test_an_nginx_without_its_stream_module_is_passed_over_with_the_reason(tmp_path, monkeypatch):
    without = fake_nginx(tmp_path / "opt" / "usr" / "sbin" / "nginx", DYNAMIC)
    monkeypatch.setenv("LAB_NGINX", str(without))
    nginx, reasons = nginx_install.usable(tmp_path / "cache")
    assert nginx != str(without)
    assert reasons[0] == f"{without} has no stream module at {tmp_path}/opt/usr/lib/nginx/modules/ngx_stream_module.so"

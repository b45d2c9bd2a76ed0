"""Install BreachRadar the way a tool is installed and use it from outside the checkout.

Builds the wheel, installs it into a clean virtual environment in a temporary folder (no
access to the source tree), and from there runs what a new operator would: `init`,
`check-config`, one offline `scan` of a recorded feed served on 127.0.0.1, `eval` on the
bundled set, and `run` on the default SQLite file in the user data directory until it has
polled, then stops it with SIGTERM. Exits non-zero, saying why, at the first failure.
Standard library only: it runs before and apart from the project's own environment.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import venv
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FEED_DIR = REPO / "tests" / "fixtures" / "bleepingcomputer"


# Every requirement the wheel declares (extras aside) must resolve in the new environment.
MISSING_REQUIREMENTS = """
import importlib.metadata as md, re
missing = []
for req in md.requires("breachradar") or []:
    if "extra ==" in req:
        continue
    name = re.match(r"[A-Za-z0-9_.-]+", req).group(0)
    try:
        md.version(name)
    except md.PackageNotFoundError:
        missing.append(name)
print(" ".join(missing))
"""


def fail(message: str) -> None:
    print(f"installed: FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def step(message: str) -> None:
    print(f"installed: {message}", flush=True)


def run(args: list[str], *, cwd: Path, env: dict[str, str], timeout: float = 300) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        fail(f"{' '.join(args[1:])} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def serve(directory: Path) -> ThreadingHTTPServer:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return

    handler = functools.partial(Quiet, directory=str(directory))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="breachradar-installed-"))
    try:
        check(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def check(work: Path) -> None:
    started = time.monotonic()
    step("building the wheel")
    dist = work / "dist"
    # CI has no network: build with the setuptools already installed (no isolated build
    # environment to download), and install the wheel without asking any index.
    offline = {**os.environ, "PIP_NO_INDEX": "1"}
    # From a copy: an in-tree build would write into the checkout and could pick up stale
    # files from an earlier build/ folder.
    source = work / "src"
    shutil.copytree(
        REPO, source, ignore=shutil.ignore_patterns(".git", "build", "dist", "*.egg-info",
                                                   "__pycache__", ".*_cache", ".hypothesis"),
    )  # fmt: skip
    run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(dist), str(source)],
        cwd=work,
        env=offline,
    )  # fmt: skip
    (wheel,) = dist.glob("breachradar-*.whl")
    step(f"installing {wheel.name} into a clean virtual environment")
    venv.create(work / "venv", with_pip=True)
    bindir = work / "venv" / "bin"
    # The dependencies come from this interpreter's site-packages, added as plain path
    # entries: their .pth files (the checkout's editable install among them) are not run,
    # so the only BreachRadar the new environment can import is the wheel's.
    purelib = "import sysconfig; print(sysconfig.get_path('purelib'))"
    lib = run([str(bindir / "python"), "-c", purelib], cwd=work, env=offline).strip()
    parents = [p for p in sys.path if p.endswith("-packages") and Path(p).is_dir()]
    (Path(lib) / "_parent_packages.pth").write_text("\n".join(parents) + "\n", encoding="utf-8")
    run([str(bindir / "python"), "-m", "pip", "install", "--quiet", "--no-deps", str(wheel)],
        cwd=work, env=offline)  # fmt: skip
    missing = run(
        [str(bindir / "python"), "-c", MISSING_REQUIREMENTS], cwd=work, env=offline
    ).strip()
    if missing:
        fail(f"the wheel's requirements are not importable in the new environment: {missing}")
    tool = str(bindir / "breachradar")
    home = work / "home"
    home.mkdir()
    # Nothing of the checkout or the caller's settings: another directory, another home.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BREACHRADAR_", "PYTHON", "XDG_", "VIRTUAL_ENV")) and k != "HOME"
    }
    env.update(HOME=str(home), NO_COLOR="1", PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}")
    env.pop("DISCORD_TOKEN", None)
    place = work / "elsewhere"
    place.mkdir()

    where = run(
        [str(bindir / "python"), "-c", "import bot; print(bot.__file__)"], cwd=place, env=env
    )
    if str(REPO) in where:
        fail(f"the installed package resolves to the checkout: {where}")

    step("check-config on the bundled configuration")
    out = run([tool, "check-config"], cwd=place, env=env)
    if not out.strip().endswith("ok") or "max alert age: 3d" not in out:
        fail(f"check-config said:\n{out}")

    step("init, then check-config on the copy it wrote")
    out = run([tool, "init"], cwd=place, env=env)
    mine = home / ".config" / "breachradar"
    if not (mine / "sources.toml").is_file():
        fail(f"init did not write {mine}:\n{out}")
    out = run([tool, "check-config"], cwd=place, env=env)
    if f"configuration: {mine}" not in out:
        fail(f"check-config does not read what init wrote:\n{out}")

    server = serve(FEED_DIR)
    try:
        feed = f"http://127.0.0.1:{server.server_address[1]}/feed.xml"
        config = work / "config"
        config.mkdir()
        (config / "sources.toml").write_text(
            f'[[sources]]\nname = "Bleeping Computer"\nkind = "rss"\nurl = "{feed}"\n'
            'every = "1s"\nallow_private = true\n',
            encoding="utf-8",
        )
        (config / "watchlist.toml").write_text(
            '[[companies]]\nname = "Casio"\naliases = ["カシオ"]\n', encoding="utf-8"
        )
        (config / "settings.toml").write_text(
            'max_alert_age = "none"\njitter = 0\n', encoding="utf-8"
        )

        step("one offline scan of a recorded feed")
        db = f"sqlite:///{work / 'scan.db'}"
        out = run([tool, "scan", "--json", "--config", str(config), "--db", db], cwd=place, env=env)
        found = [json.loads(line) for line in out.splitlines() if line.strip()]
        if not any(f["company"] == "Casio" and f["source"] == "Bleeping Computer" for f in found):
            fail(f"scan found no Casio item from the recorded feed:\n{out}")

        step("run on the default database until it has polled, then SIGTERM")
        log = work / "run.log"
        with log.open("w") as sink:
            service = subprocess.Popen(
                [tool, "run", "--config", str(config)],
                cwd=place, env=env, stdout=sink, stderr=subprocess.STDOUT,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while "match: [Casio]" not in log.read_text(errors="replace"):
                if service.poll() is not None or time.monotonic() > deadline:
                    fail(f"run never reported the match:\n{log.read_text(errors='replace')}")
                time.sleep(0.2)
        finally:
            if service.poll() is None:
                service.send_signal(signal.SIGTERM)
            code = service.wait(timeout=60)
        if code != 0:
            fail(f"run exited {code} on SIGTERM:\n{log.read_text(errors='replace')}")
        if not (home / ".local" / "share" / "breachradar" / "breachradar.db").is_file():
            fail("run kept no SQLite file in the user data directory")
    finally:
        server.shutdown()

    step("eval on the bundled evaluation set")
    out = run([tool, "eval"], cwd=place, env=env)
    if "precision=" not in out.strip().splitlines()[-1]:
        fail(f"eval said:\n{out}")
    step(f"ok ({time.monotonic() - started:.0f}s)")


if __name__ == "__main__":
    main()

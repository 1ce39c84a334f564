"""Headless Chromium for tests: load a page offline, record what it fetched and logged, screenshot it.

Debian's ``chromium`` (installed by ``.ci/run``) driven from the command line: ``--log-net-log`` writes
every request the browser made, and the page's own requests are the ones with a real initiator (the
browser's background calls say "not an origin"). External hosts do not resolve (``--host-resolver-rules``),
so a page that needs the internet shows it as a failed request here, as it would offline.
"""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import zlib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}


@dataclass(frozen=True)
class PageLoad:
    requests: list[str]  # URLs the page itself requested (not the browser's background calls)
    console_errors: list[str]
    dom: str

    @property
    def external(self) -> list[str]:
        return [u for u in self.requests if urlparse(u).scheme not in ("file", "data") and not _local(u)]


def _local(url: str) -> bool:
    return (urlparse(url).hostname or "") in _LOCAL_HOSTS


def headless(profile: Path) -> list[str]:
    """Chromium headless with a throw-away profile and none of its own background traffic (every UI test)."""
    assert CHROMIUM is not None  # callers skip without Chromium
    return [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]


def _args(tmp: Path, tag: str) -> list[str]:
    return [
        *headless(tmp / f"chromium-{tag}"),
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
        "--window-size=1400,3000",
        "--virtual-time-budget=15000",
        "--enable-logging=stderr",
        "--v=0",
    ]


def _page_requests(netlog: Path) -> list[str]:
    log = json.loads(netlog.read_text() or "{}")
    names = {v: k for k, v in log.get("constants", {}).get("logEventTypes", {}).items()}
    return [
        e["params"]["url"]
        for e in log.get("events", [])
        if names.get(e.get("type")) == "URL_REQUEST_START_JOB"
        and "url" in e.get("params", {})
        and e["params"].get("initiator") != "not an origin"
    ]


def load(url: str, tmp: Path, tag: str, screenshot: Path | None = None) -> PageLoad:
    """Open ``url`` twice (screenshot with the net log, then the DOM after scripts ran)."""
    netlog = tmp / f"netlog-{tag}.json"
    shot = [f"--screenshot={screenshot}"] if screenshot else ["--screenshot=" + str(tmp / f"{tag}-unused.png")]
    first = subprocess.run(
        [*_args(tmp, tag), f"--log-net-log={netlog}", *shot, url], capture_output=True, text=True, timeout=180
    )
    assert first.returncode == 0, first.stderr[-2000:]
    console = [
        line for line in first.stderr.splitlines() if ":CONSOLE" in line and ("rror" in line or "Uncaught" in line)
    ]
    dom = subprocess.run([*_args(tmp, tag), "--dump-dom", url], capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    return PageLoad(_page_requests(netlog), console, dom.stdout)


def png_is_blank(path: Path) -> bool:
    """True when the PNG is missing or one flat colour (decoded with zlib: no imaging library needed)."""
    if not path.exists():
        return True
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if kind == b"IDAT":
            idat += data[pos + 8 : pos + 8 + length]
        pos += 12 + length
    raw = zlib.decompress(idat)
    return len(set(raw)) < 16  # filter bytes and one colour: a blank page

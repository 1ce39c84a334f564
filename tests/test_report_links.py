"""Report links: http:// on the local reports server while it runs, file:// (and why) otherwise."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from core.report_links import report_link
from core.settings import Settings
from marketops.cli import app
from storage import report_server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_report_under_the_served_directory_gets_an_http_link(tmp_path: Path) -> None:
    link = report_link(tmp_path / "reports" / "dq 2024-06-03.html", tmp_path / "reports", "http://127.0.0.1:4280/")
    assert link.served and link.url == "http://127.0.0.1:4280/dq%202024-06-03.html"
    assert "reports server" in link.note


def test_without_a_server_the_link_is_file_and_says_so(tmp_path: Path) -> None:
    link = report_link(tmp_path / "reports" / "a.html", tmp_path / "reports", None)
    assert not link.served and link.url == (tmp_path / "reports" / "a.html").resolve().as_uri()
    assert "no reports server is running" in link.note and "marketops up" in link.note
    outside = report_link(tmp_path / "elsewhere.html", tmp_path / "reports", "http://127.0.0.1:4280")
    assert not outside.served  # only the reports directory is served


def test_served_url_follows_a_real_server_and_forgets_it_when_it_stops(settings: Settings) -> None:
    assert report_server.served_url(settings) is None
    settings.reports_dir.mkdir(parents=True)
    (settings.reports_dir / "latest.html").write_text("<html>ok</html>")
    port = _free_port()
    process = subprocess.Popen(report_server.command(settings.reports_dir, port), stderr=subprocess.DEVNULL)
    try:
        url = report_server.url_for(port)
        deadline = time.monotonic() + 20
        while not report_server.answers(url) and time.monotonic() < deadline:
            time.sleep(0.1)
        report_server.record(settings, process.pid, url)
        assert report_server.served_url(settings) == url
        assert httpx.get(f"{url}/latest.html", timeout=5).text == "<html>ok</html>"
        printed = CliRunner().invoke(app, ["report"])
        assert printed.exit_code == 0 and f"served at {url}/latest.html" in printed.output
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert report_server.served_url(settings) is None
    report_server.clear(settings)
    assert not (settings.home_dir / report_server.RECORD).exists()

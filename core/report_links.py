"""Where a report can be opened: an ``http://`` link on the local reports server, else a ``file://`` path.

The Prefect UI (a web page) cannot open ``file://`` links, so a link artifact points at the reports server
that ``marketops up`` starts whenever it runs; without one the path is all there is, and the artifact says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote


@dataclass(frozen=True)
class ReportLink:
    url: str
    served: bool  # True: http:// on the reports server; False: a file:// path only this machine can open

    @property
    def note(self) -> str:
        if self.served:
            return "Served by the local reports server (`marketops up`)"
        return (
            "file:// link: no reports server is running, and the Prefect UI cannot open local files — "
            "paste it into a browser on this machine, or run `marketops up` to serve the reports over http://"
        )


def report_link(path: Path, reports_dir: Path, base_url: str | None) -> ReportLink:
    """``base_url``/relative path when the report lives under the served directory, else ``file://``."""
    resolved, root = path.resolve(), reports_dir.resolve()
    if base_url and resolved.is_relative_to(root):
        return ReportLink(f"{base_url.rstrip('/')}/{quote(resolved.relative_to(root).as_posix())}", served=True)
    return ReportLink(resolved.as_uri(), served=False)

"""Headless Chromium for the tests that look at a page as a reader does: the report, the DVC
plots page and the MLflow UI.

`render` loads a page with a probe script injected before `</body>` and returns what the probe
wrote plus every network request Chromium attempted (from its NetLog), with the network cut
off (`--proxy-server` at a closed port, no DNS), so a page that needs the internet shows it.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

OFFLINE = (
    "--proxy-server=127.0.0.1:9",  # nothing listens there: any http(s) request fails
    "--proxy-bypass-list=<-loopback>",  # ... loopback ones too
    "--host-resolver-rules=MAP * ~NOTFOUND",  # and no name resolves
)


def chromium() -> str:
    """The browser, or skip (fail where TRAVELTIDE_REQUIRE_BROWSER=1 or CI is set)."""
    found = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )
    if found is None:
        reason = (
            "headless Chromium not found (Debian: apt-get install chromium); "
            "the browser tests need it"
        )
        if os.environ.get("TRAVELTIDE_REQUIRE_BROWSER") == "1" or os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


@dataclass(frozen=True)
class Rendered:
    """What the probe found (its JSON), the DOM after it ran, and every URL requested."""

    probe: dict
    dom: str
    requests: list[str]


def _requests(netlog: Path) -> list[str]:
    """Every URL the page asked for, from Chromium's NetLog: the requests it started with an
    initiator. Chromium's own (component updates, network time, sign-in) have none ("not an
    origin") and are left out."""
    if not netlog.exists():
        return []
    text = netlog.read_text(errors="replace").rstrip().rstrip(",")
    try:
        log = json.loads(text)
    except json.JSONDecodeError:  # a log cut short by the browser's exit
        log = json.loads(text + "]}")
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    params = [e.get("params") or {} for e in log["events"] if e.get("type") == start]
    urls = {p["url"] for p in params if "url" in p and p.get("initiator") != "not an origin"}
    return sorted(u for u in urls if not u.startswith("data:"))


MIN_WINDOW = 500  # headless Chromium's narrowest window: narrower pages load in an iframe
# what a probe calls with its result: written into the page, or posted to the frame's parent
SHIM = """
function traveltideProbe(result) {
  var text = JSON.stringify(result);
  if (window.parent !== window) { window.parent.postMessage(text, '*'); return; }
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = text;
  document.body.appendChild(pre);
}
"""
FRAME = """<!DOCTYPE html><html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; }} iframe {{ border: 0; width: {width}px; height: {height}px; }}
</style></head><body><iframe src="{src}"></iframe><script>
window.addEventListener('message', function (event) {{
  var pre = document.createElement('pre');
  pre.id = 'probe';
  pre.textContent = event.data;
  document.body.appendChild(pre);
}});
</script></body></html>
"""


def render(
    page: Path | str,
    scratch: Path,
    probe_js: str | None = None,
    *,
    width: int = 1366,
    height: int = 900,
    wait_ms: int = 15000,
    loopback: bool = False,
) -> Rendered:
    """Load `page` in headless Chromium at `width` x `height` CSS px, offline, and return
    the DOM once `wait_ms` of (virtual) time has passed. A file `page` is copied with
    `probe_js` injected before `</body>`: the probe calls `traveltideProbe(result)`, and the
    result comes back parsed. A page narrower than Chromium's narrowest window is loaded in
    an iframe of that width (its own viewport: media queries see `width`). A URL `page` (the
    MLflow UI) is loaded as is, `loopback` letting it reach 127.0.0.1 and nothing else."""
    scratch.mkdir(parents=True, exist_ok=True)
    if isinstance(page, Path):
        text = page.read_text(encoding="utf-8")
        target = scratch / f"probe-{width}.html"
        if probe_js:  # before the page's last </body> (a script may hold the text too)
            head, body, tail = text.rpartition("</body>")
            text = f"{head}<script>\n{SHIM}\n{probe_js}\n</script>{body}{tail}"
        target.write_text(text, encoding="utf-8")
        url = target.as_uri()
        if width < MIN_WINDOW:
            frame = scratch / f"frame-{width}.html"
            frame.write_text(FRAME.format(width=width, height=height, src=target.name))
            url = frame.as_uri()
    else:
        url = page
    netlog = scratch / f"netlog-{width}.json"
    network = (
        ["--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"]
        if loopback
        else list(OFFLINE)
    )
    proc = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-features=Translate,OptimizationHints,MediaRouter",
            f"--user-data-dir={scratch / f'profile-{width}'}",
            f"--window-size={max(width, MIN_WINDOW)},{height}",
            f"--log-net-log={netlog}",
            f"--virtual-time-budget={wait_ms}",
            *network,
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    probe: dict = {}
    if probe_js:
        found = re.search(r'<pre id="probe">(.*?)</pre>', proc.stdout, re.S)
        assert found, f"the probe did not run on {url}: {proc.stderr[-1000:]}"
        probe = json.loads(html.unescape(found.group(1)))
    return Rendered(probe, proc.stdout, _requests(netlog))


def external(requests: list[str]) -> list[str]:
    """The requests that would leave the machine (http, https, ws), loopback aside."""
    return [
        u
        for u in requests
        if re.match(r"(https?|wss?)://", u) and not re.match(r"(https?|wss?)://127\.0\.0\.1", u)
    ]

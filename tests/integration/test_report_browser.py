"""The run report in a real browser: headless Chromium opens a success, a gate refusal and a failure
page, every section is in the rendered DOM and every picture decodes; screenshots are kept.

Chromium comes from the distribution (Debian's `chromium`; `make browser` installs it, and
`make setup` / `make test` depend on it); its path is `$CHROMIUM` (the Makefile finds it), else
/usr/bin/chromium. A missing browser fails the test with the command to install it: the report's
rendering is never skipped silently. The page is opened from a file with no network: an inline
script, added to a copy of the page for the test only, waits for the load event and writes what
it found into the DOM that `--dump-dom` prints. Screenshots: .local/report-screenshots/*.png.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ml import report
from tests.helpers import report_samples as samples

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / ".local" / "report-screenshots"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
INSTALL = "make browser   (Debian: sudo apt-get install -y chromium)"
TIMEOUT_SECONDS = 120
WIDTH = 1280
#: The browser has no network and nothing of the user's: a fresh profile per run, no services.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
#: Runs after the load event (images decoded by then) and writes its findings into the DOM.
PROBE = """<script>
window.addEventListener("load", () => {
  const found = {
    title: document.title,
    height: document.documentElement.scrollHeight,
    sections: [...document.querySelectorAll("section[data-section]")].map((s) => ({
      name: s.dataset.section,
      heading: (s.querySelector("h2") || {}).textContent || "",
      height: s.getBoundingClientRect().height,
    })),
    images: [...document.images].map((i) => ({
      alt: i.alt, complete: i.complete, width: i.naturalWidth, height: i.naturalHeight,
    })),
    fetched: performance.getEntriesByType("resource").map((e) => e.name),
  };
  const out = document.createElement("pre");
  out.id = "browser-probe";
  out.textContent = JSON.stringify(found);
  document.body.appendChild(out);
});
</script>"""

SUCCESS_SECTIONS = [
    "overview",
    "metrics",
    "gate",
    "confusion-matrix",
    "curves",
    "feature-importance",
    "class-balance",
    "tuning",
    "per-class",
]


@pytest.fixture(scope="module")
def chromium() -> str:
    path = os.environ.get("CHROMIUM") or DEFAULT_CHROMIUM
    if not Path(path).is_file():
        pytest.fail(
            f"Chromium not found at {path}: the report's browser test needs it. Install it with\n"
            f"  {INSTALL}\nor point $CHROMIUM at a Chromium or Chrome binary.",
            pytrace=False,
        )
    return path


def browse(chromium: str, page: Path, profile: Path, *args: str) -> str:
    completed = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout


def probe(chromium: str, html: str, tmp_path: Path) -> dict[str, Any]:
    """Open a copy of the page with the probe in it; return what the probe found."""
    copy = tmp_path / "probed.html"
    copy.write_text(html.replace("</body>", PROBE + "\n</body>", 1), encoding="utf-8")
    dom = browse(chromium, copy, tmp_path / "profile-probe", "--dump-dom")
    match = re.search(r'<pre id="browser-probe">(.*?)</pre>', dom, flags=re.S)
    assert match, f"the probe did not run; the DOM ends with: {dom[-500:]}"
    found: dict[str, Any] = json.loads(
        match.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">")
        .replace("&amp;", "&")
    )  # fmt: skip
    return found


def screenshot(chromium: str, html: str, name: str, height: int, tmp_path: Path) -> Path:
    """The whole page as Chromium draws it, kept in .local/report-screenshots/<name>.png."""
    page = tmp_path / f"{name}.html"
    page.write_text(html, encoding="utf-8")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / f"{name}.png"
    target.unlink(missing_ok=True)
    browse(
        chromium,
        page,
        tmp_path / f"profile-{name}",
        f"--window-size={WIDTH},{min(max(height, 600), 16000)}",
        f"--screenshot={target}",
    )
    assert target.read_bytes().startswith(b"\x89PNG"), "no screenshot written"
    return target


def check_page(chromium: str, html: str, name: str, sections: list[str], tmp_path: Path) -> None:
    found = probe(chromium, html, tmp_path)
    assert found["title"]
    assert [s["name"] for s in found["sections"]] == sections
    for section in found["sections"]:
        assert section["heading"].strip(), f"section {section['name']} has no heading"
        assert section["height"] > 0, f"section {section['name']} is not drawn"
    expected_images = html.count("<img ")
    assert len(found["images"]) == expected_images
    broken = [i["alt"] for i in found["images"] if not (i["complete"] and i["width"] > 0)]
    assert not broken, f"pictures that did not decode: {broken}"
    assert not [url for url in found["fetched"] if not url.startswith("data:")]
    screenshot(chromium, html, name, int(found["height"]), tmp_path)


def test_a_success_report_in_chromium(chromium: str, tmp_path: Path) -> None:
    evaluation = samples.with_champion(samples.binary_evaluation(), accuracy=0.8912)
    html = report.render_success(
        evaluation,
        tuning=samples.trials(0.31, 0.1234, None, 0.2, metric="validation:logloss"),
        gate={**samples.gate(True), "threshold": 0.85},
        run={"name": "s3-customers-42", "data_uri": "s3://bucket/data/raw/customers.csv"},
    )
    assert html.count("<img ") == 8
    check_page(chromium, html, "success", SUCCESS_SECTIONS, tmp_path)


def test_a_gate_failure_report_in_chromium(chromium: str, tmp_path: Path) -> None:
    html = report.render_success(
        samples.multiclass_evaluation(),
        tuning=samples.trials(0.4, None, 0.35),
        gate=samples.gate(False),
        run={"name": "s3-shapes-7", "status": "FAILED"},
    )
    assert "Refused by the quality gate" in html
    sections = [s for s in SUCCESS_SECTIONS if s != "curves"]  # curves: binary models only
    check_page(chromium, html, "gate-failure", sections, tmp_path)


def test_a_failure_report_in_chromium(chromium: str, tmp_path: Path) -> None:
    html = report.render_failure(samples.failure())
    check_page(chromium, html, "failure", ["failure"], tmp_path)

"""Take the screenshots of docs/getting-started.md: the demo, served by runserver, in headless Chromium.

    .venv/bin/python docs/screenshots.py                 # a fresh demo: 20,000 simulated users, as bin/run loads
    .venv/bin/python docs/screenshots.py --users 3000    # quicker, for trying out changes to this script

Sets up the demo in a temporary data directory (SQLite; ``manage.py migrate`` and
``demo_setup``), starts ``manage.py runserver`` on a free port, signs in as the demo editor with
Playwright driving Debian's Chromium (``/usr/bin/chromium``, headless) and saves PNGs under
``docs/img/``. A page that does not exist in this checkout (404) is skipped and said so, so the
guide only shows pages that are really there. Never part of the test suite.
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
IMAGES = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
VIEWPORT = {"width": 1280, "height": 800}
WIDE = {"width": 1600, "height": 800}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="wayline-shots-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "WAYLINE_DATA_DIR": str(data_dir), "WAYLINE_PUBLIC_URL": base,
           "WAYLINE_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    setup = subprocess.run([PYTHON, "manage.py", "demo_setup", "--users", str(args.users)], cwd=ROOT, env=env,
                           check=True, capture_output=True, text=True).stdout
    print(setup)
    results = re.search(r"Experiment results: (\S+)", setup)
    server = subprocess.Popen([PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until_up(base)
        IMAGES.mkdir(parents=True, exist_ok=True)
        shots(base, results.group(1) if results else None)
    finally:
        server.terminate()
        server.wait(timeout=10)
        if not args.keep:
            subprocess.run(["rm", "-rf", str(data_dir)], check=False)
    return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/admin/login/", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.3)  # runserver is still starting; polling a process we started is all we can do
    raise RuntimeError(f"runserver did not answer at {base}")


def shots(base: str, results_url: str | None) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
        page.goto(base + "/admin/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "wayline-demo")
        page.click("input[type=submit]")
        page.wait_for_load_state("networkidle")

        def first_link(list_path: str, text: str) -> str | None:
            if not take(page, base + list_path, None):
                return None
            link = page.get_by_role("link", name=text).first
            return link.get_attribute("href") if link.count() else None

        take(page, base + "/admin/", "01-admin-home.png")
        application = first_link("/admin/onboarding/application/", "Chatterbox (demo)")
        if application:
            take(page, base + application, "02-application-stages.png", full=True)
        bar = first_link("/admin/onboarding/barguide/", "Connect your first integration")
        if bar:
            take(page, base + bar, "03-guide-targeting.png", full=True)
        take(page, base + "/admin/onboarding/segment/", "04-personas.png")
        experiment = first_link("/admin/experiments/experiment/", "Integration bar")
        take(page, base + "/admin/experiments/experiment/", "05-experiments.png")
        if experiment:
            take(page, base + experiment, "06-experiment-design.png", full=True)
        if results_url and results_url.rstrip("/") != (base + (experiment or "")).rstrip("/"):
            take(page, results_url, "07-experiment-results.png", full=True)
        take(page, base + "/demo/?user=demo-user-1&persona=non_technical_manager", "08-demo-host-page.png",
             settle_ms=2500)
        time_in_stage = base + "/admin/journey-analytics/time-in-stage/"
        if take(page, time_in_stage, None):  # compare the three personas: the option ids differ per database
            personas = page.eval_on_selector_all("select[name=compare] option", "options => options.map(o => o.value)")
            page.set_viewport_size(WIDE)  # the chart and its table side by side, no column cut off
            take(page, time_in_stage + "?" + "&".join(f"compare={value}" for value in personas),
                 "09-time-in-stage.png", full=True)
        browser.close()


def take(page, url: str, filename: str | None, *, full: bool = False, settle_ms: int = 300) -> bool:
    response = page.goto(url)
    if response is None or response.status >= 400:
        print(f"skipped {url}: HTTP {response.status if response else '—'}")
        return False
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(settle_ms)  # let the snippet draw its guides; no event tells us it is done
    if filename:
        page.screenshot(path=str(IMAGES / filename), full_page=full)
        print(f"saved docs/img/{filename}")
    return True


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark of the browser snippet: its weight beside other tour libraries, and its time to a tooltip.

1. Size: gzip -9 of ``frontend_snippet/dist/wayline.js`` (CSS inlined) and ``loader.js`` beside the
   main minified dist files and CSS of driver.js, Shepherd and intro.js, installed from npm into
   ``bench/npm`` (their own ``package.json``: they never touch the snippet's dependencies). Those
   three draw tours only; Wayline's bundle also holds checklists, bars, surveys, the event queue,
   SPA tracking and the API client.
2. Time: the demo page served by ``manage.py runserver`` on a free port, with the demo data
   (``migrate`` + ``demo_setup`` on a temporary SQLite via ``WAYLINE_DATA_DIR``), opened in headless
   Chromium (/usr/bin/chromium) as a new user in a fresh browser context (cold cache) each run.
   A ``MutationObserver`` installed before any page script watches the snippet's shadow root and
   sets ``performance.mark("wl-tooltip")`` when the tour's tooltip is in place (positioned). The
   resource timing of ``wayline.js`` (``responseEnd``: the bundle has arrived) and of the identify
   and content requests give the breakdown. Medians (and p90) over ``--runs`` runs after warm-ups.

    .venv/bin/python bench/snippet_size.py                  # build, sizes, 15 timed runs
    .venv/bin/python bench/snippet_size.py --runs 31 --demo-users 0 --no-build

Prints Markdown tables for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SNIPPET = ROOT / "frontend_snippet"
NPM_DIR = Path(__file__).resolve().parent / "npm"
PYTHON = ROOT / ".venv" / "bin" / "python"
CHROMIUM = "/usr/bin/chromium"
DEMO_APPLICATION = "Chatterbox (demo)"
# (library, [files that a page loads: minified JS, CSS]) inside bench/npm/node_modules.
OTHERS = [
    ("driver.js", ["driver.js/dist/driver.js.iife.js", "driver.js/dist/driver.css"]),
    ("Shepherd", ["shepherd.js/dist/js/shepherd.mjs", "shepherd.js/dist/css/shepherd.css"]),
    ("intro.js", ["intro.js/minified/intro.min.js", "intro.js/minified/introjs.min.css"]),
]
PACKAGES = {"driver.js": "driver.js", "Shepherd": "shepherd.js", "intro.js": "intro.js"}

# Installed before any page script: marks the moment the tour's tooltip is in the shadow root and
# positioned (Floating UI has set its top/left).
OBSERVER = """(() => {
  const mark = () => performance.getEntriesByName('wl-tooltip').length || performance.mark('wl-tooltip');
  const watch = (root) => {
    const check = () => {
      const card = root.querySelector('.wl-card[role=dialog]');
      if (card && card.style.top) { mark(); inner.disconnect(); }
    };
    const inner = new MutationObserver(check);
    inner.observe(root, {subtree: true, childList: true, attributes: true, attributeFilter: ['style']});
    check();
  };
  const outer = new MutationObserver(() => {
    const host = document.getElementById('wayline-root');
    if (host && host.shadowRoot) { outer.disconnect(); watch(host.shadowRoot); }
  });
  outer.observe(document, {childList: true, subtree: true});
})();"""
TIMINGS = """() => {
  const res = (part) => performance.getEntriesByType('resource').find((e) => e.name.includes(part));
  const bundle = res('/wayline.js'), identify = res('/api/v1/identify'), content = res('/api/v1/content');
  const tooltip = performance.getEntriesByName('wl-tooltip')[0].startTime;
  return {
    navigation_to_tooltip: tooltip,
    navigation_to_load: performance.getEntriesByType('navigation')[0].loadEventEnd,
    bundle_to_tooltip: tooltip - bundle.responseEnd,
    bundle_fetch: bundle.responseEnd - bundle.startTime,
    start_to_identify: identify.startTime - bundle.responseEnd,
    identify: identify.responseEnd - identify.startTime,
    identify_to_content: content.startTime - identify.responseEnd,
    content: content.responseEnd - content.startTime,
    content_to_tooltip: tooltip - content.responseEnd,
  };
}"""


def gzip9(path: Path) -> int:
    """gzip -9 size as the snippet's build measures it (Node's zlib), so it matches its budget check."""
    script = ("const z = require('zlib').gzipSync(require('fs').readFileSync(process.argv[1]), {level: 9});"
              "process.stdout.write(String(z.length))")
    return int(subprocess.run(["node", "-e", script, str(path)], check=True, capture_output=True, text=True).stdout)


def npm(*args: str, cwd: Path) -> None:
    subprocess.run(["npm", *args], cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def sizes(build: bool) -> str:
    if build:
        npm("run", "build", cwd=SNIPPET)
    if not (NPM_DIR / "node_modules").is_dir():
        npm("ci", "--no-audit", "--no-fund", cwd=NPM_DIR)
    ours = gzip9(SNIPPET / "dist" / "wayline.js")
    loader = gzip9(SNIPPET / "dist" / "loader.js")
    modules = NPM_DIR / "node_modules"
    rows = [
        "| library | version | JS (min) | JS gzip -9 | CSS gzip -9 | total gzip -9 | × Wayline bundle |",
        "|---|---|---:|---:|---:|---:|---:|",
        f"| **Wayline** bundle (CSS inlined; + loader {loader} B inline) | "
        f"{json.loads((SNIPPET / 'package.json').read_text())['version']} | "
        f"{(SNIPPET / 'dist' / 'wayline.js').stat().st_size:,} B | {ours:,} B | — | {ours:,} B | 1.00 |",
    ]
    for name, (js, css) in OTHERS:
        version = json.loads((modules / PACKAGES[name] / "package.json").read_text())["version"]
        js_gz, css_gz = gzip9(modules / js), gzip9(modules / css)
        rows.append(
            f"| {name} (`{Path(js).name}` + `{Path(css).name}`) | {version} | {(modules / js).stat().st_size:,} B | "
            f"{js_gz:,} B | {css_gz:,} B | {js_gz + css_gz:,} B | {(js_gz + css_gz) / ours:.2f} |"
        )
    return "\n".join(rows)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(env: dict, *args: str) -> None:
    subprocess.run([str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_until_serving(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"runserver exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)  # the server is still starting
    sys.exit(f"runserver did not answer {url} within {timeout:.0f} s")


def timings(runs: int, warmups: int, demo_users: int) -> tuple[str, list[dict]]:
    from playwright.sync_api import sync_playwright

    data_dir = tempfile.mkdtemp(prefix="wayline-snippet-bench-")
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEBUG", "WAYLINE_SECRET_KEY")}
    env.update(WAYLINE_DATA_DIR=data_dir, WAYLINE_PUBLIC_URL=origin, WAYLINE_LOG_LEVEL="WARNING")
    server = None
    try:
        manage(env, "migrate", "--noinput")
        manage(env, "demo_setup", *(["--users", str(demo_users)] if demo_users else ["--no-data"]))
        manage(env, "shell", "-c", (
            "from onboarding.models import Application; "
            f"a = Application.objects.get(name={DEMO_APPLICATION!r}); "
            f"a.allowed_origins = [*a.allowed_origins, {origin!r}]; a.save()"
        ))
        server = subprocess.Popen(
            [str(PYTHON), "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_until_serving(f"{origin}/demo/", server)
        results = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
            for run in range(warmups + runs):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                context.add_init_script(OBSERVER)
                page = context.new_page()
                page.goto(f"{origin}/demo/?user=bench-{uuid.uuid4().hex[:12]}")
                page.wait_for_function("() => performance.getEntriesByName('wl-tooltip').length > 0"
                                       " && performance.getEntriesByType('navigation')[0].loadEventEnd > 0",
                                       timeout=15_000)
                if run >= warmups:
                    results.append(page.evaluate(TIMINGS))
                context.close()
            browser.close()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        shutil.rmtree(data_dir, ignore_errors=True)
    return _timing_table(results), results


def _timing_table(results: list[dict]) -> str:
    def stats(key: str) -> str:
        values = sorted(r[key] for r in results if r[key] is not None)
        p90 = values[min(len(values) - 1, round(0.9 * (len(values) - 1)))]
        return f"{statistics.median(values):.0f} ms | {p90:.0f} ms | {values[0]:.0f} ms"

    labels = [
        ("bundle_to_tooltip", "**`wayline.js` received → tooltip in place**"),
        ("start_to_identify", "1. bundle runs, replays the queued calls, sends identify"),
        ("identify", "2. `POST /api/v1/identify` (round trip)"),
        ("identify_to_content", "3. identify answered → content asked"),
        ("content", "4. `GET /api/v1/content` (round trip)"),
        ("content_to_tooltip", "5. content answered → tooltip drawn at its target"),
        ("bundle_fetch", "`wayline.js` fetch (cold cache, loopback)"),
        ("navigation_to_tooltip", "navigation start → tooltip in place"),
        ("navigation_to_load", "navigation start → page `load` event (reference, same runs)"),
    ]
    rows = ["| interval | median | p90 | min |", "|---|---:|---:|---:|"]
    rows += [f"| {label} | {stats(key)} |" for key, label in labels]
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed page loads (medians reported)")
    parser.add_argument("--warmups", type=int, default=2, help="untimed page loads first")
    parser.add_argument("--demo-users", type=int, default=2000, help="simulated users for demo_setup (0: none)")
    parser.add_argument("--no-build", action="store_true", help="measure dist/ as it is")
    parser.add_argument("--no-timing", action="store_true", help="sizes only")
    args = parser.parse_args()

    print("## Bundle size (gzip -9)\n")
    print(sizes(build=not args.no_build))
    if not args.no_timing:
        load = os.getloadavg()[0]
        table, results = timings(args.runs, args.warmups, args.demo_users)
        print(f"\n## Time to the first tooltip (Chromium headless, {len(results)} runs, "
              f"demo data: {args.demo_users or 'no'} simulated users, {os.cpu_count()} CPUs, "
              f"load average {load:.1f} at the start)\n")
        print(table)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""browser.py - opens an HTML report in headless Chromium and says what it saw.

    browser.py PAGE.html [--screenshot OUT.png] [--width PX] [--timeout S]
               [--filter TEXT] [--zoom]

Drives Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe:
commands on fd 3, replies and events on fd 4, each a JSON text ended by NUL),
with the Python standard library only.  Loads the page from file://, waits
until the page's script has drawn every chart (the body's data-drawn reaches
data-charts) or the timeout passes, and prints one JSON object:

    {"charts": N, "drawn": N, "first_chart_ms": MS or null,
     "load_ms": MS, "canvases": N, "figures_with_canvas": N,
     "clipped_labels": ["text of an axis label wider than its box", ...],
     "y_labels": [...], "x_labels": [...], "legend": "text of the first legend",
     "console": [{"level", "text"}, ...],   # console messages and exceptions
     "errors": [...],                        # those of level error, exceptions
     "filtered": {"rows", "shown"},          # --filter: the first log table's
                                             # rows, and those left after typing
     "zoom": {"window", "ranges"}}           # --zoom: the window set on the first
                                             # chart, every chart's x range after

Used by the tests (charts drawn, no console error), by bench/report_html.sh
(time to first chart) and to make docs/report.png.  Exit status 0 unless
Chromium could not be driven.
"""
import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time


class Chromium:
    def __init__(self, binary):
        self.profile = tempfile.mkdtemp(prefix="sca-chromium.")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        argv = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
                "--user-data-dir=" + self.profile, "--remote-debugging-pipe", "about:blank"]

        def fds():
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.proc = subprocess.Popen(argv, pass_fds=(3, 4), preexec_fn=fds,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buf:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self.from_child, 1 << 16)
            if not chunk:
                raise EOFError("Chromium closed its pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def send(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method, timeout):
        deadline = time.monotonic() + timeout
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        while True:
            e = self._read_message(deadline)
            if e.get("method") == method:
                return e
            self.events.append(e)

    def close(self):
        try:
            self.send("Browser.close", timeout=5)
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_child)
        os.close(self.from_child)
        shutil.rmtree(self.profile, ignore_errors=True)


PROBE = """(() => {
  const b = document.body.dataset;
  const text = (sel) => Array.from(document.querySelectorAll(sel), (e) => e.textContent);
  const clipped = Array.from(document.querySelectorAll('.dygraph-axis-label'))
    .filter((e) => e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1)
    .map((e) => e.textContent);
  const figs = document.querySelectorAll('figure.chart');
  return JSON.stringify({
    charts: +(b.charts || 0), drawn: +(b.drawn || 0),
    first_chart_ms: b.firstChartMs === undefined ? null : +b.firstChartMs,
    canvases: document.querySelectorAll('figure.chart canvas').length,
    figures_with_canvas: Array.from(figs).filter((f) => f.querySelector('canvas')).length,
    clipped_labels: clipped,
    y_labels: text('.dygraph-axis-label-y'), x_labels: text('.dygraph-axis-label-x'),
    legend: figs.length ? figs[0].querySelector('div.legend').textContent : null,
  });
})()"""


def console_entries(events):
    out = []
    for e in events:
        m, p = e.get("method"), e.get("params", {})
        if m == "Runtime.consoleAPICalled":
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            out.append({"level": p.get("type"), "text": text})
        elif m == "Runtime.exceptionThrown":
            d = p.get("exceptionDetails", {})
            text = d.get("exception", {}).get("description") or d.get("text", "")
            out.append({"level": "exception", "text": text})
        elif m == "Log.entryAdded":
            entry = p.get("entry", {})
            out.append({"level": entry.get("level"), "text": entry.get("text", "")})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("--screenshot")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900,
                    help="of the window, and of the screenshot at most (the page's top)")
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--chromium", default=os.environ.get("CHROMIUM", "chromium"))
    ap.add_argument("--filter")
    ap.add_argument("--zoom", action="store_true")
    args = ap.parse_args()
    binary = shutil.which(args.chromium)
    if binary is None:
        sys.exit("browser.py: %s not found (apt-get install chromium)" % args.chromium)

    c = Chromium(binary)
    try:
        targets = c.send("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        session = c.send("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            c.send(domain + ".enable", session=session)
        c.send("Emulation.setDeviceMetricsOverride", {"width": args.width, "height": args.height,
                                                      "deviceScaleFactor": 1, "mobile": False},
               session=session)
        start = time.monotonic()
        c.send("Page.navigate", {"url": "file://" + os.path.abspath(args.page)}, session=session)
        c.wait_event("Page.loadEventFired", args.timeout)
        load_ms = (time.monotonic() - start) * 1000
        deadline = time.monotonic() + args.timeout
        while True:
            got = c.send("Runtime.evaluate", {"expression": PROBE, "returnByValue": True},
                         session=session)
            seen = json.loads(got["result"]["value"])
            if seen["drawn"] >= seen["charts"] or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        def evaluate(expr):
            got = c.send("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                              "awaitPromise": True}, session=session)
            return json.loads(got["result"]["value"])
        if args.filter is not None:
            seen["filtered"] = evaluate("""(() => {
              const input = document.querySelector('input.filter');
              const table = document.getElementById(input.dataset.table);
              input.value = %s;
              input.dispatchEvent(new Event('input'));
              const rows = table.querySelectorAll('tr.line');
              return JSON.stringify({rows: rows.length,
                                     shown: Array.from(rows).filter((r) => !r.hidden).length});
            })()""" % json.dumps(args.filter))
        if args.zoom:
            seen["zoom"] = evaluate("""new Promise((done) => {
              const g = window.scaCharts, r = g[0].xAxisRange();
              const w = [r[0] + (r[1] - r[0]) / 4, r[1] - (r[1] - r[0]) / 4];
              g[0].updateOptions({dateWindow: w});
              setTimeout(() => done(JSON.stringify({window: w,
                                                    ranges: g.map((x) => x.xAxisRange())})), 200);
            })""")
        if args.screenshot:
            size = c.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
            shot = c.send("Page.captureScreenshot",
                          {"format": "png", "captureBeyondViewport": True,
                           "clip": {"x": 0, "y": 0, "width": args.width,
                                    "height": min(size["height"], args.height), "scale": 1}},
                          session=session, timeout=60)
            with open(args.screenshot, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
        # Messages still in the pipe arrive with the next reply.
        c.send("Runtime.evaluate", {"expression": "1"}, session=session)
    finally:
        c.close()
    seen["load_ms"] = round(load_ms)
    seen["console"] = console_entries(c.events)
    seen["errors"] = [e for e in seen["console"] if e["level"] in ("error", "exception", "assert")]
    print(json.dumps(seen))


if __name__ == "__main__":
    main()

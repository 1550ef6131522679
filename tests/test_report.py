"""`headswapbench report`: a self-contained HTML page with the metric table and best/worst clip grids,
checked in headless Chromium (videos decode, images load, no script errors)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from headswapbench.errors import HeadSwapBenchError
from headswapbench.evaluation import EvalConfig, evaluate
from headswapbench.evaluation.report import best_and_worst, choose_primary, write_report
from tests.helpers.browser import js_errors, open_file, save_screenshot


@pytest.fixture(scope="module")
def run_dir(eval_split, tmp_path_factory):
    out = tmp_path_factory.mktemp("report-run")
    evaluate(eval_split, out, "noop", EvalConfig(protocol="offline-v1", metrics=("psnr", "ssim", "flicker"),
                                                 bootstrap_replicates=100, progress=False))
    return out


WAIT_VIDEOS = """
const done = arguments[arguments.length - 1];
const t0 = Date.now();
(function poll() {
  const vs = [...document.querySelectorAll('video')];
  if (vs.every(v => v.readyState >= 1 || v.error) || Date.now() - t0 > 10000)
    done(vs.map(v => [v.readyState, v.videoWidth, !!v.error]));
  else setTimeout(poll, 50);
})();
"""


def _videos(browser) -> list:
    """[readyState, videoWidth, error] per video, once all have metadata (or after 10 s)."""
    browser.set_script_timeout(15)
    return browser.execute_async_script(WAIT_VIDEOS)


def test_best_and_worst_by_direction():
    rows = [{"clip_id": c, "status": "done", "m": v} for c, v in (("a", "3"), ("b", "1"), ("c", "2"), ("d", ""))]
    best, worst = best_and_worst(rows, "m", True, 1)
    assert [r["clip_id"] for r in best] == ["a"] and [r["clip_id"] for r in worst] == ["b"]
    best, worst = best_and_worst(rows, "m", False, 2)
    assert [r["clip_id"] for r in best] == ["b", "c"] and [r["clip_id"] for r in worst] == ["a"]  # no repeats


def test_report_embedded_renders_in_chromium(run_dir, browser, tmp_path):
    page = write_report(run_dir, tmp_path / "report.html", k=2)
    text = page.read_text()
    assert "http://" not in text and "https://" not in text and "<script" not in text  # self-contained
    assert len(re.findall(r'<video src="data:video/mp4;base64,', text)) == 12  # 4 clips x 3 videos
    assert "Best clips by ssim" in text and "Worst clips by ssim" in text  # first available ranked metric
    open_file(browser, page)
    videos = _videos(browser)
    state = browser.execute_script(
        "return {images: [...document.querySelectorAll('img')].map(i => [i.complete, i.naturalWidth]),"
        " rows: document.querySelectorAll('table.metrics tbody tr').length}")
    assert state["rows"] == 3
    assert len(videos) == 12 and all(w == 160 and not err for _, w, err in videos), videos
    assert state["images"] and all(ok and w == 160 for ok, w in state["images"])
    assert js_errors(browser) == []
    save_screenshot(browser, tmp_path / "report.png")


def _clip_order(browser) -> list[str]:
    """Clip ids of the per-clip table in the order the page shows them (top to bottom)."""
    return browser.execute_script(
        "return [...document.querySelectorAll('.pc-body .pc-row')]"
        ".sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)"
        ".map(r => r.dataset.clip);")


def test_report_per_clip_table_sorts_without_script_and_links_the_csv(run_dir, browser, tmp_path):
    import csv

    page = write_report(run_dir, tmp_path / "deep" / "report.html", k=1)
    text = page.read_text()
    assert "<script" not in text
    assert "protocol <b>offline-v1" in text and "<th>subjects</th>" in text
    assert "whole-frame PSNR vs target" in text  # the metric definitions are on the page
    with open(run_dir / "per_clip.csv", newline="") as fh:
        psnr = {r["clip_id"]: float(r["psnr"]) for r in csv.DictReader(fh)}
    open_file(browser, page)
    href = browser.execute_script("return document.querySelector('a[href$=\"per_clip.csv\"]').href")
    assert href.startswith("file://") and Path(href[len("file://"):]).resolve() == (run_dir / "per_clip.csv").resolve()
    state = browser.execute_script("return {subjects: [...document.querySelectorAll('table.metrics tbody tr')]"
                                   ".map(r => r.children[5].textContent)}")
    assert state["subjects"] == ["3", "3", "3"]  # n_subjects beside every interval
    labels = browser.execute_script("return [...document.querySelectorAll('.pc-head > div')].map(d => "
                                    "d.firstChild.textContent.trim())")
    i = labels.index("psnr")
    browser.find_element("css selector", f"label[for=pc-{i}-d]").click()
    assert _clip_order(browser) == sorted(psnr, key=psnr.get, reverse=True)
    browser.find_element("css selector", f"label[for=pc-{i}-a]").click()
    assert _clip_order(browser) == sorted(psnr, key=psnr.get)
    assert js_errors(browser) == []


def test_report_linked_media_and_cli(run_dir, browser, tmp_path, capsys):
    from headswapbench.cli.main import main

    out = tmp_path / "site" / "r.html"
    assert main(["report", str(run_dir), "--out", str(out), "--no-embed", "--primary", "psnr", "--k", "1"]) == 0
    assert "wrote" in capsys.readouterr().out
    files = sorted(p.name for p in (out.parent / "r_files").iterdir())
    assert len(files) == 8 and all(f.split("_")[-1] in {"driving.mp4", "reference.png", "output.mp4", "target.mp4"}
                                   for f in files)
    open_file(browser, out)
    assert [w for _, w, _ in _videos(browser)] == [160] * 6
    with pytest.raises(HeadSwapBenchError, match="not a metric of this run"):
        choose_primary({"metrics": {"psnr": {}}}, [], "lpips")
    with pytest.raises(HeadSwapBenchError, match="no results.json"):
        write_report(tmp_path)


def test_report_never_embeds_a_symlink_or_a_non_regular_file(run_dir, tmp_path):
    """A run folder is untrusted: an output that is a symlink to a system file (once embedded as a base64
    "video"), or a FIFO, is shown as missing; a per_clip_file that leaves the run folder is refused."""
    import base64
    import json
    import os
    import shutil

    from headswapbench.evaluation.report import _Media

    secret = tmp_path / "secret.mp4"
    secret.write_bytes(b"TOP-SECRET not a video")
    media = _Media(tmp_path / "page.html", embed=True)
    (tmp_path / "link.mp4").symlink_to(secret)
    os.mkfifo(tmp_path / "pipe.mp4")
    assert media.src(tmp_path / "link.mp4", "x") is None
    assert media.src(tmp_path / "pipe.mp4", "x") is None  # returns at once, never blocks on the pipe
    assert media.src(secret.with_suffix(".txt"), "x") is None  # not a media file by its suffix
    assert media.src(secret, "x").startswith("data:video/mp4;base64,")  # a regular file is embedded

    run = tmp_path / "run"
    shutil.copytree(run_dir, run)
    record = json.loads((run / "run.json").read_text())
    record["outputs"] = str(run / "outputs")
    (run / "run.json").write_text(json.dumps(record))
    outputs = sorted((run / "outputs").glob("*.mp4"))
    outputs[0].unlink()
    outputs[0].symlink_to("/etc/passwd")
    text = write_report(run, tmp_path / "r.html", k=10).read_text()
    leaked = base64.b64encode(open("/etc/passwd", "rb").read()[:48]).decode()
    assert leaked not in text and f"{outputs[0].stem} output not found (or not a regular file)" in text

    results = json.loads((run / "results.json").read_text())
    results["per_clip_file"] = "../../etc/passwd"
    (run / "results.json").write_text(json.dumps(results))
    with pytest.raises(HeadSwapBenchError, match="must be a file name inside the run folder"):
        write_report(run, tmp_path / "r2.html")

"""The leaderboard page in headless Chromium (Debian chromium + chromium-driver via Selenium): it opens from
disk, sorts by a clicked column (best first, then reversed), filters by split, and is saved as a screenshot."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest
from headswapbench.leaderboard import build_site

from tests.helpers.browser import js_errors, open_file, save_screenshot
from tests.helpers.leaderboard_fixtures import results_for, write_run

pytestmark = pytest.mark.browser


def _order(driver, board_id: str) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' table.lb[data-board] tbody tr'))"
        ".map(r => r.querySelector('td.method a').textContent)", f"#board-{board_id}")


def _ranks(driver, board_id: str) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0] + ' table.lb[data-board] tbody tr'))"
        ".map(r => r.cells[0].textContent)", f"#board-{board_id}")


def test_page_sorts_filters_and_renders(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    runs = tmp_path / "runs"
    write_run(runs, "oracle", results_for("oracle"))
    warp = write_run(runs, "warp", results_for("warp"), report="<html><body>warp report</body></html>")
    write_run(runs, "noop", results_for("noop"))
    write_run(runs, "warp_val", results_for("warp", split="val", checksum="3" * 64))
    site = tmp_path / "site"
    warp_hash = hashlib.sha256(warp.read_bytes()).hexdigest()
    doc = build_site([runs], site, verified=[warp_hash[:16]])  # the maintainers' list, by a printed prefix
    test_board = next(b["id"] for b in doc["boards"] if b["dataset"]["split"] == "test")
    val_board = next(b["id"] for b in doc["boards"] if b["dataset"]["split"] == "val")

    open_file(browser, site / "index.html")
    assert browser.title == "HeadSwapBench leaderboard"
    assert _order(browser, test_board) == ["oracle", "warp", "noop"]  # default: primary metric, best first

    def header(key):
        return browser.find_element(By.CSS_SELECTOR, f'#board-{test_board} th[data-key="{key}"]')

    # keypoint NME is lower-is-better: the first click puts the lowest first (0 < 0.0390 < 0.0412)
    header("m:keypoint_nme").click()
    assert _order(browser, test_board) == ["oracle", "noop", "warp"]
    assert header("m:keypoint_nme").get_attribute("aria-sort") == "ascending"
    assert _ranks(browser, test_board) == ["1", "2", "3"]
    header("m:keypoint_nme").click()
    assert _order(browser, test_board) == ["warp", "noop", "oracle"]
    # PSNR is higher-is-better: 99.0 > 24.6 > 21.2
    header("m:psnr").click()
    assert _order(browser, test_board) == ["oracle", "warp", "noop"]
    # an unavailable metric (fid) keeps every row and puts missing values last; method name sorts A-Z
    header("method").click()
    assert _order(browser, test_board) == ["noop", "oracle", "warp"]

    # the tie mark and the best mark are on the cells the ranking says
    tied = browser.find_elements(By.CSS_SELECTOR, f"#board-{test_board} td.tied")
    assert len(tied) >= 1

    # filter by split
    Select(browser.find_element(By.ID, "f-split")).select_by_value("val")
    assert not browser.find_element(By.ID, f"board-{test_board}").is_displayed()
    assert browser.find_element(By.ID, f"board-{val_board}").is_displayed()
    Select(browser.find_element(By.ID, "f-split")).select_by_value("")
    assert browser.find_element(By.ID, f"board-{test_board}").is_displayed()

    # the method link opens its details card; the details link goes to the page the leaderboard rendered
    browser.find_element(By.CSS_SELECTOR, f'#board-{test_board} td.method a[href*="warp"]').click()
    card = browser.find_element(By.CSS_SELECTOR, f"#m-{test_board}-warp-1")
    assert card.get_attribute("open") is not None and "verified by the maintainers" in card.text
    details = browser.find_element(By.CSS_SELECTOR, f"#board-{test_board} a.badge.report")
    assert details.get_attribute("href").startswith("file://") and details.get_attribute("href").endswith(".html")
    assert js_errors(browser) == []

    # charts drew one bar per available method for each ranked metric
    bars = browser.find_elements(By.CSS_SELECTOR, f'#board-{test_board} figure[data-metric="psnr"] rect.b')
    assert len(bars) == 3

    Select(browser.find_element(By.ID, "f-split")).select_by_value("test")
    shot = save_screenshot(browser, tmp_path / "leaderboard.png")
    assert shot.stat().st_size > 20_000
    if os.environ.get("HSB_SCREENSHOT_DIR"):  # keep the picture for a human to look at
        shutil.copy(shot, os.environ["HSB_SCREENSHOT_DIR"])


def test_no_script_from_a_submission_runs_on_any_page(browser, tmp_path):
    """Hostile text in every field a submitter controls, a script-carrying report.html and a symlinked one:
    the page and every detail page open with the marker ``window.__pwned`` still undefined, our own script
    still sorts, and the detail pages carry no script at all."""
    import json

    from selenium.webdriver.common.by import By

    from headswapbench.fileio import sha256_json
    from tests.helpers.hostile_results import write_honest, write_report_attacks

    runs = tmp_path / "runs"
    write_honest(runs)
    write_report_attacks(runs, tmp_path / "outside")
    evil = results_for("warp", version='1"><script>window.__pwned=4</script>')
    evil["method"]["name"] = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    evil["method"]["source"] = "javascript:window.__pwned=3"
    evil["settings"]["nonstandard"] = ["<svg onload=window.__pwned=5>"]
    evil["settings_hash"] = sha256_json(evil["settings"])
    evil["per_clip"][0]["clip_id"] = "<iframe src=javascript:window.__pwned=6>"
    (runs / "evil").mkdir()
    (runs / "evil" / "results.json").write_text(json.dumps(evil))
    site = tmp_path / "site"
    doc = build_site([runs], site)
    assert doc["refused"] == [] and sum(len(b["rows"]) for b in doc["boards"]) == 4

    pwned = "return typeof window.__pwned"
    open_file(browser, site / "index.html")
    assert browser.execute_script(pwned) == "undefined"
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="method"]').click()  # our script runs (allowed by hash)
    assert browser.find_element(By.CSS_SELECTOR, "table.lb").get_attribute("data-sorted-by") == "method"
    links = [a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "a.badge.report")]
    assert len(links) == 4 and all(href.startswith("file://") and "/details/" in href for href in links)
    assert js_errors(browser) == []
    for href in links:
        browser.get(href)
        assert browser.execute_script(pwned) == "undefined"
        assert browser.execute_script("return document.scripts.length") == 0
        assert browser.find_elements(By.CSS_SELECTOR, "iframe, img, svg, object, embed") == []
    assert js_errors(browser) == []


def test_official_board_shows_published_rows_apart_and_left_off_reasons(browser, tmp_path):
    """The official split under headswapbench-v1: the published rows sit in their own labelled section with no
    rank; a `--identity dlib` run is greyed with ⊘ on the identity column (its reason on hover and in the list
    under the table) and sorts after the ranked rows there; the protocol filter switches boards."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from tests.helpers.leaderboard_fixtures import (
        OFFICIAL_PROTOCOL,
        dlib_identity,
        official_reference,
        official_results,
    )

    runs = tmp_path / "runs"
    write_run(runs, "directswap", official_results("directswap-repro"))
    write_run(runs, "noop", official_results("noop"))
    dlib = {**OFFICIAL_PROTOCOL, "official": False, "overrides": ["identity backend dlib (protocol: adaface)"]}
    write_run(runs, "dlib", official_results("warp", version="dlib", protocol=dlib,
                                             fingerprints={"identity_cosine_target": dlib_identity("identity_cosine_target")}))
    write_run(runs, "offline", results_for("warp"))
    site = tmp_path / "site"
    doc = build_site([runs], site, references=[official_reference()])
    board = next(b["id"] for b in doc["boards"] if b["protocol"]["id"] == "headswapbench-v1@1")
    other = next(b["id"] for b in doc["boards"] if b["protocol"]["id"] == "offline-v1@1")

    open_file(browser, site / "index.html")
    pub = browser.find_element(By.CSS_SELECTOR, f"#board-{board} div.published")
    assert pub.is_displayed() and "published numbers, reported in arxiv 2609.35708" in pub.text.lower()
    names = [x.text for x in pub.find_elements(By.CSS_SELECTOR, "tr.published-row td.method .name")]
    assert names[:2] == ["DirectSwap", "VACE"] and len(names) == 7
    assert "0.7019" in pub.text and pub.find_elements(By.CSS_SELECTOR, "td.rank") == []
    assert "FLUX.2-klein" not in " ".join(_order(browser, board))  # never a row of the ranked table

    # the warp --identity dlib row: ⊘ on identity, why on hover and below the table; last when sorted there
    # default order: the headline metric; warp dlib has no identity rank, so it comes after the ranked rows
    assert _order(browser, board) == ["directswap-repro", "noop", "warp"]
    assert _ranks(browser, board) == ["1", "2", "–"]
    off = browser.find_element(By.CSS_SELECTOR, f"#board-{board} td.num.off")
    assert off.text.startswith("⊘") and off.get_attribute("title") == \
        "left off this column: identity backend dlib vs adaface"
    left = browser.find_element(By.CSS_SELECTOR, f"#board-{board} div.left-off")
    assert left.is_displayed() and "warp dlib · identity_cosine_target: identity backend dlib vs adaface" in left.text
    header = browser.find_element(By.CSS_SELECTOR, f'#board-{board} th[data-key="m:identity_cosine_target"]')
    header.click()
    assert _order(browser, board)[-1] == "warp"
    header.click()
    assert _order(browser, board)[-1] == "warp"  # missing and left-off values sort last either way
    browser.find_element(By.CSS_SELECTOR, f'#board-{board} th[data-key="m:psnr"]').click()
    assert _order(browser, board) == ["directswap-repro", "warp", "noop"] and _ranks(browser, board) == ["1", "2", "3"]

    Select(browser.find_element(By.ID, "f-protocol")).select_by_value("offline-v1@1")
    assert not browser.find_element(By.ID, f"board-{board}").is_displayed()
    assert browser.find_element(By.ID, f"board-{other}").is_displayed()
    assert js_errors(browser) == []

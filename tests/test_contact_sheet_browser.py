"""The build's contact sheet (pipelines/contact_sheet.py) in headless Chromium, as the leaderboard page is
checked: it opens from disk, every clip is a row with a loaded inline strip, text is escaped, clicking a
score column sorts by it (missing scores last, both ways) and the status filter hides rows."""

from __future__ import annotations

import numpy as np
import pytest
from headswapbench.pipelines.contact_sheet import SheetRow, write_contact_sheet

from headswapbench.types import Video
from headswapbench.video import write_image, write_video
from tests.helpers.browser import js_errors, open_file, save_screenshot

pytestmark = pytest.mark.browser


def _media(tmp_path, name: str, shade: int):
    """SYNTHETIC media: flat-shaded 48×48 clips and a reference image (the sheet only shows them)."""
    frames = np.full((4, 48, 48, 3), shade, np.uint8)
    frames[:, 10:30, 12:36] = 255 - shade
    driving, target, ref = tmp_path / f"{name}_c.mp4", tmp_path / f"{name}_a.mp4", tmp_path / f"{name}_ref.png"
    write_video(driving, Video(frames, 25.0))
    write_video(target, Video(frames[:, :, ::-1].copy(), 25.0))
    write_image(ref, frames[0])
    return driving, target, ref


def _rows(tmp_path) -> list[SheetRow]:
    out = []
    for name, score, status, code, detail in (
        ("clip_ok", 0.31, "kept", "", ""),
        ("clip_smear", 1.7, "rejected", "edit_artifact", "patch_delta_e 22.1 > 14 <b>bold</b> & <script>x()</script>"),
        ("clip_noscore", None, "rejected", "no_reference", "no frontal frame"),
    ):
        d, a, r = _media(tmp_path, name, 40 + 60 * len(out))
        out.append(SheetRow(clip_id=name, subject="subj-1", status=status, stage="filter" if code else "",
                            code=code, detail=detail, driving=d, target=a, reference=r,
                            scores={"artifact_score": score, "sync_nme": 0.02 + 0.01 * len(out)},
                            editor_note="donor:sample:astronaut"))
    return out


def _order(driver) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#sheet tbody tr'))"
        ".filter(r => r.style.display !== 'none').map(r => r.cells[0].textContent)")


def test_contact_sheet_lists_sorts_filters_and_escapes(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = write_contact_sheet(_rows(tmp_path), tmp_path / "contact_sheet.html", title="test <build>")
    html = page.read_text()
    assert "<script>x()" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html  # escaped
    assert "src=\"file:" not in html and html.count("data:image/jpeg;base64,") == 3  # self-contained

    open_file(browser, page)
    assert browser.title == "test <build> — contact sheet"
    assert _order(browser) == ["clip_smear", "clip_ok", "clip_noscore"]  # default: worst artifact score first
    assert browser.execute_script(
        "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 100)")
    assert not browser.find_elements(By.CSS_SELECTOR, "#sheet b")  # the detail's <b> is text, not markup
    assert "<b>bold</b>" in browser.find_element(By.ID, "clip-clip_smear").text

    header = browser.find_element(By.CSS_SELECTOR, 'th[data-key="artifact_score"]')
    header.click()
    assert _order(browser) == ["clip_ok", "clip_smear", "clip_noscore"]  # ascending, missing last
    assert header.get_attribute("aria-sort") == "ascending"
    header.click()
    assert _order(browser) == ["clip_smear", "clip_ok", "clip_noscore"]  # descending, missing still last
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="sync_nme"]').click()
    assert _order(browser) == ["clip_ok", "clip_smear", "clip_noscore"]
    browser.find_element(By.CSS_SELECTOR, 'th[data-key="clip"]').click()
    assert _order(browser) == ["clip_noscore", "clip_ok", "clip_smear"]

    Select(browser.find_element(By.ID, "f-status")).select_by_value("rejected")
    assert sorted(_order(browser)) == ["clip_noscore", "clip_smear"]
    Select(browser.find_element(By.ID, "f-status")).select_by_value("kept")
    assert _order(browser) == ["clip_ok"]
    assert not js_errors(browser)
    save_screenshot(browser, tmp_path / "contact_sheet.png")

"""Leaderboard: comparability rule, refusals, CI-aware ranking, site files, atomic writes, detail pages.
(Hostile submissions: tests/test_leaderboard_hostile.py.)"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from headswapbench.leaderboard import build_site, rank_metric

from headswapbench.cli.main import main
from headswapbench.errors import HeadSwapBenchError
from headswapbench.fileio import sha256_json
from tests.helpers.leaderboard_fixtures import (
    CHECKSUM,
    SETTINGS,
    TABLE,
    fingerprint_for,
    official_results,
    results_for,
    write_run,
)


def _cell(mean, lo=None, hi=None):
    return {"mean": mean, "ci95": None if lo is None else [lo, hi], "n": 5, "available": True}


# ------------------------------------------------------------------------------------------------------
# ranking, hand-checked
# ------------------------------------------------------------------------------------------------------
def test_rank_higher_is_better_with_ties_and_ci_rank():
    cells = [_cell(0.70, 0.60, 0.80),   # A: best
             _cell(0.65, 0.55, 0.75),   # B: CI overlaps A -> tied, ci_rank 1
             _cell(0.40, 0.35, 0.45),   # C: separated from A and B -> ci_rank 3
             {"mean": None, "ci95": None, "n": 0, "available": False, "reason": "x"},
             None]
    a, b, c, d, e = rank_metric(cells, higher_is_better=True)
    assert (a["rank"], a["best"], a["tied_with_best"], a["ci_rank"]) == (1, True, False, 1)
    assert (b["rank"], b["best"], b["tied_with_best"], b["ci_rank"]) == (2, False, True, 1)
    assert (c["rank"], c["best"], c["tied_with_best"], c["ci_rank"]) == (3, False, False, 3)
    assert d == {} and e == {}


def test_rank_lower_is_better_and_missing_intervals():
    cells = [_cell(0.050, 0.045, 0.055), _cell(0.030, 0.020, 0.040), _cell(0.030), _cell(0.041)]
    r = rank_metric(cells, higher_is_better=False)
    assert [x["rank"] for x in r] == [4, 1, 1, 3]
    assert [x["best"] for x in r] == [False, True, True, False]
    # 0.041 (no CI) lies inside the best's [0.020, 0.040]? no: 0.041 > 0.040 -> not tied
    assert [x["tied_with_best"] for x in r] == [False, False, False, False]
    # ci_rank of 0.050: [0.045, 0.055] is beaten by [0.020, 0.040], the point 0.030 and the point 0.041;
    # the point 0.041 is beaten by [0.020, 0.040] and the point 0.030
    assert r[0]["ci_rank"] == 4 and r[3]["ci_rank"] == 3


# ------------------------------------------------------------------------------------------------------
# building a site
# ------------------------------------------------------------------------------------------------------
@pytest.fixture
def runs(tmp_path) -> Path:
    root = tmp_path / "runs"
    write_run(root, "oracle", results_for("oracle"))
    write_run(root, "warp", results_for("warp", verified=True),
              report='<html><body><img src="grid.png"><a href="../../secret.txt">x</a>'
                     '<video src="clips/best.mp4"></video></body></html>')
    (root / "warp" / "grid.png").write_bytes(b"\x89PNG not really")
    (root / "warp" / "clips").mkdir()
    (root / "warp" / "clips" / "best.mp4").write_bytes(b"mp4")
    (tmp_path / "secret.txt").write_text("do not copy")
    write_run(root, "noop", results_for("noop"))
    return root


def test_build_site_ranks_and_writes_all_files(runs, tmp_path):
    site = tmp_path / "site"
    doc = build_site([runs], site)
    assert sorted(p.name for p in site.iterdir()) == ["details", "index.html", "leaderboard.csv", "leaderboard.json",
                                                      "leaderboard.md"]
    assert doc["refused"] == []
    (board,) = doc["boards"]
    assert board["primary_metric"] == "identity_cosine_ref"
    assert [r["method"]["name"] for r in board["rows"]] == ["oracle", "warp", "noop"]
    rows = {r["method"]["name"]: r for r in board["rows"]}
    # identity: oracle best; warp [0.850, 0.899] overlaps oracle [0.890, 0.931]; noop does not
    assert rows["oracle"]["metrics"]["identity_cosine_ref"]["best"]
    assert rows["warp"]["metrics"]["identity_cosine_ref"]["tied_with_best"]
    assert not rows["noop"]["metrics"]["identity_cosine_ref"]["tied_with_best"]
    # lower is better: keypoint NME 0 (oracle) < 0.039 (noop) < 0.0412 (warp)
    assert [rows[m]["metrics"]["keypoint_nme"]["rank"] for m in ("oracle", "noop", "warp")] == [1, 2, 3]
    # diagnostics (higher_is_better null) are shown, never ranked
    assert "rank" not in rows["warp"]["metrics"]["face_missing_output"]
    assert rows["noop"]["metrics"]["fid"]["available"] is False
    assert board["labels"] == ["non-standard: identity: dlib ResNet instead of ArcFace"]

    # lpips is not a metric of offline-v1: shown, not ranked, with why (no reference fingerprint for it)
    lpips = next(m for m in board["metrics"] if m["name"] == "lpips")
    assert "lpips is not a metric of protocol offline-v1@1" in lpips["not_ranked"]
    assert all(not r["metrics"]["lpips"]["ranked"] and "rank" not in r["metrics"]["lpips"] for r in board["rows"])
    assert board["protocol"]["id"] == "offline-v1@1" and board["left_off"] == []

    on_disk = json.loads((site / "leaderboard.json").read_text())
    assert on_disk["boards"][0]["rows"][0]["settings_hash"] == sha256_json(SETTINGS)  # each row keeps its file's
    assert on_disk["fingerprint_references"]["offline-v1@1"]["source"].startswith("derived from the shipped protocol")
    with open(site / "leaderboard.csv", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert len(lines) == 3 * 8  # 3 methods x 8 metrics (fid included as unavailable)
    fid = next(x for x in lines if x["method"] == "noop" and x["metric"] == "fid")
    assert fid["available"] == "False" and "pt_inception" in fid["reason"]
    ident = next(x for x in lines if x["method"] == "warp" and x["metric"] == "identity_cosine_ref")
    assert (ident["n_subjects"], ident["replicates"], ident["ranked"], ident["protocol"]) == ("10", "1000", "True",
                                                                                          "offline-v1@1")
    md = (site / "leaderboard.md").read_text()
    assert "**0.912 [0.890, 0.931] (10 subjects)**" in md and "≈ 0.874 [0.850, 0.899] (10 subjects)" in md
    assert "identity_cosine_ref ↑" in md and "subject-level cluster bootstrap, 1,000 replicates" in md

    # nothing from the submission folder reaches the site: not its report.html, nor the files that report links
    # (inside the folder or, with ../, outside it); each row gets a detail page rendered by the leaderboard
    published = {p.name for p in site.rglob("*")}
    assert not published & {"report.html", "grid.png", "best.mp4", "secret.txt"}
    details = site / rows["warp"]["details"]
    assert details.is_file() and details.parent.parent.name == "details"
    page = details.read_text()
    assert "0.874" in page and "0.850 – 0.899" in page and "<script" not in page and "script-src 'none'" in page
    html = (site / "index.html").read_text()
    # verified: true written in the file is a claim; without the maintainers' list every row is self-reported
    assert rows["warp"]["details"] in html and "self-reported" in html and rows["warp"]["verified"] is False
    assert rows["warp"]["provenance"]["claimed_verified"] is True
    assert "<link" not in html and "http://" not in html and "https://" not in html  # nothing to fetch


def test_refusals_each_have_a_reason(tmp_path):
    root = tmp_path / "runs"
    write_run(root, "warp", results_for("warp"))
    write_run(root, "noop", results_for("noop"))
    write_run(root, "oracle", results_for("oracle"))
    # same method+version again with other numbers -> duplicate; an exact copy -> identical
    write_run(root, "warp_rerun", results_for("warp", created_at="2026-11-25T08:00:00Z"))
    (root / "zz_copy").mkdir()
    shutil.copy(root / "noop" / "results.json", root / "zz_copy" / "results.json")
    # other dataset version; other metric settings (not refused: left off the columns they change)
    write_run(root, "old_dataset", results_for("warp", version="2", checksum="0" * 64))
    other = fingerprint_for("keypoint_nme")
    other["settings"]["normaliser"] = "bounding-box diagonal"
    write_run(root, "other_settings", results_for("warp", version="3", settings={**SETTINGS, "resize": 256},
                                                  fingerprints={"keypoint_nme": other}))
    # malformed and schema-violating files
    (root / "broken").mkdir()
    (root / "broken" / "results.json").write_text('{"schema_version": 1, "method": ')
    bad = results_for("noop", version="9")
    bad["settings"]["resize"] = 1024  # edited after hashing
    (root / "edited").mkdir()
    (root / "edited" / "results.json").write_text(json.dumps(bad))

    site = tmp_path / "site"
    doc = build_site([root, tmp_path / "missing.json"], site, dataset_checksums=[CHECKSUM])
    assert [(r["method"]["name"], r["method"]["version"]) for r in doc["boards"][0]["rows"]] == [
        ("oracle", "1"), ("warp", "1"), ("warp", "3"), ("noop", "1")]
    reasons = {Path(r["path"]).parent.name if r["path"].endswith("json") and "missing" not in r["path"]
               else "missing": r["reason"] for r in doc["refused"]}
    assert set(reasons) == {"missing", "broken", "edited", "old_dataset", "warp_rerun", "zz_copy"}
    assert reasons["missing"] == "not found"
    assert "not valid JSON" in reasons["broken"]
    assert "settings_hash" in reasons["edited"] and "edited after hashing" in reasons["edited"]
    assert reasons["old_dataset"].startswith("dataset checksum 000000000000 is not the maintainers' reference 9f2caaaa")
    # the other settings change one number: warp 3 ranks on every column but keypoint_nme, where it is left
    # off with what differs (it used to be refused whole for its settings hash)
    (board,) = doc["boards"]
    assert board["left_off"] == [{"method": "warp", "version": "3", "slug": "warp-3", "metric": "keypoint_nme",
                                  "reason": "normaliser bounding-box diagonal vs inter-ocular (outer eye corners 33-263,…"}]
    warp3 = next(r for r in board["rows"] if r["method"]["version"] == "3")
    assert warp3["metrics"]["identity_cosine_ref"]["ranked"] and not warp3["metrics"]["keypoint_nme"]["ranked"]
    assert reasons["warp_rerun"].startswith(f"duplicate of {root / 'warp' / 'results.json'}")
    assert reasons["zz_copy"] == f"identical to {root / 'noop' / 'results.json'}"
    assert json.loads((site / "leaderboard.json").read_text())["refused"] == doc["refused"]
    html = (site / "index.html").read_text()
    assert "6 file(s) not ranked" in html and "normaliser bounding-box diagonal vs inter-ocular" in html


def test_explicit_flags_choose_the_dataset_and_each_protocol_gets_a_board(tmp_path):
    root = tmp_path / "runs"
    write_run(root, "a", results_for("warp"))
    write_run(root, "b", results_for("noop"))
    write_run(root, "c", results_for("warp", checksum="1" * 64))
    write_run(root, "d", official_results("noop", dataset="HeadSwapBench-demo", checksum=CHECKSUM, num_clips=10))
    doc = build_site([root], tmp_path / "s1", dataset_checksums=["1" * 64])
    assert [r["method"]["name"] for b in doc["boards"] for r in b["rows"]] == ["warp"]
    assert doc["reference"][0]["dataset_checksum_rule"] == "--dataset-checksum"
    doc = build_site([root], tmp_path / "s2", dataset_checksums=[CHECKSUM])
    assert sorted((b["protocol"]["id"], len(b["rows"])) for b in doc["boards"]) == [
        ("headswapbench-v1@1", 1), ("offline-v1@1", 2)]
    assert all(b["pinned"]["dataset_checksum_by"] == "--dataset-checksum" for b in doc["boards"])
    # no reference for headswapbench-v1's AdaFace columns on this machine, and no --reference: not ranked
    v1 = next(b for b in doc["boards"] if b["protocol"]["id"] == "headswapbench-v1@1")
    ident = next(m for m in v1["metrics"] if m["name"] == "identity_cosine_target")
    assert ident["not_ranked"].startswith("no reference fingerprint: model file adaface-ir101 is not on this machine")
    assert v1["rows"][0]["metrics"]["psnr"]["rank"] == 1  # derived here: PSNR needs no model file


def test_without_flags_nothing_is_voted_each_checksum_and_protocol_get_a_board(tmp_path):
    """No majority rule: a file never decides which dataset is the reference. Without the maintainer's flag
    (and with no protocol declaring a checksum) every checksum is its own board, labelled as not pinned; each
    protocol is its own board too."""
    root = tmp_path / "runs"
    write_run(root, "a", results_for("warp", checksum="1" * 64, created_at="2026-01-01T00:00:00Z"))
    write_run(root, "b", results_for("noop", checksum="2" * 64, created_at="2026-06-01T00:00:00Z"))
    write_run(root, "c", official_results("oracle", dataset="HeadSwapBench-demo", checksum="2" * 64,
                                          num_clips=10, table={"oracle": TABLE["oracle"]}))
    doc = build_site([root], tmp_path / "site")
    assert doc["refused"] == []
    boards = {(b["dataset"]["checksum"][0], b["protocol"]["id"]): b for b in doc["boards"]}
    assert sorted(boards) == [("1", "offline-v1@1"), ("2", "headswapbench-v1@1"), ("2", "offline-v1@1")]
    assert all(not b["pinned"]["dataset_checksum"] for b in doc["boards"])
    assert any("on 2 dataset checksums" in x and "--dataset-checksum" in x for x in boards["1", "offline-v1@1"]["labels"])
    assert not any(x.startswith("not pinned") for x in boards["2", "headswapbench-v1@1"]["labels"])  # one checksum
    assert doc["reference"][0]["dataset_checksum_rule"] == "not pinned: one board per dataset checksum"


def test_splits_are_separate_boards(tmp_path):
    root = tmp_path / "runs"
    write_run(root, "t", results_for("warp"))
    write_run(root, "v", results_for("warp", split="val", checksum="3" * 64))
    doc = build_site([root], tmp_path / "site")
    assert sorted(b["dataset"]["split"] for b in doc["boards"]) == ["test", "val"]
    assert doc["refused"] == []


def test_nothing_valid_writes_nothing(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "results.json").write_text("[]")
    with pytest.raises(HeadSwapBenchError, match="(?s)no results could be ranked.*top level must be a JSON object"):
        build_site([tmp_path / "r"], tmp_path / "site")
    assert not (tmp_path / "site").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["r"]


def test_site_replaced_atomically_and_unrelated_folder_protected(runs, tmp_path, monkeypatch):
    site = tmp_path / "site"
    build_site([runs], site)
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}

    import headswapbench.leaderboard.site as site_mod

    def boom(doc):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(site_mod, "render_html", boom)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        build_site([runs], site)
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before  # the old site is untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs", "secret.txt", "site"]  # no temp folders left

    mine = tmp_path / "my_stuff"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    monkeypatch.undo()
    with pytest.raises(HeadSwapBenchError, match="not a leaderboard site"):
        build_site([runs], mine)
    assert (mine / "thesis.tex").read_text() == "precious"


def test_smoke_results_and_partial_coverage_are_labelled_and_html_is_escaped(tmp_path):
    root = tmp_path / "runs"
    smoke = {**SETTINGS, "smoke": True}
    evil = results_for("warp", settings=smoke, scored=7)
    evil["method"]["name"] = "<script>alert(1)</script>"
    from headswapbench.results import make_results

    evil = make_results(evil["method"], evil["dataset"], evil["settings"], evil["metrics"], evil["per_clip"],
                        coverage=evil["coverage"], provenance=evil["provenance"], protocol=evil["protocol"])
    write_run(root, "evil", evil)
    write_run(root, "noop", results_for("noop", settings=smoke))
    doc = build_site([root], tmp_path / "site")
    html = (tmp_path / "site" / "index.html").read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "smoke test" in html and "partial: 7 of 10 clips scored" in html
    assert doc["boards"][0]["labels"][0].startswith("smoke test")
    # a smoke model is left off every column it could rank on, with the reason "smoke model"
    board = doc["boards"][0]
    assert {x["reason"] for x in board["left_off"]} == {"smoke model"}
    assert all(not c.get("ranked") for r in board["rows"] for c in r["metrics"].values())
    assert board["primary_metric"] is None


def test_cli_build_human_and_json(runs, tmp_path, capsys):
    site = tmp_path / "site"
    assert main(["leaderboard", "build", str(runs), str(tmp_path / "nope.json"), "--out", str(site)]) == 0
    out = capsys.readouterr().out
    assert f"leaderboard page: {(site / 'index.html').resolve()}" in out
    assert "oracle" in out and "tied with best (CI)" in out and "nope.json: not found" in out
    assert main(["leaderboard", "build", str(runs), "--out", str(site), "--json", "--sort-by", "keypoint_nme"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["url"].startswith("file://") and data["boards"][0]["primary_metric"] == "keypoint_nme"
    assert [m["method"] for m in data["boards"][0]["methods"]] == ["oracle", "noop", "warp"]
    assert main(["leaderboard", "build", str(runs), str(tmp_path / "nope.json"), "--out", str(site),
                 "--strict"]) == 2
    assert "refused (--strict)" in capsys.readouterr().err
    assert main(["leaderboard", "build", str(tmp_path / "nope.json"), "--out", str(tmp_path / "s2")]) == 2
    assert not (tmp_path / "s2").exists()


def test_cli_validate(runs, tmp_path, capsys):
    assert main(["leaderboard", "validate", str(runs), "--json"]) == 0
    assert [r["ok"] for r in json.loads(capsys.readouterr().out)] == [True] * 3
    (tmp_path / "bad.json").write_text('{"schema_version": 99}')
    assert main(["leaderboard", "validate", str(runs), str(tmp_path / "bad.json")]) == 2
    captured = capsys.readouterr()
    assert "newer than this toolkit" in captured.out and "1 invalid or missing" in captured.err


@pytest.mark.slow
def test_real_evaluation_results_build_a_leaderboard(tmp_path, shared_data, capsys):
    """End to end with the real evaluation engine (the contract between the two rooms): noop and oracle on a
    tiny real split, then `leaderboard build` ranks oracle first on every paired metric."""
    from tests.helpers.eval_split import build_split

    split = build_split(tmp_path / "split", shared_data)
    for name in ("noop", "oracle"):
        assert main(["evaluate", str(split), "--out", str(tmp_path / "runs" / name), "--swapper", name,
                     "--metrics", "psnr,ssim,flicker"]) == 0
    capsys.readouterr()
    assert main(["leaderboard", "build", str(tmp_path / "runs"), "--out", str(tmp_path / "site"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["refused"] == []
    (board,) = data["boards"]
    assert [m["method"] for m in board["methods"]] == ["oracle", "noop"]
    doc = json.loads((tmp_path / "site" / "leaderboard.json").read_text())
    oracle = doc["boards"][0]["rows"][0]["metrics"]
    assert oracle["psnr"]["best"] and oracle["ssim"]["best"] and oracle["flicker"]["best"]


def test_detail_page_is_rendered_from_the_results_with_best_and_worst_clips(tmp_path):
    from headswapbench.results import make_results

    base = results_for("warp", num_clips=30)
    rows = [{"clip_id": f"clip{i:02d}", "subject_id": f"s{i // 3}", "psnr": 20.0 + i, "keypoint_nme": 0.01 * i}
            for i in range(30)]
    rows[5]["psnr"] = None  # undefined on one clip: left out of the ordering
    r = make_results(base["method"], base["dataset"], base["settings"], base["metrics"], rows,
                     coverage={"expected": 30, "scored": 30, "failed": 0, "failures": {}},
                     provenance=base["provenance"], protocol=base["protocol"])
    write_run(tmp_path / "runs", "warp", r)
    doc = build_site([tmp_path / "runs"], tmp_path / "site", sort_by="psnr")
    row = doc["boards"][0]["rows"][0]
    page = (tmp_path / "site" / row["details"]).read_text()
    assert "best and worst by <code>psnr</code>" in page and "30 per-clip rows in the results file, 29 with a psnr" in page
    order = [cid for cid in (f"clip{i:02d}" for i in range(30)) if f">{cid}<" in page]
    assert len(order) == 20 and ">clip05<" not in page  # 10 best (highest psnr) + 10 worst of the 29
    assert page.index(">clip29<") < page.index(">clip20<") < page.index(">clip00<")
    assert row["content_hash"] in page and row["settings_hash"] in page
    assert '<a href="../../index.html#board-' in page

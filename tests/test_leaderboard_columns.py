"""Comparable metric by metric (issue 10, items 4-6, leaderboard side): each column ranks the results whose
fingerprint for it equals the protocol's reference; the others are left off that column with what differs.
Published rows of the official split ride along, labelled and never ranked; intervals say how many subjects
they resample and with how many bootstrap replicates."""

from __future__ import annotations

import copy
import csv
import json
from pathlib import Path

import pytest
from headswapbench.leaderboard import build_site

from headswapbench.cli.main import main
from headswapbench.errors import HeadSwapBenchError
from headswapbench.fingerprint import fingerprint_hash, weight_record
from tests.helpers.leaderboard_fixtures import (
    OFFICIAL_PROTOCOL,
    OFFICIAL_TABLE,
    dlib_identity,
    fingerprint_for,
    official_reference,
    official_results,
    results_for,
    write_run,
)

IDENTITY = ("identity_cosine_target",)
PAIRED = ("psnr", "ssim")


def _rows(board: dict) -> dict[str, dict]:
    """Rows by method name (for boards where each name appears once)."""
    return {r["method"]["name"]: r for r in board["rows"]}


def _row(board: dict, name: str, version: str = "1") -> dict:
    return next(r for r in board["rows"] if (r["method"]["name"], r["method"]["version"]) == (name, version))


@pytest.fixture
def official(tmp_path) -> Path:
    """The official split under headswapbench-v1: two full runs, a `--metrics psnr,ssim` run, a run whose LPIPS
    weights were missing, a `--identity dlib` run, a smoke model and a run with an unpinned LPIPS file."""
    runs = tmp_path / "runs"
    write_run(runs, "directswap", official_results("directswap-repro"))
    write_run(runs, "warp", official_results("warp"))
    quick = {**OFFICIAL_PROTOCOL, "official": False, "overrides": ["metrics psnr, ssim (protocol: identity, ...)"]}
    write_run(runs, "quick", official_results("noop", version="quick", keys=PAIRED, protocol=quick))
    table = copy.deepcopy(OFFICIAL_TABLE)
    table["noop"]["lpips"] = None  # lpips unavailable: weights missing on that machine
    write_run(runs, "nolpips", official_results("noop", version="no-lpips", table=table))
    dlib = {**OFFICIAL_PROTOCOL, "official": False, "overrides": ["identity backend dlib (protocol: adaface)"]}
    write_run(runs, "dlib", official_results("warp", version="dlib", protocol=dlib,
                                             fingerprints={k: dlib_identity(k) for k in IDENTITY}))
    smoke_fps = {k: fingerprint_for(k, "headswapbench-v1@1") for k in OFFICIAL_TABLE["warp"]}
    for fp in smoke_fps.values():
        fp["settings"]["smoke"] = True
    write_run(runs, "smoke", official_results("warp", version="smoke", fingerprints=smoke_fps,
                                              settings={"protocol": "headswapbench-v1@1", "smoke": True}))
    stand_in = fingerprint_for("lpips", "headswapbench-v1@1")
    stand_in["weights"]["lpips-alexnet"] = weight_record("5" * 64, None)  # a stand-in file, pinned by nothing
    write_run(runs, "standin", official_results("warp", version="stand-in", fingerprints={"lpips": stand_in}))
    return runs


def test_each_column_ranks_the_results_whose_fingerprint_matches(official, tmp_path):
    doc = build_site([official], tmp_path / "site", references=[official_reference()])
    assert doc["refused"] == []
    (board,) = doc["boards"]
    assert board["protocol"]["id"] == "headswapbench-v1@1" and board["primary_metric"] == "identity_cosine_target"
    rows = {(r["method"]["name"], r["method"]["version"]): r for r in board["rows"]}

    def ranked(key):
        return sorted(f"{n} {v}" for (n, v), r in rows.items() if (r["metrics"].get(key) or {}).get("ranked"))

    # the psnr,ssim run ranks beside the full runs on those two columns, and is absent from the others
    quick = rows["noop", "quick"]["metrics"]
    assert sorted(quick) == ["psnr", "ssim"]
    assert "noop quick" in ranked("psnr") and "noop quick" in ranked("ssim")
    assert quick["psnr"]["rank"] == 5 and quick["ssim"]["rank"] == 5  # 21.2 dB / 0.72, tied with no-lpips noop
    assert "noop quick" not in ranked("identity_cosine_target") and "noop quick" not in ranked("lpips")
    # lpips unavailable: n/a there, ranked on everything else
    nolpips = rows["noop", "no-lpips"]["metrics"]
    assert nolpips["lpips"]["available"] is False and "rank" not in nolpips["lpips"]
    assert all(nolpips[k]["ranked"] for k in ("identity_cosine_target", "keypoint_nme", "psnr", "ssim"))
    # another identity backend: left off the identity column with exactly that reason, ranked on the rest
    dlib = rows["warp", "dlib"]["metrics"]
    assert dlib["identity_cosine_target"]["left_off"] == "identity backend dlib vs adaface"
    assert "rank" not in dlib["identity_cosine_target"] and dlib["keypoint_nme"]["ranked"] and dlib["lpips"]["ranked"]
    # a smoke model is left off every column with "smoke model"
    smoke = rows["warp", "smoke"]["metrics"]
    assert {c["left_off"] for c in smoke.values() if c["available"]} == {"smoke model"}
    assert not any(c.get("ranked") for c in smoke.values())
    # a stand-in LPIPS file: left off lpips with what differs, flagged unpinned, ranked elsewhere
    standin = rows["warp", "stand-in"]
    assert standin["metrics"]["lpips"]["left_off"] == "lpips-alexnet weights differ (5555… vs 7be5…)"
    assert standin["metrics"]["lpips"]["unpinned"] == ["lpips-alexnet"]
    assert any(x.startswith("unpinned weights: lpips-alexnet") for x in standin["labels"])
    assert standin["metrics"]["psnr"]["ranked"]

    assert ranked("identity_cosine_target") == ["directswap-repro 1", "noop no-lpips", "warp 1", "warp stand-in"]
    assert ranked("lpips") == ["directswap-repro 1", "warp 1", "warp dlib"]
    # ranks count only the comparable results: directswap first on identity, 4 ranked
    ident = {f"{n} {v}": r["metrics"].get("identity_cosine_target", {}).get("rank") for (n, v), r in rows.items()}
    assert ident["directswap-repro 1"] == 1 and ident["noop no-lpips"] == 4 and ident["warp dlib"] is None
    # the left-off list says who, which column and why (the smoke model on every column it has)
    left = {(x["method"], x["version"], x["metric"]): x["reason"] for x in board["left_off"]}
    assert left["warp", "dlib", "identity_cosine_target"] == "identity backend dlib vs adaface"
    assert left["warp", "stand-in", "lpips"].startswith("lpips-alexnet weights differ")
    assert {k[2] for k in left if k[1] == "smoke"} == {"identity_cosine_target", "keypoint_nme", "lpips", "psnr",
                                                       "ssim"}

    site = tmp_path / "site"
    html = (site / "index.html").read_text()
    assert "identity backend dlib vs adaface" in html and "smoke model" in html and "unpinned" in html
    md = (site / "leaderboard.md").read_text()
    assert "- warp dlib: `identity_cosine_target`: identity backend dlib vs adaface" in md
    assert "- warp smoke: `identity_cosine_target`, `keypoint_nme`, `lpips`, `psnr`, `ssim`: smoke model" in md
    with open(site / "leaderboard.csv", newline="") as fh:
        lines = list(csv.DictReader(fh))
    cell = next(x for x in lines if x["version"] == "dlib" and x["metric"] == "identity_cosine_target")
    assert (cell["ranked"], cell["left_off"], cell["rank"]) == ("False", "identity backend dlib vs adaface", "")
    on_disk = json.loads((site / "leaderboard.json").read_text())
    assert on_disk["boards"][0]["left_off"] == board["left_off"]
    ref = on_disk["fingerprint_references"]["headswapbench-v1@1"]
    assert ref["source"].startswith("--reference") and ref["fingerprints"]["lpips"]["fingerprint_hash"] == \
        fingerprint_hash(official_reference().fingerprints["lpips"])


def test_without_a_reference_for_adaface_those_columns_are_not_ranked_the_rest_is(official, tmp_path):
    """This machine has no AdaFace/LPIPS files: the reference derived here knows every other key, so those
    columns rank; identity and LPIPS are shown, not ranked, naming the file to fetch (never the files' vote)."""
    doc = build_site([official], tmp_path / "site")
    (board,) = doc["boards"]
    cols = {m["name"]: m for m in board["metrics"]}
    assert cols["identity_cosine_target"]["not_ranked"].startswith(
        "no reference fingerprint: model file adaface-ir101 is not on this machine")
    assert "lpips-alexnet" in cols["lpips"]["not_ranked"]
    assert cols["psnr"]["not_ranked"] is None and cols["keypoint_nme"]["not_ranked"] is None
    assert board["primary_metric"] == "psnr"  # of the columns that rank, the one most rows rank on
    assert all("rank" not in r["metrics"].get("identity_cosine_target", {}) for r in board["rows"])
    html = (tmp_path / "site" / "index.html").read_text()
    assert "Shown but not ranked" in html and "headswapbench weights fetch adaface-ir101" in html


def test_published_rows_are_on_the_official_board_labelled_and_never_ranked(official, tmp_path, capsys):
    site = tmp_path / "site"
    doc = build_site([official], site, references=[official_reference()])
    (board,) = doc["boards"]
    pub = {p["method"]: p for p in board["published"]}
    assert list(pub)[:2] == ["DirectSwap", "VACE"] and len(pub) == 7
    ds = pub["DirectSwap"]
    assert ds["label"] == "reported in arXiv 2609.35708" and ds["source"]["url"] == "https://arxiv.org/abs/2609.35708"
    assert ds["metrics"] == {"identity_cosine_target": 0.7019, "keypoint_nme": 0.0289, "lpips": 0.1333}
    assert ds["not_implemented"]["whole_head_similarity"]["value"] == 0.894
    # never mixed into the ranks: the reproduced directswap stays rank 1 although FLUX.2-klein reports 0.726
    assert _rows(board)["directswap-repro"]["metrics"]["identity_cosine_target"]["rank"] == 1
    assert all(r["method"]["name"] not in pub for r in board["rows"])
    assert not any("rank" in p for p in board["published"])

    html = (site / "index.html").read_text()
    section = html[html.index('<div class="published"'):]
    section = section[:section.index("</table>")]
    assert "Published numbers, reported in arXiv 2609.35708" in section
    assert ">0.7019<" in section and ">0.726<" in section and "whole_head_similarity = 0.894" in section
    assert 'href="https://arxiv.org/abs/2609.35708"' in section and 'class="rank"' not in section
    table = html[html.index('<table class="lb"'):html.index("</table>")]
    assert "FLUX.2-klein" not in table  # not a row of the ranked table
    md = (site / "leaderboard.md").read_text()
    assert "### Reported in the literature (7 methods, not reproduced here, never ranked with the rows above)" in md
    assert "| DirectSwap | head swapper | 0.7019 | 0.0289 | 0.1333 | reported in arXiv 2609.35708" in md
    with open(site / "leaderboard.csv", newline="") as fh:
        published = [x for x in csv.DictReader(fh) if x["kind"] == "published"]
    assert len(published) == 3 + 2 + 5  # DirectSwap 3 numbers, VACE 2, five editors 1 each
    flux = next(x for x in published if x["method"] == "FLUX.2-klein")
    assert (flux["mean"], flux["rank"], flux["ranked"], flux["labels"]) == ("0.726", "", "False",
                                                                           "reported in arXiv 2609.35708")
    assert flux["reported_in"] == "arXiv:2609.35708 https://arxiv.org/abs/2609.35708"
    assert main(["leaderboard", "build", str(official), "--out", str(site), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["boards"][0]["published"][0] == {"method": "DirectSwap", "reported_in": ds["label"],
                                                    "metrics": ds["metrics"]}


def test_published_rows_only_on_the_official_split_and_protocol(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "demo", official_results("warp", dataset="HeadSwapBench-demo"))  # another dataset
    write_run(runs, "val", official_results("warp", split="val", checksum="1" * 64))  # another split
    write_run(runs, "offline", results_for("warp", dataset="yananwang-MBZUAI/HeadSwapBench"))  # offline-v1
    doc = build_site([runs], tmp_path / "site")
    assert len(doc["boards"]) == 3 and all(b["published"] == [] for b in doc["boards"])
    assert 'class="published"' not in (tmp_path / "site" / "index.html").read_text()


def test_n_subjects_beside_every_interval_few_subjects_warned_replicates_shown(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "warp", results_for("warp", num_clips=6))  # 6 clips, one subject each
    write_run(runs, "noop", results_for("noop", num_clips=6))
    site = tmp_path / "site"
    doc = build_site([runs], site)
    (board,) = doc["boards"]
    assert board["dataset"]["num_subjects"] == 6
    assert any(x.startswith("few subjects: this split has 6 subjects; 95 % intervals from a subject bootstrap over "
                            "fewer than 10") for x in board["labels"])
    assert board["intervals"] == {"kind": "subject-level cluster bootstrap", "replicates": [1000], "levels": [0.95],
                                  "unrecorded": 0}
    html = (site / "index.html").read_text()
    assert html.count('<span class="nsub">6 subjects</span>') == 2 * 7  # 2 methods x 7 metrics with an interval
    assert "few subjects:" in html and "95 % intervals, subject-level cluster bootstrap, 1,000 replicates" in html
    page = (site / board["rows"][0]["details"]).read_text()
    assert "<th>subjects</th>" in page and "<td>6 subjects</td>" in page
    assert "95 % subject-level cluster bootstrap over 6 subjects, 1,000 replicates, seed 0" in page
    md = (site / "leaderboard.md").read_text()
    assert "(6 subjects)" in md and "6 subjects · dataset checksum" in md and "> **Warning:** few subjects" in md
    with open(site / "leaderboard.csv", newline="") as fh:
        lines = [x for x in csv.DictReader(fh) if x["metric"] == "psnr"]
    assert {(x["n_subjects"], x["replicates"]) for x in lines} == {("6", "1000")}


def test_a_run_made_before_a_metric_existed_ranks_on_the_old_ones(tmp_path):
    """A results file without a key that newer runs have (made before the metric was added) simply has no
    cell in that column; a schema-1 file (no fingerprints at all) is shown and left off, saying why."""
    runs = tmp_path / "runs"
    write_run(runs, "new", results_for("warp"))
    write_run(runs, "old", results_for("noop", keys=("identity_cosine_ref", "keypoint_nme")))
    doc = build_site([runs], tmp_path / "site")
    rows = _rows(doc["boards"][0])
    assert "psnr" not in rows["noop"]["metrics"] and rows["noop"]["metrics"]["keypoint_nme"]["rank"] == 1
    assert rows["warp"]["metrics"]["psnr"]["rank"] == 1


def test_reference_file_from_protocols_fingerprints_and_from_a_results_file(official, tmp_path, capsys):
    ref_file = tmp_path / "reference.json"
    json.dump(official_reference().to_dict(), ref_file.open("w"))
    assert main(["leaderboard", "build", str(official), "--out", str(tmp_path / "s1"), "--reference", str(ref_file),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {(x["version"], x["metric"]) for x in summary["boards"][0]["left_off"]} >= {
        ("dlib", "identity_cosine_target"), ("stand-in", "lpips")}
    assert "identity_cosine_target" not in summary["boards"][0]["not_ranked"]
    # a results.json the maintainers vouch for is a reference too: its available metrics' fingerprints
    vouched = official / "directswap" / "results.json"
    doc = build_site([official], tmp_path / "s2", references=[vouched])
    (board,) = doc["boards"]
    assert board["reference_source"].startswith(f"--reference {vouched} (results of directswap-repro 1)")
    assert _row(board, "warp")["metrics"]["lpips"]["ranked"]
    # `protocols fingerprints` writes the derived reference in the same format
    out = tmp_path / "offline.json"
    assert main(["protocols", "fingerprints", "offline-v1", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "derived from the shipped protocol offline-v1@1" in text and "identity_cosine_target" in text
    written = json.loads(out.read_text())
    assert written["protocol"] == "offline-v1@1" and written["unknown"] == {}
    fp = written["fingerprints"]["keypoint_nme"]
    assert fp["fingerprint_hash"] == fingerprint_hash(fp["fingerprint"]) == fingerprint_hash(
        fingerprint_for("keypoint_nme"))
    runs = tmp_path / "runs2"
    write_run(runs, "warp", results_for("warp"))
    assert build_site([runs], tmp_path / "s3", references=[out])["boards"][0]["rows"][0]["metrics"]["psnr"]["ranked"]


def test_bad_reference_files_are_refused_in_one_line(official, tmp_path, capsys):
    bad = official_reference().to_dict()
    bad["fingerprints"]["lpips"]["fingerprint"]["metric"] = "psnr"
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    with pytest.raises(HeadSwapBenchError, match=r"--reference .*bad.json: lpips: names 'psnr'"):
        build_site([official], tmp_path / "s", references=[tmp_path / "bad.json"])
    other = official_reference().to_dict()
    other["fingerprints"]["lpips"]["fingerprint"]["settings"]["resize"] = 256
    (tmp_path / "other.json").write_text(json.dumps(other))
    with pytest.raises(HeadSwapBenchError, match="two files give different fingerprints for lpips"):
        build_site([official], tmp_path / "s", references=[official_reference(), tmp_path / "other.json"])
    (tmp_path / "list.json").write_text("[1, 2]")
    assert main(["leaderboard", "build", str(official), "--out", str(tmp_path / "s"), "--reference",
                 str(tmp_path / "list.json")]) == 2
    err = capsys.readouterr().err
    assert "not a reference file" in err and "Traceback" not in err
    assert not (tmp_path / "s").exists()


def test_a_protocol_that_declares_its_checksum_pins_the_board(tmp_path, monkeypatch):
    """A protocol's [dataset] checksum pins its results' dataset version (no vote, no flag needed); the
    maintainer's --dataset-checksum still wins."""
    import dataclasses
    import importlib

    from headswapbench.protocol import load_protocol, shipped_protocol

    collect = importlib.import_module("headswapbench.leaderboard.collect")
    real = "0ff1" + "c" * 60
    declared = dataclasses.replace(load_protocol("headswapbench-v1"),
                                   dataset={"name": "yananwang-MBZUAI/HeadSwapBench", "split": "test",
                                            "checksum": real})
    monkeypatch.setattr(collect, "shipped_protocol",
                        lambda pid: declared if pid == "headswapbench-v1@1" else shipped_protocol(pid))
    runs = tmp_path / "runs"
    write_run(runs, "honest", official_results("warp"))
    for i in range(3):
        write_run(runs, f"fake{i}", official_results("noop", version=f"fake{i}", checksum="f" * 64))
    write_run(runs, "offline", results_for("warp", dataset="yananwang-MBZUAI/HeadSwapBench", checksum="e" * 64))
    doc = build_site([runs], tmp_path / "site")
    refused = {Path(r["path"]).parent.name: r["reason"] for r in doc["refused"]}
    assert sorted(refused) == ["fake0", "fake1", "fake2"]
    assert refused["fake0"] == "dataset checksum ffffffffffff is not the one protocol headswapbench-v1@1 declares " \
                               "for this split (0ff1cccccccc)"
    boards = {b["protocol"]["id"]: b for b in doc["boards"]}
    assert boards["headswapbench-v1@1"]["pinned"]["dataset_checksum_by"] == "protocol headswapbench-v1@1"
    assert boards["offline-v1@1"]["pinned"]["dataset_checksum"] is False  # offline-v1 declares nothing
    doc = build_site([runs], tmp_path / "site", dataset_checksums=["f" * 12])
    assert [b["rows"][0]["method"]["version"] for b in doc["boards"]] == ["fake0"]

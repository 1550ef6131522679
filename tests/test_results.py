"""The results.json contract: building, validating, atomic write and strict loading."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from headswapbench.errors import InvalidResultsError
from headswapbench.fileio import sha256_json
from headswapbench.fingerprint import fingerprint_hash, make_fingerprint, weight_record
from headswapbench.results import (
    SCHEMA_VERSION,
    check_results,
    load_results,
    make_results,
    metric_entry,
    results_key,
    settings_labels,
    to_frames,
    unavailable_metric,
    validate_results,
    write_results,
)

DATASET = {"name": "HeadSwapBench", "revision": "abc123", "split": "test", "num_clips": 3, "checksum": "f" * 64}
SETTINGS = {"identity": {"backend": "dlib", "sha256": "1" * 64}, "frames": "all", "resize": 512,
            "nonstandard": ["identity backend dlib instead of arcface"]}


PROTOCOL = {"name": "offline-v1", "version": "1", "id": "offline-v1@1", "sha256": "7" * 64, "official": False,
            "overrides": [], "headline": "identity_cosine_ref"}


def _fp(key: str, **settings) -> dict:
    return make_fingerprint("offline-v1@1", key, "1", settings, {"dlib-resnet": weight_record("5" * 64, "5" * 64)})


def _good(**kw):
    metrics = {
        "identity_cosine_ref": metric_entry(np.float32(0.61), (0.55, 0.66), 3, True, "cos",
                                            fingerprint=_fp("identity_cosine_ref", identity_backend="dlib")),
        "keypoint_nme": metric_entry(0.031, [0.02, 0.04], np.int64(3), False, fingerprint=_fp("keypoint_nme")),
        "fid": {"unavailable": "model file 'pt_inception.pth' is not available", "fingerprint": _fp("fid")},
    }
    per_clip = [{"clip_id": f"c{i}", "subject_id": f"s{i}", "keypoint_nme": float("nan") if i == 0 else 0.03}
                for i in range(3)]
    args = {"method": {"name": "warp", "version": "1", "source": "builtin"}, "dataset": DATASET,
                "settings": SETTINGS, "metrics": metrics, "per_clip": per_clip,
                "metric_info": {"fid": {"higher_is_better": False, "unit": "FID"}}, "protocol": PROTOCOL}
    args.update(kw)
    return make_results(**args)


def test_make_results_fills_contract_fields():
    r = _good()
    assert r["schema_version"] == SCHEMA_VERSION
    assert r["settings_hash"] == sha256_json(SETTINGS)
    assert r["created_at"].endswith("Z")
    assert r["environment"]["python"] and r["environment"]["torch"]
    assert r["coverage"] == {"expected": 3, "scored": 3, "failed": 0}
    assert r["provenance"]["verified"] is False
    # numpy values are plain JSON, NaN per-clip values become null
    assert type(r["metrics"]["identity_cosine_ref"]["mean"]) is float
    assert r["metrics"]["keypoint_nme"]["n"] == 3 and type(r["metrics"]["keypoint_nme"]["n"]) is int
    assert r["per_clip"][0]["keypoint_nme"] is None
    # the metrics package's unavailable() shape is normalised and the direction filled from metric_info
    fid = r["metrics"]["fid"]
    assert fid["available"] is False and "pt_inception" in fid["reason"] and fid["higher_is_better"] is False
    json.dumps(r, allow_nan=False)
    assert settings_labels(r["settings"]) == ["non-standard: identity backend dlib instead of arcface"]
    # every metric entry carries its fingerprint and the hash of it; the protocol block is kept
    assert all(e["fingerprint_hash"] == fingerprint_hash(e["fingerprint"]) for e in r["metrics"].values())
    assert r["protocol"] == PROTOCOL
    # one leaderboard row: method and version on one split under one protocol (settings differ per column, and
    # each column compares fingerprints)
    assert results_key(r) == ("warp", "1", "HeadSwapBench", "test", "offline-v1@1")


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda r: r.pop("dataset"), "missing field(s): dataset"),
        (lambda r: r["dataset"].pop("checksum"), "dataset.checksum is missing"),
        (lambda r: r["settings"].update(resize=256), "settings_hash"),
        (lambda r: r.update(schema_version=SCHEMA_VERSION + 1), "newer than this toolkit"),
        (lambda r: r["metrics"]["keypoint_nme"].update(ci95=[0.05, 0.01]), "lower bound"),
        (lambda r: r["metrics"]["keypoint_nme"].update(mean=math.nan), "finite number"),
        (lambda r: r["metrics"]["keypoint_nme"].pop("higher_is_better"), "higher_is_better is missing"),
        (lambda r: r["metrics"]["fid"].pop("reason"), "needs a reason"),
        (lambda r: r["coverage"].update(scored=5), "exceeds expected"),
        (lambda r: r["provenance"].update(verified="yes"), "provenance.verified must be bool"),
        (lambda r: r["method"].update(name=""), "method.name must not be empty"),
        (lambda r: r.update(metrics={}), "metrics is empty"),
        (lambda r: r.update(created_at="yesterday"), "ISO-8601"),
        (lambda r: r.pop("protocol"), "missing field(s): protocol"),
        (lambda r: r["protocol"].update(official=True, overrides=["metrics psnr"]), "overrides the protocol"),
        (lambda r: r["metrics"]["keypoint_nme"].pop("fingerprint"), "keypoint_nme: fingerprint is missing"),
        (lambda r: r["metrics"]["keypoint_nme"]["fingerprint"]["settings"].update(x=1),
         "fingerprint_hash does not match"),
        (lambda r: r["metrics"]["fid"]["fingerprint"].update(metric="lpips"), "is not this entry's key"),
        (lambda r: r["coverage"].update(failures={"c1": "a string"}), "coverage.failures"),
        # the statistics the leaderboard shows beside every interval
        (lambda r: r["metrics"]["keypoint_nme"].update(n_subjects=4), "n_subjects (4) exceeds n (3)"),
        (lambda r: r["metrics"]["keypoint_nme"].update(n_subjects=-1), "n_subjects must be an integer >= 0"),
        (lambda r: r["metrics"]["keypoint_nme"].update(n_subjects=True), "n_subjects must be an integer >= 0"),
        (lambda r: r["dataset"].update(num_subjects=9), "dataset.num_subjects (9) exceeds dataset.num_clips (3)"),
        (lambda r: r["dataset"].update(num_subjects="3"), "dataset.num_subjects must be an integer"),
        (lambda r: r["protocol"].update(replicates=0), "protocol.replicates must be a positive integer"),
        (lambda r: r["protocol"].update(level=95), "protocol.level must be a number between 0 and 1"),
    ],
)
def test_validate_reports_each_problem(mutate, expected):
    r = _good()
    mutate(r)
    problems = validate_results(r)
    assert any(expected in p for p in problems), problems
    with pytest.raises(InvalidResultsError, match="invalid results"):
        check_results(r, "x.json")


def test_all_problems_reported_at_once():
    r = _good()
    r["dataset"].pop("checksum")
    r["metrics"]["keypoint_nme"]["n"] = 0
    assert len(validate_results(r)) == 2
    assert validate_results([]) == ["top level must be a JSON object, got list"]


def test_make_results_refuses_invalid_numbers():
    with pytest.raises(InvalidResultsError, match="identity_cosine_ref: mean must be a finite number"):
        _good(metrics={"identity_cosine_ref": metric_entry(float("nan"), None, 3, True)})


def test_write_and_load_roundtrip(tmp_path):
    r = _good()
    path = write_results(tmp_path / "run" / "results.json", r)
    assert load_results(path) == r
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no temp files left behind


def test_write_refuses_invalid_and_keeps_old_file(tmp_path):
    path = write_results(tmp_path / "results.json", _good())
    before = path.read_bytes()
    bad = _good()
    bad["settings"]["resize"] = 1
    with pytest.raises(InvalidResultsError, match="settings_hash"):
        write_results(path, bad)
    assert path.read_bytes() == before


def test_load_errors_name_the_file(tmp_path):
    with pytest.raises(InvalidResultsError, match="nope.json: file not found"):
        load_results(tmp_path / "nope.json")
    (tmp_path / "trunc.json").write_text('{"schema_version": 1, "metr')
    with pytest.raises(InvalidResultsError, match="trunc.json: not valid JSON"):
        load_results(tmp_path / "trunc.json")
    r = _good()
    text = json.dumps(r).replace('"mean": 0.031', '"mean": NaN')
    (tmp_path / "nan.json").write_text(text)
    with pytest.raises(InvalidResultsError, match="NaN is not valid JSON"):
        load_results(tmp_path / "nan.json")


def test_schema_1_files_still_load(tmp_path):
    """Results from before schema 2 (no protocol, no fingerprints) are read, not refused."""
    r = _good()
    r["schema_version"] = 1
    del r["protocol"]
    for e in r["metrics"].values():
        del e["fingerprint"], e["fingerprint_hash"]
    assert validate_results(r) == []


def test_to_frames_gives_metric_and_per_clip_tables(tmp_path):
    r = _good()
    metrics, per_clip = to_frames(r)
    assert list(metrics.index) == ["identity_cosine_ref", "keypoint_nme", "fid"]
    assert metrics.loc["keypoint_nme", "ci_high"] == 0.04 and bool(metrics.loc["fid", "available"]) is False
    assert metrics.loc["identity_cosine_ref", "fingerprint_hash"] == r["metrics"]["identity_cosine_ref"]["fingerprint_hash"]
    assert list(per_clip.index) == ["c0", "c1", "c2"]
    assert math.isnan(per_clip.loc["c0", "keypoint_nme"]) and per_clip.loc["c1", "keypoint_nme"] == 0.03
    path = write_results(tmp_path / "results.json", r)
    assert to_frames(path).per_clip.equals(per_clip)


def test_unavailable_metric_helper():
    e = unavailable_metric("no weights", False, "FVD")
    assert e == {"mean": None, "ci95": None, "n": 0, "higher_is_better": False, "available": False,
                 "reason": "no weights", "unit": "FVD"}


# ------------------------------------------------------------------------------------------------------
# numbers that cannot be true (plausibility per unit and direction)
# ------------------------------------------------------------------------------------------------------
def _entry(mean, lo, hi, hib, unit, n=3):
    return metric_entry(mean, None if lo is None else (lo, hi), n, hib, unit)


@pytest.mark.parametrize(
    "entry, expected",
    [
        (_entry(0.2, 0.995, 0.999, True, "cosine"), "does not contain the mean 0.2"),
        (_entry(1.3, 1.2, 1.4, True, "rate"), "outside the range of unit rate ([0, 1]"),
        (_entry(-0.1, None, None, False, "rate"), "mean -0.1 is outside the range of unit rate"),
        (_entry(0.5, 0.4, 1.5, True, "cosine"), "ci95 bound 1.5 is outside the range of unit cosine ([-1, 1]"),
        (_entry(-0.02, -0.03, -0.01, False, "NME"), "outside the range of unit NME (>= 0"),
        (_entry(0.02, 0.01, 0.03, True, "NME"), "is a distance (lower is better)"),
        (_entry(1e308, -1e308, 1e308, True, "dB"), "mean 1e+308 is outside the range of unit dB ([0, 150]"),
        (_entry(-3.0, -4.0, -2.0, True, "dB"), "outside the range of unit dB"),
        (_entry(-5.0, None, None, False, "FID"), "outside the range of unit FID (>= 0"),
        (_entry(12.0, None, None, True, "FVD"), "is a distance"),
        (_entry(200.0, 190.0, 210.0, False, "deg"), "outside the range of unit deg ([0, 180], lower is better"),
        (_entry(-1.0, -2.0, 0.0, False, "px"), "outside the range of unit px"),
        (_entry(0.5, 0.4, 0.6, True, "SSIM", n=4), "n (4) exceeds the clips scored (coverage.scored = 3)"),
    ],
)
def test_impossible_numbers_are_refused(entry, expected):
    r = _good()
    r["metrics"]["m"] = entry
    problems = validate_results(r)
    assert any(expected in p for p in problems), problems


def _fingerprinted(**entries) -> dict:
    """Entries added to a made results dict get their key's fingerprint (schema 2 requires one per entry)."""
    for key, e in entries.items():
        e["fingerprint"] = _fp(key)
        e["fingerprint_hash"] = fingerprint_hash(e["fingerprint"])
    return entries


def test_plausible_edges_are_accepted():
    """Float rounding at the bounds (a bootstrap of equal values, a Frechet distance of -5e-8) is not a lie,
    and signed angles or dB with another direction keep the wide range."""
    r = _good()
    r["metrics"].update(**_fingerprinted(
        rate=_entry(1.0000000000000002, 1.0, 1.0, True, "rate"),
        fid=_entry(-5e-8, None, None, False, "FID"),
        same=_entry(0.30000000000000004, 0.3, 0.3, True, "cosine"),
        yaw=_entry(-35.0, -40.0, -30.0, None, "deg"),
        snr=_entry(-6.0, -7.0, -5.0, None, "dB"),
        psnr=_entry(99.0, 99.0, 99.0, True, "dB"),
        custom=_entry(1e300, 1e299, 1e301, True, "widgets"),  # unknown unit: finite is all that is asked
    ))
    assert validate_results(r) == []


def test_every_unit_in_use_has_a_rule():
    from headswapbench.metrics.base import BUILTIN_INFOS

    from headswapbench.results import UNIT_RULES

    # the built-in keys only: test plug-ins elsewhere in the suite register keys with units of their own
    assert {i.unit.lower() for i in BUILTIN_INFOS} <= set(UNIT_RULES)
    for info in BUILTIN_INFOS:  # the built-in directions agree with their units
        assert not (UNIT_RULES[info.unit.lower()].distance and info.higher_is_better is True), info.name


@pytest.mark.parametrize(
    "mutate, expected",
    [
        (lambda r: r.update(environment="python 3.11"), "environment must be an object of plain values"),
        (lambda r: r.update(environment={"python": ["3", "11"]}), "environment must be an object of plain values"),
        (lambda r: r["method"].update(name="x" * 10_000), "method.name is 10,000 characters long"),
        (lambda r: r["dataset"].update(checksum="not a hash"), "dataset.checksum must be 16-128 lower-case hex"),
        (lambda r: r["coverage"].update(expected=5, scored=3, failed=0), "exceeds dataset.num_clips"),
        (lambda r: r["coverage"].update(scored=2, failed=1), "per_clip has 3 rows but coverage.scored is 2"),
        (lambda r: r["metrics"]["fid"].update(reason=["a", "list"]), "reason must be a string"),
        (lambda r: r["metrics"]["keypoint_nme"].update(label={"x": 1}), "label must be a string"),
        (lambda r: r["metrics"]["keypoint_nme"].update(mean=10**400), "mean must be a finite number"),
    ],
)
def test_fields_that_would_break_rendering_are_refused(mutate, expected):
    r = _good()
    mutate(r)
    problems = validate_results(r)
    assert any(expected in p for p in problems), problems


# ------------------------------------------------------------------------------------------------------
# hostile files: each refused with a one-line reason, nothing hangs, nothing is followed
# ------------------------------------------------------------------------------------------------------
def _text(**kw) -> str:
    return json.dumps(_good(**kw))


HOSTILE_TEXT = {
    "401-digit integer": (lambda: _text().replace('"num_clips": 3', '"num_clips": ' + "9" * 401),
                          "an integer with 401 digits"),
    "overflowing float": (lambda: _text().replace('"mean": 0.031', '"mean": 1e999'),
                          "the number 1e999 overflows to infinity"),
    "nested 200,000 deep": (lambda: '{"settings": ' + "[" * 200_000 + "]" * 200_000 + "}",
                            "JSON nested more than 64 levels deep"),
    "depth hidden behind brackets in strings": (
        lambda: '{"a": ["' + "]" * 1000 + '", ' + '[""], ' * 3 + "[" * 5000 + "]" * 5000 + "]}",
        "JSON nested more than 64 levels deep"),
    "lone surrogate": (lambda: _text().replace('"warp"', '"w\\ud800rp"'), "lone UTF-16 surrogate"),
    "not UTF-8": (lambda: b'{"method": "\xff\xfe"}', "not UTF-8 text"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TEXT))
def test_hostile_results_text_is_refused_in_one_line(case, tmp_path):
    make, expected = HOSTILE_TEXT[case]
    data = make()
    path = tmp_path / "results.json"
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    with pytest.raises(InvalidResultsError) as exc:
        load_results(path)
    msg = str(exc.value)
    assert expected in msg and msg.startswith(f"{path}: ") and "\n" not in msg and len(msg) < 400, msg


@pytest.mark.timeout(20)
def test_fifo_device_symlink_and_oversize_are_refused_without_reading(tmp_path, monkeypatch):
    import os

    import headswapbench.results as results_mod

    fifo = tmp_path / "fifo" / "results.json"
    fifo.parent.mkdir()
    os.mkfifo(fifo)  # a plain open() would block here forever: no writer ever comes
    with pytest.raises(InvalidResultsError, match="is a FIFO \\(named pipe\\), not a regular file"):
        load_results(fifo)

    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(InvalidResultsError, match="zero.json: is a symbolic link \\(not followed\\)"):
        load_results(zero)

    good = write_results(tmp_path / "good" / "results.json", _good())
    link = tmp_path / "link.json"
    link.symlink_to(good)  # even a valid target: a link in a submission may point anywhere
    with pytest.raises(InvalidResultsError, match="is a symbolic link"):
        load_results(link)
    with pytest.raises(InvalidResultsError, match="is a directory, not a regular file"):
        load_results(tmp_path / "good")

    monkeypatch.setattr(results_mod, "MAX_RESULTS_BYTES", 100)
    with pytest.raises(InvalidResultsError, match=r"bytes, more than the 100 allowed"):
        load_results(good)


def test_safeio_depth_count_is_exact():
    from headswapbench.safeio import json_depth_exceeds

    cases = {b"[]": 1, b"{}": 1, b"[[]]": 2, b'{"a": [{"b": "[[[["}]}': 3, b'["]]]]", [[[[1]]]]]': 5,
             b'"\\"[[[["': 0, b"[[[[": 4, b"1": 0, b'["a\\\\", [[]]]': 3}
    for text, depth in cases.items():
        for limit in range(6):
            assert json_depth_exceeds(text, limit) == (depth > limit), (text, limit)


def test_one_line_neutralises_terminal_control():
    from headswapbench.safeio import one_line

    assert one_line("a\nb\x1b[31mc\u2028") == "a\\nb\\x1b[31mc\\u2028"
    assert len(one_line("x" * 1000, 50)) == 50

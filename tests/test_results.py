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
    assert results_key(r) == ("warp", "1", "HeadSwapBench", "test", sha256_json(SETTINGS))


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

"""The evaluation runner end to end on a small real split (tests/helpers/eval_split.py): the built-in bounds
(oracle perfect, noop no replacement), every offline metric available with a finite value, results.json
contract with per-metric fingerprints and reason codes, batch-size invariance and bit-identical reruns,
command/predictions sources through the runner with per-clip problem reports, --skip-invalid coverage, resume,
shards, Ray vs local, a method that writes into the split, an unclaimed run folder, the CLI."""

from __future__ import annotations

import csv
import json
import math
import os
import shutil
import sys
from unittest import mock

import numpy as np
import pytest

from headswapbench.errors import HeadSwapBenchError
from headswapbench.evaluation import EvalConfig, evaluate
from headswapbench.evaluation.metric import ClipMetric, MetricInfo, register_info
from headswapbench.evaluation.validate import InvalidOutputsError
from headswapbench.results import validate_results
from headswapbench.split import load_split
from headswapbench.swappers import Swapper
from headswapbench.swappers.external import CommandSource, PredictionsSource
from tests.helpers.eval_split import SIZE, TRIPLETS, T, build_split

CHEAP = ("psnr", "ssim", "flicker")  # no face model: fast runs for the plumbing tests
CLIPS = [t[0] for t in TRIPLETS]


def cfg(**kw) -> EvalConfig:
    """The offline profile (whatever weights this machine has), quiet, with the given overrides."""
    kw.setdefault("protocol", "offline-v1")
    return EvalConfig(progress=False, **kw)


@pytest.fixture(scope="session")
def full_runs(eval_split, tmp_path_factory) -> dict:
    """oracle and noop with every default metric; one analysis cache, so target/driving analyses are shared."""
    base = tmp_path_factory.mktemp("full")
    with mock.patch.dict(os.environ, {"HEADSWAPBENCH_CACHE": str(base / "cache"), "HF_HUB_OFFLINE": "1"}):
        return {name: evaluate(eval_split, base / name, name, cfg(identity_every=4, bootstrap_replicates=200))
                for name in ("oracle", "noop")}


def _metric(run, key) -> dict:
    return run.results["metrics"][key]


def _per_clip(run) -> dict[str, dict]:
    with open(run.per_clip_path, newline="") as fh:
        return {r["clip_id"]: r for r in csv.DictReader(fh)}


def test_oracle_gets_perfect_paired_scores(full_runs):
    run = full_runs["oracle"]
    assert _metric(run, "psnr")["mean"] >= 80.0  # identical frames: piq's 80 dB ceiling (never inf)
    assert _metric(run, "ssim")["mean"] == pytest.approx(1.0, abs=1e-6)
    assert _metric(run, "flicker")["mean"] == pytest.approx(0.0, abs=1e-9)
    assert _metric(run, "keypoint_nme")["mean"] == pytest.approx(0.0, abs=1e-9)
    assert _metric(run, "keypoint_nme")["n"] == len(CLIPS)
    for key in ("pose_error", "pose_error_yaw", "expression_error", "face_missing_output"):
        assert _metric(run, key)["mean"] == pytest.approx(0.0, abs=1e-6), key
    # frame-paired identity: output frame t against target frame t, the same sampled frames on both sides
    assert _metric(run, "identity_cosine_target")["mean"] == pytest.approx(1.0, abs=1e-12)
    assert run.results["metrics"]["identity_cosine_target"]["fingerprint"]["settings"]["identity_backend"] == "dlib"


def offline_metric_problems(results: dict) -> dict[str, str]:
    """Every key of the run that has no finite value, except those undefined *by definition* on this split
    (top-5 retrieval among 3 subjects; blendshapes without the Tasks backend). A metric that raises on every
    clip, or is unavailable, is a problem: the runner records it instead of failing, so this test must."""
    by_definition = {"identity_top5", "blendshape_l1"}
    out = {}
    for key, e in results["metrics"].items():
        if key in by_definition:
            assert e["code"] == "metric_undefined", (key, e)
        elif not (e["available"] and math.isfinite(e["mean"])):
            out[key] = f"{e.get('code')}: {e.get('reason')}"
    return out


def test_every_offline_metric_is_available_with_a_finite_value(full_runs):
    from headswapbench.protocol import load_protocol

    offline = load_protocol("offline-v1")
    for run in full_runs.values():
        assert list(run.results["metrics"])[:4] == ["identity_cosine_ref", "identity_cosine_target",
                                                    "identity_cosine_driving", "replacement"]  # primary first
        assert {run.results["metrics"][k]["fingerprint"]["metric"] for k in run.results["metrics"]} == \
            set(run.results["metrics"])
        assert len({m for m in offline.metrics}) == 8
        assert offline_metric_problems(run.results) == {}
        # every scored clip says what each metric cost (the published-scale benchmark's breakdown)
        records = [json.loads(line) for m in (run.out_dir / "stages").glob("score-*.jsonl")
                   for line in m.read_text().splitlines()]
        assert len(records) == len(CLIPS)
        for rec in records:
            assert {f"metric_{m}_s" for m in offline.metrics} <= set(rec["result"]["timings"]), rec


class BrokenMetric(ClipMetric):
    """A metric that raises on every clip (a plug-in, found as ``tests.test_evaluate:BrokenMetric``)."""

    name, keys = "broken", ("broken_key",)

    def compute(self, data):
        raise RuntimeError("broken on purpose")


register_info(MetricInfo("broken_key", True, "a.u.", "a test metric that always raises", frozenset({"target"})))


def test_a_metric_that_fails_on_every_clip_is_caught(eval_split, tmp_path):
    run = evaluate(eval_split, tmp_path, "noop", cfg(metrics=("psnr", "tests.test_evaluate:BrokenMetric")))
    assert offline_metric_problems(run.results) == {"broken_key": "metric_failed: failed on 4 of 4 clips: "
                                                                  "RuntimeError: broken on purpose"}
    row = run.results["per_clip"][0]
    assert row["metric_failures"]["broken"] == {"code": "metric_failed", "message": "RuntimeError: broken on purpose"}
    assert _per_clip(run)[row["clip_id"]]["code"] == "metric_failed"


def test_noop_replaces_nothing_and_matches_reference_psnr(full_runs, eval_split):
    from skimage.metrics import peak_signal_noise_ratio

    from headswapbench.video import read_video

    run = full_runs["noop"]
    rep = _metric(run, "replacement")
    if rep["available"]:
        assert rep["mean"] <= 0.25
        assert _metric(run, "identity_cosine_driving")["mean"] > 0.98
        assert _metric(run, "identity_cosine_driving")["mean"] > _metric(run, "identity_cosine_ref")["mean"]
    else:
        assert rep["reason"]
    # per-clip PSNR of the noop output (= driving) against the target, recomputed with scikit-image
    split = load_split(eval_split)
    rows = _per_clip(run)
    for r in split.rows:
        drv, tgt = read_video(split.driving_path(r)).frames, read_video(split.target_path(r)).frames
        ref = np.mean([peak_signal_noise_ratio(t, d, data_range=255) for t, d in zip(tgt, drv)])
        assert float(rows[r.clip_id]["psnr"]) == pytest.approx(ref, rel=1e-4)
    assert _metric(run, "psnr")["mean"] < 20  # another person's clip is far from the target


def test_results_contract(full_runs, eval_split):
    split = load_split(eval_split)
    for name, run in full_runs.items():
        res = json.loads(run.results_path.read_text())
        assert validate_results(res) == []
        assert res["method"]["name"] == name
        assert res["dataset"]["checksum"] == split.checksum() and res["dataset"]["num_clips"] == len(CLIPS)
        assert res["coverage"]["expected"] == res["coverage"]["scored"] == len(CLIPS)
        lo, hi = res["metrics"]["psnr"]["ci95"]
        assert lo <= res["metrics"]["psnr"]["mean"] <= hi
        assert set(_per_clip(run)) == set(CLIPS)
        assert "wrote" in (run.out_dir / "evaluate.log").read_text()
    # same metric settings → same settings hash and the same fingerprint per key (comparable on the leaderboard)
    a, b = (json.loads(r.results_path.read_text()) for r in full_runs.values())
    assert a["settings_hash"] == b["settings_hash"]
    assert all(a["metrics"][k]["fingerprint_hash"] == b["metrics"][k]["fingerprint_hash"] for k in a["metrics"])
    proto = a["protocol"]
    assert proto["id"] == "offline-v1@1" and proto["official"] is False and proto["headline"] == "identity_cosine_target"
    assert proto["overrides"] == ["identity frames 4 (protocol: auto)", "bootstrap replicates 200 (protocol: 10000)"]
    assert a["metrics"]["psnr"]["n_subjects"] == 3


# ---------------------------------------------------------------------------------------------------------
class CountingSwapper(Swapper):
    """Returns the driving clip re-encoded; counts calls and can fail on chosen clips."""

    name, version = "counting", "1"

    def __init__(self, fail_on=()):
        self.calls: list[str] = []
        self.fail_on = set(fail_on)

    def swap(self, driving, reference, context=None):
        self.calls.append(context.clip_id)
        if context.clip_id in self.fail_on:
            raise RuntimeError("simulated crash")
        return driving


def test_resume_reuses_finished_clips(eval_split, tmp_path):
    sw = CountingSwapper(fail_on={"d12man-080"})
    with pytest.raises(InvalidOutputsError, match="d12man-080: swap failed: RuntimeError: simulated crash"):
        evaluate(eval_split, tmp_path, sw, cfg(metrics=CHEAP))
    assert sorted(sw.calls) == sorted(CLIPS)
    sw.calls.clear(), sw.fail_on.clear()
    run = evaluate(eval_split, tmp_path, sw, cfg(metrics=CHEAP))  # same arguments: resume
    assert sw.calls == ["d12man-080"] and run.reused == {"swap": 3, "score": 0}  # stopped before scoring
    first = run.results["metrics"]["psnr"]["mean"]
    sw.calls.clear()
    run = evaluate(eval_split, tmp_path, sw, cfg(metrics=CHEAP))
    assert sw.calls == [] and run.reused == {"swap": 4, "score": 4}
    assert run.results["metrics"]["psnr"]["mean"] == first
    (tmp_path / "outputs" / "klobuchar-060.mp4").unlink()  # a lost output is made and scored again
    run = evaluate(eval_split, tmp_path, sw, cfg(metrics=CHEAP))
    assert sw.calls == ["klobuchar-060"] and run.reused == {"swap": 3, "score": 3}
    with pytest.raises(HeadSwapBenchError, match="already holds an evaluation of 'counting'"):
        evaluate(eval_split, tmp_path, "noop", cfg(metrics=CHEAP))


def test_command_source_through_runner(eval_split, tmp_path):
    script = tmp_path / "my tool" / "swap.py"
    script.parent.mkdir()
    script.write_text("import shutil, sys\n"
                      "drv, ref, out = sys.argv[1:4]\n"
                      "if 'mcguinness' in drv:\n"
                      "    print('CUDA out of memory', file=sys.stderr); sys.exit(1)\n"
                      "shutil.copyfile(drv, out)\n")
    src = CommandSource(f"{sys.executable} '{script}' {{driving}} {{reference}} {{output}}", timeout=30)
    with pytest.raises(InvalidOutputsError) as err:
        evaluate(eval_split, tmp_path / "run", src, cfg(metrics=CHEAP))
    msg = str(err.value)
    assert "1 of 4 outputs cannot be scored" in msg
    assert "mcguinness-040: swap failed: SwapFailed: command exited with status 1; stderr: CUDA out of memory" in msg
    assert "--skip-invalid" in msg
    run = evaluate(eval_split, tmp_path / "run", src, cfg(metrics=CHEAP, skip_invalid=True))
    cov = run.results["coverage"]
    assert (cov["expected"], cov["scored"], cov["failed"]) == (4, 3, 1)
    assert "CUDA out of memory" in cov["failures"]["mcguinness-040"]["message"]
    assert cov["failures"]["mcguinness-040"]["code"] == "swap_failed"  # a code, stored as data
    assert run.results["metrics"]["psnr"]["n"] == 3
    assert _per_clip(run)["mcguinness-040"]["status"] == "invalid"
    assert run.results["method"]["source"].startswith("command:")


def test_swap_failure_codes_are_data(eval_split, tmp_path):
    """A timeout and a missing output are told apart by their codes, as SwapFailed carries them."""
    script = tmp_path / "slow.py"
    script.write_text("import shutil, sys, time\n"
                      "drv, ref, out = sys.argv[1:4]\n"
                      "if 'klobuchar-000' in drv: time.sleep(30)\n"
                      "if 'mcguinness' in drv: sys.exit(0)  # exits 0 without an output\n"
                      "shutil.copyfile(drv, out)\n")
    src = CommandSource(f"{sys.executable} {script} {{driving}} {{reference}} {{output}}", timeout=1.5)
    run = evaluate(eval_split, tmp_path / "run", src, cfg(metrics=("psnr",), skip_invalid=True))
    codes = {c: f["code"] for c, f in run.results["coverage"]["failures"].items()}
    assert codes == {"klobuchar-000": "swap_timeout", "mcguinness-040": "no_output"}
    assert _per_clip(run)["klobuchar-000"]["code"] == "swap_timeout"


def test_predictions_folder_problem_report(eval_split, tmp_path):
    from headswapbench.video import read_video, write_video

    split = load_split(eval_split)
    preds = tmp_path / "preds"
    preds.mkdir()
    rows = {r.clip_id: r for r in split.rows}
    shutil.copyfile(split.driving_path(rows["klobuchar-000"]), preds / "klobuchar-000.mp4")
    shutil.copyfile(split.driving_path(rows["klobuchar-060"]), preds / "klobuchar-060.mp4")
    short = read_video(split.driving_path(rows["mcguinness-040"]))
    write_video(preds / "mcguinness-040.mp4", short.frames[:10], fps=short.fps)  # 10 frames instead of 16
    (preds / "notes.txt").write_text("not a video: never opened")  # d12man-080.mp4 missing
    with pytest.raises(InvalidOutputsError) as err:
        evaluate(eval_split, tmp_path / "run", PredictionsSource(preds), cfg(metrics=CHEAP))
    problems = err.value.report.problems
    assert set(problems) == {"mcguinness-040", "d12man-080"}
    assert problems["mcguinness-040"] == [f"10 frames, driving clip has {T}"]
    assert problems["d12man-080"] == ["missing output d12man-080.mp4"]
    assert json.loads((tmp_path / "run" / "validation.json").read_text())["invalid"] == 2
    run = evaluate(eval_split, tmp_path / "run", PredictionsSource(preds), cfg(metrics=CHEAP, skip_invalid=True))
    assert run.results["coverage"]["scored"] == 2 and run.results["coverage"]["invalid"] == 2
    assert not (tmp_path / "run" / "outputs").exists()  # predictions are read in place, never copied


def test_wrong_size_and_fps_are_listed(eval_split, tmp_path):
    from headswapbench.video import read_video, write_video

    split = load_split(eval_split)
    preds = tmp_path / "p"
    for r in split.rows:
        v = read_video(split.driving_path(r))
        if r.clip_id == "klobuchar-000":
            write_video(preds / f"{r.clip_id}.mp4", v.frames[:, :SIZE - 32, :SIZE - 32], fps=30.0)
        else:
            shutil.copyfile(split.driving_path(r), preds / f"{r.clip_id}.mp4")
    with pytest.raises(InvalidOutputsError) as err:
        evaluate(eval_split, tmp_path / "run", PredictionsSource(preds), cfg(metrics=CHEAP))
    (problem,) = err.value.report.problems.values()
    text = "; ".join(problem)
    assert f"size {SIZE - 32}x{SIZE - 32}, driving clip is {SIZE}x{SIZE}" in text
    assert "30.000 fps, driving clip has 25.000" in text


def test_shards_then_aggregate(eval_split, tmp_path):
    parts = [evaluate(eval_split, tmp_path, "noop", cfg(metrics=("psnr",), shard=f"{i}/2"))
             for i in range(2)]
    assert all(p.results is None for p in parts)
    assert sorted(r["clip_id"] for p in parts for r in p.per_clip) == sorted(CLIPS)
    run = evaluate(eval_split, tmp_path, "noop", cfg(metrics=("psnr",)))
    assert run.reused == {"swap": 4, "score": 4} and run.results["coverage"]["scored"] == 4


def test_ray_matches_local(eval_split, tmp_path):
    ray = pytest.importorskip("ray")
    metrics = ("flicker",)  # numpy only: Ray workers start without importing torch (keeps this test short)
    local = evaluate(eval_split, tmp_path / "local", "noop", cfg(metrics=metrics))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        remote = evaluate(eval_split, tmp_path / "ray", "noop", cfg(metrics=metrics, executor="ray"))
    finally:
        ray.shutdown()
    a, b = _per_clip(local), _per_clip(remote)
    assert a == b and len(a) == 4
    assert local.results["metrics"] == remote.results["metrics"]


def test_cli_evaluate(eval_split, tmp_path, capsys):
    from headswapbench.cli.main import main

    assert main(["evaluate", str(eval_split), "--out", str(tmp_path / "a"), "--swapper", "noop",
                 "--metrics", "psnr,ssim"]) == 0
    out = capsys.readouterr().out
    assert "noop on" in out and "4 of 4 clips scored" in out and "psnr" in out and "[" in out
    assert main(["evaluate", str(eval_split), "--out", str(tmp_path / "a"), "--swapper", "noop",
                 "--metrics", "psnr,ssim", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["coverage"]["scored"] == 4 and info["metrics"]["ssim"]["ci95"]
    assert main(["evaluate", str(eval_split), "--out", str(tmp_path / "b")]) == 2
    assert "exactly one of --swapper" in capsys.readouterr().err
    assert main(["evaluate", str(tmp_path / "nowhere"), "--out", str(tmp_path / "c"), "--swapper", "noop"]) == 2
    assert "no split folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["evaluate", str(eval_split), "--out", str(tmp_path / "d"), "--predictions", str(tmp_path / "empty"),
                 "--metrics", "psnr"]) == 2
    err = capsys.readouterr().err
    assert "4 of 4 outputs cannot be scored" in err
    assert all(f"  {c}: missing output {c}.mp4" in err for c in CLIPS)


def test_hub_id_split(eval_split, tmp_path, monkeypatch):
    """SPLIT may be a Hub id: downloaded (and verified) through headswapbench.hub, pinned to its commit."""
    from tests.helpers.fake_hub import FakeHub

    files = {p.relative_to(eval_split).as_posix(): p.read_bytes() for p in eval_split.rglob("*") if p.is_file()}
    with FakeHub() as hub:
        hub.patch(monkeypatch)
        hub.add_repo("dataset", "lab/tiny-hsb", files=files)
        run = evaluate("lab/tiny-hsb", tmp_path / "run", "noop", cfg(metrics=("flicker",)))
    ds = run.results["dataset"]
    assert ds["name"] == "lab/tiny-hsb" and len(ds["revision"]) == 40
    assert ds["checksum"] == load_split(eval_split).checksum()  # same content, same checksum as the local split
    with pytest.raises(HeadSwapBenchError, match="no split folder at 'not/a/hub id'"):
        evaluate("not/a/hub id", tmp_path / "x", "noop", cfg(metrics=("flicker",)))


def test_set_level_metric_from_stored_features(eval_split, tmp_path, standin_i3d):
    """FVD through the runner (features stored per clip, folded at the end) equals the metric fed directly
    with the decoded clips; a resumed run recomputes it from the stored features alone."""
    from headswapbench.metrics.fvd import FVDMetric

    from headswapbench.evaluation.metric import ClipData
    from headswapbench.video import read_video

    opts = {"fvd_weights": str(standin_i3d)}
    run = evaluate(eval_split, tmp_path, "noop", cfg(metrics=("fvd",), metric_options=opts))
    direct = FVDMetric(fvd_weights=standin_i3d)
    split = load_split(eval_split)
    for r in split.rows:
        direct.update(ClipData(r.clip_id, r.subject_id, read_video(split.driving_path(r)),
                               target=read_video(split.target_path(r))))
    entry = run.results["metrics"]["fvd"]
    assert entry["available"] and entry["mean"] == pytest.approx(direct.compute()["fvd"], rel=1e-5)
    assert entry["ci95"] is None and entry["clips"] == 4 and entry["windows"] == 4  # counts recorded beside it
    weights = entry["fingerprint"]["weights"]["fvd-i3d"]
    assert len(weights["sha256"]) == 64 and weights["pinned"] is False  # a stand-in: recorded as not pinned
    assert "override: metric option fvd_weights=" in " ".join(run.results["settings"]["nonstandard"])
    assert len(list((tmp_path / "features").rglob("*.npz"))) == 4
    again = evaluate(eval_split, tmp_path, "noop", cfg(metrics=("fvd",), metric_options=opts))
    assert again.reused["score"] == 4 and again.results["metrics"]["fvd"]["mean"] == entry["mean"]


# ---------------------------------------------------------------------------------------------------------
# Invariance, reproducibility, comparability
# ---------------------------------------------------------------------------------------------------------
BATCHED = ("psnr", "ssim", "flicker")  # batched paired metrics and chunked flicker (face analysis is per frame)


@pytest.fixture(scope="module")
def small_split(tmp_path_factory, shared_data):
    """2 clips of 12 frames: what the invariance tests need, at a fraction of the cost."""
    return build_split(tmp_path_factory.mktemp("small"), shared_data, triplets=TRIPLETS[:2], frames=12)


def test_batch_size_does_not_change_the_numbers(tmp_path, small_split):
    """torch-fidelity style: batch 1 vs 8."""
    small = small_split
    one, eight = (evaluate(small, tmp_path / f"b{b}", "noop", cfg(metrics=BATCHED, batch_size=b,
                                                                 bootstrap_replicates=200)) for b in (1, 8))
    a, b = _per_clip(one), _per_clip(eight)
    assert len(a) == 2
    for cid in a:
        for key in BATCHED:
            assert float(a[cid][key]) == pytest.approx(float(b[cid][key]), rel=1e-6, abs=1e-9), (cid, key)
    # the fingerprints do not mention the batch size: the two runs are the same entry on a leaderboard
    assert {k: e["fingerprint_hash"] for k, e in one.results["metrics"].items()} == \
        {k: e["fingerprint_hash"] for k, e in eight.results["metrics"].items()}


def test_two_runs_are_bit_identical(small_split, tmp_path, monkeypatch):
    runs = []
    for i in range(2):  # separate analysis caches: everything is computed twice
        monkeypatch.setenv("HEADSWAPBENCH_CACHE", str(tmp_path / f"cache{i}"))
        runs.append(evaluate(small_split, tmp_path / f"r{i}", "noop",
                             cfg(metrics=("identity", "keypoints", *BATCHED), identity_every=4,
                                 bootstrap_replicates=200)))
    a, b = (json.loads(r.results_path.read_text()) for r in runs)
    assert a["metrics"] == b["metrics"] and a["per_clip"] == b["per_clip"] and a["settings"] == b["settings"]
    assert runs[0].per_clip_path.read_bytes() == runs[1].per_clip_path.read_bytes()


def test_workers_do_not_change_any_number(small_split, tmp_path, monkeypatch):
    """Face analysis in a 2-process pool gives exactly the numbers of one process (separate caches, so the pool
    really computes); only settings.execution records the difference."""
    runs = []
    for workers in (1, 2):
        monkeypatch.setenv("HEADSWAPBENCH_CACHE", str(tmp_path / f"cache{workers}"))
        runs.append(evaluate(small_split, tmp_path / f"w{workers}", "noop",
                             cfg(metrics=("identity", "keypoints", *BATCHED), identity_every=4,
                                 bootstrap_replicates=200, workers=workers)))
    a, b = (json.loads(r.results_path.read_text()) for r in runs)
    assert a["metrics"] == b["metrics"] and a["per_clip"] == b["per_clip"]
    assert (a["settings"]["execution"]["workers"], b["settings"]["execution"]["workers"]) == (1, 2)
    assert runs[0].per_clip_path.read_bytes() == runs[1].per_clip_path.read_bytes()


def test_workers_must_be_a_positive_count_and_local(small_split, tmp_path):
    with pytest.raises(HeadSwapBenchError, match="--workers"):
        evaluate(small_split, tmp_path / "w0", "noop", cfg(workers=0))
    with pytest.raises(HeadSwapBenchError, match="--workers"):
        evaluate(small_split, tmp_path / "wr", "noop", cfg(workers=2, executor="ray"))


def test_a_metric_subset_carries_the_full_runs_fingerprints(full_runs, eval_split, tmp_path):
    part = evaluate(eval_split, tmp_path, "noop", cfg(metrics=("psnr", "ssim"), bootstrap_replicates=200))
    full = full_runs["noop"].results["metrics"]
    for key in ("psnr", "ssim"):
        assert part.results["metrics"][key]["fingerprint"] == full[key]["fingerprint"]
        assert part.results["metrics"][key]["fingerprint_hash"] == full[key]["fingerprint_hash"]
        assert part.results["metrics"][key]["mean"] == full[key]["mean"]
    assert part.results["protocol"]["overrides"][0].startswith("metrics psnr, ssim (protocol:")


def test_expected_fingerprints_are_what_a_real_offline_v1_run_records(full_runs):
    """The leaderboard's reference (``expected_fingerprints``, from the protocol and the runner's own code)
    equals the fingerprints a real offline-v1 evaluation wrote, key by key. ``full_runs`` samples identity on
    every 4th frame (an override), so its identity keys differ from the protocol's by exactly that."""
    from headswapbench.evaluation.reference import expected_fingerprints
    from headswapbench.fingerprint import fingerprint_difference

    ref = expected_fingerprints("offline-v1")
    assert ref.unknown == {} and ref.protocol == "offline-v1@1"
    for run in full_runs.values():
        recorded = run.results["metrics"]
        assert set(recorded) == set(ref.fingerprints)
        for key, e in recorded.items():
            diff = fingerprint_difference(e["fingerprint"], ref.fingerprints[key])
            if "identity_backend" in e["fingerprint"]["settings"]:
                assert diff.startswith("identity frames every 4th frame vs auto (at most 16 per clip"), key
            else:
                assert diff == "" and e["fingerprint_hash"] == ref.hash(key), key


def test_published_protocol_offline_says_which_file_to_fetch_and_what_was_computed(eval_split, tmp_path, capsys):
    """Done-when of issue 10: `--protocol headswapbench-v1` on a machine without its model files ends with one
    line naming the AdaFace file and what was still computed; identity, LPIPS, FID, FVD are unavailable,
    each with code and file; everything else is computed."""
    from headswapbench.cli.main import main
    from headswapbench.fingerprint import fingerprint_difference

    assert main(["evaluate", str(eval_split), "--out", str(tmp_path / "v1"), "--swapper", "noop",
                 "--protocol", "headswapbench-v1", "--no-progress"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[1].startswith("protocol: headswapbench-v1") and "official" in out[1]
    last = out[-1]
    assert last.startswith("missing model files: adaface-ir101 (") and "huggingface.co/minchul" in last
    assert "still computed: keypoint_nme, face_missing_output, pose_error" in last and "psnr, ssim, flicker" in last
    res = json.loads((tmp_path / "v1" / "results.json").read_text())
    for key, weight in (("identity_cosine_target", "adaface"), ("lpips", "alexnet"), ("fid", "inception"),
                        ("fvd", "i3d")):
        e = res["metrics"][key]
        assert not e["available"] and e["code"] == "metric_unavailable" and weight in e["reason"].lower(), key
    assert res["metrics"]["lpips"]["fingerprint"]["weights"] == {"lpips-alexnet": {"sha256": None, "pinned": False}}
    assert res["protocol"]["official"] is True and res["metrics"]["keypoint_nme"]["available"]
    assert res["metrics"]["keypoint_nme"]["fingerprint"]["weights"]["facemesh"]["pinned"] is True
    offline = evaluate(eval_split, tmp_path / "off", "noop", cfg(metrics=("psnr",)))
    assert fingerprint_difference(offline.results["metrics"]["psnr"]["fingerprint"],
                                  res["metrics"]["psnr"]["fingerprint"]) == "protocol offline-v1 vs headswapbench-v1"


# ---------------------------------------------------------------------------------------------------------
# A hostile or careless method, a lost run.json, the notebook user
# ---------------------------------------------------------------------------------------------------------
def test_a_method_that_writes_into_the_split_is_refused(eval_split, tmp_path, shared_data):
    from headswapbench.evaluation.inputs import SplitChangedError

    split_copy = build_split(tmp_path / "split", shared_data)
    script = tmp_path / "cheat.py"
    script.write_text("import os, shutil, sys\n"
                      "drv, ref, out = sys.argv[1:4]\n"
                      "tgt = drv.replace(os.sep + 'driving' + os.sep, os.sep + 'target' + os.sep)\n"
                      "if sys.argv[4] == 'overwrite':\n"
                      "    shutil.copyfile(drv, tgt)  # the target now equals the output: PSNR 80\n"
                      "else:\n"
                      "    st = os.stat(tgt); open(tgt, 'ab').close(); os.utime(tgt, ns=(st.st_atime_ns, st.st_mtime_ns))\n"
                      "shutil.copyfile(drv, out)\n")
    touch = CommandSource(f"{sys.executable} {script} {{driving}} {{reference}} {{output}} touch", timeout=30)
    run = evaluate(split_copy, tmp_path / "touch", touch, cfg(metrics=("psnr",)))  # same bytes: scored
    assert run.results["coverage"]["scored"] == 4 and run.seconds["split_recheck"] < 1.0
    cheat = CommandSource(f"{sys.executable} {script} {{driving}} {{reference}} {{output}} overwrite", timeout=30)
    with pytest.raises(SplitChangedError, match=r"the split's files changed while the method ran .*test/target/"):
        evaluate(split_copy, tmp_path / "cheat", cheat, cfg(metrics=("psnr",)))
    assert not (tmp_path / "cheat" / "results.json").exists()


def test_outputs_without_run_json_are_not_reused(eval_split, tmp_path):
    evaluate(eval_split, tmp_path, "noop", cfg(metrics=("psnr",)))
    (tmp_path / "run.json").unlink()
    with pytest.raises(HeadSwapBenchError, match=r"holds outputs/, stages/, features/ but no run.json|"
                                                 r"holds outputs/, stages/ but no run.json"):
        evaluate(eval_split, tmp_path, "oracle", cfg(metrics=("psnr",)))
    (tmp_path / "run.json").write_text("{not json")
    with pytest.raises(HeadSwapBenchError, match="run.json is damaged"):
        evaluate(eval_split, tmp_path, "oracle", cfg(metrics=("psnr",)))


def test_split_object_image_method_and_data_frames(eval_split, tmp_path):
    from headswapbench.results import to_frames
    from headswapbench.split import Split
    from headswapbench.video import read_video, write_video

    split = load_split(eval_split)
    preds = tmp_path / "preds"  # an image method: one edited frame per clip (here: the target's middle frame)
    for r in split.rows:
        v = read_video(split.target_path(r))
        write_video(preds / f"{r.clip_id}.mp4", v.frames[T // 2:T // 2 + 1], fps=v.fps)
    run = evaluate(split, tmp_path / "run", PredictionsSource(preds),
                   cfg(metrics=("psnr", "flicker"), image_method=True))  # a Split object, not a path
    metrics, per_clip = to_frames(run.results)
    assert metrics.loc["psnr", "mean"] > 30 and metrics.loc["psnr", "n_subjects"] == 3  # the same frame, re-encoded
    assert metrics.loc["flicker", "code"] == "metric_undefined"  # one frame has no temporal change
    assert sorted(per_clip.index) == sorted(CLIPS)
    assert run.results["metrics"]["psnr"]["fingerprint"]["settings"]["frames"] == "middle frame (image method)"
    subset = Split(split.root, split.name, split.rows[:2])
    with pytest.raises(HeadSwapBenchError, match="a subset cannot be scored as the split"):
        evaluate(subset, tmp_path / "sub", "noop", cfg(metrics=("psnr",)))

"""The evaluation runner: score one method on one split and write ``results.json``, ``per_clip.csv`` and a log.

    from headswapbench.metrics.evaluate import evaluate
    run = evaluate("data/headswapbench", "runs/noop", "noop")          # or CommandSource / PredictionsSource
    run.results["metrics"]["identity_cosine_target"]

Stages (each on the shared stage runner, so a killed run resumes and ``shard`` splits the work):

1. **swap** → ``DIR/outputs/<clip_id>.mp4`` (atomic; finished clips reused). Skipped for a predictions folder.
2. **validate** every output against its driving clip (frame count, size, fps) from headers only; all
   problems listed per clip at once (``DIR/validation.json``). The run stops with that list unless
   ``skip_invalid``, which scores the rest and counts the invalid clips as failures in ``coverage``.
3. **score**: each video decoded once, each face model run once per video (``face.analyze_video`` caches by
   content hash, so the target and driving analyses are shared by every method evaluated on the split), all
   per-clip metrics read that shared ``ClipData``; set-level metrics store small per-clip features
   (``DIR/features/<settings>/<clip_id>.npz``) so FID/FVD never re-run Inception/I3D on a resumed run.
4. **set-level** metrics (FID, FVD, retrieval) fold the stored features.
5. **aggregate**: per-clip means with 95 % bootstrap intervals over subjects (``metrics.stats``), written
   through ``headswapbench.results`` (validated on write).

The score stage's manifest is named by the settings hash, so changing metrics or backends re-scores while
re-running with the same arguments reuses every finished clip. Outputs that changed since they were
scored (size or mtime) are scored again. With ``shard="i/n"`` only stages 1–3 run for that shard; run once
more without ``shard`` (same ``DIR``) to aggregate: it reuses everything the shards finished.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from headswapbench.errors import HeadSwapBenchError, InvalidSplitError
from headswapbench.fileio import atomic_path, atomic_write_json, atomic_write_text, ensure_dir, sha256_json
from headswapbench.runner import DONE, FAILED, Manifest, Stage, make_executor, parse_shard, run_stage
from headswapbench.swappers.external import ClipFiles, OutputSource, check_clip_id, source_from

from .base import (
    METRIC_INFO,
    NEEDS_ANALYSIS,
    NEEDS_DRIVING,
    NEEDS_REFERENCE,
    NEEDS_TARGET,
    ClipData,
    ClipMetric,
    SetMetric,
)
from .validate import InvalidOutputsError, ValidationReport, check_output, expected_format

log = logging.getLogger("headswapbench.evaluate")

RUNNER_VERSION = "1"
HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")
RUN_FILE = "run.json"


@dataclass
class EvaluationRun:
    """What ``evaluate`` did: the results (None for a shard), where files are, and per-clip outcomes."""

    out_dir: Path
    results: dict | None
    validation: ValidationReport
    per_clip: list[dict] = field(default_factory=list)
    swap_counts: dict[str, int] = field(default_factory=dict)
    reused: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def results_path(self) -> Path:
        return self.out_dir / "results.json"

    @property
    def per_clip_path(self) -> Path:
        return self.out_dir / "per_clip.csv"


# ----------------------------------------------------------------------------------------------------------
# Split resolution
# ----------------------------------------------------------------------------------------------------------
def resolve_split(split: str | Path, name: str = "test", revision: str | None = None, token: str | None = None,
                  verify: str = "sha256"):
    """(Split, dataset dict) from a local split folder or a Hub id ``ORG/NAME``."""
    from headswapbench.split import load_split

    path = Path(split)
    if path.exists():
        s = load_split(path, name, verify=verify)
        ds_name, rev = path.resolve().name, revision
        try:  # a folder fetched earlier by `headswapbench download` keeps its Hub name and pinned commit
            from headswapbench.hub import hub_source

            origin = hub_source(path)
            ds_name, rev = origin.get("repo", ds_name), origin.get("commit", rev)
        except ImportError:
            pass
    elif isinstance(split, str) and HUB_ID.match(split):
        try:
            from headswapbench import hub
        except ImportError as exc:
            raise HeadSwapBenchError(f"'{split}' is not a local folder, and Hub support is unavailable ({exc})") from None
        root = hub.download_split(split, revision=revision, split=name, token=token)  # verified on download
        rev = hub.hub_source(root).get("commit") or revision  # the pinned commit, not a moving branch
        s = load_split(root, name, verify="exists")
        ds_name = split
    else:
        raise InvalidSplitError(f"no split folder at '{split}' (and it is not a Hub id of the form ORG/NAME)")
    for row in s.rows:
        try:
            check_clip_id(row.clip_id)
        except HeadSwapBenchError as exc:
            raise InvalidSplitError(f"{s.folder / 'metadata.jsonl'}: {exc}") from None
    dataset = {"name": ds_name, "revision": rev, "split": name, "num_clips": len(s.rows), "checksum": s.checksum()}
    return s, dataset


# ----------------------------------------------------------------------------------------------------------
# Stage functions (picklable callables: Ray ships them to workers, which load their own models)
# ----------------------------------------------------------------------------------------------------------
def _fingerprint(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


class SwapClip:
    """Stage 1: write ``outputs/<clip_id>.mp4`` for one clip through the method's source."""

    def __init__(self, source: OutputSource, outputs_dir: Path):
        self.source, self.outputs_dir = source, outputs_dir

    def __call__(self, clip_id: str, files: ClipFiles) -> dict:
        out = self.source.output_path(clip_id, self.outputs_dir)
        t0 = time.perf_counter()
        self.source.produce(files, out)
        if not out.is_file():
            raise HeadSwapBenchError(f"the method wrote no output for clip '{clip_id}'")
        return {"output": out.name, "bytes": out.stat().st_size, "swap_s": round(time.perf_counter() - t0, 4)}


class ScoreClip:
    """Stage 3: decode each video once, analyse each once (cached), run every per-clip metric, and store
    set-level features. Metric objects built in the driver are reused in-process; in a Ray worker they are
    rebuilt once per process (``__getstate__`` drops them)."""

    def __init__(self, metric_names: list[str], features_dir: Path, device: str, batch_size: int,
                 metric_options: dict, analysis: dict, metrics: list | None = None):
        self.metric_names = metric_names
        self.features_dir = features_dir
        self.device, self.batch_size, self.metric_options = device, batch_size, metric_options
        self.analysis = analysis
        self._metrics = metrics

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_metrics"] = None
        return state

    @property
    def metrics(self) -> list:
        if self._metrics is None:
            from . import load_metrics

            self._metrics, _ = load_metrics(self.metric_names, device=self.device, batch_size=self.batch_size,
                                            **self.metric_options)
        return self._metrics

    def __call__(self, clip_id: str, p: dict) -> dict:
        from headswapbench.video import read_image, read_video

        metrics = self.metrics
        needs: set[str] = set()
        for m in metrics:
            needs |= m.needs
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        output = read_video(p["output"])
        target = read_video(p["target"]) if NEEDS_TARGET in needs else None
        driving = read_video(p["driving"]) if NEEDS_DRIVING in needs else None
        reference = read_image(p["reference"]) if NEEDS_REFERENCE in needs else None
        timings["decode_s"] = time.perf_counter() - t0
        # decoded frame counts must agree (headers were checked; a truncated stream shows up only here)
        for other, label in ((target, "target"), (driving, "driving")):
            if other is not None and other.frames.shape != output.frames.shape:
                raise HeadSwapBenchError(
                    f"decoded output is {tuple(output.frames.shape)}, {label} clip is {tuple(other.frames.shape)}")
        data = ClipData(clip_id=clip_id, subject_id=p["subject_id"], output=output, target=target,
                        driving=driving, reference=reference)
        backends: dict[str, Any] = {}
        if NEEDS_ANALYSIS in needs:
            from headswapbench.face import analyze_image, analyze_video

            t0 = time.perf_counter()
            kw = {"landmarks": self.analysis["landmarks"], "identity": self.analysis["identity"]}
            vkw = dict(kw, identity_every=self.analysis["identity_every"], progress=False)
            data.output_analysis = analyze_video(output, **vkw)
            backends = dict(getattr(data.output_analysis, "backends", {}) or {})
            if target is not None:
                data.target_analysis = analyze_video(target, **vkw)
            if driving is not None:
                data.driving_analysis = analyze_video(driving, **vkw)
            if reference is not None:
                data.reference_analysis = analyze_image(reference, **kw)
            timings["analysis_s"] = time.perf_counter() - t0
        scores: dict[str, float] = {}
        errors: dict[str, str] = {}
        features: dict[str, np.ndarray] = {}
        t0 = time.perf_counter()
        for m in metrics:
            try:
                if isinstance(m, SetMetric):
                    for k, v in m.extract(data).items():
                        features[f"{m.name}/{k}"] = np.asarray(v)
                else:
                    for k, v in m.compute(data).items():
                        scores[k] = float(v)
            except Exception as exc:  # noqa: BLE001 - one metric failing on one clip: NaN keys + reason
                errors[m.name] = f"{type(exc).__name__}: {exc}"
                if not isinstance(m, SetMetric):
                    scores.update({k: math.nan for k in m.keys})
        timings["metrics_s"] = time.perf_counter() - t0
        if features:
            path = self.features_dir / f"{clip_id}.npz"
            with atomic_path(path) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, **features)
        return {"scores": scores, "errors": errors, "fingerprint": p["fingerprint"], "features": bool(features),
                "backends": backends, "timings": {k: round(v, 4) for k, v in timings.items()}}


# ----------------------------------------------------------------------------------------------------------
# The runner
# ----------------------------------------------------------------------------------------------------------
def evaluate(
    split: str | Path,
    out_dir: str | Path,
    source: Any,
    *,
    split_name: str = "test",
    revision: str | None = None,
    token: str | None = None,
    metrics: list[str] | tuple[str, ...] | None = None,
    executor: str = "local",
    ray_address: str | None = None,
    shard: str | tuple[int, int] | None = None,
    device: str = "cpu",
    skip_invalid: bool = False,
    landmarks: str = "facemesh",
    identity: str = "dlib",
    identity_every: int | str | None = None,
    batch_size: int = 16,
    metric_options: dict | None = None,
    verify: str = "sha256",
    resamples: int = 2000,
    progress: bool = True,
) -> EvaluationRun:
    """Score ``source`` (swapper name, ``Swapper``, or an ``OutputSource``) on a split; see the module doc."""
    from . import METRICS, load_metrics
    from .validate import check_device

    check_device(device)
    out_dir = Path(out_dir)
    ensure_dir(out_dir)
    handler = _attach_log(out_dir / "evaluate.log")
    try:
        t_start = time.perf_counter()
        shard_t = shard if isinstance(shard, tuple) else parse_shard(shard)
        split_obj, dataset = resolve_split(split, split_name, revision, token, verify)
        src = source_from(source, device=device)
        method = src.describe()
        log.info("evaluate %s on %s/%s (%d clips) → %s", method, dataset["name"], split_name, len(split_obj.rows),
                 out_dir)
        outputs_dir = out_dir / "outputs"
        _check_run_file(out_dir, method, dataset, src, split_obj,
                        outputs_dir if src.writes_outputs else getattr(src, "folder", None))
        ex = make_executor(executor, address=ray_address)
        gpus = 1.0 if device.startswith("cuda") and executor == "ray" else 0.0

        # metrics: constructed here (weights checked once); unavailable ones are recorded with the reason
        names = list(metrics) if metrics else None
        metric_objs, missing = load_metrics(names, device=device, batch_size=batch_size, **(metric_options or {}))
        for n, why in missing.items():
            log.warning("metric %s unavailable: %s", n, why)
        analysis = {"landmarks": landmarks, "identity": identity, "identity_every": identity_every}
        settings = {
            "runner_version": RUNNER_VERSION,
            "analysis": analysis,
            "metrics": {m.name: m.settings() for m in metric_objs},
            "unavailable_metrics": sorted(missing),
            "frame_sampling": "all frames at the driving clip's frame rate",
            "resize": None,
        }
        settings_hash = sha256_json(settings)
        run = EvaluationRun(out_dir=out_dir, results=None, validation=ValidationReport())
        rows = [r for r in split_obj.rows]
        files = {r.clip_id: ClipFiles(r.clip_id, split_obj.driving_path(r), split_obj.reference_path(r),
                                      split_obj.target_path(r) if src.needs_target else None) for r in rows}

        # 1. swap
        swap_records: dict[str, dict] = {}
        if src.writes_outputs:
            manifest = out_dir / "stages" / "swap.jsonl"
            _forget_missing_outputs(manifest, outputs_dir, src)
            res = run_stage(Stage("swap", SwapClip(src, outputs_dir), num_gpus=gpus),
                            [(r.clip_id, files[r.clip_id]) for r in rows], manifest, ex, shard_t,
                            progress=progress)
            swap_records = res.records
            run.swap_counts, run.reused["swap"], run.seconds["swap"] = res.counts(), res.reused, res.seconds
            log.info("swap: %s (reused %d) in %.1f s", res.counts(), res.reused, res.seconds)
            for cid, rec in res.by_status(FAILED).items():
                log.warning("swap failed for %s: %s", cid, rec.get("reason"))
        mine = [r for r in rows if r.clip_id in swap_records] if src.writes_outputs else \
            [r for r in rows if _in_shard(r.clip_id, shard_t)]

        # 2. validate (headers only; every problem of every clip in one report)
        t0 = time.perf_counter()
        report = run.validation
        for r in mine:
            out = src.output_path(r.clip_id, outputs_dir)
            rec = swap_records.get(r.clip_id)
            if rec is not None and rec["status"] != DONE:
                report.add(r.clip_id, [f"swap failed: {rec.get('reason', 'unknown cause')}"])
                continue
            inside = src.check_inside(out) if hasattr(src, "check_inside") else None
            if inside:
                report.add(r.clip_id, [inside])
                continue
            report.add(r.clip_id, check_output(out, expected_format(split_obj.driving_path(r))))
        atomic_write_json(out_dir / "validation.json", report.to_dict())
        run.seconds["validate"] = time.perf_counter() - t0
        if not report.ok:
            log.warning(report.format())
            if not skip_invalid:
                raise InvalidOutputsError(report)

        # 3. score
        features_dir = out_dir / "features" / settings_hash[:16]
        scorer = ScoreClip([m.name for m in metric_objs], features_dir, device, batch_size, metric_options or {},
                           analysis, metrics=metric_objs)
        items = []
        for r in mine:
            if r.clip_id in report.problems:
                continue
            out = src.output_path(r.clip_id, outputs_dir)
            items.append((r.clip_id, {
                "subject_id": r.subject_id, "output": str(out), "driving": str(split_obj.driving_path(r)),
                "reference": str(split_obj.reference_path(r)), "target": str(split_obj.target_path(r)),
                "fingerprint": _fingerprint(out)}))
        manifest = out_dir / "stages" / f"score-{settings_hash[:16]}.jsonl"
        _forget_stale_scores(manifest, {cid: p["fingerprint"] for cid, p in items})
        res = run_stage(Stage("score", scorer, num_gpus=gpus), items, manifest, ex, shard_t, progress=progress)
        run.reused["score"], run.seconds["score"] = res.reused, res.seconds
        log.info("score: %s (reused %d) in %.1f s", res.counts(), res.reused, res.seconds)
        score_records = res.records
        for cid, rec in score_records.items():
            if rec["status"] != DONE:
                log.warning("scoring %s %s: %s", cid, rec["status"], rec.get("reason"))
            for mname, err in (rec.get("result") or {}).get("errors", {}).items():
                log.warning("metric %s failed on %s: %s", mname, cid, err)

        run.per_clip = _per_clip_rows(mine, report, swap_records, score_records, metric_objs)
        _write_per_clip(out_dir / "per_clip.csv", run.per_clip, metric_objs)
        if shard_t != (0, 1):
            log.info("shard %d/%d done; run again without --shard in %s to aggregate", *shard_t, out_dir)
            return run

        # 4. set-level metrics, 5. aggregate
        t0 = time.perf_counter()
        scored = [r for r in run.per_clip if r["status"] == DONE]
        entries = _aggregate(scored, metric_objs, missing, features_dir, resamples, METRICS)
        backends = next((rec["result"].get("backends") for rec in score_records.values()
                         if rec["status"] == DONE and rec["result"].get("backends")), {})
        settings_out = dict(settings, backends=backends, **_protocol_flags(identity, method))
        results = _make_results(method, dataset, settings_out, entries, run, device)
        from headswapbench.results import write_results

        write_results(out_dir / "results.json", results)
        run.results = results
        run.seconds["aggregate"] = time.perf_counter() - t0
        run.seconds["total"] = time.perf_counter() - t_start
        log.info("wrote %s (%d of %d clips scored) in %.1f s", out_dir / "results.json",
                 results["coverage"]["scored"], results["coverage"]["expected"], run.seconds["total"])
        return run
    except Exception as exc:
        log.error("stopped: %s", exc)
        raise
    finally:
        _detach_log(handler)


def _in_shard(clip_id: str, shard: tuple[int, int]) -> bool:
    from headswapbench.runner import in_shard

    return in_shard(clip_id, shard)


def _check_run_file(out_dir: Path, method: dict, dataset: dict, src: OutputSource, split_obj,
                    outputs: Path | None) -> None:
    """One DIR holds one method on one split: refuse to mix another method's outputs into it. The file also
    tells ``report`` where the split and the outputs are."""
    path = out_dir / RUN_FILE
    current = {"method": method, "dataset": {k: dataset[k] for k in ("name", "split", "checksum")},
               "source_kind": src.kind}
    if path.exists():
        try:
            prev = json.loads(path.read_text())
        except json.JSONDecodeError:
            prev = None
        if prev and (prev.get("method") != method or prev.get("dataset") != current["dataset"]):
            raise HeadSwapBenchError(
                f"{out_dir} already holds an evaluation of {prev.get('method', {}).get('name')!r} on "
                f"{prev.get('dataset', {}).get('name')!r}/{prev.get('dataset', {}).get('split')!r}; "
                "use another --out folder (or delete it) to evaluate a different method or split")
    atomic_write_json(path, dict(current, split_root=str(Path(split_obj.root).resolve()), split_name=split_obj.name,
                                 outputs=str(Path(outputs).resolve()) if outputs else None))


def _forget_missing_outputs(manifest_path: Path, outputs_dir: Path, src: OutputSource) -> None:
    """A clip recorded as swapped whose output file has since been deleted is swapped again."""
    m = Manifest(manifest_path)
    for cid, rec in m.load().items():
        if rec["status"] == DONE and not src.output_path(cid, outputs_dir).is_file():
            m.append({"item_id": cid, "status": FAILED, "reason": "output file disappeared; swapping again"})


def _forget_stale_scores(manifest_path: Path, fingerprints: dict[str, str]) -> None:
    """Scores of an output that changed since (size or mtime) are not reused."""
    m = Manifest(manifest_path)
    for cid, rec in m.load().items():
        if rec["status"] == DONE and cid in fingerprints and \
                (rec.get("result") or {}).get("fingerprint") != fingerprints[cid]:
            m.append({"item_id": cid, "status": FAILED, "reason": "output changed since it was scored"})


def _result_keys(metric_objs: list) -> list[str]:
    return [k for m in metric_objs if isinstance(m, ClipMetric) for k in m.keys]


def _per_clip_rows(mine, report, swap_records, score_records, metric_objs) -> list[dict]:
    keys = _result_keys(metric_objs)
    rows = []
    for r in mine:
        row: dict[str, Any] = {"clip_id": r.clip_id, "subject_id": r.subject_id}
        rec = score_records.get(r.clip_id)
        if r.clip_id in report.problems:
            row.update(status="invalid", reason="; ".join(report.problems[r.clip_id]))
        elif rec is None:
            row.update(status="pending", reason="not scored")
        else:
            row.update(status=rec["status"], reason=rec.get("reason", ""))
            errs = (rec.get("result") or {}).get("errors") or {}
            row["errors"] = errs
            if errs:
                row["reason"] = "; ".join(f"{k}: {v}" for k, v in errs.items())
        scores = ((rec or {}).get("result") or {}).get("scores", {}) if row["status"] == DONE else {}
        for k in keys:
            v = scores.get(k)
            row[k] = float(v) if v is not None else math.nan
        rows.append(row)
    return rows


def _write_per_clip(path: Path, rows: list[dict], metric_objs: list) -> None:
    cols = ["clip_id", "subject_id", "status", "reason", *_result_keys(metric_objs)]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow({k: ("" if isinstance(v, float) and math.isnan(v) else
                        (repr(v) if isinstance(v, float) else v)) for k, v in r.items()})
    atomic_write_text(path, buf.getvalue())


def _aggregate(scored: list[dict], metric_objs: list, missing: dict[str, str], features_dir: Path,
               resamples: int, registry) -> dict[str, dict]:
    from .base import unavailable
    from .stats import aggregate

    entries: dict[str, dict] = {}
    for m in metric_objs:
        if isinstance(m, ClipMetric):
            for k in m.keys:
                a = aggregate(scored, k, resamples=resamples)
                failed = [r["errors"][m.name] for r in scored if m.name in r.get("errors", {})]
                if failed:
                    a["failed_clips"] = len(failed)
                if a["mean"] is None:
                    why = (f"failed on {len(failed)} of {len(scored)} clips: {failed[0]}" if failed else
                           f"undefined (NaN) on all {len(scored)} scored clips: e.g. no face found, or the backend "
                           "it needs is not in use" if scored else
                           "no clip could be scored")
                    entries[k] = unavailable(why)
                    entries[k]["n_nan"] = a.get("n_nan", 0)
                else:
                    entries[k] = a
        elif isinstance(m, SetMetric):
            m.reset()
            n_feat = 0
            for row in scored:
                path = features_dir / f"{row['clip_id']}.npz"
                if not path.exists():
                    continue
                with np.load(path) as z:
                    feats = {k.split("/", 1)[1]: z[k] for k in z.files if k.startswith(m.name + "/")}
                if feats:
                    m.add(feats)
                    n_feat += 1
            try:
                values = m.compute() if n_feat else {}
            except Exception as exc:  # noqa: BLE001 - recorded as the reason it is unavailable
                values, why = {}, f"{type(exc).__name__}: {exc}"
            else:
                failed = [r["errors"][m.name] for r in scored if m.name in r.get("errors", {})]
                why = "" if n_feat else (f"failed on {len(failed)} of {len(scored)} clips: {failed[0]}" if failed
                                         else "no clip produced features")
            counts = dict(m.counts()) if n_feat else {}
            for k in m.keys:
                v = values.get(k)
                if v is None or not math.isfinite(float(v)):
                    entries[k] = unavailable(why or f"{m.name} is undefined on this set ({counts or 'no counts'})")
                else:
                    entries[k] = {"mean": float(v), "ci95": None, "n": counts.get("clips", n_feat), **counts}
    for name, why in missing.items():
        try:
            keys = registry.get(name).keys
        except Exception:  # noqa: BLE001 - unknown metric name: keep the name itself
            keys = (name,)
        for k in keys:
            entries[k] = unavailable(why)
    return entries


REFERENCE_IDENTITY = "arcface"  # the published protocol's identity model


def _protocol_flags(identity: str, method: dict) -> dict:
    """What the leaderboard must warn about: non-reference backends, and smoke (tiny/untrained) methods."""
    flags: dict = {}
    if identity != REFERENCE_IDENTITY:
        flags["nonstandard"] = [f"identity: {identity} instead of {REFERENCE_IDENTITY} (offline default)"]
    if method.get("smoke"):
        flags["smoke"] = True
    return flags


def _make_results(method, dataset, settings_out, entries, run, device) -> dict:
    from headswapbench.results import make_results

    info = {k: METRIC_INFO[k].to_dict() for k in entries if k in METRIC_INFO}
    scored = sum(r["status"] == DONE for r in run.per_clip)
    failures = {r["clip_id"]: r["reason"] for r in run.per_clip if r["status"] != DONE}
    coverage = {"expected": dataset["num_clips"], "scored": scored, "failed": dataset["num_clips"] - scored,
                "invalid": len(run.validation.problems), "failures": failures}
    per_clip = [{k: v for k, v in r.items() if k not in ("status", "reason", "errors")} for r in run.per_clip
                if r["status"] == DONE]
    return make_results(method, dataset, settings_out, entries, per_clip, coverage=coverage, metric_info=info,
                        device=device, per_clip_file="per_clip.csv",
                        provenance={"generated_by": "headswapbench evaluate", "evaluated_by": "headswapbench",
                                    "verified": False})


def _attach_log(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def _detach_log(handler: logging.Handler) -> None:
    log.removeHandler(handler)
    handler.close()


# ----------------------------------------------------------------------------------------------------------
# Human summary
# ----------------------------------------------------------------------------------------------------------
def summary_rows(results: dict) -> list[dict]:
    """One row per metric: mean, 95 % CI, n and direction (for the CLI table)."""
    rows = []
    for name, e in results["metrics"].items():
        hib = e.get("higher_is_better")
        arrow = "↑" if hib else ("↓" if hib is False else "·")
        if not e.get("available", e.get("mean") is not None):
            rows.append({"metric": name, "better": arrow, "mean": None, "ci95": "", "n": 0,
                         "note": "unavailable: " + str(e.get("reason", ""))[:70]})
            continue
        ci = e.get("ci95")
        rows.append({"metric": name, "better": arrow, "mean": e["mean"],
                     "ci95": f"[{ci[0]:.4g}, {ci[1]:.4g}]" if ci else "", "n": e.get("n"), "note": ""})
    return rows

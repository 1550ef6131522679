"""The evaluation runner: score one method on one split under a protocol and write ``results.json``,
``per_clip.csv`` and a log.

    from headswapbench.evaluation import EvalConfig, evaluate
    run = evaluate("data/headswapbench", "runs/noop", "noop", EvalConfig(protocol="offline-v1"))
    run.results["metrics"]["identity_cosine_target"]

``split`` is a folder, a Hub id or a ``headswapbench.split.Split``; ``source`` a swapper name, a ``Swapper``,
or an ``OutputSource`` (``CommandSource`` / ``PredictionsSource``); ``config`` an ``EvalConfig``, validated
(``plan()``) before anything runs. Stages, each on the shared stage runner (a killed run resumes, ``shard``
splits the work):

1. **swap** → ``DIR/outputs/<clip_id>.mp4`` (atomic; finished clips reused). Skipped for a predictions folder.
   Then the split's files are checked again (``inputs.SplitSnapshot``): a method that wrote into the split
   stops the run.
2. **validate** every output against its driving clip from headers (``validate``); all problems listed at once.
3. **score**: each video decoded once, analysed once (``face.analyze_video`` caches by content, so target and
   driving analyses are shared by every method on the split); every metric reads that ``ClipData``;
   set-level metrics store per-clip features (``DIR/features/<key>/<clip_id>.npz``). With ``workers`` > 1
   the face analyses of the next clips run in a process pool (``stages.PrefetchExecutor``) while the metrics
   of the current clip run here; the numbers are the same (``settings.execution`` records how it ran).
4. **aggregate** (``aggregate``): set-level metrics fold the features; per-clip keys get a macro mean with the
   protocol's subject-bootstrap interval; each key gets its fingerprint (``headswapbench.fingerprint``);
   written through ``headswapbench.results`` (validated on write).

The score stage is keyed by the fingerprints of the metrics that run, so changing a metric's settings or a
backend re-scores, re-running reuses every finished clip, and an output whose size or mtime changed since it
was scored is scored again. With ``shard="i/n"`` only stages 1–3 run; run once more without it to aggregate.

A model file the protocol needs but this machine lacks makes the metrics that need it unavailable (code
``metric_unavailable``, the file, URL and place named); the rest is still computed (``EvaluationRun.missing``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HeadSwapBenchError, MissingWeightsError
from ..fileio import ensure_dir, sha256_json
from ..fingerprint import make_fingerprint, weight_record
from ..reasons import Reason
from ..runner import DONE, FAILED, Stage, make_executor, parse_shard, run_stage
from ..swappers.external import ClipFiles, source_from
from . import aggregate as agg
from . import rundir
from .config import EvalConfig, EvalPlan
from .inputs import SplitSnapshot, resolve_split
from .metric import (
    METRIC_INFO,
    NEEDS_ANALYSIS,
    NEEDS_IDENTITY,
    ClipMetric,
    SetMetric,
    load_metrics,
    metric_class,
    needs_of,
)
from .stages import ScoreClip, SwapClip
from .validate import InvalidOutputsError, ValidationReport, check_device, check_output, expected_format

log = logging.getLogger("headswapbench.evaluate")

RUNNER_VERSION = "2"
FEW_SUBJECTS = 10  # below this, a subject bootstrap has little to resample: the run says so


@dataclass
class EvaluationRun:
    """What ``evaluate`` did: the results (None for a shard), where files are, per-clip outcomes, and what could
    not run because a model file is missing (``missing``: weights name → MissingWeightsError)."""

    out_dir: Path
    results: dict | None
    validation: ValidationReport
    plan: EvalPlan | None = None
    per_clip: list[dict] = field(default_factory=list)
    swap_counts: dict[str, int] = field(default_factory=dict)
    reused: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    missing: dict[str, MissingWeightsError] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def results_path(self) -> Path:
        return self.out_dir / "results.json"

    @property
    def per_clip_path(self) -> Path:
        return self.out_dir / "per_clip.csv"


# ----------------------------------------------------------------------------------------------------------
# Backends, metrics and their fingerprints
# ----------------------------------------------------------------------------------------------------------
@dataclass
class _Prepared:
    classes: dict[str, type]
    objects: dict[str, Any]  # plan's metric name (registry name or module:attr) → constructed metric
    unavailable: dict[str, tuple[str, str, str | None]]  # metric name → (code, reason, missing weights name)
    missing: dict[str, MissingWeightsError]  # weights name → error
    landmarks: dict | None  # backend descriptions
    identity: dict | None
    landmark_weights: dict[str, str | None]
    identity_weights: dict[str, str | None]


def _backend_weights(desc: dict | None, model: Any) -> dict[str, str | None]:
    """Weights-table name → sha256 of the files a face backend describes (``describe()["weights"]``)."""
    from .. import weights as table

    out: dict[str, str | None] = {}
    for key, found in (desc or {}).items():  # "weights", and e.g. FaceMesh's "detector_weights"
        if key != "weights" and not key.endswith("_weights"):
            continue
        for w in (found if isinstance(found, list) else [found] if isinstance(found, dict) else []):
            if isinstance(w, dict) and w.get("name"):
                out[w["name"]] = w.get("sha256")
    if not out and getattr(model, "weight_name", None):
        out[model.weight_name] = table.describe(model.weight_name).get("sha256")
    return out


def _clean(desc: dict | None) -> dict:
    """A backend description without what does not change numbers (weights go to ``weights``; a verification
    threshold and its provenance text do not change a cosine)."""
    drop = {"threshold", "threshold_source", "similarity"}
    return {k: v for k, v in (desc or {}).items() if k not in drop and k != "weights" and not k.endswith("_weights")}


def _prepare(plan: EvalPlan) -> _Prepared:
    """Build the face backends and the metrics; what cannot be built for want of a model file is recorded."""
    from ..face.identity import get_identity_model
    from ..face.landmarks import get_landmark_model

    classes = {n: metric_class(n) for n in plan.metrics}
    needs = {n: needs_of(c) for n, c in classes.items()}
    prep = _Prepared(classes, {}, {}, {}, None, None, {}, {})
    blocked: dict[str, tuple[str, str]] = {}  # need → (reason, weights name)
    if any(NEEDS_ANALYSIS in s or NEEDS_IDENTITY in s for s in needs.values()):
        try:
            lm = get_landmark_model(plan.landmarks)
            prep.landmarks = lm.describe()
            prep.landmark_weights = _backend_weights(prep.landmarks, lm)
        except MissingWeightsError as exc:
            prep.missing[exc.name] = exc
            blocked[NEEDS_ANALYSIS] = (f"landmark backend {plan.landmarks}: {str(exc).splitlines()[0]}", exc.name)
    if any(NEEDS_IDENTITY in s for s in needs.values()) and NEEDS_ANALYSIS not in blocked:
        try:
            idm = get_identity_model(plan.identity, plan.config.device)
            prep.identity = idm.describe()
            prep.identity_weights = _backend_weights(prep.identity, idm)
        except MissingWeightsError as exc:
            prep.missing[exc.name] = exc
            blocked[NEEDS_IDENTITY] = (f"identity backend {plan.identity}: {str(exc).splitlines()[0]}", exc.name)
    runnable = []
    for name in plan.metrics:
        s = needs[name]
        hit = (blocked.get(NEEDS_ANALYSIS) if NEEDS_ANALYSIS in s or NEEDS_IDENTITY in s else None) or \
            (blocked.get(NEEDS_IDENTITY) if NEEDS_IDENTITY in s else None)
        if hit:
            prep.unavailable[name] = (Reason.METRIC_UNAVAILABLE.value, *hit)
        else:
            runnable.append(name)
    built, not_loaded = load_metrics(runnable, device=plan.config.device, batch_size=plan.config.batch_size,
                                     options=plan.metric_options)
    prep.objects = dict(zip([n for n in runnable if n not in not_loaded], built))
    for name, exc in not_loaded.items():
        prep.missing[exc.name] = exc
        prep.unavailable[name] = (Reason.METRIC_UNAVAILABLE.value, str(exc).splitlines()[0], exc.name)
    return prep


def _fingerprints(plan: EvalPlan, prep: _Prepared, smoke: bool) -> dict[str, dict]:
    """The fingerprint of every result key the plan asks for (available or not)."""
    from .. import weights as table
    from ..face.analysis import ANALYSIS_VERSION

    def pin(w: str) -> str | None:
        spec = table.WEIGHTS.get(w)
        return plan.protocol.pin(w) or (spec.sha256 if spec and spec.sha256 and len(spec.sha256) == 64 else None)

    out = {}
    for name, cls in prep.classes.items():
        needs = needs_of(cls)
        settings: dict[str, Any] = {"frames": plan.frames}
        used: dict[str, str | None] = {}
        if NEEDS_ANALYSIS in needs or NEEDS_IDENTITY in needs:
            settings.update(landmark_backend=plan.landmarks, landmarks=_clean(prep.landmarks),
                            analysis_version=ANALYSIS_VERSION)
            used.update(prep.landmark_weights)
        if NEEDS_IDENTITY in needs:
            settings.update(identity_backend=plan.identity, identity=_clean(prep.identity),
                            identity_frames=plan.identity_frames)
            used.update(prep.identity_weights)
        obj = prep.objects.get(name)
        if obj is not None:
            settings.update(obj.settings())
            used.update(obj.weights())
        else:  # not run: the file that was missing is named, with no hash
            settings["unavailable"] = True
            if prep.unavailable[name][2]:
                used[prep.unavailable[name][2]] = None
        if smoke:
            settings["smoke"] = True
        records = {w: weight_record(sha, pin(w)) for w, sha in used.items()}
        for key in cls.keys:
            out[key] = make_fingerprint(plan.protocol.id, key, METRIC_INFO[key].version, settings, records)
    return out


# ----------------------------------------------------------------------------------------------------------
# The runner
# ----------------------------------------------------------------------------------------------------------
def analysis_settings(plan: EvalPlan, needs: set[str]) -> dict[str, Any]:
    """What the face analysis of a run computes: the plan's backends, identity only when a metric needs it."""
    return {"landmarks": plan.landmarks, "identity": plan.identity if NEEDS_IDENTITY in needs else None,
            "identity_every": plan.identity_every}


def score_item(split_obj: Any, row: Any, output: Path, fingerprint: str) -> dict[str, str]:
    """One clip's input to the score stage (`ScoreClip`): its subject and the paths of its four files."""
    return {"subject_id": row.subject_id, "output": str(output), "driving": str(split_obj.driving_path(row)),
            "reference": str(split_obj.reference_path(row)), "target": str(split_obj.target_path(row)),
            "fingerprint": fingerprint}


def evaluate(split: Any, out_dir: str | Path, source: Any, config: EvalConfig | None = None) -> EvaluationRun:
    """Score ``source`` on ``split`` under ``config`` (default ``EvalConfig()``); see the module doc."""
    config = config if config is not None else EvalConfig()
    if not isinstance(config, EvalConfig):
        raise HeadSwapBenchError(f"config must be an EvalConfig, got {type(config).__name__}")
    plan = config.plan()  # every name, key and number checked before any model loads
    check_device(config.device)
    out_dir = Path(out_dir)
    ensure_dir(out_dir)
    handler = rundir.attach_log(out_dir / "evaluate.log")
    try:
        return _evaluate(split, out_dir, source, plan)
    except Exception as exc:
        log.error("stopped: %s", exc)
        raise
    finally:
        rundir.detach_log(handler)


def _evaluate(split: Any, out_dir: Path, source: Any, plan: EvalPlan) -> EvaluationRun:
    config = plan.config
    t_start = time.perf_counter()
    run = EvaluationRun(out_dir=out_dir, results=None, validation=ValidationReport(), plan=plan)
    if plan.note:
        run.notes.append(plan.note)
        log.info(plan.note)
    shard = parse_shard(config.shard)
    split_obj, dataset = resolve_split(split, config.split_name, config.revision, config.token, config.verify)
    snapshot = SplitSnapshot.take(split_obj)
    if dataset["num_subjects"] < FEW_SUBJECTS:
        run.notes.append(f"warning: the split has {dataset['num_subjects']} subjects; 95 % intervals from a subject "
                         f"bootstrap over fewer than {FEW_SUBJECTS} subjects are unreliable")
    src = source_from(source, device=config.device)
    method = src.describe()
    smoke = bool(method.get("smoke"))
    log.info("evaluate %s on %s/%s (%d clips) under %s → %s", method, dataset["name"], config.split_name,
             len(split_obj.rows), plan.protocol.id, out_dir)
    for o in plan.overrides:
        log.info("override: %s", o)
    outputs_dir = out_dir / "outputs"
    rundir.claim(out_dir, method, dataset, src.kind, split_obj.root, split_obj.name,
                 outputs_dir if src.writes_outputs else getattr(src, "folder", None))
    ex = make_executor(config.executor, address=config.ray_address)
    gpus = 1.0 if config.device.startswith("cuda") and config.executor == "ray" else 0.0

    prep = _prepare(plan)
    run.missing = prep.missing
    for name, (_, why, _) in prep.unavailable.items():
        log.warning("metric %s unavailable: %s", name, why)
    fingerprints = _fingerprints(plan, prep, smoke)
    metrics = list(prep.objects.values())
    runnable_keys = {k for m in metrics for k in m.keys}
    needs = set().union(*(m.needs for m in metrics)) if metrics else set()
    analysis = analysis_settings(plan, needs)
    score_key = sha256_json({"runner_version": RUNNER_VERSION, "analysis": analysis,
                             "image_method": config.image_method,
                             "fingerprints": {k: fp for k, fp in fingerprints.items() if k in runnable_keys}})[:16]
    rows = list(split_obj.rows)
    files = {r.clip_id: ClipFiles(r.clip_id, split_obj.driving_path(r), split_obj.reference_path(r),
                                  split_obj.target_path(r) if src.needs_target else None) for r in rows}

    # 1. swap
    swap_records: dict[str, dict] = {}
    if src.writes_outputs:
        manifest = out_dir / "stages" / "swap.jsonl"
        rundir.forget_missing_outputs(manifest, lambda cid: src.output_path(cid, outputs_dir))
        res = run_stage(Stage("swap", SwapClip(src, outputs_dir), num_gpus=gpus),
                        [(r.clip_id, files[r.clip_id]) for r in rows], manifest, ex, shard, progress=config.progress)
        swap_records = res.records
        run.swap_counts, run.reused["swap"], run.seconds["swap"] = res.counts(), res.reused, res.seconds
        log.info("swap: %s (reused %d) in %.1f s", res.counts(), res.reused, res.seconds)
        for cid, rec in res.by_status(FAILED).items():
            log.warning("swap failed for %s: %s", cid, rec.get("reason"))
    from ..runner import in_shard

    mine = [r for r in rows if r.clip_id in swap_records] if src.writes_outputs else \
        [r for r in rows if in_shard(r.clip_id, shard)]
    t0 = time.perf_counter()
    snapshot.check("while the method ran (between swap and score)")
    run.seconds["split_recheck"] = time.perf_counter() - t0

    # 2. validate (headers only; every problem of every clip in one report)
    t0 = time.perf_counter()
    report = run.validation
    for r in mine:
        out = src.output_path(r.clip_id, outputs_dir)
        rec = swap_records.get(r.clip_id)
        if rec is not None and rec["status"] != DONE:
            report.add(r.clip_id, [f"swap failed: {rec.get('reason', 'unknown cause')}"], agg.swap_failure_code(rec))
            continue
        inside = src.check_inside(out) if hasattr(src, "check_inside") else None
        if inside:
            report.add(r.clip_id, [inside])
            continue
        report.add(r.clip_id, check_output(out, expected_format(split_obj.driving_path(r), config.image_method)))
    from ..fileio import atomic_write_json

    atomic_write_json(out_dir / "validation.json", report.to_dict())
    run.seconds["validate"] = time.perf_counter() - t0
    if not report.ok:
        log.warning(report.format())
        if not config.skip_invalid:
            raise InvalidOutputsError(report)

    # 3. score
    features_dir = out_dir / "features" / score_key
    scorer = ScoreClip(list(prep.objects), features_dir, config.device, config.batch_size, plan.metric_options,
                       analysis, config.image_method, metrics=metrics)
    items = []
    for r in mine:
        if r.clip_id in report.problems:
            continue
        out = src.output_path(r.clip_id, outputs_dir)
        items.append((r.clip_id, score_item(split_obj, r, out, rundir.file_stamp(out))))
    manifest = out_dir / "stages" / f"score-{score_key}.jsonl"
    rundir.forget_stale_scores(manifest, {cid: p["fingerprint"] for cid, p in items})
    score_ex = ex
    if config.workers > 1 and config.executor == "local":
        from .stages import PrefetchExecutor

        score_ex = PrefetchExecutor(config.workers)  # face analyses of the next clips in a process pool
    res = run_stage(Stage("score", scorer, num_gpus=gpus), items if metrics else [], manifest, score_ex, shard,
                    progress=config.progress)
    run.reused["score"], run.seconds["score"] = res.reused, res.seconds
    log.info("score: %s (reused %d) in %.1f s", res.counts(), res.reused, res.seconds)
    for cid, rec in res.records.items():
        if rec["status"] != DONE:
            log.warning("scoring %s %s: %s", cid, rec["status"], rec.get("reason"))
        for mname, err in (rec.get("result") or {}).get("errors", {}).items():
            log.warning("metric %s failed on %s: %s", mname, cid, err)
    run.per_clip = agg.per_clip_rows(mine, report, res.records, metrics)
    agg.write_per_clip(out_dir / "per_clip.csv", run.per_clip, metrics)
    if shard != (0, 1):
        log.info("shard %d/%d done; run again without --shard in %s to aggregate", *shard, out_dir)
        return run

    # 4. aggregate
    t0 = time.perf_counter()
    results = _results(plan, prep, fingerprints, method, dataset, run, features_dir, smoke)
    from ..results import write_results

    write_results(out_dir / "results.json", results)
    run.results = results
    run.seconds["aggregate"] = time.perf_counter() - t0
    run.seconds["total"] = time.perf_counter() - t_start
    log.info("wrote %s (%d of %d clips scored) in %.1f s", out_dir / "results.json",
             results["coverage"]["scored"], results["coverage"]["expected"], run.seconds["total"])
    for note in run.notes:
        log.warning(note)
    return run


def _results(plan: EvalPlan, prep: _Prepared, fingerprints: dict, method: dict, dataset: dict, run: EvaluationRun,
             features_dir: Path, smoke: bool) -> dict:
    from ..results import make_results

    scored = [r for r in run.per_clip if r["status"] == DONE]
    entries: dict[str, dict] = {}
    for name, cls in prep.classes.items():  # protocol order: primary metrics first
        m = prep.objects.get(name)
        if m is None:
            code, why, _ = prep.unavailable[name]
            got = {k: agg.unavailable(code, why) for k in cls.keys}
        elif isinstance(m, SetMetric):
            got = agg.set_entries(m, scored, features_dir)
        elif isinstance(m, ClipMetric):
            got = agg.clip_entries(m, scored, plan.replicates, plan.protocol.seed, plan.protocol.level)
        else:  # pragma: no cover - metric_class refuses other types
            raise HeadSwapBenchError(f"metric {name} is neither a ClipMetric nor a SetMetric")
        for k, e in got.items():
            info = METRIC_INFO[k]
            entries[k] = {**e, "higher_is_better": info.higher_is_better, "unit": info.unit,
                          "description": info.description, "version": info.version, "level": info.level,
                          "fingerprint": fingerprints[k]}
    failures = {r["clip_id"]: {"code": r["code"] or Reason.ERROR.value, "message": r["reason"]}
                for r in run.per_clip if r["status"] != DONE}
    n = dataset["num_clips"]
    coverage = {"expected": n, "scored": len(scored), "failed": n - len(scored),
                "invalid": len(run.validation.problems), "failures": failures}
    per_clip = []
    for r in scored:
        row = {k: v for k, v in r.items() if k not in ("status", "code", "reason", "errors")}
        if r["errors"]:
            row["metric_failures"] = r["errors"]
        per_clip.append(row)
    settings = {"runner_version": RUNNER_VERSION, "protocol": plan.protocol.id,
                "analysis": {"landmarks": plan.landmarks, "identity": plan.identity,
                             "identity_frames": plan.identity_frames},
                "frames": plan.frames, "resize": None,
                "metrics": {m.name: m.settings() for m in prep.objects.values()},
                # how it ran, not what it computed: in no fingerprint (the numbers do not depend on it)
                "execution": {"workers": plan.config.workers, "batch_size": plan.config.batch_size},
                **plan.labels(smoke)}
    return make_results(method, dataset, settings, entries, per_clip, coverage=coverage, protocol=plan.protocol_block(),
                        device=plan.config.device, per_clip_file="per_clip.csv",
                        provenance={"generated_by": "headswapbench evaluate", "evaluated_by": "headswapbench",
                                    "verified": False})

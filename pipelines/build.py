"""`headswapbench build`: raw videos → ingest → edit → filter → package, on the shared stage runner.

Work lives under ``OUT_DIR/.work/``, one folder per stage *and settings*: ``ingest-<h>``, ``edit-<h>``,
``filter-<h>``, where each hash covers the stage's settings and everything upstream. Changing a filter
threshold therefore re-runs only the filter (face analyses are cached), changing the clip length re-runs
everything, and two configurations never overwrite each other's files. Each folder holds the runner's
append-only manifest (one per shard) and the stage's outputs, all written atomically, so a run killed at any
moment (SIGKILL included) resumes where it stopped with no duplicate, lost or half-written file.

Ingest, edit and filter are per-item runner stages (ingest: one item per raw video; edit and filter: one item
per clip) and run in-process or on Ray (the edit stage asks for ``editor.num_gpus`` per worker). Subject
grouping, reference choice and packaging need every video, so they run once, in the package step, after all
shards have finished. ``OUT_DIR/build_report.json`` accounts for every input and clip (``accounting``: each
video's fate, each clip kept or rejected with its code, detail and hint; the sums add up), gives split health and
each split's identity-leak baseline, and records timings, settings and versions; ``OUT_DIR/build_inputs.csv``
has one row per input."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from headswapbench.errors import HeadSwapBenchError
from headswapbench.fileio import atomic_write_json, atomic_write_text, sha256_json
from headswapbench.options import parse_options as _parse_options
from headswapbench.reasons import Reason, code_of
from headswapbench.runner import (
    DONE,
    FAILED,
    SKIPPED,
    Manifest,
    SkipItem,
    Stage,
    StageResult,
    make_executor,
    run_stage,
)
from headswapbench.split import health_warnings

from .accounting import inputs_csv
from .filter import FilterSettings
from .ingest import IngestSettings

STAGES = ("ingest", "edit", "filter", "package")
DEFAULT_SPLITS = {"train": 0.8, "val": 0.1, "test": 0.1}
REPORT_FILE = "build_report.json"
CONTACT_SHEET_FILE = "contact_sheet.html"
INPUTS_FILE = "build_inputs.csv"
IDENTITY_BACKEND = "dlib"  # ingest's subject clustering, the filter's identity check, the leak baseline
WORK_DIR = ".work"


@dataclass
class BuildConfig:
    raw_dir: Path
    out_dir: Path
    subjects_csv: Path | None = None
    editor: str = "warp"
    editor_options: dict[str, Any] = field(default_factory=dict)
    ingest: IngestSettings = field(default_factory=IngestSettings)
    filter: FilterSettings = field(default_factory=FilterSettings)
    splits: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SPLITS))
    seed: int = 0
    max_clips_per_subject: int = 0  # 0 = no cap; else keep each subject's best-synchronised N clips
    shard: tuple[int, int] = (0, 1)
    executor: str = "local"
    ray_address: str | None = None
    progress: bool = True

    def __post_init__(self) -> None:
        self.raw_dir, self.out_dir = Path(self.raw_dir), Path(self.out_dir)
        if self.subjects_csv is not None:
            self.subjects_csv = Path(self.subjects_csv)


def parse_splits(spec: str) -> dict[str, float]:
    """'train=0.8,val=0.1,test=0.1' → dict (fractions must be positive and sum to 1)."""
    out: dict[str, float] = {}
    try:
        for part in spec.split(","):
            name, _, frac = part.partition("=")
            out[name.strip()] = float(frac)
    except ValueError:
        raise HeadSwapBenchError(
            f"--splits must look like train=0.8,val=0.1,test=0.1, got '{spec}'"
        ) from None
    if not out or any(not k or v <= 0 for k, v in out.items()) or abs(sum(out.values()) - 1) > 1e-6:
        raise HeadSwapBenchError(f"--splits '{spec}': names must be non-empty, fractions > 0 summing to 1")
    return out


def parse_options(pairs: list[str] | None) -> dict[str, Any]:
    """--editor-option key=value pairs → dict (JSON values where they parse)."""
    return _parse_options(pairs, "--editor-option")


def clip_seed(seed: int, clip_id: str) -> int:
    """Per-clip seed from the build seed and the clip id: stable whatever the order or sharding."""
    return int(hashlib.sha256(f"{seed}:{clip_id}".encode()).hexdigest()[:8], 16)


# ------------------------------------------------------------------------------------------ stage steps
# Callable objects (not closures) so Ray can pickle them; heavy state (the editor) is cached per process.
class IngestStep:
    def __init__(self, folder: Path, settings: IngestSettings, progress: bool = False):
        self.folder, self.settings, self.progress = Path(folder), settings, progress

    def __call__(self, key: str, path: str) -> dict:
        from .ingest import ingest_video, release_memory

        try:
            return ingest_video(key, Path(path), self.folder, self.settings, progress=self.progress)
        finally:
            release_memory()


_EDITORS: dict[str, Any] = {}
_MISSING_WEIGHTS: dict[str, Exception] = {}


def _editor(name: str, options: dict):
    from .edit import make_editor

    key = json.dumps([name, options], sort_keys=True, default=str)
    if key not in _EDITORS:
        _EDITORS[key] = make_editor(name, **options)
    return _EDITORS[key]


class EditStep:
    def __init__(self, folder: Path, editor: str, options: dict, seed: int):
        self.folder, self.editor, self.options, self.seed = Path(folder), editor, dict(options), seed

    def __call__(self, clip_id: str, clip_path: str) -> dict:
        from headswapbench.errors import FaceNotFoundError, MissingWeightsError
        from headswapbench.video import read_video, write_video

        from .ingest import release_memory

        key = json.dumps([self.editor, self.options], sort_keys=True, default=str)
        if key in _MISSING_WEIGHTS:  # fail the rest fast: one download attempt per process, not per clip
            raise _MISSING_WEIGHTS[key]
        editor = _editor(self.editor, self.options)
        seed = clip_seed(self.seed, clip_id)
        t0 = time.perf_counter()
        clip = read_video(clip_path)
        t1 = time.perf_counter()
        try:
            prompt, attributes = editor.sample_prompt(seed, clip=clip)  # may find no usable donor: no_donor
            edited = editor.apply(clip, prompt, seed)
        except FaceNotFoundError as exc:  # in the clip, or in the donor photo (the error's code says which)
            raise SkipItem(exc.code or Reason.NO_FACE_TO_EDIT, str(exc)) from None
        except MissingWeightsError as exc:
            _MISSING_WEIGHTS[key] = exc
            raise
        t2 = time.perf_counter()
        out = self.folder / "clips" / f"{clip_id}.mp4"
        write_video(out, edited)
        t3 = time.perf_counter()
        release_memory()
        return {
            "file": f"clips/{clip_id}.mp4",
            "prompt": prompt,
            "attributes": attributes,
            "seed": seed,
            "editor": editor.name,
            "editor_version": editor.version,
            "editor_seconds": round(t2 - t1, 4),
            "io_seconds": round((t1 - t0) + (t3 - t2), 4),
        }


class FilterStep:
    def __init__(self, settings: FilterSettings):
        self.settings = settings

    def __call__(self, clip_id: str, payload: dict) -> dict:
        from .filter import filter_pair
        from .ingest import release_memory

        try:
            return filter_pair(payload["target"], payload["driving"], self.settings)
        finally:
            release_memory()


# ------------------------------------------------------------------------------------------ the build
class Build:
    """One build directory: paths, settings hashes, and the stages. Use `run_build` for the whole thing."""

    def __init__(self, cfg: BuildConfig):
        self.cfg = cfg
        if not cfg.raw_dir.is_dir():
            raise HeadSwapBenchError(f"raw video folder {cfg.raw_dir} does not exist or is not a folder")
        from .edit import EDITORS

        EDITORS.get(cfg.editor)  # an unknown editor fails now, not after a long ingest
        self.work = cfg.out_dir / WORK_DIR
        self._editor_desc: dict | None = None
        self._hashes: dict[str, str] = {}
        self.executor = make_executor(cfg.executor, cfg.ray_address)
        self.results: dict[str, StageResult] = {}
        self.timings: dict[str, float] = {}
        self.package_outcome: dict | None = None  # kept / dropped clip ids of this run's package step
        self.subjects: dict[str, str] = {}  # video → subject, once the package step has grouped them
        self.references: dict[str, Path] = {}  # clip_id → reference image, once the package step has picked them

    @property
    def editor_desc(self) -> dict:
        """The editor's name, version and options (made on first use: ingest alone needs no editor)."""
        if self._editor_desc is None:
            self._editor_desc = _editor(self.cfg.editor, self.cfg.editor_options).describe()
        return self._editor_desc

    @property
    def hashes(self) -> dict[str, str]:
        """Settings hash per stage, each covering everything upstream (names the stage's work folder)."""
        h = self._hashes
        if "ingest" not in h:
            h["ingest"] = sha256_json({"ingest": asdict(self.cfg.ingest)})[:12]
        return h

    def stage_hash(self, stage: str) -> str:
        h = self.hashes
        if stage == "edit" and "edit" not in h:
            h["edit"] = sha256_json({"up": h["ingest"], "editor": self.editor_desc, "seed": self.cfg.seed})[
                :12
            ]
        if stage == "filter" and "filter" not in h:
            h["filter"] = sha256_json({"up": self.stage_hash("edit"), "filter": asdict(self.cfg.filter)})[:12]
        return h[stage]

    # paths -----------------------------------------------------------------------------------------------
    def folder(self, stage: str) -> Path:
        return self.work / f"{stage}-{self.stage_hash(stage)}"

    def manifest_path(self, stage: str) -> Path:
        i, n = self.cfg.shard
        name = "manifest.jsonl" if n == 1 else f"manifest.shard-{i}-of-{n}.jsonl"
        return self.folder(stage) / name

    def records(self, stage: str) -> dict[str, dict]:
        """Every shard's manifest of a stage merged (the last record of an item wins)."""
        out: dict[str, dict] = {}
        for p in sorted(self.folder(stage).glob("manifest*.jsonl")):
            out.update(Manifest(p).load())
        return out

    def _remove_stale_temps(self, folder: Path) -> None:
        """Delete temp files a killed run left behind (atomic writes use hidden '.name.XXXX' files beside the
        target). Only when unsharded: another shard may be writing into the same folder right now."""
        if self.cfg.shard[1] != 1 or not folder.is_dir():
            return
        for p in folder.rglob(".*"):
            if p.is_file():
                p.unlink(missing_ok=True)

    def _run(self, stage: Stage, items: list[tuple[str, Any]], shard: tuple[int, int]) -> StageResult:
        self._remove_stale_temps(self.folder(stage.name))
        atomic_write_json(self.folder(stage.name) / "settings.json", self.stage_settings(stage.name))
        res = run_stage(
            stage,
            items,
            self.manifest_path(stage.name),
            executor=self.executor,
            shard=shard,
            progress=self.cfg.progress,
        )
        self.results[stage.name] = res
        self.timings[stage.name] = round(res.seconds, 3)
        counts = res.counts()
        if counts[FAILED] and not counts[DONE] and not counts[SKIPPED]:
            first = next(r for r in res.records.values() if r["status"] == FAILED)
            raise HeadSwapBenchError(
                f"stage '{stage.name}': all {counts[FAILED]} item(s) failed; first "
                f"({first['item_id']}, {code_of(first.get('code'))}): {first['reason']}"
            )
        return res

    def stage_settings(self, stage: str) -> dict:
        if stage == "ingest":
            return {"ingest": asdict(self.cfg.ingest)}
        if stage == "edit":
            return {"editor": self.editor_desc, "seed": self.cfg.seed, "ingest_hash": self.hashes["ingest"]}
        return {"filter": asdict(self.cfg.filter), "edit_hash": self.stage_hash("edit")}

    # stages ----------------------------------------------------------------------------------------------
    def videos(self) -> list[tuple[str, Path]]:
        from .ingest import scan_videos

        vids = scan_videos(self.cfg.raw_dir, exclude=self.cfg.out_dir)
        if not vids:
            raise HeadSwapBenchError(f"no video files found in {self.cfg.raw_dir}")
        return vids

    def run_ingest(self) -> StageResult:
        stage = Stage("ingest", IngestStep(self.folder("ingest"), self.cfg.ingest, self.cfg.progress))
        res = self._run(stage, [(k, str(p)) for k, p in self.videos()], self.cfg.shard)
        usable = any(r["status"] == DONE and r["result"].get("clips") for r in res.records.values())
        if not usable and self.cfg.shard[1] == 1:
            why = "; ".join(f"{k}: {code_of(r.get('code'))} ({r.get('reason', '')})"
                            for k, r in res.records.items() if r["status"] != DONE)
            raise HeadSwapBenchError(f"no usable clip in {len(res.records)} video(s) ({why[:600]})")
        return res

    def clips(self, shard_only: bool = True) -> dict[str, dict]:
        """clip_id → ingest clip record (+ 'video'), from this shard's ingested videos (or every shard's)."""
        from headswapbench.runner import in_shard

        out = {}
        for key, rec in sorted(self.records("ingest").items()):
            if rec["status"] != DONE or (shard_only and not in_shard(key, self.cfg.shard)):
                continue
            for clip in rec["result"]["clips"]:
                out[clip["clip_id"]] = {
                    **clip,
                    "video": key,
                    "path": str(self.folder("ingest") / clip["file"]),
                }
        return out

    def _need(self, stage: str, upstream: str) -> None:
        if not self.records(upstream):
            raise HeadSwapBenchError(
                f"--stage {stage}: the {upstream} stage has not run for these settings "
                f"(no manifest in {self.folder(upstream)}); run it first"
            )

    def run_edit(self) -> StageResult:
        self._need("edit", "ingest")
        editor = _editor(self.cfg.editor, self.cfg.editor_options)
        stage = Stage(
            "edit",
            EditStep(self.folder("edit"), self.cfg.editor, self.cfg.editor_options, self.cfg.seed),
            num_gpus=float(getattr(editor, "num_gpus", 0.0) or 0.0),
        )
        items = [(cid, c["path"]) for cid, c in self.clips().items()]
        return self._run(stage, items, (0, 1))  # already sharded by video

    def run_filter(self) -> StageResult:
        self._need("filter", "edit")
        edited = self.records("edit")
        items = [
            (cid, {"target": c["path"], "driving": str(self.folder("edit") / edited[cid]["result"]["file"])})
            for cid, c in self.clips().items()
            if cid in edited and edited[cid]["status"] == DONE
        ]
        return self._run(Stage("filter", FilterStep(self.cfg.filter)), items, (0, 1))

    def run_package(self) -> dict:
        """Group subjects, pick references, split by subject and write the dataset (needs every shard)."""
        from headswapbench.split import DatasetInfo, TripletRow, write_dataset

        from . import package as pkg
        from .ingest import (
            assign_subjects_and_references,
            grouping_rule,
            grouping_summary,
            read_subjects_csv,
            video_identities,
        )

        self._need("package", "filter")
        videos = self.videos()
        ingested = self.records("ingest")
        missing = [k for k, _ in videos if k not in ingested]
        if missing:
            raise HeadSwapBenchError(
                f"--stage package: {len(missing)} video(s) not ingested yet (other shards "
                f"still running?), e.g. {missing[:3]}"
            )
        t0 = time.perf_counter()
        done = {k: r["result"] for k, r in ingested.items() if r["status"] == DONE}
        mapping = (
            read_subjects_csv(self.cfg.subjects_csv, self.cfg.raw_dir) if self.cfg.subjects_csv else None
        )
        same = identity_threshold()
        rule = None if mapping else grouping_rule(IDENTITY_BACKEND, same)
        subjects, refs, no_ref = assign_subjects_and_references(done, self.cfg.ingest, mapping, same, rule)
        names = {k: p.relative_to(self.cfg.raw_dir).as_posix() for k, p in videos}
        grouping = grouping_summary(video_identities(done), subjects, rule, names, same)
        atomic_write_json(self.work / "subjects.json", {"subjects": subjects, **grouping, "threshold": same})
        self.subjects = subjects
        self.references = {cid: self.folder("ingest") / ref["file"] for cid, ref in refs.items()}
        edited, filtered = self.records("edit"), self.records("filter")
        clips = self.clips(shard_only=False)
        rows, files, dropped = [], {}, {}
        # what the report accounts, even if this fails
        self.package_outcome = {"kept": [], "dropped": dropped, "subjects": grouping}
        for cid, clip in clips.items():
            e, f = edited.get(cid), filtered.get(cid)
            if not e or not f or e["status"] != DONE or f["status"] != DONE:
                continue  # counted in their stage
            if cid in no_ref:
                dropped[cid] = no_ref[cid]
                continue
            ref, er, scores = refs[cid], e["result"], f["result"]
            subject = subjects[clip["video"]]
            rows.append(
                TripletRow.for_clip(
                    cid,
                    subject,
                    source_video=clip["video"],
                    start_frame=clip["start_frame"],
                    num_frames=clip["num_frames"],
                    fps=clip["fps"],
                    width=self.cfg.ingest.size,
                    height=self.cfg.ingest.size,
                    editor=er["editor"],
                    editor_version=er["editor_version"],
                    prompt=er["prompt"],
                    seed=er["seed"],
                    sync_nme=scores.get("sync_nme"),
                    sync_expression_dynamic=scores.get("sync_expression_dynamic"),
                    identity_similarity_to_target=scores.get("identity_similarity_to_target"),
                    sync_pose_worst_axis=scores.get("sync_pose_worst_axis"),
                    jitter_excess=scores.get("jitter_excess"),
                    identity_threshold=scores.get("identity_threshold"),
                    attributes=er.get("attributes", {}),
                    artifact_score=scores.get("artifact_score"),
                    reference_video=ref["video"],
                    reference_frame=ref["frame"],
                    crop_window=clip["window"],
                )
            )
            files[cid] = {
                "driving": self.folder("edit") / er["file"],
                "reference": self.folder("ingest") / ref["file"],
                "target": clip["path"],
            }
        if self.cfg.max_clips_per_subject:
            rows, capped = pkg.cap_clips_per_subject(rows, self.cfg.max_clips_per_subject)
            dropped.update(capped)
        if not rows:
            raise HeadSwapBenchError("nothing to package: no clip passed every stage (see build_report.json)")
        assignment = pkg.assign_splits(
            sorted({r.subject_id for r in rows}), self.cfg.splits, self.cfg.seed
        )
        by_split: dict[str, list] = {name: [] for name in self.cfg.splits}
        for r in rows:
            by_split[assignment[r.subject_id]].append(r)
        by_split = {k: v for k, v in by_split.items() if v}
        leak = self.leak_baselines(by_split, files)
        info = DatasetInfo(
            editor=self.editor_desc,
            filter=asdict(self.cfg.filter),
            ingest=asdict(self.cfg.ingest),
            split_seed=self.cfg.seed,
            split_ratios=dict(self.cfg.splits),
            sources=str(self.cfg.raw_dir.name),
            toolkit_version=_version("headswapbench") or "",
            max_clips_per_subject=self.cfg.max_clips_per_subject,
            leak_baseline=leak,
            subjects=grouping,
        )
        for split in self.cfg.splits:
            self._remove_stale_temps(self.cfg.out_dir / split)
        summary = write_dataset(self.cfg.out_dir, by_split, files, info)
        self.timings["package"] = round(time.perf_counter() - t0, 3)
        self.package_outcome["kept"] = sorted(r.clip_id for r in rows)
        return {"rows": len(rows), "kept": self.package_outcome["kept"], "dropped": dropped, "summary": summary,
                "leak_baseline": leak, "subjects": grouping}

    def leak_baselines(self, by_split: dict[str, list], files: dict[str, dict]) -> dict[str, dict]:
        """Identity-leak baseline per split (``headswapbench.split.leak``) with the build's identity backend and
        the filter's identity stride, so each V_c's analysis comes from the cache the filter filled."""
        from headswapbench.split import identity_leak_baseline

        from .filter import identity_stride

        return {
            name: identity_leak_baseline(
                ((r.subject_id, files[r.clip_id]["driving"], files[r.clip_id]["reference"]) for r in rows),
                identity=IDENTITY_BACKEND,
                identity_every=identity_stride(rows[0].num_frames, self.cfg.filter),
                progress=self.cfg.progress,
            )
            for name, rows in by_split.items()
        }

    # contact sheet ---------------------------------------------------------------------------------------
    def contact_sheet_rows(self, package: dict | None) -> list:
        """Every edited clip with its fate (kept, or the stage, code and reason that rejected it: the ledger's,
        `accounting.rejected_clips`), its media and its filter scores."""
        from .accounting import rejected_clips
        from .contact_sheet import SheetRow

        fates = rejected_clips(self.ledger(package))
        kept = set((package or {}).get("kept") or ())
        edited, filtered = self.records("edit"), self.records("filter")
        rows = []
        for cid, clip in self.clips(shard_only=False).items():
            e = edited.get(cid)
            if e is None:
                continue  # not edited yet (or rejected at ingest: no V_c to show)
            f = filtered.get(cid) or {}
            row = SheetRow(clip_id=cid, subject=self.subjects.get(clip["video"], ""), target=clip["path"],
                           reference=self.references.get(cid), scores=dict(f.get("result") or {}))
            if e["status"] == DONE:
                row.driving = self.folder("edit") / e["result"]["file"]
                row.editor_note = str(e["result"].get("prompt", ""))
            if cid in fates:
                fate = fates[cid]
                row.status, row.stage, row.code, row.detail = "rejected", fate["stage"], fate["code"], fate["reason"]
            elif cid not in kept:
                row.status, row.code = "rejected", "pending"
            rows.append(row)
        return rows

    def write_contact_sheet(self, package: dict | None) -> Path | None:
        """OUT_DIR/contact_sheet.html: every clip as V_c | I_ref | V_a with its scores and fate (see
        `pipelines.contact_sheet`). Nothing when no clip was edited."""
        from .contact_sheet import write_contact_sheet

        rows = self.contact_sheet_rows(package)
        if not rows:
            return None
        note = f"editor {self.cfg.editor}; clips of {self.cfg.ingest.frames} frames at {self.cfg.ingest.size}²"
        # clips the ingest rejected were never edited, so they have no strip: say how many, so the counts add up
        unedited = self.ledger(package)["totals"]["clips"]["rejected_by_stage"].get("ingest", {})
        if unedited:
            why = ", ".join(f"{k} {v}" for k, v in sorted(unedited.items()))
            note += (f"; {sum(unedited.values())} more clip(s) rejected at ingest before any edit ({why}): "
                     "listed in build_report.json")
        # the title names the inputs, not OUT_DIR: a resumed or moved build writes the same bytes
        return write_contact_sheet(rows, self.cfg.out_dir / CONTACT_SHEET_FILE,
                                   title=f"build of {self.cfg.raw_dir.name}", note=note)

    # report ----------------------------------------------------------------------------------------------
    def ledger(self, package: dict | None) -> dict:
        """Every input's fate and every clip's (``accounting.account``), from the manifests of these settings."""
        from .accounting import account
        from .ingest import scan_videos

        videos = [(k, p.relative_to(self.cfg.raw_dir).as_posix())
                  for k, p in scan_videos(self.cfg.raw_dir, exclude=self.cfg.out_dir)]
        ingest = self.records("ingest")
        touched = [n for n in ("edit", "filter") if n in self._hashes]  # no editor needed for ingest alone
        edit = self.records("edit") if "edit" in touched else {}
        filtered = self.records("filter") if "filter" in touched else {}
        return account(videos, ingest, edit, filtered, package)

    def report(self, package: dict | None, stages_run: list[str]) -> dict:
        stages = {}
        for name in ("ingest", "edit", "filter"):
            if name not in self._hashes:
                continue  # not touched by this run (ingest alone needs no editor)
            recs = self.records(name)
            if not recs:
                continue
            res = StageResult(stage=name, records=recs)
            work_s = sum(r.get("seconds", 0.0) for r in recs.values())
            entry = {
                "items": len(recs),
                **res.counts(),
                "rejected_by_reason": res.reasons(),
                "item_seconds_total": round(work_s, 3),
                "folder": str(self.folder(name).relative_to(self.cfg.out_dir)),
            }
            if name in self.results:
                entry["wall_seconds_this_run"] = self.timings[name]
                entry["reused_this_run"] = self.results[name].reused
            failures = [f"{k}: {r['reason']}" for k, r in recs.items() if r["status"] == FAILED]
            if failures:
                entry["failures"] = failures[:10]  # full tracebacks are in the manifest
            if name == "ingest":
                clips = [c for r in recs.values() if r["status"] == DONE for c in r["result"]["clips"]]
                rej: dict[str, int] = {}
                for r in recs.values():
                    for c in (r.get("result") or {}).get("rejected_clips", []):
                        k = code_of(c.get("code")).value
                        rej[k] = rej.get(k, 0) + 1
                entry.update(clips_cut=len(clips), clips_rejected_by_reason=rej)
            if name == "edit":
                done = [r["result"] for r in recs.values() if r["status"] == DONE]
                entry["editor_seconds_total"] = round(sum(d.get("editor_seconds", 0) for d in done), 3)
                entry["io_seconds_total"] = round(sum(d.get("io_seconds", 0) for d in done), 3)
            if name == "filter":
                entry["failed_checks"] = {k: v for k, v in res.reasons().items()}
            stages[name] = entry
        if package is not None:
            dropped: dict[str, int] = {}
            for why in package["dropped"].values():
                k = code_of(why.get("code")).value
                dropped[k] = dropped.get(k, 0) + 1
            kept = package.get("rows", len(package.get("kept") or ()))
            stages["package"] = {
                "items": kept + len(package["dropped"]),  # clips that passed the filter
                "done": kept,
                "skipped": len(package["dropped"]),
                "failed": 0,
                "rows": kept,
                "rejected_by_reason": dropped,
                "wall_seconds_this_run": self.timings.get("package"),
                "splits": package.get("summary"),
            }
        ledger = self.ledger(package)
        splits = split_health((package or {}).get("summary"), (package or {}).get("leak_baseline"))
        return {
            "toolkit_version": _version("headswapbench"),
            "stages_run": stages_run,
            "shard": list(self.cfg.shard),
            "executor": self.cfg.executor,
            "settings": {
                "ingest": asdict(self.cfg.ingest),
                "filter": asdict(self.cfg.filter),
                "editor": self._editor_desc,
                "splits": self.cfg.splits,
                "seed": self.cfg.seed,
                "max_clips_per_subject": self.cfg.max_clips_per_subject,
                "subjects_csv": str(self.cfg.subjects_csv) if self.cfg.subjects_csv else None,
                "identity_threshold": identity_threshold(),
            },
            "settings_hashes": self.hashes,
            "totals": ledger["totals"],
            "reasons": ledger["reasons"],
            "subjects": (package or {}).get("subjects"),
            "splits": splits,
            "warnings": health_warnings(splits),
            "inputs": ledger["inputs"],
            "stages": stages,
            "timings_seconds": self.timings,
            "versions": {
                p: _version(p)
                for p in (
                    "numpy",
                    "mediapipe",
                    "av",
                    "opencv-python",
                    "dlib-bin",
                    "torch",
                    "diffusers",
                    "ray",
                )
            }
            | {"python": platform.python_version()},
        }


def split_health(summary: dict | None, leak: dict | None) -> dict[str, dict]:
    """Per split: subjects, clips, clips per subject, the largest subject and the identity-leak baseline."""
    keys = ("subjects", "clips", "clips_per_subject", "largest_subject", "balancing_cap")
    return {name: {**{k: s.get(k) for k in keys}, "identity_leak_baseline": (leak or {}).get(name)}
            for name, s in (summary or {}).items()}


def identity_threshold() -> float:
    """Same-person cosine similarity of the identity backend ingest embeds with (subject clustering and the
    reference sanity check): the face module's measured value (dlib: ``DlibIdentity.threshold``)."""
    from headswapbench.face import get_identity_model

    return float(get_identity_model(IDENTITY_BACKEND).threshold)


def _version(dist: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def run_build(cfg: BuildConfig, stages: list[str] | None = None) -> dict:
    """Run the chosen stages (default: all; with ``--shard`` other than 0/1 the package step waits for an
    explicit ``--stage package`` once every shard is done) and write OUT_DIR/build_report.json."""
    stages = list(stages or STAGES)
    bad = [s for s in stages if s not in STAGES]
    if bad:
        raise HeadSwapBenchError(f"unknown stage(s) {bad}; stages: {', '.join(STAGES)}")
    build = Build(cfg)
    sharded = cfg.shard[1] > 1
    package, ran, error = None, [], None
    try:
        for name in STAGES:
            if name not in stages or (name == "package" and sharded and stages == list(STAGES)):
                continue  # sharded: package waits for an explicit --stage package (see docstring)
            ran.append(name)
            if name == "package":
                package = build.run_package()
            else:
                getattr(build, f"run_{name}")()
    except HeadSwapBenchError as exc:
        error = exc
    if package is None and build.package_outcome is not None:  # the package step stopped: account its drops
        package = {"rows": 0, **build.package_outcome, "summary": None}
    sheet = build.write_contact_sheet(package) if "package" in ran else None
    report = build.report(package, ran)
    if sheet is not None:
        report["contact_sheet"] = str(sheet.relative_to(cfg.out_dir))
    if sharded and "package" not in ran:
        report["note"] = (
            "sharded run: run `headswapbench build RAW OUT --stage package` once every shard has finished"
        )
    if error is not None:
        report["error"] = str(error)
    atomic_write_json(cfg.out_dir / REPORT_FILE, report)
    atomic_write_text(cfg.out_dir / INPUTS_FILE, inputs_csv(report["inputs"]))
    if error is not None:
        raise error
    return report

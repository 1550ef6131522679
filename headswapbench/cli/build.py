"""`headswapbench build RAW_DIR OUT_DIR`: raw talking-head videos → paired splits (docs/build.md)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("build")
    def build(
        raw_dir: Path = typer.Argument(..., help="Folder of raw videos (searched recursively)."),
        out_dir: Path = typer.Argument(
            ..., help="Dataset folder to write (work files go to OUT_DIR/.work/)."
        ),
        subjects: Path | None = typer.Option(
            None,
            "--subjects",
            help="CSV with columns video,subject "
            "(video path relative to RAW_DIR). Default: group by identity.",
        ),
        editor: str = typer.Option(
            "warp", "--editor", help="Head editor: warp (offline), diffusers, or module:attr."
        ),
        editor_option: list[str] = typer.Option(
            [], "--editor-option", help="Editor option key=value (repeatable)."
        ),
        donors: Path | None = typer.Option(
            None, "--donors", help="Folder of donor face photos (warp editor; each is screened for pose, "
            "eyes, sharpness, light and occlusion first)."
        ),
        frames: int = typer.Option(121, "--frames", min=2, help="Frames per clip."),
        size: int = typer.Option(512, "--size", min=32, help="Output side in pixels (square crops)."),
        ref_gap: float = typer.Option(
            2.0,
            "--ref-gap",
            min=0.0,
            help="Seconds between a clip and a reference taken from the same video.",
        ),
        max_clips: int = typer.Option(
            0, "--max-clips-per-video", min=0, help="Cap on clips per video (0: all)."
        ),
        splits: str = typer.Option(
            "train=0.8,val=0.1,test=0.1", "--splits", help="Split fractions by subject."
        ),
        max_per_subject: int = typer.Option(
            0,
            "--max-clips-per-subject",
            min=0,
            help="Keep at most N clips per subject, the best-synchronised (0: all); balances the splits.",
        ),
        seed: int = typer.Option(
            0, "--seed", help="Seed of per-clip editor seeds and of the split assignment."
        ),
        shard: str | None = typer.Option(None, "--shard", help="Run shard i of n ('i/n') of the videos."),
        stage: list[str] = typer.Option(
            [],
            "--stage",
            help="Run only these stages (repeatable): ingest, edit, filter, package. Default: all.",
        ),
        executor: str = typer.Option("local", "--executor", help="local (in-process) or ray."),
        ray_address: str | None = typer.Option(
            None,
            "--ray-address",
            help="Ray cluster address ('auto' to join a running cluster); default: start a local Ray.",
        ),
        no_progress: bool = typer.Option(False, "--no-progress", help="Hide progress bars."),
        as_json: bool = typer.Option(False, "--json", help="Print the build report as JSON."),
    ) -> None:
        """Ingest → edit → filter → package, resumable (rerun the same command after a crash)."""
        from dataclasses import replace

        from ..pipelines.build import BuildConfig, parse_options, parse_splits, run_build
        from ..pipelines.filter import FilterSettings
        from ..pipelines.ingest import IngestSettings
        from ..runner import parse_shard
        from .common import emit

        options = parse_options(editor_option)
        if donors is not None:
            options["donors"] = str(donors)
        cfg = BuildConfig(
            raw_dir=raw_dir,
            out_dir=out_dir,
            subjects_csv=subjects,
            editor=editor,
            editor_options=options,
            ingest=replace(
                IngestSettings(), frames=frames, size=size, ref_gap_s=ref_gap, max_clips_per_video=max_clips
            ),
            filter=FilterSettings(),
            splits=parse_splits(splits),
            seed=seed,
            max_clips_per_subject=max_per_subject,
            shard=parse_shard(shard),
            executor=executor,
            ray_address=ray_address,
            progress=not no_progress,
        )
        report = run_build(cfg, stage or None)
        if as_json:
            for w in report.get("warnings", []):
                typer.echo(f"warning: {w}", err=True)  # stdout stays one JSON document
        emit(report, as_json, render_report(report, out_dir))


MAX_INPUT_ROWS = 30  # above this, the table gives per-reason counts and points to build_inputs.csv


def render_report(report: dict, out_dir: Path) -> str:
    """The end-of-build text: every input's fate (or, for many inputs, the ones with nothing kept), the reasons
    with what would change them, split health and the leak baseline, warnings, stage timings."""
    from ..pipelines.build import INPUTS_FILE, REPORT_FILE
    from .common import format_table

    v, c = report["totals"]["videos"], report["totals"]["clips"]
    not_used = {**v["skipped_by_reason"], **{f"{k} (failed)": n for k, n in v["failed_by_reason"].items()}}
    head = (f"{v['in']} input video(s): {v['used']} used"
            + "".join(f", {n} skipped {k}" for k, n in not_used.items())
            + (f", {v['pending']} not ingested yet" if v["pending"] else ""))
    clips = (f"{c['cut']} clip(s) cut: {c['kept']} kept, {c['rejected']} rejected"
             + (f", {c['pending']} pending (later stages not run)" if c["pending"] else ""))
    lines = [head, clips, ""]
    inputs = report["inputs"]

    def row(i: dict) -> dict:
        why = i["skip"]["code"] + ": " + i["skip"]["reason"] if i.get("skip") else ", ".join(
            f"{k}={n}" for k, n in i["rejected_by_reason"].items())
        return {"input": i["input"], "fate": i["fate"], "cut": i["clips_cut"], "kept": i["kept"],
                "rejected": i["rejected"], "why": why[:110]}

    cols = ["input", "fate", "cut", "kept", "rejected", "why"]
    if len(inputs) <= MAX_INPUT_ROWS:
        total = {"input": "total", "cut": c["cut"], "kept": c["kept"], "rejected": c["rejected"]}
        lines += [format_table([row(i) for i in inputs] + [total], cols), ""]
    else:
        empty = [i for i in inputs if not i["kept"]]
        lines.append(f"{len(inputs)} inputs: one row each in {out_dir / INPUTS_FILE}; "
                     f"{len(empty)} gave no kept clip" + (", the first 10:" if len(empty) > 10 else ":" if empty
                                                          else ""))
        if empty:
            lines += [format_table([row(i) for i in empty[:10]], cols)]
        lines.append("")
    if report.get("reasons"):
        lines.append("rejections by reason (→ what would change the outcome):")
        for code, r in report["reasons"].items():
            counts = ", ".join(f"{n} {what}" for n, what in ((r["videos"], "video(s)"), (r["clips"], "clip(s)")) if n)
            lines.append(f"  {code} [{'/'.join(r['stages'])}] {counts}: {r['description']}")
            if r["hint"]:
                lines.append(f"      → {r['hint']}")
        lines.append("")
    if report.get("splits"):
        srows = []
        for name, s in report["splits"].items():
            cps, top, leak = s.get("clips_per_subject") or {}, s.get("largest_subject") or {}, \
                s.get("identity_leak_baseline") or {}
            srows.append({"split": name, "subjects": s["subjects"], "clips": s["clips"],
                          "clips/subject min/med/max": f"{cps.get('min')}/{cps.get('median', 0):g}/{cps.get('max')}",
                          "largest subject": f"{top.get('share', 0):.0%}",
                          "leak top-1": leak.get("top1"), "chance": leak.get("chance")})
        lines += [format_table(srows), "(leak top-1: the driving clip alone retrieves the right subject; what a "
                                       "swapper scores by doing nothing)", ""]
    lines += subjects_text(report.get("subjects"))
    lines += [f"warning: {w}" for w in report.get("warnings", [])]
    stage_rows = [{"stage": name, "items": st.get("items"), "done": st.get("done"), "rejected": st.get("skipped"),
                   "failed": st.get("failed"), "seconds": st.get("wall_seconds_this_run")}
                  for name, st in report["stages"].items()]
    if stage_rows:
        lines += ["", format_table(stage_rows)]
    lines.append(f"report: {out_dir / REPORT_FILE} (every input and clip, with reasons); per input: "
                 f"{out_dir / INPUTS_FILE}")
    if report.get("contact_sheet"):
        lines.append(f"contact sheet: {out_dir / report['contact_sheet']} (every clip: V_c | I_ref | V_a, scores, fate)")
    if report.get("note"):
        lines.append(f"note: {report['note']}")
    return "\n".join(lines)


def subjects_text(grouping: dict | None, max_lines: int = 10) -> list[str]:
    """How the videos became subjects: the rule, each subject of several videos, the closest pairs kept apart."""
    if not grouping:
        return []
    how = ("from --subjects" if grouping["method"] == "csv"
           else f"by identity ({grouping['backend']}: {grouping['rule']})")
    groups, near = grouping["multi_video_subjects"], grouping["closest_apart"]
    lines = [f"{grouping['num_subjects']} subject(s) from {grouping['num_videos']} video(s), grouped {how}"
             + ("" if groups else "; one video each")]
    for subj, g in list(groups.items())[:max_lines]:
        lines.append(f"  {subj}: {', '.join(g['videos'])}")
    if len(groups) > max_lines:
        lines.append(f"  … {len(groups) - max_lines} more subject(s) of several videos in build_report.json")
    if near:
        a = near[0]
        lines.append(f"  {grouping['apart_above_same_person']} pair(s) of videos kept in different subjects are above "
                     f"the per-face same-person threshold; closest: {a['videos'][0]} ~ {a['videos'][1]} "
                     f"{a['similarity']:.3f}")
    if groups or near:
        lines.append("  (a wrong grouping: give the people with --subjects CSV, columns video,subject)")
    return lines + [""]

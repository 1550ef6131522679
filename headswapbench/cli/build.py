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
        from .common import emit, format_table

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
            shard=parse_shard(shard),
            executor=executor,
            ray_address=ray_address,
            progress=not no_progress,
        )
        report = run_build(cfg, stage or None)
        rows = []
        for name, st in report["stages"].items():
            reasons = st.get("rejected_by_reason") or {}
            rows.append(
                {
                    "stage": name,
                    "items": st.get("items", st.get("rows")),
                    "kept": st.get("done", st.get("rows")),
                    "rejected": st.get("skipped", sum(reasons.values())),
                    "failed": st.get("failed", 0),
                    "seconds": st.get("wall_seconds_this_run"),
                    "reasons": ", ".join(f"{k}={v}" for k, v in sorted(reasons.items())),
                }
            )
        table = format_table(rows, ["stage", "items", "kept", "rejected", "failed", "seconds", "reasons"])
        table += f"\nreport: {out_dir / 'build_report.json'}"
        if report.get("contact_sheet"):
            table += f"\ncontact sheet: {out_dir / report['contact_sheet']}"
        if report.get("note"):
            table += f"\nnote: {report['note']}"
        emit(report, as_json, table)

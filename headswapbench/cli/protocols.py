"""`headswapbench protocols list | show NAME|FILE | fingerprints NAME|FILE`: the protocols a split can be scored
under, and the reference fingerprints a leaderboard ranks each column against."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import emit, format_table

app = typer.Typer(help="The scoring protocols: list them, or show one in full.", no_args_is_help=True)


@app.command("list")
def list_cmd(json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON output.")) -> None:
    """The built-in protocols: name, version, whether official, headline metric, metrics, model files here."""
    from ..protocol import list_protocols, missing_weights

    rows = []
    for p in list_protocols():
        missing = missing_weights(p)
        rows.append({"name": p.name, "version": p.version, "official": p.is_official, "headline": p.headline,
                     "metrics": ", ".join(p.metrics), "replicates": p.replicates,
                     "model files here": "all" if not missing else f"missing {', '.join(missing)}",
                     "title": p.title, "sha256": p.sha256, "missing_weights": missing})
    cols = ["name", "version", "official", "headline", "replicates", "model files here", "title"]
    emit(rows, json_out, format_table(rows, cols))


@app.command("show")
def show_cmd(name: str = typer.Argument(..., help="Protocol name (headswapbench-v1, offline-v1) or a .toml file."),
             json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON output.")) -> None:
    """Everything a protocol fixes: metrics and options, backends, pinned model files, frames, aggregation."""
    from ..protocol import load_protocol, missing_weights, published_results

    p = load_protocol(name)
    d = p.to_dict()
    d["missing_weights"] = missing_weights(p)
    d["published"] = [{"method": r.method, "role": r.role, "source": r.source.get("id"), "metrics": r.metrics}
                      for r in published_results(p.name)] if p.builtin else []
    lines = [f"{p.label}  [{p.id}]", f"  file sha256   {p.sha256}", f"  source        {p.source or '-'}",
             f"  official      {p.is_official}", f"  headline      {p.headline}",
             f"  primary       {', '.join(p.primary)}", f"  secondary     {', '.join(p.secondary) or '-'}",
             f"  options       {p.metric_options or '-'}",
             f"  backends      landmarks {p.landmarks}, identity {p.identity} (frames: {p.identity_frames})",
             f"  frames        video: {p.frames_video}; image methods: {p.frames_image_method}",
             f"  aggregation   {p.over_clips} mean over clips, {p.interval} {p.level:.0%} interval, "
             f"{p.replicates} replicates, seed {p.seed}", "  model files"]
    for w, pin in d["weights"].items():
        here = "missing here" if w in d["missing_weights"] else "here"
        lines.append(f"    {w:<16} {pin:<64}  {here}")
    if d["published"]:
        lines.append("  published results (quoted, not reproduced)")
        lines.append("    " + format_table([{"method": r["method"], "source": r["source"], **r["metrics"]}
                                            for r in d["published"]]).replace("\n", "\n    "))
    if p.description:
        lines += ["", p.description]
    emit(d, json_out, "\n".join(lines))


@app.command("fingerprints")
def fingerprints_cmd(
    name: str = typer.Argument(..., help="Protocol name (headswapbench-v1, offline-v1) or a .toml file."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the reference file here (what `leaderboard "
                                    "build --reference FILE` reads)."),
    json_out: bool = typer.Option(False, "--json", help="Machine-readable JSON output (the reference file)."),
) -> None:
    """The fingerprint every result key of an official run of the protocol records on this machine (the
    runner's own code builds the backends and metrics; nothing is scored or downloaded). A key whose model
    file is not here is listed as unknown, with the file to fetch."""
    from ..evaluation.reference import expected_fingerprints
    from ..fileio import atomic_write_json

    ref = expected_fingerprints(name)
    doc = ref.to_dict()
    if out is not None:
        atomic_write_json(out, doc)
    rows = [{"key": k, "fingerprint": ref.hash(k)[:12], "backends": ", ".join(
        f"{b} {fp['settings'][b]}" for b in ("landmark_backend", "identity_backend") if b in fp["settings"]),
        "weights": ", ".join(f"{w}{'' if r['pinned'] else ' (unpinned)'}" for w, r in fp["weights"].items())}
        for k, fp in ref.fingerprints.items()]
    rows += [{"key": k, "fingerprint": "unknown", "backends": "", "weights": why} for k, why in ref.unknown.items()]
    text = f"{ref.source}\n" + format_table(rows, ["key", "fingerprint", "backends", "weights"])
    if out is not None:
        text += f"\nreference written to {out} (leaderboard build --reference {out})"
    emit(doc, json_out, text)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="protocols")

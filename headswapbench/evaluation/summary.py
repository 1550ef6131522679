"""What a person reads at the end of ``headswapbench evaluate``: a header naming the protocol, the metric table
(mean, 95 % CI, n, n_subjects, direction; the headline marked), notes, and one closing line naming any model
file that was missing and what was still computed."""

from __future__ import annotations


def summary_rows(results: dict) -> list[dict]:
    """One row per metric: mean, 95 % CI, n and n_subjects beside it, direction, note."""
    headline = (results.get("protocol") or {}).get("headline")
    rows = []
    for name, e in results["metrics"].items():
        hib = e.get("higher_is_better")
        arrow = "↑" if hib else ("↓" if hib is False else "·")
        label = f"{name} *" if name == headline else name
        if not e.get("available", e.get("mean") is not None):
            rows.append({"metric": label, "better": arrow, "mean": None, "ci95": "", "n": 0, "n_subjects": None,
                         "note": f"unavailable ({e.get('code', '?')}): " + str(e.get("reason", ""))[:70]})
            continue
        ci = e.get("ci95")
        rows.append({"metric": label, "better": arrow, "mean": e["mean"],
                     "ci95": f"[{ci[0]:.4g}, {ci[1]:.4g}]" if ci else "", "n": e.get("n"),
                     "n_subjects": e.get("n_subjects"), "note": "" if ci else "set level (no interval)"})
    return rows


def header(results: dict) -> str:
    """``METHOD on DATASET/SPLIT under PROTOCOL: s of n clips scored``, then the protocol's standing."""
    proto = results.get("protocol") or {}
    cov = results["coverage"]
    line = (f"{results['method']['name']} on {results['dataset']['name']}/{results['dataset']['split']}: "
            f"{cov['scored']} of {cov['expected']} clips scored"
            + (f" ({cov['failed']} failed: see per_clip.csv)" if cov["failed"] else ""))
    if not proto:
        return line
    standing = ""
    if proto.get("official"):
        standing = " (official: the published protocol, no overrides)"
    elif proto.get("overrides"):
        standing = " (NOT the protocol: overridden " + "; ".join(proto["overrides"]) + ")"
    return f"{line}\nprotocol: {proto.get('label', proto.get('id'))} [{proto.get('id')}]{standing}; headline marked *"


def closing_line(run) -> str | None:
    """One line when model files were missing: which to fetch (file, URL, where), and what was still computed."""
    if not run.missing or run.results is None:
        return None
    files = "; ".join(f"{exc.name} ({exc.filename} from {exc.url} into {exc.target})"
                      for exc in run.missing.values())
    computed = [k for k, e in run.results["metrics"].items() if e.get("available")]
    return (f"missing model files: {files} (`headswapbench weights list` shows them all); still computed: "
            f"{', '.join(computed) or 'nothing'}")

"""The run folder: one method on one split per ``DIR``, its ``run.json`` claim, its log, and stale records.

Why a claim file: ``DIR/outputs`` and ``DIR/stages`` are reused on the next run (that is how a killed run
resumes), so they must belong to the same method and split. ``run.json`` records both; a different method is
refused. A folder holding outputs or stage records but *no* readable ``run.json`` cannot say whose they are
(the file was deleted or damaged): it is refused too, rather than letting, say, the oracle be scored on
noop's outputs.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from ..errors import HeadSwapBenchError
from ..fileio import atomic_write_json
from ..reasons import Reason
from ..runner import DONE, FAILED, Manifest

RUN_FILE = "run.json"
log = logging.getLogger("headswapbench.evaluate")


def claim(out_dir: Path, method: dict, dataset: dict, source_kind: str, split_root: Path, split_name: str,
          outputs: Path | None) -> None:
    """Write ``run.json``, refusing a folder that holds another method's or split's work, or unclaimed work.
    The file also tells ``report`` where the split and the outputs are."""
    path = out_dir / RUN_FILE
    current = {"method": method, "dataset": {k: dataset[k] for k in ("name", "split", "checksum")},
               "source_kind": source_kind}
    if path.exists():
        try:
            prev = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(prev, dict):
                raise ValueError("not an object")
        except (OSError, ValueError) as exc:
            raise HeadSwapBenchError(f"{path} is damaged ({exc}), so the work in {out_dir} cannot be attributed to a "
                                     "method; delete the folder or use another --out") from None
        if prev.get("method") != method or prev.get("dataset") != current["dataset"]:
            raise HeadSwapBenchError(
                f"{out_dir} already holds an evaluation of {(prev.get('method') or {}).get('name')!r} on "
                f"{(prev.get('dataset') or {}).get('name')!r}/{(prev.get('dataset') or {}).get('split')!r}; "
                "use another --out folder (or delete it) to evaluate a different method or split")
    else:
        leftovers = [d for d in ("outputs", "stages", "features") if (out_dir / d).exists()]
        if leftovers:
            raise HeadSwapBenchError(
                f"{out_dir} holds {', '.join(d + '/' for d in leftovers)} but no {RUN_FILE}, so nothing says which "
                "method and split they belong to; delete them (or the folder) or use another --out")
    atomic_write_json(path, dict(current, split_root=str(Path(split_root).resolve()), split_name=split_name,
                                 outputs=str(Path(outputs).resolve()) if outputs else None))


def forget_missing_outputs(manifest_path: Path, output_path) -> None:
    """A clip recorded as swapped whose output file has since been deleted is swapped again."""
    m = Manifest(manifest_path)
    for cid, rec in m.load().items():
        if rec["status"] == DONE and not output_path(cid).is_file():
            m.append({"item_id": cid, "status": FAILED, "code": Reason.NO_OUTPUT.value,
                      "reason": "output file disappeared; swapping again"})


def forget_stale_scores(manifest_path: Path, fingerprints: dict[str, str]) -> None:
    """Scores of an output that changed since (size or mtime) are not reused."""
    m = Manifest(manifest_path)
    for cid, rec in m.load().items():
        if rec["status"] == DONE and cid in fingerprints and \
                (rec.get("result") or {}).get("fingerprint") != fingerprints[cid]:
            m.append({"item_id": cid, "status": FAILED, "code": Reason.OUTPUT_CHANGED.value,
                      "reason": "output changed since it was scored"})


def file_stamp(path: Path) -> str:
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def attach_log(path: Path) -> logging.Handler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


def detach_log(handler: logging.Handler) -> None:
    log.removeHandler(handler)
    handler.close()

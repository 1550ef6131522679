"""The stage runner shared by dataset building and evaluation: resumable, shardable, in-process or on Ray.

A stage is a plain function ``fn(item_id, payload) -> dict`` that writes its own outputs atomically and
returns a JSON-able record. The runner keeps an append-only manifest (one JSON line per finished item), so
a run killed at any moment restarts where it stopped: finished items are skipped, a torn last line is
ignored, and no item is recorded twice. ``SkipItem`` records a reason instead of a result; any other
exception is recorded as a failure with its cause and the run goes on (or stops, with ``fail_fast``).
A skipped or failed record carries its reason twice: ``code`` (a ``headswapbench.reasons.Reason``, for
counting) and ``reason`` (the sentence for people); nothing ever parses the sentence.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from tqdm.auto import tqdm

from .errors import HeadSwapBenchError
from .reasons import DESCRIPTIONS, Reason, code_of
from .registry import Registry

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


class SkipItem(Exception):
    """Raised by a stage function to drop an item with a recorded reason (not an error): ``code`` from the
    fixed set, ``detail`` the sentence that says what was found, ``scores`` kept in the record's result."""

    def __init__(self, code: Reason | str, detail: str = "", **scores: Any):
        self.code = Reason(code)  # an unknown code is a bug in the stage, not a skip
        self.detail = detail
        self.scores = scores
        super().__init__(f"{self.code}: {detail}" if detail else str(self.code))

    @property
    def reason(self) -> str:
        """The sentence recorded beside the code (the code's description when there is no detail)."""
        return self.detail or DESCRIPTIONS[self.code]


@dataclass
class Stage:
    name: str
    fn: Callable[[str, Any], dict]
    num_cpus: float = 1.0
    num_gpus: float = 0.0  # per worker; honoured by the Ray executor (one GPU per editor worker, say)


@dataclass
class StageResult:
    stage: str
    records: dict[str, dict] = field(default_factory=dict)  # item_id → manifest record (this shard)
    seconds: float = 0.0
    reused: int = 0

    def by_status(self, status: str) -> dict[str, dict]:
        return {k: v for k, v in self.records.items() if v["status"] == status}

    def counts(self) -> dict[str, int]:
        out = {DONE: 0, SKIPPED: 0, FAILED: 0}
        for r in self.records.values():
            out[r["status"]] += 1
        return out

    def reasons(self) -> dict[str, int]:
        """Skipped and failed items counted by reason code (a record without a known code counts as ``error``)."""
        out: dict[str, int] = {}
        for r in self.records.values():
            if r["status"] != DONE:
                key = code_of(r.get("code")).value
                out[key] = out.get(key, 0) + 1
        return out


class Manifest:
    """Append-only JSONL of item records for one stage; the last record of an item wins."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def load(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        if not self.path.exists():
            return out
        with open(self.path, "rb") as fh:
            for line in fh:
                if not line.endswith(b"\n"):
                    break  # torn write from a killed run: that item simply runs again
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                out[rec["item_id"]] = rec
        return out

    def append(self, record: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record, default=_jsonable) + "\n").encode()
        with open(self.path, "ab") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


def _jsonable(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def parse_shard(spec: str | None) -> tuple[int, int]:
    """'i/n' → (i, n) with 0 ≤ i < n; None → (0, 1)."""
    if not spec:
        return 0, 1
    try:
        i, n = (int(x) for x in spec.split("/"))
    except ValueError:
        raise HeadSwapBenchError(f"--shard must look like 'i/n' (e.g. 0/4), got '{spec}'") from None
    if n < 1 or not 0 <= i < n:
        raise HeadSwapBenchError(f"--shard {spec}: need 0 <= i < n")
    return i, n


def in_shard(item_id: str, shard: tuple[int, int]) -> bool:
    """Stable assignment by hash of the id, so adding inputs never moves existing items between shards."""
    i, n = shard
    return n == 1 or int(hashlib.sha1(item_id.encode()).hexdigest()[:8], 16) % n == i


def failure_code(exc: BaseException) -> Reason:
    """The code a failed item records: the one the toolkit's error carries (``VideoError.code`` ...), else
    ``error``. Only our own errors are asked: other libraries' ``code`` attributes mean other things."""
    code = getattr(exc, "code", None) if isinstance(exc, HeadSwapBenchError) else None
    return code if isinstance(code, Reason) else Reason.ERROR


def _run_one(fn: Callable[[str, Any], dict], item_id: str, payload: Any) -> dict:
    """Run one item and turn its outcome into a manifest record (never raises)."""
    t0 = time.perf_counter()
    try:
        result = fn(item_id, payload) or {}
        rec = {"item_id": item_id, "status": DONE, "result": result}
    except SkipItem as exc:
        rec = {"item_id": item_id, "status": SKIPPED, "code": exc.code.value, "reason": exc.reason,
               "result": exc.scores}
    except Exception as exc:  # recorded with its cause; the run goes on
        rec = {
            "item_id": item_id,
            "status": FAILED,
            "code": failure_code(exc).value,
            "reason": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(limit=6),
        }
    rec["seconds"] = round(time.perf_counter() - t0, 4)
    return rec


class Executor:
    """Runs pending items of a stage and hands each finished record to ``on_record`` as it completes."""

    def map(self, stage: Stage, items: list[tuple[str, Any]], on_record: Callable[[dict], None]) -> None:
        raise NotImplementedError


class LocalExecutor(Executor):
    """In-process, one item at a time (models stay loaded between items)."""

    def map(self, stage, items, on_record):
        for item_id, payload in items:
            on_record(_run_one(stage.fn, item_id, payload))


class RayExecutor(Executor):
    """Same stage function as remote Ray tasks; ``address`` None starts a local Ray, 'auto' joins a cluster."""

    def __init__(self, address: str | None = None, max_in_flight: int = 64):
        self.address = address
        self.max_in_flight = max_in_flight

    def map(self, stage, items, on_record):
        try:
            import ray
        except ImportError as exc:  # pragma: no cover - ray is a dependency
            raise HeadSwapBenchError("--executor ray needs the 'ray' package: pip install 'ray[default]'") from exc
        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True)
        remote = ray.remote(num_cpus=stage.num_cpus, num_gpus=stage.num_gpus, max_retries=1)(_run_one)
        fn_ref = ray.put(stage.fn)
        queue = list(items)
        pending: list = []
        while queue or pending:
            while queue and len(pending) < self.max_in_flight:
                item_id, payload = queue.pop(0)
                pending.append(remote.remote(fn_ref, item_id, payload))
            done, pending = ray.wait(pending, num_returns=1)
            on_record(ray.get(done[0]))


EXECUTORS: Registry[Executor] = Registry("executor", base=Executor)
EXECUTORS.register("local", LocalExecutor)
EXECUTORS.register("ray", RayExecutor)


def make_executor(name: str = "local", address: str | None = None) -> Executor:
    cls = EXECUTORS.get(name)
    return cls(address=address) if name == "ray" else cls()


def run_stage(
    stage: Stage,
    items: Iterable[tuple[str, Any]],
    manifest_path: str | Path,
    executor: Executor | None = None,
    shard: tuple[int, int] = (0, 1),
    retry_failed: bool = True,
    fail_fast: bool = False,
    progress: bool = True,
) -> StageResult:
    """Run ``stage`` over ``items`` (id, payload), skipping those already done or skipped in the manifest.

    Failed items are retried on the next run unless ``retry_failed`` is False."""
    executor = executor or LocalExecutor()
    manifest = Manifest(manifest_path)
    previous = manifest.load()
    mine = [(i, p) for i, p in items if in_shard(i, shard)]
    ids = [i for i, _ in mine]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise HeadSwapBenchError(f"stage '{stage.name}': duplicate item ids {dup[:5]}")
    keep = {DONE, SKIPPED} if retry_failed else {DONE, SKIPPED, FAILED}
    result = StageResult(stage=stage.name)
    pending = []
    for item_id, payload in mine:
        rec = previous.get(item_id)
        if rec is not None and rec["status"] in keep:
            result.records[item_id] = rec
            result.reused += 1
        else:
            pending.append((item_id, payload))
    t0 = time.perf_counter()
    bar = tqdm(total=len(mine), initial=result.reused, desc=stage.name, unit="item", disable=not progress,
               dynamic_ncols=True)

    def on_record(rec: dict) -> None:
        manifest.append(rec)
        result.records[rec["item_id"]] = rec
        bar.update(1)
        if rec["status"] == FAILED and fail_fast:
            raise HeadSwapBenchError(f"stage '{stage.name}' failed on '{rec['item_id']}': {rec['reason']}")

    try:
        executor.map(stage, pending, on_record)
    finally:
        bar.close()
    result.seconds = time.perf_counter() - t0
    # keep input order
    result.records = {i: result.records[i] for i in ids if i in result.records}
    return result

"""Hugging Face Hub IO for splits: download (untrusted, verified before use) and publish.

    root = download_split("ORG/NAME", split="test")          # -> dataset root; load_split(root, "test") works
    publish_split("out/", "ORG/NAME", private=True)           # README.md + SHA256SUMS + every split

A downloaded split is untrusted. Its file names are checked from the Hub's listing before a byte is fetched,
and the fetched split goes through ``headswapbench.split.verify_split`` before anything decodes it: both apply
the split package's one set of name and file-type rules (``headswapbench.split.paths``).

Repos that do not follow our contract (the published gated ``yananwang-MBZUAI/HeadSwapBench``, whose file
layout is not public) go through ``adapt_upstream``: triplets are recognised from path tokens, every file is
checked against the sha256 the Hub itself lists for it, and a contract split is written beside the raw files.
See docs/hub.md for exactly what is known and what is assumed."""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import ChecksumError, HeadSwapBenchError, InvalidSplitError
from .fileio import atomic_write_json, ensure_dir, sha256_file
from .fileio import cache_dir as toolkit_cache_dir
from .safeio import UnsafeFileError, loads_json, read_json, read_text
from .split import (
    CARD_FILE,
    CHECKSUMS_FILE,
    FILE_COLUMNS,
    IMAGE_SUFFIXES,
    MEDIA_SUFFIXES,
    METADATA_FILE,
    VIDEO_SUFFIXES,
    DatasetInfo,
    TripletRow,
    check_member,
    find_splits,
    sniff_media,
    trim_card,
    verify_split,
    write_dataset,
)

UPSTREAM_REPO = "yananwang-MBZUAI/HeadSwapBench"
SOURCE_FILE = "HUB_SOURCE.json"  # at the dataset root: repo, revision, commit, layout (for results.json)
REPO_TYPE = "dataset"
ARCHIVE_SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz")  # a subset of what headswapbench.archives reads


# ------------------------------------------------------------------------------------------------- errors
@contextlib.contextmanager
def hub_errors(repo: str, token: str | bool | None, endpoint: str | None = None) -> Iterator[None]:
    """Turn huggingface_hub exceptions into one-line HeadSwapBenchErrors that say what to do."""
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    page = f"{(endpoint or constants.ENDPOINT).rstrip('/')}/datasets/{repo}"
    try:
        yield
    except GatedRepoError:
        who = "no token was given (pass --token or set HF_TOKEN)" if not token and not _env_token() else \
            "the token given has no access yet"
        raise HeadSwapBenchError(
            f"{repo} is a gated dataset and {who}: log in at {page}, accept its conditions (access is reviewed "
            f"by the authors), then retry with a token of that account") from None
    except RevisionNotFoundError:
        raise HeadSwapBenchError(f"{repo}: revision not found on the Hub ({page})") from None
    except RepositoryNotFoundError:
        raise HeadSwapBenchError(
            f"{repo}: dataset not found on the Hub, or private and the token cannot see it ({page})") from None
    except (OfflineModeIsEnabled, LocalEntryNotFoundError) as exc:
        raise HeadSwapBenchError(
            f"{repo}: cannot reach the Hub (offline mode or no connection; HF_HUB_OFFLINE="
            f"{int(constants.HF_HUB_OFFLINE)}): {str(exc).splitlines()[0]}") from None
    except HfHubHTTPError as exc:
        raise HeadSwapBenchError(f"{repo}: Hub request failed: {' '.join(str(exc).split())[:300]}") from None
    except OSError as exc:
        if type(exc).__module__.startswith(("httpx", "httpcore")) or "Connect" in type(exc).__name__:
            raise HeadSwapBenchError(f"{repo}: cannot reach the Hub at {page}: {exc}") from None
        raise
    except Exception as exc:  # httpx2 transport errors are not OSErrors
        if type(exc).__module__.split(".")[0] in ("httpx", "httpx2", "httpcore"):
            raise HeadSwapBenchError(f"{repo}: cannot reach the Hub at {page}: {type(exc).__name__}: {exc}") from None
        raise


def _env_token() -> bool:
    import os

    return bool(os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN"))


# --------------------------------------------------------------------------------------------- download
@dataclass
class RemoteFile:
    path: str
    size: int | None
    sha256: str | None  # the Hub's LFS sha256 (None for small non-LFS files)


def _listing(repo: str, revision: str | None, token, endpoint: str | None) -> tuple[str, dict[str, RemoteFile]]:
    from huggingface_hub import HfApi

    api = HfApi(endpoint=endpoint, token=token)
    with hub_errors(repo, token, endpoint):
        info = api.dataset_info(repo, revision=revision, files_metadata=True)
    files = {}
    for s in info.siblings or []:
        lfs = getattr(s, "lfs", None)
        sha = (lfs.get("sha256") if isinstance(lfs, dict) else getattr(lfs, "sha256", None)) if lfs else None
        files[s.rfilename] = RemoteFile(s.rfilename, getattr(s, "size", None), sha)
    return info.sha, files


def is_contract_layout(paths: list[str], split: str) -> bool:
    return f"{split}/{METADATA_FILE}" in paths and CHECKSUMS_FILE in paths


def download_split(repo: str, revision: str | None = None, split: str = "test", token: str | bool | None = None,
                   cache_dir: str | Path | None = None, *, out_dir: str | Path | None = None,
                   endpoint: str | None = None) -> Path:
    """Fetch one split of a Hub dataset, verify it, and return the dataset root (``load_split(root, split)``).

    Files land in ``out_dir`` or ``<cache_dir or toolkit cache>/hub/<org>--<name>/<commit>`` (pinned to the
    commit the revision resolved to, so a moving branch never mixes versions). Contract repos are verified
    with ``verify_split``; other layouts go through ``adapt_upstream``. ``token``: None = the saved login or
    HF_TOKEN; False = anonymous."""
    from huggingface_hub import snapshot_download

    commit, remote = _listing(repo, revision, token, endpoint)
    base = Path(cache_dir) if cache_dir else toolkit_cache_dir() / "hub"
    dest = Path(out_dir) if out_dir else base / repo.replace("/", "--") / commit
    paths = sorted(remote)
    splits = sorted(p.split("/")[0] for p in paths if p.count("/") == 1 and p.endswith(f"/{METADATA_FILE}"))
    if CHECKSUMS_FILE in paths and splits and split not in splits:  # a contract repo without that split
        raise InvalidSplitError(f"{repo}@{commit[:8]}: no split '{split}'; splits found: {splits}")
    ensure_dir(dest)  # before any download: an unusable --out fails now, in one line
    if f"{split}/{METADATA_FILE}" in paths and CHECKSUMS_FILE not in paths:
        raise InvalidSplitError(f"{repo}@{commit[:8]}: {split}/{METADATA_FILE} is there but {CHECKSUMS_FILE} is "
                                "missing, so the split cannot be verified; refusing it")
    if is_contract_layout(paths, split):
        layout = "contract"
        prefix = f"{split}/"
        for p in paths:  # refuse before downloading a byte of media
            if p.startswith(prefix):
                check_member(split, p[len(prefix):], refusing="refusing to download the split")
        with hub_errors(repo, token, endpoint):
            snapshot_download(repo, repo_type=REPO_TYPE, revision=commit, token=token, endpoint=endpoint,
                              local_dir=dest, allow_patterns=[f"{split}/*", f"{split}/*/*", CHECKSUMS_FILE,
                                                              CARD_FILE])
        _verify_or_discard(dest, split)
        trim_card(dest)
    else:
        layout = "upstream"
        try:
            adapt_upstream(repo, commit, remote, split, dest, token=token, endpoint=endpoint)
        except HeadSwapBenchError:
            shutil.rmtree(dest / ".upstream", ignore_errors=True)
            shutil.rmtree(dest / split, ignore_errors=True)
            raise
        _verify_or_discard(dest, split)
    atomic_write_json(dest / SOURCE_FILE, {"repo": repo, "revision": revision or "main", "commit": commit,
                                           "split": split, "layout": layout})
    return dest


def _verify_or_discard(root: Path, split: str) -> None:
    """verify_split; on refusal delete the fetched split so no untrusted file is left to be used by mistake."""
    try:
        verify_split(root, split)
    except HeadSwapBenchError as exc:
        shutil.rmtree(root / split, ignore_errors=True)
        raise InvalidSplitError(f"{exc} (the downloaded files of split '{split}' were deleted)") from None


def hub_source(root: str | Path) -> dict:
    """Where a downloaded dataset came from (repo, revision, commit), or {} for a local build."""
    p = Path(root) / SOURCE_FILE
    if not (p.is_file() or p.is_symlink()):
        return {}
    try:
        info = read_json(p, max_bytes=1 << 20)
    except UnsafeFileError as exc:
        raise InvalidSplitError(str(exc)) from None
    return info if isinstance(info, dict) else {}


# ------------------------------------------------------------------------------------- upstream adapter
ROLE_TOKENS = {
    "driving": {"driving", "drive", "driver", "input", "inputs", "source", "src", "vc", "v_c", "cross", "swap",
                "swapped", "fake", "synth", "synthetic", "edited", "edit", "condition", "cond"},
    "reference": {"reference", "references", "ref", "refs", "iref", "i_ref", "ref_img", "identity", "id_img",
                  "ref_image", "face"},
    "target": {"target", "targets", "gt", "ground_truth", "groundtruth", "va", "v_a", "real", "original", "orig",
               "tgt"},
}
SUBJECT_COLUMNS = ("subject_id", "subject", "identity", "identity_id", "person_id", "person", "speaker", "id_name")
METADATA_NAMES = ("metadata.jsonl", "metadata.json", "metadata.csv", "meta.jsonl", "meta.csv", "annotations.jsonl")


def _role_and_key(path: str) -> tuple[str | None, str]:
    """('driving'|'reference'|'target'|None, clip key) from folder names or stem affixes."""
    p = PurePosixPath(path)
    parts = list(p.parts[:-1])
    stem = p.name[: -len("".join(p.suffixes))] if p.suffixes else p.name
    roles = [r for r, toks in ROLE_TOKENS.items() for part in parts if part.lower() in toks]
    if len(roles) == 1:
        role = roles[0]
        parts = [x for x in parts if x.lower() not in ROLE_TOKENS[role]]
        return role, "/".join([*parts, stem])
    tokens = re.split(r"[_\-.]", stem)
    for role, toks in ROLE_TOKENS.items():
        if stem.lower() in toks:  # <clip>/<role>.mp4
            return role, "/".join(parts)
        if tokens[-1].lower() in toks and len(tokens) > 1:  # <clip>_<role>.mp4
            return role, "/".join([*parts, stem[: -len(tokens[-1]) - 1]])
        if tokens[0].lower() in toks and len(tokens) > 1:  # <role>_<clip>.mp4
            return role, "/".join([*parts, stem[len(tokens[0]) + 1:]])
    return None, "/".join([*parts, stem])


def _safe_extract(archive: Path, into: Path) -> None:
    """Extract an untrusted archive under the rules of ``headswapbench.archives`` (size, count, ratio, names,
    no links); a refusal is an InvalidSplitError naming the archive, member and rule."""
    from .archives import ArchiveError, safe_extract

    try:
        safe_extract(archive, into)
    except ArchiveError as exc:
        raise InvalidSplitError(str(exc)) from None


MAX_METADATA_BYTES = 256 * 1024 * 1024


def _read_upstream_metadata(files: list[Path]) -> list[dict]:
    """Rows of the upstream repo's metadata files, read as untrusted (safeio: regular files, size, nesting and
    number caps)."""
    import csv
    import io

    rows: list[dict] = []
    for f in files:
        try:
            text = read_text(f, max_bytes=MAX_METADATA_BYTES)
            if f.suffix == ".jsonl":
                rows += [loads_json(x.encode("utf-8")) for x in text.splitlines() if x.strip()]
            elif f.suffix == ".json":
                data = loads_json(text.encode("utf-8"))
                rows += data if isinstance(data, list) else list(data.values()) if isinstance(data, dict) else []
            elif f.suffix == ".csv":
                rows += list(csv.DictReader(io.StringIO(text, newline="")))
        except UnsafeFileError as exc:
            raise InvalidSplitError(f"upstream metadata {exc}") from None
        except (ValueError, csv.Error) as exc:
            raise InvalidSplitError(f"upstream metadata {f.name} is unreadable: {exc}") from None
    return [r for r in rows if isinstance(r, dict)]


def plan_triplets(paths: list[str], split: str) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Group media paths into triplets by clip key. Returns (key → {role: path}, skipped keys)."""
    in_split = [p for p in paths if split in PurePosixPath(p).parts[:-1]] or paths
    groups: dict[str, dict[str, list[str]]] = {}
    for p in in_split:
        suffix = PurePosixPath(p).suffix.lower()
        if suffix not in MEDIA_SUFFIXES:
            continue
        role, key = _role_and_key(p)
        if role is None:
            continue
        if role == "reference" and suffix not in IMAGE_SUFFIXES:
            continue
        if role != "reference" and suffix not in VIDEO_SUFFIXES:
            continue
        groups.setdefault(key, {}).setdefault(role, []).append(p)
    triplets, skipped = {}, []
    for key, roles in sorted(groups.items()):
        if set(roles) == {"driving", "reference", "target"} and all(len(v) == 1 for v in roles.values()):
            triplets[key] = {r: v[0] for r, v in roles.items()}
        else:
            skipped.append(key)
    return triplets, skipped


def adapt_upstream(repo: str, commit: str, remote: dict[str, RemoteFile], split: str, dest: Path,
                   token=None, endpoint: str | None = None) -> dict:
    """Map a repo that does not follow our contract onto it: download media + metadata (+ archives), check
    each against the Hub's own sha256, recognise triplets, and package a contract split at ``dest``."""
    from huggingface_hub import snapshot_download

    raw = dest / ".upstream"
    wanted = [p for p in remote if PurePosixPath(p).suffix.lower() in MEDIA_SUFFIXES
              or PurePosixPath(p).name in METADATA_NAMES or p.lower().endswith(ARCHIVE_SUFFIXES)]
    in_split = [p for p in wanted if split in PurePosixPath(p).parts[:-1] or split in PurePosixPath(p).name]
    wanted = in_split or wanted
    if not wanted:
        raise InvalidSplitError(f"{repo}@{commit[:8]}: no media, metadata or archives for split '{split}' "
                                f"among its {len(remote)} files")
    with hub_errors(repo, token, endpoint):
        snapshot_download(repo, repo_type=REPO_TYPE, revision=commit, token=token, endpoint=endpoint,
                          local_dir=raw, allow_patterns=wanted)
    for p in wanted:  # the Hub's sha256 is the only checksum an upstream repo offers
        f = remote[p]
        if f.sha256 is None:
            if PurePosixPath(p).suffix.lower() in MEDIA_SUFFIXES or p.lower().endswith(ARCHIVE_SUFFIXES):
                raise ChecksumError(f"{repo}: the Hub lists no sha256 for {p}; cannot verify it")
            continue
        if sha256_file(raw / p) != f.sha256:
            raise ChecksumError(f"{repo}: {p} does not match the sha256 the Hub lists for it")
    extracted = raw / ".extracted"
    for p in wanted:
        if p.lower().endswith(ARCHIVE_SUFFIXES):
            _safe_extract(raw / p, extracted / PurePosixPath(p).name)
    files = sorted(x.relative_to(raw).as_posix() for x in raw.rglob("*") if x.is_file()
                   and ".cache" not in x.relative_to(raw).parts)
    triplets, skipped = plan_triplets(files, split)
    if not triplets:
        raise InvalidSplitError(f"{repo}@{commit[:8]}: could not recognise any (driving, reference, target) "
                                f"triplet for split '{split}'; see docs/hub.md for the layouts understood")
    meta_rows = _read_upstream_metadata([raw / f for f in files if PurePosixPath(f).name in METADATA_NAMES])
    subject_of = _subjects_from_metadata(meta_rows, triplets)
    rows, media = [], {}
    for key, roles in triplets.items():
        clip_id = re.sub(r"[^A-Za-z0-9._-]+", "_", key.replace("/", "__")).strip("._-") or "clip"
        parts = [x for x in PurePosixPath(key).parts if x not in (split, ".extracted")]
        subject = subject_of.get(key) or (parts[-2] if len(parts) >= 2 else parts[-1])
        for p in roles.values():
            if not sniff_media(raw / p):
                raise InvalidSplitError(f"{repo}: {p} does not start like a {PurePosixPath(p).suffix} file")
        media[clip_id] = {r: raw / p for r, p in roles.items()}
        rows.append(TripletRow.for_clip(clip_id, str(subject), source_video=roles["target"], editor="upstream",
                                        reference_suffix=PurePosixPath(roles["reference"]).suffix,
                                        upstream_key=key, upstream_repo=repo, upstream_commit=commit))
    _fill_video_facts(rows, media)
    write_dataset(dest, {split: rows}, media, replace=False,
                  info=DatasetInfo(name=f"{repo} (adapted to the HeadSwapBench split contract)",
                                   license_note=f"The licence and access conditions of {repo} apply."))
    report = {"triplets": len(rows), "skipped_keys": skipped[:50], "num_skipped": len(skipped),
              "subjects": len({r.subject_id for r in rows}),
              "subject_source": "metadata" if subject_of else "folder names (assumed)"}
    atomic_write_json(dest / "UPSTREAM_ADAPTER.json", report)
    return report


def _subjects_from_metadata(meta_rows: list[dict], triplets: dict[str, dict[str, str]]) -> dict[str, str]:
    """Subject per clip key from upstream metadata rows that mention one of the triplet's file names."""
    if not meta_rows:
        return {}
    by_name: dict[str, str] = {}
    for key, roles in triplets.items():
        for p in roles.values():
            by_name[PurePosixPath(p).name] = key
            by_name[PurePosixPath(p).stem] = key
        by_name[PurePosixPath(key).name] = key
    out = {}
    for row in meta_rows:
        subject = next((row[c] for c in SUBJECT_COLUMNS if row.get(c) not in (None, "")), None)
        if subject is None:
            continue
        for v in row.values():
            if isinstance(v, str):
                k = by_name.get(PurePosixPath(v).name) or by_name.get(PurePosixPath(v).stem)
                if k:
                    out[k] = str(subject)
    return out


def _fill_video_facts(rows, media) -> None:
    """num_frames, fps, width, height of each target (probe only: headers, no decoding)."""
    try:
        from .video import probe
    except ImportError:  # pragma: no cover
        return
    for row in rows:
        try:
            info = probe(media[row.clip_id]["target"])
        except HeadSwapBenchError as exc:
            raise InvalidSplitError(f"upstream clip {row.clip_id}: target video unreadable ({exc})") from None
        row.num_frames, row.fps = int(info.num_frames), float(info.fps)
        row.width, row.height = int(info.width), int(info.height)


# ---------------------------------------------------------------------------------------------- publish
def publish_split(root: str | Path, repo: str, private: bool = False, token: str | bool | None = None, *,
                  splits: list[str] | None = None, create_pr: bool = False, commit_message: str | None = None,
                  endpoint: str | None = None) -> dict:
    """Upload a packaged dataset (README.md, SHA256SUMS, the splits) to a Hub dataset repo.

    Every split is verified first (``verify_split``), so what goes up is exactly what a download will accept.
    Hidden files (temp files of a killed run, bookkeeping) are never uploaded."""
    from huggingface_hub import HfApi

    root = Path(root)
    if not (root / CARD_FILE).is_file():
        raise InvalidSplitError(f"{root} has no {CARD_FILE} dataset card; package it with `headswapbench build`")
    available = find_splits(root)
    splits = splits or available
    missing = [s for s in splits if s not in available]
    if missing or not splits:
        raise InvalidSplitError(f"{root}: split(s) {missing or '(none)'} not found; splits here: {available}")
    counts = {}
    for s in splits:
        counts[s] = len(verify_split(root, s, ignore_hidden=True).rows)
    api = HfApi(endpoint=endpoint, token=token)
    allow = [CARD_FILE, CHECKSUMS_FILE] + [f"{s}/{METADATA_FILE}" for s in splits] + \
        [f"{s}/{sub}/*" for s in splits for sub, _ in FILE_COLUMNS.values()]
    message = commit_message or f"Upload HeadSwapBench split(s) {', '.join(splits)}"
    with hub_errors(repo, token, endpoint):
        url = api.create_repo(repo, repo_type=REPO_TYPE, private=private, exist_ok=True)
        info = api.upload_folder(folder_path=root, repo_id=repo, repo_type=REPO_TYPE, allow_patterns=allow,
                                 ignore_patterns=[".*", "*/.*", "*/*/.*"], commit_message=message,
                                 create_pr=create_pr)
    return {"repo": repo, "url": str(url), "commit": getattr(info, "oid", None),
            "commit_url": getattr(info, "commit_url", None), "pr_url": getattr(info, "pr_url", None),
            "private": private, "splits": counts}

"""Hostile submissions for the leaderboard tests, each built by the test itself (issue 11).

``write_hostile(root, outside)`` writes one folder per case under ``root`` and returns
``{folder name: expected refusal reason (substring)}``; the honest files (``write_honest``) are oracle, warp and
noop from ``leaderboard_fixtures``. ``outside`` is a folder beside the runs holding a private file that no
case may leak."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers.leaderboard_fixtures import results_for, write_run

SECRET = "TOP-SECRET-maintainer-token-4f1c"
PWN_SCRIPT = "<script>window.__pwned = 1</script>"


def write_honest(root: Path) -> dict[str, Path]:
    return {m: write_run(root, m, results_for(m)) for m in ("oracle", "warp", "noop")}


def _hostile(version: str, **kw) -> dict:
    return results_for("warp", version=version, **kw)


def _raw(root: Path, name: str, text: str | bytes) -> Path:
    path = root / name / "results.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def _json(root: Path, name: str, obj: dict) -> Path:
    return _raw(root, name, json.dumps(obj, indent=1))


def write_hostile(root: Path, outside: Path) -> dict[str, str]:
    outside.mkdir(parents=True, exist_ok=True)
    secret = outside / "secret.txt"
    secret.write_text(SECRET)
    expect: dict[str, str] = {}

    def case(name: str, reason: str, obj: dict | None = None, text: str | bytes | None = None) -> None:
        if obj is not None:
            _json(root, name, obj)
        elif text is not None:
            _raw(root, name, text)
        expect[name] = reason

    # --- numbers that cannot be true
    r = _hostile("ci-out")
    r["metrics"]["identity_cosine_ref"].update(mean=0.2, ci95=[0.995, 0.999])
    case("ci_without_mean", "ci95 [0.995, 0.999] does not contain the mean 0.2", r)
    r = _hostile("rate")
    r["metrics"]["replacement"].update(mean=1.7, ci95=[1.5, 1.9])
    case("rate_above_one", "outside the range of unit rate ([0, 1]", r)
    r = _hostile("cos")
    r["metrics"]["identity_cosine_ref"].update(mean=3.0, ci95=[2.0, 4.0])
    case("cosine_above_one", "outside the range of unit cosine ([-1, 1]", r)
    r = _hostile("neg")
    r["metrics"]["keypoint_nme"].update(mean=-0.5, ci95=[-0.6, -0.4])
    case("negative_distance", "outside the range of unit NME (>= 0", r)
    r = _hostile("huge")
    r["metrics"]["psnr"].update(mean=1e308, ci95=[-1e308, 1e308])
    case("mean_1e308", "outside the range of unit dB", r)
    r = _hostile("n")
    r["metrics"]["psnr"]["n"] = 10_000
    case("n_above_coverage", "n (10000) exceeds the clips scored", r)

    # --- files that used to stop the whole build
    text = json.dumps(_hostile("digits")).replace('"num_clips": 10', '"num_clips": ' + "7" * 401)
    case("integer_401_digits", "an integer with 401 digits", text=text)
    r = _hostile("env")
    r["environment"] = "python 3.11 on my laptop"
    case("environment_string", "environment must be an object", r)
    case("nested_200000", "JSON nested more than 64 levels deep",
         text='{"schema_version": 1, "settings": ' + "[" * 200_000 + "]" * 200_000 + "}")
    case("float_overflow", "overflows to infinity",
         text=json.dumps(_hostile("inf")).replace('"mean": 24.6', '"mean": 1e999'))
    case("lone_surrogate", "lone UTF-16 surrogate",
         text=json.dumps(_hostile("sur")).replace('"name": "warp"', '"name": "w\\udc00arp"'))
    fifo = root / "fifo" / "results.json"
    fifo.parent.mkdir(parents=True)
    os.mkfifo(fifo)
    expect["fifo"] = "is a FIFO (named pipe), not a regular file"
    (root / "dev_zero").mkdir()
    (root / "dev_zero" / "results.json").symlink_to("/dev/zero")
    expect["dev_zero"] = "is a symbolic link (not followed)"
    (root / "link_to_secret").mkdir()
    (root / "link_to_secret" / "results.json").symlink_to(secret)
    expect["link_to_secret"] = "is a symbolic link (not followed)"
    (root / "a_directory" / "results.json").mkdir(parents=True)
    expect["a_directory"] = "is a directory, not a regular file"
    private = outside / "private_run"  # a valid result that is not part of the submission
    write_run(private.parent, private.name, results_for("warp", version="private"))
    (root / "link_to_elsewhere").symlink_to(private, target_is_directory=True)  # never entered, never listed
    r = _hostile("long")
    r["method"]["name"] = "A" * 5000
    case("name_5000_chars", "method.name is 5,000 characters long", r)
    r = _hostile("dir")
    r["metrics"]["lpips"]["higher_is_better"] = True  # a distance declared higher-is-better
    case("distance_higher_is_better", "is a distance (lower is better)", r)
    return expect


def write_report_attacks(run_dir: Path, outside: Path) -> None:
    """A script-carrying report.html beside one honest result, and a symlinked one beside another."""
    (run_dir / "warp" / "report.html").write_text(f"<html><body>{PWN_SCRIPT}<img src='../../outside/secret.txt'>"
                                                  "</body></html>")
    (run_dir / "noop" / "report.html").symlink_to(outside / "secret.txt")

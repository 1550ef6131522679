"""`leaderboard submit` / `publish` with the real huggingface_hub client against a loopback fake Hub."""

from __future__ import annotations

import json

from headswapbench.leaderboard import build_site

from headswapbench.cli.main import main
from headswapbench.fileio import sha256_json
from headswapbench.results import validate_results
from tests.helpers.fake_hub import FakeHub
from tests.helpers.leaderboard_fixtures import results_for, write_run


def test_submit_opens_a_pull_request(fake_hub, tmp_path, capsys):
    fake_hub.add_repo("dataset", "org/results", files={"README.md": b"results"})
    path = write_run(tmp_path, "warp", results_for("warp", verified=True), report="<html>report</html>")
    assert main(["leaderboard", "submit", str(path), "--repo", "org/results", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    repo = fake_hub.repos[("dataset", "org/results")]
    assert len(repo.prs) == 1 and repo.files == {"README.md": b"results"}  # main untouched: it is a PR
    pr = repo.prs[0]
    shash = sha256_json(results_for("warp")["settings"])
    assert info["path"] == f"results/warp/1/test/{shash}.json"
    assert info["pr_url"] == f"{fake_hub.url}/datasets/org/results/discussions/1"
    sent = json.loads(pr.files[info["path"]])
    assert validate_results(sent) == []
    assert sent["provenance"]["verified"] is False  # a submission is self-reported, whatever the file said
    assert pr.files[f"results/warp/1/test/{shash}.report.html"] == b"<html>report</html>"
    assert pr.title == "Add warp 1 on HeadSwapBench-demo/test" and "identity_cosine_ref" in pr.description
    assert [r["authorization"] for r in fake_hub.requests] == ["Bearer hf_fake_token"] * 2, fake_hub.requests


def test_submit_refuses_invalid_results_before_any_request(fake_hub, tmp_path, capsys):
    bad = tmp_path / "results.json"
    bad.write_text('{"schema_version": 1}')
    assert main(["leaderboard", "submit", str(bad), "--repo", "org/results"]) == 2
    assert "invalid results" in capsys.readouterr().err
    assert fake_hub.requests == []


def test_submit_errors_are_one_clear_line(fake_hub, tmp_path, capsys, monkeypatch):
    path = write_run(tmp_path, "warp", results_for("warp"))
    assert main(["leaderboard", "submit", str(path), "--repo", "org/missing"]) == 2
    assert "org/missing failed: repository not found" in capsys.readouterr().err
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert main(["leaderboard", "submit", str(path), "--repo", "org/missing"]) == 2
    assert "offline mode is on" in capsys.readouterr().err


def test_publish_site_to_a_static_space(fake_hub, tmp_path, capsys):
    runs = tmp_path / "runs"
    write_run(runs, "warp", results_for("warp"), report="<html>r</html>")
    write_run(runs, "noop", results_for("noop"))
    site = tmp_path / "site"
    build_site([runs], site)
    assert main(["leaderboard", "publish", str(site), "--repo", "org/board"]) == 0
    assert "published 7 file(s)" in capsys.readouterr().out  # 4 site files, 2 detail pages, README.md
    space = fake_hub.repos[("space", "org/board")]
    assert space.sdk == "static"
    assert space.files["index.html"] == (site / "index.html").read_bytes()
    assert {"leaderboard.json", "leaderboard.csv", "leaderboard.md", "README.md"} <= set(space.files)
    assert sum(p.startswith("details/") and p.endswith(".html") for p in space.files) == 2
    assert not any(p.endswith("report.html") for p in space.files)  # the submitter's page never goes up
    readme = space.files["README.md"].decode()
    assert "sdk: static" in readme and "app_file: index.html" in readme
    # publishing again updates the existing Space (create answers 409, exist_ok)
    assert main(["leaderboard", "publish", str(site), "--repo", "org/board", "--json"]) == 0
    assert len(space.commits) == 2


def test_publish_refuses_a_folder_that_is_not_a_site(fake_hub, tmp_path, capsys):
    assert main(["leaderboard", "publish", str(tmp_path), "--repo", "org/board"]) == 2
    assert "not a built leaderboard site" in capsys.readouterr().err


def test_token_option_is_sent(tmp_path, monkeypatch, capsys):
    with FakeHub(require_token="hf_secret") as hub:
        hub.patch(monkeypatch)
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))  # no cached login
        hub.add_repo("dataset", "org/results")
        path = write_run(tmp_path, "warp", results_for("warp"))
        assert main(["leaderboard", "submit", str(path), "--repo", "org/results", "--token", "wrong"]) == 2
        assert "not authorised (401)" in capsys.readouterr().err
        assert main(["leaderboard", "submit", str(path), "--repo", "org/results", "--token", "hf_secret"]) == 0
        assert len(hub.repos[("dataset", "org/results")].prs) == 1

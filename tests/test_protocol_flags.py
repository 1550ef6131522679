"""Protocols as data: the shipped files, the strict loader, the published numbers, the validated EvalConfig
(overrides named, bad values refused before any model loads), the labels results carry for non-reference
backends or smoke models, per-metric fingerprints and what differs between two, and `protocols list|show`."""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest

from headswapbench.errors import HeadSwapBenchError
from headswapbench.evaluation import EvalConfig
from headswapbench.fingerprint import fingerprint_difference, make_fingerprint, weight_record
from headswapbench.protocol import ProtocolError, list_protocols, load_protocol, published_results
from headswapbench.results import settings_labels


def test_the_published_protocol_encodes_the_paper():
    p = load_protocol("headswapbench-v1")
    assert p.is_official and p.builtin and p.id == "headswapbench-v1@1" and len(p.sha256) == 64
    assert p.primary == ("identity", "keypoints", "lpips") and p.headline == "identity_cosine_target"
    assert set(p.secondary) == {"fid", "fvd", "pose", "expression", "psnr", "ssim", "flicker"}
    assert (p.identity, p.landmarks, p.identity_frames) == ("adaface", "facemesh", "all")
    assert (p.over_clips, p.interval, p.level, p.replicates) == ("macro", "subject-bootstrap", 0.95, 10000)
    assert p.frames_image_method == "middle" and p.weights["facemesh"] and "adaface-ir101" in p.weights
    offline = load_protocol("offline-v1")
    assert not offline.is_official and "not the published protocol" in offline.label
    assert offline.identity == "dlib" and offline.identity_every is None  # may sample: recorded as "auto"
    assert [q.name for q in list_protocols()] == ["headswapbench-v1", "offline-v1"]


def test_protocol_pins_agree_with_the_weights_table():
    """One fact, two files: a protocol's pin of a model file is the weights table's full pin (when it has one)."""
    from headswapbench import weights

    for p in list_protocols():
        for name, pin in p.weights.items():
            table = weights.get_spec(name).sha256
            if pin is not None and table and len(table) == 64:
                assert pin == table, (p.name, name)


def _write(tmp_path, text: str, name: str = "p.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_loader_is_strict_and_a_file_is_never_official(tmp_path):
    original = resources.files("headswapbench").joinpath("protocols", "offline-v1.toml").read_text()
    same = load_protocol(_write(tmp_path, original, "copy.toml"))  # same bytes: the same (built-in) protocol
    assert same.builtin and same.id == "offline-v1@1"
    custom = load_protocol(_write(tmp_path, original.replace("official = false", "official = true")
                                  .replace('kind = "profile"', 'kind = "published"')))
    assert not custom.is_official and custom.id == f"custom:{custom.sha256[:12]}"  # whatever the file claims
    cases = [
        (original.replace("replicates = 10000", "replicate = 10000"),
         "unknown key 'aggregation.replicate' (did you mean 'aggregation.replicates'?)"),
        (original.replace('identity = "dlib"', 'identity = 3'), "'analysis.identity' has the wrong type"),
        (original.replace('facemesh = "e06a', 'facemesh = "E06a'), "a full lower-case sha256"),
        (original + 'adaface-ir10 = "unpinned"\n', "weights.adaface-ir10: not in the weights table"),
        (original.replace('over_clips = "macro"', 'over_clips = "micro"'), "expected one of 'macro'"),
        (original.replace("replicates = 10000", "replicates = 5"), "must be >= 100"),
        ("name = [", "not a TOML protocol file"),
    ]
    for bad, message in cases:
        with pytest.raises(ProtocolError, match=re.escape(message)):
            load_protocol(_write(tmp_path, bad))
    with pytest.raises(ProtocolError, match="unknown protocol 'headswapbench-v2'. Did you mean 'headswapbench-v1'"):
        load_protocol("headswapbench-v2")


def test_published_numbers_are_data_mapped_to_our_keys():
    import headswapbench.metrics.geometry  # noqa: F401 - registers the built-in keys' infos
    import headswapbench.metrics.identity  # noqa: F401
    import headswapbench.metrics.paired  # noqa: F401

    from headswapbench.evaluation.metric import METRIC_INFO

    rows = {r.method: r for r in published_results("headswapbench-v1")}
    assert rows["DirectSwap"].metrics == {"identity_cosine_target": 0.7019, "keypoint_nme": 0.0289, "lpips": 0.1333}
    assert rows["DirectSwap"].not_implemented["whole_head_similarity"]["value"] == 0.894
    assert {m: r.metrics["identity_cosine_target"] for m, r in rows.items() if m != "DirectSwap"} == {
        "VACE": 0.405, "Qwen-Image-Edit": 0.609, "LoomVideo": 0.608, "FLUX.2-klein": 0.726, "OmniGen2": 0.207,
        "JoyAI-Video-Edit": 0.507}
    assert rows["VACE"].metrics["keypoint_nme"] == 0.198
    assert all(r.source["id"] == "arXiv:2609.35708" for r in rows.values())
    assert all(k in METRIC_INFO for r in rows.values() for k in r.metrics)
    # where they were measured: the leaderboard shows them on that board only, labelled with their source
    assert {(r.dataset, r.split, r.protocol_id) for r in rows.values()} == {
        ("yananwang-MBZUAI/HeadSwapBench", "test", "headswapbench-v1@1")}
    assert rows["DirectSwap"].label == "reported in arXiv 2609.35708"
    assert published_results("offline-v1") == []


def test_a_protocol_may_declare_its_split_and_checksum(tmp_path):
    """Optional [dataset]: the leaderboard pins the results of that protocol on that split to the checksum."""
    text = load_protocol("offline-v1").path
    from importlib import resources

    data = resources.files("headswapbench").joinpath("protocols", "offline-v1.toml").read_text()
    good = data + '\n[dataset]\nname = "my/split"\nsplit = "test"\nchecksum = "' + "ab" * 32 + '"\n'
    (tmp_path / "p.toml").write_text(good)
    assert load_protocol(tmp_path / "p.toml").dataset == {"name": "my/split", "split": "test", "checksum": "ab" * 32}
    assert load_protocol("offline-v1").dataset == {} and text == "offline-v1.toml"
    (tmp_path / "bad.toml").write_text(good.replace("ab" * 32, "XYZ").replace('split = "test"\nch', 'splt = "t"\nch'))
    with pytest.raises(ProtocolError, match=r"unknown key 'dataset.splt'"):
        load_protocol(tmp_path / "bad.toml")
    (tmp_path / "bad2.toml").write_text(good.replace("ab" * 32, "XYZ"))
    with pytest.raises(ProtocolError, match="dataset.checksum 'XYZ': 16-128 lower-case hex digits"):
        load_protocol(tmp_path / "bad2.toml")


@pytest.mark.parametrize("kw, message", [
    ({"timeout": float("nan")}, "--timeout nan: must be a positive, finite number"),
    ({"timeout": float("inf")}, "--timeout inf: must be a positive, finite number"),
    ({"timeout": 0}, "--timeout 0: must be a positive, finite number of seconds"),
    ({"batch_size": 0}, "--batch-size 0: must be an integer >= 1"),
    ({"metrics": ("psnr", "ssmi")}, "unknown metric 'ssmi'. Did you mean 'ssim'"),
    ({"metric_options": {"fid_frame_strid": 2}}, "unknown metric option.s. fid_frame_strid .*fid_frame_stride"),
    ({"metrics": ("psnr",), "metric_options": {"fid_frame_stride": 2}}, "unknown metric option.s. fid_frame_stride"),
    ({"identity": "adafce"}, "unknown identity model 'adafce'. Did you mean 'adaface'"),
    ({"landmarks": "mesh"}, "unknown landmark model 'mesh'"),
    ({"device": "gpu"}, "--device 'gpu': expected cpu, cuda or cuda:N"),
    ({"bootstrap_replicates": 10}, "bootstrap replicates 10: must be an integer >= 100"),
    ({"protocol": "nope"}, "unknown protocol 'nope'"),
])
def test_config_refuses_bad_values_by_name(kw, message):
    with pytest.raises(HeadSwapBenchError, match=message):
        EvalConfig(**{"protocol": "headswapbench-v1", **kw}).plan()


def test_overrides_are_named_and_make_the_result_not_the_protocol():
    plan = EvalConfig(protocol="headswapbench-v1").plan()
    assert plan.official and plan.overrides == [] and plan.replicates == 10000
    assert plan.metric_options == {"fid_frame_stride": 1}
    plan = EvalConfig(protocol="headswapbench-v1", identity="dlib", metrics=("psnr", "ssim"), batch_size=1,
                      metric_options={}).plan()
    assert not plan.official and plan.metric_options == {}  # the protocol's fid option: fid does not run
    assert plan.overrides == ["metrics psnr, ssim (protocol: identity, keypoints, lpips, fid, fvd, pose, expression, "
                              "psnr, ssim, flicker)", "identity backend dlib (protocol: adaface)"]
    assert plan.protocol_block()["official"] is False and plan.protocol_block()["overrides"] == plan.overrides
    assert EvalConfig.help("timeout").startswith("Per-clip timeout")  # the CLI's help comes from the fields


def test_offline_identity_backend_is_flagged_nonstandard():
    flags = EvalConfig(protocol="headswapbench-v1", identity="dlib").plan().labels(smoke=False)
    assert flags["nonstandard"] and "dlib" in flags["nonstandard"][0] and "smoke" not in flags
    flags = EvalConfig(protocol="offline-v1").plan().labels()
    assert flags["nonstandard"] == ["protocol offline-v1: offline profile v1 (not the published protocol)"]


def test_reference_backend_and_smoke_method():
    flags = EvalConfig(protocol="headswapbench-v1").plan().labels(smoke=True)
    assert flags == {"smoke": True}
    labels = settings_labels({"smoke": True,
                              **EvalConfig(protocol="headswapbench-v1", identity="dlib").plan().labels()})
    assert len(labels) == 2 and labels[0].startswith("smoke test") and "dlib" in labels[1]


def test_fingerprint_difference_says_what_differs():
    sha_a, sha_b = "ab12" + "0" * 60, "cd34" + "0" * 60

    def fp(protocol="headswapbench-v1@1", key="lpips", version="1", weights=None, **settings):
        return make_fingerprint(protocol, key, version, settings,
                                weights if weights is not None else {"lpips-alexnet": weight_record(sha_a, None)})

    assert fingerprint_difference(fp(), fp()) == ""
    assert fingerprint_difference(fp(smoke=True), fp()) == "smoke model"
    assert fingerprint_difference(fp(), fp(weights={"lpips-alexnet": weight_record(sha_b, None)})) == \
        "lpips-alexnet weights differ (ab12… vs cd34…)"
    assert fingerprint_difference(fp(key="x", identity_backend="dlib"), fp(key="x", identity_backend="adaface")) == \
        "identity backend dlib vs adaface"
    assert fingerprint_difference(fp(protocol="offline-v1@1"), fp()) == "protocol offline-v1 vs headswapbench-v1"
    assert fingerprint_difference(fp(version="2"), fp()) == "lpips definition v2 vs v1"
    assert fingerprint_difference(fp(), fp(weights={"lpips-alexnet": weight_record(sha_a, sha_a)})) == \
        "lpips-alexnet weights pinned on one side only"
    assert fingerprint_difference(None, fp()) == "no fingerprint on one side (results made before schema 2)"
    # another backend is named once: its description and the files only it uses follow from it
    dlib = fp(key="x", weights={"facemesh": weight_record(sha_a, sha_a), "dlib-resnet": weight_record(sha_b, sha_b)},
              identity_backend="dlib", identity={"name": "dlib", "dim": 128})
    ada = fp(key="x", weights={"facemesh": weight_record(sha_a, sha_a), "adaface-ir101": weight_record(sha_a, None)},
             identity_backend="adaface", identity={"name": "adaface", "dim": 512})
    assert fingerprint_difference(dlib, ada) == "identity backend dlib vs adaface"
    # ... but a file both sides use that differs is still said
    ada["weights"]["facemesh"] = weight_record(sha_b, None)
    assert fingerprint_difference(dlib, ada) == "identity backend dlib vs adaface; facemesh weights differ (ab12… vs cd34…)"


def test_protocols_cli_list_and_show(capsys):
    from headswapbench.cli.main import main

    assert main(["protocols", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == ["headswapbench-v1", "offline-v1"] and rows[0]["official"] is True
    assert rows[1]["missing_weights"] == []  # the offline profile needs nothing that is not in a wheel
    assert main(["protocols", "show", "headswapbench-v1"]) == 0
    out = capsys.readouterr().out
    assert "10000 replicates" in out and "adaface" in out and "DirectSwap" in out and "0.7019" in out
    assert main(["protocols", "show", "offline-v1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["id"] == "offline-v1@1" and doc["official"] is False and doc["published"] == []
    assert main(["protocols", "show", "nope"]) == 2
    assert "unknown protocol 'nope'" in capsys.readouterr().err

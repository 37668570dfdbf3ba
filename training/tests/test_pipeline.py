"""End to end on a tiny synthetic set: train -> calibrate -> threshold -> evaluate -> export ->
manifest, through the command line as a user runs it; and the same training under torchrun."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from chestaid_train import data, export, manifest, ood_set

TRAINING = Path(__file__).resolve().parents[1]


def _cli(*args, timeout=600, env=None):
    return subprocess.run([sys.executable, "-m", "chestaid_train", *args], cwd=TRAINING, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="module")
def tiny_run(tiny_dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    res = _cli("run", "--data", str(tiny_dataset), "--model-id", "tiny-test", "--run-dir", str(out / "run"),
               "--model-dir", str(out / "model"), "--weights", "none", "--train-blocks", "all", "--epochs", "2",
               "--batch-size", "8", "--num-workers", "0", "--bootstrap", "100", "--no-progress", "--lr", "1e-3",
               "--allow-unproven-threshold")
    assert res.returncode == 0, res.stderr[-3000:]
    return out


def test_the_run_publishes_model_manifest_card_and_report(tiny_run):
    model = tiny_run / "model"
    for name in ("model.onnx", "model.fp16.onnx", "manifest.json", "MODEL_CARD.md", "report.md", "history.csv", "splits.json"):
        assert (model / name).is_file(), name
    assert sorted(p.name for p in (model / "report").glob("*.png"))


def test_the_manifest_validates_and_its_hashes_match_the_files(tiny_run):
    model = tiny_run / "model"
    man = json.loads((model / "manifest.json").read_text())
    manifest.validate(man)
    assert man["onnx"]["sha256"] == export.sha256_file(model / man["onnx"]["file"])
    for v in man["onnx"]["variants"]:
        assert v["sha256"] == export.sha256_file(model / v["file"])
    assert man["data"]["synthetic"] is True
    assert "SYNTHETIC" in man["intended_use"]["disclaimer"]
    assert man["calibration"]["selected"] in ("none", "temperature", "platt", "isotonic")
    assert set(man["calibration"]["methods"]) >= {"temperature", "platt", "isotonic"}


def test_the_threshold_meets_the_target_sensitivity_on_val_report(tiny_run):
    man = json.loads((tiny_run / "model" / "manifest.json").read_text())
    thr = man["thresholds"]["clinical"]
    scores = np.load(tiny_run / "run" / "scores.npz")
    y, p = scores["val_report_y"], scores["val_report_p"]
    assert ((p >= thr["value"]) & (y == 1)).sum() / (y == 1).sum() >= thr["target_sensitivity"]


def test_the_splits_have_no_patient_in_two_places(tiny_run):
    data.assert_no_patient_leak(data.load_splits(tiny_run / "run" / "splits.json"))


def test_the_per_epoch_log_is_written(tiny_run):
    history = json.loads((tiny_run / "run" / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2]
    assert all(h["images_per_second"] > 0 and 0 <= h["val_auc"] <= 1 for h in history)


def test_the_run_fits_the_input_check_and_reports_it(tiny_run):
    man = json.loads((tiny_run / "model" / "manifest.json").read_text())
    check = man["input_check"]
    assert check["fit_split"] == "train" and check["n_fit"] == man["data"]["splits"]["train"]["images"]
    assert check["evaluation"]["kept"]["calib+val_report"]["rate"] >= check["target_kept"]
    assert set(check["evaluation"]["caught"]) == set(ood_set.OOD_CLASSES)
    assert "## Input check (out of distribution)" in (tiny_run / "model" / "report.md").read_text()


def test_input_check_refits_an_existing_model_and_changes_nothing_else(tiny_run, tiny_dataset, tmp_path):
    import shutil

    model = tmp_path / "model"
    shutil.copytree(tiny_run / "model", model)
    before = json.loads((model / "manifest.json").read_text())
    stripped = {k: v for k, v in before.items() if k != "input_check"}
    (model / "manifest.json").write_text(json.dumps({**stripped, "schema_version": "1.1.0"}))
    res = _cli("input-check", "--model-dir", str(model), "--data", str(tiny_dataset), "--studies", "")
    assert res.returncode == 0, res.stderr[-3000:]
    after = json.loads((model / "manifest.json").read_text())
    assert {k: v for k, v in after.items() if k != "input_check"} == {**stripped, "schema_version": manifest.SCHEMA_VERSION}
    # The check depends on the images alone: the refit gives the run's own section.
    assert after["input_check"] == before["input_check"]
    assert "| test |" in res.stdout
    assert (model / "report.md").read_text().count("## Input check (out of distribution)") == 1


def test_the_report_and_card_say_the_data_are_synthetic(tiny_run):
    assert "SYNTHETIC" in (tiny_run / "model" / "report.md").read_text()
    card = (tiny_run / "model" / "MODEL_CARD.md").read_text()
    assert "SYNTHETIC" in card and "not a diagnosis" in card


def test_offline_imagenet_request_exits_with_advice(tiny_dataset, tmp_path):
    res = _cli("run", "--data", str(tiny_dataset), "--run-dir", str(tmp_path / "r"), "--model-dir", str(tmp_path / "m"),
               env={"TORCH_HOME": str(tmp_path / "empty")})
    assert res.returncode == 2
    assert "--weights none" in res.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_distributed_training_with_gloo_and_two_processes(tiny_dataset, tmp_path):
    """torchrun, 2 CPU processes, gloo: both ranks train on disjoint shards and agree on validation."""
    res = subprocess.run(
        # Not --standalone: torch 1.13 binds its rendezvous to the fixed port 29400, so a second run on
        # the machine (another checkout's tests) broke this one's rendezvous ("Broken pipe").
        [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--rdzv_backend", "c10d",
         "--rdzv_endpoint", f"localhost:{_free_port()}", "--rdzv_id", f"chestaid-test-{os.getpid()}", "--nproc_per_node", "2",
         # torch 1.13 on Python 3.11 cannot parse the default "0" (IntFlag iteration changed); "1" works everywhere.
         "--redirects", "1", "--tee", "1",
         "-m", "chestaid_train", "run", "--data", str(tiny_dataset), "--model-id", "ddp-test",
         "--run-dir", str(tmp_path / "run"), "--model-dir", str(tmp_path / "model"), "--weights", "none",
         "--train-blocks", "denseblock4,norm5", "--epochs", "1", "--batch-size", "8", "--num-workers", "0",
         "--bootstrap", "50", "--no-progress", "--no-fp16", "--allow-unproven-threshold"],
        cwd=TRAINING, capture_output=True, text=True, timeout=600, env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert res.returncode == 0, res.stderr[-3000:]
    config = json.loads((tmp_path / "run" / "train_config.json").read_text())
    assert config["world_size"] == 2
    manifest.validate(json.loads((tmp_path / "model" / "manifest.json").read_text()))

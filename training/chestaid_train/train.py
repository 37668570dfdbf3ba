"""Fine-tuning loop: BCEWithLogits with pos_weight, AdamW, ReduceLROnPlateau on validation
ROC-AUC, early stopping keeping the best checkpoint, AMP on CUDA, DistributedDataParallel under
torchrun (NCCL on GPUs, gloo on CPU). Runs on torch 1.13 and 2.x.

Early stopping (and the learning-rate schedule) watches its own split, `early_stop`
(data.EARLY_STOP_SPLIT), only. Neither `calib`, on which the calibrator is selected and fitted,
nor `val_report` is looked at during training, so the calibration and threshold figures fitted
and reported on them stay unbiased.
"""
from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from scipy.special import expit
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data.distributed import DistributedSampler

from . import data, metrics, model as model_lib, preprocess
from .resize_cache import ResizeCache

ORIGINAL_STUDY_POS_WEIGHT = 0.34


@dataclass
class TrainConfig:
    data_root: str
    out_dir: str
    epochs: int = 20
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 1e-4
    pos_weight: float | str = ORIGINAL_STUDY_POS_WEIGHT  # or "auto": n_negative / n_positive
    weights: str = "imagenet"
    weights_file: str | None = None
    allow_download: bool = False
    trainable: str = ",".join(model_lib.DEFAULT_TRAINABLE)
    patience: int = 4
    lr_patience: int = 1
    seed: int = 42
    num_workers: int = 2
    amp: bool = True               # used only on CUDA
    size: int = preprocess.INPUT_SIZE
    val_fraction: float = 0.15
    calib_fraction: float = 0.5
    max_train_images: int | None = None   # cap for smoke runs
    device: str | None = None
    progress: bool = True
    splits_file: str | None = None        # reuse a saved split instead of making one
    resize_cache: bool = True             # decode and resize each image once (resize_cache.py)
    resize_cache_dir: str | None = None   # None: <out_dir>/resize-cache


@dataclass
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed() -> DistInfo:
    """torchrun sets WORLD_SIZE/RANK/LOCAL_RANK; without them this is a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    info = DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if backend == "nccl":
        torch.cuda.set_device(info.local_rank)
    return info


def pick_device(cfg: TrainConfig, info: DistInfo) -> torch.device:
    if cfg.device:
        return torch.device(cfg.device)
    return torch.device(f"cuda:{info.local_rank}") if torch.cuda.is_available() else torch.device("cpu")


def resize_cache_for(cfg: TrainConfig) -> ResizeCache | None:
    if not cfg.resize_cache:
        return None
    return ResizeCache(Path(cfg.resize_cache_dir) if cfg.resize_cache_dir else Path(cfg.out_dir) / "resize-cache")


def resolve_pos_weight(value: float | str, records) -> float:
    """The original study used 0.34; "auto" derives n_negative / n_positive from the training split."""
    if value == "auto":
        neg, pos = data.class_counts(records)
        if pos == 0:
            raise ValueError("cannot derive pos_weight: no pneumonia image in the training split")
        return neg / pos
    v = float(value)
    if not v > 0:
        raise ValueError(f"pos_weight must be positive, got {value!r}")
    return v


def _autocast(device: torch.device, enabled: bool):
    """fp16 autocast on CUDA; a no-op elsewhere (torch 1.13's CPU autocast refuses float16)."""
    import contextlib

    if enabled and device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def _grad_scaler(enabled: bool):
    amp = getattr(torch, "amp", None)
    if amp is not None and hasattr(amp, "GradScaler"):  # torch >= 2.3; the cuda.amp one is deprecated
        return amp.GradScaler("cuda", enabled=enabled)
    return torch.cuda.amp.GradScaler(enabled=enabled)


@torch.no_grad()
def predict_logits(net: nn.Module, dataset, batch_size: int, device, info: DistInfo, num_workers: int = 0, amp: bool = False) -> np.ndarray:
    """Logits for every item of `dataset`, in order. Under DDP each rank scores a shard and the
    shards are gathered, so every rank returns the same full array."""
    core = getattr(net, "module", net)
    core.eval()
    sampler = DistributedSampler(dataset, info.world, info.rank, shuffle=False) if info.world > 1 else None
    indices = list(sampler) if sampler is not None else list(range(len(dataset)))
    loader = DataLoader(dataset, batch_size=batch_size, sampler=indices, num_workers=num_workers)
    out = []
    for x, _ in loader:
        with _autocast(device, amp):
            out.append(core(x.to(device, non_blocking=True)).float().view(-1).cpu())
    logits = torch.cat(out).numpy() if out else np.zeros(0, np.float32)
    if info.world > 1:
        gathered = [None] * info.world
        dist.all_gather_object(gathered, (indices, logits))
        full = np.zeros(len(dataset), np.float32)
        for idx, vals in gathered:  # DistributedSampler pads with repeats: same value twice is fine
            full[np.asarray(idx)] = vals
        return full
    return logits.astype(np.float32)


def _write_history(out: Path, history: list[dict]) -> None:
    (out / "history.json").write_text(json.dumps(history, indent=1))
    with open(out / "history.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(history[0]))
        w.writeheader()
        w.writerows(history)


def train(cfg: TrainConfig) -> dict:
    """Trains and returns {"checkpoint", "history", "splits", "best_epoch", ...}. Writes into out_dir:
    splits.json, checkpoint.pt (best), history.json/.csv, train_config.json."""
    info = init_distributed()
    torch.manual_seed(cfg.seed)
    np.random.seed(cfg.seed)
    device = pick_device(cfg, info)
    if device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ:
        # Debian's torch starts with one thread on a 2-vCPU machine; two are 3.5x faster here.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // info.world))
    out = Path(cfg.out_dir)
    root = Path(cfg.data_root)
    if info.main:
        out.mkdir(parents=True, exist_ok=True)

    if cfg.splits_file:
        splits = data.load_splits(Path(cfg.splits_file))
    else:
        records = data.scan_kaggle(root)
        splits = data.make_splits(records, val_fraction=cfg.val_fraction, calib_fraction=cfg.calib_fraction, seed=cfg.seed)
    data.assert_no_patient_leak(splits)
    train_records = splits["train"]
    if cfg.max_train_images and len(train_records) > cfg.max_train_images:
        rng = np.random.default_rng(cfg.seed)
        keep = sorted(rng.choice(len(train_records), cfg.max_train_images, replace=False))
        train_records = [train_records[i] for i in keep]
    if info.main:
        overlap = data.official_id_overlap(r for part in splits.values() for r in part)
        if overlap["train_val_and_test"]:
            print(f"note: {overlap['train_val_and_test']} patient ids of the official test folder also occur in train/val; "
                  "the test folder numbers its children independently, so they are counted "
                  "(manifest data.official_id_overlap), not matched, and test stays the test split", flush=True)
        data.save_splits(out / "splits.json", splits, seed=cfg.seed, data_root=root,
                         val_fraction=cfg.val_fraction, calib_fraction=cfg.calib_fraction)

    pos_weight = resolve_pos_weight(cfg.pos_weight, train_records)
    net = model_lib.build_model(cfg.weights, weights_file=cfg.weights_file, allow_download=cfg.allow_download,
                                trainable=cfg.trainable).to(device)
    use_amp = cfg.amp and device.type == "cuda"
    if device.type == "cuda":
        net = net.to(memory_format=torch.channels_last)  # tensor cores prefer NHWC
    ddp = net
    if info.world > 1:
        ddp = nn.parallel.DistributedDataParallel(net, device_ids=[device.index] if device.type == "cuda" else None)

    cache = resize_cache_for(cfg)
    train_ds = data.XrayDataset(root, train_records, augment=preprocess.Augment(), size=cfg.size, seed=cfg.seed, cache=cache)
    early_stop_ds = data.XrayDataset(root, splits[data.EARLY_STOP_SPLIT], size=cfg.size, cache=cache)
    sampler = DistributedSampler(train_ds, info.world, info.rank, shuffle=True, seed=cfg.seed) if info.world > 1 else None
    loader = DataLoader(
        train_ds, batch_size=cfg.batch_size, shuffle=sampler is None, sampler=sampler,
        num_workers=cfg.num_workers, pin_memory=device.type == "cuda", drop_last=len(train_ds) > cfg.batch_size,
        persistent_workers=cfg.num_workers > 0, generator=torch.Generator().manual_seed(cfg.seed),
    )
    criterion = nn.BCEWithLogitsLoss(pos_weight=torch.tensor([pos_weight], device=device))
    optimizer = torch.optim.AdamW(model_lib.trainable_parameters(net), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=0.5, patience=cfg.lr_patience)
    scaler = _grad_scaler(use_amp)

    history: list[dict] = []
    best_auc, best_epoch, stale = -math.inf, -1, 0
    y_early_stop = early_stop_ds.labels()
    for epoch in range(1, cfg.epochs + 1):
        train_ds.set_epoch(epoch)
        if sampler is not None:
            sampler.set_epoch(epoch)
        model_lib.set_train_mode(ddp, True)
        t0 = time.perf_counter()
        total, seen = 0.0, 0
        batches = loader
        if cfg.progress and info.main:
            from tqdm import tqdm

            batches = tqdm(loader, desc=f"epoch {epoch}/{cfg.epochs}", unit="batch", leave=False)
        for x, y in batches:
            x = x.to(device, non_blocking=True)
            if device.type == "cuda":
                x = x.contiguous(memory_format=torch.channels_last)
            y = y.to(device, non_blocking=True).view(-1, 1)
            optimizer.zero_grad(set_to_none=True)
            with _autocast(device, use_amp):
                loss = criterion(ddp(x).float(), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total += loss.item() * len(x)
            seen += len(x)
            if batches is not loader:
                batches.set_postfix(loss=f"{total / seen:.4f}")
        if device.type == "cuda":
            torch.cuda.synchronize()
        train_seconds = time.perf_counter() - t0
        logits = predict_logits(ddp, early_stop_ds, cfg.batch_size * 2, device, info, cfg.num_workers, use_amp)
        val_auc = metrics.roc_auc(y_early_stop, expit(logits)) if len(set(y_early_stop.tolist())) == 2 else float("nan")
        val_loss = float(criterion(torch.from_numpy(logits).view(-1, 1).to(device),
                                   torch.from_numpy(y_early_stop.astype(np.float32)).view(-1, 1).to(device)))
        scheduler.step(val_auc)
        row = {
            "epoch": epoch,
            "train_loss": total / max(seen, 1) if info.world == 1 else _mean_across(total, seen, device),
            "val_loss": val_loss,
            "val_auc": val_auc,
            "lr": optimizer.param_groups[0]["lr"],
            "train_seconds": round(train_seconds, 3),
            "images_per_second": round(seen * info.world / train_seconds, 2),
        }
        history.append(row)
        improved = val_auc > best_auc
        if improved:
            best_auc, best_epoch, stale = val_auc, epoch, 0
            if info.main:
                torch.save({"state_dict": net.state_dict(), "epoch": epoch, "val_auc": val_auc,
                            "config": asdict(cfg), "pos_weight": pos_weight}, out / "checkpoint.pt")
        else:
            stale += 1
        if info.main:
            _write_history(out, history)
            print(json.dumps(row), flush=True)
        if stale >= cfg.patience:
            break
    if info.main:
        (out / "train_config.json").write_text(json.dumps({**asdict(cfg), "pos_weight_used": pos_weight,
                                                           "world_size": info.world, "device": str(device),
                                                           "torch": torch.__version__}, indent=1))
    if info.world > 1:
        dist.barrier()
    return {"checkpoint": out / "checkpoint.pt", "history": history, "splits": splits, "best_epoch": best_epoch,
            "best_val_auc": best_auc, "pos_weight": pos_weight, "dist": info, "device": device}


def _mean_across(total: float, seen: int, device) -> float:
    t = torch.tensor([total, float(seen)], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return float(t[0] / t[1])


def load_checkpoint(path: Path, trainable: str = "all") -> nn.Module:
    ckpt = torch.load(path, map_location="cpu")
    net = model_lib.build_model("none", trainable=trainable)
    net.load_state_dict(ckpt["state_dict"])
    return net.eval()

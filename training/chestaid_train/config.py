"""Training options on the command line and the `TrainConfig` they make.

The command line (`__main__`) and the demo builder (`demo`) both read these options, so they live
in the library: `__main__` imports from here, and no module of the package imports `__main__`
(tests/test_import_rules.py keeps it so).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from . import model as model_lib, preprocess
from .train import ORIGINAL_STUDY_POS_WEIGHT, TrainConfig


def _pos_weight(v: str):
    return v if v == "auto" else float(v)


def _image_size(v: str) -> int:
    # DenseNet-121 halves the image five times: below 32 px nothing is left for the CAM.
    size = int(v)
    if size < 32:
        raise argparse.ArgumentTypeError(f"image size must be at least 32 px, got {v}")
    return size


def add_train_args(p: argparse.ArgumentParser, **defaults) -> None:
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=int, default=defaults.get("epochs", 20))
    g.add_argument("--batch-size", type=int, default=defaults.get("batch_size", 32))
    g.add_argument("--lr", type=float, default=defaults.get("lr", 1e-4))
    g.add_argument("--weight-decay", type=float, default=1e-4)
    g.add_argument("--pos-weight", type=_pos_weight, default=ORIGINAL_STUDY_POS_WEIGHT,
                   help="BCE pos_weight (default 0.34 as in the original study) or 'auto' = n_neg/n_pos")
    g.add_argument("--weights", choices=["imagenet", "none"], default=defaults.get("weights", "imagenet"))
    g.add_argument("--weights-file", help="local torchvision densenet121 ImageNet state dict")
    g.add_argument("--download-weights", action="store_true", help="allow fetching ImageNet weights from the hub")
    g.add_argument("--train-blocks", default=defaults.get("trainable", ",".join(model_lib.DEFAULT_TRAINABLE)),
                   help=f"comma-separated blocks to fine-tune, or 'all' (blocks: {', '.join(model_lib.BLOCKS)})")
    g.add_argument("--image-size", type=_image_size, default=preprocess.INPUT_SIZE,
                   help=f"model input side in pixels (default {preprocess.INPUT_SIZE}, as in the original study; "
                        "smaller only for quick pipeline checks)")
    g.add_argument("--patience", type=int, default=defaults.get("patience", 4))
    g.add_argument("--seed", type=int, default=42)
    g.add_argument("--num-workers", type=int, default=defaults.get("num_workers", 2))
    g.add_argument("--no-amp", action="store_true", help="disable mixed precision on CUDA")
    g.add_argument("--val-fraction", type=float, default=0.15)
    g.add_argument("--calib-fraction", type=float, default=0.5)
    g.add_argument("--max-train-images", type=int)
    g.add_argument("--device")
    g.add_argument("--no-progress", action="store_true")
    g.add_argument("--target-sensitivity", type=float, default=0.90)
    g.add_argument("--bootstrap", type=int, default=1000, help="bootstrap replicates for the intervals")
    g.add_argument("--no-fp16", action="store_true", help="skip the fp16-weights ONNX variant")
    g.add_argument("--no-int8", action="store_true",
                   help="skip the int8 ONNX variant (quantized, with its own calibration and gates: int8.py)")
    g.add_argument("--resize-cache", metavar="DIR",
                   help="where each image, decoded and resized once, is kept for later epochs and runs "
                        "(default <run-dir>/resize-cache; share one folder to reuse it across runs)")
    g.add_argument("--no-resize-cache", action="store_true", help="decode and resize every image every epoch")


def config_from(args, data_root: Path, out_dir: Path) -> TrainConfig:
    return TrainConfig(
        data_root=str(data_root), out_dir=str(out_dir), epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, pos_weight=args.pos_weight, weights=args.weights,
        weights_file=args.weights_file, allow_download=args.download_weights, trainable=args.train_blocks,
        patience=args.patience, seed=args.seed, num_workers=args.num_workers, amp=not args.no_amp,
        val_fraction=args.val_fraction, calib_fraction=args.calib_fraction,
        max_train_images=args.max_train_images, device=args.device, progress=not args.no_progress,
        size=args.image_size, resize_cache=not args.no_resize_cache, resize_cache_dir=args.resize_cache,
    )

"""Command line: `python3 -m chestaid_train {run,demo,synth,fixtures,input-check} ...` (run from training/).

  run       the whole pipeline on a Kaggle-layout folder (train -> calibrate -> evaluate -> export -> manifest)
  demo      generate the synthetic set, train `chestaid-demo` on CPU, write the demo studies and fixtures
  synth     write a synthetic data set in the Kaggle layout
  fixtures  rewrite the parity fixtures and demo studies from an existing model directory
  input-check  fit the out-of-distribution input check of an existing model (no retraining) into
            its manifest, report and model card, and print its figures
  int8      quantize an existing model's model.onnx into its int8 variant (no retraining), with its
            own calibration and threshold, into its manifest, report and model card, and print its
            gates (exit 1 when one fails: nothing is published then)
  self-check  add to an existing model's manifest the outputs of onnxruntime-node on the probe input
            for each ONNX file, which every in-browser engine must reproduce (model bytes untouched)

Under torchrun (`torchrun --nproc_per_node N -m chestaid_train run ...`) training is distributed;
rank 0 alone calibrates, evaluates and exports.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import model as model_lib
from .config import add_train_args, config_from

REPO = Path(__file__).resolve().parents[2]


def cmd_run(args) -> int:
    from . import pipeline

    cfg = config_from(args, Path(args.data), Path(args.run_dir or REPO / "runs" / args.model_id))
    pipeline.run(cfg, model_id=args.model_id, model_dir=Path(args.model_dir or REPO / "models" / args.model_id),
                 version=args.version, target_sensitivity=args.target_sensitivity,
                 checkpoint=Path(args.checkpoint) if args.checkpoint else None, fp16=not args.no_fp16, int8=not args.no_int8,
                 n_boot=args.bootstrap, require_proven_threshold=not args.allow_unproven_threshold)
    return 0


def cmd_synth(args) -> int:
    from . import synthetic

    counts = {"train": (args.train_normal, args.train_pneumonia), "val": (8, 8), "test": (args.test_normal, args.test_pneumonia)}
    synthetic.generate_kaggle_layout(Path(args.out), counts, seed=args.seed, workers=args.workers)
    return 0


def cmd_demo(args) -> int:
    from . import demo

    demo.build(args)
    return 0


def cmd_fixtures(args) -> int:
    from . import demo

    demo.write_fixtures_and_studies(Path(args.model_dir), Path(args.data), Path(args.run_dir))
    return 0


def cmd_input_check(args) -> int:
    from . import input_check

    studies = args.studies
    if studies is None:
        # The fixture belongs to the committed demo model: another model leaves it alone.
        demo_dir = REPO / "models" / "chestaid-demo"
        studies = str(REPO / "test" / "demo-studies") if Path(args.model_dir).resolve() == demo_dir.resolve() else ""
    section = input_check.refresh_model_dir(Path(args.model_dir), Path(args.data), Path(studies) if studies else None)
    print(input_check.report_markdown(section))
    warning = input_check.kept_warning(section)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_int8(args) -> int:
    from . import int8

    entry = int8.add_to_model_dir(Path(args.model_dir), Path(args.data), n_boot=args.bootstrap)
    if entry is None:
        return 1
    print(f"published {entry['file']} ({entry['bytes']} bytes, sha256 {entry['sha256']}) into {args.model_dir}/manifest.json")
    return 0


def cmd_self_check(args) -> int:
    from . import self_check

    man = self_check.add_to_model_dir(Path(args.model_dir))
    for entry in [man["onnx"], *man["onnx"].get("variants", [])]:
        c = entry["self_check"]
        print(f"{entry['file']}: logit {c['logit']:.6f} on {c['probe']}, cam {c['cam']['shape'][0]}x{c['cam']['shape'][1]} ({c['runtime']})")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m chestaid_train", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="the whole pipeline on a Kaggle-layout folder")
    r.add_argument("--data", required=True, help="folder holding chest_xray/{train,val,test}/{NORMAL,PNEUMONIA}")
    r.add_argument("--model-id", default="chestaid-densenet121")
    r.add_argument("--version", default="0.1.0")
    r.add_argument("--model-dir", help="where to publish (default models/<model-id>)")
    r.add_argument("--run-dir", help="checkpoints and logs (default runs/<model-id>)")
    r.add_argument("--checkpoint", help="skip training: calibrate/evaluate/export this checkpoint (run-dir must hold splits.json)")
    r.add_argument("--allow-unproven-threshold", action="store_true",
                   help="smoke runs only: when val_report has too few positives to prove the target sensitivity, keep "
                        "the threshold that flags all of them and mark it unproven instead of stopping")
    add_train_args(r)
    r.set_defaults(fn=cmd_run)

    s = sub.add_parser("synth", help="write a synthetic data set in the Kaggle layout")
    s.add_argument("--out", required=True)
    s.add_argument("--train-normal", type=int, default=400)
    s.add_argument("--train-pneumonia", type=int, default=1100)
    s.add_argument("--test-normal", type=int, default=120)
    s.add_argument("--test-pneumonia", type=int, default=200)
    s.add_argument("--seed", type=int, default=2026)
    s.add_argument("--workers", type=int, default=2)
    s.set_defaults(fn=cmd_synth)

    d = sub.add_parser("demo", help="train chestaid-demo on synthetic data (CPU, no download)")
    d.add_argument("--data", default=str(REPO / ".cache" / "demo-data"))
    d.add_argument("--run-dir", default=str(REPO / "runs" / "chestaid-demo"))
    d.add_argument("--model-dir", default=str(REPO / "models" / "chestaid-demo"))
    d.add_argument("--quick", action="store_true", help="a tiny set and one epoch, to check the pipeline end to end")
    d.add_argument("--checkpoint", help="skip training and re-export this checkpoint")
    add_train_args(d, epochs=20, batch_size=16, lr=1e-3, weights="none", trainable="all", patience=6, num_workers=1)
    d.set_defaults(fn=cmd_demo)

    f = sub.add_parser("fixtures", help="rewrite parity fixtures and demo studies from a model directory")
    f.add_argument("--model-dir", default=str(REPO / "models" / "chestaid-demo"))
    f.add_argument("--run-dir", default=str(REPO / "runs" / "chestaid-demo"))
    f.add_argument("--data", default=str(REPO / ".cache" / "demo-data"))
    f.set_defaults(fn=cmd_fixtures)

    c = sub.add_parser("input-check", help="fit the input check of an existing model into its manifest and report")
    c.add_argument("--model-dir", default=str(REPO / "models" / "chestaid-demo"))
    c.add_argument("--data", default=str(REPO / ".cache" / "demo-data"),
                   help="the model's data set; a synthetic one is generated here from the manifest's settings")
    c.add_argument("--studies", default=None,
                   help="demo studies whose scores go into test/fixtures/input-check.json (default: test/demo-studies "
                        "for models/chestaid-demo, none for another model; '' to skip)")
    c.set_defaults(fn=cmd_input_check)

    q = sub.add_parser("int8", help="add the int8 variant of an existing model to its manifest, with its own calibration")
    q.add_argument("--model-dir", default=str(REPO / "models" / "chestaid-demo"))
    q.add_argument("--data", default=str(REPO / ".cache" / "demo-data"),
                   help="the model's data set; a synthetic one is generated here from the manifest's settings")
    q.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples of the operating-point intervals")
    q.set_defaults(fn=cmd_int8)

    k = sub.add_parser("self-check", help="add each ONNX file's probe outputs (the engines' self-check) to an existing manifest")
    k.add_argument("--model-dir", default=str(REPO / "models" / "chestaid-demo"))
    k.set_defaults(fn=cmd_self_check)

    args = p.parse_args(argv)
    try:
        return args.fn(args)
    except model_lib.WeightsUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

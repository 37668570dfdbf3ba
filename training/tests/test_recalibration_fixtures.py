"""The viewer's recalibration parity fixture is what the current Python code computes."""

import importlib.util
import json
import math

from conftest import REPO

# The fixture holds floats computed with numpy/scipy/scikit-learn; another CPU or BLAS build changes
# their last digits (seen: 244 of 7559 lines differ by one unit in the 16th digit on an AMD EPYC).
# Numbers are compared with a tolerance far below what the viewer's parity tests check (1e-6),
# everything else exactly.
REL_TOL = 1e-9
ABS_TOL = 1e-12


def _differences(expected, actual, path="$"):
    """Where two JSON values differ: numbers beyond the tolerance, anything else at all."""
    if isinstance(expected, bool) or isinstance(actual, bool) or isinstance(expected, str) or expected is None:
        return [] if expected == actual else [f"{path}: {expected!r} != {actual!r}"]
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        if math.isclose(expected, actual, rel_tol=REL_TOL, abs_tol=ABS_TOL):
            return []
        return [f"{path}: {expected!r} != {actual!r}"]
    if isinstance(expected, dict) and isinstance(actual, dict):
        if expected.keys() != actual.keys():
            return [f"{path}: keys {sorted(expected)} != {sorted(actual)}"]
        return [d for k in expected for d in _differences(expected[k], actual[k], f"{path}.{k}")]
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: length {len(expected)} != {len(actual)}"]
        return [d for i, (e, a) in enumerate(zip(expected, actual)) for d in _differences(e, a, f"{path}[{i}]")]
    return [f"{path}: {type(expected).__name__} != {type(actual).__name__}"]


def test_fixture_comparison_tolerates_last_digits_only():
    assert _differences({"a": [0.06817386060468665]}, {"a": [0.06817386060468664]}) == []
    assert _differences({"a": [0.0681738]}, {"a": [0.0681739]}) != []
    assert _differences({"a": 1}, {"b": 1}) != []
    assert _differences({"a": "platt"}, {"a": "isotonic"}) != []
    assert _differences([1, 2], [1, 2, 3]) != []


def _script():
    path = REPO / "training" / "scripts" / "make_recalibration_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_recalibration_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_recalibration_fixture_is_current():
    mod = _script()
    differences = _differences(json.loads(mod.OUT.read_text()), json.loads(mod.render()))
    assert differences == [], (
        "test/fixtures/recalibration.json is stale: rerun "
        "PYTHONPATH=training /usr/bin/python3 training/scripts/make_recalibration_fixtures.py\n"
        + "\n".join(differences[:10])
    )


def test_fixture_cases_keep_both_classes_in_each_half():
    for case in _script().build()["cases"]:
        for part in ("fit", "eval"):
            y = case[part]["y"]
            assert 0 < sum(y) < len(y), (case["name"], part)

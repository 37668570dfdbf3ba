"""The viewer's recalibration parity fixture is what the current Python code computes."""

import importlib.util

from conftest import REPO


def _script():
    path = REPO / "training" / "scripts" / "make_recalibration_fixtures.py"
    spec = importlib.util.spec_from_file_location("make_recalibration_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_recalibration_fixture_is_current():
    mod = _script()
    assert mod.OUT.read_text() == mod.render(), (
        "test/fixtures/recalibration.json is stale: rerun "
        "PYTHONPATH=training /usr/bin/python3 training/scripts/make_recalibration_fixtures.py"
    )


def test_fixture_cases_keep_both_classes_in_each_half():
    for case in _script().build()["cases"]:
        for part in ("fit", "eval"):
            y = case[part]["y"]
            assert 0 < sum(y) < len(y), (case["name"], part)

"""The presets' claims, run and checked: shared by tests/test_presets.py (experiments/) and tests/test_remedies.py
(experiments/remedies/). Each claim is measured once per test session, whichever module asks first."""
from functools import cache

from lab.contract.presets import experiment_presets
from lab.readings.claims import formula, preset_claims


def preset_names(remedies: bool) -> list[str]:
    """Experiment presets in experiments/remedies/ (remedies=True) or outside it."""
    return sorted(name for name in experiment_presets() if name.startswith("remedies/") == remedies)


@cache
def measured(name: str, quick: bool):
    """(measurement, result, counterpart) of a preset's claim, run once per test session."""
    return preset_claims()[name].measure(quick)


def failure(name: str, quick: bool) -> str:
    measurement = measured(name, quick)[0]
    return f"{name}: {formula(preset_claims()[name].claim)} does not hold: measured {measurement.text()}"


def check_quick(name: str) -> None:
    """The preset runs in quick mode, and bears its claim out there when the claim holds at quick size."""
    measurement, result, _ = measured(name, True)
    assert result.status == "ok", result.summary["message"]
    assert result.config.training.epochs <= 5 and result.config.data.num_samples <= 256
    if preset_claims()[name].claim.size == "quick":
        assert measurement.holds, failure(name, True)


def check_full_size(name: str) -> None:
    """The claim holds on the preset as shipped."""
    assert measured(name, False)[0].holds, failure(name, False)

"""The remedy presets (experiments/remedies/) and their counterparts: the same experiment without the remedy.

Each remedy preset names what turns its remedy off on a line `# Without: key=value [key=value ...]`
(values parsed as YAML scalars, as with --set), so the comparison a preset claims is written once, in
the preset, and read by the tests and by `python -m lab claims` (which prints the ratios).
"""
from __future__ import annotations

import re
from pathlib import Path

from lab.contract.config import ExperimentConfig
from lab.contract.presets import REMEDY_PRESETS
from lab.contract.config_io import ConfigError, load_config, parse_override, read_text
from lab.readings.report import dead_share, final_accuracy, first_to_last

WITHOUT_LINE = re.compile(r"^# Without: (.+)$", re.MULTILINE)


def remedy_presets() -> dict[str, Path]:
    """Remedy presets by name (the file's stem)."""
    return {path.stem: path for path in sorted(REMEDY_PRESETS.glob("*.yaml"))}


def without_overrides(path: Path) -> dict:
    """The dotted overrides that turn the preset's remedy off, from its '# Without:' line."""
    found = WITHOUT_LINE.search(read_text(Path(path)))
    if not found:
        raise ConfigError(f"{path}: a remedy preset needs a '# Without: key=value' line naming what turns its remedy off")
    return dict(parse_override(item) for item in found.group(1).split())


def remedy_and_counterpart(path: Path, quick: bool = False) -> tuple[ExperimentConfig, ExperimentConfig]:
    """(the preset, the same preset without its remedy), both validated."""
    return load_config(path, quick=quick), load_config(path, overrides=without_overrides(path), quick=quick)


def print_ratios(quick: bool = False) -> None:
    """Run every remedy preset and its counterpart; print first-to-last ratios at initialisation and after training."""
    from lab.training.run import run

    print(f"{'preset':<18} {'variant':<8} {'status':<9} {'grad_norm 1/last':>16} {'preact_grad_rms 1/last':>22} "
          f"{'(end)':>9} {'dead at 0':>9} {'val_acc':>8}")
    for name, path in remedy_presets().items():
        for variant, config in zip(("with", "without"), remedy_and_counterpart(path, quick)):
            result = run(config)
            accuracy = final_accuracy(result)
            grad, signal = first_to_last(result.layers, "grad_norm"), first_to_last(result.layers, "preact_grad_rms")
            signal_end = first_to_last(result.layers, "preact_grad_rms", "end")
            print(f"{name:<18} {variant:<8} {result.status:<9} {grad:>16.3g} {signal:>22.3g} {signal_end:>9.3g} "
                  f"{dead_share(result.layers, 'start'):>9.3f} {'-' if accuracy is None else f'{accuracy:.3f}':>8}", flush=True)


"""Every preset in experiments/ states one claim as data in its YAML (a top-level `claim:` mapping) and the one
reader of claims, lab.readings.claims, checks it: each preset outside experiments/remedies/ runs in quick mode
and bears its claim out there when the claim holds at quick size, and every claim is run at full size (marked
slow); tests/test_remedies.py does the same for the remedies. Also here: the claim key is preset metadata that
the config loader ignores (run ids unchanged), a bad claim fails in one line naming its field, and the README's
presets block and docs/presets.md say what the YAML says."""
import re

import pytest

from lab import ConfigError, config_to_yaml, load_config, run_id_of
from lab.contract.config_io import parse_yaml
from lab.contract.presets import EXPERIMENTS, experiment_presets
from lab.readings import claims_table
from lab.readings.claims import number_text, preset_claims, read_claim
from tests.support.presets import check_full_size, check_quick, preset_names

README = EXPERIMENTS.parent / "README.md"
# (full size, --quick) run ids of every preset before claims became data: a claim must not change a single byte.
RUN_IDS = {
    "dead_at_birth": ("bee065512f9e", "efdbf1969780"),
    "deep_linear_gaussian": ("8fb25a6fbdfc", "8256fe786c6e"),  # issue #13: run ids of their own (no earlier run)
    "deep_linear_orthogonal": ("6774023842cc", "ed27a638614b"),
    "dying_relu_training": ("648c4f32d899", "fd2f5becb908"),
    "edge_of_chaos_tanh": ("2fad36dee14e", "7b72551ffed7"),  # issue #13, the tour's edge of chaos: ids of their own
    "gru_remembers": ("d114025d7bce", "a50898f347c9"),  # issue #14: the recurrent presets, ids of their own
    "irnn": ("0c77d3fa0fc5", "ce4df2e49f96"),
    "leaky_relu_rescue": ("640027124527", "0cf5759fc67f"),
    "lstm_remembers": ("971101d7be75", "ccc1eb81d920"),
    "ordered_phase_tanh": ("eca70f4a1470", "afb3887461ce"),
    "relu_glorot_deep": ("b644c151c0eb", "a071bbd6dfb3"),
    "relu_he": ("a73e445898ff", "568ffe058083"),
    "remedies/batch_norm": ("fe542db71837", "259ae6d0e577"),
    "remedies/gradient_clipping": ("c50451dcf5a9", "65c3932d1b90"),
    "remedies/layer_norm": ("9adf2df8fe91", "e5fc3126e61e"),
    "remedies/rai": ("74c21f8277f9", "510e1f0f6325"),
    "remedies/residual": ("6962b3064d00", "ed4951a6af1a"),
    "remedies/selu_lecun": ("11b11e510856", "1f190e2f6867"),
    "rnn_exploding": ("0eeb594edfec", "3569e5507d53"),
    "rnn_exploding_clipped": ("b217880cd6b9", "5d04bc855655"),
    "rnn_latch": ("8523089b8d64", "b97986348de3"),
    "rnn_vanishing": ("11aeaa966f9e", "fb94ffbf7d6b"),
    "sigmoid_vanishing": ("1cb7777c5201", "73dfe6fb7d38"),
    "softmax_multiclass": ("a5d6a45a59e1", "c086e5e0e78a"),
    "softsign_vs_tanh": ("b303ce62defb", "0280310bfbdf"),
    "step_zero_gradient": ("455d7075752a", "7450c89eee76"),
    "tanh_vs_sigmoid": ("f29b6d876613", "853133459c10"),
}


@pytest.mark.parametrize("name", preset_names(remedies=False))
def test_preset_runs_quick_and_bears_out_a_quick_claim(name):
    check_quick(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", preset_names(remedies=False))
def test_preset_bears_out_its_claim_at_full_size(name):
    check_full_size(name)


def test_every_preset_has_a_claim_and_a_first_line_that_does_not_restate_its_threshold():
    assert set(preset_claims()) == set(experiment_presets()), "every experiment preset states a claim"
    for name, preset in preset_claims().items():
        first = preset.path.read_text().split("\n", 1)[0]
        # One line, one sentence: the README and docs/presets.md show it.
        assert first.startswith(claims_table.SHOWS) and claims_table.shows(preset).endswith("."), \
            f"{name}: first line '# Shows: ...'"
        says_full_size = "Needs its full size" in preset.path.read_text()
        assert says_full_size == (preset.claim.size == "full"), f"{name}: a '# Needs its full size' comment iff size: full"
        threshold = preset.claim.threshold
        if not isinstance(threshold, str):  # as a number of its own: "10-layer" is not the threshold 10
            shown = "|".join(re.escape(text) for text in {number_text(threshold), f"{threshold:g}"})
            assert not re.search(rf"(?<![\w.-])({shown})(?![\w.-])", first), f"{name}: the threshold lives in claim:"


# ---- the claim is preset metadata, not config ------------------------------------------------------------------

def test_a_claim_changes_no_config_no_run_id_and_no_config_yaml():
    for name, path in experiment_presets().items():
        assert (run_id_of(load_config(path)), run_id_of(load_config(path, quick=True))) == RUN_IDS[name], name
        raw = parse_yaml(path.read_text())
        assert "claim" in raw and "claim" not in config_to_yaml(load_config(path))
        without = {key: value for key, value in raw.items() if key != "claim"}
        # A path, YAML text and an uploaded (parsed) mapping all load the same config, the claim ignored.
        assert load_config(path) == load_config(without) == load_config(raw) == load_config(path.read_text()), name


def test_a_claim_is_no_config_key_anywhere_else():
    with pytest.raises(ConfigError, match=r"^claim: unknown key"):
        load_config({}, overrides={"claim.says": "x"})  # --set claim.says=x: as before, not a field
    from lab.sweeps.sweep_config import load_sweep

    with pytest.raises(ConfigError, match="claim: unknown key"):
        load_sweep("name: s\nbase: {}\ngrid: {model.depth: [2]}\nclaim: {says: x}\n")


BAD_CLAIMS = [
    ("says: 'x {threshold}'\nmeasure: status\nmoment: end",
     "claim.below/above/at_least/at_most/within/equals: give exactly one threshold (got none)"),
    ("says: 'x {threshold}'\nmeasure: val_accuracy\nmoment: end\nabove: 0.5\nat_least: 0.6", "got above, at_least"),
    ("says: x\nmeasure: val_accuracy\nmoment: end\nabove: 0.5", "claim.says: must say {threshold} once"),
    ("says: 'x {threshold}'\nmeasure: val_accuracy\nmoment: end\nbellow: 0.5",
     "claim.bellow: unknown key; did you mean 'below'?"),
    ("says: 'x {threshold}'\nmeasure: gradient\nmoment: end\nbelow: 0.5", "claim.measure: must be one of"),
    ("says: 'x {threshold}'\nmeasure: grad_norm\nbelow: 0.5", "claim.reading: a layers column needs one of first_to_last"),
    ("says: 'x {threshold}'\nmeasure: val_accuracy\nreading: mean\nmoment: end\nbelow: 0.5", "claim.reading: leave it out"),
    ("says: 'x {threshold}'\nmeasure: val_accuracy\nbelow: 0.5", "claim.moment: val_accuracy is read at the end"),
    ("says: 'x {threshold}'\nmeasure: grad_norm\nreading: first_to_last\nmoment: every\nbelow: 0.5",
     "claim.moment: every record"),
    ("says: 'x {threshold}'\nmeasure: dead_layers\ncompare: change\nat_least: 1",
     "claim.compare: a change is the end minus the start"),
    ("says: 'x {threshold}'\nmeasure: dead_layers\ncounterpart: {seed: 1}\nat_least: 1",
     "claim.counterpart: give one exactly when"),
    ("says: 'x {threshold}'\nmeasure: status\nmoment: end\nequals: 0", "claim.equals: a status is tested with equals"),
    ("says: 'x {threshold}'\nmeasure: val_accuracy\nmoment: end\nequals: ok", "claim.equals: val_accuracy is a number"),
    ("says: 'x {threshold}'\nmeasure: status\nmoment: end\ncompare: change\nequals: ok", "claim.compare: a status is text"),
    ("says: 'x {threshold}'\nmeasure: val_accuracy\nmoment: end\nbelow: high", "claim.below: must be a valid number"),
    ("says: 'x {threshold}'\nmeasure: val_accuracy\nmoment: end\nwithin: 0.5", "claim.within: must be greater than 1"),
    ("says: 'x {threshold}'\nmeasure: val_accuracy\nmoment: end\nat_least: 0.9\nsize: huge", "claim.size: must be one of"),
    ("[1, 2]", "claim: must be a mapping of keys"),
    ("says: 'x {threshold}'\nmeasure: jac_spread\nbelow: 2", "claim.reading: a layers column needs one of"),
    ("says: 'x {threshold}'\nmeasure: grad_norm\nreading: largest\nlayers: near_q_star\nbelow: 2",
     "claim.layers: near_q_star reads a propagation column"),
    ("says: 'x {threshold}'\nmeasure: jac_spread\nreading: last\nlayers: near_q_star\nbelow: 2",
     "with reading mean or largest"),
    ("says: 'x {threshold}'\nmeasure: jac_spread\nreading: largest\nlayers: near\nbelow: 2", "claim.layers: must be one of"),
]


@pytest.mark.parametrize("claim, message", BAD_CLAIMS)
def test_a_bad_claim_fails_in_one_line_naming_its_field(tmp_path, claim, message):
    path = tmp_path / "preset.yaml"
    path.write_text("claim:\n" + "".join(f"  {line}\n" for line in claim.splitlines()) + "name: x\n")
    with pytest.raises(ConfigError) as error:
        read_claim(path)
    assert str(error.value).startswith(f"{path}: ") and message in str(error.value) and "\n" not in str(error.value)
    load_config(path)  # the config itself loads: the claim is not config


# ---- the README's presets block and docs/presets.md say what the YAML says -------------------------------------

def test_the_readme_presets_block_is_the_rendered_claims():
    block = claims_table.readme_block_of(README.read_text(encoding="utf-8"))
    if block is None:
        pytest.skip(f"README.md has no {' ... '.join(claims_table.README_MARKERS)} block")
    assert block == claims_table.readme_block(), "paste lab.readings.claims_table.readme_block() between the markers"


def test_docs_presets_states_every_claim_and_threshold_as_the_yaml_does():
    text = claims_table.DOC.read_text(encoding="utf-8")
    rows = claims_table.doc_rows(text)
    assert set(rows) == {f"`{name}`" for name in preset_claims()}
    for name, preset in preset_claims().items():
        cells = rows[f"`{name}`"]
        # Not the measured columns: those are one recorded run's numbers.
        assert cells[:5] == claims_table.doc_columns(preset), \
            f"{name}: regenerate docs/presets.md (claims_table.write_presets_doc)"
        assert cells[5] and cells[6] in ("yes", "NO") and cells[7].startswith("full size run "), f"{name}: measured at full size"
    assert f"    {claims_table.COMMAND}    # " in text


def test_what_claims_prints_is_what_the_doc_reads():
    output = ("sigmoid_vanishing (needs: quick; full size run 1cb7777c5201)\n  claim: ...\n  test: ...\n"
              "  measured: 2.72×10⁻⁶  holds: yes\n\nremedies/rai (needs: quick; full size run a, counterpart b)\n  claim: c\n"
              "  test: t\n  measured: 0 (0 ÷ 8)  holds: NO\n\n2 of 2 claims hold.\n")
    assert claims_table.measured_from_output(output) == {"sigmoid_vanishing": ("2.72×10⁻⁶", "yes", "full size run 1cb7777c5201"),
                                                         "remedies/rai": ("0 (0 ÷ 8)", "NO", "full size run a, counterpart b")}


def test_python_m_lab_claims_prints_what_the_doc_reads(monkeypatch, capsys):
    one = {"step_zero_gradient": preset_claims()["step_zero_gradient"]}  # one cheap claim, printed for real
    monkeypatch.setattr(claims_table, "preset_claims", lambda: one)
    claims_table.print_claims(quick=True)
    printed = capsys.readouterr().out
    quick_run = f"quick run {RUN_IDS['step_zero_gradient'][1]}"
    assert claims_table.measured_from_output(printed) == {"step_zero_gradient": ("0", "yes", quick_run)}
    assert printed.endswith("1 of 1 claims hold (quick sizes).\n")


def test_a_threshold_is_written_with_the_digits_it_has():
    from lab.readings.claims import claim_for, formula, sentence

    claim = claim_for("deep_linear_orthogonal").claim
    assert "below 1.001 " in sentence(claim) and formula(claim).endswith("< 1.001")  # not "below 1"


def test_a_propagation_claim_reads_only_the_layers_near_q_star():
    """jac_spread = jac_max ÷ jac_min per layer; near_q_star keeps the layers whose q is within 10 % of q* (1 here)."""
    import pandas as pd

    from lab.contract.result import RunResult, frame
    from lab.readings.claims import Claim, evaluate

    config = load_config({"model": {"activation": "linear", "kernel_initializer": "orthogonal", "depth": 3},
                          "training": {"epochs": 0}, "probe": {"propagation": True}})
    propagation = pd.DataFrame({"run_id": "r", "step": 0, "layer": [1, 2, 3], "q": [1.0, 1.05, 2.0], "c": 0.5,
                                "jac_mean_sq": 1.0, "jac_max": [1.0, 4.0, 90.0], "jac_min": [1.0, 2.0, 3.0]})
    empty = {name: frame(name) for name in ("layers", "history", "histograms", "boundary")}
    result = RunResult(config=config, summary={"status": "ok"}, propagation=propagation, **empty)
    near = Claim(says="x {threshold}", measure="jac_spread", reading="largest", layers="near_q_star", below=2.5)
    assert evaluate(near, result).value == 2.0 and evaluate(near, result).holds  # layer 3 (q = 2) is left out
    every = Claim(says="x {threshold}", measure="jac_spread", reading="last", below=2.5)
    assert evaluate(every, result).value == 30.0 and not evaluate(every, result).holds

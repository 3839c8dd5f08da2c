"""Bad sweep files: for `python -m lab sweep` and lab.sweeps.runner.plan_sweep (via lab.sweeps.sweep_config.load_sweep)."""
from tests.support.bad_inputs import Bad, billion_laughs

# Files beside each sweep file, for the cases whose base is a path.
NEIGHBOURS = {
    "experiment.yaml": b"data: {num_samples: 64}\nmodel: {depth: 2, width: 3}\n"
                       b"training: {epochs: 0, batch_size: 16}\nprobe: {num_samples: 8}\n",
    "binary.yaml": b"\x89PNG\r\n\x1a\n\x00\x00\xff",
    "other_sweep.yaml": b"name: other\ngrid: {model.depth: [2]}\n",
    "bad_experiment.yaml": b"model: {dept: 3}\n",
}
VALID = "name: s\nbase: experiment.yaml\ngrid: {model.depth: [2, 3]}\nseeds: 2\n"  # the control: plans 4 runs

NOT_A_SWEEP = ("{file}", "must be a mapping with name, base, grid and seeds")
BAD_SEEDS = ("seeds", "must be a count between 1 and 10000 or a list of distinct whole numbers")
BAD_NAME = ("name", "must be 1-64 letters, digits, '_', '.' or '-'")
TOO_MANY_RUNS = ("grid", "runs; at most 20000 in one sweep")


def sweep(body: str, name: str = "s") -> str:
    """A sweep file: name, then body."""
    return f"name: {name}\n{body}"


def huge_grid(axes: int = 10, values: int = 10, seeds: int = 10_000) -> str:
    """values^axes cells x seeds, all over real fields: 10^14 runs, refused before any cell is built."""
    keys = ["model.depth", "model.width", "model.leaky_alpha", "data.num_samples", "data.noise", "data.num_features",
            "training.learning_rate", "training.batch_size", "training.epochs", "probe.num_samples"][:axes]
    lines = [f"  {key}: [{', '.join(str(index + 1) for index in range(values))}]" for key in keys]
    return sweep("grid:\n" + "\n".join(lines) + f"\nseeds: {seeds}\n")


SWEEP_CASES = [
    Bad("empty_file", "", NOT_A_SWEEP),
    Bad("only_a_comment", "# a sweep, some day\n", NOT_A_SWEEP),
    Bad("list_at_top", "- name: s\n", NOT_A_SWEEP),
    Bad("scalar_at_top", "depth_sweep\n", NOT_A_SWEEP),
    Bad("experiment_given_as_sweep", "model: {depth: 3}\n", (*NOT_A_SWEEP, "a file without grid is an experiment")),
    Bad("malformed_yaml", sweep("grid: {model.depth: [2, 3}\n"), ("{file}", "not valid YAML at line")),
    Bad("binary_file", b"\x89PNG\r\n\x1a\n\x00\x00\xff", ("{file}", "not a UTF-8 text file")),
    Bad("grid_is_a_list", sweep("grid: [model.depth]\n"), ("grid", "must be a mapping of keys")),
    Bad("grid_is_empty", sweep("grid: {}\n"), ("grid", "at least 1 item")),
    Bad("axis_is_a_scalar", sweep("grid: {model.depth: 3}\n"), ("grid.model.depth", "valid list")),
    Bad("axis_is_empty", sweep("grid: {model.depth: []}\n"), ("grid.model.depth", "needs at least one value")),
    Bad("axis_repeats_a_value", sweep("grid: {model.depth: [2, 2]}\n"), ("grid.model.depth", "a value is listed twice")),
    Bad("axis_misspelt", sweep("grid: {model.depht: [2]}\n"), ("grid.model.depht: unknown key", "did you mean 'model.depth'")),
    Bad("axis_is_a_section", sweep("grid: {model: [{depth: 2}]}\n"),
        ("grid.model: unknown key", "a dotted field such as model.depth")),
    Bad("axis_is_seed", sweep("grid: {seed: [1, 2]}\n"), ("grid.seed", "seeds: lists the seeds")),
    Bad("axis_is_name", sweep("grid: {name: [a, b]}\n"), ("grid.name", "named after the sweep")),
    Bad("axis_key_is_a_number", sweep("grid: {3: [1]}\n"), ("grid", "keys must be text")),
    Bad("cell_out_of_range", sweep("grid: {model.depth: [2, 0]}\n"),
        ("grid cell 1 (model.depth=0)", "model.depth", "greater than or equal to 1")),
    Bad("cell_nan", sweep("grid: {training.learning_rate: [0.1, .nan]}\n"),
        ("grid cell 1", "training.learning_rate", "finite number")),
    Bad("cell_inf", sweep("grid: {data.noise: [.inf]}\n"), ("grid cell 0", "data.noise", "finite number")),
    Bad("cell_wrong_type", sweep("grid: {model.activation: [relu, 3]}\n"), ("grid cell 1", "model.activation", "must be one of")),
    Bad("no_name", "grid: {model.depth: [2]}\n", ("name: required",)),
    Bad("name_parent_folder", sweep("grid: {model.depth: [2]}\n", name="../escape"), BAD_NAME),
    Bad("name_absolute_path", sweep("grid: {model.depth: [2]}\n", name="/etc/escape"), BAD_NAME),
    Bad("name_with_nul", sweep("grid: {model.depth: [2]}\n", name='"a\\0b"'), BAD_NAME),
    Bad("unknown_top_key", sweep("grid: {model.depth: [2]}\nworkers: 4\n"),
        ("workers: unknown key", "allowed here: name, base, grid, seeds")),
    Bad("seeds_zero", sweep("grid: {model.depth: [2]}\nseeds: 0\n"), ("seeds", "a count must be between 1 and 10000")),
    Bad("seeds_negative", sweep("grid: {model.depth: [2]}\nseeds: -1\n"), ("seeds", "a count must be between 1 and 10000")),
    Bad("seeds_over_cap", sweep("grid: {model.depth: [2]}\nseeds: 10001\n"), ("seeds", "a count must be between 1 and 10000")),
    Bad("seeds_repeated", sweep("grid: {model.depth: [2]}\nseeds: [1, 1]\n"), ("seeds", "a seed is listed twice")),
    Bad("seeds_empty_list", sweep("grid: {model.depth: [2]}\nseeds: []\n"), BAD_SEEDS),
    Bad("seeds_float", sweep("grid: {model.depth: [2]}\nseeds: 2.5\n"), BAD_SEEDS),
    Bad("seeds_inf", sweep("grid: {model.depth: [2]}\nseeds: .inf\n"), BAD_SEEDS),
    Bad("seeds_nan", sweep("grid: {model.depth: [2]}\nseeds: .nan\n"), BAD_SEEDS),
    Bad("seeds_boolean", sweep("grid: {model.depth: [2]}\nseeds: true\n"), BAD_SEEDS),
    Bad("seed_over_int32", sweep("grid: {model.depth: [2]}\nseeds: [2147483648]\n"), BAD_SEEDS),
    Bad("base_is_a_list", sweep("base: [1]\ngrid: {model.depth: [2]}\n"), ("base", "inline experiment (a mapping) or the path")),
    Bad("base_is_a_number", sweep("base: 5\ngrid: {model.depth: [2]}\n"), ("base", "inline experiment (a mapping) or the path")),
    Bad("base_file_missing", sweep("base: missing.yaml\ngrid: {model.depth: [2]}\n"), ("missing.yaml: no such file",)),
    Bad("base_is_a_folder", sweep("base: .\ngrid: {model.depth: [2]}\n"), ("is a folder, not a YAML file",)),
    Bad("base_is_binary", sweep("base: binary.yaml\ngrid: {model.depth: [2]}\n"), ("binary.yaml: not a UTF-8 text file",)),
    Bad("base_path_with_nul", sweep('base: "a\\0b.yaml"\ngrid: {model.depth: [2]}\n'), ("not a valid file name",)),
    Bad("base_is_a_sweep", sweep("base: other_sweep.yaml\ngrid: {model.depth: [2]}\n"),
        ("base", "is a sweep file", "must be an experiment")),
    Bad("base_file_invalid", sweep("base: bad_experiment.yaml\ngrid: {model.depth: [2]}\n"),
        ("grid cell 0 (model.depth=2)", "model.dept: unknown key")),
    Bad("base_inline_invalid", sweep("base: {modle: {}}\ngrid: {model.depth: [2]}\n"),
        ("grid cell 0", "modle: unknown key", "did you mean 'model'")),
    Bad("base_absolute_missing", sweep("base: /nonexistent/experiment.yaml\ngrid: {model.depth: [2]}\n"),
        ("/nonexistent/experiment.yaml: no such file",)),
    Bad("huge_grid", huge_grid(), (*TOO_MANY_RUNS, "10000000000 cells x 10000 seeds")),
    Bad("grid_just_over_the_cap", sweep("grid: {model.depth: [2, 3, 4]}\nseeds: 6667\n"),
        (*TOO_MANY_RUNS, "3 cells x 6667 seeds = 20001 runs")),
    Bad("python_tag_in_grid", sweep("grid: {model.depth: !!python/object/apply:os.system ['touch {tmp}/PWNED']}\n"),
        ("{file}", "!!python/object/apply:os.system is not allowed")),
    Bad("alias_bomb", billion_laughs() + sweep("grid: {model.depth: [2]}\n"), ("{file}", "YAML aliases (*name) are not allowed")),
    Bad("deep_nesting", sweep("grid: {model.depth: " + "[" * 3000 + "]" * 3000 + "}\n"),
        ("{file}", "nested deeper than 20 levels")),
]

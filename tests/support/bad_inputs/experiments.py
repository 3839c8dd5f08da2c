"""Bad experiment files: for `python -m lab run`, lab.load_config and the app's config upload."""
from tests.support.bad_inputs import Bad, billion_laughs

NOT_YAML = ("{file}", "not valid YAML at line")
NOT_UTF8 = ("{file}", "not a UTF-8 text file", "YAML text in UTF-8")
NOT_A_MAPPING = ("{file}", "must be a YAML mapping of sections")
BAD_NAME = ("name", "must be 1-64 letters, digits, '_', '.' or '-'")
TAG_REFUSED = ("{file}", "is not allowed", "a config holds plain values")

MALFORMED = [
    Bad("unclosed_flow_mapping", "model: {depth: 3\n", NOT_YAML),
    Bad("unclosed_quote", 'name: "half\n', ("{file}", "not valid YAML")),
    Bad("unclosed_list", "model: {activation: [relu\n", NOT_YAML),
    Bad("tab_indentation", "model:\n\tdepth: 3\n", (*NOT_YAML, "cannot start any token")),
    Bad("inconsistent_indentation", "model:\n  depth: 3\n   width: 4\n", NOT_YAML),
    Bad("two_documents", "model: {depth: 3}\n---\nmodel: {depth: 4}\n", (*NOT_YAML, "another document")),
    Bad("colon_in_plain_value", "model: depth: 3\n", NOT_YAML),
    Bad("nul_character", b"model:\x00 {}\n", ("{file}", "not valid YAML", "#x0000")),
]

NOT_TEXT = [
    Bad("png_image", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", NOT_UTF8),
    Bad("utf16_text", "model: {depth: 3}\n".encode("utf-16"), NOT_UTF8),
    Bad("latin1_text", "name: café\n".encode("latin-1"), NOT_UTF8),
    Bad("every_byte", bytes(range(256)), NOT_UTF8),
    Bad("gzip_archive", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xcb\xcd\x4f\x49\xcd\x01\x00", NOT_UTF8),
]

WRONG_SHAPE = [
    Bad("list_at_top", "- model\n- data\n", (*NOT_A_MAPPING, "got a list")),
    Bad("number_at_top", "42\n", (*NOT_A_MAPPING, "got a number")),
    Bad("string_at_top", "sigmoid_deep\n", (*NOT_A_MAPPING, "got a string")),
    Bad("boolean_at_top", "true\n", (*NOT_A_MAPPING, "got a boolean")),
    Bad("section_is_a_list", "model: [1, 2]\n", ("model", "must be a mapping of keys", "got a list")),
    Bad("section_is_a_string", "data: moons\n", ("data", "must be a mapping of keys", "got a string")),
    Bad("sweep_given_as_experiment", "name: s\ngrid: {model.depth: [2, 3]}\n", ("grid", "sweep file", "python -m lab sweep")),
    Bad("section_given_twice", "model: {depth: 3}\nmodel: {depth: 4}\n",
        ("{file}", "key 'model' is given twice", "give each key once")),
    Bad("field_given_twice", "model: {depth: 3, depth: 4}\n", ("{file}", "key 'depth' is given twice")),
]

UNKNOWN_KEYS = [
    Bad("misspelt_section", "modle: {depth: 3}\n", ("modle: unknown key", "did you mean 'model'", "allowed here")),
    Bad("misspelt_field", "model: {dept: 3}\n", ("model.dept: unknown key", "did you mean 'depth'")),
    Bad("british_spelling", "training: {optimiser: adam}\n", ("training.optimiser", "did you mean 'optimizer'")),
    Bad("unknown_without_hint", "zzz: 1\n", ("zzz: unknown key", "allowed here: name, seed, data, model, training, probe")),
]

WRONG_TYPES = [
    Bad("depth_as_text", 'model: {depth: "3"}\n', ("model.depth", "valid integer")),
    Bad("depth_as_float", "model: {depth: 3.0}\n", ("model.depth", "integer")),
    Bad("width_as_yes", "model: {width: yes}\n", ("model.width", "integer")),
    Bad("noise_as_word", "data: {noise: low}\n", ("data.noise", "number")),
    Bad("activation_as_list", "model: {activation: [relu]}\n", ("model.activation", "must be one of", "'relu'")),
    Bad("name_as_number", "name: 123\n", ("name", "valid string")),
    Bad("name_as_date", "name: 2001-12-14\n", ("name", "valid string")),
    Bad("name_as_bytes", "name: !!binary aGVsbG8=\n", ("name", "valid string")),
    Bad("record_every_as_word", "training: {record_every: steps}\n", ("training.record_every", "'epoch' or a whole number")),
    Bad("seed_as_null", "seed: null\n", ("seed", "integer")),
    Bad("unknown_dataset", "data: {dataset: mnist}\n", ("data.dataset", "must be one of", "'moons'")),
]

OUT_OF_RANGE = [
    Bad("depth_zero", "model: {depth: 0}\n", ("model.depth", "greater than or equal to 1")),
    Bad("depth_over_cap", "model: {depth: 101}\n", ("model.depth", "less than or equal to 100")),
    Bad("width_over_cap", "model: {width: 1025}\n", ("model.width", "less than or equal to 1024")),
    Bad("too_few_samples", "data: {num_samples: 15}\n", ("data.num_samples", "greater than or equal to 16")),
    Bad("validation_split_too_big", "data: {validation_split: 0.9}\n", ("data.validation_split", "less than or equal to 0.5")),
    Bad("seed_over_int32", "seed: 2147483648\n", ("seed", "less than or equal to 2147483647")),
    Bad("seed_bignum", "seed: 99999999999999999999999999\n", ("seed", "less than or equal to 2147483647")),
    Bad("momentum_one", "training: {momentum: 1.0}\n", ("training.momentum", "less than 1")),
    Bad("probe_over_training_set", "probe: {num_samples: 2000}\n", ("probe.num_samples", "at most the training set")),
    Bad("moons_with_three_classes", "data: {dataset: moons, num_classes: 3}\nmodel: {output_activation: softmax}\n",
        ("data.num_classes", "moons has 2 classes")),
]

NON_FINITE = [
    Bad("learning_rate_nan", "training: {learning_rate: .nan}\n", ("training.learning_rate", "finite number")),
    Bad("learning_rate_inf", "training: {learning_rate: .inf}\n", ("training.learning_rate", "finite number")),
    Bad("learning_rate_minus_inf", "training: {learning_rate: -.inf}\n", ("training.learning_rate", "finite number")),
    Bad("learning_rate_1e308", "training: {learning_rate: 1e308}\n", ("training.learning_rate", "less than or equal to 10")),
    Bad("noise_inf", "data: {noise: .inf}\n", ("data.noise", "finite number")),
    Bad("leaky_alpha_nan", "model: {leaky_alpha: .NaN}\n", ("model.leaky_alpha", "finite number")),
    Bad("bias_constant_nan", "model: {bias_initializer: .nan}\n", ("model.bias_initializer", "between -100 and 100")),
    Bad("bias_constant_minus_inf", "model: {bias_initializer: -.inf}\n", ("model.bias_initializer", "between -100 and 100")),
    Bad("bias_constant_1e308", "model: {bias_initializer: 1e308}\n", ("model.bias_initializer", "between -100 and 100")),
    Bad("depth_inf", "model: {depth: .inf}\n", ("model.depth", "integer")),
    Bad("validation_split_minus_1e308", "data: {validation_split: -1e308}\n",
        ("data.validation_split", "greater than or equal to 0")),
]

PYTHON_TAGS = [
    Bad("apply_os_system", "!!python/object/apply:os.system ['touch {tmp}/PWNED']\n",
        (*TAG_REFUSED, "!!python/object/apply:os.system")),
    Bad("apply_nested_in_a_field", "model: {depth: !!python/object/apply:os.system ['touch {tmp}/PWNED']}\n", TAG_REFUSED),
    Bad("new_subprocess", "!!python/object/new:subprocess.Popen [['touch', '{tmp}/PWNED']]\n", TAG_REFUSED),
    Bad("python_name", "name: !!python/name:os.system\n", (*TAG_REFUSED, "!!python/name:os.system")),
    Bad("python_object", "model: !!python/object:collections.OrderedDict {}\n", TAG_REFUSED),
    Bad("python_module", "data: !!python/module:os\n", TAG_REFUSED),
    Bad("python_tuple", "model: {depth: !!python/tuple [1]}\n", TAG_REFUSED),
    Bad("local_tag", "name: !shell rm -rf /\n", (*TAG_REFUSED, "!shell")),
]

BOMBS = [
    Bad("billion_laughs", billion_laughs(), ("{file}", "YAML aliases (*name) are not allowed")),
    Bad("one_alias", "model: &m {depth: 3}\ndata: *m\n", ("{file}", "YAML aliases (*name) are not allowed")),
    Bad("merge_key_alias", "base: &b {depth: 3}\nmodel: {<<: *b}\n", ("{file}", "YAML aliases (*name) are not allowed")),
    Bad("deep_list_nesting", "[" * 5000 + "]" * 5000 + "\n", ("{file}", "nested deeper than 20 levels")),
    Bad("deep_mapping_nesting", "a: {" * 1000 + "}" * 1000 + "\n", ("{file}", "nested deeper than 20 levels")),
    Bad("over_a_megabyte", "# " + "x" * 1_000_001 + "\n", ("{file}", "larger than 1000000 bytes")),
]

# Scalars PyYAML's own constructors used to crash on (ValueError, KeyError, ...), and numbers too long to print.
UNREADABLE_VALUES = [
    Bad("impossible_date", "name: 2001-02-30\n", ("{file}", "not valid YAML at line 1", "'2001-02-30' is not a valid timestamp")),
    Bad("int_tag_on_a_word", "seed: !!int abc\n", ("{file}", "not valid YAML at line 1", "'abc' is not a valid int")),
    Bad("bool_tag_on_a_word", "seed: !!bool maybe\n", ("{file}", "not valid YAML at line 1", "'maybe' is not a valid bool")),
    Bad("empty_int_tag", "seed: !!int\n", ("{file}", "not valid YAML at line 1", "is not a valid int")),
    Bad("set_tag_on_a_list", "name: !!set [1]\n", ("{file}", "not valid YAML", "a value cannot be built")),
    Bad("integer_of_5000_digits", "model: {depth: " + "1" * 5000 + "}\n",
        ("{file}", "not valid YAML at line 1", "is not a valid int")),
    Bad("hex_integer_of_4000_digits", "seed: 0x" + "f" * 4000 + "\n",
        ("seed", "less than or equal to 2147483647", "more than 4300 digits")),
    Bad("record_every_beyond_any_run", "training: {record_every: 1000000000000}\n",
        ("training.record_every", "at most 100000000")),
]

ESCAPING_NAMES = [
    Bad("name_parent_folder", "name: ../escape\n", BAD_NAME),
    Bad("name_absolute_path", "name: /tmp/escape\n", BAD_NAME),
    Bad("name_with_slash", "name: runs/escape\n", BAD_NAME),
    Bad("name_with_backslash", 'name: "..\\\\escape"\n', BAD_NAME),
    Bad("name_with_nul", 'name: "run\\0name"\n', BAD_NAME),
    Bad("name_with_newline", 'name: "run\\n"\n', BAD_NAME),
    Bad("name_dot_dot", "name: ..\n", BAD_NAME),
    Bad("name_hidden", "name: .hidden\n", BAD_NAME),
    Bad("name_empty", 'name: ""\n', BAD_NAME),
    Bad("name_too_long", "name: " + "a" * 65 + "\n", BAD_NAME),
]

# Recurrent networks (issue #14): each rule across model.kind, the cell and the sequence tasks, one line naming the field.
RNN = "model: {kind: rnn, "
ADDING = "data: {dataset: adding}\n"
RECURRENT = [
    Bad("sequence_task_with_an_mlp", "data: {dataset: adding}\n", ("data.dataset", "sequence task", "model.kind: rnn")),
    Bad("rnn_on_a_vector_set", "model: {kind: rnn}\n", ("data.dataset", "model.kind rnn reads sequences", "bit_memory, adding")),
    Bad("unknown_kind", "model: {kind: cnn}\n", ("model.kind", "must be one of", "'mlp'", "'rnn'")),
    Bad("unknown_cell", ADDING + RNN + "cell: transformer}\n", ("model.cell", "must be one of", "'lstm'", "'gru'")),
    Bad("cell_without_rnn", "model: {cell: lstm}\n", ("model.cell", "only with model.kind: rnn")),
    Bad("recurrent_initializer_without_rnn", "model: {recurrent_initializer: identity}\n",
        ("model.recurrent_initializer", "only with model.kind: rnn")),
    Bad("spectral_radius_without_rnn", "model: {spectral_radius: 0.9}\n", ("model.spectral_radius", "only with model.kind: rnn")),
    Bad("rnn_too_deep", ADDING + RNN + "depth: 5}\n", ("model.depth", "at most 4 stacked recurrent layers", "got 5")),
    Bad("lstm_with_relu", ADDING + RNN + "cell: lstm, activation: relu}\n", ("model.activation", "lstm cell takes tanh only")),
    Bad("identity_for_a_gru", ADDING + RNN + "cell: gru, recurrent_initializer: identity}\n",
        ("model.recurrent_initializer", "model.cell simple only", "use orthogonal, glorot_uniform, gaussian")),
    Bad("spectral_radius_for_an_lstm", ADDING + RNN + "cell: lstm, spectral_radius: 0.9}\n",
        ("model.spectral_radius", "model.cell simple only")),
    Bad("spectral_radius_zero", ADDING + RNN + "spectral_radius: 0}\n", ("model.spectral_radius", "a number > 0 and at most 10")),
    Bad("spectral_radius_nan", ADDING + RNN + "spectral_radius: .nan}\n",
        ("model.spectral_radius", "a number > 0 and at most 10")),
    Bad("spectral_radius_as_word", ADDING + RNN + "spectral_radius: big}\n", ("model.spectral_radius", "null")),
    Bad("sequence_length_one", "data: {dataset: adding, sequence_length: 1}\nmodel: {kind: rnn}\n",
        ("data.sequence_length", "greater than or equal to 2")),
    Bad("sequence_length_over_cap", "data: {dataset: adding, sequence_length: 1001}\nmodel: {kind: rnn}\n",
        ("data.sequence_length", "less than or equal to 1000")),
    Bad("sequence_length_for_moons", "data: {sequence_length: 20}\n", ("data.sequence_length", "only the sequence tasks")),
    Bad("adding_with_three_features", "data: {dataset: adding, num_features: 3}\nmodel: {kind: rnn}\n",
        ("data.num_features", "adding has 2 input channels", "leave it out or set 2")),
    Bad("temporal_order_with_two_classes", "data: {dataset: temporal_order, num_classes: 2}\nmodel: {kind: rnn}\n",
        ("data.num_classes", "temporal_order has 4 classes")),
    Bad("temporal_order_with_sigmoid", "data: {dataset: temporal_order}\nmodel: {kind: rnn}\n",
        ("model.output_activation", "use softmax for 4 classes")),
    Bad("noise_for_adding", "data: {dataset: adding, noise: 0.5}\nmodel: {kind: rnn}\n", ("data.noise", "only bit_memory")),
    Bad("rnn_with_normalization", ADDING + RNN + "normalization: batch}\n", ("model.normalization", "not with model.kind rnn")),
    Bad("rnn_with_skips", ADDING + RNN + "residual_every: 1}\n", ("model.residual_every", "not with model.kind rnn")),
    Bad("rnn_with_rai", ADDING + RNN + "kernel_initializer: rai}\n", ("model.kernel_initializer", "with model.kind rnn")),
    Bad("rnn_with_propagation", ADDING + RNN + "}\nprobe: {propagation: true}\n",
        ("probe.propagation", "not with model.kind rnn")),
]

EXPERIMENT_KINDS = (MALFORMED, NOT_TEXT, WRONG_SHAPE, UNKNOWN_KEYS, WRONG_TYPES, OUT_OF_RANGE, NON_FINITE, PYTHON_TAGS, BOMBS,
                    UNREADABLE_VALUES, ESCAPING_NAMES, RECURRENT)
EXPERIMENT_CASES = [case for kind in EXPERIMENT_KINDS for case in kind]

"""A finished run leaves nothing in TensorFlow's process-wide gradient registry (the app trains many runs)."""
from lab import run
from tests.support.configs import tiny_config


def custom_gradient_entries() -> int:
    """How many CustomGradient-N functions TensorFlow's gradient registry holds now."""
    from tensorflow.python.framework import ops

    return sum(1 for name in ops._gradient_registry._registry if str(name).startswith("CustomGradient-"))


def test_runs_do_not_accumulate_registered_gradient_graphs():
    run(tiny_config(seed=100))  # TensorFlow loaded, first traces done
    before = custom_gradient_entries()
    for seed in range(101, 104):
        run(tiny_config(seed=seed))
    assert custom_gradient_entries() == before

"""lab.run from two threads at once (a notebook, a server): each returns the numbers it gives alone."""
import threading

import pandas as pd

from lab import run

FRAMES = ("layers", "history", "histograms", "boundary")


def test_two_threads_running_at_once_each_get_the_numbers_they_get_alone(make_config):
    configs = [make_config(**{"model.activation": "relu", "training.epochs": 3}),
               make_config(**{"model.depth": 4, "model.activation": "sigmoid", "training.epochs": 3, "seed": 7})]
    alone = [run(config) for config in configs]

    # Both runs wait for each other at their first record, so they are certainly in flight together;
    # the first to finish then releases its TensorFlow state while the other is still training.
    meeting = threading.Barrier(2, timeout=120)
    met, results, errors = [], [None, None], []

    def train(index):
        def on_progress(step, total_steps, layers, history):
            if step == 0:
                meeting.wait()
                met.append(index)
        try:
            results[index] = run(configs[index], on_progress=on_progress)
        except Exception as error:  # noqa: BLE001 - reported below with the thread's index
            errors.append((index, error))

    threads = [threading.Thread(target=train, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors
    assert sorted(met) == [0, 1], "both runs were in flight at once"
    for together, by_itself in zip(results, alone):
        assert together.run_id == by_itself.run_id
        for name in FRAMES:
            pd.testing.assert_frame_equal(getattr(together, name), getattr(by_itself, name), check_exact=True)
        assert together.summary["final"] == by_itself.summary["final"]

"""A run's data from its config: the data set, its fixed probe batch and the shuffling stream (numpy, no TF).

The trainer, the store (probe.npy), the app's boundary view and the sweep workers all read the same
arrays from here, so a folder saved without TensorFlow holds exactly the probe the run measured on.
"""
from __future__ import annotations

import math

import numpy as np

from lab.contract.config import ExperimentConfig
from lab.contract.config_io import ConfigError
from lab.science.csv_data import CSV_DATASET, csv_dataset
from lab.science.data import Dataset, make_dataset

# Seeds are explicit and derived per purpose, never process-global: the app trains for several
# visitors in one process. make_dataset takes the run seed; the others use these stream keys.
PROBE_STREAM, SHUFFLE_STREAM = 2, 3


def prepare_data(config: ExperimentConfig) -> tuple[Dataset, np.ndarray]:
    """The run's data set and the indices of its fixed probe batch in the training split (no TF).

    For a sequence task the inputs are (samples, data.sequence_length, channels), so probe.npy is 3-D too.
    """
    data = config.data
    if data.dataset == CSV_DATASET:
        if data.csv_table is None:
            raise ConfigError(f"data.sha256: the csv with sha256 {data.sha256[:12]}... is not loaded; load the config with "
                              "lab.load_config from its file (data.path) or its run folder (data.csv beside config.yaml)")
        dataset = csv_dataset(data.csv_table, data.validation_split, config.seed)
    else:
        dataset = make_dataset(
            data.dataset, data.num_samples, data.noise, data.num_features, data.num_classes, data.validation_split,
            config.seed, sequence_length=data.sequence_length,
        )
    rng = np.random.default_rng([config.seed, PROBE_STREAM])
    probe_index = np.sort(rng.choice(len(dataset.x_train), size=config.probe.num_samples, replace=False))
    return dataset, probe_index


def steps_per_epoch(config: ExperimentConfig) -> int:
    """Optimizer updates per epoch (the last batch may be smaller)."""
    return math.ceil(config.num_train_samples / config.training.batch_size)

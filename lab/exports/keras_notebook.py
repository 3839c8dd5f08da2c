"""A lab run as a Jupyter notebook: the Keras script's sections as cells (lab.exports.keras_script), plus two charts.

Markdown cells explain, code cells run; after the step-0 table an Altair chart of the gradient norm per layer,
after training the curves, shown inline. Written with nbformat; nothing is executed here. The charts are drawn as PNG
images by Altair's "png" renderer (vl-convert, which the lab already pins): they show offline, on GitHub and in any
notebook viewer. Altair's default renderer would load vega-embed from a CDN, and its "mimetype" renderer emits
application/vnd.vegalite.v6.json, which nbformat 5.11's schema rejects (a JSON output's MIME type must end in +json).
"""
from __future__ import annotations

from lab.contract.config import ExperimentConfig
from lab.exports.keras_script import sections

STEP0_CHART = '''import altair as alt
import pandas as pd

alt.renderers.enable("png")  # static images (vl-convert): no internet needed to see the charts

step0_frame = pd.DataFrame(step0)
alt.Chart(step0_frame, title="Gradient norm per layer at step 0 (the output layer last)").mark_line(point=True).encode(
    x=alt.X("layer:O", title="layer"),
    y=alt.Y("grad_norm:Q", scale=alt.Scale(type="log"), title="grad_norm (kernel gradient, Frobenius norm)"),
    tooltip=["layer", "grad_norm", "bias_grad_norm", "preact_grad_rms", "weight_norm"],
)'''

CURVES_CHART = '''curves = pd.DataFrame(history).reset_index(names="epoch").melt("epoch", var_name="metric")
curves["epoch"] += 1
alt.Chart(curves, title="Training with model.fit (Keras' own loop)").mark_line(point=True).encode(
    x=alt.X("epoch:Q"), y=alt.Y("value:Q"), color="metric:N", tooltip=["epoch", "metric", "value"],
)'''


def notebook_text(config: ExperimentConfig, run_id: str) -> str:
    """The notebook of a run as .ipynb JSON (ConfigError if the run cannot be exported)."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    parts = sections(config, run_id)
    cells = [new_markdown_cell(
        f"# {config.name} (run `{run_id}`) as plain Keras\n\n"
        "Written by `python -m lab export`. It imports keras, numpy and scikit-learn (TensorFlow as Keras' backend; "
        "Altair and pandas for the charts), never `lab`. It rebuilds the run's data and initial weights, measures "
        "the gradient at initialisation as the lab does, then trains with `model.fit`.")]
    for part in parts:
        code = part.code
        if part.key == "lab_code":
            # The inlined definitions' annotations name lab types: left unevaluated, as in the lab's own modules.
            code = "from __future__ import annotations\n\n" + code
        cells += [new_markdown_cell(f"## {part.title}\n\n{part.explanation}"), new_code_cell(code)]
        if part.key == "step0":
            cells.append(new_code_cell(STEP0_CHART))
    cells.append(new_code_cell(CURVES_CHART))
    notebook = new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })
    return nbformat.writes(notebook)

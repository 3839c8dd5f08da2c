"""The app through Streamlit's AppTest: open a page, shrink the form's experiment, press Train, read the charts."""
import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
TIMEOUT = 180  # the first Train imports TensorFlow (about 7 s) and traces the model
SMALL = {"w.model.depth": 3, "w.model.width": 8, "w.training.epochs": 2, "w.data.num_samples": 256, "w.probe.num_samples": 64}


def experiment_page(session: dict | None = None, **query) -> AppTest:
    """The app on its experiment page, optionally opened with URL parameters and session state set before its first run."""
    app = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in query.items():
        app.query_params[key] = value
    for key, value in (session or {}).items():
        app.session_state[key] = value
    app.switch_page("app/pages/experiment.py")
    return app.run()


def set_small(app: AppTest, **extra) -> None:
    """Shrink the form's experiment so a test trains in about a second."""
    sliders = ("w.model.depth", "w.training.epochs")
    for key, value in {**SMALL, **extra}.items():
        (app.slider(key=key) if key in sliders else app.number_input(key=key)).set_value(value)


def press_train(app: AppTest) -> AppTest:
    """Click the form's Train button and wait for the run."""
    (train,) = [button for button in app.button if button.label in ("Train", "학습")]
    return train.click().run(timeout=TIMEOUT)


def choose_view(app: AppTest, view: str) -> AppTest:
    """The Experiment page with one of the results' views chosen (app.results_view builds the chosen view only)."""
    from app.results_view import VIEW_KEY

    return app.segmented_control(key=VIEW_KEY).set_value(view).run(timeout=TIMEOUT)


def chart_elements(app: AppTest) -> list:
    """Every Altair chart element on the page."""
    return app.get("arrow_vega_lite_chart") + app.get("vega_lite_chart")


def chart_specs(app: AppTest) -> list[dict]:
    """Every Altair chart on the page as its Vega-Lite spec."""
    return [json.loads(element.proto.spec) for element in chart_elements(app)]


def chart_rows(app: AppTest) -> list[dict]:
    """All data rows of all charts: Streamlit moves each chart's datasets into Arrow tables."""
    import pyarrow

    rows = []
    for element in chart_elements(app):
        spec = json.loads(element.proto.spec)
        rows += [row for values in spec.get("datasets", {}).values() for row in values]
        for dataset in element.proto.datasets:
            rows += pyarrow.ipc.open_stream(dataset.data.data).read_all().to_pylist()
    return rows

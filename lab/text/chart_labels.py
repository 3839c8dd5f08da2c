"""Chart texts in the visitor's language: the `labels` each chart builder accepts (English is the default)."""
from __future__ import annotations

MEASURES_KO = {
    "grad_norm": "가중치 기울기 노름 ||dL/dW||",
    "preact_grad_rms": "역전파 신호 (dL/dz의 RMS)",
    "bias_grad_norm": "편향 기울기 노름 ||dL/db||",
    "update_ratio": "갱신 비율 ||W - W_prev|| / ||W_prev||",
    "weight_norm": "가중치 노름 ||W||",
}

KOREAN = {
    "profile": {"title": "층별 {measure} (로그 척도)", "x": "층 (1 = 입력에 가장 가까운 층)", "y": "{measure}", "step": "스텝",
                "run": "실행", "epoch": "에포크", "layer_kind": "층", "hidden": "은닉층", "output": "출력층", "zero": "= 0",
                "empty": "그릴 측정값이 없습니다", "theory": "초기화 시점의 이론 예측 (점선)"},
    "heatmap": {"title": "{measure}: 층 × 스텝", "x": "스텝", "y": "층", "color": "log10 {measure}", "zero": "= 0",
                "output": "출력층", "empty": "그릴 측정값이 없습니다"},
    "dead": {"title": "은닉층별 죽은 유닛 (모든 프로브 샘플에서 출력이 정확히 0)", "x": "스텝", "y": "죽은 비율", "layer": "층",
             "empty": "기록된 은닉층이 없습니다"},
    "saturation": {"title": "은닉층별 포화 유닛 (|f'(z)| < 최대 f'의 5%)", "x": "스텝", "y": "포화 비율", "layer": "층"},
    "history": {"title": "학습 기록", "loss_title": "손실", "accuracy_title": "정확도", "x": "에포크", "loss": "손실",
                "accuracy": "정확도", "split": "구분", "train": "학습", "validation": "검증", "run": "실행",
                "empty": "학습한 에포크가 없습니다"},
    "boundary": {"title": "학습 종료 시 결정 경계", "x1": "x1", "x2": "x2", "class": "클래스",
                 "probability": "예측 클래스의 확률", "label": "실제 클래스"},
    "histogram": {"title": "{layer}층, {step} 스텝: {activation}'(z) 위의 사전 활성화 z", "x": "사전 활성화 z",
                  "y": "사전 활성화 비율", "derivative": "f'(z)", "count": "개수",
                  "edges": "가장 바깥 구간은 범위 밖의 모든 z도 셉니다 (여기서는 ±{edge:g} 밖).",
                  "below": "{edge:g}보다 작은 모든 z 포함", "above": "{edge:g}보다 큰 모든 z 포함",
                  "saturation": "포화: |f'(z)| < 최대 f'의 5%"},
    "activation": {"title": "{name}: f(x)와 도함수 f'(x)", "x": "x (사전 활성화)", "y": "값", "legend": "곡선",
                   "value": "f(x)", "derivative": "f'(x)", "max": "최대 f' = {value}", "zero": "f'(x) = 모든 곳에서 0",
                   "saturation": "회색 띠: 포화, |f'(x)| < 최대 f'의 5%"},
    "softmax": {"title": "softmax(z / T), T = {temperature:g}", "x": "클래스", "y": "확률", "logit": "로짓 z"},
}


def chart_labels(kind: str, language: str, measure: str | None = None) -> dict | None:
    """The labels for one kind of chart, or None for English (the builders' own defaults)."""
    if language != "ko":
        return None
    labels = dict(KOREAN[kind])
    if measure is not None:
        labels = {key: text.replace("{measure}", MEASURES_KO[measure]) for key, text in labels.items()}
    return labels

"""What a published page says, in English and Korean (the page picks by the browser's language).

Keys name a text; each is a ``(English, Korean)`` pair, where ``{name}`` marks a value the
page puts in.  A phrase the web app also shows reads the same in both (a test compares them
with :mod:`trainpad.web.i18n_ko`).
"""

from __future__ import annotations

TEXTS: dict[str, tuple[str, str]] = {
    "lead": (
        "Draw and see what the model reads. It runs in your browser: nothing you draw leaves this page.",
        "그리면 모델이 무엇으로 읽는지 보여 줍니다. 모델은 브라우저 안에서 돌아가며, 그린 것은 이 페이지 밖으로 나가지 않습니다.",
    ),
    "loading": ("Loading the model…", "모델을 불러오는 중…"),
    "load_failed": ("The model could not be loaded: {error}", "모델을 불러오지 못했습니다: {error}"),
    "hint_digits": ("Draw a digit, 0 to 9, as large as the pad allows.", "0부터 9까지 숫자 하나를 패드에 꽉 차게 그려 보세요."),
    "hint_classes": ("Draw one of the {count} {dataset} classes: {names}.", "{dataset}의 클래스 {count}개 중 하나를 그려 보세요: {names}."),
    "hint_photos": (
        "This model was trained on {dataset} pictures ({names}): a drawing would mean nothing to it. "
        "Upload a picture of one (light on dark or dark on light), or try a random test image.",
        "이 모델은 {dataset} 사진({names})으로 학습했기 때문에 그림은 의미가 없습니다. "
        "이런 사진을 올리거나(어두운 바탕에 밝게, 또는 밝은 바탕에 어둡게) 무작위 테스트 이미지를 써 보세요.",
    ),
    "blank_digits": ("Draw a digit", "숫자를 그려 보세요"),
    "blank_classes": ("Draw one of its classes", "클래스 하나를 그려 보세요"),
    "blank_photos": ("Upload a picture", "사진을 올려 보세요"),
    "more": ("{names} and {count} more", "{names} 외 {count}개"),
    "pad": ("Drawing pad", "그림판"),
    "clear": ("Clear", "지우기"),
    "undo": ("Undo", "되돌리기"),
    "sample": ("Random test image", "무작위 테스트 이미지"),
    "upload": ("Upload a picture", "사진 올리기"),
    "not_a_picture": ("That file is not a picture this browser can open.", "이 브라우저가 열 수 없는 파일입니다."),
    "probabilities": ("Prediction: every class", "예측: 모든 클래스"),
    "seen": ("What the model sees ({height}×{width})", "모델이 보는 그림 ({height}×{width})"),
    "test_image": ("Test image {index} of {dataset}: it is {truth}.", "{dataset} 테스트 이미지 {index}번: 정답은 {truth}입니다."),
    "inside": ("Inside the model", "모델의 속"),
    "inside_empty": (
        "Draw something: its saliency map and each layer's activations appear here.",
        "무언가를 그리면 돌출 맵과 각 층의 활성값이 여기에 나타납니다.",
    ),
    "saliency": ("Saliency (occlusion)", "돌출 맵 (가림)"),
    "saliency_caption": (
        "how much the model's score for “{name}” drops when each {patch}×{patch} patch of the picture is covered",
        "그림의 {patch}×{patch} 조각을 하나씩 가렸을 때 “{name}”의 점수가 얼마나 떨어지는지",
    ),
    "maps_caption": ("{shown} feature maps of {height}×{width} (orange: positive, blue: negative)", "{height}×{width} 특징 맵 {shown}개 (주황: 양수, 파랑: 음수)"),
    "first_of": ("the first {count} of {total}", "{total}개 중 처음 {count}"),
    "units_caption": ("{shown} (orange above zero, blue below)", "{shown} (주황은 0보다 큼, 파랑은 작음)"),
    "units_first": ("the first {count} of {total} units", "유닛 {total}개 중 처음 {count}개"),
    "units_all": ("{total} units", "유닛 {total}개"),
    "about": ("About this model", "이 모델에 대해"),
    "dataset": ("Dataset", "데이터셋"),
    "classes": ("Classes", "클래스"),
    "accuracy": ("Test accuracy", "테스트 정확도"),
    "accuracy_value": ("{accuracy}% on the {dataset} test images", "{dataset} 테스트 이미지에서 {accuracy}%"),
    "not_measured": ("not measured", "측정하지 않음"),
    "trained": ("Trained", "학습"),
    "epochs": ("{epochs} epoch(s)", "{epochs} 에포크"),
    "model": ("Model", "모델"),
    "optimizer": ("Optimizer", "옵티마이저"),
    "loss": ("Loss", "손실"),
    "run": ("Run settings", "실행 설정"),
    "runtime": (
        "Published with trainpad {trainpad}. The model runs in this browser with ONNX Runtime Web {version} (MIT licence).",
        "trainpad {trainpad}로 게시했습니다. 모델은 ONNX Runtime Web {version}(MIT 라이선스)으로 이 브라우저에서 돌아갑니다.",
    ),
    "language": ("한국어", "English"),
}


def texts(language: str) -> dict[str, str]:
    """Every text in ``language`` (``en`` or ``ko``), by key."""
    index = 1 if language == "ko" else 0
    return {key: pair[index] for key, pair in TEXTS.items()}


__all__ = ["TEXTS", "texts"]

"""Korean for every English text the web app shows (see :mod:`trainpad.web.i18n`).

Keys are the English exactly as the code writes it; ``{name}`` marks a value put in (a
number, a component's name), ``{name*}`` a value that is itself translated.  Add a line here
with every text you add to a tab or a handler: ``tests/test_i18n.py`` fails on one without.
"""

from __future__ import annotations

KOREAN: dict[str, str] = {
    # -- the page ------------------------------------------------------------------------
    "# trainpad\nTrain, evaluate and play with PyTorch models. Everything here comes from plugins: "
    "the datasets, models, optimizers and losses in the dropdowns, and these tabs.":
        "# trainpad\nPyTorch 모델을 학습하고, 평가하고, 직접 그려 보며 실험하세요. 여기 있는 모든 것은 플러그인에서 옵니다: "
        "드롭다운의 데이터셋, 모델, 옵티마이저, 손실 함수, 그리고 이 탭들까지.",
    "Error": "오류",
    # -- Train ---------------------------------------------------------------------------
    "Train": "학습",
    "Dataset": "데이터셋",
    "Model": "모델",
    "Optimizer": "옵티마이저",
    "Loss": "손실",
    "Hyperparameters": "하이퍼파라미터",
    "Run settings": "실행 설정",
    "Epochs": "에포크",
    "Batch size": "배치 크기",
    "Training samples": "학습 샘플 수",
    "0: all of them": "0: 전부",
    "LR schedule": "학습률 스케줄",
    "Device": "장치",
    "Seed": "시드",
    "Carry on training the current model": "현재 모델을 이어서 학습",
    "same dataset and model; the model keeps its own settings": "같은 데이터셋과 모델이어야 하며, 모델은 자기 설정을 유지합니다",
    "Download as a script": "스크립트로 내려받기",
    "Download the script": "스크립트 내려받기",
    "Script ready": "스크립트 준비 완료",
    "python {file} trains this run with torch and torchvision alone.": "python {file} 을 실행하면 torch와 torchvision만으로 이 실행을 학습합니다.",
    "{file}: not everything could be written out ({lacking}); the file says what to put there.":
        "{file}: 일부는 스크립트로 옮기지 못했습니다({lacking}). 무엇을 채워야 하는지 파일에 적혀 있습니다.",
    "Copy a link to these settings": "이 설정의 링크 복사",
    "Link copied": "링크를 복사했습니다",
    "The link to these settings is copied: whoever opens it gets this form.": "이 설정의 링크를 복사했습니다. 링크를 여는 사람은 이 양식 그대로 시작합니다.",
    "Part of the link was left out": "링크의 일부를 쓰지 못했습니다",
    "The link's {what} could not be used; the rest of it is in the form.": "링크의 {what} 항목은 쓸 수 없어 빼고, 나머지를 양식에 채웠습니다.",
    " (and {count} more)": " (외 {count}개)",
    "Start training": "학습 시작",
    "Stop": "중지",
    "Status": "상태",
    "Choose the components and settings, then **Start training**.": "구성 요소와 설정을 고른 뒤 **학습 시작**을 누르세요.",
    "Choose the components and settings, then **Start**.": "구성 요소와 설정을 고른 뒤 **시작**을 누르세요.",
    "Accuracy (%)": "정확도 (%)",
    "accuracy (%)": "정확도 (%)",
    "epoch": "에포크",
    "loss": "손실",
    "Metrics": "지표",
    "Download checkpoint": "체크포인트 내려받기",
    "Log": "로그",
    "Current model": "현재 모델",
    "Load a checkpoint, or go back to the shipped model": "체크포인트 불러오기, 또는 기본 제공 모델로 돌아가기",
    "Checkpoint (.pt)": "체크포인트 (.pt)",
    "Use the shipped model": "기본 제공 모델 사용",
    "Training diverged": "학습이 발산했습니다",
    "Preset": "프리셋",
    "Quick": "빠르게",
    "Best": "최고 성능",
    "The tutorial": "튜토리얼",
    "Fashion-MNIST": "Fashion-MNIST",
    "Kuzushiji-MNIST": "Kuzushiji-MNIST",
    "The defaults: a small CNN, SGD with Nesterov momentum and a one-cycle schedule; about 99% on MNIST after one epoch.":
        "기본 설정: 작은 CNN, 네스테로프 모멘텀을 쓰는 SGD, 원사이클 스케줄. 한 에포크 뒤 MNIST에서 약 99%.",
    "A wider CNN, label smoothing and digits moved by up to a pixel each way, for 99.5% on MNIST in under 30 s of training on two CPU cores.":
        "더 넓은 CNN, 레이블 스무딩, 사방으로 최대 한 픽셀씩 옮긴 숫자: CPU 코어 두 개로 30초 안에 학습해 MNIST에서 99.5%.",
    "The plain loop of the PyTorch tutorial: SGD without momentum or weight decay, the NLL loss, one learning rate throughout; compare it with Quick to see what they add.":
        "PyTorch 튜토리얼의 기본 루프: 모멘텀도 가중치 감쇠도 없는 SGD, NLL 손실, 처음부터 끝까지 같은 학습률. 빠르게와 비교하면 무엇이 더해졌는지 보입니다.",
    "Clothes instead of digits, with Best's recipe: about 92% after three epochs.": "숫자 대신 옷을, 최고 성능의 레시피로: 세 에포크 뒤 약 92%.",
    "Cursive hiragana, with Best's recipe: a harder alphabet of ten characters.": "흘림체 히라가나를, 최고 성능의 레시피로: 열 글자로 된 더 어려운 문자.",
    # -- the loop view and Step -----------------------------------------------------------
    "Step": "한 걸음",
    "The training loop, line by line": "학습 루프, 한 줄씩",
    "One step, taken alone": "한 걸음만 따로",
    "<p><b>Step</b> trains exactly one batch of the run the form describes and shows it here: its pictures with their labels, "
    "what the model made of a few, the loss before and after the update, and how much each layer changed. "
    "<b>Start training</b> then carries on from that step.</p>":
        "<p><b>한 걸음</b>은 양식이 정한 실행에서 배치 딱 하나만 학습하고 그 내용을 여기에 보여 줍니다: 그림과 레이블, "
        "몇 개에 대한 모델의 판단, 업데이트 전후의 손실, 각 층이 바뀐 정도. 그다음 <b>학습 시작</b>을 누르면 그 걸음에서 이어서 학습합니다.</p>",
    "Step {step}: loss on this batch {before} before the update, {after} after ({moved}); learning rate {lr}, ‖grad‖ {grad}":
        "{step}번째 걸음: 이 배치의 손실은 업데이트 전 {before}, 후 {after} ({moved}); 학습률 {lr}, ‖grad‖ {grad}",
    "down {change}": "{change} 감소",
    "up {change}": "{change} 증가",
    "The batch: {count} pictures, the first {shown} with their labels": "배치: 그림 {count}장, 처음 {shown}장과 레이블",
    "What the model made of the first {shown} (green: the label), before the update": "업데이트 전, 처음 {shown}장에 대한 모델의 판단 (초록: 레이블)",
    "Each layer: the gradient’s norm (orange) and the update’s size ‖Δw‖ (blue), each scaled to its largest":
        "각 층: 기울기의 노름(주황)과 업데이트 크기 ‖Δw‖(파랑), 각각 가장 큰 값에 맞춰 그림",
    "picture {number}, labelled {label}": "그림 {number}, 레이블 {label}",
    "step {step} of {steps}": "{steps}걸음 중 {step}번째",
    "step {step}": "{step}번째 걸음",
    "on {device}": "{device}에서",
    "output {shape}": "출력 {shape}",
    "loss {value}": "손실 {value}",
    "lr {value}": "학습률 {value}",
    "next lr {value}": "다음 학습률 {value}",
    "{count} samples": "샘플 {count}개",
    "{count} batches an epoch": "에포크마다 배치 {count}개",
    "{count} parameters, on {device}": "파라미터 {count}개, {device}에서",
    "epoch {epoch} of {epochs}": "에포크 {epochs}개 중 {epoch}번째",
    "epoch {epoch}: test accuracy {accuracy}": "에포크 {epoch}: 테스트 정확도 {accuracy}",
    "**Stepped:** step {step} of {steps}. **Step** again, or **Start training** to carry on from here.":
        "**한 걸음 진행:** {steps}걸음 중 {step}번째. **한 걸음**을 다시 누르거나, **학습 시작**으로 여기서부터 이어서 학습하세요.",
    "step {step}: loss {before} before the update, {after} after it on the same batch": "{step}번째 걸음: 같은 배치에서 업데이트 전 손실 {before}, 후 {after}",
    "stepping: one batch at a time; Start carries on from the last step": "한 걸음씩: 배치를 하나씩 학습합니다. 학습 시작을 누르면 마지막 걸음에서 이어집니다",
    "The loop appears once the form holds a run that can start: {reason}": "양식이 시작할 수 있는 실행을 담으면 루프가 나타납니다: {reason}",
    # comments in the loop (trainpad.engine.loop_source)
    "the initial weights, then dropout": "처음 가중치, 그다음 드롭아웃",
    "the order of the samples": "샘플의 순서",
    "the first {count}": "처음 {count}개",
    "up to max_lr in the first quarter, then down": "처음 4분의 1 동안 max_lr까지 오르고, 그다음 내려감",
    "no scheduler: the learning rate stays as the optimizer's": "스케줄러 없음: 학습률은 옵티마이저의 값 그대로",
    "the test split, once an epoch": "테스트 세트, 에포크마다 한 번",
    # -- Evaluate ------------------------------------------------------------------------
    "Evaluate": "평가",
    "Summary": "요약",
    "Press **Evaluate** to test the current model on the test split of its dataset.": "**평가**를 누르면 현재 모델을 그 데이터셋의 테스트 세트로 시험합니다.",
    "Test images": "테스트 이미지 수",
    "0: the whole test split": "0: 테스트 세트 전체",
    "Confusion matrix": "혼동 행렬",
    "Accuracy per class": "클래스별 정확도",
    "Random test images: the model's answer (green: right, red: wrong)": "무작위 테스트 이미지: 모델의 답 (초록: 맞음, 빨강: 틀림)",
    "Most confident mistakes: true → predicted (confidence)": "가장 자신 있게 틀린 것: 정답 → 예측 (확신도)",
    "✓ {answer} ({confidence})": "✓ {answer} ({confidence})",
    "✗ {answer} ({confidence}), truly {truth}": "✗ {answer} ({confidence}), 정답은 {truth}",
    "predicted": "예측",
    "true": "정답",
    # -- Predict -------------------------------------------------------------------------
    "Predict": "예측",
    "Draw a digit": "숫자를 그려 보세요",
    "Clear": "지우기",
    "…or upload a picture": "…또는 사진 올리기",
    "Picture of a digit": "숫자 사진",
    "Prediction: every class": "예측: 모든 클래스",
    "What the model sees (28×28)": "모델이 보는 그림 (28×28)",
    "Inside the model": "모델의 속",
    "<p class='tp-inside-empty'>Draw something: its saliency map and each layer's activations appear here.</p>":
        "<p class='tp-inside-empty'>무언가 그려 보세요. 돌출 맵(saliency map)과 각 층의 활성값이 여기에 나타납니다.</p>",
    "No model yet": "아직 모델이 없습니다",
    "Draw a digit, 0 to 9, as large as the pad allows.": "0부터 9까지 숫자 하나를 패드에 꽉 차게 그려 보세요.",
    "Random test image": "무작위 테스트 이미지",
    "Picture to classify": "분류할 사진",
    "Saliency": "돌출 맵",
    "the pixels that move the model's score for “{name}” most (the gradient of that class's logit with respect to each pixel)":
        "모델의 “{name}” 점수를 가장 크게 움직이는 픽셀 (각 픽셀에 대한 그 클래스 로짓의 기울기)",
    "{shown} feature maps of {height}×{width} (orange: positive, blue: negative)": "{height}×{width} 특징 맵 {shown}개 (주황: 양수, 파랑: 음수)",
    "the first {count} of {total}": "{total}개 중 처음 {count}",
    "{shown} (orange above zero, blue below)": "{shown} (주황은 0보다 큼, 파랑은 작음)",
    "the first {count} of {total} units": "유닛 {total}개 중 처음 {count}개",
    "{total} units": "유닛 {total}개",
    "This model has no layers to show.": "이 모델에는 보여 줄 층이 없습니다.",
    # -- Plugins -------------------------------------------------------------------------
    "Plugins": "플러그인",
    "Plugin": "플러그인",
    "Provides": "제공하는 것",
    "built-in": "기본 내장",
    "entry point": "엔트리 포인트",
    "{plugins} plugins, {components} components": "플러그인 {plugins}개, 구성 요소 {components}개",
    "{failed} with errors": "오류 {failed}개",
    "no errors": "오류 없음",
    "Install a plugin with <code>pip install</code> and restart the app; <code>TRAINPAD_DISABLE_PLUGINS=name</code> turns one off.":
        "플러그인은 <code>pip install</code>로 설치한 뒤 앱을 다시 시작하세요. <code>TRAINPAD_DISABLE_PLUGINS=이름</code>으로 끌 수 있습니다.",
    "loaded": "불러옴",
    "failed": "실패",
    "blocked": "차단됨",
    "tab": "탭",
    "dataset": "데이터셋",
    "model": "모델",
    "optimizer": "옵티마이저",
    "callback": "콜백",
}

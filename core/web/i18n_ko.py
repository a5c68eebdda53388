"""Korean for every English text the web app shows (see :mod:`trainpad.web.i18n`).

Keys are the English exactly as the code writes it; ``{name}`` marks a value put in (a
number, a component's name), ``{name}`` a value that is itself translated.  Add a line here
with every text you add to a tab or a handler: ``tests/test_i18n.py`` fails on one without.
"""

from __future__ import annotations

KOREAN: dict[str, str] = {
    # -- the page ------------------------------------------------------------------------
    "# trainpad\nDraw a digit and see what a neural network reads; then train your own and watch it learn.":
        "# trainpad\n숫자를 그리면 신경망이 무엇으로 읽는지 보여 줍니다. 그다음 직접 학습시키며 배워 가는 모습을 지켜보세요.",
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
    "same seed, same run": "같은 시드, 같은 실행",
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
    "Accuracy (%)": "정확도 (%)",
    "accuracy (%)": "정확도 (%)",
    "epoch": "에포크",
    "loss": "손실",
    "Metrics": "지표",
    "Download checkpoint": "체크포인트 내려받기",
    "Log": "로그",
    "Current model": "현재 모델",
    "Checkpoint (.pt)": "체크포인트 (.pt)",
    "Use the shipped model": "기본 제공 모델 사용",
    "Training diverged": "학습이 발산했습니다",
    # the runs table, and what a run's status says
    "### Runs\nEvery run of this session, with its settings and results (● the model Evaluate and Predict use). "
    "Pick one to see its curves. A new model (a run, or a checkpoint you add) is used if it does at least as well "
    "on the same dataset; one for another dataset, when you press **Use this run**.":
        "### 실행 기록\n이 세션의 모든 실행과 그 설정, 결과입니다 (● 평가와 예측에 쓰이는 모델). "
        "하나를 고르면 그 곡선을 볼 수 있습니다. 새 모델(실행, 또는 추가한 체크포인트)은 같은 데이터셋에서 지금 모델만큼 "
        "잘할 때 쓰이고, 다른 데이터셋의 모델은 **이 실행 사용**을 누를 때 쓰입니다.",
    "Run shown": "보고 있는 실행",
    "its curves, log and files": "곡선, 로그, 파일",
    "Overlay on the plots": "그래프에 겹쳐 보기",
    "other runs' curves, to compare with it": "비교할 다른 실행의 곡선",
    "Use this run": "이 실행 사용",
    "Download curves (CSV)": "곡선 내려받기 (CSV)",
    "Add a checkpoint (.pt) to the runs": "체크포인트(.pt)를 실행 기록에 추가",
    "train": "학습",  # a plot's series
    "test": "테스트",
    "strong: test, light: train (per step)": "진한 선: 테스트, 옅은 선: 학습 (스텝마다)",
    "A run is already going": "이미 실행 중입니다",
    "A run is already going in this session: stop it first, or wait for it to end.":
        "이 세션에서 이미 실행이 진행 중입니다. 먼저 중지하거나 끝날 때까지 기다리세요.",
    "**Preparing the run…**": "**실행 준비 중…**",
    "**Stopping…** the run ends after its current step.": "**중지하는 중…** 지금 스텝이 끝나면 실행이 멈춥니다.",
    "There is no such run in this session: pick one from the list.": "이 세션에는 그런 실행이 없습니다. 목록에서 고르세요.",
    "Pick the runs to compare from the list.": "비교할 실행을 목록에서 고르세요.",
    "{run} has no model to use: it {outcome} before it had any.": "{run}에는 쓸 모델이 없습니다 (모델이 생기기 전에 {outcome}).",
    "uploaded {name}: {model}": "{name} 올림: {model}",
    "This server has no shipped model: train one, or load a checkpoint.": "이 서버에는 기본 제공 모델이 없습니다. 모델을 학습하거나 체크포인트를 불러오세요.",
    "**Waiting for a free training slot:** another run is still training or wrapping up…":
        "**학습 자리를 기다리는 중:** 다른 실행이 아직 학습 중이거나 마무리하고 있습니다…",
    "{status}: {message} ({epochs} in {elapsed})": "{status}: {message} ({elapsed} 동안 {epochs})",
    "completed": "완료",
    "training finished": "학습을 마쳤습니다",
    "stopped at step {step} of {steps}; the model trained so far is kept": "{steps}걸음 중 {step}번째에서 멈췄습니다. 지금까지 학습한 모델을 남깁니다",
    "stopped by a callback": "콜백이 멈췄습니다",
    # a test point, in the log
    "{when}: test loss {loss}, accuracy {accuracy} on {samples} test samples, lr {lr}":
        "{when}: 테스트 손실 {loss}, 정확도 {accuracy} (테스트 샘플 {samples}개), 학습률 {lr}",
    "before training": "학습 전",
    "at epoch {epochs} (step {step})": "에포크 {epochs} 지점 (스텝 {step})",
    "no curves file: {reason}": "곡선 파일 없음: {reason}",
    "kept beside the model in use ({model})": "사용 중인 모델({model}) 옆에 보관함",
    "**Training…** (the starting model is tested: the first test point is drawn)": "**학습 중…** (시작 모델을 시험했고, 첫 테스트 점을 그렸습니다)",
    "**Preparing the run:** {rest}": "**실행 준비 중:** {rest}",
    "**Waiting for the stopped run to wrap up:** it is testing the model it keeps…": "**중지한 실행이 마무리되기를 기다리는 중:** 남길 모델을 테스트하고 있습니다…",
    "Downloading {name}: connecting…": "{name} 내려받는 중: 연결하는 중…",
    "Downloading {name}: {size} received, {done} of {files} files done": "{name} 내려받는 중: {size} 받음, 파일 {files}개 중 {done}개 완료",
    "Downloaded {name} ({size}); decoding…": "{name} 내려받기 완료 ({size}). 디코딩하는 중…",
    "Decoding {name}'s training images…": "{name} 학습 이미지를 디코딩하는 중…",
    "Decoding {name}'s test images…": "{name} 테스트 이미지를 디코딩하는 중…",
    "**Testing the starting model** on a sample of the test split…": "**시작 모델을 시험하는 중** (테스트 세트의 일부로)…",
    "**Training…**": "**학습 중…**",
    "**Waiting in line.** Another user is training, and this server trains {runs} at a time: your run starts by itself as soon as a slot is free (your place in the queue is shown above).":
        "**대기 중입니다.** 다른 사용자가 학습 중이고, 이 서버는 한 번에 {runs}만 학습합니다. 자리가 나면 실행이 저절로 시작됩니다 (대기 순서는 위에 표시됩니다).",
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
    "The plain loop of the PyTorch tutorial: SGD without momentum or weight decay, the NLL loss, one learning rate throughout: about 98.8% after one epoch, where Quick gets 99.3%.":
        "PyTorch 튜토리얼의 기본 루프: 모멘텀도 가중치 감쇠도 없는 SGD, NLL 손실, 처음부터 끝까지 같은 학습률. 한 에포크 뒤 약 98.8%로, 빠르게는 99.3%입니다.",
    "Clothes instead of digits, with Best's recipe: about 92% after three epochs.": "숫자 대신 옷을, 최고 성능의 레시피로: 세 에포크 뒤 약 92%.",
    "Cursive hiragana, with Best's recipe: a harder alphabet of ten characters.": "흘림체 히라가나를, 최고 성능의 레시피로: 열 글자로 된 더 어려운 문자.",
    # -- what the Train tab's handler says ---------------------------------------------------
    "{time}  {line}": "{time}  {line}",  # a line of the log
    "**Current model:** {model}": "**현재 모델:** {model}",
    "**Model:** {model}": "**모델:** {model}",
    "{model} on {dataset}, {epochs}, {accuracy}% test accuracy":
        "{dataset}로 학습한 {model}, {epochs}, 테스트 정확도 {accuracy}%",
    "{model} on {dataset}, {epochs}":
        "{dataset}로 학습한 {model}, {epochs}",
    "shipped": "기본 제공",
    "{label}, trained here": "{label}, 여기서 학습함",
    # the runs table (trainpad.web.runs): its columns and what its cells say
    "run": "실행",
    "in use": "사용 중",
    "lr": "학습률",
    "epochs": "에포크",
    "batch": "배치",
    "samples": "샘플",
    "schedule": "스케줄",
    "test accuracy": "테스트 정확도",
    "test loss": "테스트 손실",
    "status": "상태",
    "all": "전부",
    "preparing": "준비 중",
    "training…": "학습 중…",
    "stepped": "한 걸음씩",
    "steps only": "걸음만",
    "done": "완료",
    "stopped": "중지됨",
    "diverged": "발산함",
    "uploaded": "올림",
    "shipped model": "기본 제공 모델",
    "uploaded: {name}, {label}": "올린 파일: {name}, {label}",
    "No model yet: train one in the Train tab or load a checkpoint there.": "아직 모델이 없습니다. 학습 탭에서 학습하거나 체크포인트를 불러오세요.",
    "This session was reset ({reason}), so you are back on the shipped model.": "이 세션은 초기화되어({reason}) 기본 제공 모델로 돌아왔습니다.",
    "it was idle for too long": "너무 오래 쓰지 않았습니다",
    "the server needed its memory for newer sessions": "서버가 새 세션을 위해 메모리가 필요했습니다",
    "training {model} on {dataset} ({samples} samples) with {optimizer} (lr {lr}) and {loss}: {epochs} epoch(s), batch {batch}, {schedule} schedule, seed {seed}, device {device}":
        "{dataset}로 {model} 학습 (샘플 {samples}개), {optimizer} (학습률 {lr})와 {loss}: {epochs} 에포크, 배치 {batch}, {schedule} 스케줄, 시드 {seed}, 장치 {device}",
    "**Epoch {epoch}/{epochs}** · step {step} of {steps} · loss {loss} · lr {lr} · {rate} samples/s · about {left} left":
        "**에포크 {epoch}/{epochs}** · {steps}걸음 중 {step}번째 · 손실 {loss} · 학습률 {lr} · 초당 샘플 {rate}개 · 약 {left} 남음",
    "epoch {epoch}/{epochs}{early}: train loss {loss}, accuracy {accuracy}{test} ({rate} samples/s)":
        "에포크 {epoch}/{epochs}{early}: 학습 손실 {loss}, 정확도 {accuracy}{test} (초당 샘플 {rate}개)",
    "{epochs}, {steps} steps in {time}": "{epochs}, {time} 동안 {steps}걸음",
    "**Diverged.** {message}": "**발산함.** {message}",
    # a run's outcome (trainpad.web.train_handler.outcome_status), a sentence a line
    "**Done.** {name} reached {reached}.": "**완료.** {name}이(가) {reached}에 도달했습니다.",
    "**Stopped.** The model trained so far is kept as {label} ({reached}).": "**중지됨.** 지금까지 학습한 모델을 {label}(으)로 남겼습니다 ({reached}).",
    "{name} reached {reached} with those weights.": "{name}은(는) 그 가중치로 {reached}에 도달했습니다.",
    "{epochs}, {accuracy} test accuracy": "{epochs}, 테스트 정확도 {accuracy}",
    "1 epoch": "1 에포크",
    "{count} epochs": "{count} 에포크",
    "{count} of an epoch": "{count} 에포크",
    "run {number}": "실행 {number}",
    "Evaluate and Predict now use it.": "이제 평가와 예측이 이 모델을 씁니다.",
    "Evaluate and Predict now use it; the model before it ({before}, {old}) is still in the runs table.":
        "이제 평가와 예측이 이 모델을 씁니다. 이전 모델({before}, {old})은 실행 기록에 그대로 있습니다.",
    "Evaluate and Predict now use it; the model before it ({before}) is still in the runs table.":
        "이제 평가와 예측이 이 모델을 씁니다. 이전 모델({before})은 실행 기록에 그대로 있습니다.",
    "It is below the {old} of the model in use ({before}), which stays in use.": "지금 쓰는 모델({before})의 {old}보다 낮아서, 그 모델을 계속 씁니다.",
    "It was not tested, unlike the {old} of the model in use ({before}), which stays in use.":
        "테스트를 거치지 않아, {old}인 지금 모델({before})을 계속 씁니다.",
    "It is for {new}, and the model in use ({before}) for {old}: that one stays in use.":
        "{new}용 모델이고 지금 쓰는 모델({before})은 {old}용이라, 지금 모델을 계속 씁니다.",
    "**{name}** is added as {label} and in use: Evaluate and Predict use it.":
        "**{name}**을(를) {label}(으)로 추가했고, 이제 평가와 예측이 이 모델을 씁니다.",
    "**{name}** is added as {label}.": "**{name}**을(를) {label}(으)로 추가했습니다.",
    "Both are in the runs table; press **Use this run** to use {label} instead.": "둘 다 실행 기록에 있습니다. {label}을(를) 쓰려면 **이 실행 사용**을 누르세요.",
    "Nothing is training in this session.": "이 세션에서 학습 중인 것이 없습니다.",
    "A run is already going or waiting in this session: stop it first.":
        "이 세션에서 이미 실행 중이거나 대기 중인 실행이 있습니다. 먼저 중지하세요.",
    "There is no current model to carry on training: untick “Carry on training”.": "이어서 학습할 현재 모델이 없습니다. “이어서 학습”의 선택을 해제하세요.",
    "This run's page had already gone when its turn came, so it did not start.": "차례가 왔을 때 이 실행의 페이지가 이미 닫혀 있어서 시작하지 않았습니다.",
    "Choose the {kind} from the list (got {value}).": "목록에서 {kind}을(를) 고르세요 (받은 값: {value}).",
    "Choose a checkpoint file (.pt) to load.": "불러올 체크포인트 파일(.pt)을 고르세요.",
    "Wait for the run to end (or stop it) before loading another model.": "다른 모델을 불러오기 전에 실행이 끝나기를 기다리세요(또는 중지하세요).",
    "Wait for the run to end (or stop it) first.": "먼저 실행이 끝나기를 기다리세요(또는 중지하세요).",
    "That model would take {size}, more than the {limit} this server allows per model (TRAINPAD_MAX_MODEL_MB); choose a smaller width or fewer hidden units.":
        "그 모델은 {size}를 차지해, 이 서버가 모델 하나에 허락하는 {limit}보다 큽니다 (TRAINPAD_MAX_MODEL_MB). 폭을 줄이거나 은닉 유닛을 줄이세요.",
    "carrying on from step {step}": "{step}번째 걸음에서 이어서 학습",
    "carrying on from {model}": "{model}에서 이어서 학습",
    "stopped: {reason}": "중지됨: {reason}",
    "stopped before training began": "학습을 시작하기 전에 중지됨",
    "**Stopped** before training began. Your current model is unchanged.": "학습을 시작하기 전에 **중지됨**. 현재 모델은 그대로입니다.",
    "the run failed; the previous model is kept": "실행이 실패했습니다. 이전 모델을 유지합니다",
    "**The run failed**; the previous model is kept.": "**실행이 실패했습니다**. 이전 모델을 유지합니다.",
    # a run as a job (trainpad.web.train_handler, trainpad.web.zerogpu, trainpad.runtime.executors)
    "**The run failed.** {reason} Your current model is unchanged.": "**실행이 실패했습니다.** {reason} 현재 모델은 그대로입니다.",
    "**The run failed.** {message}": "**실행이 실패했습니다.** {message}",
    "{name} reached {reached} with the weights of its last snapshot, which are kept.":
        "{name}은(는) 마지막 스냅샷의 가중치로 {reached}에 도달했고, 그 가중치를 남겼습니다.",
    "failed: {reason}": "실패함: {reason}",
    "**Time limit reached.** {message}\n{status}": "**시간 제한에 도달함.** {message}\n{status}",  # (translated a line at a time)
    "the run reached this server's time limit of {span} per run, so it stopped; the model trained so far is kept. Train with fewer epochs or samples, or carry on training it in another run":
        "실행이 이 서버의 실행당 시간 제한({span})에 도달해 멈췄습니다. 지금까지 학습한 모델은 남겼습니다. 에포크나 샘플을 줄이거나, 다른 실행에서 이어서 학습하세요.",
    "the run used the {span} of GPU time planned for it, so it stopped; the model trained so far is kept. Train with fewer epochs or samples, or carry on training it in another run":
        "실행이 계획된 GPU 시간({span})을 다 써서 멈췄습니다. 지금까지 학습한 모델은 남겼습니다. 에포크나 샘플을 줄이거나, 다른 실행에서 이어서 학습하세요.",
    "training in a process of its own ({pid}), not the server's": "서버가 아닌 별도 프로세스({pid})에서 학습",
    "Training failed unexpectedly ({kind}); the details are in the server log.": "학습 중 예상하지 못한 오류가 났습니다 ({kind}). 자세한 내용은 서버 로그에 있습니다.",
    "Evaluating failed unexpectedly ({kind}); the details are in the server log.": "평가 중 예상하지 못한 오류가 났습니다 ({kind}). 자세한 내용은 서버 로그에 있습니다.",
    "The experiment failed unexpectedly ({kind}); the details are in the server log.": "실험 중 예상하지 못한 오류가 났습니다 ({kind}). 자세한 내용은 서버 로그에 있습니다.",
    "The evaluation ended without a result; try again.": "평가가 결과 없이 끝났습니다. 다시 해 보세요.",
    "This run has finished ({reason}): its model is kept as {label} in the runs table. Step again to begin a new run.":
        "이 실행은 끝났습니다 ({reason}). 모델은 실행 기록에 {label}(으)로 남았습니다. 새 실행을 시작하려면 다시 한 걸음을 누르세요.",
    "The run's process ended unexpectedly ({how}), most likely in a plugin's code; the server is unaffected. The model trained up to its last snapshot is kept. Try again, or choose other components.":
        "실행 프로세스가 예상치 않게 끝났습니다 ({how}). 아마 플러그인 코드 때문일 것이며, 서버는 영향을 받지 않았습니다. 마지막 스냅샷까지 학습한 모델을 남겼습니다. 다시 해 보거나 다른 구성 요소를 고르세요.",
    "This Space's GPU time for you is used up for now ({quota}). Sign in to Hugging Face for a larger quota, train a smaller run (fewer epochs or samples), or come back when your quota has renewed.":
        "이 Space에서 쓸 수 있는 GPU 시간을 지금은 다 썼습니다 ({quota}). Hugging Face에 로그인하면 할당량이 늘어납니다. 더 작은 실행(에포크나 샘플을 줄여서)을 학습하거나, 할당량이 다시 채워진 뒤에 오세요.",
    "This run would need {seconds} s of GPU time, more than ZeroGPU allows one call here. Choose fewer epochs or training samples.":
        "이 실행에는 GPU 시간이 {seconds}초 필요해, 여기서 ZeroGPU가 한 번의 호출에 허락하는 시간보다 깁니다. 에포크나 학습 샘플을 줄이세요.",
    "The GPU worker ended the run before it finished (it ran past its GPU time, or failed). The model trained up to its last snapshot is kept; try a shorter run.":
        "GPU 작업자가 실행이 끝나기 전에 멈췄습니다 (GPU 시간을 넘겼거나 실패했습니다). 마지막 스냅샷까지 학습한 모델을 남겼습니다. 더 짧은 실행을 해 보세요.",
    "No GPU of this Space was free in time: try again in a minute.": "이 Space의 GPU가 제때 비지 않았습니다. 1분 뒤에 다시 해 보세요.",
    "The GPU call failed ({what}): try again, or a smaller run.": "GPU 호출이 실패했습니다 ({what}). 다시 해 보거나 더 작은 실행을 해 보세요.",
    "**{status}** {why}.{detail} Your current model is unchanged.": "**{status}** {why}.{detail} 현재 모델은 그대로입니다.",
    "before the first step": "첫 걸음 전에",
    "checkpoint ready: {name}": "체크포인트 준비됨: {name}",
    "no checkpoint: {reason}": "체크포인트 없음: {reason}",
    "{status}: {message} ({time})": "{status}: {message} ({time})",
    "Test images: {reason}.": "테스트 이미지 수: {reason}.",
    "There is no model to evaluate yet: train one in the Train tab or load a checkpoint there.": "아직 평가할 모델이 없습니다. 학습 탭에서 학습하거나 체크포인트를 불러오세요.",
    "There is no model yet: train one in the Train tab or load a checkpoint there.": "아직 모델이 없습니다. 학습 탭에서 학습하거나 체크포인트를 불러오세요.",
    "The {dataset} test split is empty: there is no test image to show.": "{dataset} 테스트 세트가 비어 있어 보여 줄 테스트 이미지가 없습니다.",
    "Choose a preset from the list.": "목록에서 프리셋을 고르세요.",
    "Preset (edited)": "프리셋 (수정됨)",
    "Edited: {changes}.": "수정됨: {changes}.",
    "Edited: {changes}; and {more} more.": "수정됨: {changes} 외 {more}개.",
    "no preset named {name}; presets: {known}":
        "{name}(이)라는 프리셋은 없습니다. 프리셋: {known}.",
    "preset {name} needs {missing}, which is not registered (switched off?); presets: {known}":
        "프리셋 {name}에는 {missing}이(가) 필요한데 등록되어 있지 않습니다(꺼져 있나요?). 프리셋: {known}.",
    "unknown device {name}; use one of {choices}": "알 수 없는 장치 {name}. 다음 중 하나를 쓰세요: {choices}",
    "device {name} is not available here; available: {choices}": "이 서버에는 {name} 장치가 없습니다. 쓸 수 있는 장치: {choices}",
    "{name} must be true or false, got {value}.": "{name}은(는) 참이나 거짓이어야 합니다. 받은 값: {value}.",
    "{action} failed unexpectedly ({kind}); the details are in the server log.": "{action} 중 예상하지 못한 오류가 났습니다 ({kind}). 자세한 내용은 서버 로그에 있습니다.",
    "A run is going in this session: Step takes one batch of a run that is not training. Stop it first.":
        "이 세션에서 실행 중입니다. 한 걸음은 학습 중이 아닌 실행의 배치 하나를 학습합니다. 먼저 중지하세요.",
    # -- what the engine says about a run (trainpad.engine.params, training) ----------------
    "training":
        "학습 설정",
    "{name} must be at least {min}, got {value}": "{name}은(는) {min} 이상이어야 합니다. 받은 값: {value}",
    "{name} must be at most {max}, got {value}": "{name}은(는) {max} 이하여야 합니다. 받은 값: {value}",
    "{name} must be one of {allowed}; got {value}": "{name}은(는) {allowed} 중 하나여야 합니다. 받은 값: {value}",
    "{name} needs a value ({kind})": "{name}에 값({kind})이 필요합니다",
    "{name} must be true or false, got {value}": "{name}은(는) 참이나 거짓이어야 합니다. 받은 값: {value}",
    "{name} must be text, got {value}": "{name}은(는) 글이어야 합니다. 받은 값: {value}",
    "{name} must be a number ({kind}), got {value}": "{name}은(는) 수({kind})여야 합니다. 받은 값: {value}",
    "{name} must be a finite number, got {value}": "{name}은(는) 유한한 수여야 합니다. 받은 값: {value}",
    "{name} must be a whole number, got {value}": "{name}은(는) 정수여야 합니다. 받은 값: {value}",
    # the run settings' names, as the form labels them (epochs, seed and schedule are above, as the
    # runs table names them; a hyperparameter's name stays as its plugin wrote it)
    "batch_size": "배치 크기",
    "train_samples": "학습 샘플 수",
    "device": "장치",
    "int": "정수",
    "float": "실수",
    "training diverged at step {step}: the loss {what} (learning rate {lr}). The last good weights are kept. Lower the learning rate (lr) and try again.":
        "{step}번째 걸음에서 학습이 발산했습니다: 손실이 {what} (학습률 {lr}). 마지막으로 괜찮았던 가중치를 남겼습니다. 학습률(lr)을 낮춰 다시 해 보세요.",
    "became NaN or infinite": "NaN이나 무한대가 되었습니다",
    "exploded to {value}": "{value}까지 폭발했습니다",
    # -- the loop view and Step -----------------------------------------------------------
    "Step": "한 걸음",
    "Step again": "한 걸음 더",
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
    "### Accuracy {accuracy} · loss {loss} · {wrong} of {count} test images wrong": "### 정확도 {accuracy} · 손실 {loss} · 테스트 이미지 {count}장 중 {wrong}장 틀림",
    "true {true}, predicted {predicted}: {count} ({share} of {true})": "정답 {true}, 예측 {predicted}: {count}장 ({true}의 {share})",
    "{wrong} of {total} wrong": "{total}장 중 {wrong}장 틀림",
    "no mistakes": "틀린 것 없음",
    "count": "수",
    "of the true class": "정답 클래스 중",
    "{classes} classes are too many to draw as a matrix; the {count} most frequent confusions:": "클래스가 {classes}개라 행렬로 그리기에는 너무 많습니다. 가장 자주 헷갈린 {count}가지:",
    "predicted": "예측",
    "true": "정답",
    # -- Predict -------------------------------------------------------------------------
    "Predict": "예측",
    "Draw a digit": "숫자를 그려 보세요",
    "Clear": "지우기",
    "…or upload a picture": "…또는 사진 올리기",
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
    "{count} more layer(s) not shown: this server keeps at most {values} values of a model's insides per picture.":
        "층 {count}개는 더 표시하지 않습니다: 이 서버는 그림 하나마다 모델 내부의 값을 최대 {values}개까지만 보관합니다.",
    "The model's insides are not shown: its input is {shape}, and this server looks inside models whose input has at most "
    "{pixels} pixels (TRAINPAD_MAX_INSIDE_PIXELS) and {channels} channels. The prediction is its answer all the same.":
        "모델의 내부는 표시하지 않습니다: 입력이 {shape}인데, 이 서버는 입력이 최대 {pixels}픽셀"
        "(TRAINPAD_MAX_INSIDE_PIXELS), {channels}채널인 모델만 내부를 들여다봅니다. 예측은 그래도 모델의 답입니다.",
    "Undo": "되돌리기",
    "Publish as a web page": "웹 페이지로 게시",
    "Download the page": "페이지 내려받기",
    "Page ready": "페이지 준비 완료",
    "{file}: unzip it and serve the folder, or push the folder to a static Hugging Face Space.":
        "{file}: 압축을 풀어 폴더를 웹 서버로 열거나, 그 폴더를 정적(static) Hugging Face Space로 올리세요.",
    "There is no model to publish yet: train one in the Train tab or load a checkpoint there.":
        "아직 게시할 모델이 없습니다. 학습 탭에서 모델을 학습하거나 체크포인트를 불러오세요.",
    "This server does not publish pages (TRAINPAD_MAX_PUBLISHES_PER_CLIENT is 0): run `trainpad publish` on your own computer.":
        "이 서버는 페이지를 게시하지 않습니다(TRAINPAD_MAX_PUBLISHES_PER_CLIENT가 0). 내 컴퓨터에서 `trainpad publish`를 실행하세요.",
    "This server makes at most {allowed} pages an hour per visitor (TRAINPAD_MAX_PUBLISHES_PER_CLIENT): try again in {wait} minute(s), or run `trainpad publish` on your own computer.":
        "이 서버는 방문자마다 한 시간에 페이지를 {allowed}개까지만 만듭니다(TRAINPAD_MAX_PUBLISHES_PER_CLIENT). {wait}분 뒤에 다시 하거나, 내 컴퓨터에서 `trainpad publish`를 실행하세요.",
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
    "experiment": "실험",
    "This experiment runs on a picture: `trainpad lab {name} --image PICTURE` runs it.":
        "이 실험은 그림으로 합니다. `trainpad lab {name} --image 그림파일`로 실행하세요.",
    # -- Lab -----------------------------------------------------------------------------
    "Lab": "실험실",
    "Each experiment runs the same small recipe (a network with one hidden layer, on a few thousand pictures) "
    "two or more times side by side, **changing one line of the training loop**, and measures what that line does.":
        "실험마다 같은 작은 레시피(은닉층 하나짜리 신경망, 그림 수천 장)를 두 번 이상 나란히 돌리면서 "
        "**학습 루프의 한 줄을 바꾸고**, 그 한 줄이 하는 일을 측정합니다.",
    "Experiment": "실험",
    "the line of the loop it is about": "실험이 다루는 루프의 한 줄",
    "the pictures it trains and tests on": "학습하고 테스트할 그림",
    "Run the experiment": "실험 실행",
    "Press **Run the experiment**: both versions run side by side, and what they measured appears below.":
        "**실험 실행**을 누르세요. 두 버전이 나란히 실행되고, 측정한 결과가 아래에 나타납니다.",
    "Draw a digit (or leave it empty for a test picture)": "숫자를 그리세요 (비워 두면 테스트 그림을 씁니다)",
    "Filter": "필터",
    "which filter of the first convolution": "첫 합성곱의 몇 번째 필터인지",
    "Stride": "스트라이드",
    "how far the filter moves each step": "필터가 한 번에 움직이는 거리",
    "Padding": "패딩",
    "zeros around the picture": "그림 둘레에 덧붙이는 0",
    "Position": "위치",
    "where the filter is, row by row": "필터가 있는 곳 (행 순서로 셉니다)",
    "◀ Step back": "◀ 한 칸 뒤로",
    "Step ▶": "한 칸 앞으로 ▶",
    "No experiment is registered: the built-in ones are switched off (TRAINPAD_DISABLE_PLUGINS).":
        "등록된 실험이 없습니다. 기본 실험이 꺼져 있습니다 (TRAINPAD_DISABLE_PLUGINS).",
    "**Waiting for a free training slot:** another run is training; the experiment starts as soon as it ends…":
        "**학습 자리를 기다리는 중:** 다른 실행이 학습 중입니다. 그 실행이 끝나는 대로 실험이 시작됩니다…",
    "**Loading the samples…**": "**샘플을 불러오는 중…**",
    "**Loading the samples:** {said}": "**샘플을 불러오는 중:** {said}",
    "**{arm}:** {done} of {total}": "**{arm}:** {total} 중 {done}",
    "**Done** in {seconds} s.": "**완료** ({seconds}초).",
    "There is no experiment {name}: choose one of {names}.": "{name} 실험은 없습니다. 다음 중에서 고르세요: {names}.",
    "The {name} experiment runs on a drawing: use its own controls.": "{name} 실험은 그림으로 합니다. 그 실험의 조작 도구를 쓰세요.",
    "Choose the dataset from the list (got {value}).": "목록에서 데이터셋을 고르세요 (받은 값: {value}).",
    "The experiment's hyperparameters are given by name, at most {count} of them.": "실험의 하이퍼파라미터는 이름으로, 최대 {count}개까지 줍니다.",
    "An experiment is already going in this session: wait for it to end.": "이 세션에서 이미 실험이 진행 중입니다. 끝날 때까지 기다리세요.",
    "You already have {count} experiment(s) going, the most one visitor may have (TRAINPAD_MAX_RUNS_PER_CLIENT); wait for one to end.":
        "이미 실험 {count}개가 진행 중이며, 한 방문자에게 허용되는 최대입니다 (TRAINPAD_MAX_RUNS_PER_CLIENT). 하나가 끝날 때까지 기다리세요.",
    "The experiment was still running after {seconds} s, this server's limit (TRAINPAD_MAX_LAB_SECONDS), so it stopped.":
        "실험이 {seconds}초가 지나도 끝나지 않아 멈췄습니다. 이 서버의 제한입니다 (TRAINPAD_MAX_LAB_SECONDS).",
    "Slide the filter over a drawing first: the script takes the drawing and the filter shown.":
        "먼저 그림 위로 필터를 움직여 보세요. 스크립트에는 지금 보이는 그림과 필터가 들어갑니다.",
    "python {file} runs this experiment with torch and torchvision alone.": "python {file} 을 실행하면 torch와 torchvision만으로 이 실험을 합니다.",
    "the {name} experiment looks at a model's first convolution: load or train a model first":
        "{name} 실험은 모델의 첫 합성곱을 봅니다. 먼저 모델을 불러오거나 학습하세요",
    "model {model} has no convolution, and the {name} experiment shows the first one: train a model that has some (mnist-cnn, lenet5) and come back":
        "모델 {model}에는 합성곱이 없는데, {name} 실험은 첫 합성곱을 보여 줍니다. 합성곱이 있는 모델(mnist-cnn, lenet5)을 학습한 뒤 다시 오세요",
    "the drawing is blank: draw something first": "그림이 비어 있습니다. 먼저 무언가를 그리세요",
    "the first convolution has {count} filters: choose one from 0 to {last}": "첫 합성곱의 필터는 {count}개입니다. 0부터 {last} 사이에서 고르세요",
    "the filter would take {positions} positions on this {height}x{width} picture, and this view shows at most {most}: choose a larger stride":
        "이 {height}x{width} 그림에서는 필터가 {positions}개 위치를 지나는데, 이 화면은 최대 {most}개까지만 보여 줍니다. 스트라이드를 더 크게 고르세요",
    "the {name} experiment would hold {size} MB of {dataset} pictures, more than the {most} MB an experiment may: its pictures are too large for it":
        "{name} 실험은 {dataset} 그림을 {size} MB나 붙잡게 되어, 실험 하나에 허용되는 {most} MB를 넘습니다. 이 데이터셋의 그림은 이 실험에 너무 큽니다",
    "the {size}x{size} filter does not fit in the picture with padding {padding}": "패딩이 {padding}이면 {size}x{size} 필터가 그림에 들어가지 않습니다",
    # the Lab's experiments: what each line does
    "A seed fixes every random number a run draws: its initial weights and the order of its samples. "
    "The same seed gives the same run, to the last bit on the CPU; another seed, another run.":
        "시드는 실행이 뽑는 모든 난수, 곧 초기 가중치와 샘플의 순서를 정합니다. "
        "같은 시드는 CPU에서 마지막 비트까지 같은 실행을, 다른 시드는 다른 실행을 만듭니다.",
    "loss.backward() adds each gradient to what .grad already holds. optimizer.zero_grad() empties "
    "them first, so that a step follows this batch's gradient alone.":
        "loss.backward()는 각 기울기를 .grad에 이미 있는 값에 더합니다. optimizer.zero_grad()가 먼저 "
        "그것을 비우므로, 한 스텝은 이번 배치의 기울기만 따릅니다.",
    "model.train() readies dropout and batch normalisation for training: dropout zeroes values at random, "
    "batch norm uses each batch's own statistics. model.eval() locks them, so a test gives the same answer every time.":
        "model.train()은 드롭아웃과 배치 정규화를 학습용으로 준비합니다. 드롭아웃은 값을 무작위로 0으로 만들고, "
        "배치 정규화는 배치마다 그 배치의 통계를 씁니다. model.eval()은 이를 고정해서, 테스트가 매번 같은 답을 내게 합니다.",
    "With autograd on, PyTorch records every operation and keeps what a backward pass would need. "
    "Evaluation never calls backward(): torch.no_grad() turns the recording off, to use less memory.":
        "autograd가 켜져 있으면 PyTorch는 모든 연산을 기록하고 역전파에 필요한 것을 남겨 둡니다. "
        "평가에서는 backward()를 부르지 않으니, torch.no_grad()로 기록을 꺼서 메모리를 덜 씁니다.",
    "A batch is the pictures one optimizer step sees, an iteration is one step, and an epoch is one pass "
    "over the training pictures: ceil(pictures / batch size) iterations.":
        "배치는 옵티마이저 한 스텝이 보는 그림들이고, 이터레이션은 한 스텝, 에포크는 학습 그림을 한 번 다 도는 것입니다. "
        "곧 ceil(그림 수 / 배치 크기) 이터레이션입니다.",
    "shuffle=True hands out the training pictures in a new random order every epoch, so that each batch "
    "mixes the classes. Here the pictures are sorted by class, to show what happens without it.":
        "shuffle=True는 에포크마다 학습 그림을 새 무작위 순서로 내주어, 배치마다 여러 클래스가 섞이게 합니다. "
        "여기서는 그림을 클래스 순으로 정렬해 두고, 섞지 않으면 어떻게 되는지 봅니다.",
    "A convolution slides small grids of weights, its filters, over the picture: at each position it "
    "multiplies the pixels under the filter by the weights and sums them. The stride is how far it moves; "
    "the padding, the border of zeros around the picture.":
        "합성곱은 작은 가중치 격자, 곧 필터를 그림 위로 밀며 움직입니다. 위치마다 필터 아래 픽셀에 가중치를 곱하고 "
        "모두 더합니다. 스트라이드는 한 번에 움직이는 거리이고, 패딩은 그림 둘레에 두르는 0의 테두리입니다.",
    # the versions and arms of the built-in experiments
    "with optimizer.zero_grad()": "optimizer.zero_grad() 있음",
    "without it": "없음",
    "seed {seed}": "시드 {seed}",
    "seed {seed} again": "시드 {seed} 다시",
    "seed 1, run twice": "시드 1, 두 번 실행",
    "seed 2 (then 3, 4...)": "시드 2 (그다음 3, 4...)",
    "training the model": "모델 학습",
    "{arm}: pass {count}": "{arm}: {count}번째",
    "{arm}: memory": "{arm}: 메모리",
    "{arm}: time": "{arm}: 시간",
    "with torch.no_grad()": "torch.no_grad() 있음",
    "by hand: multiply and sum": "손으로: 곱하고 더하기",
    "by hand": "손으로",
    # what the built-in experiments found, a sentence at a time
    "Without optimizer.zero_grad() each gradient is the sum of every batch's so far: its norm went from {first} to {last} in {steps} steps ({growth}x).":
        "optimizer.zero_grad()가 없으면 기울기는 지금까지 모든 배치의 합입니다. 그 노름이 {steps} 스텝 동안 {first}에서 {last}로 커졌습니다 ({growth}배).",
    "The loss rose above where it started at step {step}.": "손실은 {step} 스텝에서 처음 값보다 높아졌습니다.",
    "The loss ended at {loss}.": "손실은 {loss}에서 끝났습니다.",
    "With it, each step followed its own batch: the loss fell from {first} to {last}, and {accuracy} of the test pictures were right ({other} without).":
        "있으면 스텝마다 그 배치만 따릅니다. 손실은 {first}에서 {last}로 내려갔고, 테스트 그림의 {accuracy}를 맞혔습니다 (없을 때는 {other}).",
    "The two runs with seed {seed} gave the same loss at every one of their {steps} steps, to the last bit.":
        "시드 {seed}로 한 두 실행은 {steps} 스텝 모두에서 마지막 비트까지 같은 손실을 냈습니다.",
    "The two runs with seed {seed} differed by up to {difference} in their losses.": "시드 {seed}로 한 두 실행의 손실은 최대 {difference}만큼 달랐습니다.",
    "Seeds {first} to {last} start from other weights and another order of the samples: their losses differ from seed {seed}'s by up to {difference}, and the {count} seeds end between {low} and {high} on the test pictures.":
        "시드 {first}부터 {last}까지는 다른 가중치와 다른 샘플 순서로 시작합니다. 손실은 시드 {seed}와 최대 {difference}만큼 다르고, 시드 {count}개의 테스트 정확도는 {low}에서 {high} 사이로 끝났습니다.",
    "In eval() mode the two passes gave the same answer for every one of the {count} test pictures, {accuracy} of them right.":
        "eval() 모드에서는 두 번의 패스가 테스트 그림 {count}장 모두에 같은 답을 냈고, 그중 {accuracy}를 맞혔습니다.",
    "In eval() mode {share} of the answers changed from one pass to the next.": "eval() 모드에서 답의 {share}가 패스마다 바뀌었습니다.",
    "In train() mode dropout and each batch's own statistics changed {share} of the answers from one pass to the next, and {accuracy} were right.":
        "train() 모드에서는 드롭아웃과 배치마다의 통계 때문에 답의 {share}가 패스마다 바뀌었고, {accuracy}를 맞혔습니다.",
    "Without torch.no_grad() the evaluation held up to {peak} MB of tensors at once, {ratio}x the {other} MB with it: autograd kept what a backward pass would need, for a backward pass that never came.":
        "torch.no_grad()가 없으면 평가가 한때 텐서를 최대 {peak} MB까지 붙잡았습니다. 있을 때 {other} MB의 {ratio}배입니다. autograd가 끝내 오지 않은 역전파를 위해 필요한 것을 남겨 두었기 때문입니다.",
    "The answers were the same, picture for picture.": "답은 그림마다 똑같았습니다.",
    "The answers were not the same.": "답이 같지 않았습니다.",
    "A batch of {size} took {without} ms without it and {with_it} ms with it (the median of {count} batches).":
        "{size}장짜리 배치 하나에 없을 때 {without} ms, 있을 때 {with_it} ms가 걸렸습니다 (배치 {count}개의 중앙값).",
    "The same {samples} pictures took {small_steps} iterations in batches of {small} and {large_steps} in batches of {large}.":
        "같은 그림 {samples}장이 배치 {small}로는 {small_steps} 이터레이션, 배치 {large}로는 {large_steps} 이터레이션이 걸렸습니다.",
    "The small batches' loss jumped by {small} from step to step, the big ones' by {large}; their epochs took {small_seconds} s and {large_seconds} s.":
        "작은 배치의 손실은 스텝마다 {small}만큼, 큰 배치의 손실은 {large}만큼 출렁였고, 한 에포크에 각각 {small_seconds}초와 {large_seconds}초가 걸렸습니다.",
    "After one epoch at the same learning rate the small batches reached {small} on the test pictures, the big ones {large}.":
        "같은 학습률로 한 에포크를 마친 뒤 테스트 정확도는 작은 배치가 {small}, 큰 배치가 {large}였습니다.",
    "Without shuffling, the loader handed out the pictures sorted by class: each stretch of steps taught the model one class and undid the one before.":
        "섞지 않으면 로더가 클래스 순으로 정렬된 그림을 그대로 내줍니다. 스텝 구간마다 모델은 한 클래스를 배우고 앞의 것은 잊습니다.",
    "After the epoch it answered “{name}”, the last class it saw, for {share} of the test pictures, and got {accuracy} right.":
        "에포크가 끝나자 모델은 테스트 그림의 {share}에 마지막으로 본 클래스인 “{name}”이라고 답했고, {accuracy}를 맞혔습니다.",
    "Shuffled, every batch mixed the classes: {accuracy} right.": "섞으면 배치마다 클래스가 섞입니다: {accuracy} 정답.",
    "Filter {filter} lays its {size}x{size} weights on the picture at row {row}, column {col} (stride {stride}, padding {padding}) and multiplies the pixels under them: the products sum to {sum}.":
        "필터 {filter}가 {size}x{size} 가중치를 그림의 {row}행 {col}열에 놓고 (스트라이드 {stride}, 패딩 {padding}) 그 아래 픽셀과 곱합니다. 곱의 합은 {sum}입니다.",
    "With its bias of {bias} that makes {value}, the feature map's value there.": "편향 {bias}를 더하면 {value}, 그 위치의 특징 맵 값입니다.",
    "This convolution has no bias: {value} is the feature map's value there.": "이 합성곱에는 편향이 없습니다. {value}가 그 위치의 특징 맵 값입니다.",
    "Slid over all {positions} positions, the filter makes a {rows}x{cols} feature map; done by hand it is F.conv2d's to within {difference}.":
        "필터를 {positions}개 위치 모두로 밀면 {rows}x{cols} 특징 맵이 됩니다. 손으로 계산한 값은 F.conv2d의 값과 {difference} 안에서 같습니다.",
    "The sum runs over all {count} input channels; the page shows the first.": "합은 입력 채널 {count}개 모두에 걸쳐 계산합니다. 화면에는 첫 채널만 보입니다.",
    # the Lab's results: charts, figures, the sliding filter
    "{curve} at each step (x: {axis})": "스텝마다의 {curve} (x: {axis})",
    "through the epoch": "에포크 진행",
    "step": "스텝",
    "grad norm": "기울기 노름",
    "yes": "예",
    "no": "아니오",
    "steps": "스텝",
    "first loss": "첫 손실",
    "final loss": "마지막 손실",
    "grad norm first": "첫 기울기 노름",
    "grad norm last": "마지막 기울기 노름",
    "diverged at": "발산한 스텝",
    "seed": "시드",
    "test accuracy again": "다시 잰 테스트 정확도",
    "changed answers": "바뀐 답",
    "peak bytes": "최대 메모리",
    "seconds per batch": "배치당 시간",
    "batches": "배치 수",
    "batch size": "배치 크기",
    "iterations per epoch": "에포크당 이터레이션",
    "seconds": "시간",
    "loss noise": "손실의 출렁임",
    "shuffle": "섞기",
    "last class": "마지막 클래스",
    "answers last class": "마지막 클래스라고 답한 비율",
    "value at position": "그 위치의 값",
    "the picture with its padding, and the filter's window": "패딩을 두른 그림과 필터의 창",
    "the feature map": "특징 맵",
    "sum of the {count} products: {sum}": "곱 {count}개의 합: {sum}",
    "bias": "편향",
    "Filter {filter} (of {filters}, in {layer}), stride {stride}, padding {padding}: position {position} (row {row}, column {col}) of 0 to {last}":
        "필터 {filter} ({layer}의 {filters}개 중), 스트라이드 {stride}, 패딩 {padding}: 위치 {position} ({row}행 {col}열), 0부터 {last}까지 중",
    "The picture, {height}×{width} with its padding: the yellow square is the filter": "패딩을 두른 {height}×{width} 그림: 노란 네모가 필터입니다",
    "The pixels under the filter": "필터 아래의 픽셀",
    "The filter: its {size}×{size} weights": "필터: {size}×{size} 가중치",
    "Each pixel under it times its weight": "필터 아래 픽셀 × 가중치",
    "The feature map, {height}×{width}, built up to this position": "이 위치까지 만든 {height}×{width} 특징 맵",
    # -- said by the engine and the handlers ----------------------------------------------
    "{label} failed: {message}":
        "{label} 실패: {message}",
    "{owner}: {message}":
        "{owner}: {message}",
    "{kind} {name}":
        "{kind} {name}",
    "{model} ({source})":
        "{model} ({source})",
    "{count} minute(s)":
        "{count}분",
    "{count} second(s)":
        "{count}초",
    "; test loss {loss}, accuracy {accuracy}":
        "; 테스트 손실 {loss}, 정확도 {accuracy}",
    " (ended early, {epochs} in)":
        " ({epochs}에서 일찍 끝남)",
    "**Test accuracy {accuracy}**":
        "**테스트 정확도 {accuracy}**",
    "test loss {loss}":
        "테스트 손실 {loss}",
    "train accuracy {accuracy}":
        "학습 정확도 {accuracy}",
    "one run":
        "한 실행",
    "{count} runs":
        "실행 {count}개",
    "with nothing trained to keep":
        "남길 만큼 학습하기 전에",
    " {message}":
        " {message}",
    "**{run} is in use:** Evaluate and Predict use {model}.":
        "**{run} 사용 중:** 평가와 예측이 {model}을(를) 씁니다.",
    "ZeroGPU's daily quota: {said}":
        "ZeroGPU 일일 할당량: {said}",
    "ZeroGPU's daily quota":
        "ZeroGPU 일일 할당량",
    "Test image {index} of {dataset}: it is **{truth}**. {note}":
        "{dataset} 테스트 이미지 {index}번: 정답은 **{truth}**입니다. {note}",
    "**The shipped model is in use** for Evaluate and Predict.":
        "**기본 제공 모델을 사용 중입니다**: 평가와 예측이 이 모델을 씁니다.",
    "**Time limit:** this server stops an evaluation after {seconds} s (TRAINPAD_MAX_EVAL_SECONDS), so these figures cover the first {count} of {total} test images.":
        "**시간 제한:** 이 서버는 평가를 {seconds}초 뒤에 멈춥니다 (TRAINPAD_MAX_EVAL_SECONDS). 그래서 이 수치는 테스트 이미지 {total}개 중 처음 {count}개의 것입니다.",
    "the first {count}":
        "처음 {count}개",
}

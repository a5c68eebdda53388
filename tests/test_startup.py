"""Start-up: the app is built and answering before torch is imported, and Gradio imports
without regenerating its type stubs.  Each check runs in a fresh interpreter, since this
test process has long imported both."""

from __future__ import annotations

import os
import textwrap

from support import python_json


def run_python(code: str) -> dict:
    """``code`` in a fresh interpreter, without third-party plugins; its last line of JSON."""
    env = {**os.environ, "TRAINPAD_LOAD_PLUGINS": "", "GRADIO_ANALYTICS_ENABLED": "False"}
    return python_json(textwrap.dedent(code), env=env, timeout=180)


def test_the_app_is_built_without_torch_and_warms_it_up_afterwards():
    seen = run_python(
        """
        import json, sys
        from trainpad.web import app
        from trainpad.engine.engine import Engine

        engine = Engine.load(entrypoints=False)
        demo = app.build_app(engine)
        built = sorted(m for m in ("torch", "torchvision") if m in sys.modules)
        tabs = [tab.label for tab in engine.tabs]
        app.warm_up(demo.trainpad_app)
        model = demo.trainpad_app.store.starting_model()
        print(json.dumps({"built": built, "tabs": tabs, "after": "torch" in sys.modules,
                          "model": model.spec["model"]["name"] if model else None}))
        """
    )
    assert seen["built"] == [], "building the app imported " + ", ".join(seen["built"])
    assert seen["tabs"] == ["Predict", "Train", "Evaluate", "Lab", "Plugins"]
    assert seen["after"] is True and seen["model"] == "mnist-cnn"


def test_gradio_imports_without_regenerating_its_stubs_and_works():
    seen = run_python(
        """
        import json
        from trainpad.web import gradio_import as gradio_stubs

        first = gradio_stubs.skip_stub_regeneration()
        import gradio as gr
        import gradio.component_meta as meta

        with gr.Blocks() as demo:  # components and their events are made as usual
            box = gr.Textbox()
            out = gr.Textbox()
            box.change(lambda text: text.upper(), box, out)
        print(json.dumps({
            "first": first,
            "again": gradio_stubs.skip_stub_regeneration(),
            "skipped": meta.create_or_modify_pyi is gradio_stubs._no_stub_regeneration,
            "events": len(demo.fns),
            "upper": demo.fns[0].fn("abc"),
        }))
        """
    )
    assert seen == {"first": True, "again": False, "skipped": True, "events": 1, "upper": "ABC"}


def test_without_the_hook_gradio_imports_as_usual():
    seen = run_python(
        """
        import json
        import gradio.component_meta as meta
        from trainpad.web import gradio_import as gradio_stubs

        print(json.dumps({"patched": meta.create_or_modify_pyi is gradio_stubs._no_stub_regeneration,
                          "installed": gradio_stubs.skip_stub_regeneration()}))
        """
    )
    assert seen == {"patched": False, "installed": False}


def test_the_device_menu_without_torch_agrees_with_torch():
    seen = run_python(
        """
        import json, sys
        from trainpad.runtime.device import available_devices, might_have_gpu

        quick = available_devices()
        imported = "torch" in sys.modules
        import torch

        print(json.dumps({"quick": quick, "imported": imported, "gpu_driver": might_have_gpu(),
                          "torch_cuda": torch.cuda.is_available()}))
        """
    )
    assert seen["quick"][-1] == "cpu"
    assert ("cuda" in seen["quick"]) == seen["torch_cuda"]
    if not seen["gpu_driver"]:  # answered without importing torch
        assert seen["imported"] is False and seen["quick"] == ["cpu"]

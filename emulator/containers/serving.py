"""Serve one endpoint's model through the serving stack of the SageMaker XGBoost 1.7-1 container.

Run by the emulator's InvokeEndpoint (``emulator/aws/sagemaker_runtime.py``) as a
long-lived process per endpoint model, under the xgboost 1.7 interpreter (``.venv-xgb17``: Python
3.9 with ``sagemaker-containers==2.8.6.post2``, the version aws/sagemaker-xgboost-container pins in
``requirements.txt`` at tag v1.7-1). So status codes, content types and error bodies are the
container's own, not a re-implementation.

What the container does for a single-model endpoint (tag v1.7-1):
``serving.py:serving_entrypoint`` starts gunicorn on ``serving:main``, which builds the app once:
``env.ServingEnv()`` ─► ``modules.import_module(module_dir, module_name)`` ─►
``_user_module_transformer(user_module)`` (a ``transformer.Transformer`` over the script's
``model_fn`` / ``input_fn`` / ``predict_fn`` / ``output_fn`` or ``transform_fn``) ─►
``initialize()`` (model_fn) ─► ``worker.Worker(transform_fn=transformer.transform)`` (Flask).
This module builds the same app with the same classes; requests go through the Flask app's full
WSGI handling (``test_client``), so an exception becomes Flask's HTML 500 exactly as in the
container. Two deviations, both outside request handling:

* ``modules.import_module`` would also ``pip install`` the code directory into the interpreter
  (``_modules.install``); here the code is put in place by the same
  ``_files.download_and_extract`` and imported from ``sys.path``, so the shared interpreter is
  never modified.
* A script without ``input_fn`` / ``output_fn`` / ``predict_fn`` gets sagemaker-containers'
  defaults (``_transformer.default_*``), not the XGBoost container's (which need ``mlio``, not on
  PyPI); our script defines all four.

Protocol (one JSON object per line): the parent writes ``{"body": <base64>, "content_type": ..,
"accept": ..}`` to stdin and reads ``{"status": .., "content_type": .., "body": <base64>}``; the
first line this process writes is ``{"ready": true}`` or ``{"ready": false, "error": ..}``.

Usage: ``python container_serving.py <base dir>`` with ``SAGEMAKER_PROGRAM`` and
``SAGEMAKER_SUBMIT_DIRECTORY`` set; ``<base dir>`` stands for ``/opt/ml`` (``SAGEMAKER_BASE_DIR``)
and holds ``model/``.
"""

import base64
import json
import os
import sys
import traceback

CONTAINER_ROOT = "/opt/ml"


def container_path(path, base_dir):
    """``/opt/ml/...`` (a path inside the container) as the same path under ``base_dir``."""
    if path == CONTAINER_ROOT or path.startswith(CONTAINER_ROOT + "/"):
        return base_dir + path[len(CONTAINER_ROOT) :]
    return path


def user_module_transformer(user_module, transformer):
    """aws/sagemaker-xgboost-container v1.7-1 serving.py ``_user_module_transformer``, with
    sagemaker-containers' defaults standing in for the XGBoost ones (see the module docstring)."""
    model_fn = getattr(user_module, "model_fn", transformer.default_model_fn)
    input_fn = getattr(user_module, "input_fn", None)
    predict_fn = getattr(user_module, "predict_fn", None)
    output_fn = getattr(user_module, "output_fn", None)
    transform_fn = getattr(user_module, "transform_fn", None)
    if transform_fn and (input_fn or predict_fn or output_fn):
        raise ValueError(
            "Cannot use transform_fn implementation with input_fn, predict_fn, and/or output_fn"
        )
    if transform_fn is not None:
        return transformer.Transformer(model_fn=model_fn, transform_fn=transform_fn)
    return transformer.Transformer(
        model_fn=model_fn,
        input_fn=input_fn or transformer.default_input_fn,
        predict_fn=predict_fn or transformer.default_predict_fn,
        output_fn=output_fn or transformer.default_output_fn,
    )


def build_app(base_dir):
    """The Flask app of the container's ``serving.main`` for the script in the environment."""
    os.environ["SAGEMAKER_BASE_DIR"] = base_dir  # _env reads it at import: /opt/ml -> base_dir
    submit_dir = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
    os.environ["SAGEMAKER_SUBMIT_DIRECTORY"] = container_path(submit_dir, base_dir)
    import importlib

    from sagemaker_containers import _env, _files
    from sagemaker_containers.beta.framework import env, transformer, worker

    serving_env = env.ServingEnv()
    if serving_env.module_name is None:
        raise ValueError("SAGEMAKER_PROGRAM is not set: no inference script to serve")
    # _modules.import_module without its pip install (module docstring).
    _files.download_and_extract(serving_env.module_dir, _env.code_dir)
    sys.path.insert(0, _env.code_dir)
    user_module = importlib.import_module(serving_env.module_name)
    model_transformer = user_module_transformer(user_module, transformer)
    model_transformer.initialize()
    return worker.Worker(
        transform_fn=model_transformer.transform, module_name=serving_env.module_name
    )


def handle(client, request):
    """One InvokeEndpoint request through the app, as gunicorn would hand it to Flask."""
    headers = {}
    if request.get("content_type") is not None:
        headers["Content-Type"] = request["content_type"]
    if request.get("accept") is not None:
        headers["Accept"] = request["accept"]
    response = client.post(
        "/invocations", data=base64.b64decode(request.get("body") or ""), headers=headers
    )
    return {
        "status": response.status_code,
        "content_type": response.headers.get("Content-Type"),
        "body": base64.b64encode(response.get_data()).decode("ascii"),
    }


def main(argv):
    # Protocol on a private copy of stdout; the script's prints and logs go to stderr.
    channel = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message):
        channel.write(json.dumps(message) + "\n")
        channel.flush()

    try:
        app = build_app(os.path.abspath(argv[1]))
    except BaseException as error:  # the model cannot be served: say why, then stop
        traceback.print_exc()
        send({"ready": False, "error": f"{type(error).__name__}: {error}"})
        return 1
    send({"ready": True})
    client = app.test_client()
    for line in sys.stdin:
        if line.strip():
            send(handle(client, json.loads(line)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

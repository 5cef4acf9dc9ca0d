"""The SageMaker containers as the emulator stands them up on this machine.

``images.py``         which image a URI names (the SageMaker XGBoost image's repository)
``interpreters.py``   which local interpreter stands in for an image (XGBoost 1.7, scikit-learn 1.2)
``runtime.py``        the container runtime's conventions: ``/opt/ml`` mapped under a job's
                      directory, the message and failure files, and the variable that moves them
``serving.py``        the XGBoost 1.7-1 container's serving stack, run as a script under that
                      interpreter (it imports nothing of this package)
"""

from pathlib import Path

#: The serving stack, run as a script in the container's interpreter (it imports no moto).
SERVING_SCRIPT = Path(__file__).resolve().parent / "serving.py"

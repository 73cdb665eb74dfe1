"""Grimoire: TensorFlow/Keras fundamentals as an executable specification.

The submodules are small and independent; import the one you need::

    from grimoire import params, models, metrics, conv, filters, cam, flops

Importing the package quiets TensorFlow's C++ start-up logging unless you asked for it:
set ``TF_CPP_MIN_LOG_LEVEL`` yourself (``0`` shows everything) and we leave it alone.
"""

import os

# Must happen before TensorFlow is first imported; setdefault respects a user's choice.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

"""Serving: an HTTP API with queued, batched requests, an OpenAI-compatible chat endpoint and a web page.

``create_app(predictor, settings)`` builds the FastAPI app; ``serve(model, adapter, host, port)`` loads a
model and runs it with uvicorn (``llasmol serve`` on the command line).
"""

from llasmol.serve.app import create_app
from llasmol.serve.config import ServeSettings
from llasmol.serve.server import serve
from llasmol.serve.worker import BatchingWorker, Predictor

__all__ = ["BatchingWorker", "Predictor", "ServeSettings", "create_app", "serve"]

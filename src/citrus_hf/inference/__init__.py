"""Inference: pipelines registered with transformers and CPU / GPU backends (bf16, ONNX Runtime).

The layer sits above evaluation and below publishing: it may use everything from the model files to evaluation, and
only publishing and commands may use it.
"""

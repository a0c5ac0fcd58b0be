"""Inference: pipelines registered with transformers and the CPU inference backends.

- `pipelines`: `BioSignalClassificationPipeline`, `BioSignalRegressionPipeline` and
  `BioSignalFeatureExtractionPipeline`, the `"time-series-classification"`, `"time-series-regression"` and
  `"time-series-feature-extraction"` tasks of `transformers.pipeline` (a raw recording of any rate and length in,
  per-window results with their times and one for the whole recording out).
- `backends`: the same forward pass in fp32 PyTorch, bf16 autocast with blocked attention, or ONNX Runtime (exported
  once, cached), and `load_backend(model, "auto")`, the fastest of them that keeps the results.
- `registration`: registers the pipelines with transformers; `import citrus_hf` runs it when `transformers.pipelines`
  is imported.

`pipelines` and `backends` import nothing from the rest of the package: they are shipped next to the weights as
remote code. The layer sits above evaluation and below publishing: it may use everything from the model files to
evaluation, and only publishing and commands may use it.
"""

"""citrus-hf: CiTrus bio-signal foundation models as Hugging Face transformers models."""

from transformers import (
    AutoConfig,
    AutoFeatureExtractor,
    AutoModel,
    AutoModelForPreTraining,
    AutoModelForSequenceClassification,
    AutoProcessor,
)

from .configuration_citrus import CiTrusConfig
from .configuration_citrus_fusion import CiTrusFusionConfig
from .feature_extraction_citrus import CiTrusFeatureExtractor
from .hub import build_model_card, load_feature_extractor, load_pretrained, load_processor, push_to_hub
from .modeling_citrus import (
    CiTrusForPretraining,
    CiTrusForPretrainingOutput,
    CiTrusForRegression,
    CiTrusForSequenceClassification,
    CiTrusModel,
    CiTrusModelOutput,
    CiTrusPreTrainedModel,
    CiTrusRegressionOutput,
)
from .modeling_citrus_fusion import CiTrusFusionForRegression, CiTrusFusionForSequenceClassification
from .processing_citrus_fusion import CiTrusFusionProcessor

__version__ = "0.1.0"

AutoConfig.register(CiTrusConfig.model_type, CiTrusConfig, exist_ok=True)
AutoModel.register(CiTrusConfig, CiTrusModel, exist_ok=True)
AutoModelForPreTraining.register(CiTrusConfig, CiTrusForPretraining, exist_ok=True)
AutoModelForSequenceClassification.register(CiTrusConfig, CiTrusForSequenceClassification, exist_ok=True)
AutoFeatureExtractor.register(CiTrusConfig, CiTrusFeatureExtractor, exist_ok=True)
AutoConfig.register(CiTrusFusionConfig.model_type, CiTrusFusionConfig, exist_ok=True)
AutoModelForSequenceClassification.register(CiTrusFusionConfig, CiTrusFusionForSequenceClassification, exist_ok=True)
AutoProcessor.register(CiTrusFusionConfig, CiTrusFusionProcessor, exist_ok=True)

__all__ = [
    "CiTrusConfig",
    "CiTrusFeatureExtractor",
    "CiTrusPreTrainedModel",
    "CiTrusModel",
    "CiTrusForPretraining",
    "CiTrusForSequenceClassification",
    "CiTrusForRegression",
    "CiTrusModelOutput",
    "CiTrusForPretrainingOutput",
    "CiTrusRegressionOutput",
    "CiTrusFusionConfig",
    "CiTrusFusionForSequenceClassification",
    "CiTrusFusionForRegression",
    "CiTrusFusionProcessor",
    "build_model_card",
    "load_feature_extractor",
    "load_pretrained",
    "load_processor",
    "push_to_hub",
]

"""Import alias: segmenter pickles made before the sub-packages name `traveltide.preprocess`."""

from traveltide.segment.preprocess import SkewTransform

__all__ = ["SkewTransform"]

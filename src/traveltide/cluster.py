"""Import alias: segmenter pickles made before the sub-packages name `traveltide.cluster`."""

from traveltide.segment.segmenter import Segmenter

__all__ = ["Segmenter"]

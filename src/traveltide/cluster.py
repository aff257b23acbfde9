"""Import alias: segmenter pickles made before the sub-packages name `traveltide.cluster`."""

from traveltide.segment.cluster import Segmenter

__all__ = ["Segmenter"]

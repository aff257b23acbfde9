"""Import alias: MLflow models logged before the sub-packages name `traveltide.tracking`."""

from traveltide.mlops.model import SegmenterModel

__all__ = ["SegmenterModel"]

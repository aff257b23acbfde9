"""TravelTide customer segmentation, perk assignment and A/B testing.

Kept import-light on purpose: every DVC stage starts a fresh interpreter, so heavy
libraries (scikit-learn, MLflow, matplotlib) are imported only by the modules that need them.
"""

__version__ = "0.1.0"

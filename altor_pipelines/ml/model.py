"""The scikit-learn pipeline: numeric features and rule scores (imputed, scaled), categoricals
(one-hot), ticket text (TF-IDF), into a multinomial logistic regression; calibrated by
cross-validation on the cleaned training labels.

Everything is stock scikit-learn (no project classes inside the fitted model), so skops can
save and load it with a type allow-list limited to sklearn, numpy and scipy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from altor_pipelines.ml.dataset import TEXT, FeatureSpec


@dataclass(frozen=True)
class ModelConfig:
    c: float = 1.0  # inverse L2 strength of the logistic regression
    text_max_features: int = 20_000
    text_ngrams: tuple[int, int] = (1, 2)
    text_min_df: int = 2
    calibration: str = "temperature"  # "temperature" | "sigmoid" | "isotonic"
    calibration_folds: int = 5
    seed: int = 0
    n_jobs: int | None = None  # parallel folds; processes cost more than they save at this size

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT_MODEL = ModelConfig()


def build_preprocessor(
    spec: FeatureSpec,
    config: ModelConfig = DEFAULT_MODEL,
    *,
    numeric: bool = True,
    text: bool = True,
) -> ColumnTransformer:
    """Column transformer over `spec`'s registered columns; unknown columns are dropped, never
    passed through. `numeric=False` / `text=False` build the baselines' halves."""
    parts = []
    if numeric and spec.numeric:
        parts.append(("num", make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
            StandardScaler()), spec.numeric))
    if numeric and spec.categorical:
        parts.append(("cat", make_pipeline(
            SimpleImputer(strategy="constant", fill_value="(missing)"),
            OneHotEncoder(handle_unknown="ignore", min_frequency=5)), spec.categorical))
    if text:
        parts.append(("text", TfidfVectorizer(
            ngram_range=config.text_ngrams, min_df=config.text_min_df,
            max_features=config.text_max_features, sublinear_tf=True, strip_accents="unicode",
            dtype=np.float64), TEXT))
    if not parts:
        raise ValueError("a model needs at least one kind of input")
    return ColumnTransformer(parts, remainder="drop", sparse_threshold=1.0)


def build_classifier(
    spec: FeatureSpec,
    config: ModelConfig = DEFAULT_MODEL,
    *,
    numeric: bool = True,
    text: bool = True,
) -> Pipeline:
    """The uncalibrated pipeline (used for out-of-fold noise detection and the baselines)."""
    return Pipeline([
        ("features", build_preprocessor(spec, config, numeric=numeric, text=text)),
        ("clf", LogisticRegression(C=config.c, max_iter=2000, tol=1e-3, random_state=config.seed)),
    ])


def build_model(
    spec: FeatureSpec, config: ModelConfig = DEFAULT_MODEL
) -> CalibratedClassifierCV:
    """The served model: the classifier inside cross-validated calibration. Fit it on the
    cleaned training labels; `predict_proba` then gives one calibrated probability per cause."""
    return CalibratedClassifierCV(
        build_classifier(spec, config), method=config.calibration, cv=config.calibration_folds,
        ensemble=False, n_jobs=config.n_jobs,
    )

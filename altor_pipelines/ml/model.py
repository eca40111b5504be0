"""The scikit-learn classifier (fitted on the cleaned training labels; its probabilities are
calibrated afterwards by `calibration.fit_temperature`).

`kind="boosted"` (the default; docs/classifier.md has the validation evidence): a stack.
The ticket text (TF-IDF of words and word pairs) goes through a multinomial logistic
regression whose out-of-fold probabilities per cause become extra columns next to the numeric
features, rule scores and categoricals (ordinal codes), all into a histogram gradient-boosted
tree model (`StackingClassifier(passthrough=True)` with a boosted final estimator). Trees take
the ~150 heterogeneous features without scaling, handle missing values natively and find the
interactions ("429s *and* near the plan limit") that a linear model over them cannot.

`kind="linear"`: everything (imputed, scaled, one-hot, TF-IDF) into one logistic regression;
the baselines (text-only, features-only) use it.

Everything is stock scikit-learn (no project classes inside the fitted model), so skops can
save and load it with a type allow-list limited to sklearn, numpy and scipy.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, StackingClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from altor_pipelines.ml.feature_spec import TEXT, FeatureSpec


@dataclass(frozen=True)
class ModelConfig:
    # "boosted": text stacked into gradient-boosted trees (the served model); "linear": one
    # logistic regression over everything (the baselines' family; docs/classifier.md)
    kind: str = "boosted"
    c: float = 1.0  # inverse L2 strength of the logistic regressions (linear model, text model)
    boost_iterations: int = 100
    boost_learning_rate: float = 0.1
    boost_max_leaf_nodes: int = 15
    boost_min_samples_leaf: int = 20
    boost_l2: float = 0.0
    stack_folds: int = 5  # folds of the text model's out-of-fold probabilities
    text_max_features: int = 20_000
    text_ngrams: tuple[int, int] = (1, 2)
    text_min_df: int = 2
    seed: int = 0
    n_jobs: int | None = None  # parallel folds; processes cost more than they save at this size
    # OpenMP threads of the trees while training. One: with two threads a fit is ~1.5x faster
    # on an idle 2-core machine, but next to any other busy process the threads spin-wait for
    # each other and training slowed from ~2 min to over 15 (measured); one never does.
    threads: int | None = 1

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


def _text_model(config: ModelConfig) -> Pipeline:
    return Pipeline([
        ("features", ColumnTransformer([("text", TfidfVectorizer(
            ngram_range=config.text_ngrams, min_df=config.text_min_df,
            max_features=config.text_max_features, sublinear_tf=True, strip_accents="unicode",
            dtype=np.float64), TEXT)], remainder="drop", sparse_threshold=1.0)),
        ("clf", LogisticRegression(C=config.c, max_iter=2000, tol=1e-3, random_state=config.seed)),
    ])


def build_boosted(
    spec: FeatureSpec, config: ModelConfig = DEFAULT_MODEL, smallest_class: int | None = None
) -> StackingClassifier:
    """Text model's out-of-fold probabilities + the features → gradient-boosted trees.

    The stack's meta input is [text probabilities | the model input as given]; the input's
    columns are in `spec.feature_names` order (numeric, categorical, text), so the final
    estimator addresses them by position from the end: categoricals become ordinal codes
    (missing and unseen: -1, which the trees treat as missing), numeric columns and the text
    probabilities are imputed, the raw text is dropped."""
    n_cat = len(spec.categorical)
    parts = []
    if n_cat:
        parts.append(("cat", make_pipeline(
            SimpleImputer(strategy="constant", fill_value="(missing)", missing_values=None),
            OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                           encoded_missing_value=-1, min_frequency=5, dtype=np.float64)),
            slice(-(n_cat + 1), -1)))
    # median + missing indicator rather than the trees' native missing values: a column that
    # is empty in a training fold (a source the help desk did not have yet) is kept as zeros
    parts.append(("num", SimpleImputer(strategy="median", add_indicator=True,
                                       keep_empty_features=True), slice(0, -(n_cat + 1))))
    final = Pipeline([
        ("columns", ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0)),
        ("trees", HistGradientBoostingClassifier(
            max_iter=config.boost_iterations, learning_rate=config.boost_learning_rate,
            max_leaf_nodes=config.boost_max_leaf_nodes,
            min_samples_leaf=config.boost_min_samples_leaf, l2_regularization=config.boost_l2,
            categorical_features=list(range(n_cat)) or None, early_stopping=False,
            random_state=config.seed)),
    ])
    folds = config.stack_folds
    if smallest_class is not None:
        folds = max(2, min(folds, smallest_class))
    return StackingClassifier(
        estimators=[("text", _text_model(config))], final_estimator=final,
        cv=StratifiedKFold(folds, shuffle=True, random_state=config.seed),
        stack_method="predict_proba", passthrough=True,
    )


def build_classifier(
    spec: FeatureSpec,
    config: ModelConfig = DEFAULT_MODEL,
    *,
    numeric: bool = True,
    text: bool = True,
    smallest_class: int | None = None,
) -> Pipeline | StackingClassifier:
    """The uncalibrated classifier (used for out-of-fold noise detection and the baselines).
    Text alone or features alone (the baselines) are always the linear model."""
    if config.kind == "boosted" and numeric and text and (spec.numeric or spec.categorical):
        return build_boosted(spec, config, smallest_class)
    if config.kind not in ("boosted", "linear"):
        raise ValueError(f"unknown model kind {config.kind!r}")
    return Pipeline([
        ("features", build_preprocessor(spec, config, numeric=numeric, text=text)),
        ("clf", LogisticRegression(C=config.c, max_iter=2000, tol=1e-3, random_state=config.seed)),
    ])

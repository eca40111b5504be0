"""The triage classifier: features, rule scores and ticket text in; a calibrated probability per
root cause out; a decision that delivers a cause or abstains and escalates.

Modules: `dataset` (features and help-desk labels from the warehouse, time split), `model`
(the scikit-learn pipeline), `noise` (label-noise handling), `calibration` (temperature through
the recording errors), `decision` (threshold for precision), `train` (fit, evaluate, register,
promote), `registry` (versioned models on disk), `serve` (diagnoses table), `evaluate` (the
`altor eval` scores), `baselines`. See docs/classifier.md.
"""

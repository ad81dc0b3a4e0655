"""The local learned classifier: TF-IDF + a calibrated linear model, versioned model files, background training.

See model.py (the model), store.py (files and checksums) and classifier.py (what the desk calls)."""

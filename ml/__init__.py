"""The risk model: features as of a date (``features``), the pipeline (``pipeline``), training and
evaluation (``train``, ``evaluate``), the registry (``registry``), batch scoring (``score``) and SHAP
explanations in plain words (``explain``, ``reasons``). Imports ``db`` only."""

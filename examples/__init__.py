"""Example models that train on accel exactly as on CPU (issue 4). The scripts
(classifier.py, char_gpt.py) run on their own; the model code is shared with the
demo (torch_accel/demo.py), the benchmark (bench/train.py) and the tests."""

"""The digits classifier models and data: scikit-learn's bundled 8x8 digits
(1797 images shipped inside the package, no download)."""
import torch
import torch.nn as nn


def mlp(hidden=128):
    return nn.Sequential(nn.Flatten(), nn.Linear(64, hidden), nn.ReLU(),
                         nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def cnn(channels=16):
    return nn.Sequential(
        nn.Conv2d(1, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU(),
        nn.MaxPool2d(2),                                   # 8x8 -> 4x4
        nn.Conv2d(channels, 2 * channels, 3, padding=1), nn.BatchNorm2d(2 * channels), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2),                           # 4x4 -> 2x2
        nn.Flatten(), nn.Linear(8 * channels, 10))


def digits(test_fraction=0.25, seed=0):
    """(x_train, y_train, x_test, y_test) as CPU tensors, x as (n, 1, 8, 8)
    scaled to [0, 1], split by a fixed permutation."""
    from sklearn.datasets import load_digits
    d = load_digits()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target, dtype=torch.long)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    x, y = x[perm], y[perm]
    n_test = int(len(y) * test_fraction)
    return x[n_test:], y[n_test:], x[:n_test], y[:n_test]

"""A small digit classifier: the feature space for Fréchet distances and the judge of
whether a decoded image reads as a digit. It is trained once per data set and cached."""

import torch
from torch import nn
from torch.nn import functional as F

FEATURES = 64


class DigitClassifier(nn.Module):
    def __init__(self, n_classes: int = 10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 14x14
            nn.Conv2d(32, 64, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # 7x7
            nn.Flatten(),
            nn.Linear(64 * 7 * 7, FEATURES),
            nn.ReLU(),
        )
        self.head = nn.Linear(FEATURES, n_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).float()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x)).float()

    def loss(self, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
        ce = F.cross_entropy(self(x), y)
        return {"loss": ce, "cross_entropy": ce}

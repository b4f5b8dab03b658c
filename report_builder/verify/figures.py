"""Is a figure in a student's PDF one of the notebook's outputs?

Students screenshot, scale, crop, stack two outputs in one picture, and their word
processor re-encodes it as JPEG. So a figure is compared by its content, not its bytes:

1. `picture()`: trim the uniform margin, reduce to a working size, and keep the signal that
   tells figures apart, band-passed: the grey levels of an image grid, the colour strength
   of a line plot (its axes, ticks and labels are the same in every student's plot; its
   curves are not).
2. `same()`: normalised cross-correlation (NCC) of the two whole pictures, when their shapes
   agree, allowing a few pixels of shift.
3. `located()`: one inside the other at the scale that fits best (a crop, or a screenshot
   with a prompt or caption around the figure): OpenCV's template matching over scales.
4. `halves()`: a picture cut at its widest blank band, for two outputs in one screenshot.

Evidence strength: a picture that repeats itself (a collapsed grid whose tiles are all the
same blur; reconstructions drawn under their fixed inputs) looks alike in every student's
notebook, so its match is `weak`. `_repetition()` measures it as the largest
autocorrelation away from zero shift. A match is specific to a student only beyond its
null (`nulls`, `null_of`): the same match with the grid's output tiles rearranged, what
independent students' figures of that layout and those inputs look like.

Measured on the fixtures in tests/submissions.py (bench/verify_calibration.py prints them):
a figure against its own screenshots (0.6-1.3x, JPEG, a prompt beside it, cropped to half or
two thirds): NCC 0.90-1.00; two sample grids of one student: 0.86; another student's loss
curves 0.58-0.63, sample grids 0.85-0.87, interpolations 0.83. The margin is thin for
blurry sample grids, so a match must also beat the best different candidate by MARGIN.
Repetition: healthy grids 0.64-0.69, reconstructions under fixed inputs 0.85-0.89, a
collapsed grid 0.80 (a collapsed run's reconstructions, 0.70, are not caught: half of
their picture is the fixed inputs).
"""

from dataclasses import dataclass, replace

import cv2
import numpy as np
from PIL import Image

from . import known
from .read import Figure

WORK_SIDE = 192  # px, the longer side at which pictures are compared
THUMB_SIDE = 48  # px, the whole-picture vector for fast all-pairs comparison
SAME = 0.90  # NCC at or above which two pictures (or one inside the other) are one figure
MARGIN = 0.03  # and beat the best different candidate by this much
REPETITIVE = 0.78  # autocorrelation away from zero shift: the picture repeats one tile
MAX_ASPECT_RATIO = 1.12  # whole pictures compare only if their shapes agree this well
SHIFT = 4  # px at WORK_SIDE that two trims of one figure may differ by
MIN_COVER = 0.2  # a crop must cover this share of the larger picture to count
BACKGROUND_TOLERANCE = 0.1  # grey-level difference from the margin that counts as content
COLOURED = 0.25  # saturation of a plotted line's pixels
FINE_SIGMA, COARSE_SIGMA = 1.0, 3.0  # px at WORK_SIDE: the band of detail compared
DATA_SET_SHARE = 0.75  # of a grid's tiles data-set images: the picture is the data set's
# The null of a match: NULL_DRAWS rearrangements of the matched grid's output tiles. A
# match is specific when it beats their median by SPECIFIC and every one of them by MARGIN:
# then none of NULL_DRAWS independent students' figures of that layout and those inputs
# scores as high (p <= 1 / (NULL_DRAWS + 1)). Measured in bench/RESULTS.md.
NULL_DRAWS = 19
SPECIFIC = 0.06


@dataclass(frozen=True)
class Picture:
    label: str
    kind: str  # "plot" (coloured lines on white) or "image" (grids of grey pixels)
    signal: np.ndarray  # float32, trimmed, longer side WORK_SIDE
    thumb: np.ndarray  # THUMB_SIDE² zero-mean unit vector of the signal
    aspect: float  # width / height after trimming
    repetition: float  # largest autocorrelation away from zero shift (0..1)
    coarse: np.ndarray  # the signal at half the working size, for the scale sweep
    tiles: int = 0  # an image grid's tiles (known.py)
    data_set_tiles: int = 0  # of which the data set's own images
    images: frozenset[int] = frozenset()  # which data-set images (known.library indices)
    # For the null (`nulls`): the grey picture at the working size, and its output tiles'
    # boxes there (not the data set's images); None for a plot or fewer than two outputs.
    grey: np.ndarray | None = None
    outputs: tuple[tuple[int, int, int, int], ...] = ()

    @property
    def weak(self) -> bool:
        return self.kind == "image" and self.repetition >= REPETITIVE

    @property
    def data_set(self) -> bool:
        """Mostly the data set's own images (a preview; inputs alone): any student's
        notebook can show it, so it is evidence for nobody."""
        return self.tiles >= 2 and self.data_set_tiles >= DATA_SET_SHARE * self.tiles


def rgb(image: Image.Image) -> np.ndarray:
    """float32 RGB in [0, 1], transparency composited onto white (as a page shows it)."""
    if image.mode in ("RGBA", "LA", "P", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255


def trimmed(pixels: np.ndarray) -> np.ndarray | None:
    """The pixels inside the uniform margin (the margin's colour: its border's median)."""
    grey = pixels.mean(axis=2)
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    content = np.abs(grey - np.median(border)) > BACKGROUND_TOLERANCE
    rows, cols = np.flatnonzero(content.any(axis=1)), np.flatnonzero(content.any(axis=0))
    if len(rows) < 8 or len(cols) < 8:
        return None  # blank
    return pixels[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]


def content(figure: Figure) -> np.ndarray | None:
    """The figure's RGB pixels inside its margin; None when it is blank."""
    return trimmed(rgb(figure.image))


def picture(figure: Figure) -> Picture | None:
    pixels = content(figure)
    return None if pixels is None else describe(figure.label, pixels)


def describe(label: str, pixels: np.ndarray) -> Picture:
    height, width = pixels.shape[:2]
    scale = WORK_SIDE / max(height, width)
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    small = cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)
    saturation = small.max(axis=2) - small.min(axis=2)
    coloured = float((saturation > COLOURED).mean())
    kind = "plot" if 0.001 <= coloured <= 0.3 else "image"
    grey = small.mean(axis=2)
    signal = _detail(saturation if kind == "plot" else grey)
    grid = known.tiles(pixels) if kind == "image" else None
    outputs = _scaled_outputs(grid, size[0] / width, size[1] / height) if grid else ()
    return Picture(label, kind, signal, _thumb(signal), width / height,
                   _repetition(signal) if kind == "image" else 0.0, _coarse(signal),
                   len(grid.boxes) if grid else 0, sum(grid.known) if grid else 0,
                   grid.known_images if grid else frozenset(),
                   grey if len(outputs) >= 2 else None, outputs if len(outputs) >= 2 else ())


def _thumb(signal: np.ndarray) -> np.ndarray:
    return _unit(cv2.resize(signal, (THUMB_SIDE, THUMB_SIDE), interpolation=cv2.INTER_AREA))


def _coarse(signal: np.ndarray) -> np.ndarray:
    height, width = signal.shape
    return cv2.resize(signal, (width // 2, height // 2), interpolation=cv2.INTER_AREA)


def _scaled_outputs(grid: known.Tiles, x_scale: float, y_scale: float) \
        -> tuple[tuple[int, int, int, int], ...]:
    """The output tiles' boxes (not the data set's images) at the working size."""
    boxes = []
    for (x, y, w, h), is_known in zip(grid.boxes, grid.known, strict=True):
        box = (round(x * x_scale), round(y * y_scale), round(w * x_scale), round(h * y_scale))
        if not is_known and min(box[2:]) >= 2:
            boxes.append(box)
    return tuple(boxes)


def nulls(picture: Picture, draws: int = NULL_DRAWS) -> list[Picture]:
    """What independent students' figures of this layout and these inputs look like: the
    grid with its output tiles rearranged (each moved, a different draw each time; the
    data-set tiles where they were). Seeded: the same figure gets the same nulls."""
    if picture.grey is None:
        return []
    rng = np.random.default_rng(len(picture.outputs))
    boxes = picture.outputs
    result = []
    for draw in range(draws):
        order = _derangement(len(boxes), rng) if draw else [*range(1, len(boxes)), 0]
        moved = picture.grey.copy()
        for (x, y, w, h), source in zip(boxes, order, strict=True):
            sx, sy, sw, sh = boxes[source]
            moved[y:y + h, x:x + w] = cv2.resize(picture.grey[sy:sy + sh, sx:sx + sw], (w, h),
                                                 interpolation=cv2.INTER_AREA)
        signal = _detail(moved)
        result.append(replace(picture, label=f"{picture.label}, rearranged", signal=signal,
                              thumb=_thumb(signal), coarse=_coarse(signal), grey=None,
                              outputs=()))
    return result


def _derangement(n: int, rng: np.random.Generator) -> list[int]:
    while True:
        order = rng.permutation(n)
        if not (order == np.arange(n)).any():
            return order.tolist()


@dataclass(frozen=True)
class Null:
    """How a match scores against its null draws."""

    scores: list[float]

    def as_high(self, score: float) -> int:
        return sum(null >= score for null in self.scores)

    def beaten(self, score: float) -> bool:
        return score - float(np.median(self.scores)) >= SPECIFIC and \
            score - max(self.scores) >= MARGIN

    def describe(self, score: float) -> str:
        return (f"{self.as_high(score - MARGIN)} of {len(self.scores)} rearrangements of its "
                f"outputs score within {MARGIN} of it (median {np.median(self.scores):.2f}, "
                f"best {max(self.scores):.2f})")


def null_of(picture: Picture, matched: Picture) -> Null | None:
    """The match of `picture` with `matched`, repeated with `matched`'s null draws in its
    place, where the match was found (whole, or at the scale one sits inside the other);
    None when `matched` has no null (a plot, a grid with fewer than two outputs)."""
    draws = nulls(matched)
    if not draws:
        return None
    if same(picture, matched) >= SAME:
        return Null([same(picture, draw) for draw in draws])
    inside, scale = _placement(picture, matched)
    if inside:
        return Null([_match(picture.signal, draw.signal, scale) for draw in draws])
    return Null([_match(draw.signal, picture.signal, scale) for draw in draws])


def specific(picture: Picture, matched: Picture, score: float) -> tuple[bool, Null | None]:
    """(whether the match, at NCC `score`, says this figure and no independent student's;
    its null)."""
    null = null_of(picture, matched)
    return null is None or null.beaten(score), null


def _detail(signal: np.ndarray) -> np.ndarray:
    """Band-pass (difference of Gaussians): strokes and a curve's noise, not the blob
    shapes and smooth trends that every student's figure of that kind shares. The fine
    cut-off is about a pixel: resampling and JPEG move edges by that much."""
    fine = cv2.GaussianBlur(signal, (0, 0), FINE_SIGMA)
    return (fine - cv2.GaussianBlur(signal, (0, 0), COARSE_SIGMA)).astype(np.float32)


def _unit(signal: np.ndarray) -> np.ndarray:
    vector = signal.astype(np.float64).ravel()
    vector -= vector.mean()
    norm = np.linalg.norm(vector)
    return vector / norm if norm > 0 else vector


def _repetition(signal: np.ndarray) -> float:
    """Largest circular autocorrelation at a shift of at least a fifth of the picture."""
    centred = signal - signal.mean()
    spectrum = np.fft.rfft2(centred)
    correlation = np.fft.irfft2(spectrum * np.conj(spectrum), s=centred.shape)
    if correlation[0, 0] <= 0:
        return 1.0  # flat: nothing to tell it apart
    correlation = np.fft.fftshift(correlation / correlation[0, 0])
    height, width = correlation.shape
    near = np.zeros_like(correlation, dtype=bool)
    near[height // 2 - height // 5:height // 2 + height // 5 + 1,
         width // 2 - width // 5:width // 2 + width // 5 + 1] = True
    return float(correlation[~near].max())


def aspects_apart(a: Picture, b: Picture) -> float:
    """How far apart two pictures' shapes are: 1 for the same width-to-height ratio."""
    return max(a.aspect, b.aspect) / min(a.aspect, b.aspect)


def same(a: Picture, b: Picture) -> float:
    """Whole-picture NCC at the working size, allowing the few pixels of shift and the
    percent of scale by which two trims of one figure differ (JPEG ringing moves a margin);
    -1 when their kinds or shapes differ."""
    if a.kind != b.kind or aspects_apart(a, b) > MAX_ASPECT_RATIO:
        return -1.0
    height, width = b.signal.shape
    best = -1.0
    for scale in (0.98, 1.0, 1.02):
        size = (round(width * scale), round(height * scale))
        resized = cv2.resize(a.signal, size, interpolation=cv2.INTER_AREA)
        inner = resized[SHIFT:-SHIFT, SHIFT:-SHIFT]
        if min(inner.shape) < 8 or inner.shape[0] > height or inner.shape[1] > width:
            continue
        best = max(best, float(cv2.matchTemplate(b.signal, inner, cv2.TM_CCOEFF_NORMED).max()))
    return best


def located(a: Picture, b: Picture) -> float:
    """Best NCC of the smaller-content picture found inside the other, over scales."""
    if a.kind != b.kind:
        return -1.0
    return max(_inside(a, b)[0], _inside(b, a)[0])


def _placement(a: Picture, b: Picture) -> tuple[bool, float]:
    """Where `located` finds them: (whether `a` is the one inside, at what scale)."""
    a_in_b, b_in_a = _inside(a, b), _inside(b, a)
    return (True, a_in_b[1]) if a_in_b[0] >= b_in_a[0] else (False, b_in_a[1])


def _inside(part: Picture, whole: Picture) -> tuple[float, float]:
    """(NCC, scale) of `part` found inside `whole` at the scales where it covers
    MIN_COVER..100% of it: a sweep at half resolution, then a fine search around the best
    scale."""
    fit = min(whole.signal.shape[0] / part.signal.shape[0],
              whole.signal.shape[1] / part.signal.shape[1])
    area = part.signal.size / whole.signal.size
    smallest = max(fit * 0.3, (MIN_COVER / area) ** 0.5)
    if smallest > fit:
        return -1.0, 1.0
    sweep = {scale: _match(part.coarse, whole.coarse, scale)
             for scale in _scales(smallest, fit, 0.92)}
    # Thin plotted lines fade at half resolution: refine around the three best scales.
    fine = {scale: _match(part.signal, whole.signal, scale)
            for best in sorted(sweep, key=sweep.get)[-3:]
            for scale in _scales(max(smallest, best * 0.96), min(fit, best / 0.96), 0.98)}
    best = max(fine, key=fine.get)
    return fine[best], best


def _scales(low: float, high: float, step: float) -> list[float]:
    scales, scale = [], high
    while scale >= low * 0.999:
        scales.append(scale)
        scale *= step
    return scales or [high]


def _match(part: np.ndarray, whole: np.ndarray, scale: float) -> float:
    size = (min(whole.shape[1], round(part.shape[1] * scale)),
            min(whole.shape[0], round(part.shape[0] * scale)))
    if min(size) < 6:
        return -1.0
    template = cv2.resize(part, size, interpolation=cv2.INTER_AREA)
    if template.std() < 1e-3:
        return -1.0
    return float(cv2.matchTemplate(whole, template, cv2.TM_CCOEFF_NORMED).max())


def halves(pixels: np.ndarray) -> list[np.ndarray]:
    """A screenshot of two outputs, cut at its widest blank band that leaves each half at
    least a fifth of it; [pixels] if it has none."""
    grey = pixels.mean(axis=2)
    background = np.median(np.concatenate([grey[0], grey[-1]]))
    best = None  # (share of the length, axis, start, end)
    for axis in (0, 1):
        blank = (np.abs(grey - background) <= BACKGROUND_TOLERANCE).all(axis=1 - axis)
        length = blank.size
        for start, end in _runs(blank):
            if (min(start, length - end) >= length / 5 and end - start >= max(6, length / 40)
                    and (best is None or (end - start) / length > best[0])):
                best = ((end - start) / length, axis, start, end)
    if best is None:
        return [pixels]
    _, axis, start, end = best
    cut = (pixels[:start], pixels[end:]) if axis == 0 else (pixels[:, :start], pixels[:, end:])
    return [kept for half in cut if (kept := trimmed(half)) is not None]


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) of each run of True."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))

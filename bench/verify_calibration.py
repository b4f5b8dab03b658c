"""What the figure matcher scores on submissions shaped like students' (not a test).

Prints the normalised cross-correlation (NCC) of a notebook figure against its own
screenshots (scaled, JPEG-encoded, cropped, with a prompt) and against figures that are
not it (another grid of the same student, another student's figure of the same kind),
and the repetition score that marks a figure weak. The thresholds in
report_builder/verify/figures.py sit between these ranges.

    .venv/bin/python bench/verify_calibration.py
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from submissions import cropped, jpeg, scaled, student, with_prompt  # noqa: E402

from report_builder.verify import figures as match  # noqa: E402
from report_builder.verify.read import Figure  # noqa: E402

SHOTS = {
    "0.77x": lambda i: scaled(i, 0.77),
    "0.6x + JPEG q70": lambda i: jpeg(scaled(i, 0.6), 70),
    "1.3x + JPEG": lambda i: jpeg(scaled(i, 1.3)),
    "with a prompt": with_prompt,
    "top half": lambda i: cropped(i, 0, 0, 1, 0.55),
    "2/3 crop, 0.8x, JPEG": lambda i: jpeg(scaled(cropped(i, 0.2, 0.15, 0.95, 0.9), 0.8)),
}
ROLES = ["ae losses", "ae samples", "ae reconstructions", "beta=0.06 samples",
         "interpolation 1"]


def score(a, b) -> float:
    a, b = match.picture(Figure("a", a)), match.picture(Figure("b", b))
    return max(match.same(a, b), match.located(a, b))


def main() -> None:
    alice, bob = student("alice", 1), student("bob", 2)
    print(f"thresholds: SAME {match.SAME}, MARGIN {match.MARGIN}, "
          f"REPETITIVE {match.REPETITIVE}\n")
    print(f"{'figure':22s} " + " ".join(f"{name:>21s}" for name in SHOTS))
    same = []
    for role in ROLES:
        image = alice.figure(role)
        row = [score(image, shot(image)) for shot in SHOTS.values()]
        same += row
        print(f"{role:22s} " + " ".join(f"{value:21.3f}" for value in row))
    grids = ["ae samples", "beta=0 samples", "beta=0.06 samples"]
    own = [score(alice.figure(a), alice.figure(b)) for i, a in enumerate(grids)
           for b in grids[i + 1:]]
    print(f"\nsame figure, screenshots: {min(same):.3f} to {max(same):.3f}")
    print(f"two sample grids of one student: {min(own):.3f} to {max(own):.3f}")
    for role in ["ae losses", "beta=0.06 losses", "ae samples", "beta=0.06 samples",
                 "interpolation 2", "ae reconstructions", "beta=10 samples"]:
        a, b = alice.figure(role), jpeg(scaled(bob.figure(role), 0.8))
        weak = match.picture(Figure("a", a)).weak
        print(f"another student's {role:20s}: {score(a, b):.3f}"
              f"{'  (weak: repeats one tile)' if weak else ''}")
    print("\nrepetition (weak at >= REPETITIVE):")
    for role, image in alice.figures:
        picture = match.picture(Figure(role, image))
        if picture.kind == "image":
            print(f"  {role:26s} {picture.repetition:.2f}")


if __name__ == "__main__":
    main()

"""Atomic writes: whole files, with the mode a plain write would give them."""

import contextlib
import errno
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from report_builder.errors import ReportBuilderError
from report_builder.files import atomic_write_bytes, atomic_write_text


def test_a_written_file_has_the_mode_a_plain_open_gives(tmp_path):
    atomic_write_text(tmp_path / "report.html", "<p>hi</p>")
    with open(tmp_path / "plain.txt", "w") as handle:
        handle.write("hi")
    mode = stat.S_IMODE(os.stat(tmp_path / "report.html").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "plain.txt").st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # not mkstemp's 0600


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "manifest.json"
    target.write_text("old")

    def disk_full(fd):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_bytes(target, b"new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["manifest.json"]


def test_a_full_disk_is_one_line_naming_the_folder_and_the_file(tmp_path, monkeypatch):
    from report_builder.errors import ReportBuilderError

    target = tmp_path / "figures" / "samples.png"
    target.parent.mkdir()
    target.write_bytes(b"old")

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(ReportBuilderError) as raised:
        atomic_write_bytes(target, b"x" * 2**20)
    message = str(raised.value)
    assert "\n" not in message and str(target.parent) in message
    assert "samples.png" in message and "1.0 MB" in message and "--out" in message
    assert target.read_bytes() == b"old" and len(list(target.parent.iterdir())) == 1


# A real full disk: a tmpfs just large enough for what is there (root, where mount works).

@contextlib.contextmanager
def small_disk(folder: Path, contents: Path, spare_kb: int):
    """`folder` as a tmpfs holding a copy of `contents` and `spare_kb` more."""
    used_kb = sum(4 * -(-p.stat().st_size // 4096) for p in contents.rglob("*") if p.is_file())
    folder.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={used_kb + spare_kb}k",
                              "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        shutil.copytree(contents, folder, dirs_exist_ok=True)
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def build(out: Path, cache: Path, *options: str):
    from typer.testing import CliRunner

    from report_builder.cli import app

    return CliRunner().invoke(app, ["problem1", "--profile", "quick", "--dataset", "mnist-5k",
                                    "--out", str(out), "--cache-dir", str(cache), *options])


def every_run_loads(cache: Path) -> int:
    from report_builder.runs import RunConfig, RunStore

    store = RunStore(cache)
    complete = [entry.name for entry in cache.iterdir() if store.is_complete(entry.name)]
    for key in complete:
        config = RunConfig.from_dict(store.verified_info(key)["config"])
        store.load("check", key, config, "cpu")
    return len(complete)


def one_line(result, text: str) -> None:
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and text in errors[0], result.output
    assert "Traceback" not in result.output


@pytest.mark.slow
def test_a_disk_that_fills_while_figures_are_drawn_keeps_the_earlier_pdf(
        quick_build, tmp_path):
    built, cache, _ = quick_build
    runs = tmp_path / "runs"
    shutil.copytree(cache, runs)
    loadable = every_run_loads(runs)
    with small_disk(tmp_path / "out", built, spare_kb=8) as out:
        pdf = (out / "problem_1_solution.pdf").read_bytes()
        for key in (out / "figures").glob(".*.key"):  # every figure is drawn again
            key.unlink()
        result = build(out, runs)
        one_line(result, "no space left on the device holding")
        assert str(out / "figures") in result.output.replace("\n", "")
        assert (out / "problem_1_solution.pdf").read_bytes() == pdf
        assert not list(out.rglob("*.tmp"))
    assert every_run_loads(runs) == loadable


@pytest.mark.slow
def test_a_disk_that_fills_while_runs_train_leaves_no_entry_a_build_would_trust(
        quick_build, tmp_path):
    _, cache, _ = quick_build
    with small_disk(tmp_path / "runs", cache, spare_kb=256) as runs:
        loadable = every_run_loads(runs)
        result = build(tmp_path / "out", runs, "--seed", "7")  # new runs, workers write
        one_line(result, "no space left on the device holding")
        assert every_run_loads(runs) == loadable  # the earlier runs, and nothing half-made
        assert not (tmp_path / "out" / "problem_1_solution.pdf").exists()


def test_a_folder_or_a_read_only_place_where_a_file_goes_is_one_line(tmp_path):
    with pytest.raises(ReportBuilderError, match=f"cannot write {tmp_path}: it is a folder"):
        atomic_write_text(tmp_path, "x")
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root writes anywhere
            pytest.skip("this user may write to a read-only folder")
        with pytest.raises(ReportBuilderError, match="cannot write .*locked/a.ipynb"):
            atomic_write_text(locked / "a.ipynb", "x")
    finally:
        locked.chmod(0o700)

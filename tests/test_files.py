"""Atomic writes: whole files, with the mode a plain write would give them."""

import os
import stat

import pytest

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

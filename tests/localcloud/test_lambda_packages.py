"""Packages and layers are unpacked once per content, where execution environments import them."""

from __future__ import annotations

import io
import zipfile

import pytest

from localcloud.awslambda import packages
from tests.localcloud.lambdas import make_zip

ARN = "arn:aws:lambda:us-east-1:123456789012:layer:words:1"


def test_layers_are_merged_in_order_into_one_folder(tmp_path):
    first = make_zip({"python/word.py": "WORD = 'first'\n", "python/only_first.py": ""})
    second = make_zip({"python/word.py": "WORD = 'second'\n"})
    opt = packages.opt_dir(tmp_path, [(ARN, first), (ARN.replace("words", "more"), second)])
    assert (opt / "python" / "word.py").read_text() == "WORD = 'second'\n"  # later layers win
    assert (opt / "python" / "only_first.py").exists()
    assert packages.opt_dir(tmp_path, [(ARN, first), (ARN.replace("words", "more"), second)]) == opt
    assert packages.opt_dir(tmp_path, []) is None


def test_the_same_arn_with_other_bytes_is_unpacked_anew(tmp_path):
    """The unpacked folders outlive the local cloud's memory: after a restart, ``words:1`` is a new layer."""
    before = packages.opt_dir(tmp_path, [(ARN, make_zip({"python/word.py": "WORD = 'before'\n"}))])
    after = packages.opt_dir(tmp_path, [(ARN, make_zip({"python/word.py": "WORD = 'after'\n"}))])
    assert after != before
    assert (after / "python" / "word.py").read_text() == "WORD = 'after'\n"
    assert (before / "python" / "word.py").read_text() == "WORD = 'before'\n"


def _lying_zip(real_size: int, declared: int) -> bytes:
    """A zip whose headers say its one file is ``declared`` bytes while its data inflates to ``real_size``."""
    import struct

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.bin", b"\0" * real_size)
    data = bytearray(buffer.getvalue())
    # Uncompressed size: offset 22 in the local header, 24 in the central directory entry.
    local = data.index(b"PK\x03\x04")
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, local + 22, declared)
    struct.pack_into("<I", data, central + 24, declared)
    return bytes(data)


def test_extraction_writes_no_more_than_its_budget_even_when_the_headers_lie(tmp_path):
    lying = _lying_zip(real_size=8 * 1024 * 1024, declared=1024)
    assert packages.unzipped_size(lying) == 1024  # the central directory believes it
    with pytest.raises(packages.InvalidPackage):
        packages.task_root(tmp_path, lying)
    assert not any((tmp_path / "code").iterdir())  # no half-written folder is left behind
    # The counter itself: an honest 3 MB package with a 1 MB budget stops at the budget.
    honest = make_zip({"big.bin": "x" * (3 * 1024 * 1024)})
    with pytest.raises(packages.PackageTooLarge):
        packages._extract(honest, tmp_path / "partial", 1024 * 1024)
    assert (tmp_path / "partial" / "big.bin").stat().st_size <= 1024 * 1024


def test_a_package_over_the_limit_is_refused_before_anything_is_written(tmp_path):
    package = make_zip({"a.txt": "x" * 2000, "b.txt": "y" * 2000})
    with pytest.raises(packages.PackageTooLarge) as caught:
        packages.task_root(tmp_path, package, budget=3000)
    assert caught.value.size == 4000
    assert not (tmp_path / "code").exists() or not any((tmp_path / "code").iterdir())


def test_entries_outside_the_folder_and_non_zips_are_invalid(tmp_path):
    for name in ("../up.py", "/etc/abs.py", "a/../../up.py"):
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(name, "x")
        with pytest.raises(packages.InvalidPackage):
            packages.unzipped_size(buffer.getvalue())
        with pytest.raises(packages.InvalidPackage):
            packages.task_root(tmp_path, buffer.getvalue())
    with pytest.raises(packages.InvalidPackage):
        packages.unzipped_size(b"not a zip")
    assert not (tmp_path.parent / "up.py").exists()


def test_unused_folders_are_removed_and_used_ones_kept(tmp_path):
    kept = packages.task_root(tmp_path, make_zip({"app.py": "A = 1\n"}))
    gone = packages.task_root(tmp_path, make_zip({"app.py": "A = 2\n"}))
    opt = packages.opt_dir(tmp_path, [(ARN, make_zip({"python/x.py": ""}))])
    removed = packages.remove_unused(tmp_path, keep_code={kept.name}, keep_opt=set())
    assert set(removed) == {gone, opt}
    assert kept.is_dir() and not gone.exists() and not opt.exists()

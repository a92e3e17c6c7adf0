"""Packages and layers are unpacked once per content, where execution environments import them."""

from __future__ import annotations

from helpers.localcloud.awslambda import packages
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

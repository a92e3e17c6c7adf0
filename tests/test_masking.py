"""helpers.masking: on AWS, no notebook output shows the account id."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from helpers import masking

ACCOUNT = "987654321098"


def test_mask_replaces_every_occurrence():
    text = f"arn:aws:iam::{ACCOUNT}:role/x and alice-images-{ACCOUNT}-eu-west-1"
    assert masking.mask(text, ACCOUNT) == "arn:aws:iam::************:role/x and alice-images-************-eu-west-1"
    assert masking.mask("nothing", "") == "nothing"


def test_rich_outputs_are_masked_inside_dicts_and_lists():
    data = {"text/plain": f"'{ACCOUNT}'", "application/json": {"arns": [f"arn:aws:s3:::b-{ACCOUNT}"]}, "n": 3}
    assert masking._masked(data, ACCOUNT) == {"text/plain": "'************'",
                                              "application/json": {"arns": ["arn:aws:s3:::b-************"]}, "n": 3}


def test_printed_output_and_a_kernels_displays_and_tracebacks_are_masked():
    # In an IPython shell of its own (a subprocess), as a notebook kernel runs it.
    script = textwrap.dedent(f"""
        from IPython.testing.globalipapp import start_ipython
        shell = start_ipython()
        from helpers import masking
        assert masking.install("{ACCOUNT}") and masking.install("{ACCOUNT}")  # idempotent
        print("bucket alice-images-{ACCOUNT}-eu-west-1")
        data, _ = shell.display_formatter.format({{"Role": "arn:aws:iam::{ACCOUNT}:role/r"}})
        print("display:", data["text/plain"])
        shell.run_cell("raise PermissionError('not allowed on arn:aws:s3:::b-{ACCOUNT}')")
    """)
    done = subprocess.run([sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    assert ACCOUNT not in output, output
    assert "bucket alice-images-************-eu-west-1" in output
    assert "display: {'Role': 'arn:aws:iam::************:role/r'}" in output
    assert "not allowed on arn:aws:s3:::b-************" in output

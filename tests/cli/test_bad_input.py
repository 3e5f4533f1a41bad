"""Bad files on the command line: one `error: <file>: <reason>` line each, the others go on,
exit code 2."""

from __future__ import annotations

import json

from nanomorph.cli import main
from nanomorph.errors import display_path
from tests.support.badfiles import make_bad_files, make_odd_but_valid_files


def test_each_bad_file_gives_one_error_line_and_the_good_ones_still_print(tmp_path, capsys):
    bad = make_bad_files(tmp_path / "bad")
    good = make_odd_but_valid_files(tmp_path / "good")
    order = [good["stack"], bad["empty"], good["nan"], bad["truncated"], bad["wrong_extension"],
             good["non_utf8_name"], bad["huge_header"]]
    assert main(["info", "--json", *map(str, order)]) == 2
    out, err = capsys.readouterr()
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["path"] for r in records] == [display_path(p) for p in
                                            (good["stack"], good["nan"], good["non_utf8_name"])]
    assert records[0]["shape"] == [5, 64, 80]
    errors = err.strip().splitlines()
    assert len(errors) == 4
    for line, name in zip(errors, ("empty", "truncated", "wrong_extension", "huge_header")):
        assert line.startswith(f"error: {bad[name]}: ")
    assert "empty" in errors[0] and "truncated" in errors[1]
    assert "100,000 × 100,000" in errors[3] or "header" in errors[3]

"""Parquet round-trips; spreadsheet-safe CSV neutralises formulas but keeps numbers numbers."""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtk_frames.export import _PLAIN_NUMBER, FORMULA_PREFIXES, neutralise_formula, to_csv_safe, write_parquet


def test_write_parquet_round_trips_pandas3_dtypes(tmp_path):
    frame = pd.DataFrame({
        "session_id": pd.Series(["a", None], dtype="str"),
        "at": pd.to_datetime(["2026-01-01T10:00:00.123456Z", None], utc=True).astype("datetime64[us, UTC]"),
        "n": pd.array([2**60, None], dtype="Int64"),
        "flag": pd.array([True, None], dtype="boolean"),
        "x": [1.5, float("nan")],
    })
    paths = write_parquet({"sessions": frame, "../evil name": frame.head(1)}, tmp_path / "out")
    assert paths["sessions"] == tmp_path / "out" / "sessions.parquet"
    assert paths["../evil name"].parent == tmp_path / "out"  # no escaping the directory
    back = pd.read_parquet(paths["sessions"])
    pd.testing.assert_frame_equal(back, frame)
    assert back["n"].iloc[0] == 2**60  # exact beyond 2**53


@pytest.mark.parametrize("cell", ["=1+2", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx", "=HYPERLINK(\"u\")"])
def test_formula_cells_get_a_leading_quote(cell):
    assert neutralise_formula(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["-12", "-3.5", "+4", "-1e5", "hello", "", "a=b"])
def test_plain_numbers_and_text_are_left_alone(cell):
    assert neutralise_formula(cell) == cell


def test_to_csv_safe_escapes_text_keeps_negative_numbers_and_header():
    frame = pd.DataFrame({
        "name": pd.Series(["=cmd|' /C calc'!A0", "Ada", None], dtype="str"),
        "delta": [-3.5, 2.0, -1.0],
        "count": pd.array([-2, None, 5], dtype="Int64"),
        "=evil_header": ["@x", "-7", "ok"],
    })
    text = to_csv_safe(frame, index=False)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "delta", "count", "'=evil_header"]
    assert rows[1] == ["'=cmd|' /C calc'!A0", "-3.5", "-2", "'@x"]
    assert rows[2] == ["Ada", "2.0", "", "-7"]
    assert rows[3] == ["", "-1.0", "5", "ok"]
    assert frame.loc[0, "name"].startswith("=")  # the caller's frame is untouched


def test_to_csv_safe_writes_to_a_path(tmp_path):
    path = tmp_path / "chat.csv"
    assert to_csv_safe(pd.DataFrame({"text": ["+1 555 0100 call me"]}), path, index=False) is None
    assert path.read_bytes() == b"text\r\n'+1 555 0100 call me\r\n"


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=6))
def test_csv_safe_cells_never_start_a_formula_and_read_back_exactly(cells):
    text = to_csv_safe(pd.DataFrame({"cell": pd.Series(cells, dtype="object")}), index=False)
    back = list(csv.reader(io.StringIO(text, newline="")))[1:]
    read = [row[0] if row else "" for row in back]
    for original, written in zip(cells, read, strict=True):
        if written.startswith(FORMULA_PREFIXES):
            assert _PLAIN_NUMBER.match(written)  # only plain numbers like -3.5 may start with - or +
        expected = "'" + original if written.startswith("'") and not original.startswith("'") else original
        assert written == expected


def test_to_csv_safe_keeps_columns_that_share_a_name_apart():
    frame = pd.DataFrame([["=x", 1.5, "ok"]], columns=["a", "a", "a"])
    rows = list(csv.reader(io.StringIO(to_csv_safe(frame, index=False))))
    assert rows == [["a", "a", "a"], ["'=x", "1.5", "ok"]]


def test_write_parquet_refuses_names_that_would_share_a_file(tmp_path):
    frame = pd.DataFrame({"x": [1.0]})
    with pytest.raises(ValueError, match="same file name"):
        write_parquet({"q/stats": frame, "q_stats": frame.assign(x=2.0)}, tmp_path)
    assert not list(tmp_path.glob("*.parquet"))  # nothing half-written


# ---------------------------------------------------------------------------------- atomic outputs, index


def test_atomic_output_dir_leaves_the_target_untouched_on_an_exception(tmp_path):
    from rtk_frames.export import atomic_output_dir

    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt), atomic_output_dir(out) as building:
        (building / "half.parquet").write_bytes(b"PAR1")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []  # no target, no temporary sibling


def test_atomic_output_dir_replaces_same_named_files_and_keeps_the_others(tmp_path):
    from rtk_frames.export import atomic_output_dir

    out = tmp_path / "out"
    (out / "sub").mkdir(parents=True)
    (out / "report.html").write_text("old")
    (out / "mine.txt").write_text("keep")
    (out / "sub" / "old.txt").write_text("old")
    with atomic_output_dir(out) as building:
        (building / "report.html").write_text("new")
        (building / "sub").mkdir()
        (building / "sub" / "new.txt").write_text("new")
        assert (out / "report.html").read_text() == "old"  # nothing moves before the block ends
    assert (out / "report.html").read_text() == "new" and (out / "mine.txt").read_text() == "keep"
    assert sorted(p.name for p in (out / "sub").iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_report_writers_build_in_a_sibling_and_return_the_final_path(tmp_path):
    from rtk_frames.report.build import render_session_report
    from rtk_frames.session import Session

    data = Session("s1", pd.DataFrame({"session_id": ["s1"]}),
                       pd.DataFrame({"participant_id": ["p1"], "display_name": ["Ada"]}))
    path = render_session_report(data, tmp_path / "r")
    assert path == tmp_path / "r" / "report.html" and path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


def test_write_parquet_keeps_chat_activitys_time_index_and_drops_a_range_index(tmp_path):
    from rtk_frames.conversation import chat_activity

    chat = pd.DataFrame({
        "created_at": pd.to_datetime(["2026-11-03T10:00:05Z", "2026-11-03T10:02:30Z",
                                      "2026-11-03T10:02:31Z"]),
        "sender_id": ["a", "b", "a"]})
    activity = chat_activity(chat, freq="1min")
    plain = pd.DataFrame({"x": [1.0, 2.0]})
    paths = write_parquet({"chat_activity": activity, "plain": plain}, tmp_path)
    back = pd.read_parquet(paths["chat_activity"])
    pd.testing.assert_frame_equal(back, activity, check_freq=False)
    assert isinstance(back.index, pd.DatetimeIndex) and str(back.index.tz) == "UTC"
    plain_back = pd.read_parquet(paths["plain"])
    assert isinstance(plain_back.index, pd.RangeIndex) and list(plain_back.columns) == ["x"]
    import pyarrow.parquet as pq

    assert pq.read_schema(paths["plain"]).names == ["x"]  # the 0..n-1 index is not written at all


def test_write_parquet_keeps_a_named_or_multi_index(tmp_path):
    frame = pd.DataFrame({"v": [1.0, 2.0]},
                         index=pd.MultiIndex.from_tuples([("s1", "p1"), ("s1", "p2")],
                                                         names=["session_id", "participant_id"]))
    back = pd.read_parquet(write_parquet({"m": frame}, tmp_path)["m"])
    pd.testing.assert_frame_equal(back, frame)

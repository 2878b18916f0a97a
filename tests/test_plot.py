"""`xlopt plot`: the pictures are valid files, their paths are `xlopt run`'s numbers, bad input writes nothing."""
import json
import math

import numpy as np
import pytest

from xlopt.core import problems, sheets
from xlopt.core.engine import Data
from xlopt.writers import plots, plots_anim

PNG, GIF = b"\x89PNG\r\n\x1a\n", (b"GIF87a", b"GIF89a")


@pytest.fixture
def traced(monkeypatch):
    """The paths the drawing was given: plots.trace_all wrapped while a command runs."""
    got = []
    real = plots.trace_all

    def spy(*a, **k):
        got.extend(real(*a, **k))
        return got
    monkeypatch.setattr(plots, "trace_all", spy)
    return got


def _image(path):
    from PIL import Image
    im = Image.open(path)
    im.load()
    return im


# --- the numbers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("carry", ["lesson", "full"])
def test_drawn_paths_are_xlopt_runs_numbers_to_the_bit(xlopt_cli, xlopt_json, traced, tmp_path, carry):
    out = tmp_path / "s.png"
    code, _, err = xlopt_cli("plot", "surface", "--epochs", 3, "--carry", carry, "-o", out)
    assert code == 0, err
    assert [p.sheet for p in traced] == list(sheets.SHEETS)  # no SHEET: every sheet
    for p in traced:
        run = xlopt_json("run", p.sheet, "--epochs", 3, "--carry", carry)
        assert p.ends == [(h["const"], h["slope"]) for h in run["history"]]
        assert [h["rmse"] for h in p.history[1:]] == [h["rmse"] for h in run["history"]]
        # the epoch ends lie on the path: the last row's inputs (lesson) or its outputs (full)
        n = len(sheets.LESSON_X)
        for e, (b, a) in enumerate(p.ends):
            i = (e + 1) * n - 1 if carry == "lesson" else (e + 1) * n
            assert (p.b[i], p.a[i]) == (b, a)
        assert p.diverged is None and len(p.b) == 3 * n + 1


@pytest.mark.parametrize("name", sheets.SHEETS)
def test_first_epoch_rows_are_the_pass_xlopt_show_prints(xlopt_json, name):
    show = xlopt_json("show", name)
    p = plots.trace(name, 1)
    assert list(p.b[:29]) == [r["b"] for r in show["rows"]]
    assert list(p.a[:29]) == [r["a"] for r in show["rows"]]
    assert list(p.g_b[:29]) == [r["g_b"] for r in show["rows"]]
    if p.m_b is not None:  # a momentum average: the sheet carries state m_b, m_a
        assert {"m_b", "m_a"} <= set(sheets.get(name).state)
        assert list(p.m_a[:29]) == [r["m_a"] for r in show["rows"]]
    else:
        assert not {"m_b", "m_a"} <= set(sheets.get(name).state)


def test_lr_is_typed_after_reset_as_xlopt_run_does(xlopt_json):
    name = sheets.SHEETS[-1]
    run = xlopt_json("run", name, "--epochs", 2, "--lr", 0.003)
    p = plots.trace(name, 2, lr=0.003)
    assert p.ends == [(h["const"], h["slope"]) for h in run["history"]] and p.lr == 0.003


@pytest.mark.slow
def test_a_diverging_sheet_stops_at_its_last_finite_point(xlopt_cli, traced, tmp_path):
    for name in sheets.SHEETS:  # the first sheet that lr 1 throws out of the float range
        code, out_run, err_run = xlopt_cli("run", name, "--lr", 1, "--epochs", 5)
        if code == 3:  # xlopt run stops there
            break
    else:
        pytest.skip("no sheet diverges at lr 1")
    out = tmp_path / "d.gif"
    code, out, err = xlopt_cli("plot", "surface", name, "--lr", 1, "--epochs", 5, "-o", out)
    assert code == 0, err
    (p,) = traced
    assert p.diverged is not None and f"epoch {p.diverged[0]}, data row {p.diverged[1]}" in err_run
    assert "values stopped being finite" in out
    assert np.isfinite(p.b).all() and np.isfinite(p.a).all()
    assert "diverged at epoch" in plots.label(p)
    assert _image(tmp_path / "d.gif").format == "GIF"


def test_surface_is_the_summed_squared_error():
    data = Data.random(3, 17)
    s = plots.Surface(data)
    for b, a in [(1, 1), (30, 2), (-5, 4.5), (s.b_min, s.a_min)]:
        direct = math.fsum((b + a * x - y) ** 2 for x, y in zip(data.x, data.y))
        assert s.loss(b, a) == pytest.approx(direct, rel=1e-9, abs=1e-9)
    lesson = plots.Surface(Data.lesson())
    assert (lesson.b_min, lesson.a_min) == pytest.approx((sheets.TRUE_B, sheets.TRUE_A)) and lesson.l_min == 0


def test_levels_are_log_spaced_inside_the_range():
    assert plots.levels(0.5, 300) == [1, 2, 5, 10, 20, 50, 100, 200]
    assert plots.levels(0.0, 30)[0] > 0


def test_every_sheet_has_its_own_colour_and_line():
    styles = [plots.style(n) for n in sheets.SHEETS]
    assert len({(c, ls) for c, ls, _ in styles}) == len(styles)


@pytest.mark.parametrize("total", [1, 2, 30, 291, 29001])
def test_gif_frames_first_epoch_row_by_row_then_subsampled(total):
    ks = plots_anim.schedule(total, 30)
    assert ks[0] == 1 and ks[-1] == total and ks == sorted(ks) and len(ks) <= plots_anim.MAX_FRAMES
    assert ks[: min(30, total)] == list(range(1, min(30, total) + 1))


# --- the files -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,suffix,magic", [
    ("surface", ".png", PNG), ("compare", ".png", PNG), ("fit", ".png", PNG),
    ("compare", ".svg", b"<?xml"), ("fit", ".pdf", b"%PDF"),
])
def test_each_picture_is_a_valid_file(xlopt_cli, tmp_path, kind, suffix, magic):
    out = tmp_path / f"p{suffix}"
    code, stdout, err = xlopt_cli("plot", kind, *sheets.SHEETS[:3], "--epochs", 2, "-o", out)
    assert code == 0, err
    assert out.read_bytes().startswith(magic) and f"wrote {out}" in stdout
    if suffix == ".png":
        w, h = _image(out).size
        assert 1000 <= w <= 1366 and 500 <= h <= 768  # whole on a 1366 × 768 screen
    assert [f.name for f in tmp_path.iterdir()] == [out.name]  # no temp file left


@pytest.mark.slow
def test_default_surface_gif(xlopt_cli, traced, tmp_path):
    """`xlopt plot surface -o s.gif`: every sheet, 10 epochs from Reset, at most MAX_FRAMES frames, ≤ 3 MB."""
    out = tmp_path / "s.gif"
    code, _, err = xlopt_cli("plot", "surface", "-o", out)
    assert code == 0, err
    assert out.read_bytes()[:6] in GIF and out.stat().st_size <= 3 * 2 ** 20
    im = _image(out)
    assert im.size == (1280, 720) and 30 < im.n_frames <= plots_anim.MAX_FRAMES
    assert [p.sheet for p in traced] == list(sheets.SHEETS)
    assert all(len(p.history) == plots.DEFAULT_EPOCHS + 1 for p in traced)


# --- bad input: one line, exit 2, nothing written -------------------------------------------------
@pytest.mark.parametrize("argv,words", [
    (["surface", "nosuchsheet"], "choose one of " + ", ".join(sheets.SHEETS)),
    (["surface", "--epochs", "0"], "--epochs must be between 1 and"),
    (["fit", "--epochs", str(plots.MAX_EPOCHS + 1)], "--epochs must be between 1 and"),
    (["compare", "--lr", "-1"], "--lr must be a finite number > 0"),
    (["compare", "--lr", "nan"], "--lr must be a finite number > 0"),
    (["surface", "--data", "missing.csv"], "cannot read data file"),
])
def test_bad_input(xlopt_cli, tmp_path, argv, words):
    code, out, err = xlopt_cli("plot", *argv, "-o", tmp_path / "p.png")
    assert code == 2 and out == "" and words in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("kind,name,words", [
    ("surface", "p.jpg", "writes .png, .svg, .pdf, .gif"),
    ("compare", "p.gif", "writes .png, .svg, .pdf;"),
    ("fit", "p", "no suffix"),
    ("fit", "missing/p.png", "does not exist"),
])
def test_bad_output(xlopt_cli, tmp_path, kind, name, words):
    code, out, err = xlopt_cli("plot", kind, "-o", tmp_path / name)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.iterdir())


def test_bad_input_leaves_an_existing_picture_alone(xlopt_cli, tmp_path):
    out = tmp_path / "p.png"
    out.write_bytes(b"old")
    code, _, _ = xlopt_cli("plot", "fit", "--epochs", "-3", "-o", out)
    assert code == 2 and out.read_bytes() == b"old"


def test_the_path_is_json_friendly_for_the_curious():
    """Path fields are plain arrays: a notebook can dump them (and the tests compare them) directly."""
    p = plots.trace(sheets.SHEETS[0], 1)
    json.dumps({"b": p.b.tolist(), "a": p.a.tolist(), "ends": p.ends})


def test_a_wild_path_is_cut_at_the_edge_of_the_drawn_box():
    from xlopt.writers import plots_draw
    v = plots.View((0.0, 10.0), (0.0, 4.0))
    b, a = np.array([1.0, 2.0, 1e300, 3.0]), np.array([1.0, 2.0, 1e300, 2.0])
    db, da = plots_draw.clipped(v, b, a)
    finite = np.isfinite(db) & np.isfinite(da)
    assert np.isnan(db).sum() == 1  # the line breaks once, where the path is out of the box
    assert db[finite].max() <= 10 + 3 * 10 and da[finite].max() <= 4 + 3 * 4
    assert (db[0], da[0], db[-1], da[-1]) == (1.0, 1.0, 3.0, 2.0)
    assert plots_draw.clipped(v, b[:2], a[:2])[0].tolist() == [1.0, 2.0]  # inside: as it is


# --- a function problem ----------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("problem", problems.FUNCTIONS)
def test_surface_of_a_function_problem_draws_xlopt_runs_paths(xlopt_cli, xlopt_json, traced, tmp_path, problem):
    """f's contours over the problem's window with every sheet's path: each is `xlopt run --problem`'s."""
    out = tmp_path / "f.png"
    code, stdout, err = xlopt_cli("plot", "surface", "--problem", problem, "--epochs", 2, "-o", out)
    assert code == 0, err
    im = _image(out)
    assert im.format == "PNG" and im.size[0] <= 1366 and im.size[1] <= 768
    assert [p.sheet for p in traced] == list(sheets.SHEETS)
    for p in traced:
        if p.diverged is not None:
            assert f"{p.sheet}: values stopped being finite at epoch {p.diverged[0]}, step" in stdout
            continue
        hist = xlopt_json("run", p.sheet, "--problem", problem, "--epochs", 2)["history"]
        assert p.ends == [(h["x"], h["y"]) for h in hist]


@pytest.mark.parametrize("argv, words", [
    (["--problem", "nope"], ["unknown problem 'nope'", ", ".join(problems.PROBLEMS)]),
    (["--problem", problems.FUNCTIONS[0], "--data", "random"], ["--data applies to the lesson's problem"]),
])
def test_surface_bad_problem_writes_nothing(xlopt_cli, tmp_path, argv, words):
    code, out, err = xlopt_cli("plot", "surface", *argv, "-o", tmp_path / "f.png")
    assert code == 2 and out == "" and all(w in err for w in words), err
    assert list(tmp_path.iterdir()) == []


def test_a_function_problem_is_not_animated(xlopt_cli, tmp_path):
    code, _, err = xlopt_cli("plot", "surface", "--problem", problems.FUNCTIONS[0], "-o", tmp_path / "f.gif")
    assert code == 2 and ".png" in err and list(tmp_path.iterdir()) == []

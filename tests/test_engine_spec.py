"""The engine against the values the lesson's workbook shows (shared/graddesc-spec.md)."""
import pytest

from xlopt.core import buttons, rules, sheets, state

EXACT = dict(rel=1e-15, abs=0)


def test_basic_first_row_after_reset():
    p = state.fresh("basic").pass_
    row = {k: p.cols[k][0] for k in p.cols}
    assert row["pred"] == 15 and row["err2"] == 1849 and row["g_b"] == -86 and row["g_a"] == -1204
    assert row["errb1"] == pytest.approx(1848.1401, rel=1e-14)
    assert row["est_db"] == pytest.approx(-85.99, rel=1e-12)   # (1848.1401 - 1849) / 0.01
    assert row["erra1"] == pytest.approx(1836.9796, rel=1e-14)
    assert row["est_da"] == pytest.approx(-1202.04, rel=1e-12)
    assert row["new_a"] == pytest.approx(1.1204, **EXACT)
    assert row["new_b"] == pytest.approx(1.0086, **EXACT)


def test_basic_summaries_at_reset_and_one_epoch():
    book = state.fresh("basic")
    assert book.get("rmse") == pytest.approx(150.7552, abs=5e-5)
    assert book.pass_.summary["grad_b_norm"] == pytest.approx(301.510, abs=5e-4)
    assert book.pass_.summary["grad_a_norm"] == pytest.approx(20791.83, abs=5e-3)
    buttons.run(book, 1)
    assert book.get("const") == pytest.approx(1.06665, abs=5e-6)
    assert book.get("slope") == pytest.approx(2.57414, abs=5e-6)


def test_momentum_right_after_reset():
    book = state.fresh("momentum")
    assert book.get("momtarget") == [-18.33392669020789, 98.24583039212854]  # to the last bit
    assert book.get("rmse") == 200.9651846012761
    assert book.get("lr") == 0.0001


def test_one_minus_beta_is_computed_not_typed():
    # the lesson's K1 = 1 - J1 is 0.09999999999999998; the rule computes (1 - beta) the same way
    assert rules.ewma(0.0, 1.0, 0.9) == 1 - 0.9 != 0.1


@pytest.mark.parametrize("name", sheets.SHEETS)
def test_reset_leaves_lesson_top_values(name):
    book = state.fresh(name)
    assert (book.get("const"), book.get("slope")) == (1.0, 1.0)
    sheet = sheets.get(name)  # Reset types its lr, or leaves the definition's default
    assert book.get("lr") == (sheet.reset.lr if sheet.reset.lr is not None else sheet.lr_default)
    assert book.log == [{"epoch": 0, "rmse": book.get("rmse"), "const": 1.0, "slope": 1.0, "lr": book.get("lr")}]


def test_rmsprop_reset_is_two_warmup_passes():
    from xlopt.core.engine import Data, MemoryBook
    b = MemoryBook(sheets.get("rmsprop"), Data.lesson())
    b.set("const", 1.0), b.set("slope", 1.0), b.set("gradtarget", [1e4, 1e4])
    for _ in range(2):
        b.set("gradtarget", b.get("ms_last"))
    assert b.get("gradtarget") == state.fresh("rmsprop").get("gradtarget")


def test_adam_ann_reset_keeps_avg_grad2_of_the_previous_calculation():
    book = state.fresh("adam_ann")
    # prev_grad2 is not the avg_grad2 now shown (it lags one copy), but the one before
    assert book.get("prev_grad2") != book.get("avg_grad2")
    assert book.get("gradrat") == book.get("avg_grad2") / book.get("prev_grad2")


def test_adam_ann_anneals_by_four_when_gradrat_exceeds_two():
    book = state.fresh("adam_ann")
    log = buttons.run(book, 20)
    lrs = [e["lr"] for e in log]
    assert lrs[0] == 1.0 and min(lrs) < 1.0
    for prev, cur in zip(lrs, lrs[1:]):
        assert cur in (prev, prev / 4)
    assert book.get("prev_grad2") <= min(book.get("avg_grad2"), lrs[0] * 1e9)


@pytest.mark.parametrize("name", sheets.SHEETS)
def test_lesson_and_full_carry_differ_by_the_dropped_last_update(name):
    lesson, full = state.fresh(name), state.fresh(name)
    before = lesson.pass_
    buttons.run(lesson, 1, "lesson")
    buttons.run(full, 1, "full")
    sheet = sheets.get(name)
    # lesson carries row 32's inputs; full carries row 32's outputs: one more update each
    assert lesson.get("const") == before.last("b") and lesson.get("slope") == before.last("a")
    assert full.get("const") == before.last(sheet.new_b) and full.get("slope") == before.last(sheet.new_a)
    step = before.last(sheet.new_b) - before.last("b")
    assert full.get("const") - lesson.get("const") == step != 0
    # the optimizer state carried is the same in both modes: row 32's gradient enters it either way
    for target in (t.name for t in sheet.targets):
        assert full.get(target) == lesson.get(target)


def test_full_carry_converges_further_in_the_same_epochs():
    lesson, full = state.fresh("momentum"), state.fresh("momentum")
    buttons.run(lesson, 50, "lesson")
    buttons.run(full, 50, "full")
    assert full.get("rmse") != lesson.get("rmse")
    assert full.get("const") > lesson.get("const") > 1


def test_hand_lr_change_recalculates_from_the_same_top():
    book = state.fresh("adam")
    top = (book.get("const"), book.get("slope"), book.get("momtarget"), book.get("gradtarget"))
    buttons.set_lr(book, 0.5)
    assert (book.get("const"), book.get("slope"), book.get("momtarget"), book.get("gradtarget")) == top
    assert book.pass_.cols["b"][1] == rules.scaled_step(1.0, book.pass_.cols["m_b"][0], 0.5, book.pass_.cols["s_b"][0])

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brigade.envs.kitchen import KitchenMDP, load_layout, load_layout_file, shipped_layout_names
from brigade.envs.kitchen.layout import parse_layout_dict, parse_layout_text
from brigade.errors import LayoutError

GOOD = '''{
    "grid":  """XXPXX
                O  2O
                X1  X
                XDXSX""",
    "start_bonus_orders": [],
    "start_all_orders" : [{ "ingredients" : ["onion", "onion", "onion"]}],
    "rew_shaping_params": None
}'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.layout"
    path.write_text(text)
    return path


def test_every_shipped_layout_loads() -> None:
    names = shipped_layout_names()
    for required in (
        "cramped_room",
        "asymmetric_advantages",
        "coordination_ring",
        "forced_coordination",
        "counter_circuit_o_1order",
        "cramped_room_tomato",
        "asymmetric_advantages_tomato",
        "forced_coordination_tomato",
        "counter_circuit",
        "read_cramped_room",
        "read_forced_coordination",
    ):
        assert required in names
    for name in names:
        layout = load_layout(name)
        assert layout.num_chefs == 2
        assert KitchenMDP(layout).initial_state().timestep == 0


def test_read_variants_are_two_onion_two_tick_soups() -> None:
    for name in ("read_cramped_room", "read_forced_coordination"):
        mdp = KitchenMDP.from_layout_name(name)
        assert mdp.max_ingredients == 2
        assert mdp.start_orders.all == ((2, 0),)
        assert mdp.recipes.time((2, 0)) == 2


@pytest.mark.parametrize(
    ("grid", "row", "column", "message"),
    [
        ("XXPXX\nO  2O\nX1 X\nXDXSX", 3, 5, "ragged grid"),
        ("XXPXX\nO  2O\nX1 QX\nXDXSX", 3, 4, "invalid character 'Q'"),
        ("XXPXX\n2  XO\nX1  X\nXDXSX", 2, 1, "border must be closed"),
        ("XXPXX\nO  1O\nX1  X\nXDXSX", 3, 2, "chef 1 starts twice"),
    ],
)
def test_grid_errors_name_file_row_and_column(
    tmp_path: Path, grid: str, row: int, column: int, message: str
) -> None:
    path = write(tmp_path, repr({"grid": grid}))
    with pytest.raises(LayoutError) as err:
        load_layout_file(path)
    assert err.value.path == str(path)
    assert (err.value.row, err.value.column) == (row, column)
    assert message in str(err.value)
    assert f"grid row {row}, column {column}" in str(err.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"grid": "XXXXX\nO  2O\nX1  X\nXDXSX"}, "needs a pot"),
        ({"grid": "XXPXX\nX  2X\nX1  X\nXDXSX"}, "onion ('O') or tomato"),
        ({"grid": "XXPXX\nO  3O\nX1  X\nXDXSX"}, "missing [2]"),
        ({"grid": "XXPXX\nO  2O\nX1  X\nXDXSX", "cook_tme": 3}, "did you mean 'cook_time'"),
        (
            {"grid": "XXPXX\nO  2O\nX1  X\nXDXSX", "cook_time": 3, "recipe_times": [1]},
            "cannot be used together",
        ),
        ({"grid": "XXPXX\nO  2O\nX1  X\nXDXSX", "onion_time": 3}, "give both"),
        ({"grid": "XXPXX\nO  2O\nX1  X\nXDXSX", "recipe_values": [1]}, "needs 'start_all_orders'"),
        ({"grid": "XXPXX\nO  2O\nX1  X\nXDXSX", "cook_time": -1}, "cannot be negative"),
        (
            {
                "grid": "XXPXX\nO  2O\nX1  X\nXDXSX",
                "start_all_orders": [{"ingredients": ["onoin"]}],
            },
            "did you mean 'onion'",
        ),
        (
            {
                "grid": "XXPXX\nO  2O\nX1  X\nXDXSX",
                "start_all_orders": [{"ingredients": ["onion"]}],
                "start_bonus_orders": [{"ingredients": ["tomato"]}],
            },
            "not in 'start_all_orders'",
        ),
        (
            {
                "grid": "XXPXX\nO  2O\nX1  X\nXDXSX",
                "rew_shaping_params": {"PLACEMENT_IN_POT_REWARD": 1},
            },
            "PLACEMENT_IN_POT_REW",
        ),
    ],
)
def test_layout_errors_say_what_is_wrong(data: dict[str, object], message: str) -> None:
    with pytest.raises(LayoutError) as err:
        parse_layout_dict(data, name="t", path="t.layout")
    assert message in str(err.value)
    assert str(err.value).startswith("t.layout")


def test_layouts_are_literals_never_evaluated(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = write(tmp_path, f'{{"grid": __import__("pathlib").Path("{marker}").touch()}}')
    with pytest.raises(LayoutError, match="not a Python literal") as err:
        load_layout_file(path)
    assert not marker.exists()
    assert err.value.line == 1


def test_syntax_errors_name_the_line(tmp_path: Path) -> None:
    path = write(
        tmp_path, GOOD.replace('"rew_shaping_params": None', '"rew_shaping_params": None,,')
    )
    with pytest.raises(LayoutError) as err:
        load_layout_file(path)
    assert err.value.line == 8


def test_missing_file_is_a_layout_error(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="cannot read"):
        load_layout_file(tmp_path / "nope.layout")


def test_unknown_shipped_name_suggests() -> None:
    with pytest.raises(LayoutError, match="did you mean 'cramped_room'"):
        load_layout("cramped_rom")


def test_num_items_for_soup_warns_it_has_no_effect() -> None:
    data = {"grid": "XXPXX\nO  2O\nX1  X\nXDXSX", "num_items_for_soup": 2}
    with pytest.warns(UserWarning, match="max_num_ingredients"):
        layout = parse_layout_dict(data, name="t")
    assert layout.max_ingredients == 3


@st.composite
def grids(draw: st.DrawFn) -> str:
    width = draw(st.integers(4, 8))
    height = draw(st.integers(3, 6))
    inner = [
        [draw(st.sampled_from("  XOTPDS")) for _ in range(width - 2)] for _ in range(height - 2)
    ]
    border = "XPDSOT"
    rows = [["X"] * width for _ in range(height)]
    for y in range(1, height - 1):
        for x in range(1, width - 1):
            rows[y][x] = inner[y - 1][x - 1]
    rows[0][1], rows[0][2], rows[height - 1][1], rows[height - 1][2] = "P", "D", "S", "O"
    floor = [(x, y) for y in range(height) for x in range(width) if rows[y][x] == " "]
    n = draw(st.integers(1, min(4, max(1, len(floor)))))
    if len(floor) < n:
        rows[1][1] = " "
        floor = [(1, 1)]
        n = 1
    for i, (x, y) in enumerate(floor[:n]):
        rows[y][x] = str(i + 1)
    del border
    return "\n".join("".join(r) for r in rows)


@settings(max_examples=60, deadline=None)
@given(grids())
def test_valid_grids_round_trip(grid: str) -> None:
    layout = parse_layout_dict({"grid": grid}, name="g")
    again = parse_layout_text(repr(layout.to_dict()), name="g")
    assert again.terrain == layout.terrain
    assert again.start_positions == layout.start_positions
    assert again.to_dict() == layout.to_dict()


def test_line_numbers_count_leading_blank_and_comment_lines(tmp_path: Path) -> None:
    path = write(tmp_path, "\n\n# a comment\n" + GOOD.replace('"rew_shaping_params": None', "x"))
    with pytest.raises(LayoutError) as err:
        load_layout_file(path)
    assert err.value.line == 11

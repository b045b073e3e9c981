"""How the result page words the plan's progress."""
import pytest

from experiments.result_format import plan_share_text


@pytest.mark.parametrize(("users", "planned", "text"), [
    (0, 171, "0 %"),
    (85, 171, "50 %"),
    (171, 171, "100 %"),
    (1_700, 171, "994 %"),
    (7_230, 171, "42× the plan"),
], ids=["none", "half", "reached", "under-10x", "far-over"])
def test_plan_share_text__users_against_plan__percent_then_multiple(users, planned, text):
    assert plan_share_text(users, planned) == text

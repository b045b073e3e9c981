"""Surveys on the demo page: an answer with its comment becomes one SurveyResponse."""
import pytest
from playwright.sync_api import expect

from analytics.models import SurveyResponse
from onboarding.models import Guide
from tests.browser.helpers import SURVEY, delivery, names_count, snippet, stored_events  # noqa: F401
from tests.factories import make_live_survey


@pytest.mark.parametrize(
    ("kind", "scale", "score"),
    [(Guide.SurveyKind.NPS, [str(n) for n in range(11)], 9), (Guide.SurveyKind.CSAT, ["1", "2", "3", "4", "5"], 4)],
    ids=["nps", "csat"],
)
def test_survey__answered_with_comment__response_stored_once(
    page, snippet, delivery, console, kind, scale, score
):
    survey = make_live_survey(snippet.app, "How likely are you to recommend Chatterbox?", survey_kind=kind,
                              survey_follow_up_question="What is the main reason?",
                              survey_thank_you="Thanks, that helps!")
    page.goto(snippet.demo())
    dialog = page.locator(SURVEY)
    expect(dialog).to_contain_text("How likely are you to recommend Chatterbox?")
    assert dialog.locator("input[type=radio]").evaluate_all("inputs => inputs.map((i) => i.value)") == scale
    submit = dialog.get_by_role("button", name="Submit")
    expect(submit).to_be_disabled()

    dialog.get_by_text(str(score), exact=True).click()
    dialog.get_by_label("What is the main reason?").fill("Setup was quick")
    submit.click()
    expect(dialog).to_contain_text("Thanks, that helps!")

    events = list(stored_events(page, snippet.app, delivery, properties__guide_id=survey.id))
    assert names_count(events, "$survey_submitted", kind=kind, score=score, comment="Setup was quick") == 1
    assert names_count(events, "$guide_completed", guide_type="survey") == 1
    assert names_count(events, "$guide_shown", guide_type="survey") == 1
    response = SurveyResponse.objects.get(guide=survey)
    assert (response.kind, response.score, response.comment, response.user.external_id) == (
        kind, score, "Setup was quick", "user-1")
    assert console.errors == []

"""Tests for page-URL rules (pure: no Django, no database)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onboarding.url_match import MATCH_TYPES, any_url_rule_matches, url_matches, validate_url_rule

URL = "https://app.example.com/settings/team?tab=1#members"

MATCH_CASES = [
    # (match_type, pattern, url, expected, id)
    ("exact", "/settings/team", URL, True, "exact__path__ignores_query_and_fragment"),
    ("exact", "/settings/team/", URL, True, "exact__pattern_trailing_slash__ignored"),
    ("exact", "/settings/team", "https://app.example.com/settings/team/", True, "exact__url_trailing_slash__ignored"),
    ("exact", "/settings/team", "https://app.example.com/settings/team//", False, "exact__two_trailing_slashes__no"),
    ("exact", "/settings", URL, False, "exact__parent_path__no"),
    ("exact", "/Settings/team", URL, False, "exact__case_sensitive__no"),
    ("exact", "/", "https://app.example.com", True, "exact__root__empty_path_is_root"),
    ("exact", "/", "https://app.example.com/?a=1", True, "exact__root_with_query__yes"),
    ("exact", "/settings/team?tab=1", URL, True, "exact__pattern_with_query__compares_query"),
    ("exact", "/settings/team/?tab=1", URL, True, "exact__slash_before_query__ignored"),
    ("exact", "/settings/team?tab=2", URL, False, "exact__other_query__no"),
    ("exact", "/settings/team?tab=1", "https://app.example.com/settings/team", False, "exact__query_missing__no"),
    ("exact", "https://app.example.com/settings/team?tab=1", URL, True, "exact__full_url__fragment_dropped"),
    ("exact", "https://app.example.com/settings/team", URL, False, "exact__full_url_without_query__no"),
    ("exact", "https://app.example.com/", "https://app.example.com", True, "exact__full_url__trailing_slash"),
    ("prefix", "/settings", URL, True, "prefix__section__yes"),
    ("prefix", "/settings", "https://app.example.com/settings-old", True, "prefix__is_plain_startswith"),
    ("prefix", "/settings/", "https://app.example.com/settings", False, "prefix__longer_than_path__no"),
    ("prefix", "/team", URL, False, "prefix__middle_of_path__no"),
    ("prefix", "/settings/team?tab", URL, True, "prefix__with_query__yes"),
    ("prefix", "https://app.example.com/", URL, True, "prefix__origin__yes"),
    ("prefix", "https://staging.example.com/", URL, False, "prefix__other_host__no"),
    ("glob", "/settings/*", URL, True, "glob__star__one_segment"),
    ("glob", "/settings/*", "https://app.example.com/settings/team/roles", False, "glob__star__not_across_slash"),
    ("glob", "/settings/**", "https://app.example.com/settings/team/roles", True, "glob__double_star__across_slash"),
    ("glob", "/projects/*/board", "https://x.io/projects/42/board", True, "glob__star_in_middle"),
    ("glob", "/projects/*/board", "https://x.io/projects/42/board/7", False, "glob__whole_path_must_match"),
    ("glob", "/settings/*", "https://x.io/settings/", True, "glob__star__matches_empty"),
    ("glob", "/settings/team?tab=*", URL, True, "glob__query__question_mark_literal"),
    ("glob", "/settings/tea?", URL, False, "glob__question_mark__not_a_wildcard"),
    ("glob", "/a.b", "https://x.io/aXb", False, "glob__dot__literal"),
    ("glob", "https://*.example.com/**", URL, True, "glob__full_url__host_wildcard"),
    ("glob", "https://*/team", "https://x.io/settings/team", False, "glob__full_url__star_does_not_cross_slash"),
    ("glob", "**/team", "https://x.io/settings/team", True, "glob__leading_double_star"),
    ("regex", r"^/settings/(team|billing)$", URL, True, "regex__anchored_path"),
    ("regex", r"/settings/(team|billing)$", URL, True, "regex__path_pattern__query_not_included"),
    ("regex", r"^/settings/team\?tab=\d$", URL, True, "regex__escaped_question_mark__includes_query"),
    ("regex", r"^/settings/team/?$", URL, True, "regex__quantifier_question_mark__path_only"),
    ("regex", r"example\.com/settings", URL, True, "regex__full_url_search"),
    ("regex", r"members", URL, False, "regex__fragment_never_matched"),
    ("regex", r"^/settings", "https://app.example.com/account/settings", False, "regex__anchor_is_path_start"),
    ("nope", "/settings", URL, False, "unknown_type__no"),
    ("regex", "(", URL, False, "invalid_regex__no"),
    ("exact", "", URL, False, "empty_pattern__no"),
    ("exact", "/settings", "/settings?x=1", True, "path_only_url__works"),
    ("prefix", "/", "http://[::1/settings", True, "malformed_ipv6_url__falls_back"),
    ("exact", "/settings", "http://[::1/settings", True, "malformed_ipv6_url__path_found"),
    ("exact", "/a", "", False, "empty_url__no"),
    ("exact", "/a", None, False, "none_url__no"),
]


@pytest.mark.parametrize("match_type, pattern, url, expected", [c[:4] for c in MATCH_CASES],
                         ids=[c[4] for c in MATCH_CASES])
def test_url_matches(match_type, pattern, url, expected):
    assert url_matches(match_type, pattern, url) is expected


@pytest.mark.parametrize("rules, url, expected", [
    ([], URL, True),
    ((), "", True),
    ([("exact", "/billing"), ("prefix", "/settings")], URL, True),
    ([("exact", "/billing"), ("glob", "/admin/**")], URL, False),
    (iter([("regex", "team")]), URL, True),
], ids=["no_rules__every_page", "no_rules__even_empty_url", "one_of_several__yes", "none_match__no",
        "generator_of_rules__yes"])
def test_any_url_rule_matches(rules, url, expected):
    assert any_url_rule_matches(rules, url) is expected


@pytest.mark.parametrize("match_type, pattern", [
    ("exact", "/settings"), ("prefix", "https://app.example.com/"), ("glob", "/projects/*/board/**"),
    ("regex", r"^/settings/(team|billing)/?$"), ("regex", "a" * 500),
], ids=["exact", "prefix_full_url", "glob", "regex", "exactly_500_chars"])
def test_validate_url_rule__valid__no_errors(match_type, pattern):
    assert validate_url_rule(match_type, pattern) == []


@pytest.mark.parametrize("match_type, pattern, expected", [
    ("contains", "/a", ['unknown match type "contains"; use one of exact, prefix, glob, regex']),
    (None, "/a", ["unknown match type None; use one of exact, prefix, glob, regex"]),
    ("exact", "", ["pattern is empty"]),
    ("glob", "   ", ["pattern is empty"]),
    ("prefix", None, ["pattern must be a string, got NoneType"]),
    ("exact", "/" + "a" * 500, ["pattern is 501 characters long; the limit is 500"]),
    ("regex", "(", ["invalid regular expression: missing ), unterminated subpattern at position 0"]),
    ("regex", "*a", ["invalid regular expression: nothing to repeat at position 0"]),
    ("exact", "/help#faq", ['pattern contains "#"; the #fragment of a URL is never matched, remove it']),
    ("bogus", "", ['unknown match type "bogus"; use one of exact, prefix, glob, regex', "pattern is empty"]),
    (10**5000, "/a", ["unknown match type a int; use one of exact, prefix, glob, regex"]),
], ids=["unknown_type", "type_none", "empty", "blank", "pattern_none", "too_long", "regex_unclosed",
        "regex_nothing_to_repeat", "fragment_in_pattern", "two_problems__both_reported", "huge_int_type"])
def test_validate_url_rule__invalid__human_readable_errors(match_type, pattern, expected):
    assert validate_url_rule(match_type, pattern) == expected


def test_match_types__the_documented_four():
    assert MATCH_TYPES == ("exact", "prefix", "glob", "regex")


@pytest.mark.filterwarnings("ignore::FutureWarning")  # re warns about patterns like "[[" it will parse
@settings(max_examples=200, deadline=None)
@given(st.sampled_from(MATCH_TYPES + ("other",)), st.text(max_size=30), st.text(max_size=60))
def test_url_matches__any_text__never_raises(match_type, pattern, url):
    assert url_matches(match_type, pattern, url) in (True, False)
    assert isinstance(validate_url_rule(match_type, pattern), list)


url_parts = st.text(alphabet="abc/-.?=&#[]:%*", max_size=15)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["https://", "http://[", "", "//", "mailto:"]), url_parts, url_parts,
       st.text(alphabet="ab/-.?=*", max_size=4))
def test_url_matches__odd_urls__never_raise(scheme, host, rest, pattern):
    url = f"{scheme}{host}/{rest}"
    for match_type in MATCH_TYPES:
        assert url_matches(match_type, "/" + pattern, url) in (True, False)
        assert url_matches(match_type, "http" + pattern, url) in (True, False)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="abc-", min_size=1, max_size=4), min_size=1, max_size=4))
def test_url_matches__path_matches_its_own_exact_prefix_and_glob(segments):
    path = "/" + "/".join(segments)
    url = f"https://app.example.com{path}?q=1#top"
    assert url_matches("exact", path, url)
    assert url_matches("prefix", path, url)
    assert url_matches("glob", path, url)
    assert url_matches("glob", "/**", url)
    assert url_matches("glob", "/*" * len(segments), url)

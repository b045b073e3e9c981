import re

import pytest

from onboarding.sanitize import sanitize_html
from tests.factories import make_guide

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.test/x.js></SCRIPT>",
    '<img src=x onerror="alert(1)">',
    "<body onload=alert(1)>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href=" javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    "<svg onload=alert(1)><circle r=1></svg>",
    '<svg><script>alert(1)</script></svg>',
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div style="width: expression(alert(1))">x</div>',
    "<style>@import 'javascript:alert(1)';</style>",
    '<form action="javascript:alert(1)"><button>x</button></form>',
    '<input autofocus onfocus=alert(1)>',
    '<details open ontoggle=alert(1)>',
    '<b onmouseover="alert(1)">bold</b>',
    "<p>ok</p><!--<script>alert(1)</script>-->",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<a href="#" onclick="alert(1)">x</a>',
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    '<scr<script>ipt>alert(1)</scr</script>ipt>',
    '<a href="https://ok.test" target="_blank" onclick=alert(1)>ok</a>',
]

DANGEROUS = re.compile(
    r"<\s*(script|svg|math|iframe|object|embed|style|form|input|details|meta|base|img|body)\b"
    r"|\son\w+\s*="
    r"|javascript:|vbscript:|data:|expression\(|style\s*=",
    re.IGNORECASE,
)


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=range(len(XSS_PAYLOADS)))
def test_sanitize_html__xss_payload__nothing_dangerous_survives(payload):
    # Given a payload, when it is sanitised, then no element, handler or URL scheme that runs code is left.
    cleaned = sanitize_html(payload)
    assert not DANGEROUS.search(cleaned), cleaned


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Hi <b>there</b></p>", "<p>Hi <b>there</b></p>"),
        ("<strong>a</strong><em>b</em><i>c</i><code>d</code>", "<strong>a</strong><em>b</em><i>c</i><code>d</code>"),
        ("<ul><li>one</li></ul><ol><li>two</li></ol>", "<ul><li>one</li></ul><ol><li>two</li></ol>"),
        ("line<br>break", "line<br>break"),
        ('<a href="mailto:a@b.test">mail</a>', '<a href="mailto:a@b.test" rel="noopener noreferrer nofollow">mail</a>'),
        ('<a href="https://x.test/p?q=1">x</a>', '<a href="https://x.test/p?q=1" rel="noopener noreferrer nofollow">x</a>'),
        ("<h1>Title</h1><span>text</span>", "Titletext"),
        ("", ""),
    ],
    ids=["paragraph", "inline", "lists", "br", "mailto", "https", "unknown-tags-unwrapped", "empty"],
)
def test_sanitize_html__allowed_subset__kept(html, expected):
    assert sanitize_html(html) == expected


def test_sanitized_field__saved_with_payload__stored_clean(application):
    # Given a bar whose message carries a payload, when it is saved, then the stored text is clean.
    guide = make_guide(application, "bar", bar_message='<p onclick="x()">Hi<script>alert(1)</script></p>')
    guide.refresh_from_db()
    assert guide.bar_message == "<p>Hi</p>"

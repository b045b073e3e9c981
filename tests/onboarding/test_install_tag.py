import re

from onboarding.install_tag import install_tag


def test_install_tag__built_snippet__loader_points_at_bundle_and_inits_key(application):
    tag = install_tag(application=application, api_host="https://wayline.example.com/")
    assert "__WAYLINE_BUNDLE_URL__" not in tag
    assert '"https://wayline.example.com/static/wayline/wayline.js"' in tag  # the bundle URL, as a JS string
    assert f'wayline.init("{application.publishable_key}", {{"apiHost": "https://wayline.example.com"}})' in tag


def test_install_tag__host_with_script_breakout__escaped(application):
    tag = install_tag(application=application, api_host='https://x.test/"</script><script>alert(1)</script>')
    # Only the tag's own two script elements close; what the host said stays inside JS strings.
    assert len(re.findall(r"</script", tag, re.IGNORECASE)) == 2
    assert tag.endswith("</script>") and "<\\/script><script>alert(1)" in tag

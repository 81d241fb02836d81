"""The error rules page: a rule added from the form (listed in order, also through the API), a bad
regular expression refused next to its field, a sample error tried in the tester, edit and delete."""

from __future__ import annotations

from playwright.sync_api import Page

from tests.console.conftest import expect, look, sign_in


def test_add_a_rule_try_a_sample_edit_and_delete_it(page: Page, make_user, stack):
    user = make_user()
    sign_in(page, user)
    page.get_by_role("link", name="Error rules").click()
    expect(page.get_by_role("heading", name="Error rules", exact=True)).to_be_visible()
    expect(page.get_by_text("No error rules yet.")).to_be_visible()
    expect(page.get_by_label("Global")).to_have_count(0)  # admins only
    look(page, "error-rules")

    page.get_by_label("Name", exact=True).fill("suspended org")
    page.get_by_label("Position").fill("10")
    page.get_by_label("Upstream status code").fill("403")
    page.get_by_label("Match the error body by").select_option("regex")
    page.get_by_label("Pattern").fill(r"organi[sz]ation (is )?suspended")
    page.get_by_label("Action", exact=True).select_option("disable")
    page.get_by_label("Reason").fill("upstream suspended the org")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_role("status")).to_have_text("Added.")
    row = page.get_by_role("row").filter(has_text="suspended org")
    expect(row).to_contain_text("HTTP 403")
    expect(row).to_contain_text("upstream suspended the org")
    with user.api(stack) as api:
        (rule,) = api.get("/error-rules").json()
    assert (rule["action"], rule["match_type"], rule["position"]) == ("disable", "regex", 10)

    page.get_by_label("Sample status code").fill("403")
    page.get_by_label("Sample error body").fill(
        '{"error":{"message":"Your organization is suspended. Mail admin@example.com"}}'
    )
    page.get_by_role("button", name="Test", exact=True).click()
    verdict = page.get_by_role("status")
    expect(verdict).to_contain_text("Matches rule suspended org (position 10).")
    expect(verdict).to_contain_text("Disable")
    expect(verdict).to_contain_text("[redacted]")  # the email, as rules see the body
    look(page, "error-rules-tested")
    page.get_by_label("Sample status code").fill("500")
    page.get_by_role("button", name="Test", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("No rule matches")

    page.get_by_role("link", name="Edit rule suspended org").click()
    expect(page.get_by_role("heading", name="Edit error rule")).to_be_visible()
    look(page, "error-rule-edit")
    page.get_by_label("Action", exact=True).select_option("cooldown")
    page.get_by_label("Seconds").fill("120")
    page.get_by_role("button", name="Save rule").click()
    expect(page.get_by_role("status")).to_have_text("Saved.")
    expect(row).to_contain_text("Cool down 120 s")

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete rule suspended org").click()
    expect(page.get_by_role("status")).to_have_text("Deleted.")
    expect(page.get_by_text("No error rules yet.")).to_be_visible()


def test_a_bad_regular_expression_is_refused_next_to_its_field(page: Page, make_user):
    sign_in(page, make_user(), next_path="/error-rules")
    page.get_by_label("Match the error body by").select_option("regex")
    page.get_by_label("Pattern").fill("(unclosed")
    page.get_by_role("button", name="Add rule").click()
    expect(page.get_by_text("not a valid RE2 regular expression")).to_be_visible()
    expect(page.get_by_label("Pattern")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Pattern")).to_have_value("(unclosed")
    look(page, "error-rules-bad-pattern")

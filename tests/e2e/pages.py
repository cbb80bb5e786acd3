"""Page helpers the browser tests share: a phone-sized page that records script errors,
signing in, submitting, answering the form and running axe-core."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support import NURSE, shipped_kb, unavailable

PHONE = {"width": 375, "height": 812}  # the phone the patient pages are measured on (issue 12)
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def new_page(browser: Any, viewport: dict[str, int] = PHONE, **options: Any) -> Any:
    """A fresh page that records any CSP violation or script error."""
    context = browser.new_context(viewport=viewport, **options)
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    return page


def sign_in(page: Any, live_server: str, second_step: bool = False) -> None:
    """Sign the page's browser context in as the test nurse, through the login form (with
    `second_step`, only the password: the page is then on a sign-in code step)."""
    page.goto(live_server + "/nurse/login")
    page.fill("#username", NURSE[0])
    page.fill("#password", NURSE[1])
    with page.expect_navigation(wait_until="load"):
        page.press("#password", "Enter")
    assert ("/nurse/login/" in page.url) if second_step else ("/nurse/login" not in page.url), "sign-in failed"


def submit(page: Any) -> None:
    """Send the form with its main button and wait until the answer page has loaded (and its script has run)."""
    with page.expect_navigation(wait_until="load"):
        page.click("button.primary[type=submit]")


def tick_factors(page: Any, factors: tuple[str, ...] = ()) -> None:
    """Tick these risk factors; the rest stay unticked, which means no."""
    for fid in factors:
        page.check(f"#factor-{fid}")


def read_axe() -> str:
    """axe-core's script (the npm package); without it, skip saying why (fail in CI)."""
    if not AXE.exists():
        unavailable(f"axe-core is not installed at {AXE}: run `npm ci` in the repository root")
    return AXE.read_text()


def run_axe(page: Any, axe_source: str) -> list[dict[str, Any]]:
    """Inject axe-core (from the npm package) and return every violation, whatever its impact."""
    page.evaluate(axe_source)
    result = page.evaluate("async () => JSON.stringify(await axe.run(document))")
    violations = json.loads(result)["violations"]
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in violations
    ]


def fill_result(
    page: Any, live_server: str, symptom: str, hours: str, severity: str = "moderate", factors: tuple[str, ...] = ()
) -> None:
    """Answer the patient form with one symptom (and these risk factors), and send it."""
    page.goto(live_server + "/")
    page.check(f"#symptom-{symptom}")
    if not shipped_kb().symptoms[symptom].emergency:  # an emergency sign has no severity to choose
        page.check(f"#severity-{symptom}-{severity}")
    page.fill("#hours", hours)
    tick_factors(page, factors)
    submit(page)


MAX_FORM_SCREENS = 4  # the empty patient form, in phone screens (issue 12)
EMERGENCY_SYMPTOMS = [s for s, sym in shipped_kb().symptoms.items() if sym.emergency]  # from the KB


def on_first_screen(page: Any, selector: str) -> bool:
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


def assert_form_fits_a_phone(page: Any, note: Any, label: str) -> None:
    """The loaded empty form is at most MAX_FORM_SCREENS phone screens tall (its height is written
    to `note` for the README) and the emergency signs and their button are on the first screen."""
    height = page.evaluate("document.documentElement.scrollHeight")
    screens = height / PHONE["height"]
    note.write_text(f"{PHONE['width']}x{PHONE['height']}{label}: {height} px, {screens:.2f} screens\n")
    assert screens <= MAX_FORM_SCREENS, f"{height} px is {screens:.2f} screens"
    for sid in EMERGENCY_SYMPTOMS:
        assert on_first_screen(page, f"#symptom-{sid}"), sid
    assert on_first_screen(page, "button.danger")

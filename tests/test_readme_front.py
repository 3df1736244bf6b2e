"""The README's first screen: what the lab costs and how long it takes, from the lab model (as
the stack outputs give them), the path plan -> up -> tour -> destroy, and a table of contents
that lists every section in order."""

import re
from pathlib import Path

from stacks import estimates, prices
from stacks.model import lab_model
from tests.test_fits import run_lab_settings

README = Path(__file__).resolve().parent.parent / "README.md"
PATH = ["./lab plan", "./lab up", "./lab tour", "./lab destroy"]


def first_screen(text: str) -> str:
    return text.split("\n## Contents\n", 1)[0]


def front_problems(text: str, model) -> list[str]:
    front, problems = first_screen(text), []
    hourly = prices.hourly_usd(model)
    cost = f"${hourly:.2f} an hour (${24 * hourly:.2f} a day)"
    if cost not in front:
        problems.append(f"the first screen does not say {cost!r}")
    ready = f"about {estimates.provision_minutes(model):.1f} minutes"
    if ready not in front:
        problems.append(f"the first screen does not say {ready!r}")
    if model.settings.region not in front:
        problems.append(f"the first screen does not name the region the cost is for ({model.settings.region})")
    block = re.search(r"```bash\n(.*?)```", front, re.S)
    commands = [line.split("#")[0].strip() for line in block.group(1).splitlines()] if block else []
    if commands != PATH:
        problems.append(f"the first screen's commands are {commands}, expected {PATH}")
    return problems


def anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def contents_problems(text: str) -> list[str]:
    _, _, rest = text.partition("\n## Contents\n")
    listed = re.findall(r"^- \[([^\]]+)\]\(#([^)]+)\)$", rest.split("\n## ", 1)[0], re.M)
    headings = re.findall(r"^## (.+)$", rest, re.M)
    problems = [f"contents: {title!r} links #{link}, the heading's anchor is #{anchor(title)}"
                for title, link in listed if link != anchor(title)]
    if [t for t, _ in listed] != headings:
        problems.append(f"contents list {[t for t, _ in listed]}, the sections are {headings}")
    return problems


def test_the_first_screen_says_cost_time_and_the_path():
    assert front_problems(README.read_text(), lab_model(run_lab_settings())) == []


def test_the_first_screen_check_fails_on_a_wrong_figure_or_order():
    text, model = README.read_text(), lab_model(run_lab_settings())
    assert any("an hour" in p for p in front_problems(text.replace("$0.38 an hour", "$0.35 an hour"), model))
    assert any("minutes" in p for p in front_problems(text.replace("about 19.5 minutes", "about 18 minutes"), model))
    swapped = text.replace("./lab plan ", "./lab tmp  ", 1).replace("./lab up ", "./lab plan ", 1)
    assert any("commands" in p for p in front_problems(swapped, model))
    # A setting that changes the cost changes what the first screen must say.
    bigger = lab_model(run_lab_settings({"lab:natGateways": "perAz"}))
    assert any("an hour" in p for p in front_problems(text, bigger))


def test_the_contents_list_every_section_in_order():
    assert contents_problems(README.read_text()) == []


def test_the_contents_check_fails_on_a_missing_or_wrong_entry():
    text = README.read_text()
    assert contents_problems(text.replace("- [Settings](#settings)\n", ""))
    assert contents_problems(text.replace("(#settings)", "(#the-settings)"))

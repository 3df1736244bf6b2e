"""Words for people about a class: the plan and the account's verdict (labtools/class_plan.py,
class_preflight.py hold the numbers). The same input prints the same lines: no timestamps."""

from __future__ import annotations

from typing import Any, Sequence, TextIO

from labtools.class_plan import DEFAULT_MAX_PARALLEL, MATRIX_MAX


def table(rows: Sequence[Sequence[Any]], right: set[int] = frozenset()) -> list[str]:
    """Columns as wide as their widest cell; `right` columns aligned right (numbers)."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    return ["  " + "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
            .rstrip() for r in cells]


def usd(value: float | None) -> str:
    return "?" if value is None else f"${value:,.2f}"


def print_plan(plan: dict[str, Any], out: TextIO) -> None:
    def p(line: str = "") -> None:
        print(line, file=out)

    n = plan["students"]
    p(f"Class {plan['class']} ({plan['roster']}): {n} lab(s) in {plan['region']}, each from {plan['settingsFrom']}")
    p()
    p("\n".join(table([("student", "stack and cluster (one name)", "admin (lab:adminPrincipalArns)")] +
                      [(lab["id"], lab["stack"], lab["adminPrincipalArns"][0]) for lab in plan["labs"]])))
    p()
    keys = sorted(plan["labs"][0]["overrides"])
    p(f"Each lab's settings: {plan['settingsFrom']} with its own {', '.join(keys)} (the student's ARN is its only "
      "admin, besides the identity that creates it); nothing of another student's.")
    expires = plan["labs"][0]["overrides"].get("lab:expires")
    if expires is not None:
        p(f"lab:expires {expires} (the roster's): the reaper and ./lab audit --expired find a lab past it.")
    p()
    per = plan["perLab"]["hourlyCostUsd"]
    if per is None:
        p(f"Cost: unknown ({plan['region']} has no prices in stacks/prices.py)")
    else:
        p(f"Cost: {n} x ${per:.4f} = {usd(plan['hourlyCostUsd'])} an hour, {usd(plan['dailyCostUsd'])} a day "
          f"(list prices of {plan['pricesAsOf']}; traffic and load balancer capacity units on top)")
    p()
    print_needs(plan, p)
    p()
    print_times(plan, p)
    if not plan["workflowFits"]:
        p()
        p(f"The class workflow fans out one job per student, and GitHub runs at most {MATRIX_MAX} in one matrix: "
          "split the roster.")


def print_needs(plan: dict[str, Any], p) -> None:
    p("What the account must hold, every lab at once (they all stay up until ./lab class destroy):")
    rows = [("quota", "code", "per lab", "class", "AWS default", "labs it holds")]
    rows += [(q["name"], q["quotaCode"], q["perLab"], q["class"], q["awsDefault"],
              "any" if q["labsAtDefault"] is None else q["labsAtDefault"]) for q in plan["quotas"]]
    p("\n".join(table(rows, right={2, 3, 4, 5})))
    held = plan["accountHolds"]
    verdict = "the class fits" if plan["fits"] else "the class does not fit"
    holds = "no quota bounds the labs" if held["labs"] is None else \
        f"it holds {held['labs']} lab(s) at once, bound by {', '.join(held['limitedBy'])}"
    p(f"At AWS's default quotas (assumed: the plan reads no account) {holds}: {verdict}. ./lab class preflight "
      f"--roster {plan['roster']} reads the account's own quotas and usage, and gives the command that asks for "
      "more of each.")


def print_times(plan: dict[str, Any], p) -> None:
    per = plan["perLab"]["provisionMinutes"]
    p(f"Time to every lab ready ({per} min each, the lab's longest chain; stacks/estimates.py):")
    rows = [("at a time", "rounds", "minutes", "")]
    n = plan["students"]
    for k, minutes in plan["readyMinutesByParallel"].items():
        marks = [m for m, v in (("maxParallel", plan["maxParallel"]), ("--parallel", plan["parallel"])) if v == int(k)]
        rows.append((k, -(-n // int(k)), minutes, f"<- {', '.join(dict.fromkeys(marks))}" if marks else ""))
    p("\n".join(table(rows, right={0, 1, 2})))
    p(f"maxParallel {plan['maxParallel']}: the students ({n}), at most {DEFAULT_MAX_PARALLEL} (GitHub's concurrent "
      "jobs, the account's API rates) and no more than the account holds (at least 1); --parallel K overrides it.")


def print_preflight(doc: dict[str, Any], out: TextIO) -> None:
    def p(line: str = "") -> None:
        print(line, file=out)

    p(f"Account {doc['account'] or '(unknown)'} in {doc['region']}: room for the {doc['students']} lab(s) of class "
      f"{doc['class']}, all at once?")
    p()
    rows = [("check", "quota", "value", "used", "class", "verdict")]
    for c in doc["checks"]:
        value = "" if c["value"] is None else f"{c['value']}{'*' if c['assumed'] else ''}"
        used = "?" if c["quotaCode"] and c["used"] is None else c["used"]
        rows.append((c["name"], c["quotaCode"], value, used, c["needed"], c["verdict"]))
    p("\n".join(table(rows, right={2, 3, 4})))
    if any(c["assumed"] for c in doc["checks"]):
        p("  * assumed: AWS's default, where Service Quotas gave no value (permissions, or a quota it does not know)")
    for verdict, title in (("short", "shortfall"), ("warn", "warning")):
        found = [c for c in doc["checks"] if c["verdict"] == verdict]
        if found:
            p()
            p(f"{len(found)} {title}(s):")
            for c in found:
                p(f"  - {c['message'] if c['quotaCode'] else c['name'] + ': ' + c['message']}")
                if c["request"]:
                    p(f"      {c['request']}")
    p()
    held = doc["accountHolds"]
    if held["labs"] is None:
        p("No quota was read from the account (all assumed): how many labs it holds is not known.")
    else:
        p(f"Read from the account, it holds {held['labs']} such lab(s) at once (bound by "
          f"{', '.join(held['limitedBy'])}); labs of this class already up count as the class's own.")
    p(f"maxParallel {doc['maxParallel']}: ./lab class up and the class workflow build that many at once.")
    p("The account holds the class" + (" (see the warnings)." if doc["holds"] and any(
        c["verdict"] == "warn" for c in doc["checks"]) else "." if doc["holds"] else
        f" NOT: {sum(c['verdict'] == 'short' for c in doc['checks'])} shortfall(s) above."))

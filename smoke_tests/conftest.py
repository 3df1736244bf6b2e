"""Smoke tests of a deployed lab, driven only by its stack outputs.

    pytest smoke_tests --outputs outputs.json      # as printed by `pulumi stack output --json --show-secrets`
    pytest smoke_tests --stack dev                 # runs that command itself

The outputs are loaded and checked in pytest_configure, so a bad file stops
the run with the key path at fault. One session fixture probes every selected
entry point concurrently, once; the parametrized tests judge its results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
from pathlib import Path

import pytest

from smoke_tests import cluster, html_report, summary
from smoke_tests.outputs import Contract, ContractError, load_file, load_stack, parse_contract
from smoke_tests.probes import Settings, probe_all

CONTRACT = pytest.StashKey[Contract]()
SELECTED = pytest.StashKey[list]()
RESULTS = pytest.StashKey[tuple]()
INTERNAL_SKIP = pytest.StashKey[str]()
INTERNAL = pytest.StashKey[dict]()
STARTED = pytest.StashKey[dt.datetime]()
INTERNAL_TESTS = "test_internal.py"


def pytest_addoption(parser):
    g = parser.getgroup("smoke", "EKS lab smoke tests")
    g.addoption("--outputs", metavar="FILE", help="stack outputs JSON (pulumi stack output --json --show-secrets)")
    g.addoption("--stack", metavar="NAME", help="read the outputs of this Pulumi stack (needs the pulumi CLI)")
    g.addoption("--node-address", metavar="ADDR",
                help="public node address for nodePort entry points (default: ExternalIP of the "
                     "nodegroup=public node, from the kubeconfig output)")
    g.addoption("--deadline", type=float, default=600.0, metavar="SECONDS",
                help="how long each entry point may take to become ready (default 600)")
    g.addoption("--only", action="append", default=[], metavar="NAME",
                help="probe only this entry point (repeatable)")
    # Hidden knobs for the local replica and the benchmark.
    g.addoption("--sequential", action="store_true", help=argparse.SUPPRESS)
    g.addoption("--backoff-initial", type=float, default=1.0, help=argparse.SUPPRESS)
    g.addoption("--backoff-cap", type=float, default=15.0, help=argparse.SUPPRESS)
    g.addoption("--request-timeout", type=float, default=10.0, help=argparse.SUPPRESS)
    g.addoption("--report-json", metavar="FILE", help=argparse.SUPPRESS)


def _smoke_options_present(config) -> bool:
    # pytest_addoption only runs for initial conftests; elsewhere these options do not exist.
    return hasattr(config.option, "outputs")


def pytest_configure(config):
    if not _smoke_options_present(config) or config.option.help or config.option.version:
        return
    outputs, stack = config.option.outputs, config.option.stack
    if not outputs and not stack:
        raise pytest.UsageError("smoke tests need the lab's outputs: --outputs FILE or --stack NAME")
    try:
        data = load_file(outputs) if outputs else load_stack(stack)
        contract = parse_contract(data)
    except ContractError as err:
        raise pytest.UsageError(f"bad stack outputs: {err}") from None
    unknown = [n for n in config.option.only if n not in contract.entrypoints]
    if unknown:
        raise pytest.UsageError(f"--only {', '.join(unknown)}: no such entry point; "
                                f"expected one of {', '.join(contract.entrypoints)}")
    config.stash[CONTRACT] = contract
    config.stash[SELECTED] = config.option.only or list(contract.entrypoints)
    config.stash[STARTED] = dt.datetime.now(dt.timezone.utc)
    config.stash[INTERNAL] = {}
    config.pluginmanager.register(SmokeReport(config), "lab-smoke-report")


def pytest_generate_tests(metafunc):
    contract = metafunc.config.stash.get(CONTRACT, None)
    names = metafunc.config.stash.get(SELECTED, [])
    eps = [contract.entrypoints[n] for n in names] if contract else []
    if "route_case" in metafunc.fixturenames:
        cases = [(ep, r) for ep in eps for r in ep.routes]
        metafunc.parametrize("route_case", cases, ids=[f"{ep.name}:{r.label}" for ep, r in cases])
    if "not_found_case" in metafunc.fixturenames:
        cases = [(ep, nf) for ep in eps for nf in ep.not_found]
        metafunc.parametrize("not_found_case", cases, ids=[f"{ep.name}:notFound:{nf.label}" for ep, nf in cases])
    if "redirect_case" in metafunc.fixturenames:
        cases = [ep for ep in eps if ep.redirects_to_https]
        metafunc.parametrize("redirect_case", cases, ids=[f"{ep.name}:redirect" for ep in cases])


@pytest.fixture(scope="session")
def contract(pytestconfig) -> Contract:
    found = pytestconfig.stash.get(CONTRACT, None)
    if found is None:
        pytest.skip("smoke tests need --outputs FILE or --stack NAME (run `pytest smoke_tests ...`)")
    return found


@pytest.fixture(scope="session")
def core_api(contract, pytestconfig):
    """A Kubernetes API client, or None with the reason kept for the summary."""
    api, why = cluster.core_api_e(contract.kubeconfig)
    if api is None:
        pytestconfig.stash[INTERNAL_SKIP] = why
    return api, why


def _settings(config, contract: Contract, core_api_factory) -> Settings:
    o = config.option
    address, address_error = o.node_address, None
    needs_node = any(contract.entrypoints[n].node_port for n in config.stash[SELECTED])
    if needs_node and not address:
        api, why = core_api_factory()
        address, address_error = cluster.public_node_address_e(api) if api else (None, why)
    return Settings(deadline_s=o.deadline, backoff_initial_s=o.backoff_initial, backoff_cap_s=o.backoff_cap,
                    request_timeout_s=o.request_timeout, node_address=address,
                    node_address_error=address_error, sequential=o.sequential)


@pytest.fixture(scope="session")
def smoke_results(contract, pytestconfig, request):
    """Probe every selected entry point once (concurrently); tests judge the stored results."""
    settings = _settings(pytestconfig, contract, lambda: request.getfixturevalue("core_api"))
    results, total = probe_all(contract, pytestconfig.stash[SELECTED], settings)
    pytestconfig.stash[RESULTS] = (results, total, "sequential" if settings.sequential else "concurrent")
    return results


@pytest.fixture
def judge_or_fail():
    def check(problems: list[str]) -> None:
        if problems:
            pytest.fail("\n".join(problems), pytrace=False)
    return check


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    found = config.stash.get(RESULTS, None)
    if found is not None:
        results, total, mode = found
        terminalreporter.write_sep("=", "smoke summary")
        for line in summary.render(results, total, mode):
            terminalreporter.write_line(line)
        if config.option.report_json:
            with open(config.option.report_json, "w") as fh:
                json.dump(summary.report(results, total, mode), fh, indent=2)
    why = config.stash.get(INTERNAL_SKIP, None)
    if why:
        terminalreporter.write_line(f"in-cluster checks SKIPPED: {why}")


@pytest.hookimpl(tryfirst=True)
def pytest_unconfigure(config):
    # pytest's own last act is a full garbage collection (its unraisableexception plugin), which
    # walks every object of the run's threads and replies (~0.2 s): the process exits next.
    gc.freeze()


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(prefix, summary, postfix, session):
    """With pytest-html (`./lab smoke` asks for it): a row per check, with bars per pod."""
    found = session.config.stash.get(RESULTS, None)
    contract = session.config.stash.get(CONTRACT, None)
    if found is not None and contract is not None:
        internal = list(session.config.stash.get(INTERNAL, {}).values())
        postfix.append(html_report.section(found[0], contract, internal))


class SmokeReport:
    """What the HTML report needs from hooks that get no config: the title, the in-cluster outcomes."""

    def __init__(self, config):
        self.config = config

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_report_title(self, report):
        report.title = title(self.config)

    def pytest_runtest_logreport(self, report):
        """Keep each in-cluster check's outcome (a skip comes at setup, from the `core` fixture)."""
        if Path(report.location[0]).name != INTERNAL_TESTS or (report.when != "call" and report.passed):
            return
        name = report.location[2].removeprefix("test_").replace("_", " ")
        if report.skipped:
            message = report.longrepr[2].removeprefix("Skipped: ") if isinstance(report.longrepr, tuple) else ""
        elif report.failed:  # the test's own message (pytest.fail), or the error's line, not a traceback
            crash = getattr(report.longrepr, "reprcrash", None)
            message = crash.message.removeprefix("Failed: ") if crash else report.longreprtext.strip()
        else:
            message = ""
        self.config.stash[INTERNAL].setdefault(name, html_report.InternalCheck(name, report.outcome, message))


def title(config) -> str:
    o = config.option  # the outputs file wins over the stack, as in pytest_configure
    source = f"outputs {Path(o.outputs).name}" if o.outputs else f"stack {o.stack}"
    return html_report.title(config.stash[CONTRACT], source, config.stash[STARTED])

"""Do the AWS credentials work? Told apart: none found, refused by AWS, AWS not reached.

`./lab up` and `./lab destroy` ask the AWS CLI (a prerequisite already) before the
virtualenv exists, so this module needs only the standard library there (`python3 -m
labtools credentials`); sweep and audit ask boto3 after parsing their arguments. Both
say the same thing for the same failure: the AWS CLI prints botocore's messages.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass

# botocore.exceptions: EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError,
# ProxyConnectionError, SSLError, ConnectionClosedError.
NETWORK = ("Could not connect to the endpoint URL", "Connect timeout on endpoint URL", "Read timeout on endpoint URL",
           "Failed to connect to proxy URL", "SSL validation failed", "Connection was closed before we received")
MISSING = ("Unable to locate credentials", "could not be found", "Partial credentials found")
# STS's error codes for bad keys and tokens, and botocore's for an expired SSO session.
REFUSED = ("InvalidClientTokenId", "ExpiredToken", "SignatureDoesNotMatch", "UnrecognizedClientException",
           "AccessDenied", "SSO session associated with this profile", "Error loading SSO Token",
           "Error when retrieving token from sso", "Error when retrieving credentials from")
CLI_ARGS = ["sts", "get-caller-identity", "--output", "json", "--cli-connect-timeout", "10"]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str  # who we are, or what is wrong and what to do


def judge_error(text: str) -> Verdict:
    """The verdict on an error message of the AWS CLI or botocore."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    detail = lines[-1] if lines else "no message"
    if any(s in text for s in NETWORK):
        return Verdict(False, f"could not reach AWS to check the credentials ({detail}): check the network, a "
                              "proxy (HTTPS_PROXY) or AWS_ENDPOINT_URL; the credentials themselves were not checked")
    if any(s in text for s in REFUSED):
        return Verdict(False, f"AWS refused the credentials ({detail}): renew them (aws sso login, or new access "
                              "keys) or choose another AWS_PROFILE")
    if any(s in text for s in MISSING):
        return Verdict(False, f"no AWS credentials found ({detail}): set AWS_PROFILE (after `aws configure` or "
                              "`aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    return Verdict(False, f"could not check the AWS credentials: {detail}")


def who(identity: dict) -> Verdict:
    return Verdict(True, f"AWS account {identity['Account']} as {identity['Arn']}")


def judge_cli(returncode: int, stdout: str, stderr: str) -> Verdict:
    """The verdict on `aws sts get-caller-identity --output json`."""
    if returncode == 0:
        try:
            return who(json.loads(stdout))
        except (ValueError, KeyError, TypeError):
            return Verdict(False, f"could not check the AWS credentials: unexpected reply {stdout.strip()[:200]!r}")
    return judge_error(stderr or stdout)


def check_cli(aws: str = "aws") -> Verdict:
    try:
        done = subprocess.run([aws, *CLI_ARGS], capture_output=True, text=True, timeout=120, env={**os.environ, "AWS_PAGER": ""})
    except FileNotFoundError:
        return Verdict(False, "the AWS CLI is not installed")
    except subprocess.TimeoutExpired:
        return judge_error("Read timeout on endpoint URL: aws sts get-caller-identity took over 120 s")
    return judge_cli(done.returncode, done.stdout, done.stderr)


def check_boto(region: str) -> Verdict:
    from botocore.exceptions import BotoCoreError, ClientError

    from labtools.aws import shared_session

    try:
        return who(shared_session(region).client("sts").get_caller_identity())
    except (BotoCoreError, ClientError) as err:
        return judge_error(str(err))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # The one ./lab checked the version of: a python3 of pyenv puts its own bin first on PATH.
    parser.add_argument("--aws", default="aws", metavar="PATH", help="the AWS CLI to ask (default: aws on PATH)")


def run(args: argparse.Namespace) -> int:
    """Check the AWS credentials with the AWS CLI: exit 0 and who we are, or 1 and what is wrong."""
    verdict = check_cli(args.aws)
    print(verdict.message, file=sys.stdout if verdict.ok else sys.stderr)
    return 0 if verdict.ok else 1

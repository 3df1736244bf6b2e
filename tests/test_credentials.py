"""Credentials: none, refused and unreachable are three different messages, built from the
texts botocore (and so the AWS CLI) prints; sweep and audit check them after their arguments."""

import json

import pytest
from botocore import exceptions as bx

from labtools import credentials
from labtools.__main__ import main


def client_error(code: str) -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": code, "Message": "nope"}}, "GetCallerIdentity")


CASES = [
    (bx.EndpointConnectionError(endpoint_url="https://sts.amazonaws.com/"), "could not reach AWS to check the credentials"),
    (bx.ConnectTimeoutError(endpoint_url="https://sts.us-east-1.amazonaws.com/"), "could not reach AWS to check the credentials"),
    (bx.ReadTimeoutError(endpoint_url="https://sts.amazonaws.com/"), "could not reach AWS to check the credentials"),
    (bx.ProxyConnectionError(proxy_url="http://proxy:3128", error="refused"), "could not reach AWS to check the credentials"),
    (bx.SSLError(endpoint_url="https://sts.amazonaws.com/", error="self-signed"), "could not reach AWS to check the credentials"),
    (bx.NoCredentialsError(), "no AWS credentials found"),
    (bx.ProfileNotFound(profile="lab"), "no AWS credentials found"),
    (bx.PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"), "no AWS credentials found"),
    (client_error("InvalidClientTokenId"), "AWS refused the credentials"),
    (client_error("ExpiredToken"), "AWS refused the credentials"),
    (client_error("SignatureDoesNotMatch"), "AWS refused the credentials"),
    (bx.UnauthorizedSSOTokenError(), "AWS refused the credentials"),
]


@pytest.mark.parametrize("error, start", CASES, ids=[type(e).__name__ for e, _ in CASES])
def test_each_failure_is_told_apart(error, start):
    verdict = credentials.judge_error(str(error))
    assert not verdict.ok and verdict.message.startswith(f"{start} ({error})"), verdict.message


def test_the_cli_reply_names_the_account():
    reply = json.dumps({"UserId": "AIDA", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:user/me"})
    assert credentials.judge_cli(0, reply, "") == credentials.Verdict(
        True, "AWS account 123456789012 as arn:aws:iam::123456789012:user/me")
    assert not credentials.judge_cli(0, "aws-cli/2.15.0", "").ok
    assert credentials.judge_cli(255, "", "\nCould not connect to the endpoint URL: \"https://x/\"\n").message \
        .startswith('could not reach AWS to check the credentials (Could not connect to the endpoint URL: "https://x/")')


@pytest.mark.parametrize("argv, flag", [(["sweep", "--region", "us-east-1"], "--cluster"),
                                        (["audit", "--region", "us-east-1"], "--cluster"),
                                        (["audit", "--expired", "--cluster", "eks-test", "--region", "us-east-1"],
                                         "--cluster"),
                                        (["audit", "--expired"], "--region")])
def test_arguments_are_checked_before_credentials(monkeypatch, capsys, argv, flag):
    monkeypatch.setattr(credentials, "check_boto", lambda region: pytest.fail("credentials checked first"))
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2 and flag in capsys.readouterr().err


def test_bad_credentials_stop_sweep_before_any_work(monkeypatch, capsys):
    monkeypatch.setattr(credentials, "check_boto", lambda region: credentials.judge_error(str(bx.NoCredentialsError())))
    monkeypatch.setattr("labtools.sweep.Clients.for_region", lambda region: pytest.fail("went on"))
    assert main(["sweep", "--cluster", "eks-test", "--region", "us-east-1"]) == 2
    assert capsys.readouterr().err.startswith("sweep: no AWS credentials found (Unable to locate credentials)")


def test_the_front_doors_check_needs_only_the_standard_library():
    # ./lab runs it with the system python3, before the virtualenv exists (-S: no site-packages).
    import subprocess
    import sys
    from pathlib import Path
    done = subprocess.run([sys.executable, "-S", "-c", "import labtools.__main__, labtools.credentials"],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr

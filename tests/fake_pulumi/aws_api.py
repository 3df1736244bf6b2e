"""The few AWS calls the fake CLI makes, sent to the tests' moto server as plain HTTP.

boto3 with an EC2 client costs about half a second of CPU to load, in every `destroy`; these
calls need neither its models nor its retries. moto takes the service and region from the
request's SigV4 credential scope (moto_server/werkzeug_app.py, infer_service_region_host) and
checks no signature. Errors come back as AWS words them: EC2's XML <Error>, EKS's JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

EC2_VERSION = "2016-11-15"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # moto is local: no proxy


class ApiError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code, self.message = code, message


def _endpoint() -> str:
    url = os.environ.get("AWS_ENDPOINT_URL")
    if not url:
        raise SystemExit("error: (the fake) AWS calls go to moto: AWS_ENDPOINT_URL is not set")
    return url.rstrip("/")


def _send(service: str, region: str | None, method: str, path: str, body: bytes | None,
          content_type: str) -> tuple[int, dict[str, str], bytes]:
    key = os.environ.get("AWS_ACCESS_KEY_ID") or "testing"
    # No region given: the environment's, as boto3 would take it.
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    day = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d")
    headers = {"Authorization": f"AWS4-HMAC-SHA256 Credential={key}/{day}/{region}/{service}/aws4_request, "
                                "SignedHeaders=host, Signature=0", "Content-Type": content_type}
    request = urllib.request.Request(_endpoint() + path, data=body, method=method, headers=headers)
    try:
        with _OPENER.open(request, timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def _flatten(params: dict, prefix: str = "") -> dict[str, str]:
    """EC2's query form: Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-..."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, list):
            for i, item in enumerate(value, start=1):
                flat.update(_flatten(item, f"{name}.{i}.") if isinstance(item, dict) else {f"{name}.{i}": str(item)})
        else:
            flat[name] = str(value)
    return flat


def ec2(region: str | None, action: str, **params) -> ET.Element:
    """An EC2 Query API call: its response document, or ApiError."""
    form = urllib.parse.urlencode({"Action": action, "Version": EC2_VERSION, **_flatten(params)}).encode()
    status, _, body = _send("ec2", region, "POST", "/", form, "application/x-www-form-urlencoded")
    root = ET.fromstring(body)
    error = root.find(".//{*}Error") if root.tag.split("}")[-1] == "Response" else None
    if status >= 400 or error is not None:
        raise ApiError(field(error, "Code") or str(status), field(error, "Message") or body.decode(errors="replace"))
    return root


def items(root: ET.Element, collection: str) -> list[ET.Element]:
    """The <item>s of a Describe* response's set (subnetSet, networkInterfaceSet, ...)."""
    found = root.find(f"{{*}}{collection}")
    return [] if found is None else list(found.findall("{*}item"))


def field(element: ET.Element | None, tag: str) -> str:
    """The text of an element's child (EC2's XML has a namespace per API version), "" if none."""
    found = None if element is None else element.find(f"{{*}}{tag}")
    return "" if found is None or found.text is None else found.text


def eks(region: str | None, method: str, path: str) -> dict:
    """An EKS REST call: its JSON answer, or ApiError (its type from x-amzn-ErrorType, as botocore
    reads a REST-JSON error, else the body's __type)."""
    status, headers, body = _send("eks", region, method, path, None, "application/json")
    data = json.loads(body or b"{}")
    if status >= 400:
        kind = {k.lower(): v for k, v in headers.items()}.get("x-amzn-errortype") or data.get("__type") or status
        code = str(kind).split(":")[0].split("#")[-1]
        raise ApiError(code, str(data.get("message") or data.get("Message") or ""))
    return data

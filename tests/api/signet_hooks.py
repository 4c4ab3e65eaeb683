"""Schemathesis hooks for Signet's OpenAPI property test (crates/signet-cli/tests/openapi_fuzz.rs).

Loaded through SCHEMATHESIS_HOOKS by that test, which starts `signet serve` on a loopback port,
prepares an account with an open order and a picked-up certificate, and passes them in:

  SIGNET_FUZZ_TOKEN          a subscriber's session token (`Authorization: Bearer …`)
  SIGNET_FUZZ_LOGOUT_TOKEN   a second session of that subscriber, the one DELETE /api/v1/sessions
                             ends (ending the first would turn every later request into a 401)
  SIGNET_FUZZ_STAFF_TOKEN    a vetting officer's session, for the operations only staff may use
  SIGNET_FUZZ_ORDERS         order numbers of that subscriber, comma-separated
  SIGNET_FUZZ_SERIAL         the serial of the subscriber's certificate
  SIGNET_FUZZ_DOCUMENT       the id of a document uploaded to the first of those orders

What it adds to schemathesis:
  - the `problem_document` check: every 4xx/5xx is an RFC 9457 problem document;
  - the session tokens above, per operation;
  - path parameters that sometimes name the real order, certificate or document, so that
    generated requests get past "not found" into the handlers' real work;
  - a guard that refuses to send anything to a host other than the loopback server.
"""

import ipaddress
import json
import os
from urllib.parse import urlsplit

import requests.adapters
import schemathesis
from hypothesis import strategies as st

PROBLEM_JSON = "application/problem+json"


# --- Loopback only ----------------------------------------------------------------------------
# The test passes `--url http://127.0.0.1:PORT` and `--max-redirects 0`; this makes sure that no
# request (a server entry in the document, a link, a redirect) ever leaves the machine.
def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


_send = requests.adapters.HTTPAdapter.send


def _loopback_only_send(self, request, *args, **kwargs):
    host = urlsplit(request.url).hostname or ""
    if not _is_loopback(host):
        raise requests.exceptions.ConnectionError(
            f"refused by tests/api/signet_hooks.py: {request.url} is not on the loopback interface"
        )
    return _send(self, request, *args, **kwargs)


requests.adapters.HTTPAdapter.send = _loopback_only_send


# --- Errors are problem documents -------------------------------------------------------------
@schemathesis.check
def problem_document(ctx, response, case):
    """Every error (4xx, 5xx) is an RFC 9457 problem document: Content-Type
    application/problem+json, a JSON object whose `status` is the response's status code and
    whose `detail` is a non-empty string."""
    if response.status_code < 400:
        return None
    content_types = response.headers.get("content-type") or []
    media_type = content_types[0].split(";")[0].strip().lower() if content_types else ""
    if media_type != PROBLEM_JSON:
        raise AssertionError(
            f"{response.status_code} answered with Content-Type `{media_type or '(none)'}`, "
            f"not {PROBLEM_JSON}; body: {response.content[:300]!r}"
        )
    try:
        doc = json.loads(response.content)
    except ValueError as e:
        raise AssertionError(
            f"the problem document is not JSON ({e}): {response.content[:300]!r}"
        ) from None
    if not isinstance(doc, dict):
        raise AssertionError(f"the problem document is not a JSON object: {doc!r}")
    if doc.get("status") != response.status_code:
        raise AssertionError(
            f"problem `status` is {doc.get('status')!r}, the response's is {response.status_code}"
        )
    if not isinstance(doc.get("detail"), str) or not doc["detail"].strip():
        raise AssertionError(f"problem `detail` is missing or empty: {doc!r}")
    return None


# --- Sessions ---------------------------------------------------------------------------------
# Operations a subscriber is always refused (403): run them as the vetting officer instead, so
# that their input handling is exercised too. (Refusals of other roles are covered elsewhere.)
STAFF_PATH_SUFFIXES = ("/vetting/queue", "/decision", "/fingerprint-check")


@schemathesis.auth(refresh_interval=None)
class SessionToken:
    """The bearer token for an operation: the subscriber's, a vetting officer's for staff-only
    operations, and a session of its own for the log-out."""

    def get(self, case, ctx):
        method = case.method.upper()
        if method == "DELETE" and case.path == "/api/v1/sessions":
            return os.environ["SIGNET_FUZZ_LOGOUT_TOKEN"]
        if case.path.endswith(STAFF_PATH_SUFFIXES):
            return os.environ["SIGNET_FUZZ_STAFF_TOKEN"]
        return os.environ["SIGNET_FUZZ_TOKEN"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


# --- Path parameters that name real objects ---------------------------------------------------
def _known_values():
    def listed(name):
        return [v for v in os.environ.get(name, "").split(",") if v]

    known = {
        "number": listed("SIGNET_FUZZ_ORDERS"),
        "serial": listed("SIGNET_FUZZ_SERIAL"),
        "id": [int(v) for v in listed("SIGNET_FUZZ_DOCUMENT")],
        "file": ["certificate.pem", "certificate.der", "public-key.pem"],
    }
    return {k: v for k, v in known.items() if v}


KNOWN = _known_values()


@schemathesis.hook
def flatmap_path_parameters(context, path_parameters):
    """Keep the generated value of each path parameter, or put a real one in its place."""
    if not path_parameters or not any(name in KNOWN for name in path_parameters):
        return st.just(path_parameters)
    return st.fixed_dictionaries(
        {
            name: st.sampled_from([value, *KNOWN[name]]) if name in KNOWN else st.just(value)
            for name, value in path_parameters.items()
        }
    )

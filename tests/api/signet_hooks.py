"""Schemathesis hooks for Signet's OpenAPI property test (crates/signet-cli/tests/openapi_fuzz.rs).

Loaded through SCHEMATHESIS_HOOKS. The test sets:
  SIGNET_FUZZ_TOKEN         a subscriber's session token, sent as `Authorization: Bearer …`
  SIGNET_FUZZ_LOGOUT_TOKEN  a second session of that subscriber, spent by DELETE /api/v1/sessions
                            (otherwise the first log-out would end the session every other
                            operation runs with)
"""

import json
import os

import schemathesis

PROBLEM_JSON = "application/problem+json"


@schemathesis.check
def problem_document(ctx, response, case):
    """Every error (4xx, 5xx) is an RFC 9457 problem document: Content-Type
    application/problem+json, a JSON object whose `status` is the response's status and whose
    `detail` is a non-empty string."""
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
        raise AssertionError(f"the problem document is not JSON ({e}): {response.content[:300]!r}")
    if not isinstance(doc, dict):
        raise AssertionError(f"the problem document is not a JSON object: {doc!r}")
    if doc.get("status") != response.status_code:
        raise AssertionError(
            f"problem `status` is {doc.get('status')!r}, the response's is {response.status_code}"
        )
    if not isinstance(doc.get("detail"), str) or not doc["detail"].strip():
        raise AssertionError(f"problem `detail` is missing or empty: {doc!r}")
    return None


@schemathesis.auth(refresh_interval=None)
class SessionToken:
    """The subscriber's bearer token; log-outs spend a session of their own."""

    def get(self, case, ctx):
        if case.method.upper() == "DELETE" and case.path == "/api/v1/sessions":
            return os.environ["SIGNET_FUZZ_LOGOUT_TOKEN"]
        return os.environ["SIGNET_FUZZ_TOKEN"]

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"

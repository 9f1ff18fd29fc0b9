"""Schemathesis hooks for the Charter conformance run (loaded through SCHEMATHESIS_HOOKS).

An Idempotency-Key says "this is the same request as before": the API answers a key reused with a
different method, path or body with 422 idempotency_key_reused, as the document says. A generator
that draws keys from the schema reuses them across different requests (the documented example, or
short strings such as "0"), which tests that rule and nothing else. Clients send a new key for each
new request, so each well-formed key is replaced by a fresh one; malformed keys are left as drawn,
so that negative cases still check that the API refuses them with 400.
"""

import os
import re
import uuid

import schemathesis

# The pattern the document gives for the header (packages/server/src/openapi/document.ts).
WELL_FORMED_KEY = re.compile(r'^(?:[!#-~][ -~]{0,254}|"(?:[ !#-\[\]-~]|\\["\\]){1,255}")$')


# The run's own API key (run.sh). The stateful phase finds its id (GET /api-keys, GET
# /api-keys/current) and would revoke, rotate or narrow it like any other key, after which every
# later call is a 401 and proves nothing. A call that would change it goes to a key that does not
# exist instead: the route is still exercised, and answers 404.
OWN_KEY_ID = os.environ.get("CHARTER_KEY_ID")
ABSENT_KEY_ID = "key_00000000000000000000000000"


@schemathesis.hook
def before_call(context, case, kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) and WELL_FORMED_KEY.match(headers[name]):
            headers[name] = str(uuid.uuid4())
    path_parameters = case.path_parameters or {}
    if OWN_KEY_ID and case.method.upper() != "GET" and path_parameters.get("key_id") == OWN_KEY_ID:
        path_parameters["key_id"] = ABSENT_KEY_ID


# For the operations whose schema-valid requests schemathesis.toml lets end in 422: the fields a
# 422 may name, each covered by a rule OpenAPI cannot state. `*` stands for any text (a record's
# field names may contain dots). `cursor` and `sort` count only when the request carried a cursor.
INEXPRESSIBLE_RULES = {
    "GET /modules": ["cursor", "sort"],
    "GET /api-keys": ["cursor", "sort"],
    "GET /access-logs": ["cursor", "sort"],
    # filter[*]: a field the module lacks, or a value not of its type; filter.*: more than 20 values for one field.
    "GET /modules/{module_id}/records": ["cursor", "sort", "filter[*]", "filter.*"],
    "GET /api-keys/{key_id}/usage": ["since"],
    "POST /modules": ["fields.*.name"],
    "PATCH /modules/{module_id}": ["fields", "fields.*.name"],
    "POST /modules/{module_id}/records": ["data.*"],
    "PATCH /modules/{module_id}/records/{record_id}": ["data.*"],
    "POST /api-keys": ["expires_at", "scopes"],
    "PATCH /api-keys/{key_id}": ["expires_at"],
    "GET /webhooks": ["cursor", "sort"],
    "GET /webhooks/{webhook_id}/deliveries": ["cursor", "sort"],
    # url: https on a public address (a literal private, loopback, link-local or metadata address is refused).
    "POST /webhooks": ["url"],
    "PATCH /webhooks/{webhook_id}": ["url"],
}
CURSOR_ONLY = {"cursor", "sort"}


def _matches(field, rule):
    pattern = "^" + re.escape(rule).replace(r"\*", ".*") + "$"
    return re.match(pattern, field, flags=re.DOTALL) is not None


@schemathesis.check
def rejections_follow_documented_rules(ctx, response, case):
    """A schema-valid request refused with 422 must break one of the rules listed above."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    label = f"{case.method.upper()} {case.path}"
    rules = INEXPRESSIBLE_RULES.get(label)
    body = response.json()
    fields = list((body.get("errors") or {}).keys())
    has_cursor = "cursor" in (case.query or {})
    allowed = [rule for rule in (rules or []) if rule not in CURSOR_ONLY or has_cursor]
    offending = [field for field in fields if not any(_matches(field, rule) for rule in allowed)]
    if rules is None or body.get("error") != "validation_failed" or not fields or offending:
        raise AssertionError(
            f"{label} refused a schema-valid request with 422 for {offending or body.get('error')}, "
            "which is not one of the rules the document cannot state: fix the server or the document"
        )
    return None

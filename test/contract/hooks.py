"""The contract fuzz test's allowances (test/contract/schemathesis.toml loads this file).

A schema states what a request must look like; it cannot state what exists, what an earlier request
did or who asks. DECLARED_422 lists the refusals of schema-valid requests that depend on that alone,
each a 422 with its own `code`, documented on its operation. Any other refusal of a schema-valid
request (another code, a 400) is a rule the schema should state, and stays a finding. Besides: a
store's staff not seeing a reservation at another store, and a null the fuzzer itself puts in a path.
"""

import os

import schemathesis
from schemathesis.openapi.checks import EnsureResourceAvailability, RejectedPositiveData

# Whose token the run sends (contract.test.ts runs the fuzzer once per role).
ROLE = os.environ.get("CONTRACT_ROLE")

# On every keyed operation: the key was used by an earlier request with a different body.
KEYED = {"IDEMPOTENCY_KEY_REUSED"}

DECLARED_422 = {
    "POST /reservations": KEYED
    | {
        "UNKNOWN_PRODUCT",  # no product has this id: the body's 404
        "CONTACT_FROM_IDENTITY",  # a customer's name and number come from their token, never the body
        "CUSTOMER_REQUIRED",  # store staff name the walk-in they reserve for (an admin need not)
    },
    "POST /products/{id}/tickets": KEYED,
    "POST /products/{id}/restock": KEYED,
    "POST /reservations/{id}/cancel": KEYED,
    "PATCH /reservations/{id}": KEYED,
    "POST /dev/login": {"UNKNOWN_STORE"},  # no store has this id: the body's 404
}


def _code(response):
    try:
        body = response.json()
    except Exception:
        return None
    return body.get("code") if isinstance(body, dict) else None


@schemathesis.hook
def filter_failure(context, failure, case, response):
    # Store staff see the reservations at their store (api/auth.ts, docs/api.md): one they register
    # for a walk-in is at the store the assignment picks, and at none until it has, so reading it
    # back can be their 404, as any reservation of another store's is.
    if isinstance(failure, EnsureResourceAvailability):
        return not (ROLE == "store" and response.status_code == 404)
    if not isinstance(failure, RejectedPositiveData):
        return True
    # A path parameter that is null was no schema-valid request: schemathesis 4.32.5 follows an
    # inferred link from a list (`items/*/reservationId`) to whichever match it picks, a null
    # among them too, and sends it as the text "None".
    if any(value is None for value in (case.path_parameters or {}).values()):
        return False
    return not (response.status_code == 422 and _code(response) in DECLARED_422.get(case.operation.label, ()))

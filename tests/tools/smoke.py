#!/usr/bin/env python3
"""SCIM smoke test: a short, self-cleaning user lifecycle against any base URL.

Usage: SCIM_URL=https://.../scim/v2 SCIM_TOKEN=scim_... python3 tests/tools/smoke.py
(`make smoke SCIM_URL=... SCIM_TOKEN=...`). Standard library only, so it runs anywhere Python
does: after a deploy in CI, and against the local server in `make test`.

Creates a uniquely named user, finds it by filter, patches it, deactivates it, deletes it, and
checks that it is gone. Prints one line per check; exits non-zero at the first failure, after
trying to delete what it created. Never prints the token.
"""

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid

TIMEOUT_SECONDS = 15


class Failed(Exception):
    pass


def call(base, token, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Authorization", "Bearer " + token)
    req.add_header("Accept", "application/scim+json")
    if data is not None:
        req.add_header("Content-Type", "application/scim+json")
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_SECONDS) as resp:
            raw = resp.read()
            return resp.status, dict(resp.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return e.code, dict(e.headers), parsed


def check(label, condition, detail=""):
    if not condition:
        raise Failed(f"FAIL {label} {detail}".rstrip())
    print(f"ok   {label}")


def run(base, token):
    user_name = f"smoke-{uuid.uuid4()}@example.com"
    created_id = None
    try:
        status, headers, body = call(base, token, "GET", "/ServiceProviderConfig")
        check("GET /ServiceProviderConfig is 200", status == 200, f"(got {status}: {body})")

        status, headers, body = call(base, token, "POST", "/Users", {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": user_name,
            "name": {"givenName": "Smoke", "familyName": "Test"},
            "emails": [{"value": user_name, "type": "work", "primary": True}],
            "active": True,
        })
        check("create user is 201", status == 201, f"(got {status}: {body})")
        created_id = body["id"]
        lower = {k.lower(): v for k, v in headers.items()}
        check("create answers Location and ETag", "location" in lower and "etag" in lower)
        check("create answers application/scim+json", lower.get("content-type", "").startswith("application/scim+json"))

        query = urllib.parse.quote(f'userName eq "{user_name.upper()}"')
        status, _, body = call(base, token, "GET", f"/Users?filter={query}")
        check("filter userName eq (case-insensitive) finds it", status == 200 and body.get("totalResults") == 1
              and body["Resources"][0]["id"] == created_id, f"(got {status}: {body})")

        status, _, body = call(base, token, "PATCH", f"/Users/{created_id}", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "title", "value": "Smoke Tester"}],
        })
        check("patch title is 200", status == 200 and body.get("title") == "Smoke Tester", f"(got {status}: {body})")

        status, _, body = call(base, token, "PATCH", f"/Users/{created_id}", {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": False}}],
        })
        check("deactivate (no-path PATCH) is 200 with active false", status == 200 and body.get("active") is False,
              f"(got {status}: {body})")

        status, _, body = call(base, token, "GET", f"/Users/{created_id}")
        check("deactivated user is still readable", status == 200 and body.get("active") is False, f"(got {status})")

        status, _, _ = call(base, token, "DELETE", f"/Users/{created_id}")
        check("delete is 204", status == 204, f"(got {status})")
        deleted, created_id = created_id, None

        status, _, body = call(base, token, "GET", f"/Users/{deleted}")
        check("deleted user is 404 with a SCIM error", status == 404 and isinstance(body, dict)
              and "urn:ietf:params:scim:api:messages:2.0:Error" in body.get("schemas", []), f"(got {status})")
    finally:
        if created_id is not None:
            call(base, token, "DELETE", f"/Users/{created_id}")
            print(f"cleanup: deleted {created_id}")


def main():
    base = os.environ.get("SCIM_URL", "").rstrip("/")
    token = os.environ.get("SCIM_TOKEN", "")
    if not base or not token:
        print("usage: SCIM_URL=https://host/scim/v2 SCIM_TOKEN=... smoke.py", file=sys.stderr)
        return 2
    print(f"smoke test against {base}")
    try:
        run(base, token)
    except Failed as e:
        print(e)
        return 1
    except (urllib.error.URLError, OSError, KeyError, ValueError) as e:
        print(f"FAIL {type(e).__name__}: {e}")
        return 1
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The HTTP API as OpenAPI 3.1: ``infra/openapi.json``, produced from the code, checked in CI.

Paths, methods, summaries and every response (status, media types, schemas, headers) come
from the intake function's own Powertools resolver (``app.get_openapi_schema``), which
reads them from the route decorators in ``functions/intake/app.py``; the request body of
``POST /api/referrals`` comes from the field table (:mod:`hub.form`), the one home of the
form's fields. Schemathesis fuzzes the handler against this document in ``make test``
(``tests/integration/test_contract.py``) and the local stack in ``make fuzz``.

    python -m cchcc.ops.openapi            # write infra/openapi.json
    python -m cchcc.ops.openapi --check    # exit 1 if it differs from what the code says

The test suite runs the check, so the document cannot drift from the handler or the
template's routes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from cchcc.project import Project

TITLE = "CCHCC hub HTTP API"
# A referral anyone may send (an Ofcom drama number and example.com; LS9 7AB: the CCHCC target area).
EXAMPLE = {
    "name": "Test Resident", "email": "test.resident@example.com", "phone": "07700 900982", "postcode": "LS9 7AB",
    "age": 20, "interests": ["caring"], "consent": "yes", "submission_id": "openapi-example-0001",
}
VERSION = "1"


def _field_schema(field: Any) -> dict[str, Any]:
    if field.kind == "choices":
        return {"type": "array", "items": {"type": "string", "enum": [v for v, _ in field.choices]}}
    if field.kind == "choice":
        return {"type": "string", "enum": [v for v, _ in field.choices]}
    if field.kind == "agree":
        return {"anyOf": [{"type": "string", "enum": ["yes"]}, {"type": "boolean", "enum": [True]}]}
    if field.kind == "whole-number":
        return {"anyOf": [{"type": "integer", "minimum": field.minimum, "maximum": field.maximum},
                          {"type": "string", "description": "digits in any script, e.g. 19 or ١٩"}]}
    if not field.required:
        return {"description": "free text; a value that is not text is ignored"}
    return {"type": "string", **({"maxLength": field.max_length} if field.max_length else {})}


def request_schema() -> dict[str, Any]:
    """The referral form's body: each field of :data:`hub.form.FIELDS`, the hidden ones and the honeypot."""
    from hub import form

    properties: dict[str, Any] = {}
    for field in form.FIELDS:
        properties[field.name] = {**_field_schema(field), "title": field.label}
    for name in form.HIDDEN:
        properties[name] = {"description": "filled in by the page; a malformed value is dropped, never an error"}
    properties[form.HONEYPOT] = {"description": "left empty by people; when bots fill it the answer looks like success"}
    return {
        "type": "object",
        "required": [f.name for f in form.FIELDS if f.required],
        "properties": properties,
        "description": f"At least one of {' or '.join(form.CONTACT)}. Mistakes a person can fix answer 422.",
    }


def _environment(project: Project) -> None:
    """What importing the handler needs; the document does not depend on any of it."""
    os.environ.setdefault("TABLE_NAME", "cchcc-referrals")
    os.environ.setdefault("SITE_ORIGIN", "https://cchcc.example.org")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
    os.environ["CCHCC_PROGRAMME_FILE"] = str(project.programme_file)
    sys.path[:0] = [p for p in (str(project.functions_dir),) if p not in sys.path]


def document(project: Project) -> dict[str, Any]:
    """The OpenAPI document, as the code says it is today."""
    _environment(project)
    from intake.app import app

    doc = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION))
    operation = doc["paths"]["/api/referrals"]["post"]
    body = request_schema()
    operation["requestBody"] = {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": body, "example": {**EXAMPLE, "age": "20"}},
            "application/json": {"schema": body, "example": EXAMPLE},
        },
    }
    # The handler reads ?ref= itself (Powertools declares query parameters only for its own validation).
    doc["paths"]["/thanks/"]["get"]["parameters"] = [{
        "name": "ref", "in": "query", "required": False, "schema": {"type": "string"},
        "description": "The reference the form's 303 carries; shown only when it is a valid one",
    }]
    # Powertools adds its own 422 "Validation Error" (for its request validation, which the
    # intake does not use: its 422 is the form's, declared on the route) and a default 200.
    for method in (op for path in doc["paths"].values() for op in path.values()):
        method["responses"].pop("200", None) if "201" in method["responses"] else None
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        doc.get("components", {}).get("schemas", {}).pop(name, None)
    if not doc.get("components", {}).get("schemas"):
        doc.get("components", {}).pop("schemas", None)
    if not doc.get("components"):
        doc.pop("components", None)
    return doc


def text(project: Project) -> str:
    return json.dumps(document(project), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cchcc.ops.openapi", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if infra/openapi.json is not what the code says")
    args = parser.parse_args(argv)
    project = Project.find(Path.cwd())
    target = project.root / "infra" / "openapi.json"
    wanted = text(project)
    if args.check:
        if not target.exists() or target.read_text(encoding="utf-8") != wanted:
            print(f"{project.relative(target)} is not what the code says: run python -m cchcc.ops.openapi", file=sys.stderr)
            return 1
        return 0
    target.write_text(wanted, encoding="utf-8")
    print(f"wrote {project.relative(target)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

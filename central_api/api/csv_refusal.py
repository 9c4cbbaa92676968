"""A refused CSV import as a 422 problem: every bad line in ``errors`` (``line``, and
``field`` as ``line N: column``), the first one in the detail."""

from __future__ import annotations

from central_api.imports.csvbase import ImportFailed

from .errors import ApiError, problem_type, safe_text

#: bad lines listed in one answer (the detail says how many there were)
MAX_LISTED = 1000


def refused(err: ImportFailed) -> ApiError:
    more = f"; the first {MAX_LISTED} are listed" if len(err.errors) > MAX_LISTED else ""
    return ApiError(
        422,
        f"the CSV has {err.summary()}; nothing was imported (first: "
        f"{safe_text(str(err.errors[0]), 300)}){more}",
        type_=problem_type("invalid-import"),
        errors=[
            {"location": "body", "field": safe_text(f"line {e.line}: {e.column}"),
             "line": e.line, "detail": safe_text(e.detail, 300), "type": "invalid_row"}
            for e in err.errors[:MAX_LISTED]
        ],
    )  # fmt: skip

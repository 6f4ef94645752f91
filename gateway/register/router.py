"""HTTP route for the processing register (art. 15). Thin: parse, call one service function."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from gateway.deps import Tx
from gateway.register import service as register_service
from gateway.register.document import to_markdown
from gateway.schemas import problem_responses

router = APIRouter(prefix="/v1/register", tags=["register"])

_FORMAT = Query(description="`json` (the default) or `markdown` (text/markdown)")


@router.get("", responses={200: {"content": {"application/json": {}, "text/markdown": {}},
                                 "description": "The register"},
                           **problem_responses(400, 401, 403, 422, 503)})
def processing_register(tx: Tx, format: Annotated[Literal["json", "markdown"], _FORMAT] = "json") -> Any:
    """The processing register (covenant art. 15, GDPR art. 30) of the covenant in force: the controller, one
    processing activity per purpose with its stable id (the `activity` of the audit events it served), legal
    basis, data subjects, categories of data and recipients, retention, transfers, security measures.

    The controller's privacy officers and field directors (`reports:read`, purpose `accountability`);
    recorded as `register.export`.
    """
    register = register_service.export_register(tx, purpose=tx.purpose, export_format=format)
    if format == "markdown":
        return Response(to_markdown(register), media_type="text/markdown; charset=utf-8")
    return register

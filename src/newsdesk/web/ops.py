"""Operations routes, without auth: `/healthz` (the process answers), `/readyz` (the archive
can be read, else 503) and `/metrics` (Prometheus text, only to the addresses in
`serve.metrics_allow`: loopback unless configured; others get 404, as if it were not there)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..errors import NewsdeskError
from .context import Desk
from .errors import ApiError, JSONBytes, documented
from .metrics import CONTENT_TYPE
from .schemas import Status

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(values: Sequence[str]) -> list[Network]:
    """`serve.metrics_allow` as networks; a bad entry is a NewsdeskError naming it."""
    out: list[Network] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value, strict=False))
        except ValueError as e:
            raise NewsdeskError(f"serve.metrics_allow: {value!r} is not an address or network") from e
    return out


def allowed(host: str | None, networks: Sequence[Network]) -> bool:
    if host is None:
        return False
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address.version == n.version and address in n for n in networks)


def router(desk: Desk) -> APIRouter:
    ops = APIRouter(tags=["operations"])
    networks = parse_networks(desk.config.serve.metrics_allow)

    @ops.get("/healthz", response_model=Status, summary="The process is alive")
    async def healthz() -> Response:
        return JSONBytes({"status": "ok"})

    @ops.get(
        "/readyz",
        response_model=Status,
        summary="The archive can be read",
        responses=documented(503),
    )
    async def readyz() -> Response:
        def probe() -> None:
            desk.store().max_rev()

        try:
            await desk.run(probe)
        except NewsdeskError as e:
            desk.stores.drop()  # the next probe opens the archive again
            raise ApiError(503, f"the archive cannot be read: {e}", code="not_ready") from e
        problem = desk.hooks.problem() if desk.hooks.problem else None
        if problem is not None:
            raise ApiError(503, problem, code="not_ready")
        return JSONBytes({"status": "ready"})

    @ops.get(
        "/metrics",
        summary="Prometheus metrics (allowed clients only)",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE: {}}}, **documented(404)},
    )
    async def metrics(request: Request) -> Response:
        if not allowed(request.client.host if request.client else None, networks):
            raise ApiError(404, f"no such route: GET {request.url.path}")
        body = await desk.run(desk.metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE)

    return ops

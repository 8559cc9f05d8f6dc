"""The desk's HTTP app (service layer): the JSON API, operations routes and metrics.

    app = create_app(config, metrics=Metrics(), hooks=Hooks(refresh=scheduler.refresh))

Modules: `app` (create_app), `api` and `feeds_api` (routes), `auth` (tokens, sessions),
`errors` (the error envelope), `ops` (/healthz, /readyz, /metrics), `metrics` (the registry and
the `Reporter` the scheduler and publisher report into), `context` (what routes share: the
archive per worker thread), `catalogue` and `searching` (helpers), `schemas` (the models of the
OpenAPI document). `newsdesk.serve` runs it with the scheduler and the publisher.
"""

from __future__ import annotations

from .app import create_app
from .context import Hooks
from .metrics import Metrics, Reporter

__all__ = ["Hooks", "Metrics", "Reporter", "create_app"]

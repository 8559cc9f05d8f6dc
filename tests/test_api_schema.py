"""Schemathesis against the live OpenAPI document of the real `newsdesk serve` process: for
generated requests to every operation, no 5xx, status codes and content types the document
lists, bodies that match its schemas, and auth enforced (a request without credentials is
refused). Examples are few and derandomised (the same cases every run): this guards the
document and the answers agreeing, it is not a fuzzing campaign."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from serve_helpers import ServeProcess, add_user, client, desk_config, poll, rss
from server import FeedServer

# Per operation; $NEWSDESK_SCHEMA_EXAMPLES asks for more (a longer hunt, by hand).
EXAMPLES = int(os.environ.get("NEWSDESK_SCHEMA_EXAMPLES", "6"))


@dataclass
class Live:
    root: str  # http://127.0.0.1:PORT
    api: str
    token: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    tmp = tmp_path_factory.mktemp("schema")
    with FeedServer() as feeds:
        for n in range(2):
            feeds.route(f"/feed{n}.xml", rss(n, 12))
        # Feeds the generated requests add go to this loopback server, never to the network.
        config = desk_config(
            tmp,
            [("金融", "站点", f"源{n}", feeds.url(f"/feed{n}.xml")) for n in range(2)],
            extra=[],
        )
        text = config.read_text(encoding="utf-8").replace(
            "groups:", f"rsshub: ['{feeds.url('')}']\ngroups:", 1
        )
        config.write_text(text, encoding="utf-8")
        _, token = add_user(tmp / "archive.db", "admin", admin=True)
        serve = ServeProcess(config)
        try:
            serve.wait_healthy()
            live = Live(serve.url, f"{serve.url}/api/v1", token)
            with client(live.api, token) as c:
                poll(lambda: len(c.get("/entries").json()["entries"]) == 24, "ingest")
                # The index exists before /search is asked (the scheduler builds it after a batch).
                poll(lambda: c.get("/search", params={"q": "央行"}).status_code == 200, "the search index")
            yield live
        finally:
            serve.kill()
            assert "Traceback" not in serve.log_text(), serve.log_text()


def test_answers_match_the_document(live: Live) -> None:
    # Driven by hand rather than through `schemathesis.pytest.from_fixture`, whose test
    # renaming reaches into pytest internals that pytest 9 no longer has.
    schema = schemathesis.openapi.from_url(f"{live.api}/openapi.json")
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        ignored_auth,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20, [op.label for op in operations]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        )
        def conforms(case: schemathesis.Case) -> None:
            case.call_and_validate(
                base_url=live.root, headers={"Authorization": f"Bearer {live.token}"}, checks=checks
            )

        conforms()

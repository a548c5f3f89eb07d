"""GraphiQL on GET /graphql/ is served from the project's own static files, not a CDN."""

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders

from tests.gql import URL


class _Resources(HTMLParser):
    """The attributes of every <script> and <link> on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "link"}:
            self.found.append(dict(attrs))


def _page(client) -> str:
    response = client.get(URL, HTTP_ACCEPT="text/html")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/html")
    return response.content.decode()


def _resources(html: str) -> list[dict[str, str | None]]:
    parser = _Resources()
    parser.feed(html)
    return parser.found


@pytest.fixture
def graphiql_on(settings):
    settings.GRAPHIQL_ENABLED = True


def test_graphiql_loads_nothing_from_another_host(client, graphiql_on):
    html = _page(client)
    urls = [r.get("src") or r.get("href") for r in _resources(html)]
    urls = [url for url in urls if url is not None]  # the inline script

    assert "GraphiQL" in html
    assert len(urls) == 8  # the icon, 5 scripts, 2 stylesheets
    for url in urls:
        assert url.startswith((settings.STATIC_URL, "/" + settings.STATIC_URL, "data:")), url
    assert not re.search(r"(src|href)=\"(https?:)?//", html)


def test_every_file_the_page_references_exists_and_matches_its_integrity(client, graphiql_on):
    static_prefix = "/" + settings.STATIC_URL.lstrip("/")
    scripts = [r for r in _resources(_page(client)) if "integrity" in r]

    assert len(scripts) == 7
    for resource in scripts:
        url = resource.get("src") or resource["href"]
        path = finders.find(url.removeprefix(static_prefix))
        assert path, url
        with open(path, "rb") as file:
            digest = base64.b64encode(hashlib.sha384(file.read()).digest()).decode()
        assert resource["integrity"] == f"sha384-{digest}", url


def test_graphiql_is_on_by_default_with_debug_only():
    assert settings.DEBUG is False
    assert settings.GRAPHIQL_ENABLED is False


def test_without_graphiql_a_browser_gets_a_json_404(client):
    response = client.get(URL, HTTP_ACCEPT="text/html")

    assert response.status_code == 404
    assert response.json()["errors"][0]["extensions"] == {"code": "not_found"}


def test_a_query_over_get_is_not_graphiql(client, graphiql_on):
    response = client.get(URL, {"query": "{ __typename }"}, HTTP_ACCEPT="text/html")

    assert response.json() == {"data": {"__typename": "Query"}}


def test_the_page_hands_out_the_csrf_cookie_it_sends_back(client, graphiql_on):
    response = client.get(URL, HTTP_ACCEPT="text/html")

    assert response.cookies["csrftoken"].value
    assert 'Cookies.get("csrftoken")' in response.content.decode()

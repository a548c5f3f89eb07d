"""Malformed requests to /graphql/ are a 4xx with a JSON error carrying a code, never a 500 or
an HTML page."""

import json

import pytest
from django.test import Client, RequestFactory

from backoffice.composition.views import server_error
from tests.gql import URL, csrf_pair

ME = "{ me { username } }"


def _invalid(response, status: int = 400) -> str:
    """The message of a request-level refusal, after checking its shape."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["errors"]
    [error] = body["errors"]
    assert error["extensions"] == {"code": "invalid"}
    return error["message"]


def _post(client: Client, body: str | bytes, content_type: str = "application/json"):
    cookie, header = csrf_pair()
    client.cookies["csrftoken"] = cookie
    return client.post(URL, body, content_type=content_type, HTTP_X_CSRFTOKEN=header)


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "body", ["null", "5", '"x"', "true", "[]", "[1]", '[{"query": "{me{id}}"}]']
)
def test_a_body_that_is_not_a_json_object_is_refused(client, body):
    _invalid(_post(client, body))


@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe{}",
        b'{"query": "\xc3("}',
        "\ufeff{}".encode(),  # a byte-order mark
        b"{bad",
        b"",
        b'{"query": "{ me { username } }", "variables": {"a": NaN}}',
        b'{"query": "{ me { username } }", "variables": {"a": Infinity}}',
        b'{"query": "{ me { username } }", "variables": {"a": ' + b"9" * 5000 + b"}}",
    ],
)
def test_bytes_that_are_not_strict_utf8_json_are_refused(client, body):
    _invalid(_post(client, body))


def test_a_string_that_is_not_text_is_refused(client):
    body = '{"query": "{ me { username } }", "variables": {"name": "\\ud800"}}'

    assert "not text" in _invalid(_post(client, body))


@pytest.mark.parametrize("depth", [33, 300, 5000, 100_000])
def test_variables_nested_too_deeply_are_refused(client, depth):
    body = '{"query": "{ me { username } }", "variables": ' + _nested(depth) + "}"

    assert "nested" in _invalid(_post(client, body))


@pytest.mark.parametrize("depth", [1000, 100_000])
def test_any_json_nested_too_deeply_is_refused(client, depth):
    _invalid(_post(client, "[" * depth + "]" * depth))
    _invalid(_post(client, '{"query": ' + "[" * depth + "]" * depth + "}"))


def test_variables_within_the_depth_limit_are_read(client):
    body = json.dumps({"query": ME, "variables": json.loads(_nested(32))})

    response = _post(client, body)

    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}}


@pytest.mark.parametrize(
    "payload",
    [
        {"query": 5},
        {"query": ["{ me { username } }"]},
        {"query": ME, "variables": 5},
        {"query": ME, "variables": "{}"},
        {"query": ME, "variables": []},
        {"query": ME, "extensions": []},
        {"query": ME, "extensions": "x"},
        {"query": ME, "operationName": 5},
        {"query": ME, "operationName": {"a": 1}},
        {"query": ME, "operationName": "Nope"},
        {},
        {"query": None},
    ],
)
def test_fields_of_the_wrong_type_are_refused(client, payload):
    _invalid(_post(client, json.dumps(payload)))


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""],
)
def test_an_unsupported_content_type_is_refused(client, content_type):
    _invalid(_post(client, '{"query": "{ me { username } }"}', content_type))


def test_a_mutation_over_get_is_refused(client):
    response = client.get(
        URL, {"query": 'mutation { apiTokenCreate(input: {name: "x"}) { __typename } }'}
    )

    _invalid(response)


@pytest.mark.parametrize(
    "params",
    [
        {"query": ME, "variables": "{bad"},
        {"query": ME, "variables": "5"},
        {"query": ME, "variables": "[1]"},
        {"query": ME, "variables": _nested(100)},
        {"query": ME, "extensions": "null"},
        {"variables": "{}"},
    ],
)
def test_bad_get_parameters_are_refused(client, params):
    _invalid(client.get(URL, params))


def test_a_query_over_get_still_works(client):
    response = client.get(URL, {"query": ME, "variables": "{}"})

    assert response.status_code == 200
    assert response.json() == {"data": {"me": None}}


def test_other_methods_are_refused_in_json(client):
    cookie, header = csrf_pair()
    client.cookies["csrftoken"] = cookie
    _invalid(client.put(URL, "{}", HTTP_X_CSRFTOKEN=header), status=405)
    _invalid(client.delete(URL, HTTP_X_CSRFTOKEN=header), status=405)


def test_a_body_over_the_upload_limit_is_refused(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"query": ME, "variables": {"pad": "x" * 2000}})

    assert "1000 bytes" in _invalid(_post(client, body), status=413)


@pytest.mark.parametrize(
    "query",
    [
        "{" * 5000,
        "{ me " + "{ username " * 3000 + "}" * 3001,
        "query($a: [[Int]]) { me { username } }",
        "{ orders(filters: {status: {inList: " + "[" * 3000 + "]" * 3000 + "}}) { totalCount } }",
        "{ me { username } } " * 2000,
        "\x00",
    ],
)
def test_hostile_documents_are_graphql_errors_with_a_code(client, query):
    response = _post(client, json.dumps({"query": query}))

    assert response.status_code in {200, 400}, response.content
    errors = response.json()["errors"]
    assert errors
    assert all(e["extensions"]["code"] == "invalid" for e in errors), errors


def test_a_failed_csrf_check_is_a_json_403(client):
    response = client.post(URL, json.dumps({"query": ME}), content_type="application/json")

    assert response.status_code == 403
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "permission_denied"}
    assert "X-CSRFToken" in error["message"]


def test_a_failed_csrf_check_elsewhere_is_still_djangos_page(client):
    response = client.post("/admin/login/", {"username": "x"})

    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_a_form_body_over_the_limit_read_by_the_csrf_check_is_json(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    client.cookies["csrftoken"] = csrf_pair()[0]  # no header: the check reads the form body

    response = client.post(URL, "a=" + "x" * 2000, content_type="application/x-www-form-urlencoded")

    _invalid(response)


def test_the_500_handler_answers_json_on_graphql_only():
    graphql = server_error(RequestFactory().get(URL))
    admin = server_error(RequestFactory().get("/admin/"))

    assert graphql.status_code == admin.status_code == 500
    assert json.loads(graphql.content) == {"errors": [{"message": "Internal server error."}]}
    assert admin["Content-Type"].startswith("text/html")

"""Input nothing downstream can store or decode is refused as bad input (issue 14 items 20, 24).

NUL characters gave 500s from PostgreSQL (`DataError`) wherever a string reached a query; these
tests run on PostgreSQL (REQUIRE_SERVICES=1 makes its absence a failure). Form bodies declaring
latin-1 gave 500s from Django's own error handling, and a multipart body without a boundary a
500 from the API under DEBUG.
"""

from __future__ import annotations

import hashlib
import json

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from accounts.models import ApiToken
from channels_app.models import Message
from tests.announcements.conftest import make_draft, publish
from tests.channels_app.conftest import make_channels
from tests.conftest import enable_mfa
from tests.realtime.helpers import RtClient

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


def anonymous() -> Client:
    return Client(raise_request_exception=False)


def logged_in(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def bearer(user, *scopes: str) -> Client:
    secret = "cmt_" + hashlib.sha256(f"nul{user.pk}".encode()).hexdigest()[:32]
    ApiToken.objects.create(user=user, name="uji", token_hash=ApiToken.hash_secret(secret),
                            hint=secret[:8], scopes=list(scopes))
    return Client(raise_request_exception=False,
                  headers={"Authorization": f"Bearer {secret}"})


def assert_api_refusal(response) -> None:
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid_characters"


def assert_page_refusal(response, text: str = "karakter NUL") -> None:
    assert response.status_code == 400, response.content
    html = response.content.decode()
    assert 'data-code="invalid_characters"' in html and text in html


# --- The two anonymous places -------------------------------------------------------------


def test_a_nul_in_the_verification_code_of_the_api_is_refused(personas):
    assert_api_refusal(anonymous().get("/api/v1/verify/ABCD%00EFGH"))


def test_a_nul_in_the_verification_page_code_is_refused_in_the_readers_language(personas):
    assert_page_refusal(anonymous().get("/v/ABCD%00EFGH-1"))
    english = anonymous().get("/v/ABCD%00EFGH-1", headers={"Accept-Language": "en"})
    assert_page_refusal(english, "NUL character")


# --- Query strings, JSON strings, form fields, path parameters, upload names -----------------


def test_a_nul_in_a_query_string_is_refused(personas):
    member = personas.smg_member
    assert_api_refusal(bearer(member, "read").get("/api/v1/users?q=ab%00c"))
    assert_page_refusal(logged_in(member).get("/direktori/orang/?q=ab%00c"))
    assert_page_refusal(logged_in(member).get("/pengumuman/?penerbit=%00"))


def test_a_nul_in_a_json_string_is_refused_and_nothing_is_written(org, personas):
    thread = make_channels(org, personas).unit_thread
    before = Message.objects.count()
    client = bearer(personas.smg_member, "read", "write")
    url = f"/api/v1/threads/{thread.pk}/messages"
    assert_api_refusal(client.post(url, json.dumps({"body": "rapat\u0000jam 9"}),
                                   content_type="application/json"))
    # In a key or deep in a list as well; an escaped backslash before "u0000" is no NUL.
    assert_api_refusal(client.post(url, json.dumps({"body": "x", "\u0000": [[["\u0000"]]]}),
                                   content_type="application/json"))
    assert Message.objects.count() == before
    fine = client.post(url, json.dumps({"body": "C:\\u0000 bukan NUL"}),
                       content_type="application/json")
    assert fine.status_code == 201, fine.content
    assert Message.objects.get(pk=fine.json()["message"]["id"]).body == "C:\\u0000 bukan NUL"


def test_a_nul_in_a_form_field_is_refused(personas):
    multipart = anonymous().post("/accounts/login/", {"login": "sekda\u0000@x", "password": "x"})
    assert_page_refusal(multipart)
    urlencoded = anonymous().post("/accounts/login/", "login=sekda%00%40x&password=x",
                                  content_type="application/x-www-form-urlencoded")
    assert_page_refusal(urlencoded)
    compose = logged_in(personas.smg_author).post(
        "/pengumuman/baru/", {"issuer": "33.74.DISKOMINFO", "title": "Judul\u0000"})
    assert_page_refusal(compose)


def test_a_nul_in_a_path_parameter_is_refused(personas):
    assert_page_refusal(logged_in(personas.smg_member).get("/direktori/unit/33.74%00/"))
    assert_api_refusal(bearer(personas.smg_member, "read").get("/api/v1/units/33.74%00"))


def test_a_nul_in_a_cookie_is_refused_before_the_session_is_looked_up(personas):
    # A quoted cookie value may spell characters as octal escapes; \\000 is NUL.
    cookie = f'{settings.SESSION_COOKIE_NAME}="abcdefgh\\000ijklmnop"'
    assert_page_refusal(anonymous().get("/pengumuman/", HTTP_COOKIE=cookie))


@pytest.mark.django_db(transaction=True)
def test_a_nul_in_a_websocket_frame_gets_an_error_frame_and_the_socket_stays(
    ws_connect, personas
):
    client = RtClient(ws_connect(personas.smg_member))
    client.ws.send(json.dumps({"type": "ping", "note": "a\u0000b"}))
    answer = client.pump_until(lambda frame: frame.get("type") in {"pong", "error"})
    assert answer["type"] == "error" and answer["code"] == "invalid_characters", answer
    client.ws.send(json.dumps({"type": "ping"}))
    assert client.pump_until(lambda frame: True) == {"type": "pong"}


# --- Undecodable form bodies (item 24) -------------------------------------------------------


def csrf_client() -> tuple[Client, str]:
    client = Client(enforce_csrf_checks=True, raise_request_exception=False)
    assert client.get("/cek").status_code == 200
    return client, client.cookies[settings.CSRF_COOKIE_NAME].value


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("path", ["/cek", "/accounts/login/"])
def test_a_form_declaring_latin_1_is_a_400(path, debug):
    client, token = csrf_client()
    with override_settings(DEBUG=debug):
        response = client.post(path, "text=caf%E9&login=a&password=b",
                               content_type="application/x-www-form-urlencoded; charset=latin-1",
                               headers={"X-CSRFToken": token})
    assert response.status_code == 400, response.content[:300]
    assert 'data-code="invalid_body"' in response.content.decode()


def test_an_api_form_declaring_latin_1_is_a_json_400():
    response = anonymous().post("/api/v1/check", "text=caf%E9",
                                content_type="application/x-www-form-urlencoded; charset=latin-1")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_body"


@pytest.mark.parametrize("boundary", ["", "; boundary=", "; boundary=\u00e9\u00e9"])
def test_multipart_without_a_boundary_is_a_400_with_debug_on(personas, boundary):
    draft = make_draft(personas.smg_author)
    client = bearer(personas.smg_author, "read", "write")
    with override_settings(DEBUG=True):
        response = client.post(f"/api/v1/announcements/{draft.pk}/attachments", b"xx",
                               content_type=f"multipart/form-data{boundary}")
        page = logged_in(personas.smg_author).post(
            f"/pengumuman/{draft.pk}/aksi/attachment/", b"xx",
            content_type=f"multipart/form-data{boundary}")
    assert response.status_code == 400, response.content[:300]
    assert response.json()["error"]["code"] == "invalid_body"
    assert page.status_code == 400, page.content[:300]


def test_a_multipart_body_sent_to_a_json_operation_is_refused_not_a_500(org, personas):
    thread = make_channels(org, personas).unit_thread
    client = bearer(personas.smg_member, "read", "write")
    response = client.post(f"/api/v1/threads/{thread.pk}/messages", {"body": "x"})
    assert response.status_code == 415, response.content
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_ordinary_forms_and_uploads_still_work(personas):
    enable_mfa(personas.smg_signer)
    published = publish(personas.smg_author, personas.smg_signer)
    code = f"{published.verify_code}-1"
    assert anonymous().get(f"/v/{code}").status_code == 200
    assert anonymous().post("/cek", {"text": "", "code": code}).status_code == 200
    draft = make_draft(personas.smg_author)
    upload = bearer(personas.smg_author, "read", "write").post(
        f"/api/v1/announcements/{draft.pk}/attachments",
        {"file": SimpleUploadedFile("surat.pdf", b"%PDF-1.4 uji", "application/pdf")})
    assert upload.status_code == 201, upload.content

"""The public log API: checkpoint, entries, inclusion and consistency proofs, cosignatures."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from announcements.transparency import checkpoints, merkle
from announcements.transparency import services as log_services
from announcements.transparency.models import WitnessCosignature


def unb64(value: str) -> bytes:
    return base64.b64decode(value)


@pytest.fixture
def witness_key(db):
    key = Ed25519PrivateKey.generate()
    log_services.witness_register(
        name="saksi.33.02", operator="Diskominfo Kabupaten Banyumas",
        public_key=base64.b64encode(checkpoints.public_bytes(key)).decode(),
    )
    return key


@pytest.mark.django_db
def test_checkpoint_is_public_and_signed(client, history):
    response = client.get("/api/v1/log/checkpoint")
    assert response.status_code == 200
    data = response.json()
    assert data["tree_size"] == 6
    body, signatures = checkpoints.split_note(data["note"])
    assert checkpoints.parse_checkpoint(body).root == unb64(data["root_hash"])
    assert checkpoints.signed_by(body, signatures, data["log_key"]["name"],
                                 unb64(data["log_key"]["public_key"]))
    assert data["log_key"]["vkey"].startswith("127.0.0.1/log+")


@pytest.mark.django_db
def test_empty_log_has_no_checkpoint(client):
    response = client.get("/api/v1/log/checkpoint")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_entries_inclusion_proofs_verify_against_the_checkpoint(client, history):
    root = unb64(client.get("/api/v1/log/checkpoint").json()["root_hash"])
    entries = client.get("/api/v1/log/entries?start=0&end=100").json()["entries"]
    assert [e["index"] for e in entries] == list(range(6))
    for entry in entries:
        leaf = unb64(entry["leaf"])
        assert "body" not in json.loads(leaf)  # hashes and signatures, never the text
        proof = client.get(f"/api/v1/log/proof/inclusion?index={entry['index']}&size=6").json()
        merkle.verify_inclusion(merkle.leaf_hash(leaf), entry["index"], 6,
                             [unb64(p) for p in proof["inclusion_path"]], root)


@pytest.mark.django_db
def test_consistency_proofs_verify_between_every_pair_of_checkpoints(client, history):
    from announcements.transparency.models import Checkpoint

    roots = {c.tree_size: bytes(c.root_hash) for c in Checkpoint.objects.all()}
    for first in range(1, 7):
        for second in range(first, 7):
            data = client.get(f"/api/v1/log/proof/consistency?from={first}&to={second}").json()
            merkle.verify_consistency(first, second, roots[first], roots[second],
                                   [unb64(p) for p in data["consistency_path"]])


@pytest.mark.django_db
@pytest.mark.parametrize(("url", "status", "code"), [
    ("/api/v1/log/proof/inclusion?index=6&size=6", 400, "invalid_range"),
    ("/api/v1/log/proof/inclusion?index=0&size=7", 404, "not_found"),
    ("/api/v1/log/proof/inclusion?index=-1&size=3", 422, "invalid_input"),
    ("/api/v1/log/proof/inclusion?index=x&size=3", 422, "invalid_input"),
    ("/api/v1/log/proof/consistency?from=5&to=3", 400, "invalid_range"),
    ("/api/v1/log/proof/consistency?from=1&to=99", 404, "not_found"),
    ("/api/v1/log/proof/consistency?from=1", 422, "invalid_input"),
    ("/api/v1/log/entries?start=4&end=2", 400, "invalid_range"),
])
def test_bad_proof_requests_get_clear_errors(client, history, url, status, code):
    response = client.get(url)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


@pytest.mark.django_db
def test_a_registered_witness_cosigns_and_is_shown(client, history, witness_key):
    note = client.get("/api/v1/log/checkpoint").json()["note"]
    body, _ = checkpoints.split_note(note)
    cosigned = checkpoints.assemble(body, [checkpoints.sign(body, "saksi.33.02", witness_key)])
    response = client.post("/api/v1/log/cosignatures", {"note": cosigned},
                           content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == [{"witness": "saksi.33.02", "tree_size": 6}]
    # Posting twice is harmless.
    assert client.post("/api/v1/log/cosignatures", {"note": cosigned},
                       content_type="application/json").status_code == 200
    assert WitnessCosignature.objects.count() == 1
    served = client.get("/api/v1/log/checkpoint").json()
    assert served["witnesses"][0]["cosigned_tree_size"] == 6
    _, signatures = checkpoints.split_note(served["note"])
    assert checkpoints.signed_by(body, signatures, "saksi.33.02",
                                 checkpoints.public_bytes(witness_key))
    page = client.get("/transparansi").content.decode()
    assert "saksi.33.02" in page and "Diskominfo Kabupaten Banyumas" in page


@pytest.mark.django_db
def test_forged_unknown_and_malformed_cosignatures_are_refused(client, history, witness_key):
    note = client.get("/api/v1/log/checkpoint").json()["note"]
    body, _ = checkpoints.split_note(note)
    impostor = Ed25519PrivateKey.generate()
    cases = [
        (checkpoints.assemble(body, [checkpoints.sign(body, "saksi.33.02", impostor)]),
         403, "invalid_cosignature"),
        (checkpoints.assemble(body, [checkpoints.sign(body, "saksi.lain", impostor)]),
         403, "unknown_witness"),
        ("bukan catatan", 400, "invalid_note"),
        (checkpoints.assemble(body.replace("\n6\n", "\n5\n"),
                              [checkpoints.sign(body, "saksi.33.02", witness_key)]),
         404, "not_found"),
    ]
    for posted, status, code in cases:
        response = client.post("/api/v1/log/cosignatures", {"note": posted},
                               content_type="application/json")
        assert response.status_code == status, (code, response.content)
        assert response.json()["error"]["code"] == code
    assert WitnessCosignature.objects.count() == 0

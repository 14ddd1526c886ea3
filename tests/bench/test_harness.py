"""The benchmark harness measures what it claims: its clients verify every delivery (a wrong,
missing or duplicated frame is counted, never timed as a success), the bare floor really
broadcasts, and the bulk-made sessions are real logins the gateway accepts."""

from __future__ import annotations

import json
import time

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from bench import harness
from bench.publish import FloorPublisher, sample_data


@pytest.fixture(params=[1, 2], ids=["one client process", "two client processes"])
def floor_and_client(request):
    # Two processes split the connections and merge their replies (harness.merge_replies): every
    # count below must come out the same as from one process.
    with harness.Server("floor", "-") as floor, harness.LoadClient(request.param) as client:
        targets = [[floor.ws_url, {}] for _ in range(20)]
        connected = client.call("connect", targets=targets, origin=floor.url, timeout=30)
        assert connected["connected"] == 20
        assert client.call("ready", timeout=30)["ready"] == 20
        publisher = FloorPublisher(floor.url, sample_data(""))
        yield client, publisher
        publisher.close()


def test_every_delivery_is_verified_and_counted(floor_and_client):
    client, publisher = floor_and_client
    client.call("watch", marker="bench-ok")
    t0, expected = publisher.publish("bench-ok")
    result = client.call("collect", t0=t0, expected=[expected], timeout=30)
    assert (result["ok"], result["missing"], result["bad"], result["duplicates"]) == (20, 0, 0, 0)
    assert result["latency"]["max_ms"] is not None


def test_send_times_each_connection_reply(floor_and_client):
    client, _ = floor_and_client
    result = client.call("send", frames=['{"type":"ping"}'] * 20, reply_markers=['"pong"'],
                         timeout=30)
    assert (result["sent"], result["answered"]) == (20, 20)
    assert result["per_second"] > 0 and result["latency"]["p99_ms"] is not None
    assert "raw" not in result


def test_send_at_a_rate_spreads_the_frames_over_time(floor_and_client):
    client, _ = floor_and_client
    # 20 frames offered at 100 a second: the last one leaves ~0.19 s after the first, whether
    # one process sends them all or two processes send 10 each at 50 a second.
    result = client.call("send", frames=['{"type":"ping"}'] * 20, reply_markers=['"pong"'],
                         timeout=30, rate=100)
    assert (result["sent"], result["answered"]) == (20, 20)
    assert result["elapsed_s"] >= 0.15


def test_the_cpu_meter_counts_this_process_and_the_machine(floor_and_client):
    client, _ = floor_and_client
    meter = harness.CpuMeter([], client)
    meter.start()
    spin_until = time.process_time() + 0.3
    while time.process_time() < spin_until:
        pass
    used = meter.stop()
    assert used["bench process"] >= 0.25
    assert used["machine"] >= used["bench process"] - 0.05
    assert used["available"] >= used["wall"]


def test_a_frame_with_other_content_is_counted_bad_not_delivered(floor_and_client):
    client, publisher = floor_and_client
    client.call("watch", marker="bench-bad")
    t0, expected = publisher.publish("bench-bad")
    tampered = dict(expected, data=dict(expected["data"], priority="biasa"))
    result = client.call("collect", t0=t0, expected=[tampered], timeout=30)
    assert (result["ok"], result["bad"]) == (0, 20)
    assert result["problems"] == {"data differs": 20}
    assert result["latency"]["p50_ms"] is None


def test_a_frame_with_another_event_id_is_counted_bad(floor_and_client):
    client, publisher = floor_and_client
    client.call("watch", marker="bench-id")
    t0, expected = publisher.publish("bench-id")
    result = client.call("collect", t0=t0, expected=[dict(expected, id=expected["id"] + 1)],
                         timeout=30)
    assert (result["ok"], result["bad"]) == (0, 20)


def test_a_missing_event_is_counted_missing(floor_and_client):
    client, publisher = floor_and_client
    client.call("watch", marker="bench-never")
    _, expected = publisher.frames("bench-never")  # built, never sent
    result = client.call("collect", t0=0.0, expected=[expected], timeout=1)
    assert (result["ok"], result["missing"]) == (0, 20)


def test_a_duplicate_is_counted_once_and_reported(floor_and_client):
    client, publisher = floor_and_client
    client.call("watch", marker="bench-dup")
    text, expected = publisher.frames("bench-dup")
    publisher.control.send(json.dumps({"broadcast": [text, text]}))
    publisher.control.recv(timeout=30)
    result = client.call("collect", t0=0.0, expected=[expected], timeout=30)
    assert (result["ok"], result["duplicates"]) == (20, 20)


@pytest.mark.django_db(transaction=True)
def test_bulk_sessions_are_real_logins_for_the_gateway(asgi_server):
    people = harness.ensure_users(3)
    keys = harness.make_sessions(people)
    assert len(set(keys)) == 3
    for key, person in zip(keys, people, strict=True):
        with connect(asgi_server.ws_url, origin=asgi_server.url, open_timeout=10,
                     additional_headers={"Cookie": f"sessionid={key}"}) as ws:
            hello = json.loads(ws.recv(timeout=10))
            assert hello["type"] == "hello"
            assert hello["user"] == person.id
    # Change the last character to a *different* one: appending a fixed "x" made the
    # forged key equal to the real one whenever the real key already ended in "x".
    last = keys[0][-1]
    forged = keys[0][:-1] + ("y" if last == "x" else "x")
    assert forged != keys[0]
    with pytest.raises(InvalidStatus), connect(
        asgi_server.ws_url, origin=asgi_server.url, open_timeout=10,
        additional_headers={"Cookie": f"sessionid={forged}"},
    ):
        pass


@pytest.mark.django_db
def test_population_and_activation_are_idempotent():
    from accounts.models import Membership, User

    first = harness.ensure_users(10)
    again = harness.ensure_users(10)
    assert [p.id for p in first] == [p.id for p in again]
    assert User.objects.filter(email__endswith="@bench.invalid").count() == 10
    assert Membership.objects.filter(user_id__in=[p.id for p in first]).count() == 10
    harness.set_active_population(4)
    bench = User.objects.filter(email__endswith="@bench.invalid")
    active = bench.filter(is_active=True)
    assert sorted(active.values_list("id", flat=True)) == sorted(p.id for p in first[:4])
    parked = bench.filter(is_active=False)
    assert not parked.filter(home_unit__isnull=False).exists()
    assert not Membership.objects.filter(user__in=parked).exists()
    harness.set_active_population(10)
    assert harness.ensure_users(10) == first  # back in their own home units
    assert Membership.objects.filter(user__in=bench, role="member").count() == 10

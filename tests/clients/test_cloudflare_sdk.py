"""The admin API driven through the official Cloudflare Python SDK.

Run by tests/clients/run, which starts portcullis and sets:
PORTCULLIS_URL, PORTCULLIS_TOKEN (all accounts), PORTCULLIS_ACCOUNT_TOKEN (only
account "acc-a"), PORTCULLIS_READONLY_TOKEN (read-only, "acc-a").
"""

import os
import uuid

import cloudflare
import pytest
from cloudflare import Cloudflare

BASE = os.environ["PORTCULLIS_URL"] + "/client/v4"
TOKEN = os.environ["PORTCULLIS_TOKEN"]
RUN = uuid.uuid4().hex[:8]
ACC = f"acc-{RUN}"
OTHER = f"other-{RUN}"
ZONE = f"zone-{RUN}"


def client(token=TOKEN, retries=0):
    return Cloudflare(api_token=token, base_url=BASE, max_retries=retries)


@pytest.fixture(scope="module")
def cf():
    return client()


def allow_domain(domain="example.com"):
    return [{"email_domain": {"domain": domain}}]


def make_policy(cf, name="p", account=ACC, **kw):
    return cf.zero_trust.access.policies.create(
        account_id=account, name=name, decision="allow", include=allow_domain(), **kw
    )


def test_policy_crud_round_trip(cf):
    p = make_policy(cf, name="Allow staff", session_duration="2h45m")
    assert p.id and p.reusable is True and p.app_count == 0
    assert p.created_at is not None
    got = cf.zero_trust.access.policies.get(p.id, account_id=ACC)
    assert got.name == "Allow staff" and got.session_duration == "2h45m"
    up = cf.zero_trust.access.policies.update(
        p.id, account_id=ACC, name="Renamed", decision="deny", include=[{"everyone": {}}]
    )
    assert up.name == "Renamed" and up.decision == "deny"
    assert up.session_duration is None  # PUT replaces the whole policy
    cf.zero_trust.access.policies.delete(p.id, account_id=ACC)
    with pytest.raises(cloudflare.NotFoundError):
        cf.zero_trust.access.policies.get(p.id, account_id=ACC)


def test_auto_pagination_walks_every_page(cf):
    account = f"pages-{RUN}"
    made = {make_policy(cf, name=f"p{i}", account=account).id for i in range(7)}
    seen = [p.id for p in cf.zero_trust.access.policies.list(account_id=account, per_page=3)]
    assert sorted(seen) == sorted(made)
    assert len(seen) == 7
    first = cf.zero_trust.access.policies.list(account_id=account, per_page=3)
    assert len(first.result) == 3
    assert first.result_info.total_count == 7
    past = cf.zero_trust.access.policies.list(account_id=account, per_page=3, page=99)
    assert past.result == []


def test_validation_error_names_the_field(cf):
    with pytest.raises(cloudflare.BadRequestError) as e:
        cf.zero_trust.access.policies.create(
            account_id=ACC, name="bad", decision="allow", include=[{"ip": {"ip": "10.0.0.300/8"}}]
        )
    assert e.value.status_code == 400
    assert "include[0].ip.ip" in str(e.value)


def test_app_expands_policies_with_precedence(cf):
    reusable = make_policy(cf, name="reusable")
    app = cf.zero_trust.access.applications.create(
        account_id=ACC,
        name="wiki",
        domain=f"wiki-{RUN}.example.com",
        type="self_hosted",
        policies=[
            {"id": reusable.id, "precedence": 2},
            {"name": "scoped", "decision": "deny", "include": [{"everyone": {}}], "precedence": 1},
        ],
    )
    assert len(app.aud) == 64
    got = cf.zero_trust.access.applications.get(app.id, account_id=ACC)
    by_name = {p.name: p for p in got.policies}
    assert by_name["reusable"].precedence == 2
    assert by_name["scoped"].precedence == 1
    listed = list(cf.zero_trust.access.applications.policies.list(app.id, account_id=ACC))
    assert {p.name for p in listed} == {"reusable", "scoped"}
    assert cf.zero_trust.access.policies.get(reusable.id, account_id=ACC).app_count == 1

    # An app-scoped policy with a precedence already taken is refused.
    with pytest.raises(cloudflare.BadRequestError) as e:
        cf.zero_trust.access.applications.policies.create(
            app.id, account_id=ACC, name="clash", decision="allow",
            include=[{"everyone": {}}], precedence=2,
        )
    assert "precedence 2 is already used" in str(e.value)
    added = cf.zero_trust.access.applications.policies.create(
        app.id, account_id=ACC, name="third", decision="allow",
        include=[{"everyone": {}}], precedence=3,
    )
    assert added.precedence == 3
    got = cf.zero_trust.access.applications.policies.get(added.id, app_id=app.id, account_id=ACC)
    assert got.name == "third"
    cf.zero_trust.access.applications.policies.update(
        added.id, app_id=app.id, account_id=ACC, name="third-renamed", decision="allow",
        include=[{"everyone": {}}], precedence=5,
    )
    cf.zero_trust.access.applications.policies.delete(added.id, app_id=app.id, account_id=ACC)

    # Omitting policies on update leaves them; [] clears them.
    cf.zero_trust.access.applications.update(
        app.id, account_id=ACC, name="wiki2", domain=f"wiki-{RUN}.example.com", type="self_hosted"
    )
    assert len(cf.zero_trust.access.applications.get(app.id, account_id=ACC).policies) == 2
    cf.zero_trust.access.applications.update(
        app.id, account_id=ACC, name="wiki2", domain=f"wiki-{RUN}.example.com",
        type="self_hosted", policies=[],
    )
    assert cf.zero_trust.access.applications.get(app.id, account_id=ACC).policies == []
    cf.zero_trust.access.applications.delete(app.id, account_id=ACC)


def test_duplicate_precedence_on_app_is_refused(cf):
    a = make_policy(cf, name="a")
    b = make_policy(cf, name="b")
    with pytest.raises(cloudflare.BadRequestError) as e:
        cf.zero_trust.access.applications.create(
            account_id=ACC, name="dup", domain=f"dup-{RUN}.example.com", type="self_hosted",
            policies=[{"id": a.id, "precedence": 1}, {"id": b.id, "precedence": 1}],
        )
    assert "precedence 1 is already used" in str(e.value)


def test_deleting_a_policy_in_use_is_a_permanent_409(cf):
    p = make_policy(cf, name="in use")
    app = cf.zero_trust.access.applications.create(
        account_id=ACC, name="uses-it", domain=f"uses-{RUN}.example.com", type="self_hosted",
        policies=[p.id],
    )
    c = client(retries=2)
    with pytest.raises(cloudflare.ConflictError) as e:
        c.zero_trust.access.policies.delete(p.id, account_id=ACC)
    assert e.value.response.headers["x-should-retry"] == "false"
    assert "uses-it" in str(e.value)
    cf.zero_trust.access.applications.delete(app.id, account_id=ACC)
    cf.zero_trust.access.policies.delete(p.id, account_id=ACC)


def test_groups_refuse_cycles_and_dangling_references(cf):
    g1 = cf.zero_trust.access.groups.create(account_id=ACC, name="g1", include=allow_domain())
    g2 = cf.zero_trust.access.groups.create(
        account_id=ACC, name="g2", include=[{"group": {"id": g1.id}}]
    )
    with pytest.raises(cloudflare.BadRequestError):
        cf.zero_trust.access.groups.update(
            g1.id, account_id=ACC, name="g1", include=[{"group": {"id": g2.id}}]
        )
    with pytest.raises(cloudflare.BadRequestError):
        cf.zero_trust.access.groups.create(
            account_id=ACC, name="g3", include=[{"group": {"id": "no-such-group"}}]
        )
    assert {g.name for g in cf.zero_trust.access.groups.list(account_id=ACC)} >= {"g1", "g2"}
    with pytest.raises(cloudflare.ConflictError):
        cf.zero_trust.access.groups.delete(g1.id, account_id=ACC)
    cf.zero_trust.access.groups.delete(g2.id, account_id=ACC)
    cf.zero_trust.access.groups.delete(g1.id, account_id=ACC)


def test_service_token_secret_is_shown_once(cf):
    t = cf.zero_trust.access.service_tokens.create(account_id=ACC, name="ci")
    assert t.client_secret and len(t.client_secret) == 64
    assert t.client_id.endswith(".access")
    got = cf.zero_trust.access.service_tokens.get(t.id, account_id=ACC)
    assert getattr(got, "client_secret", None) is None
    for listed in cf.zero_trust.access.service_tokens.list(account_id=ACC):
        assert getattr(listed, "client_secret", None) is None
        assert "client_secret" not in (listed.model_extra or {})
    rotated = cf.zero_trust.access.service_tokens.rotate(t.id, account_id=ACC)
    assert rotated.client_secret and rotated.client_secret != t.client_secret
    refreshed = cf.zero_trust.access.service_tokens.refresh(t.id, account_id=ACC)
    assert refreshed.expires_at is not None
    up = cf.zero_trust.access.service_tokens.update(t.id, account_id=ACC, name="ci-renamed")
    assert up.name == "ci-renamed"
    cf.zero_trust.access.service_tokens.delete(t.id, account_id=ACC)


def test_zero_trust_lists(cf):
    lst = cf.zero_trust.gateway.lists.create(
        account_id=ACC, name="admins", type="EMAIL",
        items=[{"value": f"u{i}@example.com"} for i in range(5)],
    )
    assert lst.count == 5
    assert lst.id in {x.id for x in cf.zero_trust.gateway.lists.list(account_id=ACC)}
    items = [i.value for i in cf.zero_trust.gateway.lists.items.list(lst.id, account_id=ACC, per_page=2)]
    assert len(items) == 5
    edited = cf.zero_trust.gateway.lists.edit(
        lst.id, account_id=ACC, append=[{"value": "new@example.com"}], remove=["u0@example.com"]
    )
    assert edited.count == 5
    with pytest.raises(cloudflare.BadRequestError) as e:
        cf.zero_trust.gateway.lists.edit(lst.id, account_id=ACC, append=[{"value": "not-an-email"}])
    assert "append[0].value" in str(e.value)
    up = cf.zero_trust.gateway.lists.update(lst.id, account_id=ACC, name="admins2")
    assert up.name == "admins2" and up.count == 5
    p = cf.zero_trust.access.policies.create(
        account_id=ACC, name="by list", decision="allow", include=[{"email_list": {"id": lst.id}}]
    )
    with pytest.raises(cloudflare.ConflictError):
        cf.zero_trust.gateway.lists.delete(lst.id, account_id=ACC)
    cf.zero_trust.access.policies.delete(p.id, account_id=ACC)
    cf.zero_trust.gateway.lists.delete(lst.id, account_id=ACC)
    with pytest.raises(cloudflare.NotFoundError):
        cf.zero_trust.gateway.lists.get(lst.id, account_id=ACC)


def test_zone_scope_is_separate_from_accounts(cf):
    app = cf.zero_trust.access.applications.create(
        zone_id=ZONE, name="zone app", domain=f"z-{RUN}.example.com", type="self_hosted"
    )
    assert [a.id for a in cf.zero_trust.access.applications.list(zone_id=ZONE)] == [app.id]
    with pytest.raises(cloudflare.NotFoundError):
        cf.zero_trust.access.applications.get(app.id, account_id=ZONE)
    g = cf.zero_trust.access.groups.create(zone_id=ZONE, name="zg", include=allow_domain())
    assert cf.zero_trust.access.groups.get(g.id, zone_id=ZONE).name == "zg"
    t = cf.zero_trust.access.service_tokens.create(zone_id=ZONE, name="zt")
    assert t.client_secret
    cf.zero_trust.access.applications.delete(app.id, zone_id=ZONE)


def test_other_accounts_see_nothing(cf):
    p = make_policy(cf, name="mine")
    with pytest.raises(cloudflare.NotFoundError):
        cf.zero_trust.access.policies.get(p.id, account_id=OTHER)
    assert list(cf.zero_trust.access.policies.list(account_id=OTHER)) == []


def test_account_tokens_reach_only_their_account():
    scoped = client(os.environ["PORTCULLIS_ACCOUNT_TOKEN"])
    make_policy(scoped, name="scoped", account="acc-a")
    with pytest.raises(cloudflare.PermissionDeniedError):
        scoped.zero_trust.access.policies.list(account_id="acc-b").result
    readonly = client(os.environ["PORTCULLIS_READONLY_TOKEN"])
    assert len(readonly.zero_trust.access.policies.list(account_id="acc-a").result) >= 1
    with pytest.raises(cloudflare.PermissionDeniedError):
        make_policy(readonly, account="acc-a")


def test_wrong_token_is_401():
    with pytest.raises(cloudflare.AuthenticationError) as e:
        client("not-a-token").zero_trust.access.policies.list(account_id=ACC).result
    assert e.value.status_code == 401

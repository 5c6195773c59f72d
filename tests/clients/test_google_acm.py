"""The ACM-compatible admin API driven through Google's own Python client
(google-api-python-client) with the accesscontextmanager v1 discovery document
bundled in the library.

Run by tests/clients/run, which starts portcullis and sets:
PORTCULLIS_URL, PORTCULLIS_TOKEN (all accounts), PORTCULLIS_ACCOUNT_TOKEN (only
account "acc-a"), PORTCULLIS_READONLY_TOKEN (read-only, "acc-a").
"""

import json
import os
import uuid

import google.auth.exceptions
import google.oauth2.credentials
import httplib2
import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

URL = os.environ["PORTCULLIS_URL"]
TOKEN = os.environ["PORTCULLIS_TOKEN"]
RUN = uuid.uuid4().hex[:8]
ORG = f"org-{RUN}"
LEVEL_TYPE = "type.googleapis.com/google.identity.accesscontextmanager.v1.AccessLevel"


def client(token=TOKEN):
    kwargs = {"client_options": {"api_endpoint": URL}, "static_discovery": True}
    if token is None:
        return build("accesscontextmanager", "v1", http=httplib2.Http(), **kwargs)
    creds = google.oauth2.credentials.Credentials(token)
    return build("accesscontextmanager", "v1", credentials=creds, **kwargs)


def error_of(exc):
    return json.loads(exc.content)["error"]


@pytest.fixture(scope="module")
def acm():
    return client()


@pytest.fixture()
def policy(acm):
    op = acm.accessPolicies().create(
        body={"parent": f"organizations/{ORG}", "title": f"corp-{uuid.uuid4().hex[:6]}"}
    ).execute()
    return op["response"]["name"]


def levels(acm):
    return acm.accessPolicies().accessLevels()


def basic(policy, short, title=None, **condition):
    condition = condition or {"ipSubnetworks": ["10.0.0.0/8"]}
    return {
        "name": f"{policy}/accessLevels/{short}",
        "title": title or short,
        "basic": {"conditions": [condition]},
    }


def test_create_policy_returns_a_done_operation(acm):
    op = acm.accessPolicies().create(
        body={"parent": f"organizations/{ORG}", "title": "Corp"}
    ).execute()
    assert op["done"] is True
    assert op["name"].startswith("operations/")
    response = op["response"]
    assert response["@type"].endswith("v1.AccessPolicy")
    assert response["name"].startswith("accessPolicies/")
    assert response["parent"] == f"organizations/{ORG}" and response["etag"]
    got = acm.accessPolicies().get(name=response["name"]).execute()
    assert got["title"] == "Corp"
    listed = acm.accessPolicies().list(parent=f"organizations/{ORG}").execute()
    assert response["name"] in [p["name"] for p in listed["accessPolicies"]]
    again = acm.operations().get(name=op["name"]).execute()
    assert again == op


def test_policy_patch_and_delete(acm, policy):
    op = acm.accessPolicies().patch(
        name=policy, updateMask="title", body={"title": "Renamed"}
    ).execute()
    assert op["response"]["title"] == "Renamed"
    acm.accessPolicies().delete(name=policy).execute()
    with pytest.raises(HttpError) as e:
        acm.accessPolicies().get(name=policy).execute()
    assert e.value.resp.status == 404
    assert error_of(e.value)["status"] == "NOT_FOUND"


def test_level_crud_round_trip(acm, policy):
    body = basic(policy, "corp_net", title="Corp network")
    op = levels(acm).create(parent=policy, body=body).execute()
    assert op["done"] is True and op["response"]["@type"] == LEVEL_TYPE
    assert op["response"]["basic"] == body["basic"]
    got = levels(acm).get(name=body["name"]).execute()
    assert got == body  # read back exactly as written
    op = levels(acm).patch(
        name=body["name"], updateMask="title,description",
        body={"title": "Office", "description": "the office"},
    ).execute()
    assert op["response"]["title"] == "Office"
    assert op["response"]["basic"] == body["basic"]
    got = levels(acm).get(name=body["name"]).execute()
    assert got["description"] == "the office"
    stored = acm.operations().get(name=op["name"]).execute()
    assert stored["done"] is True and stored["response"]["title"] == "Office"
    levels(acm).delete(name=body["name"]).execute()
    with pytest.raises(HttpError) as e:
        levels(acm).get(name=body["name"]).execute()
    assert e.value.resp.status == 404


def test_list_pages_through_every_level(acm, policy):
    names = set()
    for i in range(5):
        body = basic(policy, f"lvl_{i}", ipSubnetworks=[f"10.{i}.0.0/16"])
        levels(acm).create(parent=policy, body=body).execute()
        names.add(body["name"])
    first = levels(acm).list(parent=policy, pageSize=2).execute()
    assert len(first["accessLevels"]) == 2 and first["nextPageToken"]
    seen = []
    request = levels(acm).list(parent=policy, pageSize=2)
    while request is not None:
        response = request.execute()
        seen += [l["name"] for l in response.get("accessLevels", [])]
        request = levels(acm).list_next(request, response)
    assert sorted(seen) == sorted(names)


def test_patch_needs_an_update_mask(acm, policy):
    body = basic(policy, "masked")
    levels(acm).create(parent=policy, body=body).execute()
    with pytest.raises(HttpError) as e:
        levels(acm).patch(name=body["name"], body={"title": "x"}).execute()
    assert e.value.resp.status == 400
    assert error_of(e.value)["status"] == "INVALID_ARGUMENT"
    assert "updateMask" in error_of(e.value)["message"]


def test_duplicate_name_is_already_exists(acm, policy):
    body = basic(policy, "twice")
    levels(acm).create(parent=policy, body=body).execute()
    with pytest.raises(HttpError) as e:
        levels(acm).create(parent=policy, body=body).execute()
    assert e.value.resp.status == 409
    assert error_of(e.value)["status"] == "ALREADY_EXISTS"


def test_replace_all_checks_the_etag(acm, policy):
    levels(acm).create(parent=policy, body=basic(policy, "old_one")).execute()
    etag = acm.accessPolicies().get(name=policy).execute()["etag"]
    new = [basic(policy, "new_a"), basic(policy, "new_b", regions=["US"])]
    op = levels(acm).replaceAll(
        parent=policy, body={"accessLevels": new, "etag": etag}
    ).execute()
    assert op["done"] is True
    assert op["response"]["@type"].endswith("ReplaceAccessLevelsResponse")
    listed = levels(acm).list(parent=policy).execute()["accessLevels"]
    assert [l["name"] for l in listed] == [l["name"] for l in new]
    with pytest.raises(HttpError) as e:
        levels(acm).replaceAll(parent=policy, body={"accessLevels": [], "etag": etag}).execute()
    assert e.value.resp.status == 409
    assert error_of(e.value)["status"] == "ABORTED"
    assert len(levels(acm).list(parent=policy).execute()["accessLevels"]) == 2


def test_cel_format_translates_basic_levels(acm, policy):
    body = basic(policy, "us_only", regions=["US"])
    levels(acm).create(parent=policy, body=body).execute()
    got = levels(acm).get(name=body["name"], accessLevelFormat="CEL").execute()
    assert "basic" not in got
    expression = got["custom"]["expr"]["expression"]
    assert "origin.region_code" in expression and "'US'" in expression
    listed = levels(acm).list(parent=policy, accessLevelFormat="CEL").execute()
    assert "custom" in listed["accessLevels"][0]
    as_defined = levels(acm).get(name=body["name"]).execute()
    assert as_defined["basic"] == body["basic"]


@pytest.mark.parametrize(
    "short,level,field",
    [
        ("not_truncated", {"basic": {"conditions": [{"ipSubnetworks": ["10.0.0.1/8"]}]}},
         "basic.conditions[0].ipSubnetworks[0]"),
        ("both", {"basic": {"conditions": [{"regions": ["US"]}]},
                  "custom": {"expr": {"expression": "true"}}}, "custom"),
        ("bad_cel", {"custom": {"expr": {"expression": "origin.ip =="}}},
         "custom.expr.expression"),
        ("vpc_and_ip", {"basic": {"conditions": [{
            "ipSubnetworks": ["10.0.0.0/8"],
            "vpcNetworkSources": [{"vpcSubnetwork": {
                "network": "//compute.googleapis.com/projects/p/global/networks/n"}}]}]}},
         "basic.conditions[0].vpcNetworkSources"),
        ("missing_required", {"basic": {"conditions": [{
            "requiredAccessLevels": ["POLICY/accessLevels/nowhere"]}]}},
         "basic.conditions[0].requiredAccessLevels[0]"),
        ("9starts_with_digit", {"basic": {"conditions": [{"regions": ["US"]}]}}, "name"),
    ],
)
def test_invalid_levels_are_400_naming_the_field(acm, policy, short, level, field):
    body = {"name": f"{policy}/accessLevels/{short}", "title": short, **level}
    text = json.dumps(body).replace("POLICY", policy)
    with pytest.raises(HttpError) as e:
        levels(acm).create(parent=policy, body=json.loads(text)).execute()
    assert e.value.resp.status == 400
    error = error_of(e.value)
    assert error["status"] == "INVALID_ARGUMENT"
    assert field in error["message"]


def test_title_is_unique_in_a_policy(acm, policy):
    levels(acm).create(parent=policy, body=basic(policy, "first", title="Same")).execute()
    with pytest.raises(HttpError) as e:
        levels(acm).create(parent=policy, body=basic(policy, "second", title="Same")).execute()
    assert e.value.resp.status == 400
    assert "title" in error_of(e.value)["message"]


def test_required_level_cycles_are_refused(acm, policy):
    a, b = f"{policy}/accessLevels/a", f"{policy}/accessLevels/b"
    levels(acm).create(parent=policy, body=basic(policy, "b")).execute()
    levels(acm).create(parent=policy, body=basic(policy, "a", requiredAccessLevels=[b])).execute()
    with pytest.raises(HttpError) as e:
        levels(acm).patch(
            name=b, updateMask="basic",
            body={"basic": {"conditions": [{"requiredAccessLevels": [a]}]}},
        ).execute()
    assert e.value.resp.status == 400
    assert "requires itself" in error_of(e.value)["message"] or "cycle" in error_of(e.value)["message"]


def test_no_token_is_401_and_a_bad_token_too(acm, policy):
    with pytest.raises(HttpError) as e:
        client(None).accessPolicies().get(name=policy).execute()
    assert e.value.resp.status == 401
    assert error_of(e.value)["status"] == "UNAUTHENTICATED"
    # On a 401 the client tries to refresh its credentials, which a bare
    # access token cannot: that is how a rejected token surfaces.
    with pytest.raises(google.auth.exceptions.RefreshError):
        client("not-a-token").accessPolicies().get(name=policy).execute()


def test_account_tokens_see_only_their_organization(acm, policy):
    scoped = client(os.environ["PORTCULLIS_ACCOUNT_TOKEN"])
    with pytest.raises(HttpError) as e:
        scoped.accessPolicies().get(name=policy).execute()
    assert e.value.resp.status == 403
    assert error_of(e.value)["status"] == "PERMISSION_DENIED"
    op = scoped.accessPolicies().create(
        body={"parent": "organizations/acc-a", "title": f"own-{RUN}"}
    ).execute()
    own = op["response"]["name"]
    assert scoped.accessPolicies().get(name=own).execute()["title"] == f"own-{RUN}"
    read_only = client(os.environ["PORTCULLIS_READONLY_TOKEN"])
    with pytest.raises(HttpError) as e:
        levels(read_only).create(parent=own, body=basic(own, "ro")).execute()
    assert e.value.resp.status == 403

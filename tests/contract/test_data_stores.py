"""The data-store identity listeners report and the API compares (pure)."""

from __future__ import annotations

import uuid

from lgcp_contract.data_stores import DEDICATED, external_store, is_valid, shared_store, shares_data


def test_the_same_shared_server_shares_data_and_another_does_not() -> None:
    server = uuid.uuid4()
    assert shares_data(shared_store(server), shared_store(server))
    assert not shares_data(shared_store(server), shared_store(uuid.uuid4()))


def test_dedicated_and_unknown_never_share() -> None:
    assert not shares_data(DEDICATED, DEDICATED)
    assert not shares_data(None, None)
    assert not shares_data(None, shared_store(uuid.uuid4()))


def test_external_identity_ignores_credentials_but_not_the_server() -> None:
    a = external_store("postgresql://alice:s3cret@db.eu:5432/{database}")
    assert a == external_store("postgresql://bob:other@db.eu:5432/{database}")
    assert a != external_store("postgresql://alice:s3cret@db.us:5432/{database}")
    assert "s3cret" not in a and "db.eu" not in a


def test_every_identity_made_here_is_valid_and_nothing_else_is() -> None:
    for store in (DEDICATED, shared_store(uuid.uuid4()), external_store("postgresql://h/{database}")):
        assert is_valid(store), store
    for bad in ("", "shared:", "shared:xyz", "external:postgresql://u:p@h/db", "dedicated:1"):
        assert not is_valid(bad), bad

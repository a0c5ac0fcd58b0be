"""Session 71 leftovers (5) on the Hub: a refusal the Hub answered (a 403 for another user's namespace) on a
feature extractor's `push_to_hub` ended in "Check the network connection". Clients run in subprocesses pointed at the
test hub (see conftest.py)."""

from __future__ import annotations

from hub_server import client_result

REFUSED_SCRIPT = """
import json
from citrus_hf import CiTrusConfig, CiTrusFeatureExtractor

extractor = CiTrusFeatureExtractor.from_config(CiTrusConfig())
messages = {}
for name, call in (
    ("forbidden", lambda: extractor.push_to_hub("someone-else/citrus-extractor")),
):
    try:
        call()
        messages[name] = None
    except OSError as error:
        messages[name] = str(error)
print("RESULT:", json.dumps(messages))
"""


def test_a_refusal_the_hub_answered_is_named_not_blamed_on_the_network(hub_client):
    """A feature extractor pushed to another user's namespace (the Hub's 403) said "Check the network connection": the Hub's own words are given instead."""
    messages = client_result(hub_client(REFUSED_SCRIPT))
    assert messages["forbidden"] is not None and "rights to create a repository" in messages["forbidden"]
    for message in messages.values():
        assert message is not None and "network connection" not in message, message

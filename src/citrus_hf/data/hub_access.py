"""Reading Hub datasets when the Hub cannot be reached: at once, from the cache.

`datasets` asks the Hub before it looks in its cache, and huggingface_hub retries a refused or dropped connection 5
times with back-off (1 + 2 + 4 + 8 + 8 s) on every such request: `citrus finetune --dataset owner/name` on a machine
without a network waited 51 s (two lookups) before it could say that the Hub cannot be reached. HF_HUB_OFFLINE=1
skips the requests, but a user without a network has rarely set it. `offline_if_hub_unreachable` asks the Hub once,
without retries, and where no answer comes runs the `datasets` calls inside it as under HF_HUB_OFFLINE=1: from the
cache, or failing at once with `datasets`' own offline errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

# Seconds the one probing request waits for the Hub: a dropped connection (no route, a firewall) would otherwise
# wait for the HTTP client's default before the lookups even start.
PROBE_TIMEOUT_S = 10.0


def no_answer_from_hub(error: BaseException) -> bool:
    """Whether a request failed before the Hub answered (no network, a refused or timed-out connection, no DNS,
    offline mode): the HTTP clients' own exception types, which are not `OSError`s. An answer, even a refusal (404,
    401), means the Hub is there."""
    from huggingface_hub.errors import HfHubHTTPError

    from ..configuration_citrus import request_got_no_answer

    return not isinstance(error, HfHubHTTPError) and request_got_no_answer(error)


def hub_is_unreachable(repo_id: str, repo_type: str = "dataset") -> bool:
    """One request for the Hub's record of `repo_id`, without retries: True when no answer came
    (`no_answer_from_hub`).
    False in offline mode, where the callers' own requests are skipped already."""
    import datasets
    from huggingface_hub import HfApi, constants

    if constants.HF_HUB_OFFLINE or datasets.config.HF_HUB_OFFLINE:
        return False
    try:
        HfApi().repo_info(repo_id, repo_type=repo_type, timeout=PROBE_TIMEOUT_S)
    except Exception as error:
        return no_answer_from_hub(error)
    return False


@contextmanager
def offline_if_hub_unreachable(repo_id: str, repo_type: str = "dataset") -> Iterator[bool]:
    """Inside, `datasets` and huggingface_hub run as under HF_HUB_OFFLINE=1 when the Hub does not answer
    (`hub_is_unreachable`), and as they are otherwise; yields whether offline mode was switched on. Both packages keep
    their own copy of the switch, read at each request, so both are set, and both are put back on the way out."""
    import datasets
    from huggingface_hub import constants

    if not hub_is_unreachable(repo_id, repo_type):
        yield False
        return
    saved = constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE
    constants.HF_HUB_OFFLINE = datasets.config.HF_HUB_OFFLINE = True
    try:
        yield True
    finally:
        constants.HF_HUB_OFFLINE, datasets.config.HF_HUB_OFFLINE = saved


__all__ = ["PROBE_TIMEOUT_S", "hub_is_unreachable", "no_answer_from_hub", "offline_if_hub_unreachable"]

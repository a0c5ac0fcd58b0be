"""examples/hub_round_trip.py runs end to end against the local Hub server (so the example cannot rot)."""

from __future__ import annotations

from pathlib import Path

from hub_server import client_env, run_client

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hub_round_trip.py"


def test_hub_round_trip_example(hub, hub_server, tmp_path):
    environment = client_env(hub_server, tmp_path / "hf_home")
    args = ["--tiny", "--repo-id", "citrus-tester/example"]
    result = run_client(EXAMPLE.read_text(), environment, cwd=tmp_path, args=args)
    assert "pushed citrus-tester/example" in result.stdout
    assert "loaded back with trust_remote_code=True: transformers_modules." in result.stdout
    assert "predictions after the round trip on 8 test windows of basic_motions: [" in result.stdout
    assert "largest logit difference local vs Hub" in result.stdout
    stored = hub.repo_files("citrus-tester/example")
    expected = {"config.json", "model.safetensors", "preprocessor_config.json", "README.md", "modeling_citrus.py"}
    assert expected <= set(stored), sorted(stored)

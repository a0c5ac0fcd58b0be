"""examples/fusion_pipeline.py runs on its tiny setting, so the example cannot rot."""

from __future__ import annotations

from test_examples_training import run_example_in_process


def test_fusion_pipeline_example_runs_on_its_tiny_setting(tmp_path, monkeypatch, capsys):
    printed = run_example_in_process(monkeypatch, capsys, "fusion_pipeline.py", "--tiny", cwd=tmp_path)
    assert "recording: " in printed
    assert printed.count(" s  ") == 15  # 30 s in 2 s windows

import pytest

from interestlens.tools.errors import StoreError
from interestlens.vectorstore.artifacts import load_artifact, save_artifact


def test_artifact_round_trip(tmp_path):
    save_artifact(tmp_path, "thing", {"weight": 0.85, "words": ["咖啡"]})
    assert load_artifact(tmp_path, "thing") == {"weight": 0.85, "words": ["咖啡"]}


def test_missing_artifact_is_a_store_error(tmp_path):
    with pytest.raises(StoreError, match="run `interestlens run` first"):
        load_artifact(tmp_path, "fused_encoder")


def test_truncated_artifact_is_a_store_error(tmp_path):
    path = save_artifact(tmp_path, "thing", list(range(1000)))
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(StoreError, match="unreadable"):
        load_artifact(tmp_path, "thing")

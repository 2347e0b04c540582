"""The render command: the stack's platform as a folder of YAML, secrets withheld."""

from __future__ import annotations

import pytest
import yaml

from tools.render import main, stack_config


def test_renders_the_example_stack(tmp_path, capsys):
    out = tmp_path / "rendered"
    assert main(["--stack", "vanilla", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.yaml"))
    assert "_cluster/Namespace-kubeflow.yaml" in files
    assert "kubeflow/StatefulSet-mysql.yaml" in files and "nlp/ConfigMap-kfp-launcher.yaml" in files
    assert f"{len(files)} objects written" in printed
    assert "kubeflow/mysql-admin" in printed  # withheld, and said so
    assert not (out / "kubeflow" / "Secret-mysql-admin.yaml").exists()
    sts = yaml.safe_load((out / "kubeflow" / "StatefulSet-mysql.yaml").read_text())
    assert sts["spec"]["replicas"] == 1 and isinstance(sts["spec"]["replicas"], int)


def test_stack_config_marks_encrypted_values(tmp_path):
    (tmp_path / "Pulumi.x.yaml").write_text(
        "config:\n  mlplatform:size: large\n  mlplatform:databaseAdminPassword:\n    secure: v1:abc\n"
        "  mlplatform:awsPrivateSubnetIds:\n    - subnet-1\n    - subnet-2\n"
    )
    values, secret = stack_config("x", tmp_path)
    assert values["mlplatform:size"] == "large"
    assert values["mlplatform:awsPrivateSubnetIds"] == '["subnet-1", "subnet-2"]'
    assert secret == {"mlplatform:databaseAdminPassword"} and "v1:abc" not in str(values)
    assert stack_config("missing", tmp_path) == ({}, frozenset())


@pytest.mark.parametrize("stack", ["aws", "azure"])
def test_renders_the_cloud_example_stacks(tmp_path, stack):
    out = tmp_path / stack
    assert main(["--stack", stack, "--out", str(out)]) == 0
    assert (out / "nlp" / "ConfigMap-kfp-launcher.yaml").exists()


def test_bad_config_is_reported_without_writing(tmp_path, capsys, monkeypatch):
    (tmp_path / "Pulumi.bad.yaml").write_text("config:\n  mlplatform:size: huge\n")
    monkeypatch.setattr("tools.render.ROOT", tmp_path)
    out = tmp_path / "rendered"
    assert main(["--stack", "bad", "--out", str(out)]) == 1
    assert "Pulumi.bad.yaml: key 'mlplatform:size': 'huge' is not allowed" in capsys.readouterr().err
    assert not out.exists()

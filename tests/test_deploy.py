"""Roles, functions, the bucket and the table are created idempotently, tagged and locked down."""

from __future__ import annotations

import io
import zipfile

import pytest

from helpers import iam, lambdas, storage, workbook


@pytest.fixture(scope="module")
def wb(localcloud):
    return workbook.start("local", "us-east-1", "deploy-test", port=int(localcloud.rsplit(":", 1)[1]))


@pytest.fixture
def source(tmp_path):
    path = tmp_path / "image_uploader.py"
    path.write_text("import os\n\ndef handler(event, context):\n    return {'bucket': os.environ['BUCKET_NAME']}\n")
    return path


def test_workbook_knows_target_account_and_names(wb):
    assert wb.is_local and wb.account_id == "123456789012"
    assert wb.names.function("image_uploader") == "deploy-test-image-uploader"
    assert repr(wb) == "Workbook(target='local' on the local cloud, region='us-east-1', prefix='deploy-test')"


def test_role_is_created_once_with_its_inline_policy(wb):
    first = iam.ensure_role(wb, "result_store")
    assert iam.ensure_role(wb, "result_store") == first
    policy = iam.policy_of(wb, "result_store")
    assert policy["Statement"][0]["Action"] == ["dynamodb:UpdateItem"]
    tags = wb.client("iam").list_role_tags(RoleName=wb.names.role("result_store"))["Tags"]
    assert {"Key": "workbook-prefix", "Value": "deploy-test"} in tags


def test_deploy_creates_then_is_a_no_op_then_updates(wb, source):
    env = {"BUCKET_NAME": "b1"}
    created = lambdas.deploy(wb, "image_uploader", environment=env, source=source)
    assert created.changed and created.name == "deploy-test-image-uploader"
    assert lambdas.invoke(wb, "image_uploader", {}) == {"bucket": "b1"}
    again = lambdas.deploy(wb, "image_uploader", environment=env, source=source)
    assert not again.changed and again.code_sha256 == created.code_sha256
    source.write_text(source.read_text().replace("'bucket'", "'stored_in'"))
    updated = lambdas.deploy(wb, "image_uploader", environment={"BUCKET_NAME": "b2"}, source=source)
    assert updated.changed and updated.code_sha256 != created.code_sha256
    assert lambdas.invoke(wb, "image_uploader", {}) == {"stored_in": "b2"}
    config = wb.client("lambda").get_function(FunctionName=created.name)
    assert config["Tags"]["workbook-prefix"] == "deploy-test"
    assert config["Configuration"]["Role"].endswith(":role/deploy-test-image-uploader-role")
    groups = wb.client("logs").describe_log_groups(logGroupNamePrefix="/aws/lambda/deploy-test-image-uploader")
    assert groups["logGroups"][0]["retentionInDays"] == 7


def test_package_is_reproducible(source):
    assert lambdas.package("image_uploader", source) == lambdas.package("image_uploader", source)


def test_deploy_before_writefile_says_which_cell_to_run(wb, tmp_path):
    with pytest.raises(FileNotFoundError, match="run the %%writefile cell above this one first"):
        lambdas.deploy(wb, "label_detector", source=tmp_path / "label_detector.py")


def test_function_error_is_raised_with_type_message_and_log(wb, tmp_path):
    path = tmp_path / "result_store.py"
    path.write_text("def handler(event, context):\n"
                    "    print('about to fail')\n"
                    "    raise ValueError('no id in event')\n")
    lambdas.deploy(wb, "result_store", source=path)
    with pytest.raises(lambdas.FunctionFailed) as failed:
        lambdas.invoke(wb, "result_store", {})
    assert failed.value.error_type == "ValueError" and failed.value.error_message == "no id in event"
    assert "about to fail" in failed.value.log_tail
    assert str(failed.value) == "deploy-test-result-store failed with ValueError: no id in event"


def test_bucket_is_private_encrypted_tagged_and_idempotent(wb):
    assert storage.ensure_bucket(wb) == storage.ensure_bucket(wb) == wb.names.bucket
    settings = storage.bucket_settings(wb)
    assert settings["public access blocked"] is True and settings["encryption"] == "AES256"
    assert settings["tags"]["workbook-prefix"] == "deploy-test"


def test_table_is_idempotent_and_deletable(wb):
    assert storage.ensure_table(wb) == storage.ensure_table(wb) == "deploy-test-image-results"
    assert storage.delete_table(wb) is True
    assert storage.delete_table(wb) is False


def test_bucket_is_emptied_and_deleted(wb):
    storage.ensure_bucket(wb)
    wb.client("s3").put_object(Bucket=wb.names.bucket, Key="images/a.png", Body=b"x")
    assert storage.empty_and_delete_bucket(wb) == 1
    assert storage.empty_and_delete_bucket(wb) == 0


def test_package_holds_the_modules_written_beside_the_handler(source):
    (source.parent / "written_module.py").write_text("LIMIT = 80\n")
    (source.parent / "extra.py").write_text("X = 1\n")
    zipped = lambdas.package("image_uploader", source, ["written_module", "extra"])
    assert zipped == lambdas.package("image_uploader", source, ["extra", "written_module"])  # reproducible
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert archive.namelist() == ["image_uploader.py", "extra.py", "written_module.py"]
        assert archive.read("written_module.py") == b"LIMIT = 80\n"
        assert {info.date_time for info in archive.infolist()} == {(2020, 1, 1, 0, 0, 0)}
    assert zipped != lambdas.package("image_uploader", source)
    with pytest.raises(FileNotFoundError, match="missing.py has not been written yet"):
        lambdas.package("image_uploader", source, ["missing"])


def test_a_provided_module_is_packaged_even_when_a_stale_copy_was_written(source):
    (source.parent / "image_checks.py").write_text("STALE = True\n")
    with zipfile.ZipFile(io.BytesIO(lambdas.package("image_uploader", source, ["image_checks"]))) as archive:
        assert archive.read("image_checks.py") == (lambdas.workspace.PROVIDED_DIR / "image_checks.py").read_bytes()


def test_deploy_with_modules_lets_the_handler_import_them(wb, tmp_path):
    handler = tmp_path / "result_store.py"
    handler.write_text("import written_module\n\ndef handler(event, context):\n    return written_module.LIMIT\n")
    (tmp_path / "written_module.py").write_text("LIMIT = 80\n")
    deployed = lambdas.deploy(wb, "result_store", source=handler, modules=["written_module"])
    assert lambdas.invoke(wb, "result_store", {}) == 80
    assert not lambdas.deploy(wb, "result_store", source=handler, modules=["written_module"]).changed
    (tmp_path / "written_module.py").write_text("LIMIT = 81\n")
    assert lambdas.deploy(wb, "result_store", source=handler, modules=["written_module"]).code_sha256 != \
        deployed.code_sha256
    assert lambdas.invoke(wb, "result_store", {}) == 81


def test_config_compares_layer_arns_in_order_and_no_layers_as_before():
    current = {"Role": "r", "Handler": "h", "Runtime": "python3.12", "Timeout": 10, "MemorySize": 256}
    wanted = {**current, "Environment": {"Variables": {}}, "Layers": []}
    assert not lambdas._config_differs(current, wanted)  # AWS omits Layers when there are none
    assert not lambdas._config_differs({**current, "Layers": []}, wanted)  # moto sends an empty list
    assert lambdas._config_differs({**current, "Layers": [{"Arn": "arn:layer:1", "CodeSize": 1}]}, wanted)
    assert not lambdas._config_differs({**current, "Layers": [{"Arn": "arn:layer:1", "CodeSize": 1}]},
                                       {**wanted, "Layers": ["arn:layer:1"]})
    assert lambdas._config_differs({**current, "Layers": [{"Arn": "arn:layer:1", "CodeSize": 1}]},
                                   {**wanted, "Layers": ["arn:layer:2"]})
    two = [{"Arn": "arn:layer:1", "CodeSize": 1}, {"Arn": "arn:other:1", "CodeSize": 1}]
    assert not lambdas._config_differs({**current, "Layers": two}, {**wanted, "Layers": ["arn:layer:1", "arn:other:1"]})
    assert lambdas._config_differs({**current, "Layers": two}, {**wanted, "Layers": ["arn:other:1", "arn:layer:1"]})


def test_excerpt_shows_one_function_of_a_written_file_as_it_is(tmp_path):
    source = tmp_path / "receiver.py"
    source.write_text('"""doc"""\n\nimport functools\n\n\ndef first(x):\n    return x\n\n\n'
                      '@functools.cache\ndef second(y):\n    """Two."""\n    return y * 2\n\n\nLAST = 1\n')
    assert lambdas.excerpt("api_receiver", "second", source=source) == (
        '@functools.cache\ndef second(y):\n    """Two."""\n    return y * 2')
    assert lambdas.excerpt("api_receiver", "first", source=source) == "def first(x):\n    return x"
    with pytest.raises(LookupError, match="receiver.py has no top-level function 'third'"):
        lambdas.excerpt("api_receiver", "third", source=source)
    with pytest.raises(FileNotFoundError, match="has not been written yet"):
        lambdas.excerpt("api_receiver", "first", source=tmp_path / "missing.py")

"""helpers.aws_errors and workbook.start on AWS: a newcomer's first errors in one sentence."""

import boto3
import pytest
from botocore.exceptions import (
    ClientError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
)

from helpers import aws_errors, workbook
from helpers.aws_errors import SetupError


def _client_error(code: str, operation: str = "GetCallerIdentity") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "as AWS says it"}}, operation)


@pytest.mark.parametrize(("error", "starts"), [
    (NoCredentialsError(), "No AWS credentials were found: run `aws sso login"),
    (PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
     "Your AWS credentials are incomplete (AWS_SECRET_ACCESS_KEY)"),
    (ProfileNotFound(profile="workshop"), "The AWS profile 'workshop' is not in your AWS config"),
    (TokenRetrievalError(provider="sso", error_msg="expired"), "Your AWS sign-in has expired"),
    (_client_error("ExpiredToken"), "Your AWS credentials have expired (ExpiredToken)"),
    (_client_error("InvalidClientTokenId"), "AWS does not accept your credentials (InvalidClientTokenId)"),
    (_client_error("AccessDeniedException", "DetectLabels"), "Your AWS identity may not call DetectLabels"),
])
def test_each_first_error_is_one_sentence_saying_what_to_do(error, starts):
    sentence = aws_errors.explain(error)
    assert sentence.startswith(starts)
    assert sentence.endswith(".") and "\n" not in sentence and "Traceback" not in sentence


def test_a_refusal_names_the_iam_action_when_given():
    assert aws_errors.explain(_client_error("AccessDenied", "ListFunctions20150331"), "lambda:ListFunctions") == (
        "Your AWS identity may not call lambda:ListFunctions (AccessDenied): ask your instructor for the "
        "workshop's learner policy (docs/instructor.md).")


def test_other_errors_are_left_alone():
    assert aws_errors.explain(_client_error("ThrottlingException")) is None
    assert aws_errors.explain(ValueError("x")) is None


@pytest.mark.parametrize("code", ["ResourceNotFoundException", "NoSuchEntity", "NoSuchBucket", "NotFoundException",
                                  "404", "NotFound", "StateMachineDoesNotExist", "ExecutionDoesNotExist"])
def test_each_services_not_found_is_not_found(code):
    assert aws_errors.error_code(_client_error(code)) == code
    assert aws_errors.is_not_found(_client_error(code))


def test_other_codes_and_other_errors_are_not_not_found():
    assert not aws_errors.is_not_found(_client_error("AccessDenied"))
    assert not aws_errors.is_not_found(_client_error("NoSuchTagSet"))
    assert not aws_errors.is_not_found(KeyError("NotFound"))
    assert aws_errors.error_code(ValueError("x")) == ""
    assert aws_errors.error_code(ClientError({}, "HeadBucket")) == ""


def test_access_denied_is_both_spellings_and_explained_as_a_refusal():
    assert aws_errors.ACCESS_DENIED == {"AccessDenied", "AccessDeniedException"}
    for code in aws_errors.ACCESS_DENIED:
        assert aws_errors.explain(_client_error(code)).startswith("Your AWS identity may not call")


def test_in_a_notebook_the_error_shows_as_its_sentence_only():
    assert SetupError("Do this.")._render_traceback_() == ["SetupError: Do this."]


def test_start_on_aws_in_a_region_without_rekognition_says_which_to_choose():
    with pytest.raises(SetupError, match=r"^Amazon Rekognition is not offered in eu-north-1: choose a region"):
        workbook.start("aws", "eu-north-1", "alice")


def test_start_on_aws_without_credentials_says_how_to_sign_in(monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_ENDPOINT_URL", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance metadata lookup: nothing leaves the machine
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    with pytest.raises(SetupError) as raised:
        workbook.start("aws", "us-east-1", "alice")
    assert str(raised.value).startswith("No AWS credentials were found: run `aws sso login --profile NAME`")
    assert raised.value.__suppress_context__  # the botocore traceback is not shown under it


def test_start_with_expired_credentials_says_to_sign_in_again(monkeypatch):
    class Expired:
        def get_caller_identity(self):
            raise _client_error("ExpiredToken")

    aws = workbook.targets.Target("aws", "us-east-1", None)
    monkeypatch.setattr(workbook.targets, "use", lambda *args, **kwargs: aws)
    monkeypatch.setattr(workbook.boto3, "client", lambda *args, **kwargs: Expired())
    with pytest.raises(SetupError, match=r"^Your AWS credentials have expired \(ExpiredToken\): run `aws sso login"):
        workbook.start("aws", "us-east-1", "alice")

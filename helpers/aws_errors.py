"""The errors a newcomer meets first on AWS, each said in one sentence that says what to do.

No credentials, expired or invalid ones, a region without Rekognition, a missing permission:
botocore reports each as a long traceback ending in a message written for SDK authors
(``NoCredentialsError: Unable to locate credentials``). :func:`explain` turns such an error
into one sentence for the learner; :class:`SetupError` carries it, and in a notebook shows
only that sentence (IPython's ``_render_traceback_``), not the traceback.

It is also where the helpers read an error's code (:func:`error_code`) and ask whether it
says "not found" (:func:`is_not_found`) or "access denied" (:data:`ACCESS_DENIED`), so that
each service's spelling of them is written once.
"""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

# Regions where Amazon Rekognition's image APIs are offered (AWS Regional Services list).
REKOGNITION_REGIONS = frozenset({
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1", "eu-west-2",
    "eu-central-1", "eu-south-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
    "ap-northeast-2", "il-central-1", "us-gov-west-1",
})
SIGN_IN = "run `aws sso login --profile NAME` (or `aws configure`), set AWS_PROFILE, and run this cell again"
LEARNER_POLICY = "ask your instructor for the workshop's learner policy (docs/instructor.md)"
_EXPIRED = {"ExpiredToken", "ExpiredTokenException", "RequestExpired", "TokenRefreshRequired"}
_INVALID = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
            "InvalidSignatureException", "AuthFailure"}
# How the workbook's services say "you may not": a resource another learner owns, a sandbox
# role without a permission the helpers can do without.
ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException"})
_DENIED = ACCESS_DENIED | {"UnauthorizedOperation", "AuthorizationError"}
# How the workbook's services say "no such resource": Lambda, DynamoDB and CloudWatch Logs
# (ResourceNotFoundException), IAM (NoSuchEntity), S3 (NoSuchBucket, and "404"/"NotFound" for a
# HEAD, which has no body), API Gateway (NotFoundException) and Step Functions.
NOT_FOUND = frozenset({
    "ResourceNotFoundException", "NoSuchEntity", "NoSuchBucket", "NotFoundException", "404", "NotFound",
    "StateMachineDoesNotExist", "ExecutionDoesNotExist",
})


class SetupError(RuntimeError):
    """The target cannot be used yet; the message is one sentence saying what to do."""

    def _render_traceback_(self) -> list[str]:
        # IPython shows these lines instead of the traceback: the sentence is the whole story.
        return [f"{type(self).__name__}: {self}"]


def error_code(error: BaseException) -> str:
    """The AWS error code of a botocore ClientError ("NoSuchBucket"), "" for any other error."""
    response = getattr(error, "response", None)
    if not isinstance(response, dict):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def is_not_found(error: BaseException) -> bool:
    """Whether ``error`` says the resource does not exist, in any of the services' spellings."""
    return error_code(error) in NOT_FOUND


def rekognition_offered(region: str) -> bool:
    return region in REKOGNITION_REGIONS


def region_problem(region: str) -> str | None:
    if rekognition_offered(region):
        return None
    return (f"Amazon Rekognition is not offered in {region}: choose a region that has it, such as us-east-1 "
            f"or eu-west-1 (region = \"us-east-1\" in the parameters cell, or make run REGION=us-east-1)")


def explain(error: BaseException, action: str = "") -> str | None:
    """One sentence for ``error``, or None when it is not one a newcomer meets first.

    ``action``: the call that failed, as IAM names it ("lambda:ListFunctions"), for a refusal.
    """
    if isinstance(error, NoCredentialsError):
        return f"No AWS credentials were found: {SIGN_IN}."
    if isinstance(error, PartialCredentialsError):
        return f"Your AWS credentials are incomplete ({error.kwargs.get('cred_var', 'a key is missing')}): {SIGN_IN}."
    if isinstance(error, ProfileNotFound):
        return f"The AWS profile {error.kwargs.get('profile')!r} is not in your AWS config: {SIGN_IN}."
    if isinstance(error, (TokenRetrievalError, SSOError)):
        return f"Your AWS sign-in has expired: {SIGN_IN}."
    if isinstance(error, NoRegionError):
        return "No AWS region is set: set region = \"us-east-1\" (or another with Rekognition) and run again."
    if isinstance(error, EndpointConnectionError):
        return (f"AWS could not be reached at {error.kwargs.get('endpoint_url')}: check the network, and that the "
                f"region is spelled right.")
    if isinstance(error, ClientError):
        code = error_code(error)
        if code in _EXPIRED:
            return f"Your AWS credentials have expired ({code}): {SIGN_IN}."
        if code in _INVALID:
            return f"AWS does not accept your credentials ({code}): they are wrong or for another account; {SIGN_IN}."
        if code in _DENIED:
            what = action or error.operation_name
            return f"Your AWS identity may not call {what} ({code}): {LEARNER_POLICY}."
    return None


def raise_explained(error: BaseException, action: str = "") -> None:
    """Raise :class:`SetupError` for ``error`` when :func:`explain` knows it; else do nothing."""
    sentence = explain(error, action)
    if sentence is not None:
        raise SetupError(sentence) from None


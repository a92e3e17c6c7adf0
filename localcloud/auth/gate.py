"""The front door's checks of who is asking, before any service sees a request.

Three questions, in order (``server.py`` asks them):

1. :meth:`Gate.refuse_host`: does the request name this machine's loopback? A page using DNS
   rebinding reaches 127.0.0.1 under its own name (``Host: evil.example:4566``); only
   ``127.0.0.1``, ``localhost``, ``[::1]`` and names under ``.localhost`` (which browsers
   resolve to the loopback themselves, RFC 6761), with this port, are served.
2. :meth:`Gate.refuse_admin`: a call to ``/_localcloud/...`` must come from a program, not a
   browser (no ``Origin``, no ``Sec-Fetch-*``, a JSON body or none) and be signed with the
   instance's own key. Only ``GET /_localcloud/health`` is open: it says whose instance
   this is, and proves it to a caller that sends a challenge.
3. :meth:`Gate.refuse_unsigned`: an AWS API call must be signed (SigV4) by a key this
   instance accepts (``credentials.Keyring``), or it is answered with AWS's own error for
   that service: ``MissingAuthenticationToken``, ``InvalidClientTokenId`` /
   ``UnrecognizedClientException``, ``SignatureDoesNotMatch`` / ``InvalidSignatureException``,
   S3's ``InvalidAccessKeyId``, ``ExpiredToken``... The API Gateway data plane (``/_aws/
   execute-api/...``) stays open, as an API on AWS is; S3 browser POST uploads are checked
   against their signed policy by ``s3/post.py`` with :meth:`Gate.check_post_signature`.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable
from typing import Any

from .. import wire_errors
from ..wsgi_input import BodyTooLarge, buffer_body, discard_body
from . import credentials, sigv2, sigv4

log = logging.getLogger("localcloud.auth")

Response = Iterable[bytes]
_MAX_LOGGED_HOSTS = 50

# What each refusal is called and says, per protocol family: (code, status, message).
_SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you provided. "
                      "Check your AWS Secret Access Key and signing method. Consult the service documentation "
                      "for details.")
_S3_SIGNATURE_MESSAGE = ("The request signature we calculated does not match the signature you provided. "
                         "Check your key and signing method.")
_INVALID_TOKEN = "The security token included in the request is invalid."
_EXPIRED_TOKEN = "The security token included in the request is expired"
REFUSALS: dict[str, dict[str, tuple[str, int, str]]] = {
    "missing": {
        "rest-xml": ("AccessDenied", 403, "Access Denied"),
        "json": ("MissingAuthenticationTokenException", 400, "Missing Authentication Token"),
        "rest-json": ("MissingAuthenticationTokenException", 403, "Missing Authentication Token"),
        "query": ("MissingAuthenticationToken", 403, "Request is missing Authentication Token"),
    },
    "unknown-key": {
        "rest-xml": ("InvalidAccessKeyId", 403, "The AWS Access Key Id you provided does not exist in our records."),
        "json": ("UnrecognizedClientException", 400, _INVALID_TOKEN),
        "rest-json": ("UnrecognizedClientException", 403, _INVALID_TOKEN),
        "query": ("InvalidClientTokenId", 403, _INVALID_TOKEN),
    },
    "bad-token": {
        "rest-xml": ("InvalidToken", 400, "The provided token is malformed or otherwise invalid."),
        "json": ("UnrecognizedClientException", 400, _INVALID_TOKEN),
        "rest-json": ("UnrecognizedClientException", 403, _INVALID_TOKEN),
        "query": ("InvalidClientTokenId", 403, _INVALID_TOKEN),
    },
    "expired-token": {
        "rest-xml": ("ExpiredToken", 400, "The provided token has expired."),
        "json": ("ExpiredTokenException", 400, _EXPIRED_TOKEN),
        "rest-json": ("ExpiredTokenException", 403, _EXPIRED_TOKEN),
        "query": ("ExpiredToken", 403, _EXPIRED_TOKEN),
    },
    "bad-signature": {
        "rest-xml": ("SignatureDoesNotMatch", 403, _S3_SIGNATURE_MESSAGE),
        "json": ("InvalidSignatureException", 400, _SIGNATURE_MESSAGE),
        "rest-json": ("InvalidSignatureException", 403, _SIGNATURE_MESSAGE),
        "query": ("SignatureDoesNotMatch", 403, _SIGNATURE_MESSAGE),
    },
    "expired": {  # the message is the sigv4.Expired's
        "rest-xml": ("AccessDenied", 403, ""),
        "json": ("InvalidSignatureException", 400, ""),
        "rest-json": ("InvalidSignatureException", 403, ""),
        "query": ("SignatureDoesNotMatch", 403, ""),
    },
    "too-large": {  # the message is the BodyTooLarge's
        "rest-xml": ("EntityTooLarge", 400, ""),
        "json": ("RequestEntityTooLarge", 413, ""),
        "rest-json": ("RequestEntityTooLargeException", 413, ""),
        "query": ("RequestEntityTooLarge", 413, ""),
    },
    "malformed": {  # the message is the sigv4.Malformed's
        "rest-xml": ("AuthorizationHeaderMalformed", 400, ""),
        "json": ("IncompleteSignatureException", 400, ""),
        "rest-json": ("IncompleteSignatureException", 400, ""),
        "query": ("IncompleteSignature", 400, ""),
    },
}
_SKEWED_S3 = ("RequestTimeTooSkewed", 403, "The difference between the request time and the current time is too large.")
# The X-Amz-Target prefixes of the JSON services the workbook uses, for unsigned requests.
_TARGET_SERVICES = {"DynamoDB": "dynamodb", "AWSStepFunctions": "states", "Logs": "logs",
                    "RekognitionService": "rekognition"}
# The most a signature check holds in memory to hash a body: Lambda's largest request
# (CreateFunction with a 50 MB zip, base64-encoded: "Request must be smaller than 70167211 bytes").
MAX_HASHED_BODY = 70167211
_OPEN_PATHS = re.compile(r"^/(_aws/execute-api/|restapis/[^/]+/[^/]+/_user_request_)")
_ADMIN_BODY_TYPES = ("application/json",)


class Refused(Exception):
    """Why a request is not accepted: one of :data:`REFUSALS`' kinds, and what to say."""

    def __init__(self, kind: str, detail: str = "", service: str | None = None) -> None:
        super().__init__(detail or kind)
        self.kind = kind
        self.detail = detail
        self.service = service


def allowed_host_names() -> set[str]:
    """The loopback names, plus any in LOCALCLOUD_ALLOWED_HOSTS (comma-separated), e.g. a proxy's."""
    extra = {h.strip().lower() for h in os.environ.get("LOCALCLOUD_ALLOWED_HOSTS", "").split(",") if h.strip()}
    return {"127.0.0.1", "localhost", "[::1]"} | extra


def split_host(host: str) -> tuple[str, str | None]:
    host = host.strip().lower()
    if host.startswith("["):
        name, _, rest = host.partition("]")
        return name + "]", rest[1:] if rest.startswith(":") else None
    name, sep, port = host.rpartition(":")
    return (name, port) if sep else (host, None)


class Gate:
    def __init__(self, port: int, keyring: credentials.Keyring) -> None:
        self.port = port
        self.keyring = keyring
        self.hosts = allowed_host_names()
        self._logged_hosts: set[str] = set()

    # --- 1. the Host header ---------------------------------------------------------------

    def host_allowed(self, host: str | None) -> bool:
        if not host:
            return False
        name, port = split_host(host)
        if port != str(self.port):
            return False
        return name in self.hosts or name.endswith(".localhost")

    def refuse_host(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Response | None:
        host = environ.get("HTTP_HOST")
        if self.host_allowed(host):
            return None
        if len(self._logged_hosts) < _MAX_LOGGED_HOSTS and host not in self._logged_hosts:
            self._logged_hosts.add(str(host))
            log.warning("refused a request for host %r (%s %s, Origin %r): only the loopback on port %d is "
                        "served; a web page may be trying DNS rebinding", host, environ.get("REQUEST_METHOD"),
                        environ.get("PATH_INFO"), environ.get("HTTP_ORIGIN"), self.port)
        return _plain(environ, start_response, 403,
                      f"Forbidden: the local cloud serves only http://127.0.0.1:{self.port} "
                      f"(or localhost), not host {host!r}")

    # --- 2. the local cloud's own endpoints -----------------------------------------------

    def refuse_admin(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Response | None:
        method = environ.get("REQUEST_METHOD", "GET")
        if environ.get("PATH_INFO") == "/_localcloud/health" and method == "GET":
            return None
        browser = [h for h in ("HTTP_ORIGIN", "HTTP_SEC_FETCH_SITE", "HTTP_SEC_FETCH_MODE") if environ.get(h)]
        if browser:
            log.warning("refused a browser request to %s (it carried %s)", environ.get("PATH_INFO"),
                        ", ".join(h[5:].replace("_", "-").title() for h in browser))
            return _plain(environ, start_response, 403,
                          "Forbidden: the local cloud's own endpoints do not answer browsers")
        content_type = environ.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if environ.get("CONTENT_LENGTH") not in (None, "", "0") and content_type not in _ADMIN_BODY_TYPES:
            return _plain(environ, start_response, 415, f"Unsupported Media Type: send a JSON body (Content-Type: "
                                               f"application/json), not {content_type or 'none'}")
        try:
            known = self._verify(environ)
        except Refused as refusal:
            hint = refusal.detail or "sign the request with the instance's key (python -m localcloud env)"
            return _plain(environ, start_response, 403, f"Forbidden: {refusal.kind}: {hint}")
        if known.principal != "instance":
            return _plain(environ, start_response, 403, "Forbidden: only the instance's own credentials may call "
                                               "/_localcloud/ endpoints")
        return None

    # --- 3. AWS API calls -----------------------------------------------------------------

    def needs_signature(self, environ: dict[str, Any]) -> bool:
        path = environ.get("PATH_INFO", "")
        if _OPEN_PATHS.match(path):
            return False
        # A browser's CORS preflight carries no credentials; S3 answers it from the bucket's CORS rules.
        return not (environ.get("REQUEST_METHOD") == "OPTIONS" and environ.get("HTTP_ORIGIN"))

    def refuse_unsigned(self, environ: dict[str, Any], start_response: Callable[..., Any],
                        is_post_upload: bool = False) -> Response | None:
        """AWS's error for a request no key of this instance signed, else None.

        ``is_post_upload``: an S3 browser POST carries its signature in the form, which
        ``s3/post.py`` checks with :meth:`check_post_signature`.
        """
        if is_post_upload and not sigv4.is_signed(environ):
            return None
        try:
            known = self._verify(environ)
        except Refused as refusal:
            return self._refusal_response(environ, start_response, refusal)
        environ["localcloud.principal"] = known.principal
        return None

    def _verify(self, environ: dict[str, Any]) -> credentials.Known:
        if not sigv4.is_signed(environ):
            raise Refused("missing")
        if sigv2.is_v2(environ):
            return self._verify_v2(environ)
        try:
            claim = sigv4.parse(environ)
        except sigv4.Malformed as exc:
            raise Refused("malformed", str(exc)) from None
        known = self._known(claim.access_key, claim.security_token, claim.service)
        try:
            sigv4.check_time(claim, credentials.now())
        except sigv4.Expired as exc:
            raise Refused("expired", str(exc), claim.service) from None
        except sigv4.Malformed as exc:
            raise Refused("malformed", str(exc), claim.service) from None
        try:
            body = None if environ.get("HTTP_X_AMZ_CONTENT_SHA256") or claim.presigned else \
                buffer_body(environ, MAX_HASHED_BODY)
        except BodyTooLarge as exc:
            raise Refused("too-large", str(exc), claim.service) from None
        try:
            matches = sigv4.signature_matches(environ, claim, known.secret_access_key, body)
        except sigv4.Malformed as exc:
            raise Refused("malformed", str(exc), claim.service) from None
        if not matches:
            raise Refused("bad-signature", service=claim.service)
        return known

    def _verify_v2(self, environ: dict[str, Any]) -> credentials.Known:
        """S3's Signature Version 2 (boto3's default for presigned S3 URLs in us-east-1)."""
        if not _is_s3_shaped(environ):
            raise Refused("malformed", "Signature Version 2 is accepted by S3 only; sign with Signature Version 4")
        try:
            claim = sigv2.parse(environ)
        except sigv4.Malformed as exc:
            raise Refused("malformed", str(exc), "s3") from None
        known = self._known(claim.access_key, claim.security_token, "s3")
        if claim.expires is not None and credentials.now().timestamp() > claim.expires:
            raise Refused("expired", "Request has expired", "s3")
        if not sigv2.signature_matches(environ, claim, known.secret_access_key, sigv4.raw_path(environ)):
            raise Refused("bad-signature", service="s3")
        return known

    def _known(self, access_key: str, token: str | None, service: str | None) -> credentials.Known:
        """The key's secret, once the key is known and the token it needs is the one sent."""
        known = self.keyring.lookup(access_key)
        if known is None:
            raise Refused("unknown-key", service=service)
        self._check_token(known, token, service)
        return known

    @staticmethod
    def _check_token(known: credentials.Known, token: str | None, service: str | None) -> None:
        if known.session_token is None:
            if token:
                raise Refused("bad-token", service=service)
            return
        if not token or token != known.session_token:
            raise Refused("bad-token", service=service)
        if known.expires is not None and credentials.now() >= known.expires:
            raise Refused("expired-token", service=service)

    def check_post_signature(self, fields: dict[str, str], policy_b64: str) -> credentials.Known:
        """The key that signed an S3 POST form's policy (SigV4 or SigV2 fields); raises :class:`Refused`."""
        lowered = {k.lower(): v for k, v in fields.items()}
        if "awsaccesskeyid" in lowered:
            known = self._known(lowered["awsaccesskeyid"], lowered.get("x-amz-security-token"), "s3")
            if not sigv2.policy_signature_matches(policy_b64, lowered.get("signature", ""), known.secret_access_key):
                raise Refused("bad-signature", service="s3")
            return known
        try:
            claim = sigv4.post_claim(fields)
        except sigv4.Malformed as exc:
            raise Refused("malformed", str(exc), "s3") from None
        known = self._known(claim.access_key, claim.security_token, "s3")
        if not sigv4.policy_signature_matches(policy_b64, claim, known.secret_access_key):
            raise Refused("bad-signature", service="s3")
        return known

    def refuse_post_upload(self, environ: dict[str, Any], start_response: Callable[..., Any],
                           fields: dict[str, str], policy_b64: str | None) -> Response | None:
        """S3's error for a browser POST upload whose form no key of this instance signed.

        A form without a policy is an anonymous upload, which S3 accepts only into a bucket
        that lets anyone write; no bucket here does (bucket policies are not evaluated).
        """
        if sigv4.is_signed(environ):
            return None  # signed in the header, and already verified
        try:
            if policy_b64 is None:
                raise Refused("missing", "an anonymous POST upload (no policy, no signature)", "s3")
            environ["localcloud.principal"] = self.check_post_signature(fields, policy_b64).principal
        except Refused as refusal:
            refusal.service = "s3"
            return self._refusal_response(environ, start_response, refusal)
        return None

    def _refusal_response(self, environ: dict[str, Any], start_response: Callable[..., Any],
                          refusal: Refused) -> Response:
        service = refusal.service or _service_of_unsigned(environ)
        protocol, json_version = wire_errors.protocol_of(environ, service)
        code, status, message = REFUSALS[refusal.kind][protocol]
        if refusal.kind == "expired" and protocol == "rest-xml" and refusal.detail.startswith("Signature expired"):
            code, status, message = _SKEWED_S3
        message = message or refusal.detail
        log.info("refused %s %s: %s (%s)", environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), code,
                 refusal.detail or refusal.kind)
        status_text, headers, body = wire_errors.render(
            protocol, service, code, message, status, method=environ.get("REQUEST_METHOD", "POST"),
            json_version=json_version)
        if not discard_body(environ):  # the connection may carry the client's next request, or not
            headers.append(("Connection", "close"))
        start_response(status_text, headers)
        return [body]


def _is_s3_shaped(environ: dict[str, Any]) -> bool:
    return wire_errors.protocol_of(environ, None)[0] == "rest-xml"


def _service_of_unsigned(environ: dict[str, Any]) -> str | None:
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    prefix = target.split(".", 1)[0].split("_", 1)[0]
    return _TARGET_SERVICES.get(prefix)


def _plain(environ: dict[str, Any], start_response: Callable[..., Any], status: int, message: str) -> Response:
    import json

    body = json.dumps({"message": message}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    if not discard_body(environ):
        headers.append(("Connection", "close"))
    start_response(wire_errors.status_line(status), headers)
    return [body]

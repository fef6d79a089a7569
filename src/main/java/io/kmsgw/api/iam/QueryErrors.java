package io.kmsgw.api.iam;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;

/**
 * How the one error model ({@link ErrorCode}) reads in the Query protocol of IAM and STS: the code names and HTTP
 * statuses of iam-service-2.json and sts-service-2.json, and of AWS's common errors for the signature check.
 */
public final class QueryErrors {
  /** An error as a Query protocol client sees it. */
  public record Rendered(int status, String code, String xml) {}

  private QueryErrors() {}

  static Rendered render(QueryApi.Service service, KmsException e, String requestId) {
    boolean sts = service == QueryApi.Service.STS;
    int status;
    String code;
    switch (e.code()) {
      case ACCESS_DENIED -> { status = 403; code = "AccessDenied"; }
      case INVALID_SIGNATURE -> { status = 403; code = "SignatureDoesNotMatch"; }
      case INCOMPLETE_SIGNATURE -> { status = 400; code = "IncompleteSignature"; }
      case MISSING_AUTHENTICATION_TOKEN -> { status = 403; code = "MissingAuthenticationToken"; }
      case UNRECOGNIZED_CLIENT -> { status = 403; code = "InvalidClientTokenId"; }
      // sts-service-2.json: ExpiredTokenException, 400; IAM answers AWS's common ExpiredToken, 403
      case EXPIRED_TOKEN -> { status = sts ? 400 : 403; code = sts ? "ExpiredTokenException" : "ExpiredToken"; }
      case VALIDATION -> { status = 400; code = "ValidationError"; }
      case SERIALIZATION -> { status = 400; code = "MalformedQueryString"; }
      case UNKNOWN_OPERATION, UNSUPPORTED_OPERATION -> { status = 400; code = "InvalidAction"; }
      case THROTTLING -> { status = 400; code = "Throttling"; }
      case REQUEST_ENTITY_TOO_LARGE -> { status = 413; code = "RequestEntityTooLarge"; }
      case MALFORMED_HTTP_REQUEST -> { status = 400; code = "MalformedHttpRequest"; }
      case REQUEST_URI_TOO_LONG -> { status = 414; code = "RequestURITooLong"; }
      case REQUEST_HEADER_FIELDS_TOO_LARGE -> { status = 431; code = "RequestHeaderFieldsTooLarge"; }
      case NOT_FOUND -> { status = 404; code = "NoSuchEntity"; }
      case ALREADY_EXISTS -> { status = 409; code = "EntityAlreadyExists"; }
      case CONFLICT -> { status = 409; code = "DeleteConflict"; }
      case LIMIT_EXCEEDED -> { status = 409; code = "LimitExceeded"; }
      case MALFORMED_POLICY_DOCUMENT -> { status = 400; code = "MalformedPolicyDocument"; }
      default -> {
        status = e.code().httpStatus() >= 500 ? 500 : 400;
        code = status >= 500 ? (sts ? "InternalFailure" : "ServiceFailure") : "ValidationError";
      }
    }
    Xml x = new Xml().open("ErrorResponse", service.namespace)
        .open("Error")
        .leaf("Type", status >= 500 ? "Receiver" : "Sender")
        .leaf("Code", code)
        .leaf("Message", e.getMessage())
        .close("Error")
        .leaf("RequestId", requestId)
        .close("ErrorResponse");
    return new Rendered(status, code, x.toString());
  }
}

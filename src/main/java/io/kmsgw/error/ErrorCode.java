package io.kmsgw.error;

/**
 * Every error the KMS API can answer, with its AWS name and HTTP status.
 *
 * <p>Modelled exceptions come from {@code kms-service-2.json} (HTTP 400, or 500 for the three marked
 * {@code fault}), and for LookupEvents from {@code cloudtrail-service-2.json}; the rest are AWS's common errors that
 * the models do not list. {@code retryable} follows
 * the AWS SDKs: they retry throttling and 5xx answers.
 */
public enum ErrorCode {
  // common AWS errors (not in the KMS model)
  ACCESS_DENIED("AccessDeniedException", 400),
  INCOMPLETE_SIGNATURE("IncompleteSignatureException", 400),
  INVALID_SIGNATURE("InvalidSignatureException", 400),
  MISSING_AUTHENTICATION_TOKEN("MissingAuthenticationTokenException", 403),
  UNRECOGNIZED_CLIENT("UnrecognizedClientException", 400),
  SERIALIZATION("SerializationException", 400),
  UNKNOWN_OPERATION("UnknownOperationException", 400),
  VALIDATION("ValidationException", 400),
  THROTTLING("ThrottlingException", 400),
  REQUEST_ENTITY_TOO_LARGE("RequestEntityTooLargeException", 413),
  /**
   * HTTP the server cannot read: a malformed chunk, an HTTP/1.1 request without Host, an unparsable request line.
   * AWS documents no name for these (its front ends answer them before any service); kmsgw's names say what is
   * wrong, and the SDKs treat an unknown name as a generic service error of that status.
   */
  MALFORMED_HTTP_REQUEST("MalformedHttpRequestException", 400),
  /** A request line longer than the server reads (the URI, mostly). */
  REQUEST_URI_TOO_LONG("RequestUriTooLongException", 414),
  /** Request headers larger than the server reads. */
  REQUEST_HEADER_FIELDS_TOO_LARGE("RequestHeaderFieldsTooLargeException", 431),
  /** Temporary (STS) credentials past their expiration; IAM and STS answer their own names for it. */
  EXPIRED_TOKEN("ExpiredTokenException", 400),
  // modelled KMS exceptions
  ALREADY_EXISTS("AlreadyExistsException", 400),
  CONFLICT("ConflictException", 400),
  CLOUD_HSM_CLUSTER_IN_USE("CloudHsmClusterInUseException", 400),
  CLOUD_HSM_CLUSTER_NOT_FOUND("CloudHsmClusterNotFoundException", 400),
  CUSTOM_KEY_STORE_HAS_CMKS("CustomKeyStoreHasCMKsException", 400),
  CUSTOM_KEY_STORE_INVALID_STATE("CustomKeyStoreInvalidStateException", 400),
  CUSTOM_KEY_STORE_NAME_IN_USE("CustomKeyStoreNameInUseException", 400),
  CUSTOM_KEY_STORE_NOT_FOUND("CustomKeyStoreNotFoundException", 400),
  INCORRECT_TRUST_ANCHOR("IncorrectTrustAnchorException", 400),
  DEPENDENCY_TIMEOUT("DependencyTimeoutException", 500),
  DISABLED("DisabledException", 400),
  DRY_RUN_OPERATION("DryRunOperationException", 412),
  INCORRECT_KEY("IncorrectKeyException", 400),
  INVALID_ALIAS_NAME("InvalidAliasNameException", 400),
  INVALID_ARN("InvalidArnException", 400),
  INVALID_CIPHERTEXT("InvalidCiphertextException", 400),
  INVALID_GRANT_ID("InvalidGrantIdException", 400),
  INVALID_GRANT_TOKEN("InvalidGrantTokenException", 400),
  INVALID_KEY_USAGE("InvalidKeyUsageException", 400),
  INVALID_MARKER("InvalidMarkerException", 400),
  KMS_INTERNAL("KMSInternalException", 500),
  KMS_INVALID_STATE("KMSInvalidStateException", 400),
  KMS_INVALID_MAC("KMSInvalidMacException", 400),
  KMS_INVALID_SIGNATURE("KMSInvalidSignatureException", 400),
  KEY_UNAVAILABLE("KeyUnavailableException", 500),
  LIMIT_EXCEEDED("LimitExceededException", 400),
  MALFORMED_POLICY_DOCUMENT("MalformedPolicyDocumentException", 400),
  NOT_FOUND("NotFoundException", 400),
  TAG("TagException", 400),
  UNSUPPORTED_OPERATION("UnsupportedOperationException", 400),
  // modelled CloudTrail exceptions of LookupEvents (cloudtrail-service-2.json; UnsupportedOperationException above)
  INVALID_LOOKUP_ATTRIBUTES("InvalidLookupAttributesException", 400),
  INVALID_TIME_RANGE("InvalidTimeRangeException", 400),
  INVALID_MAX_RESULTS("InvalidMaxResultsException", 400),
  INVALID_NEXT_TOKEN("InvalidNextTokenException", 400),
  INVALID_EVENT_CATEGORY("InvalidEventCategoryException", 400),
  OPERATION_NOT_PERMITTED("OperationNotPermittedException", 400),
  /** AWS's common error for a failure on the service's side, for the APIs other than KMS (CloudTrail). */
  INTERNAL_FAILURE("InternalFailure", 500);

  private final String awsName;
  private final int httpStatus;

  ErrorCode(String awsName, int httpStatus) {
    this.awsName = awsName;
    this.httpStatus = httpStatus;
  }

  /** The name clients see in {@code __type} and {@code x-amzn-ErrorType}. */
  public String awsName() {
    return awsName;
  }

  public int httpStatus() {
    return httpStatus;
  }
}

package io.kmsgw.api.xks;

import io.kmsgw.format.StrictBase64;
import io.kmsgw.format.StrictJson;
import io.kmsgw.format.XksCiphertext;
import java.util.Map;

/**
 * The request bodies of the XKS API, read from strict JSON (XKS spec, "API operations"). Unknown members are
 * accepted: KMS may add requestMetadata fields at any time (Appendix B). Sizes: the specification's minimums are
 * 4300 bytes of plaintext or ciphertext and 8192 bytes of AAD; the gateway accepts up to {@link #MAX_DATA} and
 * {@link XksCiphertext#MAX_AAD}, and answers UnsupportedOperationException above.
 */
final class XksRequest {
  /** Largest plaintext or ciphertext accepted. */
  static final int MAX_DATA = 65_536;

  private XksRequest() {}

  /** The requestMetadata members the gateway uses; any may be null. */
  record Metadata(String awsPrincipalArn, String awsSourceVpc, String awsSourceVpce, String kmsKeyArn,
      String kmsOperation, String kmsRequestId, String kmsViaService) {
    static final Metadata NONE = new Metadata(null, null, null, null, null, null, null);
  }

  record Encrypt(Metadata metadata, byte[] plaintext, byte[] aad, boolean integrityValue) {}

  record Decrypt(Metadata metadata, byte[] ciphertext, byte[] ciphertextMetadata, byte[] aad, byte[] iv,
      byte[] tag) {}

  static Map<String, Object> parse(byte[] body) {
    if (body.length == 0) {
      throw new XksException(XksErrorCode.VALIDATION, "The request body is empty; it must be a JSON object.");
    }
    try {
      return StrictJson.parseObject(body);
    } catch (StrictJson.MalformedJson e) {
      throw new XksException(XksErrorCode.VALIDATION, "The request body is not acceptable JSON: " + e.getMessage());
    }
  }

  /**
   * GetHealthStatus's requestMetadata: kmsRequestId and kmsOperation are REQUIRED (XKS spec, GetHealthStatus
   * request), and the public XKS proxy test client and the AWS reference proxy refuse a request without them with
   * ValidationException, though the spec's error table lists ValidationException for "ALL except GetHealthStatus".
   */
  static Metadata health(Map<String, Object> body) {
    if (!(body.get("requestMetadata") instanceof Map<?, ?> md)) {
      throw new XksException(XksErrorCode.VALIDATION, "requestMetadata is required and must be an object.");
    }
    String operation = required(md, "kmsOperation");
    String requestId = required(md, "kmsRequestId");
    return new Metadata(null, null, null, null, operation, requestId, null);
  }

  /** Whatever requestMetadata there is, for the log line before the body is validated; never an error. */
  static Metadata healthMetadata(byte[] body) {
    try {
      Map<String, Object> m = body.length == 0 ? Map.of() : StrictJson.parseObject(body);
      if (m.get("requestMetadata") instanceof Map<?, ?> md) {
        return new Metadata(null, null, null, null, str(md.get("kmsOperation")), str(md.get("kmsRequestId")), null);
      }
    } catch (StrictJson.MalformedJson e) {
      // logged as it is: nothing to read
    }
    return Metadata.NONE;
  }

  private static String str(Object o) {
    return o instanceof String s ? s : null;
  }

  /** requestMetadata with the members every key operation requires (and kmsKeyArn for encrypt and decrypt). */
  static Metadata metadata(Map<String, Object> body, boolean keyArnRequired) {
    if (!(body.get("requestMetadata") instanceof Map<?, ?> md)) {
      throw new XksException(XksErrorCode.VALIDATION, "requestMetadata is required and must be an object.");
    }
    String principal = required(md, "awsPrincipalArn");
    String operation = required(md, "kmsOperation");
    String requestId = required(md, "kmsRequestId");
    String keyArn = keyArnRequired ? required(md, "kmsKeyArn") : optional(md, "kmsKeyArn");
    return new Metadata(principal, optional(md, "awsSourceVpc"), optional(md, "awsSourceVpce"), keyArn, operation,
        requestId, optional(md, "kmsViaService"));
  }

  static Encrypt encrypt(Map<String, Object> body) {
    Metadata md = metadata(body, true);
    algorithm(body);
    byte[] plaintext = base64(body, "plaintext", true, MAX_DATA, XksErrorCode.VALIDATION);
    byte[] aad = base64(body, "additionalAuthenticatedData", false, XksCiphertext.MAX_AAD, XksErrorCode.VALIDATION);
    Object cdiv = body.get("ciphertextDataIntegrityValueAlgorithm");
    if (cdiv != null && !"SHA_256".equals(cdiv)) {
      throw new XksException(XksErrorCode.VALIDATION, "ciphertextDataIntegrityValueAlgorithm must be SHA_256.");
    }
    return new Encrypt(md, plaintext, aad, cdiv != null);
  }

  static Decrypt decrypt(Map<String, Object> body) {
    Metadata md = metadata(body, true);
    algorithm(body);
    // XKS spec: a missing or malformed ciphertext, IV or tag is InvalidCiphertextException
    byte[] ciphertext = base64(body, "ciphertext", true, MAX_DATA, XksErrorCode.INVALID_CIPHERTEXT);
    byte[] metadata = base64(body, "ciphertextMetadata", false, XksCiphertext.MAX_METADATA,
        XksErrorCode.INVALID_CIPHERTEXT);
    byte[] aad = base64(body, "additionalAuthenticatedData", false, XksCiphertext.MAX_AAD, XksErrorCode.VALIDATION);
    byte[] iv = base64(body, "initializationVector", true, 16, XksErrorCode.INVALID_CIPHERTEXT);
    byte[] tag = base64(body, "authenticationTag", true, XksCiphertext.TAG_LENGTH, XksErrorCode.INVALID_CIPHERTEXT);
    return new Decrypt(md, ciphertext, metadata, aad, iv, tag);
  }

  private static void algorithm(Map<String, Object> body) {
    Object a = body.get("encryptionAlgorithm");
    if (a == null) {
      throw new XksException(XksErrorCode.VALIDATION, "encryptionAlgorithm is required.");
    }
    if (!"AES_GCM".equals(a)) {
      throw new XksException(XksErrorCode.VALIDATION, "encryptionAlgorithm must be AES_GCM.");
    }
  }

  private static String required(Map<?, ?> md, String name) {
    Object v = md.get(name);
    if (!(v instanceof String s) || s.isEmpty()) {
      throw new XksException(XksErrorCode.VALIDATION, "requestMetadata." + name + " is required and must be a "
          + "non-empty string.");
    }
    return s;
  }

  private static String optional(Map<?, ?> md, String name) {
    Object v = md.get(name);
    if (v != null && !(v instanceof String)) {
      throw new XksException(XksErrorCode.VALIDATION, "requestMetadata." + name + " must be a string.");
    }
    return (String) v;
  }

  /**
   * A standard Base64 member (RFC 4648 section 4, not URL-safe), padded, with zero trailing bits.
   *
   * @param max the most bytes accepted; a larger value is UnsupportedOperationException for the data fields
   * @param invalid the error for a missing or malformed value
   */
  private static byte[] base64(Map<String, Object> body, String name, boolean required, int max,
      XksErrorCode invalid) {
    Object v = body.get(name);
    if (v == null) {
      if (required) {
        throw new XksException(invalid, name + " is required.");
      }
      return null;
    }
    if (!(v instanceof String s)) {
      throw new XksException(invalid, name + " must be a Base64 string.");
    }
    byte[] decoded = StrictBase64.decodeOrNull(s);
    if (decoded == null) {
      throw new XksException(invalid, name + " is not canonical padded Base64 (RFC 4648 section 4).");
    }
    if (decoded.length > max) {
      boolean data = name.equals("plaintext") || name.equals("ciphertext") || name.equals("additionalAuthenticatedData");
      throw new XksException(data ? XksErrorCode.UNSUPPORTED_OPERATION : invalid, name + " is longer than "
          + max + " bytes" + (data ? ", the most this proxy accepts." : "."));
    }
    if (required && decoded.length == 0 && !name.equals("ciphertext") && !name.equals("plaintext")) {
      throw new XksException(invalid, name + " is empty.");
    }
    return decoded;
  }
}

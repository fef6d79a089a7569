package io.kmsgw.auth;

import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Verifies AWS Signature Version 4 in the {@code Authorization} header form, for one service name and region.
 *
 * <p>Checks, in order: the header is present and well-formed; the credential scope names this region and
 * service and the day of {@code x-amz-date}; {@code host} and {@code x-amz-date} are signed; the date is within
 * five minutes of now; the access key is known; {@code x-amz-content-sha256}, when sent, is the hash of the
 * body; and the signature, computed over the canonical request with the body's real hash, equals the one sent
 * (compared in constant time). See "Create a signed AWS API request" in the IAM user guide.
 */
public final class SigV4Verifier {
  static final String ALGORITHM = "AWS4-HMAC-SHA256";
  private static final Duration MAX_SKEW = Duration.ofMinutes(5);
  /**
   * Headers that choose what a request does: when present they must be signed, or a captured request could be
   * replayed as another operation (X-Amz-Target) or with another session.
   */
  static final List<String> MUST_BE_SIGNED_IF_PRESENT =
      List.of("x-amz-target", "x-amz-security-token", "x-amz-content-sha256");
  private static final DateTimeFormatter AMZ_DATE =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private static final HexFormat HEX = HexFormat.of();
  private static final java.util.regex.Pattern WHITESPACE = java.util.regex.Pattern.compile("\\s+");
  private static final ThreadLocal<MessageDigest> SHA256 = ThreadLocal.withInitial(() -> {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  });
  private static final ThreadLocal<Mac> HMAC = ThreadLocal.withInitial(() -> {
    try {
      return Mac.getInstance("HmacSHA256");
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  });

  private final String service;
  private final String region;
  private final CredentialStore credentials;
  private final Clock clock;

  public SigV4Verifier(String service, String region, CredentialStore credentials, Clock clock) {
    this.service = service;
    this.region = region;
    this.credentials = credentials;
    this.clock = clock;
  }

  /** The parsed {@code Authorization} header. */
  record Authorization(String accessKeyId, String date, String region, String service, List<String> signedHeaders,
      String signature) {}

  /**
   * Verifies the request and returns who signed it.
   *
   * @throws KmsException MissingAuthenticationTokenException, IncompleteSignatureException,
   *     InvalidSignatureException or UnrecognizedClientException
   */
  public Caller verify(SignedRequest request) {
    List<String> authHeaders = request.headers("authorization");
    if (authHeaders.isEmpty()) {
      throw new KmsException(ErrorCode.MISSING_AUTHENTICATION_TOKEN, "Request is missing Authentication Token");
    }
    if (authHeaders.size() > 1) {
      throw incomplete("Only one Authorization header is allowed.");
    }
    Authorization auth = parse(authHeaders.get(0));
    List<String> amzDates = request.headers("x-amz-date");
    if (amzDates.size() != 1) {
      throw incomplete("Authorization header requires existence of a 'X-Amz-Date' header.");
    }
    String amzDate = amzDates.get(0).strip();
    Instant signedAt;
    try {
      signedAt = LocalDateTime.parse(amzDate, AMZ_DATE).toInstant(ZoneOffset.UTC);
    } catch (DateTimeParseException e) {
      throw incomplete("X-Amz-Date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'.");
    }
    if (!auth.date().equals(amzDate.substring(0, 8))) {
      throw invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.");
    }
    if (!auth.region().equals(region)) {
      throw invalid("Credential should be scoped to a valid region.");
    }
    if (!auth.service().equals(service)) {
      throw invalid("Credential should be scoped to correct service: '" + service + "'.");
    }
    if (!auth.signedHeaders().contains("host") || !auth.signedHeaders().contains("x-amz-date")) {
      throw invalid("The host and x-amz-date headers must be signed.");
    }
    for (String header : MUST_BE_SIGNED_IF_PRESENT) {
      if (!request.headers(header).isEmpty() && !auth.signedHeaders().contains(header)) {
        throw invalid("The " + header + " header must be signed.");
      }
    }
    Instant now = clock.instant();
    if (signedAt.isBefore(now.minus(MAX_SKEW)) || signedAt.isAfter(now.plus(MAX_SKEW))) {
      throw invalid("Signature expired or not yet valid: " + amzDate + " is more than 5 minutes from the server time "
          + AMZ_DATE.format(now) + ".");
    }
    AccessKey key = credentials.find(auth.accessKeyId())
        .orElseThrow(() -> new KmsException(ErrorCode.UNRECOGNIZED_CLIENT,
            "The security token included in the request is invalid."));
    if (!request.headers("x-amz-security-token").isEmpty()) {
      // temporary credentials (STS) are not issued yet, so no session token can be valid
      throw new KmsException(ErrorCode.UNRECOGNIZED_CLIENT, "The security token included in the request is invalid.");
    }
    String payloadHash = HEX.formatHex(sha256(request.body()));
    List<String> declared = request.headers("x-amz-content-sha256");
    if (!declared.isEmpty() && !(declared.size() == 1 && declared.get(0).strip().equalsIgnoreCase(payloadHash))) {
      throw invalid("The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    String canonical = canonicalRequest(request, auth.signedHeaders(), payloadHash);
    String scope = auth.date() + "/" + auth.region() + "/" + auth.service() + "/aws4_request";
    String stringToSign = ALGORITHM + "\n" + amzDate + "\n" + scope + "\n"
        + HEX.formatHex(sha256(canonical.getBytes(StandardCharsets.UTF_8)));
    byte[] expected = HEX.formatHex(hmac(signingKey(key, scope), stringToSign)).getBytes(StandardCharsets.US_ASCII);
    byte[] provided = auth.signature().getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, provided)) {
      throw invalid("The request signature we calculated does not match the signature you provided. Check your "
          + "AWS Secret Access Key and signing method. Consult the service documentation for details.");
    }
    return key.identity();
  }

  static Authorization parse(String header) {
    String h = header.strip();
    if (!h.startsWith(ALGORITHM + " ")) {
      throw incomplete("Unsupported Authorization scheme: only " + ALGORITHM + " is accepted.");
    }
    String credential = null;
    String signedHeaders = null;
    String signature = null;
    for (String part : h.substring(ALGORITHM.length() + 1).split(",")) {
      String p = part.strip();
      int eq = p.indexOf('=');
      if (eq <= 0) {
        throw incomplete("Authorization header is malformed.");
      }
      String name = p.substring(0, eq);
      String value = p.substring(eq + 1).strip();
      switch (name) {
        case "Credential" -> credential = value;
        case "SignedHeaders" -> signedHeaders = value;
        case "Signature" -> signature = value;
        default -> throw incomplete("Authorization header has an unknown parameter.");
      }
    }
    if (credential == null || signedHeaders == null || signature == null) {
      throw incomplete("Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.");
    }
    String[] scope = credential.split("/", -1);
    if (scope.length != 5 || scope[0].isEmpty() || !scope[4].equals("aws4_request") || !scope[1].matches("\\d{8}")) {
      throw incomplete("Credential must have the form <access key id>/<yyyyMMdd>/<region>/<service>/aws4_request.");
    }
    if (!signature.matches("[0-9a-f]{64}")) {
      throw incomplete("Signature must be 64 lowercase hexadecimal digits.");
    }
    List<String> headers = List.of(signedHeaders.split(";", -1));
    for (int i = 0; i < headers.size(); i++) {
      String name = headers.get(i);
      if (name.isEmpty() || !name.equals(name.toLowerCase(java.util.Locale.ROOT))
          || (i > 0 && headers.get(i - 1).compareTo(name) >= 0)) {
        throw incomplete("SignedHeaders must be lowercase, sorted and without duplicates.");
      }
    }
    return new Authorization(scope[0], scope[1], scope[2], scope[3], headers, signature);
  }

  static String canonicalRequest(SignedRequest request, List<String> signedHeaders, String payloadHash) {
    StringBuilder sb = new StringBuilder(256);
    sb.append(request.method()).append('\n');
    sb.append(canonicalUri(request.rawPath())).append('\n');
    sb.append(canonicalQuery(request.rawQuery())).append('\n');
    for (String name : signedHeaders) {
      List<String> values = request.headers(name);
      if (values.isEmpty()) {
        throw invalid("A signed header is missing from the request: " + name);
      }
      sb.append(name).append(':');
      for (int i = 0; i < values.size(); i++) {
        if (i > 0) {
          sb.append(',');
        }
        // botocore: ' '.join(value.split()), every run of whitespace becomes one space
        sb.append(WHITESPACE.matcher(values.get(i).strip()).replaceAll(" "));
      }
      sb.append('\n');
    }
    sb.append('\n');
    sb.append(String.join(";", signedHeaders)).append('\n');
    sb.append(payloadHash);
    return sb.toString();
  }

  /**
   * Services other than S3 encode each path segment twice: the path as sent is already encoded once, so it
   * is encoded once more here, keeping the slashes.
   */
  static String canonicalUri(String rawPath) {
    if (rawPath == null || rawPath.isEmpty()) {
      return "/";
    }
    return uriEncode(rawPath, false);
  }

  static String canonicalQuery(String rawQuery) {
    if (rawQuery == null || rawQuery.isEmpty()) {
      return "";
    }
    List<String[]> params = new ArrayList<>();
    for (String pair : rawQuery.split("&")) {
      if (pair.isEmpty()) {
        continue;
      }
      int eq = pair.indexOf('=');
      String name = eq < 0 ? pair : pair.substring(0, eq);
      String value = eq < 0 ? "" : pair.substring(eq + 1);
      params.add(new String[] {uriEncode(percentDecode(name), true), uriEncode(percentDecode(value), true)});
    }
    params.sort((a, b) -> a[0].equals(b[0]) ? a[1].compareTo(b[1]) : a[0].compareTo(b[0]));
    StringBuilder sb = new StringBuilder();
    for (String[] p : params) {
      if (sb.length() > 0) {
        sb.append('&');
      }
      sb.append(p[0]).append('=').append(p[1]);
    }
    return sb.toString();
  }

  /** RFC 3986 encoding as SigV4 defines it: unreserved characters stay, everything else is %XX (uppercase). */
  static String uriEncode(String s, boolean encodeSlash) {
    byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
    StringBuilder sb = new StringBuilder(bytes.length + 8);
    for (byte b : bytes) {
      int c = b & 0xFF;
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'
          || c == '.' || c == '~' || (c == '/' && !encodeSlash)) {
        sb.append((char) c);
      } else {
        sb.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
            .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
      }
    }
    return sb.toString();
  }

  /** Decodes %XX escapes; a '%' not followed by two hex digits stays as it is. */
  static String percentDecode(String s) {
    if (s.indexOf('%') < 0) {
      return s;
    }
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream(s.length());
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      if (c == '%' && i + 2 < s.length()
          && Character.digit(s.charAt(i + 1), 16) >= 0 && Character.digit(s.charAt(i + 2), 16) >= 0) {
        out.write((Character.digit(s.charAt(i + 1), 16) << 4) | Character.digit(s.charAt(i + 2), 16));
        i += 3;
      } else {
        int cp = s.codePointAt(i);
        out.writeBytes(new String(Character.toChars(cp)).getBytes(StandardCharsets.UTF_8));
        i += Character.charCount(cp);
      }
    }
    return out.toString(StandardCharsets.UTF_8);
  }

  private static byte[] signingKey(AccessKey key, String scope) {
    AccessKey.SigningKey cached = key.cachedSigningKey();
    if (cached != null && cached.scope().equals(scope)) {
      return cached.key();
    }
    String[] parts = scope.split("/");
    byte[] k = hmac(key.seed(), parts[0]);
    k = hmac(k, parts[1]);
    k = hmac(k, parts[2]);
    k = hmac(k, parts[3]);
    key.cacheSigningKey(new AccessKey.SigningKey(scope, k));
    return k;
  }

  private static byte[] hmac(byte[] key, String data) {
    Mac mac = HMAC.get();
    try {
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
    return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] sha256(byte[] data) {
    MessageDigest md = SHA256.get();
    md.reset();
    return md.digest(data);
  }

  private static KmsException invalid(String message) {
    return new KmsException(ErrorCode.INVALID_SIGNATURE, message);
  }

  private static KmsException incomplete(String message) {
    return new KmsException(ErrorCode.INCOMPLETE_SIGNATURE, message);
  }
}

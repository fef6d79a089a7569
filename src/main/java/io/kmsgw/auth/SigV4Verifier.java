package io.kmsgw.auth;

import io.kmsgw.domain.Caller;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;

/**
 * Verifies AWS Signature Version 4 in the {@code Authorization} header form, for one service name and its regions.
 *
 * <p>Checks, in order: the header is present and well-formed; the credential scope names this region and
 * service and the day of {@code x-amz-date}; {@code host} and {@code x-amz-date} are signed; the date is within
 * five minutes of now; the access key is known; a session token is present exactly for temporary credentials, is
 * theirs, and they have not expired; {@code x-amz-content-sha256}, when sent, is the hash of the
 * body; and the signature, computed over the canonical request with the body's real hash, equals the one sent
 * (compared in constant time). See "Create a signed AWS API request" in the IAM user guide.
 */
public final class SigV4Verifier {
  static final String ALGORITHM = SigV4.ALGORITHM;
  private static final Duration MAX_SKEW = Duration.ofMinutes(5);
  /**
   * Headers that choose what a request does: when present they must be signed, or a captured request could be
   * replayed as another operation (X-Amz-Target) or with another session.
   */
  static final List<String> MUST_BE_SIGNED_IF_PRESENT =
      List.of("x-amz-target", "x-amz-security-token", "x-amz-content-sha256");
  private static final DateTimeFormatter AMZ_DATE =
      DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
  private final String service;
  private final List<String> regions;
  private final CredentialStore credentials;
  private final Clock clock;
  private final Clock sessionClock;

  public SigV4Verifier(String service, String region, CredentialStore credentials, Clock clock) {
    this(service, List.of(region), credentials, clock, clock);
  }

  /**
   * @param regions the regions a credential scope may name (IAM and STS clients sign with us-east-1 or with the
   *     configured region)
   * @param clock the clock the request date is checked against
   * @param sessionClock the clock temporary credentials expire by (the development clock offset moves it)
   */
  public SigV4Verifier(String service, List<String> regions, CredentialStore credentials, Clock clock,
      Clock sessionClock) {
    this.service = service;
    this.regions = List.copyOf(regions);
    this.credentials = credentials;
    this.clock = clock;
    this.sessionClock = sessionClock;
  }

  /**
   * The service named by the credential scope of an {@code Authorization} header
   * ({@code Credential=AKIA.../20240101/us-east-1/iam/aws4_request}), or null when there is none to read. Used to
   * route a request before it is verified; the verifier bound to that service then checks everything.
   */
  public static String scopeService(String authorization) {
    if (authorization == null) {
      return null;
    }
    int at = authorization.indexOf("Credential=");
    if (at < 0) {
      return null;
    }
    int end = authorization.indexOf(',', at);
    String[] scope = authorization.substring(at + "Credential=".length(), end < 0 ? authorization.length() : end)
        .strip().split("/", -1);
    return scope.length == 5 ? scope[3] : null;
  }

  /** The parsed {@code Authorization} header. */
  record Authorization(String accessKeyId, String date, String region, String service, List<String> signedHeaders,
      String signature) {}

  /**
   * Verifies the request and returns who signed it.
   *
   * @throws KmsException MissingAuthenticationTokenException, IncompleteSignatureException,
   *     InvalidSignatureException, UnrecognizedClientException or ExpiredTokenException
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
    Instant signedAt = parseAmzDate(amzDate);
    if (!auth.date().equals(amzDate.substring(0, 8))) {
      throw invalid("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.");
    }
    if (!regions.contains(auth.region())) {
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
        .orElseThrow(SigV4Verifier::unrecognized);
    checkSessionToken(key, request.headers("x-amz-security-token"));
    String payloadHash = SigV4.HEX.formatHex(SigV4.sha256(request.body()));
    List<String> declared = request.headers("x-amz-content-sha256");
    if (!declared.isEmpty() && !(declared.size() == 1 && declared.get(0).strip().equalsIgnoreCase(payloadHash))) {
      throw invalid("The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    String canonical = SigV4.canonicalRequest(request, auth.signedHeaders(), payloadHash);
    String scope = auth.date() + "/" + auth.region() + "/" + auth.service() + "/aws4_request";
    String stringToSign = SigV4.stringToSign(amzDate, scope, canonical);
    byte[] expected = SigV4.HEX.formatHex(SigV4.hmac(signingKey(key, scope), stringToSign))
        .getBytes(StandardCharsets.US_ASCII);
    byte[] provided = auth.signature().getBytes(StandardCharsets.US_ASCII);
    if (!MessageDigest.isEqual(expected, provided)) {
      throw invalid("The request signature we calculated does not match the signature you provided. Check your "
          + "AWS Secret Access Key and signing method. Consult the service documentation for details.");
    }
    return key.identity();
  }

  /**
   * Temporary credentials need their own session token (compared in constant time, as a SHA-256) and must not have
   * expired; a long-term key must come without a token. Checked before the signature: an expired session has no
   * secret left to check it with.
   */
  private void checkSessionToken(AccessKey key, List<String> tokens) {
    if (tokens.size() > 1) {
      throw incomplete("Only one X-Amz-Security-Token header is allowed.");
    }
    String token = tokens.isEmpty() ? null : tokens.get(0).strip();
    if (!key.temporary()) {
      if (token != null) {
        throw unrecognized();
      }
      return;
    }
    if (token == null || !key.tokenMatches(token)) {
      throw unrecognized();
    }
    if (!sessionClock.instant().isBefore(key.expiration()) || key.seed() == null) {
      throw new KmsException(ErrorCode.EXPIRED_TOKEN, "The security token included in the request is expired");
    }
  }

  private static KmsException unrecognized() {
    return new KmsException(ErrorCode.UNRECOGNIZED_CLIENT, "The security token included in the request is invalid.");
  }

  /** yyyyMMdd'T'HHmmss'Z', parsed by hand: DateTimeFormatter costs microseconds on every request. */
  static Instant parseAmzDate(String s) {
    if (s.length() != 16 || s.charAt(8) != 'T' || s.charAt(15) != 'Z' || !digits(s, 0, 8) || !digits(s, 9, 15)) {
      throw incomplete("X-Amz-Date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'.");
    }
    try {
      return LocalDateTime.of(num(s, 0, 4), num(s, 4, 6), num(s, 6, 8), num(s, 9, 11), num(s, 11, 13),
          num(s, 13, 15)).toInstant(ZoneOffset.UTC);
    } catch (java.time.DateTimeException e) {
      throw incomplete("X-Amz-Date must be in the ISO 8601 basic format yyyyMMdd'T'HHmmss'Z'.");
    }
  }

  private static boolean digits(String s, int from, int to) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return false;
      }
    }
    return true;
  }

  private static int num(String s, int from, int to) {
    int n = 0;
    for (int i = from; i < to; i++) {
      n = n * 10 + (s.charAt(i) - '0');
    }
    return n;
  }

  private static boolean lowerHex(String s) {
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
        return false;
      }
    }
    return true;
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
    if (scope.length != 5 || scope[0].isEmpty() || !scope[4].equals("aws4_request") || scope[1].length() != 8
        || !digits(scope[1], 0, 8)) {
      throw incomplete("Credential must have the form <access key id>/<yyyyMMdd>/<region>/<service>/aws4_request.");
    }
    if (signature.length() != 64 || !lowerHex(signature)) {
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

  private static byte[] signingKey(AccessKey key, String scope) {
    AccessKey.SigningKey cached = key.cachedSigningKey();
    if (cached != null && cached.scope().equals(scope)) {
      return cached.key();
    }
    byte[] k = SigV4.signingKey(key.seed(), scope);
    key.cacheSigningKey(new AccessKey.SigningKey(scope, k));
    return k;
  }

  private static KmsException invalid(String message) {
    return new KmsException(ErrorCode.INVALID_SIGNATURE, message);
  }

  private static KmsException incomplete(String message) {
    return new KmsException(ErrorCode.INCOMPLETE_SIGNATURE, message);
  }
}

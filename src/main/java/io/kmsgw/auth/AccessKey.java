package io.kmsgw.auth;

import io.kmsgw.domain.Caller;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Objects;

/**
 * An access key: its id, its secret, and the identity it signs for. The secret stays in this object; it is
 * never logged, and {@link #toString()} leaves it out.
 *
 * <p>Temporary credentials (from STS AssumeRole) also carry the SHA-256 of their session token, which every request
 * must present in {@code X-Amz-Security-Token}, and their expiration. A session kept only to answer
 * "expired" has no secret at all: {@link SigV4Verifier} refuses it before any signature is computed.
 */
public final class AccessKey {
  private final String accessKeyId;
  private final byte[] secret;
  private final Caller identity;
  private final byte[] sessionTokenHash;
  private final Instant expiration;
  private volatile SigningKey cached;

  public AccessKey(String accessKeyId, String secretAccessKey, Caller identity) {
    this(accessKeyId, secretAccessKey, identity, null, null);
  }

  private AccessKey(String accessKeyId, String secretAccessKey, Caller identity, byte[] sessionTokenHash,
      Instant expiration) {
    this.accessKeyId = Objects.requireNonNull(accessKeyId);
    this.secret = secretAccessKey == null ? null : ("AWS4" + secretAccessKey).getBytes(StandardCharsets.UTF_8);
    this.identity = Objects.requireNonNull(identity);
    this.sessionTokenHash = sessionTokenHash == null ? null : sessionTokenHash.clone();
    this.expiration = expiration;
  }

  /**
   * Temporary credentials.
   *
   * @param sessionTokenHash SHA-256 of the session token ({@link #hashToken})
   * @param secretAccessKey the secret, or null for a session kept only to answer that it has expired
   */
  public static AccessKey temporary(String accessKeyId, String secretAccessKey, Caller identity,
      byte[] sessionTokenHash, Instant expiration) {
    return new AccessKey(accessKeyId, secretAccessKey, identity, Objects.requireNonNull(sessionTokenHash),
        Objects.requireNonNull(expiration));
  }

  /** SHA-256 of a session token, the form in which sessions are kept and compared. */
  public static byte[] hashToken(String sessionToken) {
    return SigV4.sha256(sessionToken.getBytes(StandardCharsets.UTF_8)).clone();
  }

  public String accessKeyId() {
    return accessKeyId;
  }

  public Caller identity() {
    return identity;
  }

  /** Whether these are temporary credentials that need a session token. */
  public boolean temporary() {
    return sessionTokenHash != null;
  }

  /** When temporary credentials expire; null for a long-term key. */
  public Instant expiration() {
    return expiration;
  }

  /** Whether the token is this session's, compared in constant time. */
  boolean tokenMatches(String token) {
    return sessionTokenHash != null
        && java.security.MessageDigest.isEqual(sessionTokenHash, SigV4.sha256(token.getBytes(StandardCharsets.UTF_8)));
  }

  /** {@code "AWS4" + secret}, the seed of the SigV4 key derivation; null for an expired session. */
  byte[] seed() {
    return secret;
  }

  /** The last derived signing key; one per day, region and service is all a key normally needs. */
  SigningKey cachedSigningKey() {
    return cached;
  }

  void cacheSigningKey(SigningKey key) {
    cached = key;
  }

  record SigningKey(String scope, byte[] key) {}

  @Override
  public String toString() {
    return "AccessKey[" + accessKeyId + ", " + identity.arn() + (temporary() ? ", expires " + expiration : "") + "]";
  }
}

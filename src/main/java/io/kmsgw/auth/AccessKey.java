package io.kmsgw.auth;

import io.kmsgw.domain.Caller;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * An access key: its id, its secret, and the identity it signs for. The secret stays in this object; it is
 * never logged, and {@link #toString()} leaves it out.
 */
public final class AccessKey {
  private final String accessKeyId;
  private final byte[] secret;
  private final Caller identity;
  private volatile SigningKey cached;

  public AccessKey(String accessKeyId, String secretAccessKey, Caller identity) {
    this.accessKeyId = Objects.requireNonNull(accessKeyId);
    this.secret = ("AWS4" + Objects.requireNonNull(secretAccessKey)).getBytes(StandardCharsets.UTF_8);
    this.identity = Objects.requireNonNull(identity);
  }

  public String accessKeyId() {
    return accessKeyId;
  }

  public Caller identity() {
    return identity;
  }

  /** {@code "AWS4" + secret}, the seed of the SigV4 key derivation. */
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
    return "AccessKey[" + accessKeyId + ", " + identity.arn() + "]";
  }
}

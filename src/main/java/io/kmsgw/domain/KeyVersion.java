package io.kmsgw.domain;

import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;

/**
 * One generation of a CMK's material: a token object in the HSM named by {@code hsmLabel} and {@code hsmId}.
 * The material itself never leaves the HSM; this is only where to find it.
 *
 * @param rotationType how this version came to be: null for the first, {@code AUTOMATIC} or {@code ON_DEMAND}
 */
public record KeyVersion(int version, String hsmLabel, byte[] hsmId, Instant createdAt, String rotationType) {
  public KeyVersion {
    Objects.requireNonNull(hsmLabel);
    hsmId = hsmId.clone();
    Objects.requireNonNull(createdAt);
  }

  @Override
  public byte[] hsmId() {
    return hsmId.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof KeyVersion v
        && v.version == version
        && v.hsmLabel.equals(hsmLabel)
        && Arrays.equals(v.hsmId, hsmId)
        && v.createdAt.equals(createdAt)
        && Objects.equals(v.rotationType, rotationType);
  }

  @Override
  public int hashCode() {
    return Objects.hash(version, hsmLabel, Arrays.hashCode(hsmId), createdAt, rotationType);
  }
}

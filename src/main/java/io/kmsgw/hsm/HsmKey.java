package io.kmsgw.hsm;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * Names a key object in the token by its {@code CKA_LABEL} and {@code CKA_ID}. Holds no material and no
 * session-specific handle: the adapter resolves (and caches) handles itself.
 */
public record HsmKey(String label, byte[] id) {
  public HsmKey {
    Objects.requireNonNull(label);
    id = id.clone();
  }

  @Override
  public byte[] id() {
    return id.clone();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof HsmKey k && k.label.equals(label) && Arrays.equals(k.id, id);
  }

  @Override
  public int hashCode() {
    return label.hashCode() * 31 + Arrays.hashCode(id);
  }

  @Override
  public String toString() {
    return "HsmKey[" + label + ", id=" + HexFormat.of().formatHex(id) + "]";
  }
}

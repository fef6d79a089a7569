package io.kmsgw.hsm;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The mechanisms a token offers, read at each connection ({@code C_GetMechanismList}, {@code C_GetMechanismInfo}),
 * and what they make possible: the {@link Capability}s, and the hashes RSA-OAEP takes, which no mechanism info tells
 * (SoftHSM2 2.6.1 lists {@code CKM_RSA_PKCS_OAEP} and refuses every hash but SHA-1), so the adapter probes them.
 *
 * @param listed every mechanism the token lists, in its order
 * @param oaepHashes the hashes ({@code SHA-1}, {@code SHA-256}, ...) with which the token accepted RSA-OAEP when
 *     probed; empty when it has no OAEP
 */
public record TokenMechanisms(List<Mechanism> listed, Set<String> oaepHashes) {
  /** One listed mechanism with its info; {@code name} is the standard's name or the number in hex. */
  public record Mechanism(long code, String name, long minKeySize, long maxKeySize, long flags) {
    public boolean has(long requiredFlags) {
      return (flags & requiredFlags) == requiredFlags;
    }
  }

  /** Nothing discovered (a connection that has not got this far). */
  public static final TokenMechanisms NONE = new TokenMechanisms(List.of(), Set.of());

  public TokenMechanisms {
    listed = List.copyOf(listed);
    oaepHashes = java.util.Collections.unmodifiableSortedSet(new java.util.TreeSet<>(oaepHashes));
  }

  public Optional<Mechanism> find(long code) {
    return listed.stream().filter(m -> m.code() == code).findFirst();
  }

  /** The token lists the capability's mechanism with the flags it needs. */
  public boolean offers(Capability c) {
    return find(c.mechanism()).map(m -> m.has(c.requiredFlags())).orElse(false);
  }

  public Set<Capability> capabilities() {
    Set<Capability> out = EnumSet.noneOf(Capability.class);
    for (Capability c : Capability.values()) {
      if (offers(c)) {
        out.add(c);
      }
    }
    return out;
  }

  /** Those of {@code required} the token does not offer, in order. */
  public List<Capability> missing(Set<Capability> required) {
    List<Capability> out = new ArrayList<>();
    for (Capability c : required) {
      if (!offers(c)) {
        out.add(c);
      }
    }
    return out;
  }

  /**
   * What the health details and {@code kmsgw keystore list} show: the capabilities by name, their key sizes as the token
   * reports them, the OAEP hashes, and the number of mechanisms listed.
   */
  public Map<String, Object> summary() {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("capabilities", capabilities().stream().map(Enum::name).toList());
    // as the token reports them: bytes for AES and HMAC, bits for RSA and EC (PKCS#11 v2.40 per mechanism)
    Map<String, String> sizes = new LinkedHashMap<>();
    for (Capability c : capabilities()) {
      find(c.mechanism()).ifPresent(m -> sizes.put(c.name(), m.minKeySize() + "-" + m.maxKeySize()));
    }
    doc.put("keySizes", sizes);
    doc.put("rsaOaepHashes", List.copyOf(oaepHashes));
    doc.put("mechanismsListed", listed.size());
    return doc;
  }
}

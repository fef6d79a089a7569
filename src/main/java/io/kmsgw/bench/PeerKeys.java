package io.kmsgw.bench;

import java.security.GeneralSecurityException;
import java.security.KeyPairGenerator;
import java.security.spec.ECGenParameterSpec;
import java.util.ArrayList;
import java.util.List;

/** The other side of the DeriveSharedSecret scenario: P-256 public keys the JDK makes, as DER SubjectPublicKeyInfo. */
final class PeerKeys {
  private PeerKeys() {}

  /** {@code count} fresh P-256 public keys (X.509 SubjectPublicKeyInfo, as DeriveSharedSecret's PublicKey takes). */
  static List<byte[]> p256(int count) {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      List<byte[]> keys = new ArrayList<>();
      for (int i = 0; i < count; i++) {
        keys.add(g.generateKeyPair().getPublic().getEncoded());
      }
      return keys;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("this JDK cannot make P-256 keys", e);
    }
  }
}

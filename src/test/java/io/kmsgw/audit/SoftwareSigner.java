package io.kmsgw.audit;

import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.concurrent.atomic.AtomicBoolean;

/** A P-256 key in memory standing in for the HSM's signing key, for tests that need no HSM. */
final class SoftwareSigner implements DigestSigner {
  private final KeyPair pair;
  /** Tests switch the key off to stand for a disconnected HSM. */
  final AtomicBoolean ready = new AtomicBoolean(true);

  SoftwareSigner() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      pair = g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public byte[] publicKey() {
    return ready.get() ? pair.getPublic().getEncoded() : null;
  }

  @Override
  public byte[] sign(byte[] message) throws GeneralSecurityException {
    Signature s = Signature.getInstance("SHA256withECDSA");
    s.initSign(pair.getPrivate());
    s.update(message);
    return s.sign();
  }

  String fingerprint() {
    return Hashes.sha256Hex(pair.getPublic().getEncoded());
  }
}

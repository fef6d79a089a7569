package io.kmsgw.audit;

/**
 * Signs digest records. The gateway's signer holds its ECDSA P-256 private key in the HSM; tests use a software key.
 * Called only on the audit writer thread, which may block.
 */
public interface DigestSigner {
  /** The public key as X.509 SubjectPublicKeyInfo DER, or null while the key cannot be used (HSM not connected). */
  byte[] publicKey();

  /**
   * A {@code SHA256withECDSA} signature (DER) over the message, verifiable with the JDK from {@link #publicKey()}
   * alone.
   *
   * @throws Exception when the key cannot be used now; the digest is tried again later
   */
  byte[] sign(byte[] message) throws Exception;

  /** A signer that is never ready: events are still written and chained, and digests wait. */
  DigestSigner NONE = new DigestSigner() {
    @Override
    public byte[] publicKey() {
      return null;
    }

    @Override
    public byte[] sign(byte[] message) {
      throw new IllegalStateException("no audit signing key");
    }
  };
}

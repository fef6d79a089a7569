package io.kmsgw.hsm;

/**
 * The key agreement part of the HSM port: ECDH with the private half of a KEY_AGREEMENT key pair, in the HSM.
 */
public interface AgreementKeys {
  /**
   * The raw ECDH shared secret (the x coordinate of the shared point, {@code secretLength} bytes) of the key's
   * private half and the peer's point. The HSM derives it ({@code CKM_ECDH1_DERIVE}, no KDF) into a session object
   * that exists only until its value is read once. The point must already be validated as a point of the key's
   * curve: the HSM is not trusted to check it.
   *
   * @param peerPoint the peer's public point, uncompressed ({@code 04 || X || Y})
   * @param secretLength the curve's field size in bytes (32, 48, 66)
   */
  byte[] deriveSharedSecret(HsmKey key, byte[] peerPoint, int secretLength) throws HsmException;
}

package io.kmsgw.hsm;

import java.util.Arrays;

/**
 * Names the IV an HSM chose for an AES-GCM encryption when the PKCS#11 wrapper cannot show it (ipkcs11wrapper's JNI
 * never copies {@code CK_GCM_PARAMS.pIv} back to Java; see docs/testing.md).
 *
 * <p>For a 96-bit IV, GCM encrypts the first plaintext block with the keystream block {@code E_K(IV || 00000002)}
 * (NIST SP 800-38D, 7.1: J0 = IV || 0^31 || 1, and the first block uses inc32(J0)). So for a plaintext of at least 16
 * bytes, {@code C1 XOR P1} is that block, and its AES block decryption under the same key (done inside the HSM with
 * {@code CKM_AES_ECB}) is {@code IV || 00000002}. This class checks what came back; it never sees key material.
 */
public final class GcmIvRecovery {
  /** The bytes of the first plaintext and ciphertext block the recovery needs. */
  public static final int BLOCK = 16;
  private static final byte[] SECOND_COUNTER = {0, 0, 0, 2};
  private static final String FLAG = "hsm.capabilities.gcm_iv_from_hsm";

  /** The AES-GCM tag every key store uses. */
  private static final int TAG = 16;
  /** Thales Luna in FIPS mode appends a 16-byte IV after the tag (its SDK reference, mechanism CKM_AES_GCM). */
  private static final int APPENDED_IV = 16;

  private GcmIvRecovery() {}

  /**
   * Checks that an AES-GCM encryption gave back the ciphertext and its tag and nothing else, whichever the IV mode:
   * an HSM that appends an IV of its own (Thales Luna with HSM policy 12, "Allow non-FIPS algorithms", off) gives
   * longer output, which no blob layout of kmsgw's carries.
   *
   * @throws HsmException ({@link HsmErrorKind#GCM_IV_MODE}) naming Luna and policy 12, or the lengths
   */
  public static void checkSealedLength(int sealedLength, int plaintextLength) throws HsmException {
    if (sealedLength == plaintextLength + TAG) {
      return;
    }
    if (sealedLength == plaintextLength + TAG + APPENDED_IV) {
      throw new HsmException(HsmErrorKind.GCM_IV_MODE, "the HSM appended an AES-GCM IV of its own to the "
          + "ciphertext, as Thales Luna does in FIPS mode (HSM policy 12, \"Allow non-FIPS algorithms\", off); kmsgw "
          + "cannot seal with that: turn policy 12 on, so that the HSM takes the gateway's IV, and set " + FLAG
          + " to false (docs/hsm-vendors.md); no ciphertext was handed out");
    }
    throw new HsmException(HsmErrorKind.GCM_IV_MODE, "the HSM's AES-GCM output is " + sealedLength + " bytes for "
        + plaintextLength + " bytes of plaintext (expected the plaintext and a 16-byte tag); no ciphertext was "
        + "handed out");
  }

  /** {@code C1 XOR P1}: the first keystream block, to be block-decrypted in the HSM. */
  public static byte[] firstKeystreamBlock(byte[] plaintext, byte[] ciphertextAndTag) {
    if (plaintext.length < BLOCK || ciphertextAndTag.length < BLOCK) {
      throw new IllegalArgumentException("the IV recovery needs a first block of 16 bytes");
    }
    byte[] block = new byte[BLOCK];
    for (int i = 0; i < BLOCK; i++) {
      block[i] = (byte) (plaintext[i] ^ ciphertextAndTag[i]);
    }
    return block;
  }

  /**
   * The IV from the decrypted counter block {@code IV || 00000002}.
   *
   * @param callerIv the IV buffer that was passed to the HSM (12 zero bytes)
   * @throws HsmException when the block does not end in 00000002 (the HSM did not use a 96-bit IV the usual way: no
   *     one could name the IV) or when the HSM used the caller's buffer (it does not generate IVs, although the flag
   *     says it does)
   */
  public static byte[] ivFromCounterBlock(byte[] counterBlock, byte[] callerIv) throws HsmException {
    if (counterBlock == null || counterBlock.length != BLOCK
        || !Arrays.equals(counterBlock, 12, 16, SECOND_COUNTER, 0, 4)) {
      throw new HsmException(HsmErrorKind.GCM_IV_MODE, "the HSM's AES-GCM encryption did not use a 96-bit IV in "
          + "the standard way (its first counter block is not IV || 00000002), so the IV it chose cannot be named; "
          + "refusing to hand out ciphertext nobody could decrypt (" + FLAG + " is true)");
    }
    byte[] iv = Arrays.copyOf(counterBlock, 12);
    if (Arrays.equals(iv, callerIv)) {
      throw new HsmException(HsmErrorKind.GCM_IV_MODE, "the HSM used the IV the gateway passed instead of generating "
          + "one, but " + FLAG + " is true: this HSM takes caller IVs; set " + FLAG + " to false");
    }
    return iv;
  }
}

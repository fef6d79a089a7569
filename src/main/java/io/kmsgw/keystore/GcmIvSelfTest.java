package io.kmsgw.keystore;

import io.kmsgw.hsm.GcmSealed;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmSession;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The self-test every connection of a key store runs before it serves: it seals a probe with AES-GCM the way the
 * store's profile says (caller IV, or HSM-generated IV) under a temporary session key, and opens it again. An HSM that
 * chooses its own IV while {@code gcm_iv_from_hsm} is false (or takes the caller's while it is true) would otherwise
 * answer every Encrypt with a blob no Decrypt can open: silent data loss (issue #16). No token object is created.
 */
public final class GcmIvSelfTest {
  static final String FLAG = "hsm.capabilities.gcm_iv_from_hsm";
  /** The same flag where a custom key store's HSM is defined. */
  static final String CLUSTER_FLAG = "clusters.<id>.capabilities.gcm_iv_from_hsm";
  private static final byte[] AAD = "kmsgw gcm iv self-test".getBytes(StandardCharsets.US_ASCII);
  /** Two blocks: the HSM-IV recovery needs 16 bytes, the rest makes a wrong IV show in the tag and the text. */
  private static final byte[] PROBE = "kmsgw self-test probe: 32 bytes".getBytes(StandardCharsets.US_ASCII);

  private GcmIvSelfTest() {}

  /** Runs the self-test on one session of a freshly connected HSM; throws an error that names the flag. */
  public static void run(Hsm hsm) throws HsmException {
    hsm.withSession(s -> s.withTemporaryAesKey(key -> {
      check(s, key);
      return null;
    }));
  }

  private static void check(HsmSession s, io.kmsgw.hsm.HsmKey key) throws HsmException {
    byte[] opened;
    if (s.gcmIvFromHsm()) {
      GcmSealed sealed;
      try {
        sealed = s.encryptAesGcmHsmIv(key, AAD, PROBE);
      } catch (HsmException e) {
        throw refused("sealing a probe with an HSM-generated IV failed: " + e.getMessage(), e);
      }
      opened = open(s, key, sealed.iv(), sealed.ciphertextAndTag(), true);
    } else {
      byte[] iv = s.generateRandom(12);
      byte[] sealed;
      try {
        sealed = s.encryptAesGcm(key, iv, AAD, PROBE);
      } catch (HsmException e) {
        if (e.kind().sessionFatal() || e.kind().moduleFatal()) {
          throw e;
        }
        if (e.kind() == HsmErrorKind.GCM_IV_MODE) {
          throw refused(e.getMessage(), e); // Luna in FIPS mode appends an IV of its own
        }
        // CloudHSM refuses a pIv that is not zeroed: a token that generates its IVs
        throw refused("the HSM refused an AES-GCM encryption with an IV the gateway chose (" + e.getMessage()
            + "): it generates its own IVs; set " + FLAG + ": true (KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM=true)", e);
      }
      opened = open(s, key, iv, sealed, false);
    }
    if (!Arrays.equals(PROBE, opened)) {
      throw refused("the probe sealed at connection opened to other bytes; check " + FLAG, null);
    }
  }

  private static byte[] open(HsmSession s, io.kmsgw.hsm.HsmKey key, byte[] iv, byte[] sealed, boolean ivFromHsm)
      throws HsmException {
    try {
      return s.decryptAesGcm(key, iv, AAD, sealed);
    } catch (HsmException e) {
      if (e.kind() != HsmErrorKind.BAD_CIPHERTEXT) {
        throw e;
      }
      throw refused(ivFromHsm
          ? "a probe sealed with the IV the gateway recovered from the HSM does not open; " + FLAG + " is true"
          : "a probe sealed with an IV the gateway chose does not open with that IV: the HSM used an IV of its own; "
              + "set " + FLAG + ": true (KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM=true)", e);
    }
  }

  private static HsmException refused(String why, Throwable cause) {
    return new HsmException(HsmErrorKind.UNSUPPORTED, -1, null,
        "GCM IV self-test failed (the store's profile does not match the HSM, " + FLAG + "; for a custom key store "
            + CLUSTER_FLAG + "): " + why, cause);
  }
}

package io.kmsgw.keystore;

import io.kmsgw.domain.KeyRecord;
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
  /** Where the flag is set: the default key store's {@code hsm:} section, or a custom key store's cluster. */
  record Flag(String key, String env) {
    static Flag of(String keyStoreId) {
      return KeyRecord.DEFAULT_KEY_STORE.equals(keyStoreId)
          ? new Flag("hsm.capabilities.gcm_iv_from_hsm", "KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM")
          : new Flag("clusters.<id>.capabilities.gcm_iv_from_hsm (the cluster of key store " + keyStoreId + ")",
              "KMSGW_CLUSTERS_<ID>_CAPABILITIES_GCM_IV_FROM_HSM");
    }

    String setTrue() {
      return "set " + key + ": true (" + env + "=true)";
    }
  }
  private static final byte[] AAD = "kmsgw gcm iv self-test".getBytes(StandardCharsets.US_ASCII);
  /** Two blocks: the HSM-IV recovery needs 16 bytes, the rest makes a wrong IV show in the tag and the text. */
  private static final byte[] PROBE = "kmsgw self-test probe: 32 bytes".getBytes(StandardCharsets.US_ASCII);

  private GcmIvSelfTest() {}

  /**
   * Runs the self-test on one session of a freshly connected HSM; throws an error that names the flag where this key
   * store's configuration sets it.
   */
  public static void run(String keyStoreId, Hsm hsm) throws HsmException {
    Flag flag = Flag.of(keyStoreId);
    hsm.withSession(s -> s.withTemporaryAesKey(key -> {
      check(s, key, flag);
      return null;
    }));
  }

  private static void check(HsmSession s, io.kmsgw.hsm.HsmKey key, Flag flag) throws HsmException {
    byte[] opened;
    if (s.gcmIvFromHsm()) {
      GcmSealed sealed;
      try {
        sealed = s.encryptAesGcmHsmIv(key, AAD, PROBE);
      } catch (HsmException e) {
        throw refused(flag, "sealing a probe with an HSM-generated IV failed: " + e.getMessage(), e);
      }
      opened = open(s, key, sealed.iv(), sealed.ciphertextAndTag(), flag, true);
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
          throw refused(flag, e.getMessage(), e); // Luna in FIPS mode appends an IV of its own
        }
        // CloudHSM refuses a pIv that is not zeroed: a token that generates its IVs
        throw refused(flag, "the HSM refused an AES-GCM encryption with an IV the gateway chose (" + e.getMessage()
            + "): it generates its own IVs; " + flag.setTrue(), e);
      }
      opened = open(s, key, iv, sealed, flag, false);
    }
    if (!Arrays.equals(PROBE, opened)) {
      throw refused(flag, "the probe sealed at connection opened to other bytes; check " + flag.key(), null);
    }
  }

  private static byte[] open(HsmSession s, io.kmsgw.hsm.HsmKey key, byte[] iv, byte[] sealed, Flag flag,
      boolean ivFromHsm) throws HsmException {
    try {
      return s.decryptAesGcm(key, iv, AAD, sealed);
    } catch (HsmException e) {
      if (e.kind() != HsmErrorKind.BAD_CIPHERTEXT) {
        throw e;
      }
      throw refused(flag, ivFromHsm
          ? "a probe sealed with the IV the gateway recovered from the HSM does not open; " + flag.key() + " is true"
          : "a probe sealed with an IV the gateway chose does not open with that IV: the HSM used an IV of its own; "
              + flag.setTrue(), e);
    }
  }

  private static HsmException refused(Flag flag, String why, Throwable cause) {
    return new HsmException(HsmErrorKind.UNSUPPORTED, -1, null,
        "GCM IV self-test failed (the store's profile does not match the HSM, " + flag.key() + "): " + why, cause);
  }
}

package io.kmsgw.keystore;

import io.kmsgw.domain.KeyRecord;
import io.kmsgw.hsm.Capability;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.TokenMechanisms;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * What a key store's token must offer before the store is CONNECTED, judged on the mechanisms discovered at
 * connection: every store seals and opens with AES-GCM under AES keys it generates (symmetric CMKs, sealed PINs and
 * secrets); the default store also signs the audit trail's digests with an EC P-256 key ({@code CKM_ECDSA} over a
 * digest hashed in Java). Key specs that need more (HMAC, RSA, ECC) are checked when they are asked for.
 */
final class MechanismCheck {
  static final Set<Capability> EVERY_STORE = EnumSet.of(Capability.AES_KEY_GEN, Capability.AES_GCM);
  static final Set<Capability> DEFAULT_STORE =
      EnumSet.of(Capability.AES_KEY_GEN, Capability.AES_GCM, Capability.EC_KEY_GEN, Capability.ECDSA);

  private MechanismCheck() {}

  static Set<Capability> required(String keyStoreId) {
    return KeyRecord.DEFAULT_KEY_STORE.equals(keyStoreId) ? DEFAULT_STORE : EVERY_STORE;
  }

  /**
   * @return the connection's mechanisms
   * @throws HsmException ({@link HsmErrorKind#UNSUPPORTED}) naming every missing mechanism
   */
  static TokenMechanisms require(String keyStoreId, Hsm hsm) throws HsmException {
    TokenMechanisms m = hsm.mechanisms();
    List<Capability> missing = m.missing(required(keyStoreId));
    if (!missing.isEmpty()) {
      throw new HsmException(HsmErrorKind.UNSUPPORTED, "the token does not offer what the key store needs: "
          + missing.stream().map(Capability::requirement).collect(Collectors.joining("; "))
          + " (it lists " + m.listed().size() + " mechanisms)");
    }
    return m;
  }
}

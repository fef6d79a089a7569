package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA224_HMAC;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA256_HMAC;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA384_HMAC;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_SHA512_HMAC;

import io.kmsgw.domain.Algorithms;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.MacKeys;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import org.xipki.pkcs11.wrapper.Mechanism;

/**
 * The {@link MacKeys} part of a borrowed PKCS#11 session: {@code C_Sign} with the HMAC mechanism of the algorithm
 * on the HMAC key's cached handle (SoftHSM2 and NSS both have the four, PKCS#11 v2.40 §2.20).
 */
final class Pkcs11Mac implements MacKeys {
  private final ObjectCalls calls;

  Pkcs11Mac(ObjectCalls calls) {
    this.calls = calls;
  }

  static long mechanism(Algorithms.Mac algorithm) {
    return switch (algorithm) {
      case HMAC_SHA_224 -> CKM_SHA224_HMAC;
      case HMAC_SHA_256 -> CKM_SHA256_HMAC;
      case HMAC_SHA_384 -> CKM_SHA384_HMAC;
      case HMAC_SHA_512 -> CKM_SHA512_HMAC;
    };
  }

  @Override
  public byte[] hmac(HsmKey key, Algorithms.Mac algorithm, byte[] message) throws HsmException {
    Mechanism mechanism = new Mechanism(mechanism(algorithm));
    return calls.withSecretKey(key, Call.SIGN, h -> calls.session().signSingle(mechanism, h, message));
  }
}

package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKA_VALUE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKD_NULL;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_GENERIC_SECRET;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_ECDH1_DERIVE;

import io.kmsgw.hsm.AgreementKeys;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.params.ECDH1_DERIVE_PARAMS;

/**
 * The {@link AgreementKeys} part of a borrowed PKCS#11 session: {@code C_DeriveKey} with {@code CKM_ECDH1_DERIVE}
 * ({@code CKD_NULL}: the raw x coordinate, as KMS returns it) on the private half's cached handle, into a session
 * object that is read once ({@code C_GetAttributeValue(CKA_VALUE)}) and destroyed before the call returns.
 *
 * <p>The derived object must be readable, so it is the one object kmsgw makes that is not sensitive and is
 * extractable: a session object (never {@code CKA_TOKEN}), usable for nothing, that lives for two calls. If it cannot
 * be destroyed, the session is reported broken, and closing it destroys the object (PKCS#11 v2.40 §4.4: session
 * objects end with their session).
 */
final class Pkcs11Agreement implements AgreementKeys {
  private final ObjectCalls calls;

  Pkcs11Agreement(ObjectCalls calls) {
    this.calls = calls;
  }

  /** The template of the derived secret: a readable generic secret of the field's size, for nothing but reading. */
  static AttributeVector secretTemplate(int secretLength) {
    // SoftHSM2 2.6.1 and NSS 3.87 both derive the whole x coordinate without CKA_VALUE_LEN and both accept this
    // readable session template (measured, AgreementServiceTest); the length is given anyway, since PKCS#11 lets a
    // token require it for a generic secret, and the answer is checked against it
    return AttributeVector.newSecretKey(CKK_GENERIC_SECRET)
        .token(false).sensitive(false).extractable(true)
        .encrypt(false).decrypt(false).sign(false).verify(false).wrap(false).unwrap(false).derive(false)
        .valueLen(secretLength);
  }

  @Override
  public byte[] deriveSharedSecret(HsmKey key, byte[] peerPoint, int secretLength) throws HsmException {
    Session session = calls.session();
    Mechanism ecdh = new Mechanism(CKM_ECDH1_DERIVE, new ECDH1_DERIVE_PARAMS(CKD_NULL, null, peerPoint));
    boolean[] leftBehind = {false};
    byte[] secret;
    try {
      secret = calls.withPrivateKey(key, Call.DERIVE, h -> {
        long derived = session.deriveKey(ecdh, h, secretTemplate(secretLength));
        try {
          return session.getAttrValues(derived, CKA_VALUE).value();
        } finally {
          try {
            session.destroyObject(derived);
          } catch (PKCS11Exception e) {
            leftBehind[0] = true;
          }
        }
      });
    } catch (HsmException e) {
      throw leftBehind[0] ? leftBehind(key, e) : e;
    }
    if (leftBehind[0]) {
      if (secret != null) {
        java.util.Arrays.fill(secret, (byte) 0);
      }
      throw leftBehind(key, null);
    }
    if (secret == null || secret.length != secretLength) {
      throw new HsmException(HsmErrorKind.OTHER, "C_DeriveKey (ECDH) with " + key.label() + " gave "
          + (secret == null ? "no value" : secret.length + " bytes") + ", not " + secretLength);
    }
    return secret;
  }

  /** A derived secret that could not be destroyed: the session is reported broken, and closing it destroys it. */
  private static HsmException leftBehind(HsmKey key, HsmException cause) {
    return new HsmException(HsmErrorKind.SESSION_INVALID, -1, null, "the derived ECDH secret of " + key.label()
        + " could not be destroyed; closing its session destroys it", cause);
  }
}

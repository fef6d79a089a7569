package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_AES_KEY_GEN;

import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;

/** Makes HSM keys as an operator would (with usage attributes of their choosing), for XKS tests. */
public final class TestKeys {
  private TestKeys() {}

  /** A sensitive, non-extractable AES token key with the label and these usage attributes. */
  public static void generateAes(Hsm hsm, String label, int lengthBytes, boolean encrypt, boolean decrypt)
      throws HsmException {
    hsm.withSession(s -> {
      try {
        ((Pkcs11Session) s).raw().generateKey(new Mechanism(CKM_AES_KEY_GEN), AttributeVector.newAESSecretKey()
            .token(true).private_(true).sensitive(true).extractable(false).encrypt(encrypt).decrypt(decrypt)
            .wrap(false).unwrap(false).sign(false).verify(false).derive(false)
            .valueLen(lengthBytes).label(label));
      } catch (PKCS11Exception e) {
        throw new HsmException(HsmErrorKind.OTHER, "C_GenerateKey failed: " + e.getMessage());
      }
      return null;
    });
  }

  /** Sets CKA_ENCRYPT and CKA_DECRYPT of the secret token keys labelled so, as an operator could in the HSM. */
  public static void setUsage(Hsm hsm, String label, boolean encrypt, boolean decrypt) throws HsmException {
    hsm.withSession(s -> {
      try {
        Session raw = ((Pkcs11Session) s).raw();
        for (long h : raw.findObjectsSingle(new AttributeVector()
            .class_(org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_SECRET_KEY).token(true).label(label), 16)) {
          raw.setAttributeValues(h, new AttributeVector().encrypt(encrypt).decrypt(decrypt));
        }
      } catch (PKCS11Exception e) {
        throw new HsmException(HsmErrorKind.OTHER, "C_SetAttributeValue failed: " + e.getMessage());
      }
      return null;
    });
  }

  /** Destroys the secret token keys labelled so, as an operator could in the HSM. */
  public static void destroy(Hsm hsm, String label) throws HsmException {
    hsm.withSession(s -> {
      for (var info : s.describeSecretKeys(label)) {
        s.destroy(info.key());
      }
      return null;
    });
  }

  /**
   * Replaces an HMAC key's generic secret with one of a value the test knows (same label and id, sign and verify
   * only), so that an outside implementation of HMAC can judge what the HSM computes with it.
   */
  public static void replaceWithKnownSecret(Hsm hsm, io.kmsgw.hsm.HsmKey key, byte[] value) throws HsmException {
    hsm.withSession(s -> {
      s.destroy(key);
      try {
        ((Pkcs11Session) s).raw().createObject(AttributeVector.newSecretKey(
                org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_GENERIC_SECRET)
            .token(true).private_(true).sensitive(true).extractable(false).sign(true).verify(true)
            .encrypt(false).decrypt(false).wrap(false).unwrap(false).derive(false)
            .value(value).label(key.label()).id(key.id()));
      } catch (PKCS11Exception e) {
        throw new HsmException(HsmErrorKind.OTHER, "C_CreateObject failed: " + e.getMessage());
      }
      return null;
    });
  }

  /**
   * The secret keys that are session objects (CKA_TOKEN false) on the token, as one of the application's sessions
   * sees them (PKCS#11 v2.40 §4.4: session objects are visible to every session of the application that made them);
   * with {@code destroy}, destroyed as well.
   */
  public static int sessionSecretKeys(Hsm hsm, boolean destroy) throws HsmException {
    return hsm.withSession(s -> {
      try {
        Session raw = ((Pkcs11Session) s).raw();
        long[] found = raw.findObjectsSingle(new AttributeVector()
            .class_(org.xipki.pkcs11.wrapper.PKCS11Constants.CKO_SECRET_KEY).token(false), 64);
        if (destroy) {
          for (long h : found) {
            raw.destroyObject(h);
          }
        }
        return found.length;
      } catch (PKCS11Exception e) {
        throw new HsmException(HsmErrorKind.OTHER, "C_FindObjects failed: " + e.getMessage());
      }
    });
  }

  /** Leaves a generic secret session object on one of the application's sessions (a control for the search). */
  public static void leaveSessionSecret(Hsm hsm) throws HsmException {
    hsm.withSession(s -> {
      try {
        ((Pkcs11Session) s).raw().createObject(AttributeVector.newSecretKey(
                org.xipki.pkcs11.wrapper.PKCS11Constants.CKK_GENERIC_SECRET)
            .token(false).sensitive(false).extractable(true).value(new byte[32]));
      } catch (PKCS11Exception e) {
        throw new HsmException(HsmErrorKind.OTHER, "C_CreateObject failed: " + e.getMessage());
      }
      return null;
    });
  }
}

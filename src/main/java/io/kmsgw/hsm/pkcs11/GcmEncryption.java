package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKG_NO_GENERATE;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_AES_GCM;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_BUFFER_TOO_SMALL;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKR_GENERAL_ERROR;

import java.util.logging.Logger;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.params.GCM_MESSAGE_PARAMS;
import org.xipki.pkcs11.wrapper.params.GCM_PARAMS;

/**
 * AES-GCM encryption with the caller's IV, one per connection: through {@code C_Encrypt}, or, on a token whose
 * {@code C_Encrypt} cannot return the tag, through PKCS#11 3.0's message-based encryption.
 *
 * <p>ipkcs11wrapper's {@code C_Encrypt} asks the token for the output size ({@code pEncryptedData} NULL) and then
 * encrypts into a buffer of that size. NSS's softoken (3.87, measured) answers the size query for
 * {@code CKM_AES_GCM} with the plaintext length, without the 16-byte tag, so the encryption itself fails with
 * {@code CKR_BUFFER_TOO_SMALL} (which ends NSS's operation; the session stays usable). Its multi-part
 * {@code C_EncryptUpdate} answers {@code CKR_OPERATION_NOT_INITIALIZED} for GCM. Its message-based encryption
 * ({@code C_MessageEncryptInit}, {@code C_EncryptMessage}: the mechanism info has {@code CKF_MESSAGE_ENCRYPT}) takes
 * the IV and returns the tag in {@code CK_GCM_MESSAGE_PARAMS.pTag}, which the wrapper copies back. So a
 * {@code CKR_BUFFER_TOO_SMALL} is answered by trying the message functions, and when they work the connection uses them
 * from then on; SoftHSM2 never answers it, and a token without the message functions (PKCS#11 2.40:
 * {@code CKR_FUNCTION_NOT_SUPPORTED}, measured on SoftHSM2) keeps {@code C_Encrypt}. Decryption needs no detour:
 * the size query for a GCM decryption returns at least the plaintext length everywhere measured.
 */
final class GcmEncryption {
  private static final Logger LOG = Logger.getLogger(GcmEncryption.class.getName());
  static final int TAG_BITS = 128;

  private final String tokenLabel;
  private volatile boolean viaMessages;

  GcmEncryption(String tokenLabel) {
    this.tokenLabel = tokenLabel;
  }

  /** Ciphertext followed by the 16-byte tag. */
  byte[] encrypt(Session session, long key, byte[] iv, byte[] aad, byte[] plaintext) throws PKCS11Exception {
    if (viaMessages) {
      return encryptMessage(session, key, iv, aad, plaintext);
    }
    try {
      return session.encryptSingle(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(iv, aad, TAG_BITS)), key, plaintext);
    } catch (PKCS11Exception e) {
      if (e.getErrorCode() != CKR_BUFFER_TOO_SMALL) {
        throw e;
      }
      byte[] sealed;
      try {
        sealed = encryptMessage(session, key, iv, aad, plaintext);
      } catch (PKCS11Exception messages) {
        // a token without the message functions (PKCS#11 2.40: CKR_FUNCTION_NOT_SUPPORTED) keeps C_Encrypt, and the
        // caller sees its own refusal
        e.addSuppressed(messages);
        throw e;
      }
      viaMessages = true;
      LOG.info(() -> "token '" + tokenLabel + "' sizes AES-GCM output without the tag (CKR_BUFFER_TOO_SMALL from "
          + "C_Encrypt); encrypting through C_EncryptMessage from now on");
      return sealed;
    }
  }

  /** Whether this connection encrypts through the message functions (after the token's first refusal). */
  boolean viaMessages() {
    return viaMessages;
  }

  private static byte[] encryptMessage(Session session, long key, byte[] iv, byte[] aad, byte[] plaintext)
      throws PKCS11Exception {
    GCM_MESSAGE_PARAMS params = new GCM_MESSAGE_PARAMS(iv.clone(), 0, CKG_NO_GENERATE, new byte[TAG_BITS / 8]);
    session.messageEncryptInit(new Mechanism(CKM_AES_GCM), key);
    byte[] ciphertext;
    try {
      ciphertext = session.encryptMessage(params, aad, plaintext);
    } catch (PKCS11Exception e) {
      try {
        session.messageEncryptFinal();
      } catch (PKCS11Exception ended) {
        e.addSuppressed(ended);
      }
      throw e;
    }
    session.messageEncryptFinal();
    byte[] tag = params.getParams().pTag;
    if (tag == null || tag.length != TAG_BITS / 8) {
      throw new PKCS11Exception(CKR_GENERAL_ERROR, "C_EncryptMessage returned no 16-byte tag");
    }
    byte[] out = new byte[ciphertext.length + tag.length];
    System.arraycopy(ciphertext, 0, out, 0, ciphertext.length);
    System.arraycopy(tag, 0, out, ciphertext.length, tag.length);
    return out;
  }
}

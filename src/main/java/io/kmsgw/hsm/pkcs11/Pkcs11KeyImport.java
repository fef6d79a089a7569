package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.*;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeySpecTable;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.KeyImport;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import java.math.BigInteger;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.KeyPairTemplate;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11KeyPair;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.params.RSA_PKCS_OAEP_PARAMS;

/**
 * The {@link KeyImport} part of a borrowed PKCS#11 session: RSA wrapping key pairs ({@code CKM_RSA_PKCS_KEY_PAIR_GEN})
 * and {@code C_UnwrapKey} with {@code CKM_RSA_PKCS_OAEP} into an AES key object, whose check value is
 * {@code CKM_AES_ECB} of a zero block, all inside the token.
 */
final class Pkcs11KeyImport implements KeyImport {
  private static final BigInteger F4 = BigInteger.valueOf(65537);

  private final Session session;
  private final CkrMapping ckr;
  private final ObjectCalls calls;
  private final KeyHandles handles;

  Pkcs11KeyImport(ObjectCalls calls, KeyHandles handles) {
    this.session = calls.session();
    this.ckr = calls.ckr();
    this.calls = calls;
    this.handles = handles;
  }

  @Override
  public HsmKey generateWrappingKeyPair(int bits, String label, byte[] id) throws HsmException {
    AttributeVector priv = AttributeVector.newPrivateKey(CKK_RSA)
        .token(true).private_(true).sensitive(true).extractable(false)
        .unwrap(true).decrypt(false).sign(false).derive(false)
        .label(label).id(id);
    AttributeVector pub = AttributeVector.newPublicKey(CKK_RSA)
        .token(true).private_(false).wrap(true).encrypt(false).verify(false)
        .modulusBits(bits).publicExponent(F4)
        .label(label).id(id);
    try {
      PKCS11KeyPair pair = session.generateKeyPair(new Mechanism(CKM_RSA_PKCS_KEY_PAIR_GEN),
          new KeyPairTemplate(priv, pub));
      HsmKey key = new HsmKey(label, id);
      handles.generatedPair(key, pair.getPrivateKey(), pair.getPublicKey());
      return key;
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.GENERATE_KEY, "C_GenerateKeyPair (RSA-" + bits + " wrapping key) failed for " + label);
    }
  }

  /**
   * The template of unwrapped material: a CMK version's custody (as {@code Pkcs11Session.aes256Template} and
   * {@code Pkcs11KeyPairs.hmacTemplate}) without {@code CKA_VALUE_LEN}, which the unwrapped bytes give (PKCS#11 v2.40
   * §5.2: not to be set for C_UnwrapKey).
   */
  private static AttributeVector unwrapTemplate(KeySpec spec, HsmKey target) {
    boolean hmac = spec.family() == KeySpec.Family.HMAC;
    AttributeVector t = (hmac ? AttributeVector.newSecretKey(CKK_GENERIC_SECRET) : AttributeVector.newAESSecretKey())
        .token(target != null).private_(true).sensitive(true).extractable(false)
        .encrypt(!hmac).decrypt(!hmac).sign(hmac).verify(hmac).wrap(false).unwrap(false).derive(false);
    if (target != null) {
      t.label(target.label()).id(target.id());
    }
    return t;
  }

  /**
   * RSA_AES_KEY_WRAP without {@code CKM_RSA_AES_KEY_WRAP} (neither SoftHSM2 nor NSS has it), both steps in the HSM:
   * the first modulus-length bytes are the RSA-OAEP wrapping of an ephemeral AES key, unwrapped as a session object
   * that can only unwrap; the rest is the material under AES key wrap with padding (RFC 5649, with its default IV),
   * unwrapped with it. The ephemeral key is destroyed after.
   */
  private long unwrapInTwoSteps(long rsaHandle, Mechanism oaep, byte[] wrapped, AttributeVector template)
      throws PKCS11Exception {
    java.math.BigInteger modulus = session.getAttrValues(rsaHandle, CKA_MODULUS).modulus();
    int k = modulus == null ? 0 : (modulus.bitLength() + 7) / 8;
    if (k == 0 || wrapped.length <= k) {
      throw new PKCS11Exception(CKR_WRAPPED_KEY_LEN_RANGE);
    }
    long ephemeral = session.unwrapKey(oaep, rsaHandle, java.util.Arrays.copyOf(wrapped, k),
        AttributeVector.newAESSecretKey().token(false).private_(true).sensitive(true).extractable(false)
            .unwrap(true).wrap(false).encrypt(false).decrypt(false).sign(false).verify(false).derive(false));
    byte[] second = java.util.Arrays.copyOfRange(wrapped, k, wrapped.length);
    try {
      // RFC 5649 is CKM_AES_KEY_WRAP_KWP (0x210B) in PKCS#11 3.0. NSS's softoken has it, and its 0x210A is the other
      // reading of v2.40's CKM_AES_KEY_WRAP_PAD (PKCS#7 padding, then RFC 3394: measured, it refuses RFC 5649
      // input); SoftHSM2 2.6.1 has no 0x210B and implements RFC 5649 as 0x210A
      try {
        return session.unwrapKey(new Mechanism(CKM_AES_KEY_WRAP_KWP), ephemeral, second, template);
      } catch (PKCS11Exception e) {
        if (e.getErrorCode() != CKR_MECHANISM_INVALID) {
          throw e;
        }
        return session.unwrapKey(new Mechanism(CKM_AES_KEY_WRAP_PAD), ephemeral, second, template);
      }
    } finally {
      try {
        session.destroyObject(ephemeral);
      } catch (PKCS11Exception e) {
        // a session object: it goes with the session anyway
      }
    }
  }

  /** The check value's mechanism and input: AES-ECB of a zero block, or the spec's HMAC of 16 zero bytes. */
  private static Mechanism checkMechanism(KeySpec spec) {
    if (spec.family() != KeySpec.Family.HMAC) {
      return new Mechanism(CKM_AES_ECB);
    }
    return new Mechanism(Pkcs11Mac.mechanism(KeySpecTable.row(spec, KeyUsage.GENERATE_VERIFY_MAC).orElseThrow()
        .mac().get(0)));
  }

  /** {@code CKM_RSA_PKCS_OAEP} with the hash and MGF1 of the same hash, and an empty label (AWS's wrapping). */
  static Mechanism oaep(String oaepHash) throws HsmException {
    long[] params = switch (oaepHash) {
      case "SHA-1" -> new long[] {CKM_SHA_1, CKG_MGF1_SHA1};
      case "SHA-256" -> new long[] {CKM_SHA256, CKG_MGF1_SHA256};
      default -> throw new HsmException(HsmErrorKind.UNSUPPORTED, "RSA-OAEP with " + oaepHash + " is not offered");
    };
    return new Mechanism(CKM_RSA_PKCS_OAEP, new RSA_PKCS_OAEP_PARAMS(params[0], params[1]));
  }

  /** One unwrap under the wrapping key's private half: OAEP directly, or the two-step RSA_AES_KEY_WRAP form. */
  long unwrap(long rsaHandle, Mechanism oaep, boolean rsaAes, byte[] wrapped, AttributeVector template)
      throws PKCS11Exception {
    return rsaAes ? unwrapInTwoSteps(rsaHandle, oaep, wrapped, template)
        : session.unwrapKey(oaep, rsaHandle, wrapped, template);
  }

  @Override
  public Unwrapped unwrapSecretKey(HsmKey wrappingKey, String oaepHash, boolean rsaAes, byte[] wrapped, KeySpec spec,
      int minLength, int maxLength, HsmKey target) throws HsmException {
    Mechanism oaep = oaep(oaepHash);
    long handle;
    try {
      handle = calls.withPrivateKey(wrappingKey, Call.DECRYPT,
          h -> unwrap(h, oaep, rsaAes, wrapped, unwrapTemplate(spec, target)));
    } catch (HsmException e) {
      if (e.ckr() == CKR_KEY_SIZE_RANGE) {
        // NSS's softoken: the unwrapped bytes are no AES key size (measured with 20 bytes); nothing was made
        return new Unwrapped(-1, null);
      }
      throw refusedMaterial(e) ? new HsmException(HsmErrorKind.BAD_CIPHERTEXT, e.ckr(), e.ckrName(),
          "C_UnwrapKey refused the wrapped key material", e) : e;
    }
    boolean keep = false;
    try {
      Integer length = session.getAttrValues(handle, CKA_VALUE_LEN).valueLen();
      // SoftHSM2 leaves CKA_VALUE_LEN at 0 on unwrapped keys (the attribute is settable only by generation and
      // derivation there): 0 means "not reported", and then only AES itself tells a bad length
      int len = length == null ? 0 : length;
      if (len != 0 && (len < minLength || len > maxLength)) {
        return new Unwrapped(len, null);
      }
      byte[] check;
      try {
        byte[] zeros = new byte[16];
        check = spec.family() == KeySpec.Family.HMAC ? session.signSingle(checkMechanism(spec), handle, zeros)
            : session.encryptSingle(checkMechanism(spec), handle, zeros);
      } catch (PKCS11Exception e) {
        // SoftHSM2 answers CKR_MECHANISM_INVALID for an AES key of no AES size (measured, 20 bytes)
        if (len == 0 && (e.getErrorCode() == CKR_KEY_SIZE_RANGE || e.getErrorCode() == CKR_MECHANISM_INVALID
            || e.getErrorCode() == CKR_KEY_TYPE_INCONSISTENT)) {
          return new Unwrapped(len, null); // not an AES key length at all
        }
        throw e;
      }
      keep = target != null;
      if (keep) {
        handles.generated(target, handle);
      }
      return new Unwrapped(len, check);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.ENCRYPT, "checking unwrapped key material failed");
    } finally {
      if (!keep) {
        try {
          session.destroyObject(handle);
        } catch (PKCS11Exception e) {
          // a session object goes with its session; a token object left here is the reconciler's
        }
      }
    }
  }

  /**
   * Return codes with which a token refuses the wrapped bytes themselves rather than the call. NSS's softoken answers
   * material wrapped under another wrapping key with CKR_WRAPPED_KEY_INVALID or, now and then, CKR_ARGUMENTS_BAD
   * (measured; likely a ciphertext above the modulus); SoftHSM2 with CKR_GENERAL_ERROR (as its GCM tag failures).
   */
  static boolean refusedMaterial(HsmException e) {
    if (e.kind() == HsmErrorKind.BAD_CIPHERTEXT) {
      return true;
    }
    long c = e.ckr();
    return c == CKR_WRAPPED_KEY_INVALID || c == CKR_WRAPPED_KEY_LEN_RANGE || c == CKR_ENCRYPTED_DATA_INVALID
        || c == CKR_ENCRYPTED_DATA_LEN_RANGE || c == CKR_TEMPLATE_INCONSISTENT
        || c == CKR_ATTRIBUTE_VALUE_INVALID || c == CKR_DATA_LEN_RANGE || c == CKR_DATA_INVALID || c == CKR_ARGUMENTS_BAD;
  }
}

package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.*;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.format.SubjectPublicKeys;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.KeyCustody;
import io.kmsgw.hsm.KeyPairs;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import java.math.BigInteger;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.KeyPairTemplate;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.PKCS11KeyPair;
import org.xipki.pkcs11.wrapper.Session;

/**
 * The {@link KeyPairs} part of a borrowed PKCS#11 session: the one mapping from a key spec to its generation
 * mechanism and templates ({@code CKM_RSA_PKCS_KEY_PAIR_GEN}, {@code CKM_EC_KEY_PAIR_GEN},
 * {@code CKM_EC_EDWARDS_KEY_PAIR_GEN}, {@code CKM_GENERIC_SECRET_KEY_GEN}), and the public halves read back as
 * SubjectPublicKeyInfo.
 */
final class Pkcs11KeyPairs implements KeyPairs {
  private static final BigInteger F4 = BigInteger.valueOf(65537);

  private final Session session;
  private final CkrMapping ckr;
  private final ObjectCalls calls;
  private final KeyHandles handles;

  Pkcs11KeyPairs(ObjectCalls calls, KeyHandles handles) {
    this.session = calls.session();
    this.ckr = calls.ckr();
    this.calls = calls;
    this.handles = handles;
  }

  /**
   * The custody templates of a CMK key pair: the private half is a private, sensitive, never-extractable token object
   * that can do only what the usage needs; the public half verifies or encrypts, never wraps.
   */
  static KeyPairTemplate template(KeySpec spec, KeyUsage usage, String label, byte[] id) {
    AttributeVector priv = privateHalf(spec, usage).token(true).label(label).id(id);
    AttributeVector pub = publicHalf(spec, usage).label(label).id(id);
    if (spec.family() == KeySpec.Family.RSA) {
      pub.modulusBits(spec.bits()).publicExponent(F4);
    } else {
      pub.ecParams(SubjectPublicKeys.ecParams(spec));
    }
    return new KeyPairTemplate(priv, pub);
  }

  static long keyType(KeySpec spec) {
    return switch (spec.family()) {
      case RSA -> CKK_RSA;
      case EC -> CKK_EC;
      case EDWARDS -> CKK_EC_EDWARDS;
      default -> throw new IllegalArgumentException(spec + " is not a key pair spec");
    };
  }

  /**
   * A CMK private half's custody, without CKA_TOKEN, label and id: private, sensitive, never extractable, and only the
   * usage's one capability (sign, decrypt or derive), never unwrap. A decrypt-only RSA key has CKA_SIGN false: no raw
   * signing oracle over a decryption key.
   */
  static AttributeVector privateHalf(KeySpec spec, KeyUsage usage) {
    return AttributeVector.newPrivateKey(keyType(spec))
        .private_(true).sensitive(true).extractable(false)
        .sign(usage == KeyUsage.SIGN_VERIFY).decrypt(usage == KeyUsage.ENCRYPT_DECRYPT)
        .derive(usage == KeyUsage.KEY_AGREEMENT).unwrap(false);
  }

  /** A CMK public half, without label, id and key values: a public token object that verifies or encrypts. */
  static AttributeVector publicHalf(KeySpec spec, KeyUsage usage) {
    AttributeVector pub = AttributeVector.newPublicKey(keyType(spec))
        .token(true).private_(false)
        .verify(usage == KeyUsage.SIGN_VERIFY).encrypt(usage == KeyUsage.ENCRYPT_DECRYPT).wrap(false);
    if (usage == KeyUsage.KEY_AGREEMENT) {
      // the public half of an ECDH key derives nothing: the peer's public key is the input, not this object
      pub.derive(false);
    }
    return pub;
  }

  private static long generationMechanism(KeySpec spec) {
    return switch (spec.family()) {
      case RSA -> CKM_RSA_PKCS_KEY_PAIR_GEN;
      case EC -> CKM_EC_KEY_PAIR_GEN;
      case EDWARDS -> CKM_EC_EDWARDS_KEY_PAIR_GEN;
      default -> throw new IllegalArgumentException(spec + " is not a key pair spec");
    };
  }

  @Override
  public HsmKey generateKeyPair(KeySpec spec, KeyUsage usage, String label, byte[] id) throws HsmException {
    try {
      PKCS11KeyPair pair = session.generateKeyPair(new Mechanism(generationMechanism(spec)),
          template(spec, usage, label, id));
      HsmKey key = new HsmKey(label, id);
      handles.generatedPair(key, pair.getPrivateKey(), pair.getPublicKey());
      return key;
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.GENERATE_KEY, "C_GenerateKeyPair (" + spec + ") failed for " + label);
    }
  }

  /** The custody template of an HMAC CMK version: a generic secret that can sign and verify, nothing else. */
  static AttributeVector hmacTemplate(KeySpec spec, String label, byte[] id) {
    return AttributeVector.newSecretKey(CKK_GENERIC_SECRET)
        .token(true).private_(true).sensitive(true).extractable(false)
        .sign(true).verify(true)
        .encrypt(false).decrypt(false).wrap(false).unwrap(false).derive(false)
        .valueLen(spec.bits() / 8)
        .label(label).id(id);
  }

  @Override
  public HsmKey generateHmacKey(KeySpec spec, String label, byte[] id) throws HsmException {
    if (spec.family() != KeySpec.Family.HMAC) {
      throw new IllegalArgumentException(spec + " is not an HMAC spec");
    }
    try {
      long handle = session.generateKey(new Mechanism(CKM_GENERIC_SECRET_KEY_GEN), hmacTemplate(spec, label, id));
      HsmKey key = new HsmKey(label, id);
      handles.generated(key, handle);
      return key;
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.GENERATE_KEY, "C_GenerateKey (" + spec + ") failed for " + label);
    }
  }

  @Override
  public byte[] publicKeyInfo(HsmKey key, KeySpec spec) throws HsmException {
    if (spec.family() == KeySpec.Family.RSA) {
      AttributeVector a = calls.withPublicKey(key, Call.GET_ATTRIBUTES,
          h -> session.getAttrValues(h, CKA_KEY_TYPE, CKA_MODULUS, CKA_PUBLIC_EXPONENT));
      if (a.keyType() == null || a.keyType() != CKK_RSA || a.modulus() == null || a.publicExponent() == null
          || a.modulus().bitLength() != spec.bits()) {
        throw notOfSpec(key, spec);
      }
      return SubjectPublicKeys.rsa(a.modulus(), a.publicExponent());
    }
    AttributeVector a = calls.withPublicKey(key, Call.GET_ATTRIBUTES,
        h -> session.getAttrValues(h, CKA_EC_PARAMS, CKA_EC_POINT));
    if (a.ecParams() == null || !java.util.Arrays.equals(a.ecParams(), SubjectPublicKeys.ecParams(spec))) {
      throw notOfSpec(key, spec);
    }
    return SubjectPublicKeys.ec(spec, a.ecPoint()).orElseThrow(() -> notOfSpec(key, spec));
  }

  private static HsmException notOfSpec(HsmKey key, KeySpec spec) {
    return new HsmException(HsmErrorKind.UNSUPPORTED, "the public key object " + key.label() + " is not a "
        + spec + " key");
  }

  /** The custody attributes of a key pair's private half (through the handle cache: signing with it comes next). */
  KeyCustody privateKeyCustody(HsmKey key) throws HsmException {
    return calls.withPrivateKey(key, Call.GET_ATTRIBUTES, h -> Pkcs11Session.custodyOf(session, h));
  }
}

package io.kmsgw.hsm.pkcs11;

import static org.xipki.pkcs11.wrapper.PKCS11Constants.*;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.format.EcdsaPublicKeyRecovery;
import io.kmsgw.format.SubjectPublicKeys;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.PrivateKeyImport;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;

/**
 * The {@link PrivateKeyImport} part of a borrowed PKCS#11 session: {@code C_UnwrapKey} of a PKCS#8 private key into a
 * {@code CKO_PRIVATE_KEY} object with a CMK's custody ({@link Pkcs11KeyPairs#privateHalf}), its spec checked on the
 * object's own attributes, its public key derived (RSA: modulus and exponent; EC: recovered from two ECDSA signatures
 * of a sign-only session copy), and {@code C_CreateObject} of the public half.
 */
final class Pkcs11PrivateKeyImport implements PrivateKeyImport {
  /** NSS's vendor attribute {@code CKA_NSS_DB} (CKA_NETSCAPE_DB): the public value its token private keys carry. */
  static final long CKA_NSS_DB = 0xD5A0DB00L;
  /** Two different digests an EC key signs to show its public point; 32 bytes, below every curve's order. */
  private static final List<byte[]> PROBES = List.of(sha256("kmsgw: the public point of imported key material, 1"),
      sha256("kmsgw: the public point of imported key material, 2"));

  private final Session session;
  private final CkrMapping ckr;
  private final ObjectCalls calls;
  private final Pkcs11KeyImport keyImport;

  Pkcs11PrivateKeyImport(ObjectCalls calls, Pkcs11KeyImport keyImport) {
    this.session = calls.session();
    this.ckr = calls.ckr();
    this.calls = calls;
    this.keyImport = keyImport;
  }

  @Override
  public byte[] unwrapPrivateKey(HsmKey wrappingKey, String oaepHash, boolean rsaAes, byte[] wrapped, KeySpec spec,
      KeyUsage usage, HsmKey target) throws HsmException {
    if (spec.family() != KeySpec.Family.RSA && spec.family() != KeySpec.Family.EC) {
      throw new HsmException(HsmErrorKind.UNSUPPORTED, spec + " private keys cannot be imported");
    }
    Mechanism oaep = Pkcs11KeyImport.oaep(oaepHash);
    boolean rsa = spec.family() == KeySpec.Family.RSA;
    // an RSA key shows its public key itself; an EC key is first unwrapped as a sign-only session copy that signs
    long first = rsa ? unwrapKey(wrappingKey, oaep, rsaAes, wrapped, custody(spec, usage, target), null)
        : unwrapKey(wrappingKey, oaep, rsaAes, wrapped, Pkcs11KeyPairs.privateHalf(spec, KeyUsage.SIGN_VERIFY)
            .token(false), new byte[SubjectPublicKeys.pointLength(spec)]);
    if (first == 0) {
      return null;
    }
    Optional<byte[]> spki;
    try {
      spki = rsa ? rsaPublicKey(first, spec) : ecPublicKey(first, spec);
    } catch (PKCS11Exception e) {
      destroyQuietly(first);
      throw ckr.map(e, Call.SIGN, "reading the public key of an unwrapped private key failed");
    }
    boolean isTheKey = rsa && target != null && spki.isPresent();
    if (!isTheKey) {
      destroyQuietly(first);
    }
    if (spki.isEmpty() || target == null) {
      return spki.orElse(null);
    }
    long key = rsa ? first : unwrapEcToken(wrappingKey, oaep, rsaAes, wrapped, spec, usage, target, spki.get());
    try {
      createPublicKey(target, spec, usage, spki.get());
    } catch (PKCS11Exception e) {
      destroyQuietly(key);
      throw ckr.map(e, Call.GENERATE_KEY, "C_CreateObject (the public half of " + target.label() + ") failed");
    }
    return spki.get();
  }

  /** A CMK private half's template: a token object with the target's label and id, or a session object. */
  private static AttributeVector custody(KeySpec spec, KeyUsage usage, HsmKey target) {
    AttributeVector t = Pkcs11KeyPairs.privateHalf(spec, usage).token(target != null);
    return target == null ? t : t.label(target.label()).id(target.id());
  }

  /** The EC token object: the same bytes again, unwrapped with the key's custody, label and id. */
  private long unwrapEcToken(HsmKey wrappingKey, Mechanism oaep, boolean rsaAes, byte[] wrapped, KeySpec spec,
      KeyUsage usage, HsmKey target, byte[] spki) throws HsmException {
    byte[] point = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(spki).getPublicKeyData().getBytes();
    long key = unwrapKey(wrappingKey, oaep, rsaAes, wrapped, custody(spec, usage, target), point);
    if (key == 0) {
      throw new HsmException(HsmErrorKind.DEVICE_ERROR, "the token unwrapped " + target.label()
          + " once, then not again");
    }
    return key;
  }

  /**
   * An unwrap into a private key object; 0 when the bytes unwrapped but the token made no key of them (not a PKCS#8 of
   * the template's key type; measured: SoftHSM2 answers {@code CKR_FUNCTION_FAILED}, NSS {@code
   * CKR_TEMPLATE_INCOMPLETE}).
   *
   * <p>NSS's softoken also refuses an EC private key whose PKCS#8 lacks the optional public key (openssl's has it, the
   * JDK's has not) with {@code CKR_TEMPLATE_INCOMPLETE}, unless the template carries its vendor attribute
   * {@code CKA_NSS_DB} (the public value NSS keeps beside a private key). So an EC unwrap refused that way is tried
   * once more with {@code nssPublicValue} as {@code CKA_NSS_DB}: a placeholder for the sign-only session copy, which only
   * signs, and the recovered point for the token object.
   *
   * @param nssPublicValue null for RSA keys
   */
  private long unwrapKey(HsmKey wrappingKey, Mechanism oaep, boolean rsaAes, byte[] wrapped, AttributeVector template,
      byte[] nssPublicValue) throws HsmException {
    try {
      try {
        return unwrap(wrappingKey, oaep, rsaAes, wrapped, template);
      } catch (HsmException e) {
        if (nssPublicValue == null || e.ckr() != CKR_TEMPLATE_INCOMPLETE) {
          throw e;
        }
        return unwrap(wrappingKey, oaep, rsaAes, wrapped, template.attr(
            new org.xipki.pkcs11.wrapper.attrs.ByteArrayAttribute(CKA_NSS_DB).byteArrayValue(nssPublicValue)));
      }
    } catch (HsmException e) {
      long c = e.ckr();
      if (c == CKR_FUNCTION_FAILED || c == CKR_TEMPLATE_INCOMPLETE || c == CKR_KEY_TYPE_INCONSISTENT) {
        return 0;
      }
      throw e;
    }
  }

  /** One unwrap; a token refusal of the bytes is BAD_CIPHERTEXT. */
  private long unwrap(HsmKey wrappingKey, Mechanism oaep, boolean rsaAes, byte[] wrapped, AttributeVector template)
      throws HsmException {
    try {
      return calls.withPrivateKey(wrappingKey, Call.DECRYPT, h -> keyImport.unwrap(h, oaep, rsaAes, wrapped, template));
    } catch (HsmException e) {
      throw Pkcs11KeyImport.refusedMaterial(e) ? new HsmException(HsmErrorKind.BAD_CIPHERTEXT, e.ckr(), e.ckrName(),
          "C_UnwrapKey refused the wrapped private key", e) : e;
    }
  }

  private Optional<byte[]> rsaPublicKey(long handle, KeySpec spec) throws PKCS11Exception {
    AttributeVector a = session.getAttrValues(handle, CKA_KEY_TYPE, CKA_MODULUS, CKA_PUBLIC_EXPONENT);
    if (a.keyType() == null || a.keyType() != CKK_RSA || a.modulus() == null || a.publicExponent() == null
        || a.modulus().bitLength() != spec.bits()) {
      return Optional.empty();
    }
    return Optional.of(SubjectPublicKeys.rsa(a.modulus(), a.publicExponent()));
  }

  private Optional<byte[]> ecPublicKey(long signer, KeySpec spec) throws PKCS11Exception {
    AttributeVector a = session.getAttrValues(signer, CKA_KEY_TYPE, CKA_EC_PARAMS);
    if (a.keyType() == null || a.keyType() != CKK_EC
        || !Arrays.equals(a.ecParams(), SubjectPublicKeys.ecParams(spec))) {
      return Optional.empty();
    }
    List<byte[]> signatures = new ArrayList<>();
    for (byte[] digest : PROBES) {
      signatures.add(session.signSingle(new Mechanism(CKM_ECDSA), signer, digest));
    }
    return EcdsaPublicKeyRecovery.publicPoint(spec, PROBES, signatures)
        .flatMap(point -> SubjectPublicKeys.ec(spec, point));
  }

  /** The public half: a public token object with the target's label and id, verify or encrypt only. */
  private void createPublicKey(HsmKey target, KeySpec spec, KeyUsage usage, byte[] spki) throws PKCS11Exception {
    AttributeVector pub = Pkcs11KeyPairs.publicHalf(spec, usage).label(target.label()).id(target.id());
    var info = org.bouncycastle.asn1.x509.SubjectPublicKeyInfo.getInstance(spki);
    if (spec.family() == KeySpec.Family.RSA) {
      try {
        var rsa = org.bouncycastle.asn1.pkcs.RSAPublicKey.getInstance(info.parsePublicKey());
        pub.modulus(rsa.getModulus()).publicExponent(rsa.getPublicExponent());
      } catch (java.io.IOException e) {
        throw new IllegalStateException("the public key this class made does not parse", e);
      }
    } else {
      // the raw point: the wrapper DER-encodes CKA_EC_POINT as the OCTET STRING PKCS#11 defines (measured: given the
      // DER, it wrapped it twice, which NSS refuses with CKR_ATTRIBUTE_VALUE_INVALID and SoftHSM2 stores as given)
      pub.ecParams(SubjectPublicKeys.ecParams(spec)).ecPoint(info.getPublicKeyData().getBytes());
    }
    session.createObject(pub);
  }

  private void destroyQuietly(long handle) {
    try {
      session.destroyObject(handle);
    } catch (PKCS11Exception e) {
      // a session object goes with its session; a token object left here is the reconciler's
    }
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}

package io.kmsgw.hsm.pkcs11;

import static io.kmsgw.hsm.pkcs11.Pkcs11Session.isTrue;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.*;

import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.KeyCustody;
import io.kmsgw.hsm.SigningKeys;
import io.kmsgw.hsm.pkcs11.CkrMapping.Call;
import java.util.Arrays;
import java.util.Optional;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.KeyPairTemplate;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;

/** The {@link SigningKeys} part of a borrowed PKCS#11 session ({@link Pkcs11Session}). */
final class Pkcs11Signing implements SigningKeys {
  private final Session session;
  private final CkrMapping ckr;
  private final ObjectCalls calls;
  private final KeyHandles handles;
  private final Pkcs11Counters counters;

  Pkcs11Signing(ObjectCalls calls, KeyHandles handles, Pkcs11Counters counters) {
    this.session = calls.session();
    this.ckr = calls.ckr();
    this.calls = calls;
    this.handles = handles;
    this.counters = counters;
  }

  /** DER of the named curve OID 1.2.840.10045.3.1.7 (P-256, prime256v1), the form CKA_EC_PARAMS takes. */
  static final byte[] P256_PARAMS = {0x06, 0x08, 0x2a, (byte) 0x86, 0x48, (byte) 0xce, 0x3d, 0x03, 0x01, 0x07};

  /**
   * SubjectPublicKeyInfo of a P-256 key up to the point: SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 },
   * BIT STRING (0 unused bits) }, followed by the 65-byte uncompressed point (RFC 5480 §2).
   */
  private static final byte[] P256_SPKI_PREFIX = java.util.HexFormat.of()
      .parseHex("3059301306072a8648ce3d020106082a8648ce3d030107034200");

  /** The custody template of the audit signing key's private half: sign only, never leaves the token. */
  static KeyPairTemplate ecP256SigningTemplate(String label, byte[] id) {
    AttributeVector priv = AttributeVector.newECPrivateKey()
        .token(true)
        .private_(true)
        .sensitive(true)
        .extractable(false)
        .sign(true)
        .decrypt(false)
        .unwrap(false)
        .derive(false)
        .label(label)
        .id(id);
    AttributeVector pub = AttributeVector.newECPublicKey()
        .token(true)
        .private_(false)
        .verify(true)
        .encrypt(false)
        .wrap(false)
        .derive(false)
        .ecParams(P256_PARAMS)
        .label(label)
        .id(id);
    return new KeyPairTemplate(priv, pub);
  }

  @Override
  public HsmKey generateEcP256SigningKey(String label, byte[] id) throws HsmException {
    try {
      session.generateKeyPair(new Mechanism(CKM_EC_KEY_PAIR_GEN), ecP256SigningTemplate(label, id));
      return new HsmKey(label, id);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.GENERATE_KEY, "C_GenerateKeyPair (EC P-256) failed for " + label);
    }
  }

  @Override
  public Optional<byte[]> ecP256PublicKey(HsmKey key) throws HsmException {
    long[] found = findKeyObjects(CKO_PUBLIC_KEY, key);
    if (found.length == 0) {
      return Optional.empty();
    }
    AttributeVector a;
    try {
      a = session.getAttrValues(found[0], CKA_EC_PARAMS, CKA_EC_POINT);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.GET_ATTRIBUTES, "reading the public key " + key.label() + " failed");
    }
    if (a.ecParams() == null || !Arrays.equals(a.ecParams(), P256_PARAMS)) {
      throw new HsmException(HsmErrorKind.UNSUPPORTED, "the public key " + key.label() + " is not on curve P-256");
    }
    byte[] point = uncompressedPoint(a.ecPoint());
    if (point == null) {
      throw new HsmException(HsmErrorKind.UNSUPPORTED, "the public key " + key.label()
          + " has no uncompressed P-256 point");
    }
    byte[] spki = Arrays.copyOf(P256_SPKI_PREFIX, P256_SPKI_PREFIX.length + point.length);
    System.arraycopy(point, 0, spki, P256_SPKI_PREFIX.length, point.length);
    return Optional.of(spki);
  }

  /**
   * The 65-byte uncompressed point from CKA_EC_POINT, which PKCS#11 v2.40 §2.3.3 says is the DER of an OCTET STRING
   * wrapping it ({@code 04 41 04 X Y}); some libraries return the bare point, accepted as well.
   */
  static byte[] uncompressedPoint(byte[] ecPoint) {
    if (ecPoint == null) {
      return null;
    }
    if (ecPoint.length == 67 && ecPoint[0] == 0x04 && ecPoint[1] == 0x41 && ecPoint[2] == 0x04) {
      return Arrays.copyOfRange(ecPoint, 2, 67);
    }
    if (ecPoint.length == 65 && ecPoint[0] == 0x04) {
      return ecPoint.clone();
    }
    return null;
  }

  @Override
  public byte[] signEcdsa(HsmKey key, byte[] digest) throws HsmException {
    // the SoftHSM2 fact of the guide: no CKM_ECDSA_SHA256, so the digest comes from the caller
    return calls.withPrivateKey(key, Call.SIGN, h -> session.signSingle(new Mechanism(CKM_ECDSA), h, digest));
  }

  /** Token objects of a class with the key's label and id (signing keys are rare calls: no handle cache). */
  private long[] findKeyObjects(long objectClass, HsmKey key) throws HsmException {
    try {
      counters.findObjects.increment();
      return session.findObjectsSingle(
          new AttributeVector().class_(objectClass).token(true).label(key.label()).id(key.id()), 2);
    } catch (PKCS11Exception e) {
      throw ckr.map(e, Call.FIND, "C_FindObjects failed for " + key.label());
    }
  }
}

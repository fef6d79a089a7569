package io.kmsgw.format;

import io.kmsgw.domain.KeySpec;
import java.io.IOException;
import java.math.BigInteger;
import java.util.Arrays;
import java.util.Optional;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1OctetString;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERNull;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.RSAPublicKey;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * X.509 {@code SubjectPublicKeyInfo} (DER) of the key pair specs, as GetPublicKey returns them and openssl and the
 * SDKs read them: RSA (RFC 3279 §2.3.1), named-curve EC (RFC 5480) and Ed25519 (RFC 8410). Also the curve of each
 * EC spec, as the OID {@code CKA_EC_PARAMS} names it.
 */
public final class SubjectPublicKeys {
  private static final ASN1ObjectIdentifier ED25519 = new ASN1ObjectIdentifier("1.3.101.112");

  private SubjectPublicKeys() {}

  /** The named curve of an EC or Edwards spec; empty for the others. */
  public static Optional<ASN1ObjectIdentifier> curve(KeySpec spec) {
    return Optional.ofNullable(switch (spec) {
      case ECC_NIST_P256 -> new ASN1ObjectIdentifier("1.2.840.10045.3.1.7");
      case ECC_NIST_P384 -> new ASN1ObjectIdentifier("1.3.132.0.34");
      case ECC_NIST_P521 -> new ASN1ObjectIdentifier("1.3.132.0.35");
      case ECC_SECG_P256K1 -> new ASN1ObjectIdentifier("1.3.132.0.10");
      case ECC_NIST_EDWARDS25519 -> ED25519;
      default -> null;
    });
  }

  /** The DER of the curve's OID: the value of {@code CKA_EC_PARAMS} for a key of the spec. */
  public static byte[] ecParams(KeySpec spec) {
    try {
      return curve(spec).orElseThrow(() -> new IllegalArgumentException(spec + " is not an EC spec")).getEncoded();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The length of the spec's public point: uncompressed {@code 04 || X || Y} on a Weierstrass curve, 32 on Ed25519. */
  public static int pointLength(KeySpec spec) {
    if (spec == KeySpec.ECC_NIST_EDWARDS25519) {
      return 32;
    }
    return 1 + 2 * ((spec.bits() + 7) / 8);
  }

  public static byte[] rsa(BigInteger modulus, BigInteger publicExponent) {
    try {
      return encode(new SubjectPublicKeyInfo(new AlgorithmIdentifier(PKCSObjectIdentifiers.rsaEncryption,
          DERNull.INSTANCE), new RSAPublicKey(modulus, publicExponent)));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * An EC or Ed25519 public key from {@code CKA_EC_POINT}, which PKCS#11 defines as the DER of an OCTET STRING around
   * the point; some libraries return the bare point, accepted too. Empty when the point does not have the spec's
   * length.
   */
  public static Optional<byte[]> ec(KeySpec spec, byte[] ecPoint) {
    byte[] point = point(spec, ecPoint);
    if (point == null) {
      return Optional.empty();
    }
    AlgorithmIdentifier algorithm = spec == KeySpec.ECC_NIST_EDWARDS25519
        ? new AlgorithmIdentifier(ED25519)
        : new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, curve(spec).orElseThrow());
    return Optional.of(encode(new SubjectPublicKeyInfo(algorithm, point)));
  }

  private static byte[] point(KeySpec spec, byte[] ecPoint) {
    if (ecPoint == null) {
      return null;
    }
    int length = pointLength(spec);
    boolean uncompressed = spec != KeySpec.ECC_NIST_EDWARDS25519;
    if (ecPoint.length == length && (!uncompressed || ecPoint[0] == 0x04)) {
      return ecPoint.clone();
    }
    try {
      ASN1Primitive p = ASN1Primitive.fromByteArray(ecPoint);
      if (p instanceof ASN1OctetString o && Arrays.equals(p.getEncoded(), ecPoint)) {
        byte[] inner = o.getOctets();
        if (inner.length == length && (!uncompressed || inner[0] == 0x04)) {
          return inner;
        }
      }
    } catch (IOException | RuntimeException e) {
      return null;
    }
    return null;
  }

  private static byte[] encode(SubjectPublicKeyInfo info) {
    try {
      return info.getEncoded("DER");
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}

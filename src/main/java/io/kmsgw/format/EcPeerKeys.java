package io.kmsgw.format;

import io.kmsgw.domain.KeySpec;
import java.io.IOException;
import java.math.BigInteger;
import java.security.AlgorithmParameters;
import java.security.GeneralSecurityException;
import java.security.spec.ECFieldFp;
import java.security.spec.ECGenParameterSpec;
import java.security.spec.ECParameterSpec;
import java.util.Arrays;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;

/**
 * A peer's EC public key for ECDH (DeriveSharedSecret's {@code PublicKey}): a DER {@code SubjectPublicKeyInfo}
 * (RFC 5480 §2) read strictly and its point validated as a point of the KMS key's curve before any HSM sees it,
 * as NIST SP 800-56A rev. 3 §5.6.2.3.3 (partial public-key validation) asks, since a point off the curve would turn
 * the HSM's answer into an oracle on the private key (the invalid-curve attack):
 * <ul>
 *   <li>the algorithm is {@code id-ecPublicKey} with the named curve of the key's spec (explicit curve parameters
 *       are refused: nobody needs them, and they would have to be compared field by field);
 *   <li>the point is not the point at infinity;
 *   <li>both coordinates are in {@code [0, p-1]};
 *   <li>{@code y^2 = x^3 + ax + b (mod p)}.
 * </ul>
 * The NIST curves of KEY_AGREEMENT keys have cofactor 1, so a point on the curve is in the subgroup of order n.
 * Compressed points ({@code 02}/{@code 03 || X}, SEC 1 §2.3.4) are accepted and decompressed here; the HSM gets the
 * uncompressed form, which every token takes.
 */
public final class EcPeerKeys {
  /** Why a peer key is refused; the message is written for the client and holds nothing secret. */
  public static final class Invalid extends Exception {
    Invalid(String message) {
      super(message);
    }
  }

  private EcPeerKeys() {}

  /**
   * The uncompressed point ({@code 04 || X || Y}, each coordinate the field's size) of a peer key on the spec's
   * curve.
   */
  public static byte[] uncompressedPoint(KeySpec spec, byte[] spki) throws Invalid {
    ASN1ObjectIdentifier curve = SubjectPublicKeys.curve(spec)
        .orElseThrow(() -> new IllegalArgumentException(spec + " is not an EC spec"));
    SubjectPublicKeyInfo info = parse(spki);
    if (!X9ObjectIdentifiers.id_ecPublicKey.equals(info.getAlgorithm().getAlgorithm())) {
      throw new Invalid("PublicKey is not an elliptic curve public key (its algorithm is "
          + info.getAlgorithm().getAlgorithm().getId() + ", not id-ecPublicKey 1.2.840.10045.2.1).");
    }
    if (!(info.getAlgorithm().getParameters() instanceof ASN1ObjectIdentifier named)) {
      throw new Invalid("PublicKey must name its curve (RFC 5480 namedCurve); explicit curve parameters are not "
          + "accepted.");
    }
    if (!curve.equals(named)) {
      throw new Invalid("PublicKey is on curve " + named.getId() + ", not on the curve of the KMS key (" + spec
          + ", " + curve.getId() + "): both key pairs must be on the same curve.");
    }
    if (info.getPublicKeyData().getPadBits() != 0) {
      throw new Invalid("PublicKey's subjectPublicKey BIT STRING has unused bits.");
    }
    return validatedPoint(spec, info.getPublicKeyData().getOctets());
  }

  private static SubjectPublicKeyInfo parse(byte[] spki) throws Invalid {
    try {
      ASN1Primitive der = ASN1Primitive.fromByteArray(spki);
      // DER only: one encoding per key, nothing before or after it
      if (!Arrays.equals(der.getEncoded("DER"), spki)) {
        throw new Invalid("PublicKey is not a DER-encoded SubjectPublicKeyInfo.");
      }
      return SubjectPublicKeyInfo.getInstance(der);
    } catch (IOException | RuntimeException e) {
      throw new Invalid("PublicKey is not a DER-encoded SubjectPublicKeyInfo (RFC 5280).");
    }
  }

  /** Checks an encoded point (SEC 1 §2.3.4) against the spec's curve; returns it uncompressed. */
  static byte[] validatedPoint(KeySpec spec, byte[] encoded) throws Invalid {
    ECParameterSpec params = parameters(spec);
    BigInteger p = ((ECFieldFp) params.getCurve().getField()).getP();
    int size = (p.bitLength() + 7) / 8;
    if (encoded.length == 1 && encoded[0] == 0x00) {
      throw new Invalid("PublicKey is the point at infinity, which is no public key.");
    }
    BigInteger x;
    BigInteger y;
    if (encoded.length == 1 + 2 * size && encoded[0] == 0x04) {
      x = new BigInteger(1, Arrays.copyOfRange(encoded, 1, 1 + size));
      y = new BigInteger(1, Arrays.copyOfRange(encoded, 1 + size, encoded.length));
    } else if (encoded.length == 1 + size && (encoded[0] == 0x02 || encoded[0] == 0x03)) {
      x = new BigInteger(1, Arrays.copyOfRange(encoded, 1, encoded.length));
      y = null;
    } else {
      throw new Invalid("PublicKey's point is not an uncompressed (" + (1 + 2 * size) + " bytes) or compressed ("
          + (1 + size) + " bytes) point of " + spec + ".");
    }
    if (x.compareTo(p) >= 0 || (y != null && y.compareTo(p) >= 0)) {
      throw new Invalid("PublicKey's point has a coordinate outside the field of " + spec + ".");
    }
    BigInteger a = params.getCurve().getA();
    BigInteger b = params.getCurve().getB();
    BigInteger rhs = x.pow(3).add(a.multiply(x)).add(b).mod(p);
    if (y == null) {
      // p = 3 (mod 4) for P-256, P-384 and P-521: the square root is rhs^((p+1)/4)
      if (!p.testBit(0) || !p.testBit(1)) {
        throw new IllegalStateException(spec + ": no simple square root for this field");
      }
      BigInteger root = rhs.modPow(p.add(BigInteger.ONE).shiftRight(2), p);
      if (!root.multiply(root).mod(p).equals(rhs)) {
        throw new Invalid("PublicKey's point is not on the curve of " + spec + ".");
      }
      boolean odd = encoded[0] == 0x03;
      y = root.testBit(0) == odd ? root : p.subtract(root).mod(p);
    }
    if (!y.multiply(y).mod(p).equals(rhs)) {
      throw new Invalid("PublicKey's point is not on the curve of " + spec + ".");
    }
    if (params.getCofactor() != 1) {
      throw new IllegalStateException(spec + " has a cofactor: a subgroup check would be needed");
    }
    byte[] out = new byte[1 + 2 * size];
    out[0] = 0x04;
    copyFixed(x, out, 1, size);
    copyFixed(y, out, 1 + size, size);
    return out;
  }

  private static void copyFixed(BigInteger v, byte[] out, int at, int size) {
    byte[] raw = v.toByteArray();
    int skip = raw.length > size ? raw.length - size : 0;
    System.arraycopy(raw, skip, out, at + size - (raw.length - skip), raw.length - skip);
  }

  /** The curve's domain parameters, from the JDK's table of named curves. */
  static ECParameterSpec parameters(KeySpec spec) {
    String name = switch (spec) {
      case ECC_NIST_P256 -> "secp256r1";
      case ECC_NIST_P384 -> "secp384r1";
      case ECC_NIST_P521 -> "secp521r1";
      default -> throw new IllegalArgumentException(spec + " is not a NIST curve");
    };
    try {
      AlgorithmParameters ap = AlgorithmParameters.getInstance("EC");
      ap.init(new ECGenParameterSpec(name));
      return ap.getParameterSpec(ECParameterSpec.class);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK lacks curve " + name, e);
    }
  }

  /** The size in bytes of the spec's field: the length of an ECDH shared secret on it. */
  public static int fieldSize(KeySpec spec) {
    return (((ECFieldFp) parameters(spec).getCurve().getField()).getP().bitLength() + 7) / 8;
  }
}

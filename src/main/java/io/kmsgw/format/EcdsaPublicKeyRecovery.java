package io.kmsgw.format;

import io.kmsgw.domain.KeySpec;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.bouncycastle.asn1.x9.ECNamedCurveTable;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.math.ec.ECPoint;

/**
 * The public point of an EC private key that stays in the HSM, recovered from its ECDSA signatures (SEC 1 v2 §4.1.6):
 * PKCS#11 gives an EC private key object no public point, and an imported key comes without its public half.
 *
 * <p>One signature {@code (r, s)} of a digest {@code e} admits a few public keys {@code Q = r⁻¹(sR − eG)}, one per
 * point {@code R} with x-coordinate {@code r} (or {@code r + n}); the key is the one point that every signature of
 * two different digests admits. Public arithmetic on public values: nothing secret is involved.
 */
public final class EcdsaPublicKeyRecovery {
  private EcdsaPublicKeyRecovery() {}

  /**
   * The uncompressed public point ({@code 04 || X || Y}) that every signature admits, or empty when no single point
   * does (a signature that is not of these digests, or not of the curve).
   *
   * @param digests digests no longer than the curve's order (they are used as integers, without truncation)
   * @param signatures {@code r || s} each, as {@code CKM_ECDSA} gives them, in the order of {@code digests}
   */
  public static Optional<byte[]> publicPoint(KeySpec spec, List<byte[]> digests, List<byte[]> signatures) {
    X9ECParameters curve = ECNamedCurveTable.getByOID(SubjectPublicKeys.curve(spec)
        .orElseThrow(() -> new IllegalArgumentException(spec + " is not an EC spec")));
    if (digests.size() != signatures.size() || digests.size() < 2) {
      throw new IllegalArgumentException("two signatures or more of as many digests are needed");
    }
    List<ECPoint> common = null;
    for (int i = 0; i < digests.size(); i++) {
      List<ECPoint> candidates = candidates(curve, new BigInteger(1, digests.get(i)), signatures.get(i));
      if (common == null) {
        common = candidates;
      } else {
        common.retainAll(candidates);
      }
    }
    return common.size() == 1 ? Optional.of(common.get(0).getEncoded(false)) : Optional.empty();
  }

  private static List<ECPoint> candidates(X9ECParameters curve, BigInteger e, byte[] signature) {
    List<ECPoint> keys = new ArrayList<>();
    BigInteger n = curve.getN();
    if (signature.length % 2 != 0) {
      return keys;
    }
    int half = signature.length / 2;
    BigInteger r = new BigInteger(1, Arrays.copyOf(signature, half));
    BigInteger s = new BigInteger(1, Arrays.copyOfRange(signature, half, signature.length));
    if (r.signum() == 0 || s.signum() == 0 || r.compareTo(n) >= 0 || s.compareTo(n) >= 0) {
      return keys;
    }
    BigInteger p = curve.getCurve().getField().getCharacteristic();
    int fieldBytes = (curve.getCurve().getFieldSize() + 7) / 8;
    BigInteger rInverse = r.modInverse(n);
    ECPoint eg = curve.getG().multiply(e.mod(n));
    for (BigInteger x = r; x.compareTo(p) < 0 && x.compareTo(r.add(n)) <= 0; x = x.add(n)) {
      for (byte prefix : new byte[] {0x02, 0x03}) {
        ECPoint point;
        try {
          byte[] compressed = new byte[1 + fieldBytes];
          compressed[0] = prefix;
          byte[] xs = x.toByteArray();
          int len = Math.min(xs.length, fieldBytes);
          System.arraycopy(xs, xs.length - len, compressed, compressed.length - len, len);
          point = curve.getCurve().decodePoint(compressed);
        } catch (IllegalArgumentException notOnCurve) {
          continue;
        }
        ECPoint q = point.multiply(s).subtract(eg).multiply(rInverse).normalize();
        if (!q.isInfinity()) {
          keys.add(q);
        }
      }
    }
    return keys;
  }
}

package io.kmsgw.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.testing.PeerKeys;
import java.math.BigInteger;
import java.security.KeyPair;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECFieldFp;
import java.util.Arrays;
import java.util.Map;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.asn1.x9.X9ECParameters;
import org.bouncycastle.asn1.x9.X9ObjectIdentifiers;
import org.bouncycastle.asn1.sec.SECNamedCurves;
import org.junit.jupiter.api.Test;

/**
 * The peer key checks of DeriveSharedSecret, without an HSM: keys the JDK makes pass (uncompressed and compressed,
 * to the same point), and each malformed, wrong-curve or off-curve key is refused with its own reason.
 */
class EcPeerKeysTest {
  private static final Map<KeySpec, String> CURVES = Map.of(KeySpec.ECC_NIST_P256, "secp256r1",
      KeySpec.ECC_NIST_P384, "secp384r1", KeySpec.ECC_NIST_P521, "secp521r1");
  private static final ASN1ObjectIdentifier P256 = new ASN1ObjectIdentifier("1.2.840.10045.3.1.7");

  private static String refusal(KeySpec spec, byte[] spki) {
    return assertThrows(EcPeerKeys.Invalid.class, () -> EcPeerKeys.uncompressedPoint(spec, spki)).getMessage();
  }

  private static byte[] spki(byte[] point) throws Exception {
    return new SubjectPublicKeyInfo(new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey, P256), point)
        .getEncoded("DER");
  }

  @Test
  void jdkKeys_passUncompressedAndCompressed_asTheSamePoint() throws Exception {
    for (Map.Entry<KeySpec, String> c : CURVES.entrySet()) {
      for (int i = 0; i < 20; i++) {
        KeyPair peer = PeerKeys.peer(c.getValue());
        byte[] point = EcPeerKeys.uncompressedPoint(c.getKey(), peer.getPublic().getEncoded());
        byte[] raw = SubjectPublicKeyInfo.getInstance(peer.getPublic().getEncoded()).getPublicKeyData().getOctets();
        assertArrayEquals(raw, point);
        assertArrayEquals(point, EcPeerKeys.uncompressedPoint(c.getKey(), PeerKeys.compressed(peer.getPublic())));
      }
    }
  }

  @Test
  void aKeyOnAnotherCurve_isRefusedByName() throws Exception {
    byte[] p384 = PeerKeys.peer("secp384r1").getPublic().getEncoded();
    assertTrue(refusal(KeySpec.ECC_NIST_P256, p384).contains("same curve"));
    byte[] p256 = PeerKeys.peer("secp256r1").getPublic().getEncoded();
    assertTrue(refusal(KeySpec.ECC_NIST_P521, p256).contains("same curve"));
  }

  @Test
  void pointsOffTheCurve_atInfinity_orOutOfTheField_areRefused() throws Exception {
    byte[] raw = SubjectPublicKeyInfo.getInstance(PeerKeys.peer("secp256r1").getPublic().getEncoded())
        .getPublicKeyData().getOctets();
    byte[] offCurve = raw.clone();
    offCurve[64] ^= 1;
    assertTrue(refusal(KeySpec.ECC_NIST_P256, spki(offCurve)).contains("not on the curve"));
    assertTrue(refusal(KeySpec.ECC_NIST_P256, spki(new byte[] {0x00})).contains("infinity"));
    // (0, 0) and the small-order-looking points of invalid-curve attacks are off P-256
    byte[] zero = new byte[65];
    zero[0] = 0x04;
    assertTrue(refusal(KeySpec.ECC_NIST_P256, spki(zero)).contains("not on the curve"));
    // x = p: the same point as x = 0 would be, were coordinates reduced; they are not
    BigInteger p = ((ECFieldFp) ((ECPublicKey) PeerKeys.peer("secp256r1").getPublic()).getParams()
        .getCurve().getField()).getP();
    byte[] xIsP = raw.clone();
    System.arraycopy(p.toByteArray(), 1, xIsP, 1, 32);
    assertTrue(refusal(KeySpec.ECC_NIST_P256, spki(xIsP)).contains("outside the field"));
    byte[] compressedOff = new byte[33];
    compressedOff[0] = 0x02;
    // x with no y on the curve: x^3 - 3x + b is a non-residue for some x; find one by trying
    for (int x = 1; ; x++) {
      compressedOff[32] = (byte) x;
      try {
        EcPeerKeys.uncompressedPoint(KeySpec.ECC_NIST_P256, spki(compressedOff));
      } catch (EcPeerKeys.Invalid e) {
        assertTrue(e.getMessage().contains("not on the curve"), e.getMessage());
        break;
      }
    }
    assertTrue(refusal(KeySpec.ECC_NIST_P256, spki(Arrays.copyOf(raw, 64))).contains("uncompressed"));
    byte[] hybrid = raw.clone();
    hybrid[0] = 0x06;
    assertTrue(refusal(KeySpec.ECC_NIST_P256, spki(hybrid)).contains("uncompressed"));
  }

  @Test
  void malformedDer_otherAlgorithms_andExplicitParameters_areRefused() throws Exception {
    byte[] good = PeerKeys.peer("secp256r1").getPublic().getEncoded();
    assertTrue(refusal(KeySpec.ECC_NIST_P256, Arrays.copyOf(good, good.length + 1)).contains("DER"));
    assertTrue(refusal(KeySpec.ECC_NIST_P256, Arrays.copyOf(good, good.length - 1)).contains("DER"));
    assertTrue(refusal(KeySpec.ECC_NIST_P256, new byte[] {0x04, 0x01, 0x00}).contains("DER"));
    // BER's long form of a short length is not DER
    byte[] ber = new byte[good.length + 1];
    ber[0] = 0x30;
    ber[1] = (byte) 0x81;
    System.arraycopy(good, 1, ber, 2, good.length - 1);
    assertTrue(refusal(KeySpec.ECC_NIST_P256, ber).contains("DER"));
    byte[] rsa = java.security.KeyPairGenerator.getInstance("RSA").generateKeyPair().getPublic().getEncoded();
    assertTrue(refusal(KeySpec.ECC_NIST_P256, rsa).contains("not an elliptic curve"));
    byte[] ed = java.security.KeyPairGenerator.getInstance("Ed25519").generateKeyPair().getPublic().getEncoded();
    assertTrue(refusal(KeySpec.ECC_NIST_P256, ed).contains("not an elliptic curve"));
    X9ECParameters explicit = SECNamedCurves.getByName("secp256r1");
    byte[] point = SubjectPublicKeyInfo.getInstance(good).getPublicKeyData().getOctets();
    byte[] withParams = new SubjectPublicKeyInfo(new AlgorithmIdentifier(X9ObjectIdentifiers.id_ecPublicKey,
        explicit), point).getEncoded("DER");
    assertTrue(refusal(KeySpec.ECC_NIST_P256, withParams).contains("explicit"));
    assertEquals(65, EcPeerKeys.uncompressedPoint(KeySpec.ECC_NIST_P256, good).length);
  }
}

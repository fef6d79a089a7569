package io.kmsgw.format;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeySpec;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Provider;
import java.security.Signature;
import java.security.spec.ECGenParameterSpec;
import java.util.List;
import org.bouncycastle.asn1.x509.SubjectPublicKeyInfo;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.junit.jupiter.api.Test;

/** The recovered point is the public key of whoever signed: keys and signatures made by the JDK (BC for secp256k1). */
class EcdsaPublicKeyRecoveryTest {
  private static final Provider BC = new BouncyCastleProvider();

  private static byte[] sha256(String s) throws Exception {
    return MessageDigest.getInstance("SHA-256").digest(s.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  private static byte[] signRaw(KeyPair pair, byte[] digest, Provider provider) throws Exception {
    Signature s = Signature.getInstance("NONEwithECDSAinP1363Format", provider);
    s.initSign(pair.getPrivate());
    s.update(digest);
    return s.sign();
  }

  @Test
  void recoversThePublicKeyOfEveryCurve_fromTwoSignatures() throws Exception {
    Object[][] curves = {{KeySpec.ECC_NIST_P256, "secp256r1"}, {KeySpec.ECC_NIST_P384, "secp384r1"},
        {KeySpec.ECC_NIST_P521, "secp521r1"}, {KeySpec.ECC_SECG_P256K1, "secp256k1"}};
    for (Object[] c : curves) {
      Provider provider = c[1].equals("secp256k1") ? BC : KeyPairGenerator.getInstance("EC").getProvider();
      for (int round = 0; round < 10; round++) {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC", provider);
        g.initialize(new ECGenParameterSpec((String) c[1]));
        KeyPair pair = g.generateKeyPair();
        List<byte[]> digests = List.of(sha256("one " + round), sha256("two " + round));
        var point = EcdsaPublicKeyRecovery.publicPoint((KeySpec) c[0], digests,
            List.of(signRaw(pair, digests.get(0), provider), signRaw(pair, digests.get(1), provider)));
        assertTrue(point.isPresent(), c[0] + " round " + round);
        byte[] expected = SubjectPublicKeyInfo.getInstance(pair.getPublic().getEncoded()).getPublicKeyData()
            .getBytes();
        assertArrayEquals(expected, point.get(), c[0] + " round " + round);
      }
    }
  }

  @Test
  void signaturesOfOtherDigestsOrKeys_admitNoSinglePoint() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"));
    KeyPair a = g.generateKeyPair();
    KeyPair b = g.generateKeyPair();
    List<byte[]> digests = List.of(sha256("one"), sha256("two"));
    assertTrue(EcdsaPublicKeyRecovery.publicPoint(KeySpec.ECC_NIST_P256, digests,
        List.of(signRaw(a, digests.get(0), g.getProvider()), signRaw(b, digests.get(1), g.getProvider()))).isEmpty());
    assertTrue(EcdsaPublicKeyRecovery.publicPoint(KeySpec.ECC_NIST_P256, digests,
        List.of(signRaw(a, digests.get(0), g.getProvider()), new byte[64])).isEmpty());
  }
}

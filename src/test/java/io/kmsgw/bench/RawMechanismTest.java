package io.kmsgw.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.domain.KeySpec;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.pkcs11.Pkcs11Connector;
import io.kmsgw.testing.OpenSsl;
import io.kmsgw.testing.TestToken;
import java.nio.file.Path;
import java.security.KeyFactory;
import java.security.SecureRandom;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The raw PKCS#11 loop's operations on a SoftHSM2 token (the benchmark's token): each makes its key and its call does
 * the real work, judged by the JDK and openssl where the result can be checked from outside.
 */
class RawMechanismTest {
  private static TestToken token;
  private static Hsm hsm;

  @TempDir
  Path dir;

  @BeforeAll
  static void connect() throws Exception {
    token = TestToken.create("raw-mechanisms");
    hsm = new Pkcs11Connector(token.options(2)).connect(e -> {});
  }

  @AfterAll
  static void close() {
    hsm.close();
  }

  @Test
  void everyOperation_runsWithoutErrorOnItsOwnKey() throws Exception {
    for (RawMechanism m : RawMechanism.values()) {
      Hsm.SessionWork<?> call = m.prepare(hsm, settings(new SecureRandom()));
      for (int i = 0; i < 70; i++) {
        // 70 calls: every one of the 64 digests, messages or peers, and round again
        assertTrue(hsm.withSession(call) != null, m.id());
      }
    }
  }

  @Test
  void ecdsaSign_signsTheDigest_asTheJdkVerifies() throws Exception {
    Made made = prepare(RawMechanism.ECDSA_SIGN);
    byte[] signature = (byte[]) hsm.withSession(made.call());
    Signature jdk = Signature.getInstance("NONEwithECDSA");
    jdk.initVerify(KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(
        hsm.withSession(s -> s.publicKeyInfo(made.key(), KeySpec.ECC_NIST_P256)))));
    jdk.update(firstValue());
    assertTrue(jdk.verify(signature), "a DER ECDSA signature of the first digest");
  }

  @Test
  void rsaPssSign_signsTheDigestWithASaltOfItsLength_asOpensslVerifies() throws Exception {
    Made made = prepare(RawMechanism.RSA_PSS_SIGN);
    byte[] signature = (byte[]) hsm.withSession(made.call());
    assertEquals(256, signature.length);
    OpenSsl openssl = new OpenSsl(dir);
    openssl.write("pub.der", hsm.withSession(s -> s.publicKeyInfo(made.key(), KeySpec.RSA_2048)));
    openssl.write("digest", firstValue());
    openssl.write("sig", signature);
    OpenSsl.Result verified = openssl.ok("pkeyutl", "-verify", "-pubin", "-keyform", "DER", "-inkey", "pub.der", "-in",
        "digest", "-sigfile", "sig", "-pkeyopt", "rsa_padding_mode:pss", "-pkeyopt", "digest:sha256", "-pkeyopt",
        "rsa_pss_saltlen:32");
    assertTrue(verified.text().contains("Signature Verified Successfully"), verified.text());
  }

  @Test
  void hmacAndEcdh_giveTheSameAnswerForTheSameInput_andDifferentOnesOtherwise() throws Exception {
    for (RawMechanism m : List.of(RawMechanism.HMAC_SHA256, RawMechanism.ECDH_P256)) {
      Hsm.SessionWork<?> call = m.prepare(hsm, settings(new SecureRandom()));
      List<byte[]> answers = new ArrayList<>();
      for (int i = 0; i <= 64; i++) {
        answers.add((byte[]) hsm.withSession(call));
      }
      assertEquals(32, answers.get(0).length, m.id());
      assertArrayEquals(answers.get(0), answers.get(64), m.id() + ": the 65th call takes the first input again");
      assertFalse(java.util.Arrays.equals(answers.get(0), answers.get(1)), m.id());
    }
  }

  /** A prepared operation and the one key pair it made. */
  private record Made(Hsm.SessionWork<?> call, HsmKey key) {}

  private static Made prepare(RawMechanism m) throws Exception {
    List<HsmKey> before = hsm.withSession(s -> s.findKeys("kmsgw:"));
    Hsm.SessionWork<?> call = m.prepare(hsm, settings(seeded()));
    List<HsmKey> made = new ArrayList<>(hsm.withSession(s -> s.findKeys("kmsgw:")));
    made.removeAll(before);
    assertEquals(1, made.size(), made.toString());
    return new Made(call, made.get(0));
  }

  private static RawMechanism.Settings settings(SecureRandom random) {
    return new RawMechanism.Settings(1, 32, random);
  }

  /** A random source that gives the same bytes every time, so the test knows the first digest. */
  private static SecureRandom seeded() throws Exception {
    SecureRandom r = SecureRandom.getInstance("SHA1PRNG");
    r.setSeed(17L);
    return r;
  }

  private static byte[] firstValue() throws Exception {
    byte[] v = new byte[32];
    seeded().nextBytes(v);
    return v;
  }
}

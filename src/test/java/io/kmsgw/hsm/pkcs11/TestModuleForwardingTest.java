package io.kmsgw.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.HsmStats;
import io.kmsgw.hsm.KeyCustody;
import io.kmsgw.hsm.SecretKeyInfo;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.PublicKey;
import java.security.Signature;
import java.security.spec.X509EncodedKeySpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The PKCS#11 adapter's whole key lifecycle through kmsgw's PKCS#11 test module in plain forwarding mode (the shape of
 * {@link Pkcs11HsmTest}): what the gateway does on SoftHSM2 it does through the module, which is what makes the
 * module's vendor behaviours and faults (the other TestModule*Test classes) meaningful.
 */
class TestModuleForwardingTest {
  private static final byte[] IV = new byte[12];
  private static TestPkcs11Module module;
  private static TestToken token;
  private static String library;
  private final List<Hsm> opened = new ArrayList<>();

  @BeforeAll
  static void token() {
    module = TestPkcs11Module.inThisJvm().reset();
    library = TestPkcs11Module.library().toString();
    token = TestToken.create("fwd", library);
  }

  @AfterEach
  void closeAll() {
    opened.forEach(Hsm::close);
    opened.clear();
    module.reset();
  }

  private Hsm connect(int poolSize) throws HsmException {
    Hsm hsm = new Pkcs11Connector(token.options(poolSize)).connect(e -> {});
    opened.add(hsm);
    return hsm;
  }

  @Test
  void theModule_isWhatTheAdapterLoads() throws Exception {
    connect(1);
    var info = SharedModule.of(library).module().getInfo();
    assertEquals("kmsgw test module", info.getLibraryDescription().trim());
    assertEquals("SoftHSM", info.getManufacturerID().trim(), "the module forwards to SoftHSM2");
  }

  @Test
  void aesKeyLifecycle_generateCustodyEncryptDecryptFindDestroy_forwards() throws HsmException {
    Hsm hsm = connect(2);
    HsmKey key = hsm.withSession(s -> s.generateAes256Key("fwd:aes", "fwd-aes".getBytes(StandardCharsets.UTF_8)));
    KeyCustody c = hsm.withSession(s -> s.custody(key));
    assertTrue(c.token() && c.privateObject() && c.sensitive() && c.alwaysSensitive() && c.neverExtractable(),
        c.toString());
    assertFalse(c.extractable());

    byte[] pt = "attack at dawn".getBytes(StandardCharsets.UTF_8);
    byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, "aad".getBytes(), pt));
    assertEquals(pt.length + 16, ct.length);
    assertArrayEquals(pt, hsm.withSession(s -> s.decryptAesGcm(key, IV, "aad".getBytes(), ct)));
    HsmException bad = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.decryptAesGcm(key, IV, "AAD".getBytes(), ct)));
    assertEquals(HsmErrorKind.BAD_CIPHERTEXT, bad.kind(), "SoftHSM2's code for a bad tag comes through unchanged");

    List<SecretKeyInfo> described = hsm.withSession(s -> s.describeSecretKeys("fwd:aes"));
    assertEquals(1, described.size());
    assertTrue(described.get(0).aes() && described.get(0).valueLength() == 32, described.toString());
    assertTrue(hsm.withSession(s -> s.findKeys("fwd:")).contains(key));

    hsm.withSession(s -> {
      s.destroy(key);
      return null;
    });
    boolean exists = hsm.withSession(s -> s.exists(key));
    assertFalse(exists);
    HsmException gone = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], pt)));
    assertEquals(HsmErrorKind.KEY_NOT_FOUND, gone.kind());
  }

  @Test
  void ecSigningKey_signsWhatTheJdkVerifies() throws Exception {
    Hsm hsm = connect(1);
    HsmKey key = hsm.withSession(s -> s.generateEcP256SigningKey("fwd:ec", new byte[] {7}));
    byte[] spki = hsm.withSession(s -> s.ecP256PublicKey(key)).orElseThrow();
    byte[] digest = MessageDigest.getInstance("SHA-256").digest("audit digest".getBytes(StandardCharsets.UTF_8));
    byte[] rs = hsm.withSession(s -> s.signEcdsa(key, digest));
    assertEquals(64, rs.length);
    PublicKey pub = KeyFactory.getInstance("EC").generatePublic(new X509EncodedKeySpec(spki));
    Signature verifier = Signature.getInstance("NONEwithECDSAinP1363Format");
    verifier.initVerify(pub);
    verifier.update(digest);
    assertTrue(verifier.verify(rs), "the JDK verifies the signature made through the module");
    KeyCustody c = hsm.withSession(s -> s.custody(key));
    assertTrue(c.sensitive() && !c.extractable(), c.toString());
  }

  @Test
  void pool_under16ThreadsOn4Sessions_needsNoNewSessionsOrLogins() throws Exception {
    Hsm hsm = connect(4);
    HsmKey key = hsm.withSession(s -> s.generateAes256Key("fwd:load", new byte[] {1}));
    HsmStats before = hsm.stats();
    ExecutorService threads = Executors.newFixedThreadPool(16);
    List<Future<?>> results = new ArrayList<>();
    for (int t = 0; t < 16; t++) {
      int thread = t;
      results.add(threads.submit(() -> {
        for (int i = 0; i < 100; i++) {
          byte[] pt = ("thread " + thread + " call " + i).getBytes(StandardCharsets.UTF_8);
          byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], pt));
          assertArrayEquals(pt, hsm.withSession(s -> s.decryptAesGcm(key, IV, new byte[0], ct)));
        }
        return null;
      }));
    }
    for (Future<?> f : results) {
      f.get(60, TimeUnit.SECONDS);
    }
    threads.shutdown();
    HsmStats after = hsm.stats();
    assertEquals(before.sessionsOpened(), after.sessionsOpened(), after.toString());
    assertEquals(1, after.logins());
    assertEquals(0, after.evicted());
    assertEquals(0, after.borrowTimeouts());
  }

  @Test
  void close_logsOut_soTheNextConnectionChecksThePinAgain() throws HsmException {
    connect(2).close();
    HsmException e = assertThrows(HsmException.class,
        () -> new Pkcs11Connector(token.options(1, "wrong-pin", Duration.ofSeconds(1))).connect(x -> {}));
    assertEquals(HsmErrorKind.PIN_INCORRECT, e.kind());
    assertEquals(16, connect(1).withSession(s -> s.generateRandom(16)).length);
  }
}

package io.kmsgw.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.config.VendorProfile;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.KeyCustody;
import io.kmsgw.testing.NssTestDatabase;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The PKCS#11 adapter on NSS's software token ({@code libsoftokn3.so}), a second real PKCS#11 implementation: a new
 * NSS database made by {@link NssTokens} (user PIN set through the SO's empty PIN), reached with its parameters in
 * {@code C_Initialize}'s {@code pReserved}, under the {@code nss} vendor profile.
 */
class NssTokenTest {
  private static final String PIN = TestToken.USER_PIN;
  private static String library;
  private static String initArgs;
  private static Hsm hsm;

  @BeforeAll
  static void database() throws HsmException {
    // the JVM's one NSS database: a process initialises the library once, with one parameter string, so every test
    // class on NSS shares it (NssTestDatabase checked that the new database had no user PIN before setting it)
    TestToken token = NssTestDatabase.token();
    library = token.library();
    initArgs = token.initArgs();
    assertTrue(NssTokens.pinInitialized(library, initArgs));
    assertTrue(Files.exists(NssTestDatabase.directory().resolve("key4.db")), "NSS created its key database in configdir");
    hsm = new Pkcs11Connector(options(PIN)).connect(e -> {});
  }

  @AfterAll
  static void close() {
    if (hsm != null) {
      hsm.close();
    }
  }

  private static Pkcs11Options options(String pin) {
    VendorProfile nss = VendorProfile.NSS;
    return new Pkcs11Options(library, NssTokens.KEY_TOKEN_LABEL, pin::toCharArray, 2, Duration.ofSeconds(2),
        Duration.ofSeconds(10), nss.gcmGeneralErrorOnTagMismatch(), nss.sessionKeyCopies(), 1, nss.gcmIvFromHsm(),
        initArgs);
  }

  private static HsmKey newKey(String name) throws HsmException {
    String label = "test:" + name + "-" + UUID.randomUUID().toString().substring(0, 8);
    return hsm.withSession(s -> s.generateAes256Key(label, label.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void generatedKey_isHeldInCustody_readBackFromNss() throws HsmException {
    HsmKey key = newKey("custody");
    KeyCustody c = hsm.withSession(s -> s.custody(key));
    assertTrue(c.token() && c.privateObject(), c.toString());
    assertTrue(c.sensitive() && c.alwaysSensitive(), c.toString());
    assertFalse(c.extractable(), c.toString());
    assertTrue(c.neverExtractable(), c.toString());
    assertTrue((boolean) hsm.withSession(s -> s.exists(key)));
  }

  @Test
  void aesGcm_roundTrips_withCallerIv_andTagIsAppended() throws HsmException {
    HsmKey key = newKey("gcm");
    byte[] iv = hsm.withSession(s -> s.generateRandom(12));
    for (int size : new int[] {0, 1, 15, 16, 17, 4096}) {
      byte[] pt = new byte[size];
      java.util.Arrays.fill(pt, (byte) size);
      byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, iv, "aad".getBytes(), pt));
      assertEquals(size + 16, ct.length, "ciphertext and 16-byte tag for " + size + " bytes");
      assertArrayEquals(pt, hsm.withSession(s -> s.decryptAesGcm(key, iv, "aad".getBytes(), ct)));
    }
  }

  @Test
  void tagMismatch_isABadCiphertext_andTheSessionStaysGood() throws HsmException {
    HsmKey key = newKey("tag");
    byte[] iv = new byte[12];
    byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, iv, "aad".getBytes(), "attack at dawn".getBytes()));
    HsmException wrongAad = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.decryptAesGcm(key, iv, "AAD".getBytes(), ct)));
    assertEquals(HsmErrorKind.BAD_CIPHERTEXT, wrongAad.kind(), wrongAad.toString());
    assertEquals("CKR_ENCRYPTED_DATA_INVALID", wrongAad.ckrName(), "NSS's code for a failed GCM tag check");
    ct[ct.length - 1] ^= 1;
    HsmException flipped = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.decryptAesGcm(key, iv, "aad".getBytes(), ct)));
    assertEquals(HsmErrorKind.BAD_CIPHERTEXT, flipped.kind(), flipped.toString());
    ct[ct.length - 1] ^= 1;
    assertArrayEquals("attack at dawn".getBytes(), hsm.withSession(s -> s.decryptAesGcm(key, iv, "aad".getBytes(), ct)));
  }

  @Test
  void temporaryKey_andKeyListing_andDestroy() throws HsmException {
    byte[] pt = "sealed under a session key".getBytes(StandardCharsets.UTF_8);
    byte[] back = hsm.withSession(s -> s.withTemporaryAesKey(k -> {
      byte[] ct = s.encryptAesGcm(k, new byte[12], new byte[0], pt);
      return s.decryptAesGcm(k, new byte[12], new byte[0], ct);
    }));
    assertArrayEquals(pt, back);
    HsmKey key = newKey("listed");
    assertTrue(hsm.withSession(s -> s.findKeys(key.label())).stream()
        .anyMatch(k -> k.label().equals(key.label())));
    hsm.withSession(s -> {
      s.destroy(key);
      return null;
    });
    assertFalse((boolean) hsm.withSession(s -> s.exists(key)));
  }

  @Test
  void signingKey_signsWithEcdsaP256() throws Exception {
    String label = "test:sign-" + UUID.randomUUID().toString().substring(0, 8);
    HsmKey key = hsm.withSession(s -> s.generateEcP256SigningKey(label, label.getBytes(StandardCharsets.UTF_8)));
    byte[] spki = hsm.withSession(s -> s.ecP256PublicKey(key)).orElseThrow();
    byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest("signed".getBytes());
    byte[] rs = hsm.withSession(s -> s.signEcdsa(key, digest));
    assertEquals(64, rs.length, "r || s");
    java.security.PublicKey pub = java.security.KeyFactory.getInstance("EC")
        .generatePublic(new java.security.spec.X509EncodedKeySpec(spki));
    java.security.Signature v = java.security.Signature.getInstance("SHA256withECDSAinP1363Format");
    v.initVerify(pub);
    v.update("signed".getBytes());
    assertTrue(v.verify(rs), "NSS's signature verifies with the public key it exported");
    KeyCustody c = hsm.withSession(s -> s.custody(key));
    assertTrue(c.sensitive() && !c.extractable(), c.toString());
  }

  @Test
  void sameLibraryWithOtherInitArgs_isRefusedClearly() {
    HsmException e = assertThrows(HsmException.class,
        () -> SharedModule.of(library, "configdir='sql:/nonexistent' flags="));
    assertEquals(HsmErrorKind.LIBRARY_ERROR, e.kind());
    assertTrue(e.getMessage().contains("already initialised in this process with other init_args"), e.getMessage());
    HsmException none = assertThrows(HsmException.class, () -> SharedModule.of(library));
    assertTrue(none.getMessage().contains("other init_args"), none.getMessage());
  }

  @Test
  void mechanisms_areDiscoveredFromNss() {
    assertTrue(hsm.mechanisms().find(org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_AES_GCM).isPresent(),
        hsm.mechanisms().summary().toString());
    assertTrue(hsm.mechanisms().offers(io.kmsgw.hsm.Capability.AES_GCM)
        && hsm.mechanisms().offers(io.kmsgw.hsm.Capability.AES_KEY_GEN), hsm.mechanisms().summary().toString());
  }
}

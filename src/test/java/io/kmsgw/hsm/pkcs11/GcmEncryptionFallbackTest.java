package io.kmsgw.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link GcmEncryption}'s detour through the message functions (which NSS needs) must not catch a token that lacks
 * them: kmsgw's PKCS#11 test module over SoftHSM2 (PKCS#11 2.40) answers {@code C_Encrypt} once with
 * {@code CKR_BUFFER_TOO_SMALL}; the call fails with that code, and the connection keeps encrypting through
 * {@code C_Encrypt} (had it switched, every later call would fail with {@code CKR_FUNCTION_NOT_SUPPORTED}).
 */
class GcmEncryptionFallbackTest {
  private static final byte[] IV = new byte[12];
  private static TestPkcs11Module module;
  private static TestToken token;
  private static Hsm hsm;

  @BeforeAll
  static void connect() throws HsmException {
    module = TestPkcs11Module.inThisJvm().reset();
    token = TestToken.create("gcm-fallback", TestPkcs11Module.library().toString());
    hsm = new Pkcs11Connector(token.options(1)).connect(e -> { });
    module.clearEvents();
  }

  @AfterAll
  static void close() {
    module.reset();
    if (hsm != null) {
      hsm.close();
    }
  }

  @Test
  void bufferTooSmall_onATokenWithoutMessageFunctions_failsThatCall_andCEncryptGoesOn() throws HsmException {
    HsmKey key = hsm.withSession(s -> s.generateAes256Key("gcm-fallback", new byte[] {7}));
    byte[] pt = "through C_Encrypt".getBytes(StandardCharsets.UTF_8);
    module.set("fail.C_Encrypt=CKR_BUFFER_TOO_SMALL times=1");
    HsmException e = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], pt)));
    assertEquals("CKR_BUFFER_TOO_SMALL", e.ckrName(), e.getMessage());
    assertEquals(List.of("fail C_Encrypt rv=CKR_BUFFER_TOO_SMALL"), module.events("fail "));

    for (int i = 0; i < 3; i++) {
      byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], pt));
      assertEquals(pt.length + 16, ct.length);
      assertArrayEquals(pt, hsm.withSession(s -> s.decryptAesGcm(key, IV, new byte[0], ct)));
    }
  }
}

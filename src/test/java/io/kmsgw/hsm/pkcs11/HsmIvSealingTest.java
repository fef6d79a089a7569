package io.kmsgw.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.hsm.GcmSealed;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Sealing with an HSM-generated IV ({@code gcm_iv_from_hsm}) through the gateway's adapter: on the test module in
 * CloudHSM mode (the IV is written into {@code pIv}, which must be zeroed) and on SoftHSM2, which takes the caller's
 * IV and so must be refused.
 */
class HsmIvSealingTest {
  private static final byte[] AAD = "aad".getBytes(StandardCharsets.UTF_8);
  private static final byte[] PT = "thirty-two bytes of plaintext...".getBytes(StandardCharsets.UTF_8);
  private static TestPkcs11Module module;
  private static TestToken viaModule;
  private static TestToken plain;
  private static String library;
  private final List<Hsm> opened = new ArrayList<>();

  @BeforeAll
  static void tokens() {
    module = TestPkcs11Module.inThisJvm().reset();
    library = TestPkcs11Module.library().toString();
    viaModule = TestToken.create("hsmiv-module", library);
    plain = TestToken.create("hsmiv-plain");
    module.clearEvents();
  }

  @AfterEach
  void closeAll() throws HsmException {
    module.reset();
    module.clearEvents();
    opened.forEach(Hsm::close);
    opened.clear();
    SharedModule m = SharedModule.of(library);
    m.reinitialize(m.generation());
  }

  private Hsm connect(TestToken token, String pin, boolean sessionKeyCopies, boolean ivFromHsm) throws HsmException {
    Pkcs11Options o = token.options(1, pin, Duration.ofSeconds(2));
    Hsm hsm = new Pkcs11Connector(new Pkcs11Options(o.library(), o.tokenLabel(), o.pin(), 1, o.borrowTimeout(),
        o.validateAfterIdle(), false, sessionKeyCopies, 1, ivFromHsm)).connect(e -> {});
    opened.add(hsm);
    return hsm;
  }

  private String lastIvEvent() {
    List<String> written = module.events("gcm_iv written at=C_EncryptInit");
    assertFalse(written.isEmpty(), module.events().toString());
    String line = written.get(written.size() - 1);
    return line.substring(line.indexOf("iv=") + 3).trim();
  }

  @Test
  void cloudHsm_theIvTheHsmChose_isNamed_andOpensTheCiphertext_onTheModuleAndOnPlainSoftHsm() throws Exception {
    module.set("vendor=cloudhsm");
    Hsm hsm = connect(viaModule, "cu:" + TestToken.USER_PIN, false, true);
    HsmKey key = hsm.withSession(s -> s.generateAes256Key("hsmiv:cloudhsm", new byte[] {1}));
    assertTrue((boolean) hsm.<Boolean>withSession(s -> s.gcmIvFromHsm()));
    GcmSealed sealed = hsm.withSession(s -> s.encryptAesGcmHsmIv(key, AAD, PT));
    assertEquals(lastIvEvent(), HexFormat.of().formatHex(sealed.iv()), "the IV the module wrote into pIv");
    assertEquals(PT.length + 16, sealed.ciphertextAndTag().length);
    // decryption takes the caller's IV on CloudHSM too
    assertArrayEquals(PT, hsm.withSession(s -> s.decryptAesGcm(key, sealed.iv(), AAD, sealed.ciphertextAndTag())));
    GcmSealed again = hsm.withSession(s -> s.encryptAesGcmHsmIv(key, AAD, PT));
    assertFalse(java.util.Arrays.equals(sealed.iv(), again.iv()), "a fresh IV per encryption");
  }

  @Test
  void plainSoftHsm_usesTheCallersZeroIv_soHsmIvSealingIsRefused_namingTheFlag() throws HsmException {
    Hsm hsm = connect(plain, TestToken.USER_PIN, true, true);
    HsmKey key = hsm.withSession(s -> s.generateAes256Key("hsmiv:plain", new byte[] {2}));
    HsmException e = assertThrows(HsmException.class, () -> hsm.withSession(s -> s.encryptAesGcmHsmIv(key, AAD, PT)));
    assertEquals(HsmErrorKind.GCM_IV_MODE, e.kind());
    assertTrue(e.getMessage().contains("gcm_iv_from_hsm"), e.getMessage());
  }

  @Test
  void lunaStyleAppendedIv_isRefused_notSealedWithAnIvNobodyCanName() throws HsmException {
    module.set("vendor=luna-fips");
    Hsm hsm = connect(viaModule, TestToken.USER_PIN, true, true);
    HsmKey key = hsm.withSession(s -> s.generateAes256Key("hsmiv:luna", new byte[] {3}));
    HsmException e = assertThrows(HsmException.class, () -> hsm.withSession(s -> s.encryptAesGcmHsmIv(key, AAD, PT)));
    assertEquals(HsmErrorKind.GCM_IV_MODE, e.kind());
    assertTrue(e.getMessage().contains("Luna") && e.getMessage().contains("policy 12"), e.getMessage());
  }

  @Test
  void aTemporaryKey_sealsAndOpens_andLeavesNoObjectBehind() throws HsmException {
    Hsm hsm = connect(plain, TestToken.USER_PIN, true, false);
    byte[] iv = new byte[12];
    byte[] opened = hsm.withSession(s -> s.withTemporaryAesKey(k -> s.decryptAesGcm(k, iv, AAD,
        s.encryptAesGcm(k, iv, AAD, PT))));
    assertArrayEquals(PT, opened);
    assertTrue(hsm.withSession(s -> s.findKeys("kmsgw-temporary")).isEmpty());
  }
}

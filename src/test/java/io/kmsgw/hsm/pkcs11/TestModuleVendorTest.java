package io.kmsgw.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_AES_GCM;
import static org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_AES_KEY_GEN;

import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.xipki.pkcs11.wrapper.AttributeVector;
import org.xipki.pkcs11.wrapper.Mechanism;
import org.xipki.pkcs11.wrapper.PKCS11Exception;
import org.xipki.pkcs11.wrapper.Session;
import org.xipki.pkcs11.wrapper.Slot;
import org.xipki.pkcs11.wrapper.params.GCM_PARAMS;

/**
 * The vendor behaviours kmsgw's PKCS#11 test module emulates (the citations are in src/test/c/kmsgw_test_pkcs11.c and
 * docs/hsm-vendors.md), over a real SoftHSM2 token, as the gateway's adapter and its JNI wrapper meet them.
 */
class TestModuleVendorTest {
  private static final byte[] IV = new byte[12];
  private static final byte[] AAD = "aad".getBytes(StandardCharsets.UTF_8);
  private static TestPkcs11Module module;
  private static TestToken token;
  private static String library;
  private final List<Hsm> opened = new ArrayList<>();

  @BeforeAll
  static void token() {
    module = TestPkcs11Module.inThisJvm().reset();
    library = TestPkcs11Module.library().toString();
    token = TestToken.create("vendor", library);
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

  private Hsm connect(String pin, boolean generalErrorMeansBadTag, boolean sessionKeyCopies, int poolSize)
      throws HsmException {
    Pkcs11Options o = token.options(poolSize, pin, Duration.ofSeconds(2));
    Hsm hsm = new Pkcs11Connector(new Pkcs11Options(o.library(), o.tokenLabel(), o.pin(), poolSize, o.borrowTimeout(),
        o.validateAfterIdle(), generalErrorMeansBadTag, sessionKeyCopies, 1)).connect(e -> {});
    opened.add(hsm);
    return hsm;
  }

  private Hsm connect(int poolSize) throws HsmException {
    return connect(TestToken.USER_PIN, true, true, poolSize);
  }

  /** AWS CloudHSM: the PIN is {@code <HSM user name>:<password>}. */
  @Test
  void cloudHsmPin_userColonPassword_logsInWithThePassword_andAPlainPinIsRefused() throws HsmException {
    module.set("pin=user:password");
    HsmException plain = assertThrows(HsmException.class, () -> connect(1));
    assertEquals(HsmErrorKind.PIN_INCORRECT, plain.kind());
    assertEquals(1, module.events("login refused").size(), module.events().toString());
    Hsm hsm = connect("crypto-user:" + TestToken.USER_PIN, true, true, 1);
    assertEquals(8, hsm.withSession(s -> s.generateRandom(8)).length);
    assertEquals(List.of("login user=crypto-user rv=CKR_OK"), module.events("login user="));
    assertTrue(module.events().stream().noneMatch(l -> l.contains(TestToken.USER_PIN)), "no PIN in the module's log");
  }

  /** AWS CloudHSM SDK 5: C_OpenSession without CKF_RW_SESSION fails CKR_FUNCTION_FAILED. */
  @Test
  void cloudHsm_refusesReadOnlySessions_andTheAdaptersReadWriteSessionsWork() throws Exception {
    module.set("vendor=cloudhsm");
    long slot = slotOf(token.label());
    iaik.pkcs.pkcs11.wrapper.PKCS11 raw = SharedModule.of(library).module().getPKCS11Module();
    iaik.pkcs.pkcs11.wrapper.PKCS11Exception e = assertThrows(iaik.pkcs.pkcs11.wrapper.PKCS11Exception.class,
        () -> raw.C_OpenSession(slot, 0x4L /* CKF_SERIAL_SESSION */, null, null));
    assertEquals(0x6L, e.getErrorCode(), "CKR_FUNCTION_FAILED");
    Hsm hsm = connect("cu:" + TestToken.USER_PIN, false, false, 2);
    assertEquals(8, hsm.withSession(s -> s.generateRandom(8)).length);
  }

  /** CloudHSM's SDK 5 lists no C_CopyObject: the adapter's session-object copies need it. */
  @Test
  void withoutCopyObject_sessionKeyCopiesFailUnsupported_andTokenKeysServe() throws HsmException {
    module.set("unsupported=C_CopyObject");
    Hsm copies = connect(TestToken.USER_PIN, true, true, 1);
    HsmException e = assertThrows(HsmException.class,
        () -> copies.withSession(s -> s.generateAes256Key("vendor:copy", new byte[] {1})));
    assertEquals(HsmErrorKind.UNSUPPORTED, e.kind());
    assertEquals("CKR_FUNCTION_NOT_SUPPORTED", e.ckrName());
    copies.close();
    Hsm direct = connect(TestToken.USER_PIN, true, false, 1);
    HsmKey key = direct.withSession(s -> s.generateAes256Key("vendor:direct", new byte[] {2}));
    byte[] ct = direct.withSession(s -> s.encryptAesGcm(key, IV, AAD, new byte[] {9}));
    assertArrayEquals(new byte[] {9}, direct.withSession(s -> s.decryptAesGcm(key, IV, AAD, ct)));
  }

  @Test
  void sessionLimit_refusesAPoolLargerThanIt_andLeavesNothingOpen() throws HsmException {
    module.set("max_sessions=3");
    HsmException e = assertThrows(HsmException.class, () -> connect(4));
    assertEquals(HsmErrorKind.RESOURCE_EXHAUSTED, e.kind());
    assertEquals("CKR_SESSION_COUNT", e.ckrName());
    assertFalse(module.events("session_count refused").isEmpty());
    Hsm hsm = connect(2); // the anchor and two pooled sessions: exactly the limit
    assertEquals(3, hsm.stats().open() + 1);
    assertEquals(8, hsm.withSession(s -> s.generateRandom(8)).length);
  }

  /** CloudHSM: C_Encrypt / C_Decrypt buffers with CKM_AES_GCM cannot exceed 16 KB. */
  @Test
  void gcmDataLimit_refusesMoreThan16KiB_andTheSessionStaysUsable() throws HsmException {
    module.set("gcm_max_data=16384");
    Hsm hsm = connect(1);
    HsmKey key = hsm.withSession(s -> s.generateAes256Key("vendor:16k", new byte[] {3}));
    byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, AAD, new byte[16384]));
    HsmException tooBig = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.encryptAesGcm(key, IV, AAD, new byte[16385])));
    assertEquals("CKR_DATA_LEN_RANGE", tooBig.ckrName());
    HsmException tooBigToOpen = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.decryptAesGcm(key, IV, AAD, ct))); // 16384 + the 16-byte tag
    assertEquals(HsmErrorKind.BAD_CIPHERTEXT, tooBigToOpen.kind());
    assertEquals("CKR_ENCRYPTED_DATA_LEN_RANGE", tooBigToOpen.ckrName());
    byte[] small = hsm.withSession(s -> s.encryptAesGcm(key, IV, AAD, new byte[] {4}));
    assertArrayEquals(new byte[] {4}, hsm.withSession(s -> s.decryptAesGcm(key, IV, AAD, small)),
        "the refused operations were ended: the one session goes on");
    assertEquals(0, hsm.stats().evicted());
  }

  /** SoftHSM2 answers a bad GCM tag with CKR_GENERAL_ERROR; the standard code is CKR_ENCRYPTED_DATA_INVALID. */
  @Test
  void tagMismatchCode_isWhatTheProfileFlagMustMatch() throws HsmException {
    module.set("gcm_tag_error=CKR_ENCRYPTED_DATA_INVALID");
    Hsm standard = connect(TestToken.USER_PIN, false, true, 1);
    HsmKey key = standard.withSession(s -> s.generateAes256Key("vendor:tag", new byte[] {5}));
    byte[] ct = standard.withSession(s -> s.encryptAesGcm(key, IV, AAD, new byte[] {1, 2}));
    ct[ct.length - 1] ^= 1;
    HsmException bad = assertThrows(HsmException.class,
        () -> standard.withSession(s -> s.decryptAesGcm(key, IV, AAD, ct)));
    assertEquals(HsmErrorKind.BAD_CIPHERTEXT, bad.kind());
    assertEquals("CKR_ENCRYPTED_DATA_INVALID", bad.ckrName());
    assertEquals(0, standard.stats().evicted(), "a bad ciphertext is not a broken session");
    standard.close();

    module.reset(); // SoftHSM2's own code, with a profile that does not expect it: a false device failure
    Hsm mismatched = connect(TestToken.USER_PIN, false, true, 1);
    HsmException misread = assertThrows(HsmException.class,
        () -> mismatched.withSession(s -> s.decryptAesGcm(key, IV, AAD, ct)));
    assertEquals(HsmErrorKind.DEVICE_ERROR, misread.kind());
    assertEquals("CKR_GENERAL_ERROR", misread.ckrName());
  }

  /** CloudHSM requires pIv to point to a zeroed buffer at C_EncryptInit (SDK 1.1.1 and later). */
  @Test
  void cloudHsm_refusesACallerChosenIv() throws HsmException {
    module.set("vendor=cloudhsm");
    Hsm hsm = connect("cu:" + TestToken.USER_PIN, false, false, 1);
    PKCS11Exception e = assertThrows(PKCS11Exception.class, () -> withRawKey(hsm, (raw, key) -> {
      raw.encryptInit(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
          AAD, 128)), key);
      return null;
    }));
    assertEquals(0x71L, e.getErrorCode(), "CKR_MECHANISM_PARAM_INVALID");
    assertEquals(1, module.events("gcm_iv refused: pIv is not zeroized").size());
  }

  /**
   * The finding that decides how the gateway can use an HSM that writes the IV into {@code CK_GCM_PARAMS.pIv} (AWS
   * CloudHSM): ipkcs11wrapper's JNI copies the Java parameters into native memory for {@code C_EncryptInit} and does
   * not copy {@code pIv} back, so the IV the HSM wrote during {@code C_EncryptInit} never reaches Java, although the
   * HSM encrypted with it. {@code C_Encrypt}'s JNI call carries no parameters at all, so an HSM that wrote the IV then
   * could not be seen either.
   */
  @Test
  void hsmWrittenIv_atEncryptInit_isInvisibleThroughTheJniWrapper() throws Exception {
    module.set("gcm_iv=hsm", "gcm_iv_zeroed=1");
    Hsm hsm = connect(TestToken.USER_PIN, true, false, 1);
    byte[] pt = "sealed under an IV the HSM chose".getBytes(StandardCharsets.UTF_8);
    byte[] javaIv = new byte[12];
    GCM_PARAMS params = new GCM_PARAMS(javaIv, AAD, 128);
    byte[][] result = withRawKey(hsm, (raw, key) -> {
      raw.encryptInit(new Mechanism(CKM_AES_GCM, params), key);
      byte[] afterInit = params.getParams().pIv.clone();
      byte[] ct = raw.encrypt(pt);
      byte[] hsmIv = HexFormat.of().parseHex(lastIvEvent());
      byte[] opened = raw.decryptSingle(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(hsmIv, AAD, 128)), key, ct);
      PKCS11Exception withZeros = assertThrows(PKCS11Exception.class,
          () -> raw.decryptSingle(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(new byte[12], AAD, 128)), key, ct));
      assertEquals(0x5L, withZeros.getErrorCode(), "the zero IV the caller holds does not open it");
      return new byte[][] {afterInit, hsmIv, opened};
    });
    assertArrayEquals(new byte[12], result[0], "the parameters Java passed still hold zeros after C_EncryptInit");
    assertArrayEquals(new byte[12], javaIv, "and so does the Java array");
    assertFalse(Arrays.equals(new byte[12], result[1]), "the module did write an IV into the native pIv");
    assertArrayEquals(pt, result[2], "the HSM's IV (from the module's log) opens the ciphertext");
  }

  /**
   * An experiment for the design of HSM-generated IVs, not a behaviour of the gateway: the IV the JNI cannot see is
   * still recoverable from a ciphertext of at least 16 bytes. GCM's first keystream block is E_K(IV || 00000002) for a
   * 12-byte IV (NIST SP 800-38D, 7.1: J0 = IV || 0^31 || 1, then inc32), so plaintext XOR ciphertext of the first
   * block, decrypted with CKM_AES_ECB under the same key (which has CKA_DECRYPT), gives the IV back.
   */
  @Test
  void hsmWrittenIv_isRecoverable_fromTheFirstKeystreamBlock_withAesEcb() throws Exception {
    module.set("gcm_iv=hsm", "gcm_iv_zeroed=1");
    Hsm hsm = connect(TestToken.USER_PIN, true, false, 1);
    byte[] pt = "sixteen bytes or more of plaintext".getBytes(StandardCharsets.UTF_8);
    byte[][] result = withRawKey(hsm, (raw, key) -> {
      byte[] ct = raw.encryptSingle(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(new byte[12], AAD, 128)), key, pt);
      byte[] keystream = new byte[16];
      for (int i = 0; i < 16; i++) {
        keystream[i] = (byte) (pt[i] ^ ct[i]);
      }
      byte[] counterBlock = raw.decryptSingle(
          new Mechanism(org.xipki.pkcs11.wrapper.PKCS11Constants.CKM_AES_ECB), key, keystream);
      return new byte[][] {counterBlock, HexFormat.of().parseHex(lastIvEvent())};
    });
    assertArrayEquals(result[1], Arrays.copyOf(result[0], 12), "the recovered IV is the one the HSM chose");
    assertArrayEquals(new byte[] {0, 0, 0, 2}, Arrays.copyOfRange(result[0], 12, 16));
  }

  /**
   * With {@code gcm_iv_write=probe} the module also looks, during {@code C_Encrypt}, at the memory the JNI passed as
   * {@code pIv} at {@code C_EncryptInit}; the log line says whether it still holds the IV written there.
   */
  @Test
  void hsmWrittenIv_probe_reportsWhatBecameOfTheJniPivMemory() throws Exception {
    module.set("gcm_iv=hsm", "gcm_iv_write=probe");
    Hsm hsm = connect(TestToken.USER_PIN, true, false, 1);
    withRawKey(hsm, (raw, key) -> {
      raw.encryptInit(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(new byte[12], AAD, 128)), key);
      return raw.encrypt(new byte[] {1});
    });
    List<String> probe = module.events("gcm_iv probe at=C_Encrypt");
    assertEquals(1, probe.size(), module.events().toString());
    System.out.println("test module, JNI pIv memory at C_Encrypt: " + probe.get(0));
  }

  /**
   * Luna FIPS mode: the 16-byte IV comes back after the tag (seen on a raw session), where the adapter sees it too and
   * refuses to hand out that output, naming Luna and its HSM policy 12.
   */
  @Test
  void lunaFips_appendsTheHsmIvToTheCiphertext_andItOpensWithThatIv() throws Exception {
    module.set("vendor=luna-fips");
    Hsm hsm = connect(TestToken.USER_PIN, false, true, 1);
    byte[] pt = "luna".getBytes(StandardCharsets.UTF_8);
    byte[][] result = withRawKey(hsm, (raw, key) -> {
      byte[] out = raw.encryptSingle(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(IV, AAD, 128)), key, pt);
      byte[] hsmIv = Arrays.copyOfRange(out, out.length - 16, out.length);
      byte[] ct = Arrays.copyOf(out, out.length - 16);
      byte[] opened = raw.decryptSingle(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(hsmIv, AAD, 128)), key, ct);
      PKCS11Exception callerIv = assertThrows(PKCS11Exception.class,
          () -> raw.decryptSingle(new Mechanism(CKM_AES_GCM, new GCM_PARAMS(IV, AAD, 128)), key, ct));
      assertEquals(0x40L, callerIv.getErrorCode(), "CKR_ENCRYPTED_DATA_INVALID: the caller's IV was not used");
      return new byte[][] {out, hsmIv, opened};
    });
    assertEquals(pt.length + 16 + 16, result[0].length, "ciphertext, tag, IV");
    List<String> appended = module.events("gcm_iv appended");
    assertEquals(1, appended.size());
    assertTrue(appended.get(0).endsWith("iv=" + HexFormat.of().formatHex(result[1])), appended.get(0));
    assertArrayEquals(pt, result[2]);

    HsmKey key = hsm.withSession(s -> s.generateAes256Key("vendor:luna", new byte[] {6}));
    HsmException refused = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.encryptAesGcm(key, IV, AAD, pt)));
    assertEquals(HsmErrorKind.GCM_IV_MODE, refused.kind());
    assertTrue(refused.getMessage().contains("Luna") && refused.getMessage().contains("policy 12"),
        refused.getMessage());
  }

  private String lastIvEvent() {
    List<String> written = module.events("gcm_iv written at=C_EncryptInit");
    assertFalse(written.isEmpty(), module.events().toString());
    String line = written.get(written.size() - 1);
    return line.substring(line.indexOf("iv=") + 3);
  }

  @FunctionalInterface
  private interface RawWork<T> {
    T run(Session raw, long key) throws Exception;
  }

  /** Runs work on a raw session of the connection with a fresh AES-256 session key. */
  private static <T> T withRawKey(Hsm hsm, RawWork<T> work) throws Exception {
    Object[] out = new Object[1];
    Exception[] failed = new Exception[1];
    hsm.withSession(s -> {
      Session raw = ((Pkcs11Session) s).raw();
      try {
        long key = raw.generateKey(new Mechanism(CKM_AES_KEY_GEN), AttributeVector.newAESSecretKey().token(false)
            .sensitive(true).extractable(false).encrypt(true).decrypt(true).valueLen(32));
        out[0] = work.run(raw, key);
      } catch (Exception e) {
        failed[0] = e;
      }
      return null;
    });
    if (failed[0] != null) {
      throw failed[0];
    }
    @SuppressWarnings("unchecked")
    T result = (T) out[0];
    return result;
  }

  private static long slotOf(String label) throws Exception {
    for (Slot s : SharedModule.of(library).module().getSlotList(true)) {
      if (label.equals(s.getToken().getTokenInfo().getLabel().trim())) {
        return s.getSlotID();
      }
    }
    throw new AssertionError("no slot with token " + label);
  }
}

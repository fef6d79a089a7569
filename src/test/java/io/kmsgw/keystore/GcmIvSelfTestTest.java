package io.kmsgw.keystore;

import static io.kmsgw.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.pkcs11.Pkcs11Connector;
import io.kmsgw.hsm.pkcs11.Pkcs11Options;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The GCM IV self-test every connection runs: a key store whose {@code gcm_iv_from_hsm} does not match what its HSM
 * does is FAILED with a message naming the flag, instead of answering Encrypt with ciphertext no Decrypt can open.
 */
class GcmIvSelfTestTest {
  private static TestPkcs11Module module;
  private static TestToken viaModule;
  private static TestToken plain;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final java.util.concurrent.ExecutorService workerPool = Executors.newFixedThreadPool(2);
  private KeyStoreConnection connection;

  @BeforeAll
  static void tokens() {
    module = TestPkcs11Module.inThisJvm().reset();
    viaModule = TestToken.create("selftest-module", TestPkcs11Module.library().toString());
    plain = TestToken.create("selftest-plain");
  }

  @AfterEach
  void close() {
    if (connection != null) {
      connection.close();
    }
    workerPool.shutdownNow();
    scheduler.shutdownNow();
    module.reset();
  }

  private KeyStoreConnection connect(TestToken token, String pin, boolean sessionCopies, boolean ivFromHsm) {
    Pkcs11Options o = token.options(2, pin, Duration.ofSeconds(2));
    connection = new KeyStoreConnection("default", new Pkcs11Connector(new Pkcs11Options(o.library(), o.tokenLabel(),
        o.pin(), 2, o.borrowTimeout(), o.validateAfterIdle(), true, sessionCopies, 1, ivFromHsm)), scheduler,
        Duration.ofMillis(50), Duration.ofMillis(200), new HsmWorkers(workerPool, Duration.ofSeconds(2)), true, h -> {});
    connection.connect();
    return connection;
  }

  /** Returns the FAILED store's message (before a request brings its retry forward). */
  private static String assertFailedNamingTheFlag(KeyStoreConnection c) throws InterruptedException {
    eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
    String message = c.status().message();
    assertTrue(message.contains("gcm_iv_from_hsm"), message);
    assertThrows(KmsException.class, () -> c.hsm(ErrorCode.KMS_INVALID_STATE), "nothing is sealed on it");
    return message;
  }

  /** Issue #16's silent data loss: the HSM writes its own IV while the profile says it takes the caller's. */
  @Test
  void hsmThatChoosesItsIv_withTheFlagOff_leavesTheStoreFailed_namingTheFlag() throws Exception {
    module.set("gcm_iv=hsm");
    KeyStoreConnection c = connect(viaModule, TestToken.USER_PIN, true, false);
    String message = assertFailedNamingTheFlag(c);
    assertTrue(message.contains("KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM=true"), message);
  }

  /** CloudHSM itself refuses a non-zero pIv: the store fails the same way. */
  @Test
  void cloudHsm_withTheFlagOff_leavesTheStoreFailed_namingTheFlag() throws Exception {
    module.set("vendor=cloudhsm");
    assertFailedNamingTheFlag(connect(viaModule, "cu:" + TestToken.USER_PIN, false, false));
  }

  /** The reverse: the flag says the HSM chooses, but it takes the caller's (zero) IV. */
  @Test
  void callerIvHsm_withTheFlagOn_leavesTheStoreFailed_namingTheFlag() throws Exception {
    assertFailedNamingTheFlag(connect(plain, TestToken.USER_PIN, true, true));
  }

  /**
   * Thales Luna in FIPS mode (HSM policy 12 off) appends an IV of its own to the output: with either value of the flag
   * the store is FAILED at connection, with a message that names the flag, Luna and the policy to turn on.
   */
  @Test
  void lunaFips_leavesTheStoreFailed_withEitherFlag_namingLunasPolicy12() throws Exception {
    module.set("vendor=luna-fips");
    for (boolean ivFromHsm : new boolean[] {false, true}) {
      String message = assertFailedNamingTheFlag(connect(viaModule, TestToken.USER_PIN, false, ivFromHsm));
      assertTrue(message.contains("Luna") && message.contains("policy 12"), ivFromHsm + ": " + message);
      assertTrue(!message.contains("KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM=true"),
          "turning the flag on would not help: " + message);
      connection.close();
      connection = null;
    }
  }

  @Test
  void matchingProfiles_connect_andTheSelfTestLeavesNoTokenObject() throws Exception {
    KeyStoreConnection c = connect(plain, TestToken.USER_PIN, true, false);
    eventually("CONNECTED", c::isConnected);
    assertTrue(c.hsm(ErrorCode.KMS_INTERNAL).withSession(s -> s.findKeys("")).isEmpty());
    c.close();
    module.set("vendor=cloudhsm");
    KeyStoreConnection cloud = connect(viaModule, "cu:" + TestToken.USER_PIN, false, true);
    eventually("CONNECTED", cloud::isConnected);
    HsmKey key = cloud.hsm(ErrorCode.KMS_INTERNAL).withSession(s -> s.generateAes256Key("selftest:k", new byte[] {1}));
    byte[] pt = "sixteen bytes or more of probe".getBytes();
    var sealed = cloud.hsm(ErrorCode.KMS_INTERNAL).withSession(s -> s.encryptAesGcmHsmIv(key, new byte[0], pt));
    assertArrayEquals(pt, cloud.hsm(ErrorCode.KMS_INTERNAL).withSession(
        s -> s.decryptAesGcm(key, sealed.iv(), new byte[0], sealed.ciphertextAndTag())));
    assertEquals(1, cloud.hsm(ErrorCode.KMS_INTERNAL).withSession(s -> s.findKeys("")).size());
  }

}

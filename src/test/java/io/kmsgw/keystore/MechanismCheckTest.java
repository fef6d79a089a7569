package io.kmsgw.keystore;

import static io.kmsgw.testing.Eventually.eventually;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Capability;
import io.kmsgw.hsm.pkcs11.Pkcs11Connector;
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A key store whose token lacks a mechanism the gateway needs fails its connection with a message naming the
 * mechanism, on SoftHSM2 behind the project's test module, which hides mechanisms from discovery.
 */
class MechanismCheckTest {
  private static TestToken token;
  private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
  private final ExecutorService workers = Executors.newFixedThreadPool(2);
  private final List<KeyStoreConnection> connections = new ArrayList<>();
  private TestPkcs11Module module;

  @BeforeAll
  static void token() {
    token = TestToken.create("mechcheck", TestPkcs11Module.library().toString());
  }

  @BeforeEach
  void control() {
    module = TestPkcs11Module.inThisJvm().reset();
  }

  @AfterEach
  void close() {
    connections.forEach(KeyStoreConnection::close);
    module.reset();
    workers.shutdownNow();
    scheduler.shutdownNow();
  }

  private KeyStoreConnection connection(String id, boolean autoReconnect) {
    KeyStoreConnection c = new KeyStoreConnection(id, new Pkcs11Connector(token.options(1)), scheduler,
        Duration.ofMillis(50), Duration.ofMillis(200), new HsmWorkers(workers, Duration.ofSeconds(2)), autoReconnect,
        h -> {});
    connections.add(c);
    return c;
  }

  @Test
  void tokenWithoutAesGcm_failsTheConnection_namingTheMechanism() throws Exception {
    module.set("hide_mechanisms=CKM_AES_GCM");
    KeyStoreConnection c = connection("cks-1234567890abcdef0", false);
    c.connect();
    eventually("FAILED", () -> c.status().state() == KeyStoreConnection.State.FAILED);
    KeyStoreConnection.Status s = c.status();
    assertEquals("INTERNAL_ERROR", s.errorCode());
    assertTrue(s.message().contains("AES-GCM") && s.message().contains("0x1087"), s.message());
    assertTrue(s.message().contains("encrypt, decrypt"), s.message());
    // what the token did offer is still shown
    assertFalse(s.mechanisms().offers(Capability.AES_GCM));
    assertTrue(s.mechanisms().offers(Capability.AES_KEY_GEN));
    assertEquals(null, s.stats(), "no connection is held");
    assertThrows(KmsException.class, () -> c.hsm(ErrorCode.KMS_INVALID_STATE), "a half-working store serves nothing");
  }

  @Test
  void defaultStore_alsoNeedsEcdsa_forTheAuditDigests_customStoresDoNot() throws Exception {
    module.set("hide_mechanisms=CKM_ECDSA");
    KeyStoreConnection custom = connection("cks-1234567890abcdef1", false);
    custom.connect();
    eventually("custom CONNECTED", custom::isConnected);
    // one token serves one key store at a time
    custom.disconnect().get(10, java.util.concurrent.TimeUnit.SECONDS);
    KeyStoreConnection main = connection(io.kmsgw.domain.KeyRecord.DEFAULT_KEY_STORE, true);
    main.connect();
    eventually("default FAILED", () -> main.status().state() == KeyStoreConnection.State.FAILED);
    assertTrue(main.status().message().contains("ECDSA"), main.status().message());
  }

  @Test
  void defaultStore_connects_onceTheTokenOffersTheMechanismAgain() throws Exception {
    module.set("hide_mechanisms=CKM_AES_KEY_GEN");
    KeyStoreConnection main = connection(io.kmsgw.domain.KeyRecord.DEFAULT_KEY_STORE, true);
    main.connect();
    eventually("FAILED", () -> main.status().state() == KeyStoreConnection.State.FAILED);
    assertTrue(main.status().message().contains("0x1080"), main.status().message());
    module.reset();
    eventually("CONNECTED by its own retry", main::isConnected);
    assertTrue(main.status().mechanisms().offers(Capability.AES_KEY_GEN));
  }

  @Test
  void anOperationTheTokenCannotDo_isRefused_namingTheMechanism_whileTheStoreServesTheRest() throws Exception {
    module.set("hide_mechanisms=CKM_SHA256_HMAC");
    KeyStoreConnection c = connection("cks-1234567890abcdef2", false);
    c.connect();
    eventually("CONNECTED", c::isConnected);
    c.require(Capability.AES_GCM);
    KmsException e = assertThrows(KmsException.class, () -> c.require(Capability.HMAC_SHA256));
    assertEquals(ErrorCode.UNSUPPORTED_OPERATION, e.code());
    assertTrue(e.getMessage().contains("HMAC-SHA-256: mechanism 0x251 with sign, verify"), e.getMessage());
    c.require(Capability.HMAC_SHA384);
  }
}

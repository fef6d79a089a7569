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
import io.kmsgw.testing.TestPkcs11Module;
import io.kmsgw.testing.TestToken;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Faults injected by kmsgw's PKCS#11 test module, over a real SoftHSM2 token, as the gateway's PKCS#11 adapter sees
 * them: each return code arrives as the {@link HsmErrorKind} that decides eviction and recovery, a hang holds its
 * caller (and only its caller), and a token that disappears takes its connection down until it is back.
 */
class TestModuleFaultsTest {
  private static final byte[] IV = new byte[12];
  private static TestPkcs11Module module;
  private static TestToken token;
  private static TestToken other;
  private final List<Hsm> opened = new ArrayList<>();
  private final AtomicInteger fatal = new AtomicInteger();

  @BeforeAll
  static void tokens() {
    module = TestPkcs11Module.inThisJvm().reset();
    token = TestToken.create("faults", TestPkcs11Module.library().toString());
    other = TestToken.create("faults-other", TestPkcs11Module.library().toString());
    module.clearEvents();
  }

  @AfterEach
  void closeAll() throws HsmException {
    module.reset();
    module.clearEvents();
    opened.forEach(Hsm::close);
    opened.clear();
    // a test that killed a connection leaves the library for the next one as the gateway would: re-initialised
    SharedModule m = SharedModule.of(TestPkcs11Module.library().toString());
    m.reinitialize(m.generation());
  }

  private Hsm connect(TestToken t, Pkcs11Options o) throws HsmException {
    Hsm hsm = new Pkcs11Connector(o).connect(e -> fatal.incrementAndGet());
    opened.add(hsm);
    return hsm;
  }

  private Hsm connect(int poolSize) throws HsmException {
    return connect(token, token.options(poolSize));
  }

  private static HsmKey key(Hsm hsm, String name) throws HsmException {
    return hsm.withSession(s -> s.generateAes256Key("faults:" + name, name.getBytes(StandardCharsets.UTF_8)));
  }

  @Test
  void deviceError_onEncrypt_killsTheConnection_andARecoveredConnectionStillDecrypts() throws Exception {
    Pkcs11Connector connector = new Pkcs11Connector(token.options(2));
    Hsm hsm = connector.connect(e -> fatal.incrementAndGet());
    opened.add(hsm);
    HsmKey key = key(hsm, "device-error");
    byte[] pt = "sealed before the fault".getBytes(StandardCharsets.UTF_8);
    byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], pt));

    module.set("fail.C_Encrypt=CKR_DEVICE_ERROR times=1");
    HsmException e = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], pt)));
    assertEquals(HsmErrorKind.DEVICE_ERROR, e.kind());
    assertEquals("CKR_DEVICE_ERROR", e.ckrName());
    assertEquals(1, fatal.get(), "the owner hears of it and can reconnect");
    assertEquals(List.of("fail C_Encrypt rv=CKR_DEVICE_ERROR"), module.events("fail "));
    assertThrows(HsmException.class, () -> hsm.withSession(s -> s.generateRandom(1)), "the connection is dead");

    hsm.close(); // as the key store does before it reconnects
    connector.recover();
    Hsm again = connector.connect(x -> fatal.incrementAndGet());
    opened.add(again);
    assertArrayEquals(pt, again.withSession(s -> s.decryptAesGcm(key, IV, new byte[0], ct)));
  }

  @Test
  void sessionHandleInvalid_once_evictsTheSessionAndTheCallSucceedsOnAnother() throws HsmException {
    Hsm hsm = connect(2);
    HsmKey key = key(hsm, "evict");
    module.set("fail.C_Encrypt=CKR_SESSION_HANDLE_INVALID times=1");
    byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], new byte[] {1, 2, 3}));
    assertEquals(19, ct.length);
    assertEquals(1, hsm.stats().evicted(), hsm.stats().toString());
    assertEquals(0, fatal.get());
    assertEquals(1, module.events("fail C_Encrypt").size());
  }

  /**
   * A session an earlier call left with an operation open (PKCS#11 keeps an encryption active after
   * CKR_BUFFER_TOO_SMALL) answers CKR_OPERATION_ACTIVE to the next init: it is closed and the call succeeds on
   * another, instead of the session going back to the pool to fail every later call.
   */
  @Test
  void operationActive_evictsTheSessionAndTheCallSucceedsOnAnother() throws HsmException {
    Hsm hsm = connect(2);
    HsmKey key = key(hsm, "op-active");
    module.set("fail.C_EncryptInit=CKR_OPERATION_ACTIVE times=1");
    byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], new byte[] {1, 2, 3}));
    assertEquals(19, ct.length);
    assertEquals(1, hsm.stats().evicted(), hsm.stats().toString());
    assertEquals(0, fatal.get());
    assertEquals(1, module.events("fail C_EncryptInit").size());
  }

  @Test
  void aFaultUnder8Threads_firesOnce_isEvicted_andEveryCallCompletes() throws Exception {
    Hsm hsm = connect(4);
    HsmKey key = key(hsm, "load");
    module.set("fail.C_Encrypt=CKR_SESSION_HANDLE_INVALID from=150 times=1");
    java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(8);
    List<java.util.concurrent.Future<?>> results = new ArrayList<>();
    for (int t = 0; t < 8; t++) {
      results.add(threads.submit(() -> {
        for (int i = 0; i < 50; i++) {
          byte[] pt = ("call " + i).getBytes(StandardCharsets.UTF_8);
          byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], pt));
          assertArrayEquals(pt, hsm.withSession(s -> s.decryptAesGcm(key, IV, new byte[0], ct)));
        }
        return null;
      }));
    }
    for (java.util.concurrent.Future<?> f : results) {
      f.get(60, TimeUnit.SECONDS);
    }
    threads.shutdown();
    assertEquals(1, module.events("fail C_Encrypt").size(), "the module counted the 400 calls of 8 threads exactly");
    assertEquals(1, hsm.stats().evicted());
    assertEquals(0, fatal.get());
  }

  @Test
  void deviceMemory_isResourceExhausted_andOnlyTheNthCallFails() throws HsmException {
    Hsm hsm = connect(1);
    module.set("fail.C_GenerateRandom=CKR_DEVICE_MEMORY from=3 times=1");
    assertEquals(4, hsm.withSession(s -> s.generateRandom(4)).length);
    assertEquals(4, hsm.withSession(s -> s.generateRandom(4)).length);
    HsmException e = assertThrows(HsmException.class, () -> hsm.withSession(s -> s.generateRandom(4)));
    assertEquals(HsmErrorKind.RESOURCE_EXHAUSTED, e.kind());
    assertEquals("CKR_DEVICE_MEMORY", e.ckrName());
    assertEquals(4, hsm.withSession(s -> s.generateRandom(4)).length, "the fourth call is served");
    assertEquals(0, fatal.get(), "a full HSM is not a dead one");
    assertEquals(0, hsm.stats().evicted());
  }

  @Test
  void tokenNotPresent_onAnyCall_isARemovedToken_thatTakesTheConnectionDown() throws HsmException {
    Hsm hsm = connect(1);
    module.set("fail.C_GenerateRandom=CKR_TOKEN_NOT_PRESENT");
    HsmException e = assertThrows(HsmException.class, () -> hsm.withSession(s -> s.generateRandom(4)));
    assertEquals(HsmErrorKind.TOKEN_REMOVED, e.kind());
    assertTrue(e.kind().moduleFatal());
    assertEquals(1, fatal.get());
  }

  @Test
  void hang_holdsItsCallerOnly_andAWaiterForTheOnlySessionTimesOut() throws Exception {
    Hsm hsm = connect(token, token.options(1, TestToken.USER_PIN, Duration.ofMillis(300)));
    module.set("hang.C_GenerateRandom=1500 times=1");
    long start = System.nanoTime();
    CompletableFuture<byte[]> hung = CompletableFuture.supplyAsync(() -> {
      try {
        return hsm.withSession(s -> s.generateRandom(8));
      } catch (HsmException e) {
        throw new IllegalStateException(e);
      }
    });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (module.events("hang C_GenerateRandom").isEmpty() && System.nanoTime() < deadline) {
      Thread.onSpinWait();
    }
    assertFalse(module.events("hang C_GenerateRandom").isEmpty(), "the call entered the hang");
    HsmException waiting = assertThrows(HsmException.class, () -> hsm.withSession(s -> s.generateRandom(8)));
    assertEquals(HsmErrorKind.POOL_EXHAUSTED, waiting.kind(), "the pool's only session is held by the hung call");
    assertFalse(hung.isDone(), "still hanging after the other caller's 300 ms timeout");
    assertEquals(8, hung.get(10, TimeUnit.SECONDS).length, "the hung call completes when the hang ends");
    assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(1400), "it lasted the hang");
    // a second connection's calls are not held by the first one's hang
    module.set("hang.C_GenerateRandom=1500 times=1");
    Hsm second = connect(other, other.options(1));
    CompletableFuture<byte[]> hungAgain = CompletableFuture.supplyAsync(() -> {
      try {
        return hsm.withSession(s -> s.generateRandom(8));
      } catch (HsmException e) {
        throw new IllegalStateException(e);
      }
    });
    while (module.events("hang C_GenerateRandom").size() < 2) {
      Thread.onSpinWait();
    }
    long t0 = System.nanoTime();
    assertEquals(8, second.withSession(s -> s.generateRandom(8)).length);
    assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(1000), "served while the other call hangs");
    assertEquals(8, hungAgain.get(10, TimeUnit.SECONDS).length);
  }

  @Test
  void tokenRemoved_takesItsConnectionDown_otherTokensServe_andItComesBack() throws Exception {
    Pkcs11Connector connector = new Pkcs11Connector(token.options(2));
    Hsm hsm = connector.connect(e -> fatal.incrementAndGet());
    opened.add(hsm);
    Hsm second = connect(other, other.options(1));
    HsmKey key = key(hsm, "removed");
    byte[] pt = "sealed before the token went".getBytes(StandardCharsets.UTF_8);
    byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], pt));
    long oldSession = hsm.withSession(s -> ((Pkcs11Session) s).raw().getSessionHandle());

    module.set("token_removed=" + token.label());
    HsmException e = assertThrows(HsmException.class, hsm::probe);
    assertEquals(HsmErrorKind.TOKEN_REMOVED, e.kind(), e.getMessage());
    assertEquals(1, fatal.get());
    HsmException absent = assertThrows(HsmException.class, () -> new Pkcs11Connector(token.options(1)).connect(x -> {}));
    assertEquals(HsmErrorKind.TOKEN_NOT_FOUND, absent.kind(), "C_GetSlotList(tokenPresent) no longer lists it, and a "
        + "connector that never saw the token cannot tell a removal from a wrong label");
    assertEquals(8, second.withSession(s -> s.generateRandom(8)).length, "the other token keeps serving");
    iaik.pkcs.pkcs11.wrapper.PKCS11 raw = SharedModule.of(TestPkcs11Module.library().toString()).module()
        .getPKCS11Module();
    iaik.pkcs.pkcs11.wrapper.PKCS11Exception gone = assertThrows(iaik.pkcs.pkcs11.wrapper.PKCS11Exception.class,
        () -> raw.C_GetSessionInfo(oldSession));
    assertEquals(0x32L, gone.getErrorCode(), "CKR_DEVICE_REMOVED on a session of the removed token");
    hsm.close(); // as the key store does before it reconnects
    HsmException removed = assertThrows(HsmException.class, () -> connector.connect(x -> {}));
    assertEquals(HsmErrorKind.TOKEN_REMOVED, removed.kind(), "the connector that had it sees its slot empty: "
        + removed.getMessage());

    module.reset();
    iaik.pkcs.pkcs11.wrapper.PKCS11Exception dead = assertThrows(iaik.pkcs.pkcs11.wrapper.PKCS11Exception.class,
        () -> raw.C_GetSessionInfo(oldSession));
    assertEquals(0xB3L, dead.getErrorCode(), "sessions of before the removal stay dead (CKR_SESSION_HANDLE_INVALID)");
    int generation = SharedModule.of(TestPkcs11Module.library().toString()).generation();
    Hsm back = connector.connect(x -> fatal.incrementAndGet());
    assertEquals(generation, SharedModule.of(TestPkcs11Module.library().toString()).generation(),
        "the token came back without re-initialising the library the other token's connection uses");
    assertEquals(8, second.withSession(s -> s.generateRandom(8)).length, "the other connection never noticed");
    opened.add(back);
    assertArrayEquals(pt, back.withSession(s -> s.decryptAesGcm(key, IV, new byte[0], ct)), "the key survived");
  }

  @Test
  void hangLongerThanTheCallTimeout_isAnsweredInTime_andItsSessionIsClosedWhenTheCallReturns() throws Exception {
    Hsm hsm = connect(2);
    HsmKey key = key(hsm, "hang-timeout");
    java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      io.kmsgw.keystore.HsmWorkers workers = new io.kmsgw.keystore.HsmWorkers(threads, Duration.ofSeconds(2),
          Duration.ofMillis(300));
      module.set("hang.C_Encrypt=1500 times=1");
      long start = System.nanoTime();
      io.kmsgw.error.KmsException e = assertThrows(io.kmsgw.error.KmsException.class, () -> io.kmsgw.testing.KmsFixture
          .await(workers.run(hsm, "arn:hung", s -> s.encryptAesGcm(key, IV, new byte[0], new byte[] {1}))));
      long tookMs = (System.nanoTime() - start) / 1_000_000;
      assertEquals(io.kmsgw.error.ErrorCode.KEY_UNAVAILABLE, e.code(), e.getMessage());
      assertTrue(tookMs < 1_200, "answered at the 300 ms call timeout, not at the end of the 1500 ms hang: " + tookMs);
      assertEquals(0, hsm.stats().evicted(), "the hung call still holds its session");
      byte[] ct = io.kmsgw.testing.KmsFixture.await(
          workers.run(hsm, "arn:other", s -> s.encryptAesGcm(key, IV, new byte[0], new byte[] {2})));
      assertEquals(17, ct.length, "the other session serves while one call hangs");

      io.kmsgw.testing.Eventually.eventually("the hung call returned and its session was closed",
          () -> hsm.stats().evicted() == 1);
      assertEquals(0, fatal.get(), "one hung call does not take the connection down");
      for (int i = 0; i < 10; i++) {
        assertEquals(17, io.kmsgw.testing.KmsFixture.await(
            workers.run(hsm, "arn:after", s -> s.encryptAesGcm(key, IV, new byte[0], new byte[] {3}))).length);
      }
      assertEquals(2, hsm.stats().open(), "the pool opened a replacement: " + hsm.stats());
    } finally {
      threads.shutdownNow();
    }
  }
}

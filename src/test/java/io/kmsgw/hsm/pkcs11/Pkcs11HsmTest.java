package io.kmsgw.hsm.pkcs11;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.HsmStats;
import io.kmsgw.hsm.KeyCustody;
import io.kmsgw.testing.OnEveryToken;
import io.kmsgw.testing.TestToken;
import io.kmsgw.testing.TokenKind;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.BeforeParameterizedClassInvocation;
import org.junit.jupiter.params.Parameter;

/** The PKCS#11 adapter and its session pool on a fresh token of each kind (SoftHSM2, NSS). */
@OnEveryToken
class Pkcs11HsmTest {
  private static final byte[] IV = new byte[12];
  private static TestToken token;
  private static final List<Hsm> opened = new ArrayList<>();

  @Parameter
  TokenKind kind;

  @BeforeParameterizedClassInvocation
  static void token(TokenKind kind) {
    token = kind.newToken("pkcs11");
  }

  @AfterEach
  void closeAll() {
    opened.forEach(Hsm::close);
    opened.clear();
  }

  private static Hsm connect(int poolSize) throws HsmException {
    Hsm hsm = new Pkcs11Connector(token.options(poolSize)).connect(e -> {});
    opened.add(hsm);
    return hsm;
  }

  private static HsmKey newKey(Hsm hsm, String name) throws HsmException {
    byte[] id = name.getBytes(StandardCharsets.UTF_8);
    return hsm.withSession(s -> s.generateAes256Key("test:" + name, id));
  }

  @Test
  void generatedKey_isHeldInCustody() throws HsmException {
    Hsm hsm = connect(2);
    HsmKey key = newKey(hsm, "custody");
    KeyCustody c = hsm.withSession(s -> s.custody(key));
    assertTrue(c.token() && c.privateObject(), c.toString());
    assertTrue(c.sensitive() && c.alwaysSensitive(), c.toString());
    assertFalse(c.extractable(), c.toString());
    assertTrue(c.neverExtractable(), c.toString());
  }

  @Test
  void aesGcm_roundTripsAndBindsTheAad() throws HsmException {
    Hsm hsm = connect(2);
    HsmKey key = newKey(hsm, "gcm");
    byte[] pt = "attack at dawn".getBytes(StandardCharsets.UTF_8);
    byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, "aad".getBytes(), pt));
    assertEquals(pt.length + 16, ct.length);
    assertArrayEquals(pt, hsm.withSession(s -> s.decryptAesGcm(key, IV, "aad".getBytes(), ct)));
    HsmException e = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.decryptAesGcm(key, IV, "AAD".getBytes(), ct)));
    assertEquals(HsmErrorKind.BAD_CIPHERTEXT, e.kind(),
        "a bad tag is a bad ciphertext (SoftHSM2 answers CKR_GENERAL_ERROR): " + e.ckrName());
    // the session that saw the tag failure is still good
    assertArrayEquals(pt, hsm.withSession(s -> s.decryptAesGcm(key, IV, "aad".getBytes(), ct)));
    assertEquals(0, hsm.stats().evicted());
  }

  @Test
  void pool_under32ThreadsOn4Sessions_servesEveryCallWithoutNewSessionsOrLogins() throws Exception {
    Hsm hsm = connect(4);
    HsmKey key = newKey(hsm, "load");
    HsmStats before = hsm.stats();
    ExecutorService threads = Executors.newFixedThreadPool(32);
    AtomicInteger done = new AtomicInteger();
    List<Future<?>> results = new ArrayList<>();
    for (int t = 0; t < 32; t++) {
      int thread = t;
      results.add(threads.submit(() -> {
        for (int i = 0; i < 200; i++) {
          byte[] pt = ("thread " + thread + " call " + i).getBytes(StandardCharsets.UTF_8);
          byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], pt));
          assertArrayEquals(pt, hsm.withSession(s -> s.decryptAesGcm(key, IV, new byte[0], ct)));
          done.incrementAndGet();
        }
        return null;
      }));
    }
    for (Future<?> f : results) {
      f.get(60, TimeUnit.SECONDS);
    }
    threads.shutdown();
    HsmStats after = hsm.stats();
    assertEquals(32 * 200, done.get());
    assertEquals(4, after.poolSize());
    assertEquals(before.sessionsOpened(), after.sessionsOpened(), "no C_OpenSession in steady state");
    assertEquals(1, after.logins(), "one C_Login for the whole connection");
    assertEquals(before.findObjects(), after.findObjects(), "key handle cached: no C_FindObjects in steady state");
    assertEquals(0, after.inUse());
    assertEquals(0, after.borrowTimeouts());
  }

  @Test
  void sessionClosedBehindThePoolsBack_isEvictedAndReplaced() throws Exception {
    Hsm hsm = connect(2);
    HsmKey key = newKey(hsm, "evict");
    long handle = hsm.withSession(s -> ((Pkcs11Session) s).raw().getSessionHandle());
    token.sharedModule().module().getPKCS11Module().C_CloseSession(handle);
    for (int i = 0; i < 20; i++) {
      byte[] ct = hsm.withSession(s -> s.encryptAesGcm(key, IV, new byte[0], new byte[] {1, 2, 3}));
      assertEquals(19, ct.length);
    }
    HsmStats stats = hsm.stats();
    assertEquals(1, stats.evicted(), stats.toString());
    assertEquals(2, stats.open(), "the pool is back to its size: " + stats);
    assertEquals(1, stats.logins(), "still logged in: the anchor session kept the login");
  }

  @Test
  void deviceErrorSeenWhileBorrowing_reportsTheConnectionDead() throws Exception {
    java.util.concurrent.atomic.AtomicInteger fatal = new java.util.concurrent.atomic.AtomicInteger();
    // validate every session on borrow, so the pool is the first to meet the failure
    Hsm hsm = new Pkcs11Connector(token.options().poolSize(2).validateAfterIdle(Duration.ZERO).build())
        .connect(e -> fatal.incrementAndGet());
    opened.add(hsm);
    SharedModule module = token.sharedModule();
    module.module().finalize(null); // the library loses every session, as after a device reset
    try {
      HsmException e = assertThrows(HsmException.class, () -> hsm.withSession(s -> s.generateRandom(4)));
      assertTrue(e.kind().moduleFatal(), e.kind() + " from " + e.ckrName() + ": " + e.getMessage());
      assertEquals(1, fatal.get(), "the owner hears of it and can reconnect");
    } finally {
      module.reinitialize(module.generation());
    }
  }

  /**
   * Two key stores on one library: after the library is re-initialised, the first connection's session handles
   * are dead and their numbers may already belong to sessions of the second. Closing the first must not close them.
   */
  @Test
  void sessionsOfAnEarlierLibraryGeneration_areNeverClosedByHandle() throws Exception {
    assumeTrue(kind.createsTokensAtRunTime(), "needs a second token in the same library, which the test cannot add to "
        + "an initialised NSS softoken (one key token per database)");
    TestToken other = TestToken.create("pkcs11-other");
    Hsm old = connect(2);
    assertEquals(1, old.withSession(s -> s.generateRandom(1)).length);
    SharedModule module = token.sharedModule();
    module.reinitialize(module.generation());
    Hsm fresh = new Pkcs11Connector(other.options(4)).connect(e -> {});
    opened.add(fresh);
    old.close();
    for (int i = 0; i < 20; i++) {
      assertEquals(4, fresh.withSession(s -> s.generateRandom(4)).length);
    }
    assertEquals(0, fresh.stats().evicted(), "the new connection's sessions were not closed by the old one");
    assertEquals(4, fresh.stats().open());
  }

  /**
   * C_Finalize never runs under another thread's call (undefined in PKCS#11; SoftHSM2 crashes): re-initialisation
   * waits until the call in flight has returned, and the call completes normally.
   */
  @Test
  void reinitialisation_waitsForCallsInFlight() throws Exception {
    Hsm hsm = connect(2);
    CountDownLatch holding = new CountDownLatch(1);
    java.util.concurrent.atomic.AtomicLong callEnded = new java.util.concurrent.atomic.AtomicLong();
    java.util.concurrent.atomic.AtomicReference<byte[]> result = new java.util.concurrent.atomic.AtomicReference<>();
    Thread inFlight = new Thread(() -> {
      try {
        result.set(hsm.withSession(s -> {
          holding.countDown();
          try {
            Thread.sleep(300);
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
          }
          byte[] r = s.generateRandom(16);
          callEnded.set(System.nanoTime());
          return r;
        }));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    inFlight.start();
    assertTrue(holding.await(5, TimeUnit.SECONDS));
    SharedModule module = token.sharedModule();
    module.reinitialize(module.generation());
    long reinitialised = System.nanoTime();
    inFlight.join();
    assertEquals(16, result.get().length, "the call in flight finished normally");
    assertTrue(callEnded.get() > 0 && callEnded.get() < reinitialised, "re-initialisation waited for it");
    assertThrows(HsmException.class, () -> hsm.withSession(s -> s.generateRandom(1)),
        "afterwards the old connection is dead");
  }

  @Test
  void allSessionsBusyPastTheTimeout_failsPoolExhausted() throws Exception {
    Hsm hsm = new Pkcs11Connector(token.options(1, TestToken.USER_PIN, Duration.ofMillis(200))).connect(e -> {});
    opened.add(hsm);
    CountDownLatch holding = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    Thread holder = new Thread(() -> {
      try {
        hsm.withSession(s -> {
          holding.countDown();
          try {
            release.await();
          } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
          }
          return null;
        });
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    holder.start();
    assertTrue(holding.await(5, TimeUnit.SECONDS));
    HsmException e = assertThrows(HsmException.class, () -> hsm.withSession(s -> s.generateRandom(8)));
    assertEquals(HsmErrorKind.POOL_EXHAUSTED, e.kind());
    release.countDown();
    holder.join();
    assertEquals(8, hsm.withSession(s -> s.generateRandom(8)).length);
  }

  @Test
  void connect_withWrongPin_failsPinIncorrect() {
    HsmException e = assertThrows(HsmException.class,
        () -> new Pkcs11Connector(token.options(1, "wrong-pin", Duration.ofSeconds(1))).connect(x -> {}));
    assertEquals(HsmErrorKind.PIN_INCORRECT, e.kind());
    assertEquals("CKR_PIN_INCORRECT", e.ckrName());
  }

  @Test
  void connect_whileTheTokenIsConnected_isRefusedRatherThanSkippingTheLogin() throws HsmException {
    connect(1);
    HsmException e = assertThrows(HsmException.class,
        () -> new Pkcs11Connector(token.options(1, "wrong-pin", Duration.ofSeconds(1))).connect(x -> {}));
    assertTrue(e.getMessage().contains("already connected"), e.getMessage());
  }

  @Test
  void close_logsOutSoTheNextConnectionChecksThePinAgain() throws HsmException {
    connect(2).close();
    HsmException e = assertThrows(HsmException.class,
        () -> new Pkcs11Connector(token.options(1, "wrong-pin", Duration.ofSeconds(1))).connect(x -> {}));
    assertEquals(HsmErrorKind.PIN_INCORRECT, e.kind());
    connect(1);
  }

  @Test
  void connect_toUnknownLabel_failsTokenNotFound() {
    Pkcs11Options other = token.options().poolSize(1).label("no-such-token").build();
    HsmException e = assertThrows(HsmException.class, () -> new Pkcs11Connector(other).connect(x -> {}));
    assertEquals(HsmErrorKind.TOKEN_NOT_FOUND, e.kind());
  }

  @Test
  void connect_toMissingLibrary_failsLibraryError() {
    Pkcs11Options other = token.options().poolSize(1).library("/nonexistent/libpkcs11.so").build();
    HsmException e = assertThrows(HsmException.class, () -> new Pkcs11Connector(other).connect(x -> {}));
    assertEquals(HsmErrorKind.LIBRARY_ERROR, e.kind());
  }

  @Test
  void findAndDestroy_workByLabelPrefix() throws HsmException {
    Hsm hsm = connect(1);
    HsmKey a = newKey(hsm, "find-a");
    HsmKey b = newKey(hsm, "find-b");
    List<HsmKey> found = hsm.withSession(s -> s.findKeys("test:find-"));
    assertTrue(found.contains(a) && found.contains(b), found.toString());
    hsm.withSession(s -> {
      s.destroy(a);
      return null;
    });
    boolean aExists = hsm.withSession(s -> s.exists(a));
    boolean bExists = hsm.withSession(s -> s.exists(b));
    assertFalse(aExists);
    assertTrue(bExists);
    HsmException e = assertThrows(HsmException.class,
        () -> hsm.withSession(s -> s.encryptAesGcm(a, IV, new byte[0], new byte[] {1})));
    assertEquals(HsmErrorKind.KEY_NOT_FOUND, e.kind());
  }

  @Test
  void generateRandom_returnsTheRequestedLengthAndDiffers() throws HsmException {
    Hsm hsm = connect(1);
    byte[] a = hsm.withSession(s -> s.generateRandom(1024));
    byte[] b = hsm.withSession(s -> s.generateRandom(1024));
    assertEquals(1024, a.length);
    assertFalse(java.util.Arrays.equals(a, b));
  }
}

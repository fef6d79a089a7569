package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestPkcs11Module;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.kms.KmsClient;
import software.amazon.awssdk.services.kms.model.ConnectionStateType;
import software.amazon.awssdk.services.kms.model.CustomKeyStoresListEntry;
import software.amazon.awssdk.services.kms.model.KeyState;
import software.amazon.awssdk.services.kms.model.KmsException;

/**
 * What must hold when the HSM misbehaves under load (issue #16, section 2): the real gateway in development mode on
 * kmsgw's PKCS#11 test module, three clients without retries driving Encrypt, Decrypt, GenerateDataKey and CreateKey
 * while the module fails, hangs and loses tokens, one fault after the other. Every request ends within its deadline
 * (borrow timeout + call timeout + slack) with success or a retryable error, the pool evicts broken and hung
 * sessions, service resumes by itself once the fault is gone, no key is left half-created, and a custom key store
 * whose token goes away is FAILED with INSUFFICIENT_CLOUDHSM_HSMS while the default store keeps serving.
 */
class HsmFaultsUnderLoadIT {
  private static final long CALL_TIMEOUT_MS = 1_500;
  private static final long BORROW_TIMEOUT_MS = 2_000;
  /** The longest any request may take: waiting for a session, then one call, plus slack for a loaded machine. */
  private static final long REQUEST_DEADLINE_MS = BORROW_TIMEOUT_MS + CALL_TIMEOUT_MS + 2_500;
  private static final Set<String> RETRYABLE = Set.of("KeyUnavailableException", "KMSInternalException",
      "ThrottlingException");
  private static final String DEFAULT_TOKEN = "kmsgw";
  private static final String CUSTOM_TOKEN = "kmsgw-dev-2";
  private static final Pattern CMK_LABEL = Pattern.compile("label:\\s+kmsgw:([0-9a-f-]{36}):v\\d+");

  /** One request as its client saw it. */
  record Outcome(String operation, long millis, String error, int status, String message) {}

  private static TestPkcs11Module module;
  private static GatewayProcess gateway;
  private static KmsClient admin;
  private static RawClient raw;
  private static final ConcurrentLinkedQueue<Outcome> outcomes = new ConcurrentLinkedQueue<>();
  private static final AtomicLong successes = new AtomicLong();
  private static final AtomicBoolean stop = new AtomicBoolean();
  private static ExecutorService drivers;
  private static final List<Future<?>> running = new ArrayList<>();

  @BeforeAll
  static void start() {
    module = TestPkcs11Module.forChildProcess("faults-under-load");
    module.reset();
    Map<String, String> env = new HashMap<>(module.environment());
    env.put("KMSGW_HSM_LIBRARY", TestPkcs11Module.library().toString());
    env.put("KMSGW_HSM_POOL_CALL_TIMEOUT_MS", Long.toString(CALL_TIMEOUT_MS));
    env.put("KMSGW_HSM_POOL_BORROW_TIMEOUT_MS", Long.toString(BORROW_TIMEOUT_MS));
    env.put("KMSGW_HSM_RECONNECT_INITIAL_BACKOFF_MS", "100");
    env.put("KMSGW_HSM_RECONNECT_MAX_BACKOFF_MS", "1000");
    // the load creates keys all along: on a fast machine more than the default quota of 1000 (LimitExceeded, which
    // is no HSM fault)
    env.put("KMSGW_LIMITS_KEYS_PER_ACCOUNT", "100000");
    gateway = GatewayProcess.start("faults-under-load", env);
    admin = gateway.clientWithoutRetries();
    raw = new RawClient(gateway.endpoint());
  }

  @AfterAll
  static void stopAll() throws Exception {
    stop.set(true);
    if (drivers != null) {
      drivers.shutdown();
      drivers.awaitTermination(30, TimeUnit.SECONDS);
    }
    if (module != null) {
      module.reset();
    }
    if (admin != null) {
      admin.close();
    }
    if (gateway != null) {
      gateway.stop();
    }
  }

  @Test
  void faultsUnderLoad_endInTime_retryably_evict_recover_andLeaveNoHalfCreatedKey() throws Exception {
    String keyId = admin.createKey(r -> r.description("under load")).keyMetadata().keyId();
    SdkBytes blob = admin.encrypt(r -> r.keyId(keyId).plaintext(SdkBytes.fromUtf8String("kept"))).ciphertextBlob();
    String customStore = createCustomStore();
    String customKey = admin.createKey(r -> r.customKeyStoreId(customStore).origin("AWS_CLOUDHSM")).keyMetadata()
        .keyId();
    startLoad(3, keyId, blob);
    awaitSuccesses(20);

    // a broken session: evicted, and the call is retried once on another session
    long evictedBefore = evicted();
    List<Outcome> invalid = underFault("fail C_Encrypt", "fail.C_Encrypt=CKR_SESSION_HANDLE_INVALID times=3");
    eventually("the pool evicted the broken sessions", () -> evicted() >= evictedBefore + 3);
    assertInTimeAndRetryable("CKR_SESSION_HANDLE_INVALID", invalid);

    // a full HSM: the request fails, the session stays
    List<Outcome> memory = underFault("fail C_Encrypt", "fail.C_Encrypt=CKR_DEVICE_MEMORY times=3");
    assertInTimeAndRetryable("CKR_DEVICE_MEMORY", memory);
    assertTrue(memory.stream().anyMatch(o -> o.error() != null), "the fault reached a client: " + memory);

    // a call that hangs past the call timeout: answered at the timeout, its session closed when it returns
    long evictedBeforeHang = evicted();
    List<Outcome> hang = underFault("hang C_Encrypt", "hang.C_Encrypt=4000 times=2");
    assertInTimeAndRetryable("a hung C_Encrypt", hang);
    assertTrue(hang.stream().anyMatch(o -> "KeyUnavailableException".equals(o.error())
            && o.millis() >= CALL_TIMEOUT_MS - 100 && o.millis() < 4_000),
        "a hung request was answered KeyUnavailableException at the call timeout, before the hang ended: " + hang);
    eventually("the hung sessions were closed when their calls returned", () -> evicted() >= evictedBeforeHang + 2);
    assertTrue(gateway.logText().contains("call timeout; closing its session"), "the log says why");

    // a key generation that hangs past the call timeout: the late key is destroyed, its row deleted
    List<Outcome> generate = underFault("hang C_GenerateKey", "hang.C_GenerateKey=3000 times=1");
    assertInTimeAndRetryable("a hung C_GenerateKey", generate);
    assertTrue(gateway.logText().contains("rolling back"), "a CreateKey timed out and was rolled back");

    // a device error: the default store re-initialises the library and reconnects by itself
    List<Outcome> device = underFault("fail C_Encrypt", "fail.C_Encrypt=CKR_DEVICE_ERROR times=1");
    assertInTimeAndRetryable("CKR_DEVICE_ERROR", device);
    assertTrue(device.stream().anyMatch(o -> "KeyUnavailableException".equals(o.error())), device.toString());

    // the default store's token goes and comes back: it reconnects by itself
    List<Outcome> removed = underFault("token_removed", "token_removed=" + DEFAULT_TOKEN);
    assertInTimeAndRetryable("the default token removed", removed);
    assertTrue(removed.stream().anyMatch(o -> "KeyUnavailableException".equals(o.error())), removed.toString());
    assertTrue(gateway.logText().contains("INSUFFICIENT_CLOUDHSM_HSMS"), "the store said its token was gone");

    customStoreLosesItsToken(customStore, customKey);
    stop.set(true);
    for (Future<?> f : running) {
      f.get(60, TimeUnit.SECONDS);
    }
    List<Outcome> all = new ArrayList<>(outcomes);
    System.out.println("HsmFaultsUnderLoadIT: " + all.size() + " requests, slowest "
        + all.stream().mapToLong(Outcome::millis).max().orElse(0) + " ms; outcomes " + all.stream().collect(
            Collectors.groupingBy(o -> o.operation() + " " + (o.error() == null ? "OK" : o.error()), TreeMap::new,
                Collectors.counting())));
    assertInTimeAndRetryable("the whole run", all);
    noHalfCreatedKey();
    assertEquals("kept", admin.decrypt(r -> r.ciphertextBlob(blob)).plaintext().asUtf8String());
  }

  /** The custom store's token goes: that store is FAILED with INSUFFICIENT_CLOUDHSM_HSMS, the default one serves. */
  private void customStoreLosesItsToken(String storeId, String customKey) throws Exception {
    module.set("token_removed=" + CUSTOM_TOKEN);
    long servedBefore = successes.get();
    try {
      admin.encrypt(r -> r.keyId(customKey).plaintext(SdkBytes.fromUtf8String("x")));
    } catch (KmsException expected) {
      assertTrue(Set.of("KMSInvalidStateException", "KeyUnavailableException").contains(
          expected.awsErrorDetails().errorCode()), expected.toString());
    }
    eventually("the custom key store is FAILED", () -> customStore(storeId).connectionState()
        == ConnectionStateType.FAILED);
    assertEquals("INSUFFICIENT_CLOUDHSM_HSMS", customStore(storeId).connectionErrorCodeAsString());
    awaitSuccesses(servedBefore + 10);
    module.reset();
    // as AWS: a FAILED custom key store waits for its operator
    admin.disconnectCustomKeyStore(r -> r.customKeyStoreId(storeId));
    eventually("DISCONNECTED", () -> customStore(storeId).connectionState() == ConnectionStateType.DISCONNECTED);
    admin.connectCustomKeyStore(r -> r.customKeyStoreId(storeId));
    eventually("CONNECTED again", () -> customStore(storeId).connectionState() == ConnectionStateType.CONNECTED);
    assertFalse(admin.encrypt(r -> r.keyId(customKey).plaintext(SdkBytes.fromUtf8String("back"))).ciphertextBlob()
        .asByteArray().length == 0);
  }

  /**
   * Every key ListKeys shows is Enabled and has its object in a token, and every key object in the tokens belongs
   * to a listed key (a CreateKey that failed left neither a row nor an object behind).
   */
  private void noHalfCreatedKey() throws Exception {
    eventually("the HSM objects and the listed keys match", () -> {
      try {
        return hsmKeyIds().equals(listedKeyIds());
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    for (String id : listedKeyIds()) {
      assertEquals(KeyState.ENABLED, admin.describeKey(r -> r.keyId(id)).keyMetadata().keyState(), id);
    }
  }

  private static Set<String> listedKeyIds() {
    return admin.listKeysPaginator(r -> r.limit(100)).keys().stream().map(k -> k.keyId())
        .collect(Collectors.toCollection(TreeSet::new));
  }

  private static Set<String> hsmKeyIds() throws Exception {
    Set<String> ids = new TreeSet<>();
    for (String token : List.of(DEFAULT_TOKEN, CUSTOM_TOKEN)) {
      Matcher m = CMK_LABEL.matcher(Pkcs11Tool.listSecretKeys(gateway.dataDir(), token));
      while (m.find()) {
        ids.add(m.group(1));
      }
    }
    return ids;
  }

  /**
   * Injects a fault while the load runs, until the module logged it firing, lets the requests in flight end, lifts
   * it, and waits until requests succeed again; returns what the clients saw meanwhile.
   */
  private List<Outcome> underFault(String event, String... control) throws Exception {
    int from = outcomes.size();
    module.clearEvents();
    module.set(control);
    eventually("the module fired " + event, () -> !module.events(event).isEmpty());
    GatewayProcess.sleep(REQUEST_DEADLINE_MS / 2); // the load runs into the fault for a while
    module.reset();
    awaitSuccesses(successes.get() + 10);
    List<Outcome> all = new ArrayList<>(outcomes);
    return all.subList(from, all.size());
  }

  private static void assertInTimeAndRetryable(String fault, List<Outcome> seen) {
    for (Outcome o : seen) {
      // the gateway's log only when the check fails: read for every outcome, a run of many requests took minutes
      assertTrue(o.millis() < REQUEST_DEADLINE_MS, () -> fault + ": " + o + " took longer than " + REQUEST_DEADLINE_MS
          + " ms\n" + gateway.logText());
      if (o.error() != null) {
        boolean retryable = RETRYABLE.contains(o.error())
            || o.operation().equals("CreateKey") && o.error().equals("DependencyTimeoutException");
        assertTrue(retryable, fault + ": " + o + " is not a retryable error");
        assertTrue(o.status() == 500 || o.status() == 400 && o.error().equals("ThrottlingException"), o.toString());
      }
    }
  }

  private static void startLoad(int clients, String keyId, SdkBytes blob) {
    drivers = Executors.newFixedThreadPool(clients);
    for (int c = 0; c < clients; c++) {
      running.add(drivers.submit(() -> {
        try (KmsClient kms = gateway.clientWithoutRetries()) {
          long nextCreate = System.nanoTime();
          for (int i = 0; !stop.get(); i++) {
            int n = i;
            // a CreateKey every 250 ms per client, whatever the machine's speed: enough to meet every fault
            // mid-generation, few enough that the keys and HSM objects stay quick to reconcile and list
            if (System.nanoTime() - nextCreate >= 0) {
              nextCreate = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(250);
              call("CreateKey", () -> kms.createKey(r -> r.description("load")));
              continue;
            }
            GatewayProcess.sleep(2); // a load, not a flood: the log and the outcomes stay small on a fast machine
            switch (n % 3) {
              case 0 -> call("Encrypt", () -> kms.encrypt(r -> r.keyId(keyId)
                  .plaintext(SdkBytes.fromUtf8String("load " + n))));
              case 1 -> call("Decrypt", () -> kms.decrypt(r -> r.ciphertextBlob(blob)));
              default -> call("GenerateDataKey", () -> kms.generateDataKey(r -> r.keyId(keyId).numberOfBytes(32)));
            }
          }
        }
        return null;
      }));
    }
  }

  private static void call(String operation, Runnable request) {
    long start = System.nanoTime();
    String error = null;
    int status = 200;
    String message = null;
    try {
      request.run();
    } catch (KmsException e) {
      error = e.awsErrorDetails().errorCode();
      status = e.statusCode();
      message = e.awsErrorDetails().errorMessage();
    } catch (SdkException e) {
      error = "client: " + e.getMessage();
      status = -1;
    }
    outcomes.add(new Outcome(operation, (System.nanoTime() - start) / 1_000_000, error, status, message));
    if (error == null) {
      successes.incrementAndGet();
    }
  }

  private static void awaitSuccesses(long atLeast) throws InterruptedException {
    eventually(atLeast + " successful requests (service resumed by itself)", () -> successes.get() >= atLeast);
  }

  private static long evicted() {
    try {
      RawClient.Response r = raw.healthDetail();
      JsonObject pool = new JsonObject(r.body()).getJsonObject("pool");
      return pool == null ? 0 : pool.getLong("evicted");
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static String createCustomStore() throws Exception {
    Path softhsm = gateway.dataDir().resolve("softhsm");
    String pin = Files.readString(softhsm.resolve("user-pin")).strip();
    String anchor = Files.readString(softhsm.resolve("trust-anchor.pem"));
    String id = admin.createCustomKeyStore(r -> r.customKeyStoreName("faults").cloudHsmClusterId(
        "cluster-kmsgwdevtwo").keyStorePassword(pin).trustAnchorCertificate(anchor)).customKeyStoreId();
    admin.connectCustomKeyStore(r -> r.customKeyStoreId(id));
    eventually("the custom key store is CONNECTED",
        () -> customStore(id).connectionState() == ConnectionStateType.CONNECTED);
    return id;
  }

  private static CustomKeyStoresListEntry customStore(String id) {
    return admin.describeCustomKeyStores(r -> r.customKeyStoreId(id)).customKeyStores().get(0);
  }

  private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
    io.kmsgw.testing.Eventually.eventually(what, condition);
  }
}

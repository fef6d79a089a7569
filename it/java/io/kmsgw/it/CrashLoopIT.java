package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.kmsgw.audit.AuditVerifier;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.client.config.ClientOverrideConfiguration;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.iam.IamClient;
import software.amazon.awssdk.services.kms.KmsClient;

/**
 * {@code kill -9} of the real gateway process at seeded random moments while clients create, rotate and schedule
 * keys for deletion, change aliases, grants and IAM users, while the lifecycle task destroys due keys (each restart
 * moves the development clock 8 days on, so every deletion scheduled before the kill is due at the next start) and
 * while the audit trail rotates (64 KiB files). After each kill: restart, then
 * <ul>
 *   <li>every change a client got a 2xx for is there, and the request in flight at the kill happened wholly or not
 *       at all ({@link CrashJournalCheck});
 *   <li>the token's key objects (listed by OpenSC's pkcs11-tool) are exactly the key versions the store holds;
 *   <li>the audit trail verifies ({@link AuditVerifier}).
 * </ul>
 * {@code -Dkmsgw.crashloop.kills=N} (default 30) for a longer run, {@code -Dkmsgw.crashloop.seed=S} to replay one.
 */
class CrashLoopIT {
  private static final int WORKERS = 3;
  private static final int DAYS_PER_CYCLE = 8;

  @Test
  void killedAtRandomMoments_losesNothingAcknowledged_leavesNoStrayHsmObject_andTheAuditTrailVerifies()
      throws Exception {
    long seed = Long.getLong("kmsgw.crashloop.seed", System.nanoTime());
    int kills = Integer.getInteger("kmsgw.crashloop.kills", 30);
    System.out.println("CrashLoopIT: seed " + seed + ", " + kills + " kills (replay with -Dkmsgw.crashloop.seed="
        + seed + ")");
    Random rng = new Random(seed);
    List<CrashWorker> workers = new ArrayList<>();
    for (int i = 0; i < WORKERS; i++) {
      workers.add(new CrashWorker(i, rng.nextLong()));
    }
    GatewayProcess gateway = GatewayProcess.start("crashloop", env(0));
    long started = System.nanoTime();
    // clients live across restarts (the port stays): building them is slow, and a new one per cycle left
    // the first requests of each cycle slower than the kill
    List<KmsClient> kmsClients = new ArrayList<>();
    List<IamClient> iamClients = new ArrayList<>();
    ExecutorService readers = Executors.newFixedThreadPool(3);
    for (int i = 0; i <= WORKERS; i++) {
      kmsClients.add(kms(gateway));
      iamClients.add(iam(gateway));
    }
    Map<String, Integer> inFlightAtKills = new java.util.TreeMap<>();
    try {
      for (int cycle = 1; cycle <= kills; cycle++) {
        runUntilKilled(gateway, workers, kmsClients, iamClients, rng);
        workers.forEach(w -> inFlightAtKills.merge(w.pending() == null ? "(none)" : w.pending().op(), 1,
            Integer::sum));
        gateway = GatewayProcess.restartWith(gateway, env(cycle));
        List<String> failures = check(gateway, workers, kmsClients.get(WORKERS), iamClients.get(WORKERS), readers);
        if (!failures.isEmpty()) {
          fail("after kill " + cycle + " (seed " + seed + "): " + String.join("\n  ", failures) + "\nlog:\n"
              + tail(gateway.logText()));
        }
      }
      int acknowledged = workers.stream().mapToInt(w -> w.acknowledged).sum();
      System.out.println("CrashLoopIT: " + kills + " kills, " + acknowledged + " acknowledged changes, "
          + Duration.ofNanos(System.nanoTime() - started).toSeconds() + " s; refused: "
          + workers.stream().mapToInt(w -> w.refused.size()).sum() + "; in flight at the kills: " + inFlightAtKills);
      workers.forEach(w -> w.refused.forEach(r -> System.out.println("  refused " + r)));
      assertTrue(acknowledged > kills, "the clients got answers between the kills");
    } finally {
      readers.shutdownNow();
      kmsClients.forEach(KmsClient::close);
      iamClients.forEach(IamClient::close);
      gateway.stop(); // verifies the audit trail once more, after an orderly shutdown
    }
  }

  private static Map<String, String> env(int cycle) {
    return Map.of("KMSGW_DEV_CLOCK_OFFSET_DAYS", Integer.toString(cycle * DAYS_PER_CYCLE),
        "KMSGW_AUDIT_MAX_FILE_KB", "64",
        "KMSGW_AUDIT_DIGEST_EVERY_EVENTS", "25");
  }

  /**
   * The workers send requests; after a seeded delay (short ones land in the start-up work: reconciliation, the
   * due deletions) the process is killed with SIGKILL.
   */
  private static void runUntilKilled(GatewayProcess gateway, List<CrashWorker> workers, List<KmsClient> kms,
      List<IamClient> iam, Random rng) throws InterruptedException {
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < workers.size(); i++) {
      CrashWorker w = workers.get(i);
      KmsClient k = kms.get(i);
      IamClient m = iam.get(i);
      Thread t = new Thread(() -> w.run(k, m), "crash-" + w.prefix);
      t.start();
      threads.add(t);
    }
    long delayMs = rng.nextInt(5) == 0 ? rng.nextInt(100) : 100 + rng.nextInt(1400);
    Thread.sleep(delayMs);
    gateway.kill();
    for (Thread t : threads) {
      t.join(60_000);
      assertTrue(!t.isAlive(), "a client is still waiting on a killed gateway");
    }
  }

  private static List<String> check(GatewayProcess gateway, List<CrashWorker> workers, KmsClient kms, IamClient iam,
      ExecutorService readers) throws Exception {
    List<String> failures = new ArrayList<>();
    // the first request may meet a connection kept alive to the killed process
    for (int attempt = 0; attempt < 3; attempt++) {
      try {
        kms.listAliases(r -> r.limit(1));
        break;
      } catch (software.amazon.awssdk.core.exception.SdkClientException e) {
        // the next attempt opens a new connection
      }
    }
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    CrashSnapshot snapshot;
    while (!(snapshot = CrashSnapshot.take(kms, iam, readers)).pendingDeletion().isEmpty()) {
      if (System.nanoTime() > deadline) {
        failures.add("keys due for deletion were not destroyed within 60 s: " + snapshot.pendingDeletion());
        return failures;
      }
      GatewayProcess.sleep(100);
    }
    for (CrashWorker w : workers) {
      CrashJournalCheck.check(w, snapshot, failures);
    }
    hsm(gateway.dataDir(), snapshot, failures);
    // the live file may be read in the middle of a write (a timed digest): a real break is still there a moment later
    AuditVerifier.Report audit = AuditVerifier.verify(gateway.dataDir().resolve("audit"), Set.of());
    if (audit.exitCode() == 1) {
      GatewayProcess.sleep(300);
      audit = AuditVerifier.verify(gateway.dataDir().resolve("audit"), Set.of());
    }
    if (audit.exitCode() == 1) {
      failures.add("the audit trail does not verify: " + audit.problems());
    }
    return failures;
  }

  /** Every token key object belongs to a key version in the store, and every key version has its object. */
  private static void hsm(Path dataDir, CrashSnapshot snapshot, List<String> failures) throws Exception {
    Set<String> inToken = CrashSnapshot.labelsIn(Pkcs11Tool.listSecretKeys(dataDir, "kmsgw"));
    Set<String> expected = snapshot.expectedLabels();
    Set<String> stray = new TreeSet<>(inToken);
    stray.removeAll(expected);
    Set<String> missing = new TreeSet<>(expected);
    missing.removeAll(inToken);
    if (!stray.isEmpty()) {
      failures.add("token objects with no key version in the store: " + stray);
    }
    if (!missing.isEmpty()) {
      failures.add("key versions with no token object: " + missing);
    }
  }

  static KmsClient kms(GatewayProcess g) {
    return KmsClient.builder().endpointOverride(g.endpoint()).region(Region.of(GatewayProcess.REGION))
        .credentialsProvider(credentials())
        .httpClient(UrlConnectionHttpClient.create())
        .overrideConfiguration(noRetries()).build();
  }

  static IamClient iam(GatewayProcess g) {
    return IamClient.builder().endpointOverride(g.endpoint()).region(Region.US_EAST_1)
        .credentialsProvider(credentials())
        .httpClient(UrlConnectionHttpClient.create())
        .overrideConfiguration(noRetries()).build();
  }

  /** A retried request would be a second request the journal does not know of. */
  private static ClientOverrideConfiguration noRetries() {
    return ClientOverrideConfiguration.builder()
        .retryStrategy(software.amazon.awssdk.retries.DefaultRetryStrategy.doNotRetry()).build();
  }

  private static StaticCredentialsProvider credentials() {
    return StaticCredentialsProvider.create(AwsBasicCredentials.create(GatewayProcess.ACCESS_KEY_ID,
        GatewayProcess.SECRET));
  }

  private static String tail(String log) {
    return log.length() <= 20_000 ? log : log.substring(log.length() - 20_000);
  }
}

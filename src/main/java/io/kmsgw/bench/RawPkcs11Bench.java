package io.kmsgw.bench;

import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.format.EncryptionContextCodec;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.hsm.pkcs11.Pkcs11Connector;
import io.kmsgw.hsm.pkcs11.Pkcs11Options;
import io.kmsgw.hsm.pkcs11.SoftHsmTokens;
import io.kmsgw.keystore.HsmWorkers;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The physical floor: the same AES-GCM seal an Encrypt does (random IV, blob header and context as AAD, the key's
 * token object), through the gateway's own PKCS#11 connector, session pool and HSM worker pool, with no HTTP.
 * Run by the benchmark in a process of its own (SoftHSM2 reads {@code SOFTHSM2_CONF} at load).
 *
 * <p>Arguments: token directory, seconds, calls kept in flight, pool size, plaintext bytes, session key copies
 * (true/false, as the gateway's SoftHSM2 profile), and optionally the number of keys to spread the calls over
 * (default 1). Prints one JSON line.
 */
public final class RawPkcs11Bench {
  private RawPkcs11Bench() {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int seconds = Integer.parseInt(args[1]);
    int inFlight = Integer.parseInt(args[2]);
    int poolSize = Integer.parseInt(args[3]);
    int plaintextBytes = Integer.parseInt(args[4]);
    String library = io.kmsgw.config.ConfigLoader.findSoftHsmLibrary().orElseThrow();
    SoftHsmTokens.writeConfig(dir.resolve("softhsm2.conf"), dir.resolve("tokens"));
    String label = "raw-" + UUID.randomUUID().toString().substring(0, 8);
    SoftHsmTokens.initToken(library, label, "so-raw-bench".toCharArray(), "raw-bench".toCharArray());
    boolean sessionCopies = args.length < 6 || Boolean.parseBoolean(args[5]);
    Hsm hsm = new Pkcs11Connector(new Pkcs11Options(library, label, "raw-bench"::toCharArray, poolSize,
        Duration.ofSeconds(2), Duration.ofSeconds(10), true, sessionCopies, 1)).connect(e -> {});
    ExecutorService threads = Executors.newFixedThreadPool(poolSize);
    HsmWorkers workers = new HsmWorkers(threads, Duration.ofSeconds(2));
    UUID keyId = UUID.randomUUID();
    int keyCount = args.length < 7 ? 1 : Integer.parseInt(args[6]);
    HsmKey[] keys = new HsmKey[keyCount];
    for (int i = 0; i < keyCount; i++) {
      byte[] id = java.nio.ByteBuffer.allocate(4).putInt(i).array();
      keys[i] = hsm.withSession(s -> s.generateAes256Key("kmsgw:" + keyId + ":" + java.util.HexFormat.of().formatHex(id),
          id));
    }
    AtomicLong next = new AtomicLong();
    byte[] plaintext = new byte[plaintextBytes];
    byte[] context = EncryptionContextCodec.encode(Map.of());
    SecureRandom random = new SecureRandom();

    AtomicLong done = new AtomicLong();
    AtomicLong errors = new AtomicLong();
    long[] window = new long[2];
    Runnable[] loop = new Runnable[1];
    loop[0] = () -> workers.run(hsm, null, s -> {
      byte[] iv = new byte[CiphertextBlob.IV_LENGTH];
      random.nextBytes(iv);
      byte[] header = CiphertextBlob.header(keyId, 1, iv);
      HsmKey key = keys[(int) (next.getAndIncrement() % keyCount)];
      return new CiphertextBlob(keyId, 1, iv, s.encryptAesGcm(key, iv, CiphertextBlob.aad(header, context), plaintext))
          .toBytes();
    }).whenComplete((blob, error) -> {
      if (error != null) {
        errors.incrementAndGet();
      }
      done.incrementAndGet();
      if (System.nanoTime() < window[1]) {
        loop[0].run();
      }
    });
    // one second of warm-up, then the measured window
    long start = System.nanoTime();
    window[1] = start + Duration.ofSeconds(1 + seconds).toNanos();
    for (int i = 0; i < inFlight; i++) {
      loop[0].run();
    }
    Thread.sleep(1000);
    long self = ProcessHandle.current().pid();
    long before = done.get();
    double cpuBefore = ProcStats.cpuSeconds(self);
    long t0 = System.nanoTime();
    Thread.sleep(seconds * 1000L);
    long measured = done.get() - before;
    double elapsed = (System.nanoTime() - t0) / 1e9;
    double cpu = ProcStats.cpuSeconds(self) - cpuBefore;
    CompletableFuture.runAsync(() -> { }, threads).get();
    Thread.sleep(200);
    threads.shutdownNow();
    hsm.close();
    System.out.printf("{\"ops\":%d,\"seconds\":%.3f,\"ops_per_second\":%.1f,\"errors\":%d,\"pool_size\":%d,"
        + "\"in_flight\":%d,\"plaintext_bytes\":%d,\"keys\":%d,\"cpu_seconds\":%.2f,\"cpu_us_per_op\":%.1f}%n",
        measured, elapsed, measured / elapsed, errors.get(), poolSize, inFlight, plaintextBytes, keyCount, cpu,
        cpu * 1e6 / measured);
  }
}

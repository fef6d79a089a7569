package io.kmsgw.bench;

import io.kmsgw.client.KmsHttp;
import io.kmsgw.format.CiphertextBlob;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import java.util.Random;

/**
 * {@code kmsgw bench --hsm-iv}: Encrypt 32 B at 32 connections with IVs the HSM generates (CloudHSM's way) next to
 * IVs the gateway chooses, both through the project's PKCS#11 test module in front of SoftHSM2, so that the only
 * difference between the two gateways is who makes the IV: the module's {@code gcm_iv=hsm} (it writes its own IV
 * into {@code CK_GCM_PARAMS.pIv} and requires a zeroed one, as CloudHSM does) with {@code gcm_iv_from_hsm: true},
 * against the module forwarding plain caller-IV calls. HSM-IV mode costs one more HSM call per seal (the
 * {@code CKM_AES_ECB} block that names the IV: docs/hsm-vendors.md) and a 16-byte zero block in front of
 * plaintexts under 16 bytes (not here: 32 B).
 *
 * <p>The two gateways run side by side on fresh tokens and take turns in alternating segments (A B, B A, ...), so
 * that the machine's drift falls on both alike; each one's requests over its segments' time is its rate.
 */
final class HsmIvBench {
  private static final int CONNECTIONS = 32;

  private final Plan plan;
  private final Path jar;
  private final Path work;
  private final Path module;
  private final PrintStream out;

  HsmIvBench(Plan plan, Path jar, Path work, Path module, PrintStream out) {
    this.plan = plan;
    this.jar = jar;
    this.work = work;
    this.module = module;
    this.out = out;
  }

  /**
   * {@code kmsgw bench --hsm-iv [MODULE]}: runs the comparison and writes the report; 0 when error-free, 2 when the
   * module is missing.
   */
  static int command(PrintStream out, Plan plan, Path jar, Path work, String moduleArg, Path report,
      JsonObject machine) throws IOException, InterruptedException {
    Path module = moduleArg.isEmpty()
        ? jar.toAbsolutePath().getParent().resolve("native").resolve("libkmsgw-test-pkcs11.so") : Path.of(moduleArg);
    if (!java.nio.file.Files.isReadable(module)) {
      System.err.println("kmsgw bench --hsm-iv needs the project's PKCS#11 test module: " + module
          + " is missing (build it with 'mvn -q process-test-classes', which needs gcc)");
      return 2;
    }
    out.printf("kmsgw bench --hsm-iv (%s mode), working in %s%n", plan.mode(), work);
    JsonObject result = new HsmIvBench(plan, jar, work, module.toAbsolutePath(), out).run();
    JsonObject doc = new JsonObject().put("mode", plan.mode()).put("time", java.time.Instant.now().toString())
        .put("machine", machine).put("hsm_iv", result);
    Path reportFile = report != null ? report : work.resolve("report.json");
    java.nio.file.Files.writeString(reportFile, doc.encodePrettily());
    out.println("report: " + reportFile);
    if (result.getLong("errors") == 0) {
      out.println("PASS: error-free");
      return 0;
    }
    out.println("FAIL: " + result.getLong("errors") + " errors");
    return 1;
  }

  /** Runs the comparison; the JSON for the report (errors counted in {@code errors}). */
  JsonObject run() throws IOException, InterruptedException {
    out.println("starting two gateways in front of the PKCS#11 test module (" + module + "): caller IVs, HSM IVs");
    try (GatewayUnderTest caller = GatewayUnderTest.start(jar, work.resolve("caller-iv"), env(false));
         GatewayUnderTest hsm = GatewayUnderTest.start(jar, work.resolve("hsm-iv"), env(true))) {
      Side[] sides = {side("caller IV", caller, CiphertextBlob.VERSION_1),
          side("HSM IV", hsm, CiphertextBlob.VERSION_HSM_IV)};
      for (Side s : sides) {
        JsonObject w = s.wrk.run(s.file, CONNECTIONS, plan.warmupSeconds());
        out.printf("  %-40s %8.0f req/s (warm-up)%n", "Encrypt 32 B, " + s.name + " @" + CONNECTIONS, Wrk.rps(w));
      }
      int rounds = plan.full() ? 6 : 2;
      int seconds = Math.max(1, plan.seconds() / 3 * 2);
      JsonArray segments = new JsonArray();
      long errors = 0;
      for (int round = 0; round < rounds; round++) {
        for (int k = 0; k < 2; k++) {
          Side s = sides[round % 2 == 0 ? k : 1 - k];
          JsonObject w = s.wrk.run(s.file, CONNECTIONS, seconds);
          s.requests += w.getLong("requests");
          s.micros += w.getLong("duration_us");
          s.p99Max = Math.max(s.p99Max, w.getLong("p99_us") / 1000.0);
          errors += Wrk.errors(w);
          segments.add(new JsonObject().put("mode", s.name).put("requests_per_second", Math.round(Wrk.rps(w)))
              .put("p99_ms", w.getLong("p99_us") / 1000.0).put("errors", Wrk.errors(w)));
        }
      }
      double callerRate = sides[0].rate();
      double hsmRate = sides[1].rate();
      out.printf("  %-40s %8.0f req/s against %.0f req/s with caller IVs: %.0f%% (%d rounds of %d s + %d s)%n",
          "Encrypt 32 B, HSM IV @" + CONNECTIONS, hsmRate, callerRate, 100 * hsmRate / callerRate, rounds, seconds,
          seconds);
      return new JsonObject()
          .put("scenario", "Encrypt 32 B @" + CONNECTIONS + ", HSM-generated IVs against caller IVs, interleaved")
          .put("module", module.toString())
          .put("rounds", rounds)
          .put("segment_seconds", seconds)
          .put("caller_iv_requests_per_second", callerRate)
          .put("hsm_iv_requests_per_second", hsmRate)
          .put("ratio", hsmRate / callerRate)
          .put("caller_iv_worst_segment_p99_ms", sides[0].p99Max)
          .put("hsm_iv_worst_segment_p99_ms", sides[1].p99Max)
          .put("errors", errors)
          .put("segments", segments);
    }
  }

  /**
   * The test module's options for each gateway: forwarding only, or CloudHSM's IV behaviour (an IV of the module's
   * own written into pIv at C_EncryptInit, a non-zero pIv refused). Session-key copies stay on in both (CloudHSM
   * itself has no C_CopyObject; that is another difference, not the one measured here).
   */
  private Map<String, String> env(boolean hsmIv) {
    return Map.of(
        "KMSGW_HSM_LIBRARY", module.toString(),
        "KMSGW_TEST_PKCS11_OPTIONS", hsmIv ? "gcm_iv=hsm;gcm_iv_zeroed=1" : "gcm_iv=caller",
        "KMSGW_HSM_CAPABILITIES_GCM_IV_FROM_HSM", Boolean.toString(hsmIv));
  }

  /** A key on one gateway, its pre-signed Encrypt requests, and a check that its blobs are of the expected form. */
  private Side side(String name, GatewayUnderTest gateway, byte expectedVersion)
      throws IOException, InterruptedException {
    KmsHttp kms = gateway.client();
    String keyId = kms.call("CreateKey", new JsonObject().put("Description", "benchmark key, " + name))
        .getJsonObject("KeyMetadata").getString("KeyId");
    byte[] small = new byte[32];
    new Random(42).nextBytes(small);
    Requests requests = Requests.forKey(kms, keyId, small);
    // the mode is what it says: HSM-IV blobs carry format version 2 (caller IVs: 1)
    JsonObject sealed = kms.call("Encrypt", Requests.encryptBody(keyId, small));
    byte version = Base64.getDecoder().decode(sealed.getString("CiphertextBlob"))[0];
    if (version != expectedVersion) {
      throw new IOException("the " + name + " gateway sealed a blob of format version " + version + ", expected "
          + expectedVersion + "; see " + gateway.log());
    }
    Path dir = java.nio.file.Files.createDirectories(work.resolve(name.replace(' ', '-')));
    Wrk wrk = new Wrk(dir, gateway.endpoint());
    return new Side(name, wrk, wrk.requestFile("encrypt.bin", 256, requests.encryptSmall()));
  }

  private static final class Side {
    final String name;
    final Wrk wrk;
    final Path file;
    long requests;
    long micros;
    double p99Max;

    Side(String name, Wrk wrk, Path file) {
      this.name = name;
      this.wrk = wrk;
      this.file = file;
    }

    double rate() {
      return requests / (micros / 1e6);
    }
  }
}

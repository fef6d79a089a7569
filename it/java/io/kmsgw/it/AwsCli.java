package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The unmodified AWS CLI v2 ({@code /usr/bin/aws}) pointed at a gateway, with credentials of its own. */
final class AwsCli {
  static final String AWS = "/usr/bin/aws";

  record Result(int exit, String out, String err) {}

  private final GatewayProcess gateway;
  private final Path work;
  private final String accessKeyId;
  private final String secret;
  private final String sessionToken;

  /** The CLI with the bootstrap administrator's credentials. */
  /** The CLI against a gateway, working in a directory next to the gateway's data directory. */
  static AwsCli beside(GatewayProcess gateway) throws IOException {
    return new AwsCli(gateway, gateway.dataDir().resolveSibling(gateway.dataDir().getFileName() + "-cli"));
  }

  AwsCli(GatewayProcess gateway, Path work) throws IOException {
    this(gateway, work, GatewayProcess.ACCESS_KEY_ID, GatewayProcess.SECRET, null);
  }

  private AwsCli(GatewayProcess gateway, Path work, String accessKeyId, String secret, String sessionToken)
      throws IOException {
    if (!Files.isExecutable(Path.of(AWS))) {
      throw new IllegalStateException(AWS + " (AWS CLI v2, Debian package awscli) is required; .ci/run installs it");
    }
    this.gateway = gateway;
    this.work = work;
    this.accessKeyId = accessKeyId;
    this.secret = secret;
    this.sessionToken = sessionToken;
    Files.createDirectories(work);
  }

  String accessKeyId() {
    return accessKeyId;
  }

  String secretAccessKey() {
    return secret;
  }

  /** The same CLI signing with other credentials (a session token for temporary ones, else null). */
  AwsCli as(String id, String secretAccessKey, String token) throws IOException {
    return new AwsCli(gateway, work, id, secretAccessKey, token);
  }

  /** The same CLI against another gateway process (one restarted on the same data directory). */
  AwsCli against(GatewayProcess other) throws IOException {
    return new AwsCli(other, work, accessKeyId, secret, sessionToken);
  }

  Path work() {
    return work;
  }

  /** {@code aws kms <args>}. */
  Result run(String... args) throws Exception {
    List<String> all = new ArrayList<>(List.of("kms"));
    all.addAll(List.of(args));
    return any(all.toArray(String[]::new));
  }

  /** {@code aws <args>}: any service ({@code iam ...}, {@code sts ...}). */
  Result any(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(AWS, "--endpoint-url", gateway.endpoint().toString(), "--region",
        GatewayProcess.REGION, "--output", "json"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile());
    Map<String, String> env = pb.environment();
    env.put("AWS_ACCESS_KEY_ID", accessKeyId);
    env.put("AWS_SECRET_ACCESS_KEY", secret);
    if (sessionToken != null) {
      env.put("AWS_SESSION_TOKEN", sessionToken);
    } else {
      env.remove("AWS_SESSION_TOKEN");
    }
    env.put("AWS_CONFIG_FILE", work.resolve("no-config").toString());
    env.put("AWS_SHARED_CREDENTIALS_FILE", work.resolve("no-credentials").toString());
    env.put("AWS_PAGER", "");
    env.put("AWS_MAX_ATTEMPTS", "1");
    env.remove("AWS_PROFILE");
    Path out = Files.createTempFile(work, "out", ".txt");
    Path err = Files.createTempFile(work, "err", ".txt");
    Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IllegalStateException("aws " + String.join(" ", args) + " did not finish");
    }
    return new Result(p.exitValue(), Files.readString(out), Files.readString(err));
  }

  /** {@code aws kms <args>}, which must succeed; its JSON output. */
  JsonObject ok(String... args) throws Exception {
    return parsed(run(args), "kms", args);
  }

  /** {@code aws <args>}, which must succeed; its JSON output. */
  JsonObject okAny(String... args) throws Exception {
    return parsed(any(args), "", args);
  }

  private static JsonObject parsed(Result r, String service, String... args) {
    assertEquals(0, r.exit(), "aws " + service + " " + String.join(" ", args) + " failed: " + r.err());
    return r.out().isBlank() ? new JsonObject() : new JsonObject(r.out());
  }
}

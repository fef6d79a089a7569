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

  AwsCli(GatewayProcess gateway, Path work) throws IOException {
    if (!Files.isExecutable(Path.of(AWS))) {
      throw new IllegalStateException(AWS + " (AWS CLI v2, Debian package awscli) is required; .ci/run installs it");
    }
    this.gateway = gateway;
    this.work = work;
    Files.createDirectories(work);
  }

  Path work() {
    return work;
  }

  Result run(String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of(AWS, "--endpoint-url", gateway.endpoint().toString(), "--region",
        GatewayProcess.REGION, "--output", "json", "kms"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(work.toFile());
    Map<String, String> env = pb.environment();
    env.put("AWS_ACCESS_KEY_ID", GatewayProcess.ACCESS_KEY_ID);
    env.put("AWS_SECRET_ACCESS_KEY", GatewayProcess.SECRET);
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

  JsonObject ok(String... args) throws Exception {
    Result r = run(args);
    assertEquals(0, r.exit(), "aws " + String.join(" ", args) + " failed: " + r.err());
    return r.out().isBlank() ? new JsonObject() : new JsonObject(r.out());
  }
}

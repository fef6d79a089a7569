package io.kmsgw.bench;

import io.vertx.core.json.JsonObject;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

/**
 * The load generator: wrk in a process of its own, replaying a file of pre-signed requests (a SigV4 signature stays
 * valid for 5 minutes, so a file is signed just before it is replayed) with {@code replay.lua}, which prints one JSON
 * line of results.
 */
final class Wrk {
  private final Path work;
  private final Path lua;
  private final URI endpoint;

  Wrk(Path work, URI endpoint) throws IOException {
    this.work = work;
    this.endpoint = endpoint;
    this.lua = work.resolve("replay.lua");
    try (InputStream in = Wrk.class.getResourceAsStream("/bench/replay.lua")) {
      Files.write(lua, in.readAllBytes());
    }
  }

  /** Signs {@code distinct} requests now and writes them where the replay script reads them. */
  Path requestFile(String fileName, int distinct, IntFunction<byte[]> request) throws IOException {
    Path file = work.resolve(fileName);
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    for (int i = 0; i < distinct; i++) {
      byte[] r = request.apply(i);
      buf.writeBytes((r.length + "\n").getBytes(StandardCharsets.US_ASCII));
      buf.writeBytes(r);
    }
    Files.write(file, buf.toByteArray());
    return file;
  }

  /** Replays the file as fast as {@code connections} connections go; wrk's JSON line. */
  JsonObject run(Path file, int connections, int seconds) throws IOException, InterruptedException {
    return run(file, connections, seconds, 0);
  }

  /**
   * Replays the file; with {@code pauseMillis} above zero each connection waits that long after every answer
   * before its next request (wrk's {@code delay()} hook), which paces the load below the gateway's peak.
   */
  JsonObject run(Path file, int connections, int seconds, int pauseMillis) throws IOException, InterruptedException {
    int threads = Math.min(connections, 2);
    List<String> cmd = new ArrayList<>(List.of("wrk", "-t" + threads, "-c" + connections, "-d" + seconds + "s",
        "--timeout", "10s", "-s", lua.toString(), endpoint.toString() + "/", "--", file.toString()));
    if (pauseMillis > 0) {
      cmd.add(Integer.toString(pauseMillis));
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(seconds + 60L, TimeUnit.SECONDS) || p.exitValue() != 0) {
      throw new IOException("wrk failed: " + output);
    }
    for (String line : output.split("\n")) {
      if (line.startsWith("{")) {
        return new JsonObject(line);
      }
    }
    throw new IOException("wrk printed no result: " + output);
  }

  /** Failed requests of one run: connection, read, write and timeout errors and non-2xx answers. */
  static long errors(JsonObject wrk) {
    return wrk.getLong("connect_errors") + wrk.getLong("read_errors") + wrk.getLong("write_errors")
        + wrk.getLong("status_errors") + wrk.getLong("timeouts");
  }

  /** Requests per second of one run. */
  static double rps(JsonObject wrk) {
    return wrk.getLong("requests") / (wrk.getLong("duration_us") / 1e6);
  }
}

package io.kmsgw.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestToken;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Durability: every acknowledged event survives kill -9 under concurrent load, and the chain still verifies. */
class AuditCrashTest {
  @Test
  void killMinus9UnderLoad_keepsEveryAcknowledgedEvent_andTheChainVerifies() throws Exception {
    Path dir = TestToken.scratch("audit-crash");
    Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), AuditCrashChild.class.getName(), dir.toString())
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    Set<String> acked = new HashSet<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
        StandardCharsets.UTF_8))) {
      String line;
      while ((line = out.readLine()) != null) {
        if (line.startsWith("ACK ")) {
          acked.add(line.substring(4));
        }
        if (acked.size() == 3000 && child.isAlive()) {
          // SIGKILL on Linux, in the middle of the load; through the handle, which (unlike Process.destroyForcibly)
          // leaves the pipe open, so the acknowledgements already printed are still read
          child.toHandle().destroyForcibly();
        }
      }
      assertTrue(child.waitFor(10, TimeUnit.SECONDS));
    }
    assertTrue(acked.size() >= 3000, "the child acknowledged " + acked.size() + " events");

    // as found after the crash: no tampering; at most an incomplete last line (never acknowledged), and a tail that
    // no digest covers yet
    AuditVerifier.Report found = AuditVerifier.verify(dir, Set.of());
    assertTrue(found.problems().isEmpty() || (found.problems().size() == 1
        && found.firstProblem().message().startsWith("file truncated inside line")), found.problems().toString());

    Set<String> present = new HashSet<>();
    for (AuditFiles.Entry f : AuditFiles.list(dir)) {
      for (String l : AuditTesting.lines(f.path())) {
        if (l.endsWith("}") && l.contains("},\"event\":{")) {
          present.add(new JsonObject(l).getJsonObject("event").getString("requestID"));
        }
      }
    }
    Set<String> lost = new HashSet<>(acked);
    lost.removeAll(present);
    assertEquals(Set.of(), lost, "acknowledged events missing after kill -9");

    // the next start repairs what the crash left and continues the chain; the digest at close covers everything
    AuditLog.open(AuditTesting.settings(dir), Clock.systemUTC(), new SoftwareSigner(), List.of()).close();
    AuditVerifier.Report after = AuditVerifier.verify(dir, Set.of());
    // the restarted log signs with a new (test) key: both are trusted by name
    assertTrue(after.problems().stream().allMatch(p -> p.message().contains("not by the key of the earlier")),
        after.problems().toString());
    AuditVerifier.Report trusted = AuditVerifier.verify(dir, after.fingerprints());
    assertEquals(0, trusted.exitCode(), trusted.problems() + " " + trusted.notCovered());
  }
}

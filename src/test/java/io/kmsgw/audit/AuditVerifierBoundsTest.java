package io.kmsgw.audit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.kmsgw.testing.TestToken;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The verifier's bounds: an overlong line is reported without being read, and problems are listed up to a limit. */
class AuditVerifierBoundsTest {
  @Test
  void aLineLongerThanAnyTheGatewayWrites_isReportedUnreadable() throws Exception {
    Path dir = TestToken.scratch("audit-overlong");
    Path file = AuditTesting.writeLog(dir, new SoftwareSigner(), 5);
    List<String> lines = AuditTesting.lines(file);
    lines.set(3, "x".repeat(AuditVerifier.MAX_LINE + 1));
    AuditTesting.writeLines(file, lines);
    AuditVerifier.Report r = AuditTesting.verify(dir);
    assertEquals(1, r.exitCode());
    assertEquals(4, r.firstProblem().where().line());
    assertTrue(r.firstProblem().message().contains("longer than any the gateway writes"), r.firstProblem().message());
    assertEquals(lines.size(), r.files().get(0).lines());
  }

  @Test
  void manyProblems_theFirstThousandListed_theRestCounted() throws Exception {
    Path dir = TestToken.scratch("audit-many-problems");
    Path file = AuditTesting.writeLog(dir, new SoftwareSigner(), 3000);
    List<String> lines = AuditTesting.lines(file);
    // every other line unreadable: each one a problem of its own
    for (int i = 1; i < lines.size() - 1; i += 2) {
      lines.set(i, "garbage " + i);
    }
    AuditTesting.writeLines(file, lines);
    AuditVerifier.Report r = AuditTesting.verify(dir);
    assertEquals(1, r.exitCode());
    assertEquals(AuditVerifier.MAX_LISTED, r.problems().size());
    assertTrue(r.problemCount() > AuditVerifier.MAX_LISTED, "counted: " + r.problemCount());
    assertTrue(r.notes().size() <= AuditVerifier.MAX_LISTED);
  }
}

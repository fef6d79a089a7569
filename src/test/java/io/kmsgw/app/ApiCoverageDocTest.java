package io.kmsgw.app;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.kmsgw.api.kms.KmsApi;
import io.kmsgw.api.kms.model.ServiceModel;
import io.kmsgw.testing.KmsFixture;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/** docs/api-coverage.md lists every model operation, and says "implemented" exactly for those with a handler. */
class ApiCoverageDocTest {
  @Test
  void coverageTable_matchesTheModelAndTheHandlers() throws IOException {
    TreeMap<String, String> documented = new TreeMap<>();
    for (String line : Files.readAllLines(Path.of("docs", "api-coverage.md"))) {
      String[] cells = line.split("\\|");
      if (cells.length >= 3 && ServiceModel.kms().operation(cells[1].strip()).isPresent()) {
        documented.put(cells[1].strip(), cells[2].strip());
      }
    }
    assertEquals(new TreeSet<>(ServiceModel.kms().operations().keySet()), documented.keySet());
    KmsApi api = HttpWiring.kmsApi(KmsFixture.SETTINGS, null, null, null, null, null, null, null, null, null, null);
    Set<String> implemented = new TreeSet<>();
    documented.forEach((op, status) -> {
      if (status.equals("implemented")) {
        implemented.add(op);
      }
    });
    assertEquals(new TreeSet<>(api.implemented()), implemented);
  }
}

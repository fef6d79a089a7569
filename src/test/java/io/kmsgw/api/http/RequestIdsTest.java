package io.kmsgw.api.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class RequestIdsTest {
  @Test
  void next_isAVersion4UuidAndUnique() {
    Set<String> seen = new HashSet<>();
    for (int i = 0; i < 10_000; i++) {
      String id = RequestIds.next();
      UUID u = UUID.fromString(id);
      assertEquals(id, u.toString());
      assertEquals(4, u.version());
      assertEquals(2, u.variant());
      assertTrue(seen.add(id));
    }
  }
}

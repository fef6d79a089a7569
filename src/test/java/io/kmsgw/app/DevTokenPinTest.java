package io.kmsgw.app;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PIN the gateway logs in to the development tokens with: the PIN, or CloudHSM's user:PIN form. */
class DevTokenPinTest {
  @TempDir
  Path dir;

  @Test
  void pin_isThePinAlone_withoutAPinUser() throws IOException {
    Path file = Files.writeString(dir.resolve("user-pin"), "generated-Pin-123\n");
    assertEquals("generated-Pin-123", new String(new DevToken.Prepared(file, null, null, null).pin().get()));
    assertEquals("from-env-PIN", new String(new DevToken.Prepared(file, "from-env-PIN", null, null).pin().get()));
  }

  @Test
  void pin_withAPinUser_hasCloudHsmsUserColonPasswordForm_whereverThePinComesFrom() throws IOException {
    Path file = Files.writeString(dir.resolve("user-pin"), "generated-Pin-123\n");
    assertEquals("kmsgw_cu:generated-Pin-123",
        new String(new DevToken.Prepared(file, null, null, "kmsgw_cu").pin().get()));
    assertEquals("kmsgw_cu:from-env-PIN",
        new String(new DevToken.Prepared(file, "from-env-PIN", null, "kmsgw_cu").pin().get()));
  }
}

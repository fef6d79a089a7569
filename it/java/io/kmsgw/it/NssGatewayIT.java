package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The gateway on NSS's software token, as an operator starts it on a fresh clone:
 * {@code KMSGW_DATA_DIR=DIR ./kmsgw serve --config hsm-config/nss.yaml}, nothing prepared. The gateway creates the
 * NSS database under DIR/nss with a generated user PIN (0600), and the unmodified AWS CLI creates keys, encrypts,
 * decrypts and makes data keys; after a restart on the same database the old ciphertext still decrypts.
 */
class NssGatewayIT {
  private static final List<String> CONFIG = List.of("--config", "hsm-config/nss.yaml");
  private static GatewayProcess gateway;
  private static AwsCli cli;

  @BeforeAll
  static void start() throws Exception {
    gateway = GatewayProcess.start("nss", dir -> Map.of(), dir -> CONFIG);
    cli = AwsCli.beside(gateway);
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  @Test
  void freshClone_createsTheNssDatabase_servesTheAwsCli_andSurvivesARestart() throws Exception {
    Path nss = gateway.dataDir().resolve("nss");
    assertTrue(Files.exists(nss.resolve("key4.db")) && Files.exists(nss.resolve("cert9.db")),
        "NSS's database under the data directory");
    Path pinFile = nss.resolve("user-pin");
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(pinFile)));
    String pin = Files.readAllLines(pinFile).get(0).strip();
    assertTrue(pin.length() >= 16, "a generated PIN");
    assertFalse(gateway.logText().contains(pin), "the PIN is never logged");

    Path work = cli.work();
    String keyId = cli.ok("create-key", "--description", "on NSS").getJsonObject("KeyMetadata").getString("KeyId");
    Files.writeString(work.resolve("plain.txt"), "kept by NSS's softoken");
    JsonObject enc = cli.ok("encrypt", "--key-id", keyId, "--plaintext", "fileb://plain.txt",
        "--encryption-context", "store=nss");
    Files.write(work.resolve("blob.bin"), Base64.getDecoder().decode(enc.getString("CiphertextBlob")));
    assertEquals("kept by NSS's softoken", plaintext(cli.ok("decrypt", "--ciphertext-blob", "fileb://blob.bin",
        "--encryption-context", "store=nss")));
    AwsCli.Result wrongContext = cli.run("decrypt", "--ciphertext-blob", "fileb://blob.bin",
        "--encryption-context", "store=other");
    assertTrue(wrongContext.exit() != 0 && wrongContext.err().contains("InvalidCiphertextException"),
        wrongContext.err());

    JsonObject dk = cli.ok("generate-data-key", "--key-id", keyId, "--key-spec", "AES_256");
    assertEquals(32, Base64.getDecoder().decode(dk.getString("Plaintext")).length);
    Files.write(work.resolve("dk.bin"), Base64.getDecoder().decode(dk.getString("CiphertextBlob")));
    assertEquals(dk.getString("Plaintext"), cli.ok("decrypt", "--ciphertext-blob", "fileb://dk.bin")
        .getString("Plaintext"));

    GatewayProcess.Command list = gateway.kmsgw("keystore", "list");
    assertEquals(0, list.exit(), list.out());
    System.out.println("kmsgw keystore list on NSS:\n" + list.out());

    gateway.stop();
    gateway.restart(CONFIG);
    assertEquals(pin, Files.readAllLines(pinFile).get(0).strip(), "the PIN made on first start is kept");
    cli = cli.against(gateway);
    assertEquals("kept by NSS's softoken", plaintext(cli.ok("decrypt", "--ciphertext-blob", "fileb://blob.bin",
        "--encryption-context", "store=nss")));
    assertEquals(dk.getString("Plaintext"), cli.ok("decrypt", "--ciphertext-blob", "fileb://dk.bin")
        .getString("Plaintext"));
  }

  @Test
  void pinFromTheEnvironment_isTheNewDatabasesPin_andNoPinFileIsWritten() throws Exception {
    String pin = "env-Nss-PIN-7723";
    GatewayProcess g = GatewayProcess.start("nss-envpin", dir -> Map.of("KMSGW_HSM_PIN", pin), dir -> CONFIG);
    try {
      assertTrue(Files.exists(g.dataDir().resolve("nss").resolve("key4.db")));
      assertFalse(Files.exists(g.dataDir().resolve("nss").resolve("user-pin")), "KMSGW_HSM_PIN is not written down");
      assertFalse(g.logText().contains(pin), "the PIN is never logged");
      AwsCli envCli = AwsCli.beside(g);
      String keyId = envCli.ok("create-key").getJsonObject("KeyMetadata").getString("KeyId");
      assertEquals(32, Base64.getDecoder().decode(envCli.ok("generate-data-key", "--key-id", keyId, "--key-spec",
          "AES_256").getString("Plaintext")).length);
    } finally {
      g.stop();
    }
  }

  private static String plaintext(JsonObject decrypted) {
    return new String(Base64.getDecoder().decode(decrypted.getString("Plaintext")), StandardCharsets.UTF_8);
  }
}

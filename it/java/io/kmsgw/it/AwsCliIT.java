package io.kmsgw.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The real gateway driven by the unmodified AWS CLI v2 ({@code /usr/bin/aws}), as the README's session does. */
class AwsCliIT {
  private static GatewayProcess gateway;
  private static AwsCli cli;
  private static Path work;

  @BeforeAll
  static void start() throws IOException {
    gateway = GatewayProcess.start("cli");
    cli = AwsCli.beside(gateway);
    work = cli.work();
  }

  @AfterAll
  static void stop() {
    if (gateway != null) {
      gateway.stop();
    }
  }

  private static AwsCli.Result aws(String... args) throws Exception {
    return cli.run(args);
  }

  private static JsonObject ok(String... args) throws Exception {
    return cli.ok(args);
  }

  @Test
  void readmeSession_createEncryptDecryptGenerateDataKey() throws Exception {
    String keyId = ok("create-key", "--description", "cli test").getJsonObject("KeyMetadata").getString("KeyId");
    assertEquals("Enabled", ok("describe-key", "--key-id", keyId).getJsonObject("KeyMetadata").getString("KeyState"));

    Files.writeString(work.resolve("plain.txt"), "hello from the aws cli");
    JsonObject enc = ok("encrypt", "--key-id", keyId, "--plaintext", "fileb://plain.txt",
        "--encryption-context", "purpose=test,app=demo");
    Files.write(work.resolve("blob.bin"), Base64.getDecoder().decode(enc.getString("CiphertextBlob")));

    JsonObject dec = ok("decrypt", "--ciphertext-blob", "fileb://blob.bin", "--encryption-context",
        "app=demo,purpose=test");
    assertEquals("hello from the aws cli",
        new String(Base64.getDecoder().decode(dec.getString("Plaintext")), StandardCharsets.UTF_8));
    assertTrue(dec.getString("KeyId").endsWith(keyId));

    JsonObject withKey = ok("decrypt", "--key-id", keyId, "--ciphertext-blob", "fileb://blob.bin",
        "--encryption-context", "purpose=test,app=demo");
    assertEquals(dec.getString("Plaintext"), withKey.getString("Plaintext"));

    JsonObject dk = ok("generate-data-key", "--key-id", keyId, "--key-spec", "AES_256");
    assertEquals(32, Base64.getDecoder().decode(dk.getString("Plaintext")).length);

    assertTrue(ok("list-keys").getJsonArray("Keys").encode().contains(keyId));
    assertEquals(16, Base64.getDecoder().decode(ok("generate-random", "--number-of-bytes", "16")
        .getString("Plaintext")).length);
  }

  @Test
  void decrypt_withWrongContextOrFlippedByte_failsInvalidCiphertext() throws Exception {
    String keyId = ok("create-key").getJsonObject("KeyMetadata").getString("KeyId");
    Files.writeString(work.resolve("p2.txt"), "bound to its context");
    byte[] blob = Base64.getDecoder().decode(ok("encrypt", "--key-id", keyId, "--plaintext", "fileb://p2.txt",
        "--encryption-context", "purpose=test").getString("CiphertextBlob"));
    Files.write(work.resolve("b2.bin"), blob);

    AwsCli.Result wrongContext = aws("decrypt", "--ciphertext-blob", "fileb://b2.bin", "--encryption-context", "purpose=prod");
    assertNotEquals(0, wrongContext.exit());
    assertTrue(wrongContext.err().contains("InvalidCiphertextException"), wrongContext.err());

    blob[blob.length / 2] ^= 0x01;
    Files.write(work.resolve("b3.bin"), blob);
    AwsCli.Result flipped = aws("decrypt", "--ciphertext-blob", "fileb://b3.bin", "--encryption-context", "purpose=test");
    assertNotEquals(0, flipped.exit());
    assertTrue(flipped.err().contains("InvalidCiphertextException"), flipped.err());
  }

  @Test
  void describeKey_unknown_failsNotFound() throws Exception {
    AwsCli.Result r = aws("describe-key", "--key-id", "11111111-2222-3333-4444-555555555555");
    assertNotEquals(0, r.exit());
    assertTrue(r.err().contains("NotFoundException"), r.err());
  }
}

package io.kmsgw.bench;

import io.kmsgw.client.KmsHttp;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.function.IntFunction;

/**
 * The signed KMS requests the benchmark and the soak replay, for one key: request {@code i} of a workload is built
 * (and signed) by its function, for a file of pre-signed requests.
 */
final class Requests {
  private final KmsHttp kms;
  private final String keyId;
  private final byte[] small;
  private final List<String> blobs;

  private Requests(KmsHttp kms, String keyId, byte[] small, List<String> blobs) {
    this.kms = kms;
    this.keyId = keyId;
    this.small = small;
    this.blobs = blobs;
  }

  /** Requests for {@code keyId}, with 64 ciphertexts of {@code small} made now for the Decrypt requests. */
  static Requests forKey(KmsHttp kms, String keyId, byte[] small) throws IOException, InterruptedException {
    List<String> blobs = new ArrayList<>();
    for (int i = 0; i < 64; i++) {
      blobs.add(kms.call("Encrypt", encryptBody(keyId, small)).getString("CiphertextBlob"));
    }
    return new Requests(kms, keyId, small, List.copyOf(blobs));
  }

  IntFunction<byte[]> encrypt(byte[] plaintext) {
    return i -> kms.rawRequest("Encrypt", encryptBody(keyId, plaintext));
  }

  IntFunction<byte[]> encryptSmall() {
    return encrypt(small);
  }

  IntFunction<byte[]> decrypt() {
    return i -> kms.rawRequest("Decrypt", new JsonObject().put("CiphertextBlob", blobs.get(i % blobs.size()))
        .put("EncryptionContext", context()));
  }

  IntFunction<byte[]> dataKey() {
    return i -> kms.rawRequest("GenerateDataKey",
        new JsonObject().put("KeyId", keyId).put("KeySpec", "AES_256").put("EncryptionContext", context()));
  }

  /** 16 Decrypt : 3 GenerateDataKey : 1 Encrypt of 32 B = 80% / 15% / 5%, as an envelope-encryption service sees. */
  IntFunction<byte[]> mix() {
    IntFunction<byte[]> decrypt = decrypt();
    IntFunction<byte[]> dataKey = dataKey();
    IntFunction<byte[]> encrypt = encryptSmall();
    return i -> {
      int slot = i % 20;
      return slot < 16 ? decrypt.apply(i) : slot < 19 ? dataKey.apply(i) : encrypt.apply(i);
    };
  }

  /** An Encrypt body for another key with the same context (the spread scenarios). */
  static JsonObject encryptBody(String keyId, byte[] plaintext) {
    return new JsonObject().put("KeyId", keyId).put("Plaintext", Base64.getEncoder().encodeToString(plaintext))
        .put("EncryptionContext", context());
  }

  private static JsonObject context() {
    return new JsonObject().put("purpose", "benchmark").put("tenant", "t-0001");
  }
}

package io.kmsgw.bench;

import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.format.EncryptionContextCodec;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The operations of the raw PKCS#11 loop ({@link RawPkcs11Bench}): for each, the HSM call a gateway request of one
 * scenario makes, through the same port method the gateway calls, with nothing of the request around it (no HTTP,
 * SigV4, JSON, authorization or audit event). Each makes its keys in the HSM once, as CreateKey would, and gives
 * the call the loop repeats on a borrowed session; the call must be safe to run on several threads at once.
 */
enum RawMechanism {
  /** What an Encrypt of a 32-byte plaintext does: random IV, blob header and encoded context as AAD. */
  AES_GCM("aes-gcm", "AES-GCM seal") {
    @Override
    Hsm.SessionWork<?> prepare(Hsm hsm, Settings settings) throws HsmException {
      int keyCount = settings.keys();
      SecureRandom random = settings.random();
      UUID keyId = UUID.randomUUID();
      HsmKey[] keys = new HsmKey[keyCount];
      for (int i = 0; i < keyCount; i++) {
        byte[] id = id(i);
        keys[i] = hsm.withSession(s -> s.generateAes256Key(label(keyId, id), id));
      }
      AtomicLong next = new AtomicLong();
      byte[] plaintext = new byte[settings.plaintextBytes()];
      byte[] context = EncryptionContextCodec.encode(Map.of());
      return s -> {
        byte[] iv = new byte[CiphertextBlob.IV_LENGTH];
        random.nextBytes(iv);
        byte[] header = CiphertextBlob.header(keyId, 1, iv);
        HsmKey key = keys[(int) (next.getAndIncrement() % keyCount)];
        return new CiphertextBlob(keyId, 1, iv, s.encryptAesGcm(key, iv, CiphertextBlob.aad(header, context),
            plaintext)).toBytes();
      };
    }
  };

  private final String id;
  private final String description;

  RawMechanism(String id, String description) {
    this.id = id;
    this.description = description;
  }

  /** The name in the raw loop's arguments and the report. */
  String id() {
    return id;
  }

  /** What one call does, for the table. */
  String description() {
    return description;
  }

  /** How a loop runs: how many keys its calls go round, the plaintext or message size, a random source. */
  record Settings(int keys, int plaintextBytes, SecureRandom random) {}

  /** Makes the keys (the calls going round them) and returns the call the loop repeats. */
  abstract Hsm.SessionWork<?> prepare(Hsm hsm, Settings settings) throws HsmException;

  static RawMechanism of(String id) {
    for (RawMechanism m : values()) {
      if (m.id.equals(id)) {
        return m;
      }
    }
    throw new IllegalArgumentException("unknown raw PKCS#11 operation '" + id + "' (one of "
        + java.util.Arrays.stream(values()).map(RawMechanism::id).toList() + ")");
  }

  /** The CKA_ID of the i-th key. */
  static byte[] id(int i) {
    return ByteBuffer.allocate(4).putInt(i).array();
  }

  /** A label of the gateway's form (kmsgw:key:id). */
  static String label(UUID keyId, byte[] id) {
    return "kmsgw:" + keyId + ":" + HexFormat.of().formatHex(id).toLowerCase(Locale.ROOT);
  }
}

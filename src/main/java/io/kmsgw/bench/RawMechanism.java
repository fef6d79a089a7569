package io.kmsgw.bench;

import io.kmsgw.domain.Algorithms.Mac;
import io.kmsgw.domain.Algorithms.Signing;
import io.kmsgw.domain.KeySpec;
import io.kmsgw.domain.KeyUsage;
import io.kmsgw.format.CiphertextBlob;
import io.kmsgw.format.EcPeerKeys;
import io.kmsgw.format.EncryptionContextCodec;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmErrorKind;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import io.kmsgw.kms.SignatureVerifier;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.List;
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
  },

  /**
   * What a Sign of a SHA-256 digest (MessageType DIGEST) with an RSA_2048 key does: {@code CKM_RSA_PKCS_PSS} with
   * SHA-256, MGF1-SHA-256 and a 32-byte salt, on the private half.
   */
  RSA_PSS_SIGN("rsa2048-pss-sign", "RSA-2048 PSS SHA-256 sign of a digest") {
    @Override
    Hsm.SessionWork<?> prepare(Hsm hsm, Settings settings) throws HsmException {
      return signing(hsm, settings, KeySpec.RSA_2048, Signing.RSASSA_PSS_SHA_256);
    }
  },

  /** What a Sign of a SHA-256 digest with an ECC_NIST_P256 key does: {@code CKM_ECDSA}, r || s made DER. */
  ECDSA_SIGN("ecdsa-p256-sign", "ECDSA P-256 sign of a digest") {
    @Override
    Hsm.SessionWork<?> prepare(Hsm hsm, Settings settings) throws HsmException {
      return signing(hsm, settings, KeySpec.ECC_NIST_P256, Signing.ECDSA_SHA_256);
    }
  },

  /**
   * What a Verify of a SHA-256 digest with an ECC_NIST_P256 key does. The gateway verifies in process with the key's
   * public key (read from the HSM once per key version; {@code kms.SignatureVerifier}), not with {@code C_Verify}, so
   * this is no PKCS#11 call: the same verification of signatures the HSM made, on the loop's threads. A signature
   * that does not verify counts as an error.
   */
  ECDSA_VERIFY("ecdsa-p256-verify", "ECDSA P-256 verify of a digest, in process (no PKCS#11 call)") {
    @Override
    Hsm.SessionWork<?> prepare(Hsm hsm, Settings settings) throws HsmException {
      HsmKey key = keyPair(hsm, KeySpec.ECC_NIST_P256, KeyUsage.SIGN_VERIFY);
      byte[] spki = hsm.withSession(s -> s.publicKeyInfo(key, KeySpec.ECC_NIST_P256));
      byte[][] digests = randomValues(settings.random(), 32);
      byte[][] signatures = new byte[digests.length][];
      for (int i = 0; i < digests.length; i++) {
        byte[] digest = digests[i];
        signatures[i] = hsm.withSession(s -> s.signWithKeyPair(key, KeySpec.ECC_NIST_P256, Signing.ECDSA_SHA_256,
            digest));
      }
      AtomicLong next = new AtomicLong();
      SignatureVerifier verifier = new SignatureVerifier();
      return s -> {
        int i = (int) (next.getAndIncrement() % digests.length);
        if (!verifier.verify(KeySpec.ECC_NIST_P256, Signing.ECDSA_SHA_256, spki, digests[i],
            signatures[i])) {
          throw new HsmException(HsmErrorKind.OTHER, "a signature made by the same key did not verify");
        }
        return Boolean.TRUE;
      };
    }
  },

  /** What a GenerateMac of a 32-byte message with an HMAC_256 key does: {@code CKM_SHA256_HMAC}. */
  HMAC_SHA256("hmac-sha256", "HMAC-SHA-256 of 32 B") {
    @Override
    Hsm.SessionWork<?> prepare(Hsm hsm, Settings settings) throws HsmException {
      byte[] id = id(0);
      HsmKey key = hsm.withSession(s -> s.generateHmacKey(KeySpec.HMAC_256, label(UUID.randomUUID(), id), id));
      byte[][] messages = randomValues(settings.random(), 32);
      AtomicLong next = new AtomicLong();
      return s -> s.hmac(key, Mac.HMAC_SHA_256, pick(messages, next));
    }
  },

  /**
   * What a DeriveSharedSecret with an ECC_NIST_P256 KEY_AGREEMENT key does: {@code CKM_ECDH1_DERIVE} with a peer's
   * point into a session object, its value read once, the object destroyed. The peers' points are validated once
   * here (the gateway validates each request's).
   */
  ECDH_P256("ecdh-p256", "ECDH P-256 derive") {
    @Override
    Hsm.SessionWork<?> prepare(Hsm hsm, Settings settings) throws HsmException {
      HsmKey key = keyPair(hsm, KeySpec.ECC_NIST_P256, KeyUsage.KEY_AGREEMENT);
      List<byte[]> peers = PeerKeys.p256(DISTINCT);
      byte[][] points = new byte[peers.size()][];
      for (int i = 0; i < points.length; i++) {
        try {
          points[i] = EcPeerKeys.uncompressedPoint(KeySpec.ECC_NIST_P256, peers.get(i));
        } catch (EcPeerKeys.Invalid e) {
          throw new IllegalStateException("the JDK made a P-256 public key that is not one: " + e.getMessage(), e);
        }
      }
      AtomicLong next = new AtomicLong();
      return s -> s.deriveSharedSecret(key, pick(points, next), 32);
    }
  };

  /** Distinct digests, messages or peers a loop goes round. */
  private static final int DISTINCT = 64;

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

  /** A key pair of the spec and usage, generated in the HSM as CreateKey does. */
  static HsmKey keyPair(Hsm hsm, KeySpec spec, KeyUsage usage) throws HsmException {
    byte[] id = id(0);
    return hsm.withSession(s -> s.generateKeyPair(spec, usage, label(UUID.randomUUID(), id), id));
  }

  /** Signatures of SHA-256-sized digests, round the {@link #DISTINCT} of them, with a new key pair of the spec. */
  private static Hsm.SessionWork<?> signing(Hsm hsm, Settings settings, KeySpec spec, Signing algorithm)
      throws HsmException {
    HsmKey key = keyPair(hsm, spec, KeyUsage.SIGN_VERIFY);
    byte[][] digests = randomValues(settings.random(), 32);
    AtomicLong next = new AtomicLong();
    return s -> s.signWithKeyPair(key, spec, algorithm, pick(digests, next));
  }

  /** {@link #DISTINCT} random values of {@code length} bytes. */
  static byte[][] randomValues(SecureRandom random, int length) {
    byte[][] values = new byte[DISTINCT][length];
    for (byte[] v : values) {
      random.nextBytes(v);
    }
    return values;
  }

  private static byte[] pick(byte[][] values, AtomicLong next) {
    return values[(int) (next.getAndIncrement() % values.length)];
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

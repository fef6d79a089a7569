package io.kmsgw.keystore;

import io.kmsgw.async.Completions;
import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.Hsm;
import io.kmsgw.hsm.HsmException;
import io.kmsgw.hsm.HsmKey;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;

/**
 * Seals small secrets so that the metadata store never holds one in clear: AES-256-GCM inside the default key
 * store's HSM, under a key-encryption key that is a non-extractable token object there (created on first use), with
 * additional data naming the purpose and the owner of the secret, so a sealed value cannot be moved to another row.
 * One instance per purpose, each with its own key-encryption key: custom key store PINs ({@link PinSealer}), secret
 * access keys and STS session secrets.
 *
 * <p>Sealed form: {@code 0x01 || IV (12 bytes) || ciphertext || tag (16 bytes)}; on an HSM that generates its IVs
 * ({@code gcm_iv_from_hsm}), {@code 0x02 || IV || AES-GCM(16 zero bytes || secret) || tag}. Both open anywhere.
 */
public final class SecretSealer {
  private static final byte VERSION = 1;
  private static final byte VERSION_HSM_IV = 2;
  private static final int PAD = 16;
  private static final SecureRandom RANDOM = new SecureRandom();

  /** Secret access keys of IAM users and the secrets of STS sessions. */
  public static final HsmKey IDENTITY_KEK = new HsmKey("kmsgw-kek:identity-secrets",
      "kmsgw-kek-2".getBytes(StandardCharsets.US_ASCII));

  private final KeyStores stores;
  private final HsmKey kek;
  private final String purpose;

  /**
   * @param kek the key-encryption key's label and id, outside the {@code kmsgw:} prefix of CMK versions so that
   *     reconciliation never takes it for a CMK
   * @param purpose the start of the additional data, such as {@code "kmsgw key store password v1"}
   */
  public SecretSealer(KeyStores stores, HsmKey kek, String purpose) {
    this.stores = stores;
    this.kek = kek;
    this.purpose = purpose;
  }

  /** The sealer of IAM secret access keys and STS session secrets. */
  public static SecretSealer identities(KeyStores stores) {
    return new SecretSealer(stores, IDENTITY_KEK, "kmsgw identity secret v1");
  }

  /** One process creates each key-encryption key once (the gateway is the only writer of its HSM objects). */
  private static final Object KEK_CREATION = new Object();

  private byte[] aad(String owner) {
    return (purpose + "|" + owner).getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Seals on the default key store's worker pool; does not block. Fails with {@code whenUnavailable} when that
   * store is not connected. The caller wipes {@code clear} once the future completes.
   */
  public CompletableFuture<byte[]> sealAsync(String owner, byte[] clear, ErrorCode whenUnavailable) {
    byte[] iv = new byte[12];
    RANDOM.nextBytes(iv);
    byte[] aad = aad(owner);
    return stores.defaultStore().run(whenUnavailable, null, s -> {
      // two first seals on two sessions must not both create the key: a second object with the same label would
      // leave secrets sealed under one that later lookups may not find
      synchronized (KEK_CREATION) {
        if (!s.exists(kek)) {
          s.generateAes256Key(kek.label(), kek.id());
        }
      }
      if (s.gcmIvFromHsm()) {
        return sealWithHsmIv(s, aad, clear);
      }
      byte[] sealed = s.encryptAesGcm(kek, iv, aad, clear);
      return ByteBuffer.allocate(1 + iv.length + sealed.length).put(VERSION).put(iv).put(sealed).array();
    });
  }

  /**
   * Version 2, on an HSM that generates its IVs: {@code 0x02 || IV (12) || AES-GCM(16 zero bytes || secret) || tag};
   * the zero block lets the gateway name the HSM's IV whatever the secret's length ({@code GcmIvRecovery}).
   */
  private byte[] sealWithHsmIv(io.kmsgw.hsm.HsmSession s, byte[] aad, byte[] clear) throws HsmException {
    byte[] padded = new byte[PAD + clear.length];
    System.arraycopy(clear, 0, padded, PAD, clear.length);
    try {
      io.kmsgw.hsm.GcmSealed sealed = s.encryptAesGcmHsmIv(kek, aad, padded);
      return ByteBuffer.allocate(1 + 12 + sealed.ciphertextAndTag().length).put(VERSION_HSM_IV).put(sealed.iv())
          .put(sealed.ciphertextAndTag()).array();
    } finally {
      Arrays.fill(padded, (byte) 0);
    }
  }

  /**
   * Unseals on the default key store's worker pool; does not block. A seal that is not this owner's, or was changed,
   * fails with InvalidCiphertextException (the AES-GCM tag), a malformed one with KMSInternalException.
   */
  public CompletableFuture<byte[]> unsealAsync(String owner, byte[] sealed, ErrorCode whenUnavailable) {
    Parts p = parts(owner, sealed);
    return stores.defaultStore().run(whenUnavailable, null,
        s -> p.strip(s.decryptAesGcm(kek, p.iv, aad(owner), p.body)));
  }

  /** Seals and waits (a background thread only). */
  public byte[] seal(String owner, byte[] clear) {
    return Completions.await(sealAsync(owner, clear, ErrorCode.KMS_INTERNAL));
  }

  /** Unseals on the default key store, waiting for it as {@link PinSealer} does (a background thread only). */
  public byte[] unseal(String owner, byte[] sealed) {
    Parts p = parts(owner, sealed);
    return PinSealer.retryWhileReconnecting(stores, () -> Completions.await(stores.defaultStore().run(
        ErrorCode.DEPENDENCY_TIMEOUT, null, s -> p.strip(s.decryptAesGcm(kek, p.iv, aad(owner), p.body)))));
  }

  /**
   * Unseals through an HSM connection directly: for work done while that connection is being set up (before its
   * store counts as connected), on the connecting thread.
   */
  public byte[] unseal(Hsm hsm, String owner, byte[] sealed) throws HsmException {
    Parts p = parts(owner, sealed);
    return hsm.withSession(s -> p.strip(s.decryptAesGcm(kek, p.iv, aad(owner), p.body)));
  }

  private record Parts(boolean padded, byte[] iv, byte[] body) {
    /** The secret: a version-2 seal's zero block (authenticated by the tag) removed. */
    byte[] strip(byte[] opened) {
      if (!padded) {
        return opened;
      }
      byte[] out = Arrays.copyOfRange(opened, PAD, opened.length);
      Arrays.fill(opened, (byte) 0);
      return out;
    }
  }

  private static Parts parts(String owner, byte[] sealed) {
    boolean padded = sealed != null && sealed.length > 0 && sealed[0] == VERSION_HSM_IV;
    if (sealed == null || sealed.length < 1 + 12 + 16 + (padded ? PAD : 0)
        || (sealed[0] != VERSION && !padded)) {
      throw KmsException.internal("the sealed secret of " + owner + " is damaged", null);
    }
    return new Parts(padded, Arrays.copyOfRange(sealed, 1, 13), Arrays.copyOfRange(sealed, 13, sealed.length));
  }
}

package io.kmsgw.kms;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.concurrent.CompletionException;

/**
 * Seals custom key store passwords (the crypto user PINs of other HSMs) so that the metadata store never holds one
 * in clear: AES-256-GCM inside the default key store's HSM, under a key-encryption key that is a non-extractable
 * token object there (created on first use), with the key store id as additional data so a sealed PIN cannot be
 * moved to another key store.
 *
 * <p>Sealed form: {@code 0x01 || IV (12 bytes) || ciphertext || tag (16 bytes)}.
 *
 * <p>Blocking: called on the lifecycle thread and at login time on a key store's connector thread.
 */
public final class PinSealer {
  /** Outside the {@code kmsgw:} prefix of CMK versions, so reconciliation never takes it for a CMK. */
  static final HsmKey KEK = new HsmKey("kmsgw-kek:key-store-passwords",
      "kmsgw-kek-1".getBytes(StandardCharsets.US_ASCII));
  private static final byte VERSION = 1;
  private static final SecureRandom RANDOM = new SecureRandom();

  /** How long unsealing waits for the default key store to be connected. */
  static final java.time.Duration UNSEAL_WAIT = java.time.Duration.ofSeconds(30);

  private final KeyStores stores;

  public PinSealer(KeyStores stores) {
    this.stores = stores;
  }

  private static byte[] aad(String keyStoreId) {
    return ("kmsgw key store password v1|" + keyStoreId).getBytes(StandardCharsets.UTF_8);
  }

  public byte[] seal(String keyStoreId, char[] pin) {
    ByteBuffer encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(pin));
    byte[] clear = new byte[encoded.remaining()];
    encoded.get(clear);
    Arrays.fill(encoded.array(), (byte) 0);
    byte[] iv = new byte[12];
    RANDOM.nextBytes(iv);
    try {
      byte[] sealed = Completions.await(stores.defaultStore().run(ErrorCode.KMS_INTERNAL, null, s -> {
        if (!s.exists(KEK)) {
          s.generateAes256Key(KEK.label(), KEK.id());
        }
        return s.encryptAesGcm(KEK, iv, aad(keyStoreId), clear);
      }));
      return ByteBuffer.allocate(1 + iv.length + sealed.length).put(VERSION).put(iv).put(sealed).array();
    } finally {
      Arrays.fill(clear, (byte) 0);
    }
  }

  /** The PIN; the caller wipes it after use. */
  public char[] unseal(String keyStoreId, byte[] sealed) {
    if (sealed.length < 1 + 12 + 16 || sealed[0] != VERSION) {
      throw KmsException.internal("the sealed password of key store " + keyStoreId + " is damaged", null);
    }
    byte[] iv = Arrays.copyOfRange(sealed, 1, 13);
    byte[] body = Arrays.copyOfRange(sealed, 13, sealed.length);
    byte[] clear = unsealInHsm(keyStoreId, iv, body);
    try {
      CharBuffer chars = StandardCharsets.UTF_8.decode(ByteBuffer.wrap(clear));
      char[] pin = new char[chars.remaining()];
      chars.get(pin);
      Arrays.fill(chars.array(), '\0');
      return pin;
    } finally {
      Arrays.fill(clear, (byte) 0);
    }
  }

  /**
   * After a re-initialisation of a shared library, the default key store and the one whose PIN is unsealed here
   * reconnect at the same time: while the default store is reconnecting (or has not yet noticed that its sessions
   * are gone), wait and try again, up to {@link #UNSEAL_WAIT}.
   */
  private byte[] unsealInHsm(String keyStoreId, byte[] iv, byte[] body) {
    long deadline = System.nanoTime() + UNSEAL_WAIT.toNanos();
    while (true) {
      stores.defaultStore().awaitConnected(java.time.Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
      try {
        return Completions.await(stores.defaultStore().run(ErrorCode.DEPENDENCY_TIMEOUT, null,
            s -> s.decryptAesGcm(KEK, iv, aad(keyStoreId), body)));
      } catch (KmsException e) {
        if (e.code() != ErrorCode.DEPENDENCY_TIMEOUT || System.nanoTime() > deadline) {
          throw e;
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }


}

package io.kmsgw.keystore;

import io.kmsgw.error.ErrorCode;
import io.kmsgw.error.KmsException;
import io.kmsgw.hsm.HsmKey;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Seals custom key store passwords (the crypto user PINs of other HSMs) so that the metadata store never holds one
 * in clear: a {@link SecretSealer} under its own key-encryption key, with the key store id as additional data so a
 * sealed PIN cannot be moved to another key store.
 *
 * <p>Sealed form: {@link SecretSealer}'s, version 1 (caller IV) or version 2 (on an HSM that generates its IVs).
 *
 * <p>Blocking: called on the lifecycle thread and at login time on a key store's connector thread.
 */
public final class PinSealer {
  /** Outside the {@code kmsgw:} prefix of CMK versions, so reconciliation never takes it for a CMK. */
  static final HsmKey KEK = new HsmKey("kmsgw-kek:key-store-passwords",
      "kmsgw-kek-1".getBytes(StandardCharsets.US_ASCII));

  /** How long unsealing waits for the default key store to be connected. */
  static final java.time.Duration UNSEAL_WAIT = java.time.Duration.ofSeconds(30);

  private final SecretSealer sealer;

  public PinSealer(KeyStores stores) {
    this.sealer = new SecretSealer(stores, KEK, "kmsgw key store password v1");
  }

  public byte[] seal(String keyStoreId, char[] pin) {
    ByteBuffer encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(pin));
    byte[] clear = new byte[encoded.remaining()];
    encoded.get(clear);
    Arrays.fill(encoded.array(), (byte) 0);
    try {
      return sealer.seal(keyStoreId, clear);
    } finally {
      Arrays.fill(clear, (byte) 0);
    }
  }

  /** The PIN; the caller wipes it after use. */
  public char[] unseal(String keyStoreId, byte[] sealed) {
    byte[] clear = sealer.unseal(keyStoreId, sealed);
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
  static byte[] retryWhileReconnecting(KeyStores stores, Supplier<byte[]> unseal) {
    long deadline = System.nanoTime() + UNSEAL_WAIT.toNanos();
    while (true) {
      stores.defaultStore().awaitConnected(java.time.Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
      try {
        return unseal.get();
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

package io.kmsgw.domain;

import java.time.Instant;
import java.util.Objects;

/**
 * A custom key store of type AWS_CLOUDHSM: a name for one HSM definition (its cluster id), with the crypto user's
 * PIN kept only sealed.
 *
 * @param sealedPin the KeyStorePassword sealed under the default key store's key-encryption key; never the PIN
 * @param connectWanted an operator connected it and has not disconnected it: reconnect after a restart
 */
public record CustomKeyStore(String id, String accountId, String name, String clusterId, String trustAnchor,
    byte[] sealedPin, Instant createdAt, boolean connectWanted) {
  public CustomKeyStore {
    Objects.requireNonNull(id);
    Objects.requireNonNull(name);
    Objects.requireNonNull(clusterId);
    sealedPin = sealedPin.clone();
  }

  @Override
  public byte[] sealedPin() {
    return sealedPin.clone();
  }

  public CustomKeyStore with(String newName, String newClusterId, byte[] newSealedPin, boolean newConnectWanted) {
    return new CustomKeyStore(id, accountId, newName, newClusterId, trustAnchor, newSealedPin, createdAt,
        newConnectWanted);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CustomKeyStore c && c.id.equals(id) && c.name.equals(name) && c.clusterId.equals(clusterId)
        && c.connectWanted == connectWanted && java.util.Arrays.equals(c.sealedPin, sealedPin);
  }

  @Override
  public int hashCode() {
    return id.hashCode();
  }

  @Override
  public String toString() {
    return "CustomKeyStore[" + id + ", " + name + ", " + clusterId + "]";
  }
}

package io.kmsgw.hsm;

import io.kmsgw.config.TokenSettings;
import java.util.function.Supplier;

/**
 * Makes the connector of one token from its configuration: the one place where the gateway turns an HSM's
 * settings into a connection, for the default key store and for every custom key store alike. The wiring picks the
 * implementation (today every vendor profile is reached through PKCS#11).
 */
@FunctionalInterface
public interface HsmConnectorFactory {
  /**
   * @param pin supplies a fresh copy of the crypto user's PIN at each login (it may read a file, or unseal a custom
   *     key store's password); the connector wipes the copy after use
   */
  HsmConnector create(TokenSettings token, Supplier<char[]> pin);
}
